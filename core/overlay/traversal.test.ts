/**
 * NAT traversal logic on an in-memory network: a registry/relay and two nodes wired as the daemon
 * wires them, with the direct path between the nodes blocked, opened or filtered like a NAT by a
 * fault-injection filter. The real NATs (Linux MASQUERADE in network namespaces) are exercised in
 * test/integration/nat.test.ts; this file pins down the decisions: relay fallback, punching,
 * upgrade to direct, recovery of a lost path mid-stream, and what the relay refuses.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAddress, parseAddress } from './address.ts';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { OverlayNode, type PeerView } from './node.ts';
import { RegistryClient } from './registry-client.ts';
import { RegistryServer } from './registry-server.ts';
import { encodePunch, encodePunchNotice, MSG_RELAY_SEND, relayHeader } from './relay-protocol.ts';
import type { OverlayStream } from './stream.ts';
import type { NatType } from './nat-type.ts';
import type { TunnelLimits } from './timers.ts';
import { MemoryNetwork, endpointKey, type Endpoint } from './transport.ts';
import { connectTraversal } from './traversal.ts';
import { RegistryStore } from '../store/registry-store.ts';

const REGISTRY: Endpoint = { host: '198.51.100.1', port: 9000 };
const FAST: Partial<TunnelLimits> = {
  handshakeRetryMs: 40,
  handshakeTimeoutMs: 5000,
  pathProbeMs: 400,
  pathSuspectMs: 200,
  pathLostMs: 400,
  relayAfterMs: 150,
  upgradeRetryMs: 300,
};

interface Member {
  node: OverlayNode;
  client: RegistryClient;
  identity: NodeIdentity;
  key: string;
  endpoint: Endpoint;
  trusted: Set<string>;
  register(nat?: NatType, endpoints?: string[]): Promise<void>;
}

interface Swarm {
  net: MemoryNetwork;
  registry: RegistryServer;
  registryIdentity: NodeIdentity;
  a: Member;
  b: Member;
}

/** True for a datagram between the two members (either way), which the filters act on. */
function betweenMembers(s: Swarm, from: Endpoint, to: Endpoint): boolean {
  const ends = new Set([endpointKey(s.a.endpoint), endpointKey(s.b.endpoint)]);
  return ends.has(endpointKey(from)) && ends.has(endpointKey(to));
}

async function swarm(t: TestContext, limits: Partial<TunnelLimits> = FAST): Promise<Swarm> {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-trav-'));
  const net = new MemoryNetwork();
  // The node's timers are unref'd (a real socket keeps a daemon alive); memory sockets do not.
  const alive = setInterval(() => {}, 1000);
  const store = RegistryStore.open(join(dir, 'registry.db'));
  const registryIdentity = generateIdentity();
  const registry = new RegistryServer({ conn: net.attach(REGISTRY), store, identity: registryIdentity, network: 1 });
  const members: Member[] = [];
  for (const host of ['10.1.0.2', '10.2.0.2']) {
    const identity = generateIdentity();
    const endpoint = { host, port: 7000 };
    const trusted = new Set<string>();
    const node = new OverlayNode({ identity, conn: net.attach(endpoint), trust: { isTrusted: (k) => trusted.has(k) }, limits });
    const client = new RegistryClient({ node, registry: REGISTRY, pinnedKey: null, attemptTimeoutsMs: [100, 200, 400] });
    const m: Member = {
      node,
      client,
      identity,
      key: keyId(identity.publicKey),
      endpoint,
      trusted,
      async register(nat?: NatType, endpoints: string[] = []) {
        const r = await client.register({
          ...(nat ? { nat } : {}),
          hostname: host === '10.1.0.2' ? 'node-a' : 'node-b',
          static_public: identity.staticKey.publicKey.toString('base64'),
          static_sig: identity.staticSignature.toString('base64'),
          endpoints,
          trusted: [...trusted].map((k) => Buffer.from(k, 'base64url').subarray(0, 8).toString('hex')),
          public: false,
        });
        const address = parseAddress(r.address);
        if (address.ok) node.setAddress(address.value);
      },
    };
    connectTraversal(node, client, () => m.register());
    members.push(m);
  }
  const [a, b] = members as [Member, Member];
  a.trusted.add(b.key);
  b.trusted.add(a.key);
  await a.register();
  await b.register();
  // A knows B as the registry describes it (B trusts A, so its endpoints are disclosed).
  const record = await a.client.lookup(b.key, 'connect');
  const address = parseAddress(record.address);
  assert.ok(address.ok);
  a.node.addContact({
    identityKey: b.identity.publicKey,
    staticPublic: b.identity.staticKey.publicKey,
    staticSignature: b.identity.staticSignature,
    address: address.value,
    endpoints: [b.endpoint],
    hostname: 'node-b',
  });
  t.after(async () => {
    clearInterval(alive);
    await a.node.close();
    await b.node.close();
    await registry.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { net, registry, registryIdentity, a, b };
}

function nextDatagram(node: OverlayNode, port: number): Promise<{ payload: Buffer; peer: PeerView }> {
  return new Promise((resolve) => node.bindDatagram(port, (payload, ctx) => resolve({ payload: Buffer.from(payload), peer: ctx.peer })));
}

function pathEvent(node: OverlayNode, want: 'direct' | 'relay'): Promise<void> {
  return new Promise((resolve) => {
    const on = (p: PeerView) => {
      if (p.path === want) {
        node.events.off('path', on);
        resolve();
      }
    };
    node.events.on('path', on);
  });
}

function readAll(stream: OverlayStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('close', (err: Error | null) => err && reject(err));
  });
}

async function writeAll(stream: OverlayStream, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; offset += 64 * 1024) {
    if (!stream.write(data.subarray(offset, offset + 64 * 1024))) await new Promise((r) => stream.once('drain', r));
  }
  stream.end();
}

test('no direct path between two nodes: the session comes up through the relay, both ways', async (t) => {
  const s = await swarm(t);
  s.net.conditions = { filter: (from, to) => !betweenMembers(s, from, to) };
  const atB = nextDatagram(s.b.node, 1001);
  await s.a.node.sendDatagram(s.b.key, 1001, Buffer.from('over the relay'));
  const got = await atB;
  assert.equal(got.payload.toString(), 'over the relay');
  assert.equal(s.a.node.peer(s.b.key)?.path, 'relay');
  assert.equal(s.b.node.peer(s.a.key)?.path, 'relay');
  const atA = nextDatagram(s.a.node, 1001);
  await s.b.node.sendDatagram(s.a.key, 1001, Buffer.from('and back'));
  assert.equal((await atA).payload.toString(), 'and back');
  assert.ok(s.registry.stats.relayed >= 4, `relayed ${s.registry.stats.relayed} packets`);
  assert.ok(s.a.node.stats.punchRequests >= 1, 'a punch was tried first');
  assert.ok(typeof s.a.node.peer(s.b.key)?.rttMs === 'number', 'the handshake measured an RTT');
});

test('a NAT-like filter (answers only): the punch through the registry opens a direct path, no relay used', async (t) => {
  const s = await swarm(t, { ...FAST, relayAfterMs: 60_000 });
  // Each member's "NAT" lets a datagram in only from where it has sent one to.
  const opened = new Set<string>();
  s.net.conditions = {
    filter: (from, to) => {
      if (!betweenMembers(s, from, to)) return true;
      opened.add(`${endpointKey(from)}>${endpointKey(to)}`);
      return opened.has(`${endpointKey(to)}>${endpointKey(from)}`);
    },
  };
  const atB = nextDatagram(s.b.node, 1001);
  await s.a.node.sendDatagram(s.b.key, 1001, Buffer.from('punched'));
  assert.equal((await atB).payload.toString(), 'punched');
  assert.equal(s.a.node.peer(s.b.key)?.path, 'direct');
  assert.equal(s.b.node.peer(s.a.key)?.path, 'direct');
  assert.ok(s.registry.stats.punches >= 1);
  assert.ok(s.b.node.stats.punchesSent >= 1 && s.a.node.stats.punchesReceived >= 1);
  assert.equal(s.registry.stats.relayed, 0, 'nothing went through the relay');
});

test('a relayed session becomes direct once the direct path opens, on both sides', async (t) => {
  const s = await swarm(t);
  let blocked = true;
  s.net.conditions = { filter: (from, to) => !(blocked && betweenMembers(s, from, to)) };
  const atB = nextDatagram(s.b.node, 1001);
  await s.a.node.sendDatagram(s.b.key, 1001, Buffer.from('x'));
  await atB;
  assert.equal(s.a.node.peer(s.b.key)?.path, 'relay');
  const directA = pathEvent(s.a.node, 'direct');
  const directB = pathEvent(s.b.node, 'direct');
  blocked = false;
  await Promise.all([directA, directB]);
  assert.equal(s.a.node.peer(s.b.key)?.path, 'direct');
  assert.equal(s.b.node.peer(s.a.key)?.path, 'direct');
  const relayedBefore = s.registry.stats.relayed;
  const again = nextDatagram(s.b.node, 1001);
  await s.a.node.sendDatagram(s.b.key, 1001, Buffer.from('direct now'));
  assert.equal((await again).payload.toString(), 'direct now');
  assert.equal(s.registry.stats.relayed, relayedBefore, 'the datagram did not touch the relay');
});

test('the direct path dies mid-stream: both sides fall back to the relay and the stream completes intact', async (t) => {
  const s = await swarm(t);
  let blocked = false;
  s.net.conditions = { filter: (from, to) => !(blocked && betweenMembers(s, from, to)) };
  const accepted = new Promise<OverlayStream>((resolve) => s.b.node.listenStream(1001, resolve));
  const sender = await s.a.node.connectStream(s.b.key, 1001);
  const receiver = await accepted;
  assert.equal(s.a.node.peer(s.b.key)?.path, 'direct');
  const received = readAll(receiver);
  const lost = new Promise<void>((resolve) => s.a.node.events.once('path-lost', () => resolve()));
  const data = randomBytes(2 * 1024 * 1024);
  let seen = 0;
  receiver.on('data', (c: Buffer) => {
    seen += c.length;
    if (!blocked && seen > data.length / 4) blocked = true; // the NAT forgets us a quarter of the way in
  });
  await writeAll(sender, data);
  const got = await received;
  await lost;
  assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.equal(s.a.node.peer(s.b.key)?.path, 'relay');
  assert.ok(s.registry.stats.relayed > 100, `relayed ${s.registry.stats.relayed}`);
  assert.ok(s.a.node.stats.pathsLost >= 1);
});

test('the relay forwards only from registered senders to registered nodes, rewriting the header, never more bytes than it got', async (t) => {
  const s = await swarm(t);
  const stranger = s.net.attach({ host: '192.0.2.99', port: 4000 });
  const atB: Buffer[] = [];
  const frame = Buffer.concat([relayHeader(MSG_RELAY_SEND, s.b.node.address), randomBytes(100)]);
  s.net.conditions = {
    filter: (from, to) => {
      if (endpointKey(from) === endpointKey(REGISTRY) && endpointKey(to) === endpointKey(s.b.endpoint)) atB.push(Buffer.alloc(0));
      return true;
    },
  };
  stranger.send(frame, REGISTRY); // not registered
  s.net.attach({ host: '10.1.0.2', port: 7001 }).send(frame, REGISTRY); // A's host, but not A's registered mapping
  s.a.node.sendUnderlay(Buffer.concat([relayHeader(MSG_RELAY_SEND, { network: 1, node: 0x7777 }), randomBytes(10)]), REGISTRY); // nobody there
  s.a.node.sendUnderlay(relayHeader(MSG_RELAY_SEND, s.b.node.address), REGISTRY); // a header and nothing to relay
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(s.registry.stats.relayDropped, 4);
  assert.equal(s.registry.stats.relayed, 0);
  assert.equal(atB.length, 0);
  // From A's registered endpoint to B: forwarded once, same size, naming A as the source.
  const relayedIn = s.b.node.stats.relayedIn;
  s.a.node.sendUnderlay(frame, REGISTRY);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(atB.length, 1);
  assert.equal(s.b.node.stats.relayedIn, relayedIn + 1, 'B took it as a relayed frame (and dropped the random bytes as an unknown index)');
  assert.equal(s.registry.stats.relayed, 1);
  assert.equal(s.registry.stats.relayedBytes, frame.length);
});

test('punch notices: only the pinned registry, fresh and once; unknown punch tokens are junk', async (t) => {
  const s = await swarm(t);
  const sentBefore = s.b.node.stats.punchesSent;
  const notice = { op: 'punch' as const, key: s.a.key, address: formatAddress(s.a.node.address), endpoints: ['10.1.0.2:7000'], token: 'ab'.repeat(16), ts: Date.now() };
  const impostor = s.net.attach({ host: '198.51.100.66', port: 9000 });
  // Signed by another key, from the registry's own endpoint: refused.
  s.net.detach(REGISTRY);
  const fakeRegistry = s.net.attach(REGISTRY);
  fakeRegistry.send(encodePunchNotice(generateIdentity(), notice), s.b.endpoint);
  // Signed by the real key but from elsewhere: ignored.
  impostor.send(encodePunchNotice(s.registryIdentity, notice), s.b.endpoint);
  // Stale: refused.
  fakeRegistry.send(encodePunchNotice(s.registryIdentity, { ...notice, ts: Date.now() - 120_000 }), s.b.endpoint);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.b.client.stats.punchNoticesRejected, 2, 'the forged and the stale one (the other is not even looked at)');
  assert.equal(s.b.client.stats.punchNotices, 0);
  assert.equal(s.b.node.stats.punchesSent, sentBefore);
  // The genuine one, twice: acted on once.
  const genuine = encodePunchNotice(s.registryIdentity, notice);
  fakeRegistry.send(genuine, s.b.endpoint);
  fakeRegistry.send(genuine, s.b.endpoint);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.b.client.stats.punchNotices, 1);
  assert.ok(s.b.node.stats.punchesSent > sentBefore);
  // A punch packet with a token nobody asked for does nothing but count as junk.
  const junk = s.a.node.stats.junk;
  impostor.send(encodePunch(randomBytes(16)), s.a.endpoint);
  await new Promise((r) => setImmediate(r));
  assert.equal(s.a.node.stats.junk, junk + 1);
  assert.equal(s.a.node.stats.punchesReceived, 0);
});

test('a closed session starts afresh: silence from the old one does not count against the next', async (t) => {
  const s = await swarm(t, { ...FAST, pathProbeMs: 60_000 });
  const atB = nextDatagram(s.b.node, 1001);
  await s.a.node.sendDatagram(s.b.key, 1001, Buffer.from('hello')); // B learns A from the handshake
  await atB;
  // Let both first path probes (at the first ticks) come and go, so nothing answers what follows.
  await new Promise((r) => setTimeout(r, 3 * (FAST.pathSuspectMs ?? 0)));
  const atA = nextDatagram(s.a.node, 1001);
  await s.b.node.sendDatagram(s.a.key, 1001, Buffer.from('last words')); // nothing answers this
  await atA;
  s.a.node.closeSession(s.b.key);
  s.b.node.closeSession(s.a.key);
  // Longer than pathLostMs: the old session's unanswered packet is now "old silence".
  await new Promise((r) => setTimeout(r, 2 * (FAST.pathLostMs ?? 0)));
  await s.b.node.ensureSession(s.a.key);
  const lostBefore = s.b.node.stats.pathsLost;
  await new Promise((r) => setTimeout(r, FAST.pathLostMs));
  assert.equal(s.b.node.stats.pathsLost, lostBefore, 'the fresh session was not declared lost');
  assert.equal(s.b.node.peer(s.a.key)?.path, 'direct');
});

test('a peer that registered as behind a symmetric NAT is reached through the relay at once, not after relayAfterMs', async (t) => {
  const s = await swarm(t, { ...FAST, relayAfterMs: 60_000 });
  s.net.conditions = { filter: (from, to) => !betweenMembers(s, from, to) };
  await s.b.register('symmetric');
  const atB = nextDatagram(s.b.node, 1001);
  await s.a.node.sendDatagram(s.b.key, 1001, Buffer.from('hinted'));
  assert.equal((await atB).payload.toString(), 'hinted');
  assert.equal(s.a.node.peer(s.b.key)?.path, 'relay');
});

test('punch packets go only where the punch request came from, never to endpoints a node merely declares', async (t) => {
  const s = await swarm(t);
  const victim = s.net.attach({ host: '192.0.2.50', port: 5000 });
  let hits = 0;
  victim.onPacket(() => hits++);
  await s.a.register(undefined, ['192.0.2.50:5000']); // A claims the victim's address as its own
  s.net.conditions = { filter: (from, to) => !betweenMembers(s, from, to) };
  const atB = nextDatagram(s.b.node, 1001);
  await s.a.node.sendDatagram(s.b.key, 1001, Buffer.from('x'));
  await atB;
  await new Promise((r) => setTimeout(r, 800)); // the punch schedule's last packet leaves at 700 ms
  assert.ok(s.b.node.stats.punchesSent > 0, 'B did punch');
  assert.equal(hits, 0, 'nothing reached the declared-only address');
});
