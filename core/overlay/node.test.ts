import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { OverlayNode, OverlayError, type PeerContact } from './node.ts';
import { MemoryNetwork, UdpPacketConn, type PacketConn } from './transport.ts';
import { pingPeer } from './ping.ts';
import { PORT_ECHO, PORT_TRUST } from './address.ts';

class SetTrust {
  keys = new Set<string>();
  isTrusted(id: string): boolean {
    return this.keys.has(id);
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

function makePair(connA: PacketConn, connB: PacketConn, limits = {}) {
  const idA = generateIdentity();
  const idB = generateIdentity();
  const trustA = new SetTrust();
  const trustB = new SetTrust();
  const a = new OverlayNode({ identity: idA, conn: connA, trust: trustA, address: { network: 1, node: 0x10 }, limits });
  const b = new OverlayNode({ identity: idB, conn: connB, trust: trustB, address: { network: 1, node: 0x20 }, limits });
  a.addContact(contactOf(idB, b));
  b.addContact(contactOf(idA, a));
  const trustBoth = () => {
    trustA.keys.add(keyId(idB.publicKey));
    trustB.keys.add(keyId(idA.publicKey));
  };
  return { a, b, idA, idB, trustA, trustB, trustBoth, keyA: keyId(idA.publicKey), keyB: keyId(idB.publicKey) };
}

function memoryPair(limits = {}) {
  const net = new MemoryNetwork();
  return { net, ...makePair(net.attach({ host: '10.0.0.1', port: 1 }), net.attach({ host: '10.0.0.2', port: 2 }), limits) };
}

test('ping works between trusted peers and reports an RTT per reply', async () => {
  const { a, b, keyB, trustBoth } = memoryPair();
  trustBoth();
  const replies = await pingPeer(a, keyB, { count: 3, intervalMs: 1, timeoutMs: 1000 });
  assert.equal(replies.length, 3);
  for (const r of replies) assert.ok(r.rttMs !== null && r.rttMs >= 0, `seq ${r.seq} answered`);
  assert.equal(a.stats.handshakesCompleted, 1);
  assert.equal(b.stats.handshakesCompleted, 1);
  await a.close();
  await b.close();
});

test('sending to an untrusted peer on any port but 444 is refused locally', async () => {
  const { a, b, keyB } = memoryPair();
  await assert.rejects(a.sendDatagram(keyB, PORT_ECHO, Buffer.from('hi')), (err: unknown) => {
    return err instanceof OverlayError && err.code === 'not_trusted';
  });
  await a.close();
  await b.close();
});

test('an untrusted peer gets nothing through to any port but 444, and the drops are counted', async () => {
  const { a, b, keyA, keyB, trustA } = memoryPair();
  // A trusts B, B does not trust A: A may send, B must drop everything but port 444.
  trustA.keys.add(keyB);
  const received: number[] = [];
  for (const port of [1, 7, 1001, 1002, 1003, 5000, PORT_TRUST]) {
    b.bindDatagram(port, () => received.push(port));
  }
  for (const port of [1, 7, 1001, 1002, 1003, 5000]) await a.sendDatagram(keyB, port, Buffer.from('probe'));
  const trustReceived = new Promise<void>((resolve) => b.bindDatagram(PORT_TRUST, () => { received.push(PORT_TRUST); resolve(); }));
  await a.sendDatagram(keyB, PORT_TRUST, Buffer.from('hello'));
  await trustReceived;
  assert.deepEqual(received, [PORT_TRUST]);
  assert.equal(b.stats.droppedUntrusted, 6);
  assert.equal(b.peer(keyA)?.droppedUntrusted, 6);
  await a.close();
  await b.close();
});

test('real UDP sockets on loopback carry the tunnel', async () => {
  const ca = await UdpPacketConn.bind('127.0.0.1', 0);
  const cb = await UdpPacketConn.bind('127.0.0.1', 0);
  const { a, b, keyB, trustBoth } = makePair(ca, cb);
  trustBoth();
  const replies = await pingPeer(a, keyB, { count: 2, intervalMs: 1, timeoutMs: 1000 });
  assert.ok(replies.every((r) => r.rttMs !== null));
  await a.close();
  await b.close();
});

test('binding a UDP port that is in use fails with a clear message', async () => {
  const ca = await UdpPacketConn.bind('127.0.0.1', 0);
  await assert.rejects(UdpPacketConn.bind('127.0.0.1', ca.local.port), /already in use/);
  await ca.close();
});
