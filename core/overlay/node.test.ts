import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { OverlayNode, OverlayError, type PeerContact } from './node.ts';
import { MemoryNetwork, UdpPacketConn, type Datagram, type MemoryPacketConn, type PacketConn } from './transport.ts';
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

function counterOn(node: OverlayNode, port: number): { count: number; payloads: Buffer[] } {
  const seen = { count: 0, payloads: [] as Buffer[] };
  node.bindDatagram(port, (payload) => {
    seen.count++;
    seen.payloads.push(payload);
  });
  return seen;
}

function waitUntil(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setImmediate(poll);
    };
    poll();
  });
}

test('echo (port 7) answers a client on an ephemeral port with the same bytes', async () => {
  const { a, b, keyB, trustBoth } = memoryPair();
  trustBoth();
  const answer = new Promise<Buffer>((resolve) => {
    const port = a.bindEphemeral((payload) => resolve(payload));
    void a.sendDatagram(keyB, PORT_ECHO, Buffer.from('are you there?'), port);
  });
  assert.equal((await answer).toString(), 'are you there?');
  await a.close();
  await b.close();
});

test('volume-based rekey: a fresh handshake after N packets, with no packet lost across it', async () => {
  const { a, b, keyB, trustBoth } = memoryPair({ rekeyAfterMessages: 50, rejectAfterMessages: 1000 });
  trustBoth();
  const seen = counterOn(b, 5000);
  for (let i = 0; i < 400; i++) await a.sendDatagram(keyB, 5000, Buffer.from(`m${i}`));
  await waitUntil(() => seen.count === 400, 'all 400 datagrams');
  assert.ok(a.stats.handshakesCompleted >= 4, `rekeyed ${a.stats.handshakesCompleted} times`);
  await a.close();
  await b.close();
});

test('time-based rekey: keys older than rekeyAfterMs are replaced, and never used past rejectAfterMs', async () => {
  let now = 1_000_000;
  const net = new MemoryNetwork();
  const idA = generateIdentity();
  const idB = generateIdentity();
  const all = { isTrusted: () => true };
  const limits = { rekeyAfterMs: 1000, rejectAfterMs: 1500 };
  const na = new OverlayNode({ identity: idA, conn: net.attach({ host: '10.0.0.3', port: 3 }), trust: all, address: { network: 1, node: 3 }, limits, now: () => now });
  const nb = new OverlayNode({ identity: idB, conn: net.attach({ host: '10.0.0.4', port: 4 }), trust: all, address: { network: 1, node: 4 }, limits, now: () => now });
  na.addContact(contactOf(idB, nb));
  const seen = counterOn(nb, 6000);
  const key = keyId(idB.publicKey);
  await na.sendDatagram(key, 6000, Buffer.from('first'));
  await waitUntil(() => seen.count === 1, 'first datagram');
  assert.equal(na.stats.handshakesCompleted, 1);
  now += 1200; // past rekeyAfterMs: the next send triggers a handshake
  await na.sendDatagram(key, 6000, Buffer.from('second'));
  await waitUntil(() => na.stats.handshakesCompleted === 2 && seen.count === 2, 'rekey');
  now += 2000; // past rejectAfterMs for every key pair: sending must handshake before anything goes out
  await na.sendDatagram(key, 6000, Buffer.from('third'));
  await waitUntil(() => seen.count === 3, 'third datagram');
  assert.equal(na.stats.handshakesCompleted, 3);
  assert.deepEqual(seen.payloads.map(String), ['first', 'second', 'third']);
  await na.close();
  await nb.close();
});

/** A conn whose frames can be captured and replayed, as an attacker on the path could. */
class TappedConn implements PacketConn {
  readonly frames: Buffer[] = [];
  readonly held: Buffer[] = [];
  hold = false;
  readonly inner: PacketConn;
  constructor(inner: PacketConn) {
    this.inner = inner;
  }
  get local() {
    return this.inner.local;
  }
  send(data: Datagram, to: { host: string; port: number }): void {
    const frame = data instanceof Uint8Array ? Buffer.from(data) : Buffer.concat(data);
    this.frames.push(frame);
    if (this.hold) this.held.push(frame);
    else this.inner.send(data, to);
  }
  onPacket(handler: (data: Buffer, from: { host: string; port: number }) => void): void {
    this.inner.onPacket(handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

test('bit-flipped and replayed transport frames are dropped by the node, never delivered twice', async () => {
  const net = new MemoryNetwork();
  const tapped = new TappedConn(net.attach({ host: '10.0.0.1', port: 1 }));
  const { a, b, keyB, trustBoth } = makePair(tapped, net.attach({ host: '10.0.0.2', port: 2 }));
  trustBoth();
  await a.ensureSession(keyB);
  const seen = counterOn(b, 5000);
  // From here on, A's frames are captured on the path instead of delivered.
  tapped.hold = true;
  for (let i = 0; i < 5; i++) await a.sendDatagram(keyB, 5000, Buffer.from(`payload ${i}`));
  const frames = tapped.held.splice(0);
  assert.equal(frames.length, 5);
  const onPath = net.attach({ host: '10.0.0.66', port: 66 });
  // Every single-bit flip of the first frame: all refused.
  const first = frames[0] as Buffer;
  for (let bit = 0; bit < first.length * 8; bit++) {
    const flipped = Buffer.from(first);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    onPath.send(flipped, b.conn.local);
  }
  // Then the genuine frames, twice each.
  for (const f of frames) onPath.send(f, b.conn.local);
  for (const f of frames) onPath.send(f, b.conn.local);
  const refused = () => b.stats.transportAuthFailed + b.stats.transportUnknownIndex + b.stats.transportReplayed + b.stats.junk;
  // Each flip is refused one way or another (a flipped counter may even land on a used one and
  // count as a replay); each genuine frame is accepted once and refused as a replay the second time.
  await waitUntil(() => seen.count === 5 && refused() === first.length * 8 + 5, 'every frame to be accounted for');
  assert.ok(b.stats.transportReplayed >= 5);
  assert.deepEqual(seen.payloads.map(String), ['payload 0', 'payload 1', 'payload 2', 'payload 3', 'payload 4']);
  await a.close();
  await b.close();
});

test('a peer that roams to a new endpoint is followed once it sends an authenticated packet', async () => {
  const net = new MemoryNetwork();
  // B sits behind a "NAT" whose public endpoint we can change mid-session.
  const inner = net.attach({ host: '192.168.1.2', port: 2 });
  let publicEndpoint = { host: '203.0.113.7', port: 40000 };
  const natted: PacketConn = {
    get local() {
      return publicEndpoint;
    },
    send: (data, to) => net.deliver(data, publicEndpoint, to),
    onPacket: (handler) => inner.onPacket(handler),
    close: () => inner.close(),
  };
  const forward = (endpoint: { host: string; port: number }) => {
    const outside = net.attach(endpoint);
    outside.onPacket((data, from) => inner.receive(data, from));
    return outside;
  };
  let outside = forward(publicEndpoint);
  const { a, b, keyA, keyB, trustBoth } = makePair(net.attach({ host: '10.0.0.1', port: 1 }), natted);
  trustBoth();
  const atB = counterOn(b, 5000);
  const atA = counterOn(a, 5000);
  await b.sendDatagram(keyA, 5000, Buffer.from('hello from b'));
  await waitUntil(() => atA.count === 1, 'b to a');
  assert.deepEqual(a.peer(keyB)?.endpoint, { host: '203.0.113.7', port: 40000 });
  // The NAT rebinds: B's traffic now comes from another port, and the old mapping is gone.
  await outside.close();
  publicEndpoint = { host: '203.0.113.7', port: 40001 };
  outside = forward(publicEndpoint);
  await b.sendDatagram(keyA, 5000, Buffer.from('b again, from a new port'));
  await waitUntil(() => atA.count === 2, 'b to a after rebinding');
  assert.deepEqual(a.peer(keyB)?.endpoint, { host: '203.0.113.7', port: 40001 });
  await a.sendDatagram(keyB, 5000, Buffer.from('a answers at the new endpoint'));
  await waitUntil(() => atB.count === 1, 'a to b after rebinding');
  await a.close();
  await b.close();
  await outside.close();
});

test('handshake initiations are rate-limited per source IP', async () => {
  const net = new MemoryNetwork();
  const tapped = new TappedConn(net.attach({ host: '10.0.0.1', port: 1 }));
  const { a, b, keyB } = makePair(tapped, net.attach({ host: '10.0.0.2', port: 2 }));
  await a.ensureSession(keyB);
  const initiation = tapped.frames.find((f) => f[0] === 1) as Buffer;
  // Replaying one captured initiation 100 times from the same source: after the burst the node
  // stops spending Diffie-Hellman work on it, and none of it replaces the working session.
  for (let i = 0; i < 100; i++) (b.conn as MemoryPacketConn).receive(initiation, a.conn.local);
  assert.ok(b.stats.handshakesRateLimited >= 70, `rate-limited ${b.stats.handshakesRateLimited}`);
  assert.ok(b.stats.handshakesReplayed >= 1, 'the ones let through are recognised as replays');
  assert.equal(b.stats.handshakesCompleted, 1);
  await a.close();
  await b.close();
});
