import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { generateIdentity, keyId } from './identity.ts';
import { OverlayNode } from './node.ts';
import type { OverlayStream } from './stream.ts';
import { streamAsDuplex } from './stream-duplex.ts';
import { UdpPacketConn } from './transport.ts';

test('pipeline() through streamAsDuplex over real UDP: a slow consumer pauses the stream and nothing is lost', async () => {
  const [connA, connB] = await Promise.all([UdpPacketConn.bind('127.0.0.1', 0), UdpPacketConn.bind('127.0.0.1', 0)]);
  const idA = generateIdentity();
  const idB = generateIdentity();
  const keyA = keyId(idA.publicKey);
  const keyB = keyId(idB.publicKey);
  const streamLimits = { receiveWindowSegments: 16 };
  const a = new OverlayNode({ identity: idA, conn: connA, trust: { isTrusted: (id) => id === keyB }, address: { network: 1, node: 0x10 }, streamLimits });
  const b = new OverlayNode({ identity: idB, conn: connB, trust: { isTrusted: (id) => id === keyA }, address: { network: 1, node: 0x20 }, streamLimits });
  a.addContact({ identityKey: idB.publicKey, staticPublic: idB.staticKey.publicKey, staticSignature: idB.staticSignature, address: b.address, endpoints: [connB.local] });
  try {
    const accepted = new Promise<OverlayStream>((resolve) => b.listenStream(1001, resolve));
    const atA = await a.connectStream(keyB, 1001);
    const atB = await accepted;
    const chunks = Array.from({ length: 64 }, () => randomBytes(8 * 1024));
    const expected = createHash('sha256');
    for (const c of chunks) expected.update(c);
    const received = createHash('sha256');
    let receivedBytes = 0;
    let sawPaused = false;
    // A consumer that takes a millisecond per chunk, with a small buffer: backpressure reaches the sender.
    const slow = new Writable({
      highWaterMark: 4 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        received.update(chunk);
        receivedBytes += chunk.length;
        if (atB.isPaused) sawPaused = true;
        setTimeout(callback, 1);
      },
    });
    const duplexA = streamAsDuplex(atA);
    await Promise.all([pipeline(Readable.from(chunks), duplexA), pipeline(streamAsDuplex(atB), slow)]);
    // B has nothing to send back: it ends its direction, and A reads to the end of it.
    const bothClosed = Promise.all([atA, atB].map((s) => new Promise((resolve) => s.once('close', resolve))));
    duplexA.resume();
    atB.end();
    assert.deepEqual(await bothClosed, [null, null], 'both directions finished cleanly');
    assert.equal(receivedBytes, 64 * 8 * 1024);
    assert.equal(received.digest('hex'), expected.digest('hex'));
    assert.ok(sawPaused, 'the slow consumer paused the overlay stream');
  } finally {
    await a.close();
    await b.close();
  }
});
