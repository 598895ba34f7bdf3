import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAddress, parseAddress } from './address.ts';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { OverlayNode } from './node.ts';
import { RegistryClient, RegistryError } from './registry-client.ts';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  MSG_REGISTRY_RESPONSE,
  trustTag,
  type LookupBody,
  type PublicRecord,
  type RegisterBody,
  type ResponseBody,
} from './registry-protocol.ts';
import { RegistryServer } from './registry-server.ts';
import { formatEndpoint, UdpPacketConn, type Endpoint } from './transport.ts';
import { RegistryStore } from '../store/registry-store.ts';

const NETWORK = 1;

interface Registry {
  server: RegistryServer;
  store: RegistryStore;
  identity: NodeIdentity;
  dbPath: string;
  /** Closes the server and its database, then starts a new one on the same port and file. */
  restart(): Promise<void>;
}

async function startRegistry(t: TestContext): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-reg-'));
  const dbPath = join(dir, 'registry.db');
  const identity = generateIdentity();
  const reg = {
    identity,
    dbPath,
    store: RegistryStore.open(dbPath),
    server: null as unknown as RegistryServer,
    async restart() {
      const port = reg.server.local.port;
      await reg.server.close();
      reg.store.close();
      reg.store = RegistryStore.open(dbPath);
      reg.server = new RegistryServer({ conn: await UdpPacketConn.bind('127.0.0.1', port), store: reg.store, identity, network: NETWORK });
    },
  };
  reg.server = new RegistryServer({ conn: await UdpPacketConn.bind('127.0.0.1', 0), store: reg.store, identity, network: NETWORK });
  t.after(async () => {
    await reg.server.close();
    if (reg.store.db.isOpen) reg.store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return reg;
}

interface Member {
  node: OverlayNode;
  client: RegistryClient;
  identity: NodeIdentity;
  key: string;
  pins: string[];
}

async function member(t: TestContext, registry: Endpoint, options: { pinnedKey?: string | null; attemptTimeoutsMs?: number[] } = {}): Promise<Member> {
  const identity = generateIdentity();
  const conn = await UdpPacketConn.bind('127.0.0.1', 0);
  const node = new OverlayNode({ identity, conn, trust: { isTrusted: () => false } });
  const pins: string[] = [];
  const client = new RegistryClient({
    node,
    registry,
    pinnedKey: options.pinnedKey ?? null,
    onPin: (key) => pins.push(key),
    ...(options.attemptTimeoutsMs ? { attemptTimeoutsMs: options.attemptTimeoutsMs } : {}),
  });
  t.after(() => node.close());
  return { node, client, identity, key: keyId(identity.publicKey), pins };
}

function registration(m: Member, hostname: string, extra: Partial<Omit<RegisterBody, 'op'>> = {}): Omit<RegisterBody, 'op'> {
  return {
    hostname,
    static_public: m.identity.staticKey.publicKey.toString('base64'),
    static_sig: m.identity.staticSignature.toString('base64'),
    endpoints: [],
    trusted: [],
    public: false,
    ...extra,
  };
}

async function refusal(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RegistryError, `expected a RegistryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

/** A bare UDP socket that speaks the registry protocol by hand, as an attacker or a test would. */
async function rawSocket(t: TestContext): Promise<{ conn: UdpPacketConn; responses: ResponseBody[]; next(): Promise<ResponseBody> }> {
  const conn = await UdpPacketConn.bind('127.0.0.1', 0);
  t.after(() => conn.close());
  const responses: ResponseBody[] = [];
  const waiters: Array<(r: ResponseBody) => void> = [];
  conn.onPacket((data) => {
    if (data[0] !== MSG_REGISTRY_RESPONSE) return;
    const decoded = decodeResponse(data, null);
    if (!decoded.ok) return;
    responses.push(decoded.value);
    waiters.shift()?.(decoded.value);
  });
  return {
    conn,
    responses,
    next: () =>
      new Promise<ResponseBody>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no response from the registry within 2 s')), 2000);
        waiters.push((r) => {
          clearTimeout(timer);
          resolve(r);
        });
      }),
  };
}

test('register assigns an address in the registry network and reports the observed endpoint', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const result = await a.client.register(registration(a, 'gcp-log-monitor'));
  const address = parseAddress(result.address);
  assert.ok(address.ok, result.address);
  assert.equal(address.value.network, NETWORK);
  assert.ok(address.value.node > 3 && address.value.node !== 0xffffffff, 'not a reserved node ID');
  assert.equal(result.observed, formatEndpoint(a.node.conn.local));
  assert.equal(reg.server.stats.registrations, 1);
  // The client pinned the registry key on first contact, exactly once.
  assert.equal(a.client.registryKey, reg.server.keyId);
  assert.deepEqual(a.pins, [reg.server.keyId]);
  await a.client.register(registration(a, 'gcp-log-monitor'));
  assert.deepEqual(a.pins, [reg.server.keyId]);
});

test('the same key re-registering keeps its address, even under a new hostname', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const b = await member(t, reg.server.local);
  const first = await a.client.register(registration(a, 'gcp-log-monitor'));
  const again = await a.client.register(registration(a, 'gcp-log-monitor'));
  assert.equal(again.address, first.address);
  const renamed = await a.client.register(registration(a, 'gcp-log-monitor-2'));
  assert.equal(renamed.address, first.address);
  assert.equal(reg.store.count(), 1);
  // The old name is free again.
  await b.client.register(registration(b, 'gcp-log-monitor'));
  await b.client.register(registration(b, 'b'));
  const byNew = await b.client.lookup('gcp-log-monitor-2', 'info');
  assert.equal(byNew.key, a.key);
});

test('two keys get different addresses', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const b = await member(t, reg.server.local);
  const ra = await a.client.register(registration(a, 'a'));
  const rb = await b.client.register(registration(b, 'b'));
  assert.notEqual(ra.address, rb.address);
});

test('a hostname belongs to the key that first took it', async (t) => {
  const reg = await startRegistry(t);
  const owner = await member(t, reg.server.local);
  const thief = await member(t, reg.server.local);
  await owner.client.register(registration(owner, 'aws-firewall-executor'));
  const err = await refusal(thief.client.register(registration(thief, 'aws-firewall-executor')));
  assert.equal(err.code, 'registry_refused');
  assert.equal(err.reason, 'hostname_taken');
  assert.ok(err.message.includes(owner.identity.fingerprint), `names the owner's fingerprint: ${err.message}`);
  assert.ok(err.message.includes(formatEndpoint(reg.server.local)), 'names the registry');
  assert.ok(err.hint.length > 0);
  // Nothing about the owner changed.
  const record = reg.store.byHostname('aws-firewall-executor');
  assert.equal(record?.key, owner.key);
  assert.equal(reg.store.byKey(thief.key), null);
});

test('a registration with an invalid hostname or a static key not signed by the identity is refused', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const other = generateIdentity();
  const badHost = await refusal(a.client.register(registration(a, 'Not_A_Hostname')));
  assert.equal(badHost.reason, 'invalid');
  const foreignStatic = await refusal(
    a.client.register(registration(a, 'a', { static_public: other.staticKey.publicKey.toString('base64'), static_sig: other.staticSignature.toString('base64') })),
  );
  assert.equal(foreignStatic.reason, 'invalid');
  assert.match(foreignStatic.message, /static key is not signed/);
  assert.equal(reg.store.count(), 0);
});

test('lookups by hostname, address and key find the same record', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const b = await member(t, reg.server.local);
  await a.client.register(registration(a, 'local-threat-orchestrator'));
  const { address } = await b.client.register(registration(b, 'gcp-log-monitor'));
  const byName = await a.client.lookup('gcp-log-monitor', 'info');
  const byAddress = await a.client.lookup(address, 'info');
  const byKey = await a.client.lookup(b.key, 'info');
  for (const r of [byName, byAddress, byKey]) {
    assert.equal(r.hostname, 'gcp-log-monitor');
    assert.equal(r.address, address);
    assert.equal(r.key, b.key);
    assert.equal(r.static_public, b.identity.staticKey.publicKey.toString('base64'));
    assert.equal(r.static_sig, b.identity.staticSignature.toString('base64'));
    assert.equal(r.online, true);
  }
  assert.ok(reg.server.stats.lookups >= 3);
});

test('unknown target → not_found; unregistered requester → not_registered', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const stranger = await member(t, reg.server.local);
  await a.client.register(registration(a, 'a'));
  const missing = await refusal(a.client.lookup('nobody-here', 'info'));
  assert.equal(missing.code, 'registry_refused');
  assert.equal(missing.reason, 'not_found');
  assert.match(missing.message, /nobody-here/);
  const missingAddress = await refusal(a.client.lookup('1:0001.DEAD.BEEF', 'info'));
  assert.equal(missingAddress.reason, 'not_found');
  const refused = await refusal(stranger.client.lookup('a', 'handshake'));
  assert.equal(refused.reason, 'not_registered');
});

test('privacy: endpoints are disclosed for a handshake, to peers the target trusts, to itself, and for public nodes only', async (t) => {
  const reg = await startRegistry(t);
  const target = await member(t, reg.server.local);
  const friend = await member(t, reg.server.local);
  const stranger = await member(t, reg.server.local);
  await friend.client.register(registration(friend, 'friend'));
  await stranger.client.register(registration(stranger, 'stranger'));
  await target.client.register(registration(target, 'target', { endpoints: ['192.0.2.44:7000'], trusted: [trustTag(friend.key)] }));
  const expected = [formatEndpoint(target.node.conn.local), '192.0.2.44:7000'];

  // A registered node the target does not trust learns who it is, not where it is.
  assert.equal((await stranger.client.lookup('target', 'info')).endpoints, undefined);
  assert.equal((await stranger.client.lookup('target', 'connect')).endpoints, undefined);
  // ...except to ask it for trust.
  assert.deepEqual((await stranger.client.lookup('target', 'handshake')).endpoints, expected);
  // A node the target trusts may connect.
  assert.deepEqual((await friend.client.lookup('target', 'connect')).endpoints, expected);
  assert.deepEqual((await friend.client.lookup('target', 'info')).endpoints, expected);
  // A node may always see itself.
  assert.deepEqual((await target.client.lookup('target', 'info')).endpoints, expected);

  // Trust is what the target says in its latest registration: it can be withdrawn.
  await target.client.register(registration(target, 'target', { trusted: [] }));
  assert.equal((await friend.client.lookup('target', 'connect')).endpoints, undefined);

  // A public node discloses its endpoints to anyone registered.
  await target.client.register(registration(target, 'target', { public: true }));
  assert.deepEqual((await stranger.client.lookup('target', 'info')).endpoints, [formatEndpoint(target.node.conn.local)]);
});

test('handshake lookups that disclose endpoints are rate-limited per requesting key', async (t) => {
  const reg = await startRegistry(t);
  const target = await member(t, reg.server.local);
  const prober = await member(t, reg.server.local);
  await target.client.register(registration(target, 'target'));
  await prober.client.register(registration(prober, 'prober'));
  let limited: RegistryError | null = null;
  for (let i = 0; i < 40 && !limited; i++) {
    try {
      await prober.client.lookup('target', 'handshake');
    } catch (err) {
      limited = err as RegistryError;
    }
  }
  assert.ok(limited, 'some handshake lookup was refused');
  assert.equal(limited.reason, 'rate_limited');
  // Lookups that disclose nothing are still answered.
  assert.equal((await prober.client.lookup('target', 'info')).endpoints, undefined);
});

test('unregister marks the node offline but keeps its name and address', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const b = await member(t, reg.server.local);
  await a.client.register(registration(a, 'a'));
  const { address } = await b.client.register(registration(b, 'b'));
  await b.client.unregister();
  const record = await a.client.lookup('b', 'info');
  assert.equal(record.online, false);
  assert.equal(record.address, address);
  const back = await b.client.register(registration(b, 'b'));
  assert.equal(back.address, address);
  assert.equal((await a.client.lookup('b', 'info')).online, true);
});

test('the registry survives a restart: records, addresses and lookups are intact', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const b = await member(t, reg.server.local);
  await a.client.register(registration(a, 'local-threat-orchestrator'));
  const { address } = await b.client.register(registration(b, 'gcp-log-monitor', { trusted: [trustTag(a.key)] }));
  await reg.restart();
  assert.equal(reg.server.stats.registrations, 0, 'a fresh server process');
  const record = await a.client.lookup('gcp-log-monitor', 'connect');
  assert.equal(record.address, address);
  assert.equal(record.key, b.key);
  assert.deepEqual(record.endpoints, [formatEndpoint(b.node.conn.local)], 'the trust list survived too');
  const again = await b.client.register(registration(b, 'gcp-log-monitor'));
  assert.equal(again.address, address);
  // The hostname still belongs to its first owner.
  const c = await member(t, reg.server.local);
  assert.equal((await refusal(c.client.register(registration(c, 'gcp-log-monitor')))).reason, 'hostname_taken');
});

test('a client whose pinned key differs from the registry key refuses its answers: registry_key_mismatch', async (t) => {
  const reg = await startRegistry(t);
  const pinnedElsewhere = keyId(generateIdentity().publicKey);
  const a = await member(t, reg.server.local, { pinnedKey: pinnedElsewhere, attemptTimeoutsMs: [50, 50] });
  const err = await refusal(a.client.register(registration(a, 'a')));
  assert.equal(err.code, 'registry_key_mismatch');
  assert.match(err.hint, /--registry-key/);
  assert.equal(a.client.keyMismatch, true);
  assert.equal(a.client.registryKey, pinnedElsewhere, 'the pin is not replaced');
  assert.deepEqual(a.pins, []);
  // The registry did answer: the refusal is the client's, not a lost packet.
  assert.ok(reg.server.stats.registrations >= 1);
});

test('a registry that is down gives registry_unreachable with a hint', async (t) => {
  const gone = await UdpPacketConn.bind('127.0.0.1', 0);
  const where = gone.local;
  await gone.close();
  const a = await member(t, where, { attemptTimeoutsMs: [50, 50] });
  const started = Date.now();
  const err = await refusal(a.client.lookup('anyone', 'info'));
  assert.equal(err.code, 'registry_unreachable');
  assert.ok(err.message.includes(formatEndpoint(where)), err.message);
  assert.ok(err.hint.length > 0);
  assert.ok(Date.now() - started < 2000, 'gives up after the configured attempts');
});

test('answers from anywhere but the registry endpoint are ignored by the client', async (t) => {
  // A hand-made registry that, for every request, first has a spoofer on another port answer
  // with the right nonce and a valid signature, then answers itself.
  const registryIdentity = generateIdentity();
  const registryKey = keyId(registryIdentity.publicKey);
  const fake = await UdpPacketConn.bind('127.0.0.1', 0);
  const spoofer = await UdpPacketConn.bind('127.0.0.1', 0);
  t.after(() => fake.close());
  t.after(() => spoofer.close());
  const a = await member(t, fake.local);
  const record: PublicRecord = {
    hostname: 'a',
    address: '1:0001.0000.0100',
    key: a.key,
    static_public: a.identity.staticKey.publicKey.toString('base64'),
    static_sig: a.identity.staticSignature.toString('base64'),
    online: true,
    last_seen: Date.now(),
  };
  fake.onPacket((data, from) => {
    const req = decodeRequest(data);
    if (!req.ok) return;
    const re = req.value.nonce;
    spoofer.send(encodeResponse(registryIdentity, { re, registry_key: registryKey, ok: false, error: { code: 'not_found', message: 'spoofed' } }), from);
    fake.send(encodeResponse(registryIdentity, { re, registry_key: registryKey, ok: true, record }), from);
  });
  assert.deepEqual(await a.client.lookup('a', 'info'), record);
});

test('a replayed request is answered at most once', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  await a.client.register(registration(a, 'a'));
  const raw = await rawSocket(t);
  const lookup: LookupBody = { op: 'lookup', target: 'a', purpose: 'info' };
  const first = encodeRequest(a.identity, lookup);
  raw.conn.send(first.bytes, reg.server.local);
  const answer = await raw.next();
  assert.equal(answer.re, first.nonce);
  assert.equal(answer.ok, true);
  // The same bytes again (from the same socket, and from another one), then a fresh request as
  // a barrier: the registry handles datagrams in order, so once the fresh answer is here any
  // answer to the replays would have arrived before it.
  raw.conn.send(first.bytes, reg.server.local);
  const other = await rawSocket(t);
  other.conn.send(first.bytes, reg.server.local);
  const fresh = encodeRequest(a.identity, lookup);
  raw.conn.send(fresh.bytes, reg.server.local);
  assert.equal((await raw.next()).re, fresh.nonce);
  assert.deepEqual(raw.responses.map((r) => r.re), [first.nonce, fresh.nonce]);
  const barrier = encodeRequest(a.identity, lookup);
  other.conn.send(barrier.bytes, reg.server.local);
  assert.equal((await other.next()).re, barrier.nonce);
  assert.deepEqual(other.responses.map((r) => r.re), [barrier.nonce]);
  assert.equal(reg.server.stats.replayed, 2);
});

test('a stale or future timestamp is refused with code stale', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  await a.client.register(registration(a, 'a'));
  const raw = await rawSocket(t);
  const lookup: LookupBody = { op: 'lookup', target: 'a', purpose: 'info' };
  for (const skew of [-10 * 60_000, +10 * 60_000]) {
    const old = encodeRequest(a.identity, lookup, Date.now() + skew);
    raw.conn.send(old.bytes, reg.server.local);
    const answer = await raw.next();
    assert.equal(answer.re, old.nonce);
    assert.equal(answer.ok, false);
    assert.equal(answer.error?.code, 'stale');
    assert.match(answer.error?.message ?? '', /clock/);
  }
  // A stale registration changes nothing.
  const staleRegister = encodeRequest(a.identity, { op: 'register', ...registration(a, 'renamed') }, Date.now() - 10 * 60_000);
  raw.conn.send(staleRegister.bytes, reg.server.local);
  assert.equal((await raw.next()).error?.code, 'stale');
  assert.equal(reg.store.byKey(a.key)?.hostname, 'a');
});

test('junk datagrams get no answer and are counted; the registry keeps serving', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  await a.client.register(registration(a, 'a'));
  const raw = await rawSocket(t);
  const junk = [Buffer.from('hello'), Buffer.from([0x10]), Buffer.alloc(200, 0x10), Buffer.from([0x11, 1, 2, 3]), Buffer.alloc(1)];
  for (const j of junk) raw.conn.send(j, reg.server.local);
  const good = encodeRequest(a.identity, { op: 'lookup', target: 'a', purpose: 'info' });
  raw.conn.send(good.bytes, reg.server.local);
  assert.equal((await raw.next()).re, good.nonce);
  assert.deepEqual(raw.responses.map((r) => r.re), [good.nonce], 'no answer to junk (the registry is not an amplifier)');
  assert.equal(reg.server.stats.invalid, junk.length);
});

test('registry records keep what the node registered, observed endpoint first', async (t) => {
  const reg = await startRegistry(t);
  const a = await member(t, reg.server.local);
  const tag = trustTag(keyId(generateIdentity().publicKey));
  const { address } = await a.client.register(
    registration(a, 'a', { endpoints: ['192.0.2.1:1', 'not an endpoint', '192.0.2.1:1', '[2001:db8::7]:9'], trusted: [tag], public: true }),
  );
  const rec = reg.store.byKey(a.key);
  assert.ok(rec);
  assert.equal(formatAddress(rec), address);
  assert.deepEqual(rec.endpoints, [formatEndpoint(a.node.conn.local), '192.0.2.1:1', '[2001:db8::7]:9'], 'deduplicated, junk dropped');
  assert.deepEqual(rec.trusted, [tag]);
  assert.equal(rec.public, true);
});
