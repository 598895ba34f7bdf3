import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAddress, PORT_ECHO, PORT_TRUST, type Address } from './address.ts';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { OverlayError, OverlayNode } from './node.ts';
import { trustTag, type LookupPurpose, type PublicRecord } from './registry-protocol.ts';
import { formatEndpoint, MemoryNetwork, type Endpoint } from './transport.ts';
import { newNonce, signTrustMessage, type TrustMessageDraft } from './trust-messages.ts';
import { TrustError, TrustService, type TrustEvent } from './trust.ts';
import { NodeStore } from '../store/node-store.ts';

/** Fast handshake retries: a peer that comes back is found within tens of milliseconds. */
const LIMITS = { handshakeRetryMs: 20 };

class Participant {
  readonly hostname: string;
  readonly identity: NodeIdentity;
  readonly key: string;
  readonly endpoint: Endpoint;
  readonly address: Address;
  readonly dbPath: string;
  readonly #swarm: Swarm;
  store!: NodeStore;
  node!: OverlayNode;
  trust!: TrustService;
  /** A peer that does not play by the rules: its own gate lets everything out (and in). */
  ignoresTrust = false;
  /** How far this node's clock is off (read on every use, so a test can set it after add()). */
  clockOffsetMs = 0;
  running = false;

  constructor(swarm: Swarm, n: number, hostname: string) {
    this.#swarm = swarm;
    this.hostname = hostname;
    this.identity = generateIdentity();
    this.key = keyId(this.identity.publicKey);
    this.endpoint = { host: `10.0.0.${n}`, port: 4000 + n };
    this.address = { network: 1, node: 0x1000 + n };
    this.dbPath = join(swarm.dir, `${hostname}-${n}.db`);
  }

  start(): this {
    this.store = NodeStore.open(this.dbPath, this.identity.fingerprint);
    let service: TrustService | null = null;
    this.node = new OverlayNode({
      identity: this.identity,
      conn: this.#swarm.net.attach(this.endpoint),
      // The service needs the node and the node needs the gate: delegate, as the daemon does.
      trust: { isTrusted: (id) => this.ignoresTrust || (service?.isTrusted(id) ?? false) },
      address: this.address,
      limits: LIMITS,
    });
    service = new TrustService({
      node: this.node,
      store: this.store,
      identity: this.identity,
      hostname: this.hostname,
      lookup: (target, purpose) => this.#swarm.lookup(target, purpose),
      now: () => Date.now() + this.clockOffsetMs,
    });
    this.trust = service;
    this.running = true;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.trust.close();
    await this.node.close();
    this.store.close();
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  record(): PublicRecord {
    return {
      hostname: this.hostname,
      address: formatAddress(this.address),
      key: this.key,
      static_public: this.identity.staticKey.publicKey.toString('base64'),
      static_sig: this.identity.staticSignature.toString('base64'),
      online: true,
      last_seen: Date.now(),
      endpoints: [formatEndpoint(this.endpoint)],
    };
  }

  /** Resolves with the first trust event matching `predicate` (listen before acting). */
  next(predicate: (e: TrustEvent) => boolean, what: string, timeoutMs = 5000): Promise<TrustEvent> {
    return new Promise((resolve, reject) => {
      const onChange = (e: TrustEvent) => {
        if (!predicate(e)) return;
        clearTimeout(timer);
        this.trust.events.off('change', onChange);
        resolve(e);
      };
      const timer = setTimeout(() => {
        this.trust.events.off('change', onChange);
        reject(new Error(`${this.hostname}: timed out waiting for ${what}`));
      }, timeoutMs);
      this.trust.events.on('change', onChange);
    });
  }

  auditActions(): string[] {
    return this.store.audit.list().map((e) => e.action);
  }

  /** Sends a trust message signed by this node straight to a peer's port 444. */
  async sendSigned(to: Participant, draft: TrustMessageDraft, nonce = newNonce(), ts = Date.now()): Promise<Buffer> {
    this.node.addContact({
      identityKey: to.identity.publicKey,
      staticPublic: to.identity.staticKey.publicKey,
      staticSignature: to.identity.staticSignature,
      address: to.address,
      endpoints: [to.endpoint],
      hostname: to.hostname,
    });
    const { bytes } = signTrustMessage(this.identity, draft, nonce, ts);
    await this.node.sendDatagram(to.key, PORT_TRUST, bytes);
    return bytes;
  }
}

class Swarm {
  readonly net = new MemoryNetwork();
  readonly dir: string;
  readonly members: Participant[] = [];
  lookups: Array<{ target: string; purpose: LookupPurpose }> = [];

  constructor(t: TestContext) {
    this.dir = mkdtempSync(join(tmpdir(), 'swarm-trust-'));
    // The nodes' own timers are unref'd (a daemon is kept alive by its UDP socket); an in-memory
    // network has no socket, so hold the event loop open while the test runs.
    const keepAlive = setInterval(() => {}, 60_000);
    t.after(async () => {
      clearInterval(keepAlive);
      for (const m of this.members) await m.stop();
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  add(hostname: string): Participant {
    const p = new Participant(this, this.members.length + 1, hostname);
    this.members.push(p);
    return p.start();
  }

  /** The registry, as far as trust.ts needs one: hostnames and keys to records. */
  async lookup(target: string, purpose: LookupPurpose): Promise<PublicRecord> {
    this.lookups.push({ target, purpose });
    const m = this.members.find((p) => p.hostname === target || p.key === target);
    if (!m) throw new Error(`no node named ${target} is registered`);
    return m.record();
  }
}

/** Polls a counter that has no event of its own; the timeout is a failure guard, not a delay. */
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

function trustError(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TrustError, `expected TrustError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.ok(err.hint.length > 0);
    return true;
  };
}

/** A asks B and B approves: the common start of many tests. */
async function trustPair(a: Participant, b: Participant, caps = ['events.subscribe']): Promise<void> {
  const arrived = b.next((e) => e.kind === 'request', 'request');
  const request = a.trust.requestTrust(b.hostname, `${a.hostname} needs ${b.hostname}`, { want: caps });
  await arrived;
  await request;
  const trusted = a.next((e) => e.kind === 'trusted', 'trusted');
  b.trust.approve(a.hostname, caps);
  await trusted;
}

/** Echo round trip from `from` to `to` port 7; resolves with the payload echoed. */
function echo(from: Participant, to: Participant, text: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no echo')), timeoutMs);
    const port = from.node.bindEphemeral((payload) => {
      clearTimeout(timer);
      from.node.unbindDatagram(port);
      resolve(payload.toString());
    });
    from.node.sendDatagram(to.key, PORT_ECHO, Buffer.from(text), port).catch((err: unknown) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// ---- the happy path ------------------------------------------------------------------------

test('a request lands as pending on the receiver with justification, fingerprint and capabilities', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('local-threat-orchestrator');
  const b = swarm.add('gcp-log-monitor');
  const arrived = b.next((e) => e.kind === 'request', 'the request');
  const result = await a.trust.requestTrust('gcp-log-monitor', 'orchestrator needs the anomaly feed', {
    want: ['events.subscribe'],
    offer: ['events.publish'],
  });
  const event = await arrived;
  assert.equal(result.status, 'pending', 'the receiver acknowledged the request as pending');
  assert.equal(result.request?.status, 'pending');
  assert.equal(result.trust, null);
  assert.deepEqual(swarm.lookups[0], { target: 'gcp-log-monitor', purpose: 'handshake' });

  const incoming = b.trust.pending().incoming;
  assert.equal(incoming.length, 1);
  const r = incoming[0]!;
  assert.equal(event.kind === 'request' && event.request.requestId, r.requestId);
  assert.equal(r.requestId, result.request?.requestId);
  assert.equal(r.peerKey, a.key);
  assert.equal(r.hostname, 'local-threat-orchestrator');
  assert.equal(r.fingerprint, a.identity.fingerprint);
  assert.equal(r.address, formatAddress(a.address));
  assert.equal(r.justification, 'orchestrator needs the anomaly feed');
  assert.deepEqual(r.wantCaps, ['events.subscribe']);
  assert.deepEqual(r.offerCaps, ['events.publish']);
  assert.deepEqual(r.endpoints, [formatEndpoint(a.endpoint)]);

  const outgoing = a.trust.pending().outgoing;
  assert.equal(outgoing.length, 1);
  assert.equal(outgoing[0]?.fingerprint, b.identity.fingerprint);
  // Nobody trusts anybody yet.
  assert.equal(a.trust.isTrusted(b.key), false);
  assert.equal(b.trust.isTrusted(a.key), false);
  assert.deepEqual(a.auditActions(), ['trust.requested']);
  assert.deepEqual(b.auditActions(), ['trust.request_received']);
  assert.equal(a.trust.outboxSize(), 0, 'the acknowledged request left the outbox');
});

test('approve with capabilities: both sides trusted, capabilities recorded both ways, audited', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('local-threat-orchestrator');
  const b = swarm.add('aws-firewall-executor');
  const arrived = b.next((e) => e.kind === 'request', 'request');
  await a.trust.requestTrust('aws-firewall-executor', 'orchestrator submits mitigations', {
    want: ['mitigation.request'],
    offer: ['events.publish'],
  });
  await arrived;
  const trustedOnA = a.next((e) => e.kind === 'trusted', 'trusted on the requester');
  const local = b.trust.approve('local-threat-orchestrator', ['mitigation.request', 'events.subscribe']);
  // The approver's gate is open before approve() returns.
  assert.equal(b.trust.isTrusted(a.key), true);
  assert.deepEqual(local.capsGranted, ['mitigation.request', 'events.subscribe']);
  assert.deepEqual(local.capsReceived, ['events.publish']);
  const event = await trustedOnA;
  assert.equal(event.kind === 'trusted' && event.by, 'peer');

  const onA = a.trust.trusted();
  assert.equal(onA.length, 1);
  assert.equal(onA[0]?.peerKey, b.key);
  assert.equal(onA[0]?.hostname, 'aws-firewall-executor');
  assert.deepEqual(onA[0]?.capsReceived, ['mitigation.request', 'events.subscribe'], 'what A may do on B');
  assert.deepEqual(onA[0]?.capsGranted, ['events.publish'], 'what B may do on A: what A offered');
  assert.deepEqual(b.trust.capabilitiesOf(a.key), ['mitigation.request', 'events.subscribe']);
  assert.deepEqual(a.trust.capabilitiesOf(b.key), ['events.publish']);
  assert.equal(b.trust.pending().incoming.length, 0);
  assert.equal(a.trust.pending().outgoing[0]?.status, 'approved');

  assert.deepEqual(b.auditActions(), ['trust.request_received', 'trust.approved']);
  assert.deepEqual(a.auditActions(), ['trust.requested', 'trust.approved_by_peer']);
  const approved = b.store.audit.list()[1]!;
  assert.equal(approved.actor, 'admin');
  assert.deepEqual(approved.details.capabilities, ['mitigation.request', 'events.subscribe']);
  assert.equal(a.store.audit.list()[1]?.actor, `peer:${b.identity.fingerprint}`);
  assert.equal(a.store.audit.verify().ok, true);
  assert.equal(b.store.audit.verify().ok, true);
  await waitUntil(() => b.trust.outboxSize() === 0, 'the approve to be acknowledged');
});

test('approve without capabilities grants what was asked for; a fingerprint prefix finds the request', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const arrived = b.next((e) => e.kind === 'request', 'request');
  await a.trust.requestTrust('b', 'feed', { want: ['events.subscribe', 'data.exchange'] });
  await arrived;
  const prefix = a.identity.fingerprint.slice(0, 9).toLowerCase(); // "abcd-ef01", as a person types it
  const record = b.trust.approve(prefix);
  assert.deepEqual(record.capsGranted, ['events.subscribe', 'data.exchange']);
});

test('untrusted peers get nothing through but port 444, counted; after approval port 7 answers', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  // Before any trust, our own side refuses to send anything but trust messages.
  a.node.addContact({ identityKey: b.identity.publicKey, staticPublic: b.identity.staticKey.publicKey, staticSignature: b.identity.staticSignature, address: b.address, endpoints: [b.endpoint] });
  await assert.rejects(a.node.sendDatagram(b.key, PORT_ECHO, Buffer.from('x')), (err: unknown) => err instanceof OverlayError && err.code === 'not_trusted');

  // A peer that ignores the rules sends anyway: B drops and counts every packet.
  a.ignoresTrust = true;
  const arrived = b.next((e) => e.kind === 'request', 'request');
  await a.trust.requestTrust('b', 'let me in');
  await arrived;
  let echoedBeforeApproval = 0;
  const port = a.node.bindEphemeral(() => echoedBeforeApproval++);
  const dropped = new Promise<void>((resolve) => {
    let n = 0;
    b.node.events.on('dropped-untrusted', (_peer: unknown, dstPort: number) => {
      assert.notEqual(dstPort, PORT_TRUST);
      if (++n === 6) resolve();
    });
  });
  for (const p of [PORT_ECHO, 0, 1001, 1002, 1003, 5000]) await a.node.sendDatagram(b.key, p, Buffer.from('probe'), port);
  await dropped;
  assert.equal(b.node.stats.droppedUntrusted, 6);
  assert.equal(b.node.peer(a.key)?.droppedUntrusted, 6);
  a.ignoresTrust = false;

  const trusted = a.next((e) => e.kind === 'trusted', 'trusted');
  b.trust.approve('a');
  await trusted;
  assert.equal(await echo(a, b, 'hello after approval'), 'hello after approval');
  assert.equal(await echo(b, a, 'and back'), 'and back');
  assert.equal(echoedBeforeApproval, 0);
  assert.equal(b.node.stats.droppedUntrusted, 6, 'nothing more was dropped');
});

test('reject with a reason: the requester records the rejection and learns the reason', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  b.trust.events.on('change', (e: TrustEvent) => {
    if (e.kind === 'request') b.trust.reject('a', 'unknown orchestrator, open a ticket first');
  });
  const rejected = a.next((e) => e.kind === 'rejected', 'rejected');
  const result = await a.trust.requestTrust('b', 'please', { waitForDecisionMs: 5000 });
  await rejected;
  assert.equal(result.status, 'rejected');
  assert.equal(result.reason, 'unknown orchestrator, open a ticket first');
  const out = a.trust.pending().outgoing[0];
  assert.equal(out?.status, 'rejected');
  assert.equal(out?.reason, 'unknown orchestrator, open a ticket first');
  assert.ok(out?.decidedAt);
  assert.equal(a.trust.isTrusted(b.key), false);
  assert.equal(b.trust.isTrusted(a.key), false);
  assert.deepEqual(b.trust.pending().incoming, []);
  assert.deepEqual(b.auditActions(), ['trust.request_received', 'trust.rejected']);
  assert.deepEqual(a.auditActions(), ['trust.requested', 'trust.rejected_by_peer']);
  assert.equal(a.store.audit.list()[1]?.details.reason, 'unknown orchestrator, open a ticket first');
});

// ---- revocation ----------------------------------------------------------------------------

test('untrust on one side revokes on both sides, audited on both', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  await trustPair(a, b);
  const revokedOnA = a.next((e) => e.kind === 'revoked', 'revoked on the peer');
  const record = b.trust.untrust('a', 'decommissioned');
  assert.equal(record.peerKey, a.key);
  assert.equal(b.trust.isTrusted(a.key), false, 'the local gate is closed when untrust returns');
  const event = await revokedOnA;
  assert.ok(event.kind === 'revoked' && event.by === 'peer' && event.reason === 'decommissioned');
  assert.equal(a.trust.isTrusted(b.key), false);
  assert.deepEqual(a.trust.trusted(), []);
  assert.deepEqual(b.trust.trusted(), []);
  await assert.rejects(a.node.sendDatagram(b.key, PORT_ECHO, Buffer.from('x')), (err: unknown) => err instanceof OverlayError && err.code === 'not_trusted');
  assert.deepEqual(b.auditActions().slice(-1), ['trust.revoked']);
  assert.deepEqual(a.auditActions().slice(-1), ['trust.revoked_by_peer']);
  assert.equal(a.store.audit.list().at(-1)?.details.reason, 'decommissioned');
  assert.ok(a.store.audit.verify().ok && b.store.audit.verify().ok);
});

test('untrust cuts a live flow at once: nothing more is delivered on the revoking side, even from a peer that ignores it', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  await trustPair(a, b);
  let delivered = 0;
  b.node.bindDatagram(5000, () => delivered++);
  // A keeps streaming whatever it is told: it ignores the revocation.
  a.ignoresTrust = true;
  let streaming = true;
  const stream = (async () => {
    let i = 0;
    while (streaming) {
      await a.node.sendDatagram(b.key, 5000, Buffer.from(`frame ${i++}`)).catch(() => {});
      await new Promise<void>((r) => setImmediate(r));
    }
  })();
  t.after(async () => {
    streaming = false;
    await stream;
  });
  await waitUntil(() => delivered >= 20, 'the flow to be live');
  const dropsBefore = b.node.stats.droppedUntrusted;
  const revokedOnA = a.next((e) => e.kind === 'revoked', 'revoked on the peer');
  b.trust.untrust('a', 'incident response');
  const deliveredAtRevocation = delivered;
  // Keep the flow running until B has refused plenty of packets that arrived after the call.
  await waitUntil(() => b.node.stats.droppedUntrusted - dropsBefore >= 50, 'packets dropped after revocation');
  await revokedOnA;
  assert.equal(delivered, deliveredAtRevocation, 'zero datagrams were delivered after untrust() returned');
  streaming = false;
  await stream;
});

test('untrust of a peer that is not trusted throws trust_not_trusted and changes nothing', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  swarm.add('b');
  assert.throws(() => a.trust.untrust('b'), trustError('trust_not_trusted'));
  assert.throws(() => a.trust.untrust('no-such-peer', 'x'), trustError('trust_not_trusted'));
  assert.deepEqual(a.auditActions(), []);
});

// ---- mutual requests, repeats, replays, forgeries -----------------------------------------

test('mutual requests approve automatically, without anyone calling approve', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const [ra, rb] = await Promise.all([
    a.trust.requestTrust('b', 'a needs b', { want: ['events.subscribe'], offer: ['events.publish'] }),
    b.trust.requestTrust('a', 'b needs a', { want: ['events.publish'], offer: ['events.subscribe'] }),
  ]);
  assert.equal(ra.status, 'trusted');
  assert.equal(rb.status, 'trusted');
  assert.equal(a.trust.isTrusted(b.key), true);
  assert.equal(b.trust.isTrusted(a.key), true);
  // Each grants what it offered and receives what the other offered.
  assert.deepEqual(a.trust.capabilitiesOf(b.key), ['events.publish']);
  assert.deepEqual(b.trust.capabilitiesOf(a.key), ['events.subscribe']);
  assert.deepEqual(a.trust.pending().incoming, []);
  assert.deepEqual(b.trust.pending().incoming, []);
  // Whoever receives the other's request first (both were sent before either arrived) approves
  // automatically; the other side either does the same or takes the approve that crossed it.
  const auto = [a, b].flatMap((p) => p.store.audit.list()).filter((e) => e.action === 'trust.auto_approved');
  assert.ok(auto.length >= 1, `${a.auditActions().join()} / ${b.auditActions().join()}`);
  assert.ok(auto.every((e) => e.actor === 'system' && e.details.reason === 'mutual trust requests'));
  assert.ok(!a.auditActions().includes('trust.approved') && !b.auditActions().includes('trust.approved'), 'no admin approval');
  await waitUntil(() => a.trust.outboxSize() === 0 && b.trust.outboxSize() === 0, 'every message acknowledged');
  assert.ok(a.store.audit.verify().ok && b.store.audit.verify().ok);
});

test('asking a peer whose request is waiting approves it with what we offer', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const arrived = b.next((e) => e.kind === 'request', 'request');
  await a.trust.requestTrust('b', 'a asks first', { want: ['events.subscribe'] });
  await arrived;
  const trustedOnA = a.next((e) => e.kind === 'trusted', 'trusted');
  const result = await b.trust.requestTrust('a', 'b asks too', { offer: ['events.subscribe'] });
  assert.equal(result.status, 'trusted');
  await trustedOnA;
  assert.deepEqual(b.trust.capabilitiesOf(a.key), ['events.subscribe']);
});

test('a second request from the same peer replaces the first', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  let arrived = b.next((e) => e.kind === 'request', 'first request');
  const first = await a.trust.requestTrust('b', 'first justification');
  await arrived;
  arrived = b.next((e) => e.kind === 'request', 'second request');
  const second = await a.trust.requestTrust('b', 'second, better justification', { want: ['data.exchange'] });
  await arrived;
  const incoming = b.trust.pending().incoming;
  assert.equal(incoming.length, 1);
  assert.equal(incoming[0]?.requestId, second.request?.requestId);
  assert.notEqual(incoming[0]?.requestId, first.request?.requestId);
  assert.equal(incoming[0]?.justification, 'second, better justification');
  assert.deepEqual(a.trust.pending().outgoing.map((o) => o.requestId), [second.request?.requestId]);
  const trusted = a.next((e) => e.kind === 'trusted', 'trusted');
  b.trust.approve('a');
  await trusted;
  assert.equal(a.trust.trusted()[0]?.requestId, second.request?.requestId);
  assert.deepEqual(a.trust.trusted()[0]?.capsReceived, ['data.exchange']);
});

test('an approve for a request never sent does not create trust', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const c = swarm.add('c');
  // A has asked C, not B.
  const arrived = c.next((e) => e.kind === 'request', 'request at c');
  const toC = await a.trust.requestTrust('c', 'a needs c');
  await arrived;
  // B approves a request id it made up, and then A's request to C.
  for (const ref of [newNonce(), toC.request!.requestId]) {
    const before = a.trust.stats.received;
    await b.sendSigned(a, { type: 'approve', to: a.key, ref, caps: ['mitigation.request'], hostname: 'b', address: formatAddress(b.address) });
    await waitUntil(() => a.trust.stats.received === before + 1, 'the forged approve to be handled');
  }
  assert.equal(a.trust.isTrusted(b.key), false);
  assert.deepEqual(a.trust.trusted(), []);
  assert.equal(a.trust.pending().outgoing[0]?.status, 'pending', 'the request to C is untouched');
  assert.ok(!a.auditActions().includes('trust.approved_by_peer'));
});

test('a peer cannot undo a revocation by approving the old request again', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  await trustPair(a, b);
  const requestId = a.trust.trusted()[0]!.requestId;
  // A revokes B.
  const revokedOnB = b.next((e) => e.kind === 'revoked', 'revoked on b');
  a.trust.untrust('b', 'compromised');
  await revokedOnB;
  // B answers with a fresh approve for A's old, already-decided request.
  const before = a.trust.stats.received;
  await b.sendSigned(a, { type: 'approve', to: a.key, ref: requestId, caps: ['events.subscribe'], hostname: 'b', address: formatAddress(b.address) });
  await waitUntil(() => a.trust.stats.received > before, 'the approve to be handled');
  assert.equal(a.trust.isTrusted(b.key), false, 'the revocation stands');
  assert.deepEqual(a.trust.trusted(), []);
});

test('a replayed trust message (same nonce) is processed once', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  let requests = 0;
  b.trust.events.on('change', (e: TrustEvent) => {
    if (e.kind === 'request') requests++;
  });
  const draft: TrustMessageDraft = { type: 'request', to: b.key, hostname: 'a', address: formatAddress(a.address), justification: 'once', want: [], offer: [] };
  const nonce = newNonce();
  const ts = Date.now();
  await a.sendSigned(b, draft, nonce, ts);
  await a.sendSigned(b, draft, nonce, ts);
  await waitUntil(() => b.trust.stats.received === 2, 'both copies');
  assert.equal(requests, 1);
  assert.equal(b.trust.stats.replayed, 1);
  assert.deepEqual(b.auditActions(), ['trust.request_received']);
  // A retry with the same nonce but re-signed later (as the outbox does) is also a replay.
  await a.sendSigned(b, draft, nonce, Date.now() + 1);
  await waitUntil(() => b.trust.stats.received === 3, 'the retry');
  assert.equal(b.trust.stats.replayed, 2);
  assert.equal(requests, 1);
  assert.equal(b.trust.pending().incoming.length, 1);
});

test('a stale (or future) message is refused and changes nothing', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const draft: TrustMessageDraft = { type: 'request', to: b.key, hostname: 'a', address: formatAddress(a.address), justification: 'from the past', want: [], offer: [] };
  await a.sendSigned(b, draft, newNonce(), Date.now() - 10 * 60_000);
  await a.sendSigned(b, draft, newNonce(), Date.now() + 10 * 60_000);
  await waitUntil(() => b.trust.stats.received === 2, 'both messages');
  assert.equal(b.trust.stats.stale, 2);
  assert.deepEqual(b.trust.pending().incoming, []);
  assert.deepEqual(b.auditActions(), []);
});

test('a requester whose clock is off learns why it was refused', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  a.clockOffsetMs = -20 * 60_000;
  const result = await a.trust.requestTrust('b', 'my clock is slow');
  assert.equal(result.status, 'rejected');
  assert.match(result.reason ?? '', /refused: message timestamp is -1200 s off .*fix the clock/);
  assert.deepEqual(b.trust.pending().incoming, []);
});

test('a message signed by another node, or addressed to another node, is refused', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const c = swarm.add('c');
  // C's signed request, carried through A's tunnel (A replays something it captured).
  const { bytes } = signTrustMessage(c.identity, { type: 'request', to: b.key, hostname: 'c', address: formatAddress(c.address), justification: 'x', want: [], offer: [] });
  await a.sendSigned(b, { type: 'revoke', to: b.key, reason: 'warm-up' });
  await a.node.sendDatagram(b.key, PORT_TRUST, bytes);
  // A's own request, but addressed to C.
  await a.sendSigned(b, { type: 'request', to: c.key, hostname: 'a', address: formatAddress(a.address), justification: 'x', want: [], offer: [] });
  await waitUntil(() => b.trust.stats.received === 3, 'all three');
  assert.equal(b.trust.stats.wrongSender, 2);
  assert.deepEqual(b.trust.pending().incoming, []);
});

test('junk on port 444 is counted as invalid and ignored', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  await a.sendSigned(b, { type: 'revoke', to: b.key, reason: 'warm-up' });
  for (const junk of ['', 'hello', '{"type":"request"}', 'x'.repeat(500)]) await a.node.sendDatagram(b.key, PORT_TRUST, Buffer.from(junk));
  await waitUntil(() => b.trust.stats.received === 5, 'all of it');
  assert.equal(b.trust.stats.invalid, 4);
  assert.deepEqual(b.auditActions(), []);
});

test('a flood of requests from one peer is rate-limited; one request stays pending', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  for (let i = 0; i < 60; i++) {
    await a.sendSigned(b, { type: 'request', to: b.key, hostname: 'a', address: formatAddress(a.address), justification: `flood ${i}`, want: [], offer: [] });
  }
  await waitUntil(() => b.trust.stats.received === 60, 'the whole flood');
  assert.ok(b.trust.stats.rateLimited >= 40, `rate-limited ${b.trust.stats.rateLimited}`);
  assert.equal(b.trust.pending().incoming.length, 1);
  assert.equal(b.store.countIncoming(), 1);
  const received = b.auditActions().filter((x) => x === 'trust.request_received').length;
  assert.equal(received, 60 - b.trust.stats.rateLimited, 'only the requests let through were recorded');
  // Another peer is not affected by A's flood.
  const c = swarm.add('c');
  const arrived = b.next((e) => e.kind === 'request' && e.request.peerKey === c.key, 'c request');
  await c.trust.requestTrust('b', 'c is well-behaved');
  await arrived;
  assert.equal(b.trust.pending().incoming.length, 2);
});

// ---- persistence ---------------------------------------------------------------------------

test('a pending request survives a restart of the receiver and can be approved afterwards', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const arrived = b.next((e) => e.kind === 'request', 'request');
  const result = await a.trust.requestTrust('b', 'survives restarts', { want: ['events.subscribe'] });
  await arrived;
  await b.restart();
  const incoming = b.trust.pending().incoming;
  assert.equal(incoming.length, 1);
  assert.equal(incoming[0]?.requestId, result.request?.requestId);
  assert.equal(incoming[0]?.justification, 'survives restarts');
  const trusted = a.next((e) => e.kind === 'trusted', 'trusted');
  b.trust.approve('a');
  await trusted;
  assert.equal(await echo(a, b, 'after the restart'), 'after the restart');
  assert.ok(b.store.audit.verify().ok);
});

test('trust survives a restart of both sides', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  await trustPair(a, b, ['events.subscribe', 'data.exchange']);
  await a.restart();
  await b.restart();
  assert.equal(a.trust.isTrusted(b.key), true);
  assert.equal(b.trust.isTrusted(a.key), true);
  assert.deepEqual(b.trust.capabilitiesOf(a.key), ['events.subscribe', 'data.exchange']);
  // The restarted node knows how to reach its trusted peers without asking the registry.
  const lookupsBefore = swarm.lookups.length;
  assert.equal(await echo(a, b, 'still friends'), 'still friends');
  assert.equal(swarm.lookups.length, lookupsBefore);
  assert.ok(a.store.audit.verify().ok && b.store.audit.verify().ok);
});

test('an approve queued while the requester is down is kept across a restart of the approver and delivered when the requester is back', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const arrived = b.next((e) => e.kind === 'request', 'request');
  await a.trust.requestTrust('b', 'approve me later');
  await arrived;
  await a.stop(); // the requester goes away
  b.trust.approve('a', ['events.subscribe']);
  assert.equal(b.trust.outboxSize(), 1, 'the approve waits in the outbox');
  await b.restart();
  assert.equal(b.trust.outboxSize(), 1, 'the outbox survived the restart');
  assert.equal(b.trust.isTrusted(a.key), true);
  a.start(); // the requester is back, with its state
  assert.equal(a.trust.pending().outgoing[0]?.status, 'pending');
  await a.next((e) => e.kind === 'trusted', 'the queued approve', 10_000);
  assert.deepEqual(a.trust.trusted()[0]?.capsReceived, ['events.subscribe']);
  await waitUntil(() => b.trust.outboxSize() === 0, 'the approve to be acknowledged', 10_000);
});

// ---- local input checks ----------------------------------------------------------------------

test('local decisions validate their input', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const arrived = b.next((e) => e.kind === 'request', 'request');
  await a.trust.requestTrust('b', 'x');
  await arrived;
  assert.throws(() => b.trust.approve('a', ['events.subscribe', 'root.shell']), trustError('trust_bad_input'));
  assert.equal(b.trust.isTrusted(a.key), false, 'a refused approve changes nothing');
  assert.equal(b.trust.pending().incoming.length, 1);
  assert.throws(() => b.trust.approve('nobody'), trustError('trust_no_request'));
  assert.throws(() => b.trust.reject('a', 'r'.repeat(301)), trustError('trust_bad_input'));
  assert.throws(() => b.trust.reject('nobody', 'no'), trustError('trust_no_request'));
  await assert.rejects(a.trust.requestTrust('a', 'myself'), trustError('trust_self'));
  await assert.rejects(a.trust.requestTrust('b', 'j'.repeat(601)), trustError('trust_bad_input'));
  await assert.rejects(a.trust.requestTrust('b', 'x', { want: ['everything'] }), trustError('trust_bad_input'));
  assert.deepEqual(b.auditActions(), ['trust.request_received']);
});

test('a name that matches two pending requests is ambiguous', async (t) => {
  const swarm = new Swarm(t);
  // Two different keys both call themselves "twin": trust messages carry a claimed hostname.
  const one = swarm.add('twin');
  const two = swarm.add('twin');
  const b = swarm.add('b');
  for (const p of [one, two]) {
    const arrived = b.next((e) => e.kind === 'request' && e.request.peerKey === p.key, 'request');
    await p.trust.requestTrust('b', 'which one?');
    await arrived;
  }
  assert.throws(() => b.trust.approve('twin'), (err: unknown) => {
    trustError('trust_ambiguous')(err);
    assert.ok((err as Error).message.includes(one.identity.fingerprint));
    assert.ok((err as Error).message.includes(two.identity.fingerprint));
    return true;
  });
  assert.equal(b.trust.isTrusted(one.key) || b.trust.isTrusted(two.key), false);
  // The full fingerprint picks one.
  b.trust.approve(two.identity.fingerprint);
  assert.equal(b.trust.isTrusted(two.key), true);
  assert.equal(b.trust.isTrusted(one.key), false);
});

test('every decision is in the audit log, and the chain verifies', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const c = swarm.add('c');
  await trustPair(a, b);
  const arrived = b.next((e) => e.kind === 'request', 'request from c');
  await c.trust.requestTrust('b', 'c asks');
  await arrived;
  const rejected = c.next((e) => e.kind === 'rejected', 'rejected');
  b.trust.reject('c', 'no');
  await rejected;
  const revoked = a.next((e) => e.kind === 'revoked', 'revoked');
  b.trust.untrust('a');
  await revoked;
  assert.deepEqual(b.auditActions(), ['trust.request_received', 'trust.approved', 'trust.request_received', 'trust.rejected', 'trust.revoked']);
  assert.deepEqual(a.auditActions(), ['trust.requested', 'trust.approved_by_peer', 'trust.revoked_by_peer']);
  assert.deepEqual(c.auditActions(), ['trust.requested', 'trust.rejected_by_peer']);
  for (const p of [a, b, c]) {
    const verdict = p.store.audit.verify();
    assert.equal(verdict.ok, true);
    assert.equal(verdict.entries, p.auditActions().length);
    assert.ok(p.store.audit.list().every((e) => e.node === p.identity.fingerprint));
  }
});

test('two peers sending requests with the same id cannot crash the receiver; the first request stays pending', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('a');
  const b = swarm.add('b');
  const c = swarm.add('c');
  const shared = newNonce();
  const draft = (from: Participant): TrustMessageDraft => ({ type: 'request', to: b.key, hostname: from.hostname, address: formatAddress(from.address), justification: `from ${from.hostname}`, want: [], offer: [] });
  const arrived = b.next((e) => e.kind === 'request', 'request from a');
  await a.sendSigned(b, draft(a), shared);
  await arrived;
  // C (an identity the same attacker controls, or a coincidence) reuses A's request id.
  await c.sendSigned(b, draft(c), shared);
  await waitUntil(() => b.trust.stats.received === 2, 'both requests');
  const incoming = b.trust.pending().incoming;
  assert.equal(incoming.length, 1);
  assert.equal(incoming[0]?.peerKey, a.key);
  // B still works.
  const fromC = b.next((e) => e.kind === 'request' && e.request.peerKey === c.key, 'a proper request from c');
  await c.trust.requestTrust('b', 'c asks properly');
  await fromC;
  assert.equal(b.trust.pending().incoming.length, 2);
  assert.ok(b.store.audit.verify().ok);
});

test('registry trust tags: all of them up to the limit, then the most recently seen peers first', async (t) => {
  const swarm = new Swarm(t);
  const a = swarm.add('soc-console');
  const peers = ['p0', 'p1', 'p2', 'p3'].map((name, i) => ({
    peerKey: Buffer.alloc(32, i + 1).toString('base64url'),
    hostname: name,
    address: '1:0001.0000.000' + String(i + 1),
    fingerprint: 'AAAA',
    staticPublic: '',
    staticSig: '',
    endpoints: [],
    capsGranted: [],
    capsReceived: [],
    since: `2026-01-0${i + 1}T00:00:00.000Z`,
    requestId: `r${i}`,
  }));
  for (const p of peers) a.store.putTrust(p);
  a.store.updateTrustContact(peers[0]!.peerKey, [], '2026-06-01T00:00:00.000Z'); // p0 seen most recently
  await a.restart();
  const tag = (key: string) => trustTag(key);
  assert.deepEqual(new Set(a.trust.trustTags()), new Set(peers.map((p) => tag(p.peerKey))));
  assert.deepEqual(a.trust.trustTags(2), [tag(peers[0]!.peerKey), tag(peers[3]!.peerKey)]);
});
