/**
 * Reliable streams end to end: two real OverlayNodes (real tunnel crypto) over the in-memory
 * network with injected loss, delay and reordering, in virtual time (node:test's mock timers
 * drive every timer: the network's delays, RTO, probes, keepalive, idle timeout), and once over
 * real UDP on loopback.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PORT_TRUST } from './address.ts';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { OverlayError, OverlayNode, type PeerContact } from './node.ts';
import { StreamError, type OverlayStream } from './stream.ts';
import type { StreamLimits } from './stream-limits.ts';
import { MemoryNetwork, UdpPacketConn, type Datagram, type Endpoint, type LinkConditions, type PacketConn, type PacketHandler } from './transport.ts';

class SetTrust {
  keys = new Set<string>();
  isTrusted(id: string): boolean {
    return this.keys.has(id);
  }
}

/** Drops a share of the transport frames one side sends (fault injection), and counts them. */
class DroppingConn implements PacketConn {
  readonly inner: PacketConn;
  lossRate = 0;
  dropEverything = false;
  random: () => number = Math.random;
  framesSent = 0;
  framesDropped = 0;
  constructor(inner: PacketConn) {
    this.inner = inner;
  }
  get local(): Endpoint {
    return this.inner.local;
  }
  send(data: Datagram, to: Endpoint): void {
    const first = data instanceof Uint8Array ? data[0] : data[0]?.[0];
    if (first === 0x03) {
      this.framesSent++;
      if (this.dropEverything || (this.lossRate > 0 && this.random() < this.lossRate)) {
        this.framesDropped++;
        return;
      }
    }
    this.inner.send(data, to);
  }
  onPacket(handler: PacketHandler): void {
    this.inner.onPacket(handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function contactOf(identity: NodeIdentity, node: OverlayNode): PeerContact {
  return {
    identityKey: identity.publicKey,
    staticPublic: identity.staticKey.publicKey,
    staticSignature: identity.staticSignature,
    address: node.address,
    endpoints: [node.conn.local],
    hostname: 'peer',
  };
}

function makePair(connA: PacketConn, connB: PacketConn, streamLimits: Partial<StreamLimits> = {}) {
  const idA = generateIdentity();
  const idB = generateIdentity();
  const trustA = new SetTrust();
  const trustB = new SetTrust();
  const a = new OverlayNode({ identity: idA, conn: connA, trust: trustA, address: { network: 1, node: 0x10 }, streamLimits });
  const b = new OverlayNode({ identity: idB, conn: connB, trust: trustB, address: { network: 1, node: 0x20 }, streamLimits });
  a.addContact(contactOf(idB, b));
  b.addContact(contactOf(idA, a));
  const keyA = keyId(idA.publicKey);
  const keyB = keyId(idB.publicKey);
  trustA.keys.add(keyB);
  trustB.keys.add(keyA);
  return { a, b, trustA, trustB, keyA, keyB };
}

/** Two nodes on an in-memory network, each behind a DroppingConn, in virtual time. */
function virtualPair(t: TestContext, streamLimits: Partial<StreamLimits> = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  const net = new MemoryNetwork();
  const connA = new DroppingConn(net.attach({ host: '10.0.0.1', port: 1 }));
  const connB = new DroppingConn(net.attach({ host: '10.0.0.2', port: 2 }));
  const pair = makePair(connA, connB, streamLimits);
  t.after(async () => {
    await pair.a.close();
    await pair.b.close();
  });
  return { net, connA, connB, ...pair };
}

/** Deterministic randomness for the network, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/**
 * Runs virtual time forward, `stepMs` at a time, letting real I/O and microtasks run between
 * steps, until `promise` settles. Returns its value and the virtual time it took.
 */
async function drive<T>(t: TestContext, promise: Promise<T>, what: string, limitMs = 600_000, stepMs = 1): Promise<{ value: T; elapsedMs: number }> {
  let settled = false;
  let value: T | undefined;
  let failure: { error: unknown } | null = null;
  promise.then(
    (v) => {
      settled = true;
      value = v;
    },
    (error: unknown) => {
      settled = true;
      failure = { error };
    },
  );
  let elapsed = 0;
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (settled) break;
    if (elapsed >= limitMs) throw new Error(`${what}: still pending after ${limitMs} ms of virtual time`);
    t.mock.timers.tick(stepMs);
    elapsed += stepMs;
  }
  if (failure) throw (failure as { error: unknown }).error;
  return { value: value as T, elapsedMs: elapsed };
}

/** Runs virtual time forward by `ms`, letting I/O and microtasks run in between. */
async function advance(t: TestContext, ms: number, stepMs = 1): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
    t.mock.timers.tick(stepMs);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function nextStream(node: OverlayNode, port: number): Promise<OverlayStream> {
  return new Promise((resolve) => node.listenStream(port, resolve));
}

/** Everything a stream delivers until its 'end'; rejects if it closes with an error first. */
function readAll(stream: OverlayStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('close', (err: Error | null) => {
      if (err) reject(err);
    });
  });
}

function closed(stream: OverlayStream): Promise<Error | null> {
  return new Promise((resolve) => stream.once('close', (err: Error | null) => resolve(err)));
}

/** Writes everything in chunks, honouring backpressure, then ends the stream. */
async function writeAll(stream: OverlayStream, data: Buffer, chunkSize = 64 * 1024): Promise<void> {
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    if (!stream.write(data.subarray(offset, offset + chunkSize))) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
}

interface TransferResult {
  sender: OverlayStream;
  receiver: OverlayStream;
  virtualMs: number;
}

/** Connects, sets the link conditions, sends `size` random bytes and checks they arrive intact. */
async function transfer(t: TestContext, pair: ReturnType<typeof virtualPair>, size: number, conditions: LinkConditions = {}): Promise<TransferResult> {
  const { a, b, net, keyB } = pair;
  const accepted = nextStream(b, 1001);
  const { value: sender } = await drive(t, a.connectStream(keyB, 1001), 'connect');
  const { value: receiver } = await drive(t, accepted, 'accept');
  net.conditions = conditions;
  const received = readAll(receiver);
  receiver.once('end', () => receiver.end());
  const senderClosed = closed(sender);
  const data = randomBytes(size);
  void writeAll(sender, data);
  const { value: got, elapsedMs } = await drive(t, received, `${size}-byte transfer`);
  assert.equal(got.length, data.length, 'every byte arrived');
  assert.ok(got.equals(data), 'byte-identical and in order');
  assert.equal(await drive(t, senderClosed, 'sender close').then((r) => r.value), null, 'the sender closed cleanly');
  return { sender, receiver, virtualMs: elapsedMs };
}

/** A stream from A to B on `port`, both ends established. */
async function openStream(t: TestContext, pair: ReturnType<typeof virtualPair>, port: number): Promise<{ atA: OverlayStream; atB: OverlayStream }> {
  const accepted = nextStream(pair.b, port);
  const { value: atA } = await drive(t, pair.a.connectStream(pair.keyB, port), 'connect');
  const { value: atB } = await drive(t, accepted, 'accept');
  return { atA, atB };
}

// ---- transfers ---------------------------------------------------------------------------

test('a 5 MB transfer over a clean link arrives byte-identical, and both sides close cleanly', async (t) => {
  const pair = virtualPair(t);
  const { sender, receiver } = await transfer(t, pair, 5 * 1024 * 1024);
  assert.equal(sender.stats.retransmittedSegments, 0);
  assert.equal(receiver.stats.bytesReceived, 5 * 1024 * 1024);
  assert.equal(sender.state, 'time-wait');
});

test('5 MB through 5 % loss and 5 ms delay arrives byte-identical and in order', async (t) => {
  const pair = virtualPair(t);
  const { sender } = await transfer(t, pair, 5 * 1024 * 1024, { loss: 0.05, delayMs: 5, random: seeded(1) });
  assert.ok(sender.stats.retransmittedSegments > 0, 'losses were repaired');
});

test('1 MB through 20 % loss arrives byte-identical and in order', async (t) => {
  const pair = virtualPair(t);
  const { sender } = await transfer(t, pair, 1024 * 1024, { loss: 0.2, delayMs: 5, random: seeded(2) });
  assert.ok(sender.stats.retransmittedSegments > 100, `repaired ${sender.stats.retransmittedSegments} losses`);
});

test('5 MB through heavy reordering (5 ms delay + up to 10 ms jitter) arrives in order', async (t) => {
  const pair = virtualPair(t);
  const { receiver } = await transfer(t, pair, 5 * 1024 * 1024, { delayMs: 5, jitterMs: 10, random: seeded(3) });
  assert.ok(receiver.stats.outOfOrderSegments > 100, `${receiver.stats.outOfOrderSegments} segments arrived out of order`);
});

test('random loss on a steady path gets the mild response: the window keeps the path full', async (t) => {
  const pair = virtualPair(t);
  pair.net.conditions = { delayMs: 50 }; // from the start: the RTT is the path's, not a queue's
  pair.connA.lossRate = 0.1;
  pair.connA.random = seeded(11);
  const { sender, virtualMs } = await transfer(t, pair, 2 * 1024 * 1024, { delayMs: 50 });
  const s = sender.stats;
  t.diagnostic(`${s.fastRecoveries} recoveries, ${s.randomLossRecoveries} judged random, ${s.timeouts} timeouts, ${virtualMs} ms`);
  assert.ok(s.fastRecoveries > 5);
  assert.ok(s.randomLossRecoveries >= s.fastRecoveries * 0.9, 'a flat RTT: the losses are not congestion');
  // Halving on each of those recoveries would hold the window to a few segments: ~2 MB would take
  // well over 10 s at 100 ms RTT (Mathis: ~1.2/sqrt(0.1) segments per round trip).
  assert.ok(virtualMs < 10_000, `${virtualMs} ms`);
});

test('loss while the RTT climbs (a bottleneck queue filling) is congestion: the window halves', async (t) => {
  const pair = virtualPair(t);
  pair.net.conditions = { delayMs: 5 };
  const accepted = nextStream(pair.b, 1001);
  const { value: sender } = await drive(t, pair.a.connectStream(pair.keyB, 1001), 'connect');
  const { value: receiver } = await drive(t, accepted, 'accept');
  const started = Date.now();
  let during: { fastRecoveries: number; randomLossRecoveries: number } | null = null;
  // The link's delay grows with time, as a queue in front of a slow link does while the sender
  // pushes, and past 30 ms the queue overflows: drops. After 400 ms the test looks at how the
  // losses of the climb were judged.
  const grow = setInterval(() => {
    const elapsed = Date.now() - started;
    if (elapsed > 400) {
      during ??= { ...sender.stats };
      pair.connA.lossRate = 0;
      pair.net.conditions = { delayMs: 5 };
      return;
    }
    pair.net.conditions = { delayMs: 5 + elapsed };
    if (elapsed > 30) pair.connA.lossRate = 0.05;
  }, 5);
  pair.connA.random = seeded(12);
  t.after(() => clearInterval(grow));
  const received = readAll(receiver);
  void writeAll(sender, randomBytes(4 * 1024 * 1024));
  await drive(t, received, 'transfer');
  clearInterval(grow);
  assert.ok(during, 'the transfer outlasted the climb');
  const s = during as { fastRecoveries: number; randomLossRecoveries: number };
  t.diagnostic(`during the climb: ${s.fastRecoveries} recoveries, ${s.randomLossRecoveries} judged random`);
  assert.ok(s.fastRecoveries >= 1);
  assert.equal(s.randomLossRecoveries, 0, 'a rising RTT makes every loss a congestion signal');
});

test('SACK recovery: retransmissions stay close to what was lost, far fewer than without SACK, and fewer timeouts', async (t) => {
  const run = async (selectiveAck: boolean) => {
    const pair = virtualPair(t, { selectiveAck });
    // Only the data direction loses frames, so "lost" is exactly what the injector dropped.
    pair.connA.lossRate = 0.05;
    pair.connA.random = seeded(7);
    const result = await transfer(t, pair, 2 * 1024 * 1024, { delayMs: 5 });
    t.mock.timers.reset();
    return { ...result, dropped: pair.connA.framesDropped };
  };
  const withSack = await run(true);
  const withoutSack = await run(false);
  const s = withSack.sender.stats;
  const n = withoutSack.sender.stats;
  t.diagnostic(`SACK: ${s.retransmittedSegments} retransmitted for ${withSack.dropped} dropped, ${s.timeouts} timeouts, ${withSack.virtualMs} ms`);
  t.diagnostic(`no SACK: ${n.retransmittedSegments} retransmitted for ${withoutSack.dropped} dropped, ${n.timeouts} timeouts, ${withoutSack.virtualMs} ms`);
  // Every retransmission fills a real hole, bar a few tail-loss probes; the receiver saw (almost) no duplicates.
  assert.ok(s.retransmittedSegments <= withSack.dropped + 5, `${s.retransmittedSegments} retransmissions for ${withSack.dropped} lost frames`);
  assert.ok(withSack.receiver.stats.duplicateSegments <= 5, `${withSack.receiver.stats.duplicateSegments} needless retransmissions arrived`);
  // Without SACK every timeout resends the whole window (go-back-N); with it, only the holes.
  assert.ok(s.timeouts < n.timeouts, `timeouts: ${s.timeouts} with SACK, ${n.timeouts} without`);
  assert.ok(s.retransmittedSegments * 5 <= n.retransmittedSegments, `retransmissions: ${s.retransmittedSegments} with SACK, ${n.retransmittedSegments} without`);
  assert.ok(withSack.virtualMs * 2 <= withoutSack.virtualMs, `${withSack.virtualMs} ms with SACK, ${withoutSack.virtualMs} ms without`);
});

test('tail-loss probe: when the only ACK for the last segments is lost, one probe recovers in a few RTTs, not an RTO', async (t) => {
  const pair = virtualPair(t);
  pair.net.conditions = { delayMs: 5 };
  const { atA, atB } = await openStream(t, pair, 1001);
  const received = readAll(atB);
  const acknowledged = () =>
    new Promise<void>((resolve) => {
      const check = () => (atA.writableLength === 0 ? resolve() : setImmediate(check));
      check();
    });
  // A short exchange, so the sender knows the RTT (10 ms) well.
  for (let i = 0; i < 5; i++) {
    atA.write(`warm-up ${i};`);
    await drive(t, acknowledged(), 'warm-up ACK', 1000);
  }
  assert.ok(atA.srttMs !== null && Math.abs(atA.srttMs - 10) < 2, `SRTT ${atA.srttMs} ms`);
  const probesBefore = atA.stats.tailLossProbes;
  // The receiver gets the burst, but its ACK is lost.
  pair.connB.dropEverything = true;
  atA.write(randomBytes(4 * 1379));
  await advance(t, 8);
  pair.connB.dropEverything = false;
  const { elapsedMs } = await drive(t, acknowledged(), 'acknowledgement of the burst', 1000);
  assert.ok(elapsedMs < 50, `acknowledged ${elapsedMs + 8} ms after sending (the RTO is ${atA.rtoMs} ms)`);
  assert.equal(atA.stats.tailLossProbes, probesBefore + 1, 'one probe');
  assert.equal(atA.stats.timeouts, 0);
  atA.end();
  assert.ok((await drive(t, received, 'end')).value.length > 4 * 1379);
});

test('a transfer over real UDP on loopback arrives byte-identical', async () => {
  const [connA, connB] = await Promise.all([UdpPacketConn.bind('127.0.0.1', 0), UdpPacketConn.bind('127.0.0.1', 0)]);
  const { a, b, keyB } = makePair(connA, connB);
  try {
    const accepted = nextStream(b, 1001);
    const sender = await a.connectStream(keyB, 1001);
    const receiver = await accepted;
    const received = readAll(receiver);
    const data = randomBytes(4 * 1024 * 1024);
    await writeAll(sender, data);
    const got = await received;
    assert.ok(got.equals(data));
    assert.ok(sender.srttMs !== null && sender.srttMs < 1000, `SRTT ${sender.srttMs} ms`);
  } finally {
    await a.close();
    await b.close();
  }
});

// ---- flow control ------------------------------------------------------------------------

test('flow control: a receiver that stops reading stops the sender (write returns false), and nothing is lost when it resumes', async (t) => {
  const limits = { receiveWindowSegments: 32, sendBufferBytes: 128 * 1024 };
  const pair = virtualPair(t, limits);
  const accepted = nextStream(pair.b, 1001);
  const { value: sender } = await drive(t, pair.a.connectStream(pair.keyB, 1001), 'connect');
  const { value: receiver } = await drive(t, accepted, 'accept');
  pair.net.conditions = { delayMs: 2 };
  receiver.pause();
  const received = readAll(receiver);
  const data = randomBytes(1024 * 1024);
  let offset = 0;
  let refused = false;
  while (offset < data.length && !refused) {
    refused = !sender.write(data.subarray(offset, offset + 16 * 1024));
    offset += 16 * 1024;
  }
  assert.ok(refused, 'write() said the buffer is full');
  assert.throws(() => sender.write(Buffer.alloc(1)), (err: unknown) => err instanceof StreamError && err.code === 'send_buffer_full');
  await advance(t, 2000);
  // The receiver holds at most its window; every byte written is either there or still with the sender.
  const capacity = 32 * 1379;
  assert.ok(receiver.readableLength <= capacity, `receiver holds ${receiver.readableLength} bytes, window is ${capacity}`);
  assert.ok(receiver.readableLength > capacity - 2 * 1379, 'the receive window filled up');
  assert.equal(receiver.readableLength + sender.writableLength, offset, 'nothing lost, nothing duplicated');
  assert.ok(sender.stats.windowProbesSent >= 1, 'the sender probes the closed window');
  receiver.resume();
  const rest = (async () => {
    await new Promise((resolve) => sender.once('drain', resolve));
    await writeAll(sender, data.subarray(offset));
  })();
  const { value: got } = await drive(t, received, 'the rest of the transfer', 60_000);
  await drive(t, rest, 'writer', 1000);
  assert.ok(got.equals(data), 'byte-identical after the stall');
});

test('zero-window probe: when the window update is lost, a probe finds the open window', async (t) => {
  const pair = virtualPair(t, { receiveWindowSegments: 16 });
  const accepted = nextStream(pair.b, 1001);
  const { value: sender } = await drive(t, pair.a.connectStream(pair.keyB, 1001), 'connect');
  const { value: receiver } = await drive(t, accepted, 'accept');
  pair.net.conditions = { delayMs: 5 };
  receiver.pause();
  const received = readAll(receiver);
  const data = randomBytes(200 * 1024);
  void writeAll(sender, data);
  await advance(t, 3000);
  assert.ok(receiver.readableLength >= 15 * 1379, 'the window closed');
  assert.ok(sender.stats.windowProbesSent >= 1, 'the sender probes a closed window');
  // The window update the receiver sends on resume is lost on the way.
  pair.connB.dropEverything = true;
  receiver.resume();
  await advance(t, 20);
  pair.connB.dropEverything = false;
  const probesBefore = sender.stats.windowProbesSent;
  const { value: got } = await drive(t, received, 'transfer after the lost update', 60_000);
  assert.ok(got.equals(data));
  assert.ok(sender.stats.windowProbesSent > probesBefore, 'a probe, not the lost update, reopened the window');
});

// ---- opening and closing -----------------------------------------------------------------

test('FIN both ways: each side finishes its direction, the other keeps writing until it ends too', async (t) => {
  const pair = virtualPair(t);
  const accepted = nextStream(pair.b, 7000);
  const { value: client } = await drive(t, pair.a.connectStream(pair.keyB, 7000), 'connect');
  const { value: server } = await drive(t, accepted, 'accept');
  const request = readAll(server);
  client.end('request');
  const { value: got } = await drive(t, request, 'request');
  assert.equal(got.toString(), 'request');
  // Half-closed: the server got the client's FIN and can still answer.
  assert.equal(server.state, 'established');
  const response = readAll(client);
  const clientClosed = closed(client);
  const serverClosed = closed(server);
  server.write('response, ');
  server.end('done');
  assert.equal((await drive(t, response, 'response')).value.toString(), 'response, done');
  assert.equal((await drive(t, clientClosed, 'client close')).value, null);
  assert.equal((await drive(t, serverClosed, 'server close')).value, null);
  assert.throws(() => client.write('more'), (err: unknown) => err instanceof StreamError && err.code === 'closed');
});

test('a SYN to a port nobody listens on is answered with a reset: the connect is refused', async (t) => {
  const pair = virtualPair(t);
  await assert.rejects(drive(t, pair.a.connectStream(pair.keyB, 4242), 'connect'), (err: unknown) => {
    return err instanceof StreamError && err.code === 'refused' && /refused a stream on port 4242/.test(err.message);
  });
  assert.equal(pair.b.stats.streamsRefused, 1);
});

test('a segment for a stream the peer no longer has is answered with a reset, which ends the stream', async (t) => {
  const pair = virtualPair(t);
  const accepted = nextStream(pair.b, 1001);
  const { value: client } = await drive(t, pair.a.connectStream(pair.keyB, 1001), 'connect');
  await drive(t, accepted, 'accept');
  // B forgets the stream without a word (as after a crash and restart).
  assert.equal(pair.b.closeStreams(pair.keyA, 'test'), 1);
  const clientClosed = closed(client);
  client.write('anyone there?');
  const { value: error } = await drive(t, clientClosed, 'client close');
  assert.ok(error instanceof StreamError && error.code === 'reset', `closed with ${String(error)}`);
  assert.equal(pair.b.stats.streamResetsSent, 1);
});

test('destroy() resets the peer at once', async (t) => {
  const pair = virtualPair(t);
  const accepted = nextStream(pair.b, 1001);
  const { value: client } = await drive(t, pair.a.connectStream(pair.keyB, 1001), 'connect');
  const { value: server } = await drive(t, accepted, 'accept');
  const serverClosed = closed(server);
  client.destroy();
  const { value: error, elapsedMs } = await drive(t, serverClosed, 'server close', 100);
  assert.ok(error instanceof StreamError && error.code === 'reset');
  assert.ok(elapsedMs < 10, `reset arrived after ${elapsedMs} ms`);
});

// ---- default deny ------------------------------------------------------------------------

test('streams to a peer we do not trust are refused locally', async (t) => {
  const pair = virtualPair(t);
  pair.trustA.keys.clear();
  await assert.rejects(pair.a.connectStream(pair.keyB, 1001), (err: unknown) => err instanceof OverlayError && err.code === 'not_trusted');
});

test('an untrusted peer cannot open a stream, not even on port 444, and no byte reaches a listener', async (t) => {
  const pair = virtualPair(t, { connectTimeoutMs: 3000 });
  pair.trustB.keys.clear(); // B does not trust A; A still trusts B and tries
  const accepted: number[] = [];
  pair.b.listenStream(1001, () => accepted.push(1001));
  pair.b.listenStream(PORT_TRUST, () => accepted.push(PORT_TRUST));
  for (const port of [1001, PORT_TRUST]) {
    await assert.rejects(drive(t, pair.a.connectStream(pair.keyB, port), `connect to ${port}`), (err: unknown) => {
      return err instanceof StreamError && err.code === 'timeout';
    });
  }
  assert.deepEqual(accepted, []);
  assert.ok(pair.b.stats.droppedUntrusted >= 1, 'SYNs to 1001 were dropped at the gate');
  assert.ok(pair.b.stats.streamsDroppedUntrusted >= 1, 'SYNs to 444 were dropped by the stream table');
  assert.equal(pair.b.stats.streamsAccepted, 0);
});

test('revoking trust kills a live stream at once: no byte is delivered after it', async (t) => {
  const pair = virtualPair(t);
  const accepted = nextStream(pair.b, 1001);
  const { value: sender } = await drive(t, pair.a.connectStream(pair.keyB, 1001), 'connect');
  const { value: receiver } = await drive(t, accepted, 'accept');
  pair.net.conditions = { delayMs: 20 };
  let delivered = 0;
  receiver.on('data', (chunk: Buffer) => {
    delivered += chunk.length;
  });
  const receiverClosed = closed(receiver);
  void writeAll(sender, randomBytes(4 * 1024 * 1024)).catch(() => {});
  await advance(t, 100);
  assert.ok(delivered > 0, 'data was flowing');
  // Revocation as the daemon does it: the gate closes, then the node is told.
  pair.trustB.keys.delete(pair.keyA);
  assert.equal(pair.b.closeStreams(pair.keyA, 'revoked by the analyst'), 1);
  assert.equal(receiver.state, 'closed', 'closed synchronously');
  const atRevocation = delivered;
  await advance(t, 500);
  assert.equal(delivered, atRevocation, 'nothing delivered after revocation');
  const error = (await drive(t, receiverClosed, 'close')).value;
  assert.ok(error instanceof StreamError && error.code === 'not_trusted');
  assert.ok(pair.b.stats.droppedUntrusted > 0, "A's later segments were dropped at the gate");
});

test('revocation without closeStreams: the peer\'s next segment is dropped at the gate and ends its streams', async (t) => {
  const pair = virtualPair(t);
  const { atA, atB } = await openStream(t, pair, 1001);
  const other = await openStream(t, pair, 1002);
  const atBClosed = closed(atB);
  const otherClosed = closed(other.atB);
  pair.trustB.keys.delete(pair.keyA);
  atA.write('one more segment');
  const { value: error, elapsedMs } = await drive(t, atBClosed, 'close', 100);
  assert.ok(error instanceof StreamError && error.code === 'not_trusted');
  assert.ok(elapsedMs < 100, `closed ${elapsedMs} ms after the segment`);
  assert.ok((await drive(t, otherClosed, 'close of the other stream', 1)).value instanceof StreamError, 'every stream of that peer ends');
  assert.equal(atB.readableLength, 0);
});

test('revocation without closeStreams: our own write to the peer is stopped at the gate, and nothing reaches it', async (t) => {
  const pair = virtualPair(t);
  const { atA, atB } = await openStream(t, pair, 1001);
  let leaked = 0;
  atA.on('data', (chunk: Buffer) => {
    leaked += chunk.length;
  });
  const atBClosed = closed(atB);
  pair.trustB.keys.delete(pair.keyA);
  atB.write('secret');
  const { value: error, elapsedMs } = await drive(t, atBClosed, 'close', 100);
  assert.ok(error instanceof StreamError && error.code === 'not_trusted');
  assert.ok(elapsedMs < 100);
  await advance(t, 100);
  assert.equal(leaked, 0, 'no byte went to the untrusted peer');
});

test('revocation without closeStreams: a quiet stream ends within a second (the node checks every tick)', async (t) => {
  const pair = virtualPair(t);
  const { atB } = await openStream(t, pair, 1001);
  const atBClosed = closed(atB);
  pair.trustB.keys.delete(pair.keyA);
  const { value: error, elapsedMs } = await drive(t, atBClosed, 'close', 1100);
  assert.ok(error instanceof StreamError && error.code === 'not_trusted');
  assert.ok(elapsedMs <= 1000, `closed after ${elapsedMs} ms`);
});

// ---- liveness ----------------------------------------------------------------------------

test('idle timeout: a stream whose peer vanished is given up after 120 s, having sent keepalives every 30 s', async (t) => {
  const pair = virtualPair(t);
  const accepted = nextStream(pair.b, 1001);
  const { value: client } = await drive(t, pair.a.connectStream(pair.keyB, 1001), 'connect');
  await drive(t, accepted, 'accept');
  pair.net.conditions = { loss: 1 }; // B is gone
  const { value: error, elapsedMs } = await drive(t, closed(client), 'idle close', 200_000, 10);
  assert.ok(error instanceof StreamError && error.code === 'timeout', `closed with ${String(error)}`);
  assert.ok(elapsedMs >= 120_000 && elapsedMs <= 121_000, `gave up after ${elapsedMs} ms`);
  assert.equal(client.stats.keepalivesSent, 3, 'keepalives at 30, 60 and 90 s');
});

test('keepalive: a quiet stream to a live peer outlives the idle timeout', async (t) => {
  const pair = virtualPair(t);
  const accepted = nextStream(pair.b, 1001);
  const { value: client } = await drive(t, pair.a.connectStream(pair.keyB, 1001), 'connect');
  const { value: server } = await drive(t, accepted, 'accept');
  await advance(t, 300_000, 10);
  assert.equal(client.state, 'established');
  assert.equal(server.state, 'established');
  assert.ok(client.stats.keepalivesSent + server.stats.keepalivesSent >= 9, 'one keepalive per 30 s of silence');
  const echoed = readAll(server);
  client.end('still here');
  assert.equal((await drive(t, echoed, 'data after 5 quiet minutes')).value.toString(), 'still here');
});
