import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BeaconClient } from './beacon-client.ts';
import { BEACON_ANSWER_SIZE, BEACON_PROBE_SIZE, decodeAnswer, decodeProbe, encodeAnswer, encodeProbe, newProbeNonce } from './beacon-protocol.ts';
import { randomBytes } from './crypto.ts';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { classifyNat } from './nat-type.ts';
import { OverlayNode } from './node.ts';
import { RegistryClient } from './registry-client.ts';
import { RegistryServer, startRegistry } from './registry-server.ts';
import { endpointKey, MemoryNetwork, UdpPacketConn, type Datagram, type Endpoint, type MemoryPacketConn, type PacketConn, type PacketHandler } from './transport.ts';
import { RegistryStore } from '../store/registry-store.ts';

const FAST_RETRY = [50, 100];

// ---- classification --------------------------------------------------------------------------

test('classifyNat: an answer equal to our own endpoint means no NAT', () => {
  const self = { host: '203.0.113.5', port: 7000 };
  const r = classifyNat({ localPort: 7000, localAddresses: ['127.0.0.1', '203.0.113.5'], viaRegistry: self, viaBeacon: self });
  assert.deepEqual(r, { type: 'none', observed: '203.0.113.5:7000' });
  // One answer is enough to see there is no NAT; a dual-stack view of the address is the same address.
  const mapped = classifyNat({ localPort: 7000, localAddresses: ['203.0.113.5'], viaRegistry: null, viaBeacon: { host: '::ffff:203.0.113.5', port: 7000 } });
  assert.deepEqual(mapped, { type: 'none', observed: '203.0.113.5:7000' });
});

test('classifyNat: the same mapping towards both ports is endpoint-independent, different mappings are symmetric', () => {
  const local = { localPort: 40000, localAddresses: ['10.1.0.2'] };
  const cone = classifyNat({ ...local, viaRegistry: { host: '198.51.100.1', port: 40000 }, viaBeacon: { host: '198.51.100.1', port: 40000 } });
  assert.deepEqual(cone, { type: 'endpoint-independent', observed: '198.51.100.1:40000' });
  const symmetric = classifyNat({ ...local, viaRegistry: { host: '198.51.100.1', port: 51000 }, viaBeacon: { host: '198.51.100.1', port: 51001 } });
  assert.deepEqual(symmetric, { type: 'symmetric', observed: '198.51.100.1:51000' });
  // A NAT that keeps the port but not our address is still a NAT.
  const samePort = classifyNat({ ...local, viaRegistry: { host: '198.51.100.1', port: 40000 }, viaBeacon: { host: '198.51.100.2', port: 40000 } });
  assert.equal(samePort.type, 'symmetric');
});

test('classifyNat: fewer than two answers and none of them ours is unknown', () => {
  const local = { localPort: 40000, localAddresses: ['10.1.0.2'] };
  assert.deepEqual(classifyNat({ ...local, viaRegistry: null, viaBeacon: null }), { type: 'unknown', observed: null });
  assert.deepEqual(classifyNat({ ...local, viaRegistry: { host: '198.51.100.1', port: 1 }, viaBeacon: null }), { type: 'unknown', observed: '198.51.100.1:1' });
  // Same address as ours but another port: a port-translating NAT on a public address, not "none".
  assert.equal(classifyNat({ localPort: 40000, localAddresses: ['198.51.100.1'], viaRegistry: { host: '198.51.100.1', port: 1 }, viaBeacon: null }).type, 'unknown');
});

// ---- wire format -----------------------------------------------------------------------------

test('beacon probe and answer: fixed sizes, the answer never larger than the probe', () => {
  assert.equal(BEACON_PROBE_SIZE, 145);
  assert.equal(BEACON_ANSWER_SIZE, 145);
  const nonce = Buffer.alloc(16, 7);
  const probe = encodeProbe(nonce);
  assert.equal(probe.length, BEACON_PROBE_SIZE);
  assert.equal(probe[0], 0x12);
  const decoded = decodeProbe(probe);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.value, nonce);
  const padded = Buffer.from(probe);
  padded[100] = 1;
  const bad = decodeProbe(padded);
  assert.equal(!bad.ok && bad.error.code, 'beacon_padding');
  assert.equal(decodeProbe(probe.subarray(0, 17)).ok, false);
});

test('beacon answer: verifies only with the registry key that signed it, and refuses tampering', () => {
  const registry = generateIdentity();
  const nonce = newProbeNonce();
  const answer = encodeAnswer(registry, nonce, { host: '198.51.100.1', port: 40000 });
  assert.equal(answer.length, BEACON_ANSWER_SIZE);
  const ok = decodeAnswer(answer, registry.publicKey);
  assert.ok(ok.ok);
  assert.deepEqual(ok.value, { nonce, observed: { host: '198.51.100.1', port: 40000 } });
  const ipv6 = decodeAnswer(encodeAnswer(registry, nonce, { host: '2001:db8::1', port: 9 }), registry.publicKey);
  assert.ok(ipv6.ok);
  assert.deepEqual(ipv6.value.observed, { host: '2001:db8::1', port: 9 });

  const other = generateIdentity();
  const wrongKey = decodeAnswer(answer, other.publicKey);
  assert.equal(!wrongKey.ok && wrongKey.error.code, 'beacon_signature');
  const tampered = Buffer.from(answer);
  tampered[20] = (tampered[20] as number) ^ 1; // inside the endpoint text
  const t = decodeAnswer(tampered, registry.publicKey);
  assert.equal(!t.ok && t.error.code, 'beacon_signature');
  // Total on junk: random bytes of every length up to a bit past the size, never a throw.
  for (let len = 0; len < BEACON_ANSWER_SIZE + 3; len++) {
    const junk = randomBytes(len);
    if (len > 0) junk[0] = 0x13;
    assert.equal(decodeAnswer(junk, registry.publicKey).ok, false);
    assert.equal(decodeProbe(junk).ok, false);
  }
});

// ---- the classifier against a beacon, through simulated NATs -----------------------------------

/**
 * A NAT in front of one node on a MemoryNetwork: outgoing datagrams leave from a public endpoint
 * that is the same for every destination (endpoint-independent) or new per destination
 * (symmetric, as `MASQUERADE --random-fully` does); answers come back through that mapping.
 */
class SimulatedNat implements PacketConn {
  readonly local: Endpoint;
  readonly #network: MemoryNetwork;
  readonly #publicHost: string;
  readonly #symmetric: boolean;
  readonly #mappings = new Map<string, MemoryPacketConn>();
  #nextPort = 40000;
  #handlers: PacketHandler[] = [];

  constructor(network: MemoryNetwork, local: Endpoint, publicHost: string, symmetric: boolean) {
    this.#network = network;
    this.local = local;
    this.#publicHost = publicHost;
    this.#symmetric = symmetric;
  }

  send(data: Datagram, to: Endpoint): void {
    const key = this.#symmetric ? endpointKey(to) : '*';
    let outside = this.#mappings.get(key);
    if (!outside) {
      outside = this.#network.attach({ host: this.#publicHost, port: this.#nextPort++ });
      outside.onPacket((d, from) => {
        for (const h of this.#handlers) h(d, from);
      });
      this.#mappings.set(key, outside);
    }
    outside.send(data, to);
  }

  onPacket(handler: PacketHandler): void {
    this.#handlers.push(handler);
  }

  async close(): Promise<void> {
    for (const c of this.#mappings.values()) await c.close();
  }
}

const REGISTRY = { host: '203.0.113.1', port: 9000 };
const BEACON = { host: '203.0.113.1', port: 9001 };

function memoryRegistry(t: TestContext, network: MemoryNetwork, withBeacon = true): NodeIdentity {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-beacon-'));
  const store = RegistryStore.open(join(dir, 'registry.db'));
  const identity = generateIdentity();
  const server = new RegistryServer({
    conn: network.attach(REGISTRY),
    ...(withBeacon ? { beaconConn: network.attach(BEACON) } : {}),
    store,
    identity,
    network: 1,
  });
  t.after(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return identity;
}

function classifier(t: TestContext, conn: PacketConn, registryKey: string, localAddresses: string[]): BeaconClient {
  const node = new OverlayNode({ identity: generateIdentity(), conn, trust: { isTrusted: () => false } });
  t.after(() => node.close());
  return new BeaconClient({ node, registryKey: () => registryKey, retryMs: FAST_RETRY, localAddresses: () => localAddresses });
}

test('BeaconClient: a node on a public address reports no NAT', async (t) => {
  const network = new MemoryNetwork();
  const registry = memoryRegistry(t, network);
  const client = classifier(t, network.attach({ host: '203.0.113.7', port: 7000 }), keyId(registry.publicKey), ['203.0.113.7']);
  assert.deepEqual(await client.classify(REGISTRY, BEACON), { type: 'none', observed: '203.0.113.7:7000' });
});

test('BeaconClient: behind an endpoint-independent NAT, both ports see the same public mapping', async (t) => {
  const network = new MemoryNetwork();
  const registry = memoryRegistry(t, network);
  const nat = new SimulatedNat(network, { host: '10.1.0.2', port: 7000 }, '198.51.100.1', false);
  const client = classifier(t, nat, keyId(registry.publicKey), ['10.1.0.2']);
  assert.deepEqual(await client.classify(REGISTRY, BEACON), { type: 'endpoint-independent', observed: '198.51.100.1:40000' });
});

test('BeaconClient: behind a symmetric NAT, the two ports see different mappings', async (t) => {
  const network = new MemoryNetwork();
  const registry = memoryRegistry(t, network);
  const nat = new SimulatedNat(network, { host: '10.1.0.2', port: 7000 }, '198.51.100.1', true);
  const client = classifier(t, nat, keyId(registry.publicKey), ['10.1.0.2']);
  const report = await client.classify(REGISTRY, BEACON);
  assert.equal(report.type, 'symmetric');
  assert.match(report.observed ?? '', /^198\.51\.100\.1:4000[01]$/);
});

test('BeaconClient: no beacon port, or answers signed by a key other than the pinned one, give unknown', async (t) => {
  const network = new MemoryNetwork();
  const registry = memoryRegistry(t, network, false);
  const nat = new SimulatedNat(network, { host: '10.1.0.2', port: 7000 }, '198.51.100.1', false);
  const client = classifier(t, nat, keyId(registry.publicKey), ['10.1.0.2']);
  // Only the registry port answers: one observation is not a classification.
  assert.deepEqual(await client.classify(REGISTRY, BEACON), { type: 'unknown', observed: '198.51.100.1:40000' });

  const impostor = classifier(t, new SimulatedNat(network, { host: '10.1.0.3', port: 7000 }, '198.51.100.2', false), keyId(generateIdentity().publicKey), ['10.1.0.3']);
  assert.deepEqual(await impostor.classify(REGISTRY, BEACON), { type: 'unknown', observed: null });
  assert.ok(impostor.stats.rejected >= 1, 'the answers were seen and refused');
  assert.equal(impostor.stats.answers, 0);
});

test('BeaconClient: an answer from an endpoint other than the one probed is refused', async (t) => {
  const network = new MemoryNetwork();
  const registry = memoryRegistry(t, network);
  const conn = network.attach({ host: '203.0.113.7', port: 7000 });
  const client = classifier(t, conn, keyId(registry.publicKey), ['203.0.113.7']);
  // Probe a silent endpoint; replay the registry's answer to it from the registry port instead.
  const silent = { host: '203.0.113.1', port: 9999 };
  const sniffer = network.attach(silent);
  sniffer.onPacket((data, from) => {
    const probe = decodeProbe(data);
    if (probe.ok) network.deliver(encodeAnswer(registry, probe.value, from), REGISTRY, from);
  });
  assert.equal(await client.probe(silent), null);
  assert.ok(client.stats.rejected >= 1);
});

// ---- the registry process ------------------------------------------------------------------------

test('startRegistry: the beacon listens on the registry port + 1 by default; a port clash is refused with a hint', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-beacon-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let started: RegistryServer | null = null;
  let port = 0;
  // A fixed port is needed to see the +1 default; retry a few random ones in case one is taken.
  for (let attempt = 0; attempt < 5 && !started; attempt++) {
    port = 20000 + Math.floor(Math.random() * 40000);
    started = await startRegistry({ listen: `127.0.0.1:${port}`, dbPath: join(dir, `r${attempt}.db`), network: 1 }).catch(() => null);
  }
  assert.ok(started, 'a registry started on one of five random ports');
  const registry = started;
  t.after(() => registry.close());
  assert.equal(registry.beacon?.port, port + 1);

  await assert.rejects(startRegistry({ listen: '127.0.0.1:0', beaconPort: port + 1, dbPath: join(dir, 'clash.db'), network: 1 }), (err: Error & { hint?: string }) => {
    assert.match(err.message, /^beacon: .*in use/);
    assert.match(err.hint ?? '', /--beacon-port/);
    return true;
  });
});

test('registration tells the node where the beacon is; on loopback the node classifies itself as not behind a NAT', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-beacon-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const registry = await startRegistry({ listen: '127.0.0.1:0', dbPath: join(dir, 'registry.db'), network: 1 });
  t.after(() => registry.close());
  const identity = generateIdentity();
  const node = new OverlayNode({ identity, conn: await UdpPacketConn.bind('127.0.0.1', 0), trust: { isTrusted: () => false } });
  t.after(() => node.close());
  const client = new RegistryClient({ node, registry: registry.local, pinnedKey: null });
  const result = await client.register({
    hostname: 'beacon-test',
    static_public: identity.staticKey.publicKey.toString('base64'),
    static_sig: identity.staticSignature.toString('base64'),
    endpoints: [],
    trusted: [],
    public: false,
  });
  assert.deepEqual(result.beacon, registry.beacon);
  const beacon = new BeaconClient({ node, registryKey: () => client.registryKey });
  const report = await beacon.classify(registry.local, result.beacon!);
  assert.deepEqual(report, { type: 'none', observed: `127.0.0.1:${node.conn.local.port}` });
  assert.equal(beacon.stats.answers, 2);
});
