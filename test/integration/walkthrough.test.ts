/**
 * The walk-through of issue 2 as real processes on loopback: a registry, three daemons started
 * with swarmctl, a trust handshake approved, rejected and revoked, and ping before and after.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, Swarm } from '../helpers/swarm.ts';

const swarm = new Swarm();
const O = 'local-threat-orchestrator';
const M = 'gcp-log-monitor';
const E = 'aws-firewall-executor';

interface Pending {
  incoming: Array<{ hostname: string; address: string; fingerprint: string; justification: string; wantCaps: string[] }>;
  outgoing: Array<{ hostname: string; status: string; reason: string | null }>;
}

before(async () => {
  await swarm.startRegistry();
  for (const h of [O, M, E]) await swarm.startDaemon(h);
});

after(() => swarm.close());

test('daemon start returns a registered daemon whose info names hostname, address, fingerprint and UDP socket', async () => {
  const info = await swarm.json(O, 'info');
  assert.equal(info.hostname, O);
  assert.match(String(info.address), /^1:0001\.[0-9A-F]{4}\.[0-9A-F]{4}$/);
  assert.match(String(info.fingerprint), /^([0-9A-F]{4}-){7}[0-9A-F]{4}$/);
  assert.match(String(info.listen), /^127\.0\.0\.1:\d+$/);
  assert.equal((info.registry as { registered: boolean }).registered, true);
});

test('ping fails before approval, works after, fails again after untrust', async () => {
  const before = await swarm.cli(O, 'ping', M, '-c', '1');
  assert.equal(before.code, 1);
  assert.match(before.stderr, /not trusted/);
  assert.equal(before.stderr.trim().split('\n').length, 1, 'errors are one line');

  const hs = await swarm.json<{ status: string }>(O, 'handshake', M, 'orchestrator needs the anomaly feed', '--want', 'events.subscribe');
  assert.equal(hs.status, 'pending');

  const pending = await swarm.json<Pending>(M, 'pending');
  const request = pending.incoming.find((r) => r.hostname === O);
  assert.ok(request, 'the monitor sees the request');
  const orchestrator = await swarm.json(O, 'info');
  assert.equal(request.address, orchestrator.address);
  assert.equal(request.fingerprint, orchestrator.fingerprint);
  assert.equal(request.justification, 'orchestrator needs the anomaly feed');
  assert.deepEqual(request.wantCaps, ['events.subscribe']);

  const approved = await swarm.cli(M, 'approve', O);
  assert.equal(approved.code, 0, approved.stderr);
  // The approval travels to the orchestrator over the overlay; wait until it has recorded it.
  await eventually(async () => (await swarm.json<{ trusted: Array<{ hostname: string }> }>(O, 'trust')).trusted.some((t) => t.hostname === M), 10_000, 'trust on the requester');

  const ping = await swarm.json<{ sent: number; received: number; replies: Array<{ rttMs: number | null }> }>(O, 'ping', M, '-c', '3', '-i', '0.05');
  assert.equal(ping.sent, 3);
  assert.equal(ping.received, 3);
  for (const r of ping.replies) assert.ok(typeof r.rttMs === 'number' && r.rttMs >= 0);
  const human = await swarm.cli(O, 'ping', M, '-c', '2', '-i', '0.05');
  assert.equal(human.code, 0);
  assert.equal(human.stdout.match(/time=\d+\.\d+ ms/g)?.length, 2, 'prints each RTT');

  const revoked = await swarm.cli(O, 'untrust', M, 'rotation');
  assert.equal(revoked.code, 0, revoked.stderr);
  const afterRevoke = await swarm.cli(O, 'ping', M, '-c', '1');
  assert.equal(afterRevoke.code, 1);
  assert.match(afterRevoke.stderr, /not trusted/);
  // Revocation reaches the other side too.
  await eventually(async () => (await swarm.json<{ trusted: unknown[] }>(M, 'trust')).trusted.length === 0, 10_000, 'revocation on the monitor');
  const fromMonitor = await swarm.cli(M, 'ping', O, '-c', '1');
  assert.equal(fromMonitor.code, 1);
});

test('a rejected request shows its reason to the requester', async () => {
  const waiting = swarm.cli(E, 'handshake', M, 'executor wants the feed', '--wait', '20');
  await eventually(async () => (await swarm.json<Pending>(M, 'pending')).incoming.some((r) => r.hostname === E), 10_000, 'request at the monitor');
  const rejected = await swarm.cli(M, 'reject', E, 'executors', 'do', 'not', 'need', 'the', 'feed');
  assert.equal(rejected.code, 0, rejected.stderr);
  const outcome = await waiting;
  assert.equal(outcome.code, 1);
  assert.match(outcome.stdout, /rejected by gcp-log-monitor .*: executors do not need the feed/);
  const pending = await swarm.json<Pending>(E, 'pending');
  const mine = pending.outgoing.find((r) => r.hostname === M);
  assert.equal(mine?.status, 'rejected');
  assert.equal(mine?.reason, 'executors do not need the feed');
});

test('every trust decision is in a verifiable audit chain on each node', async () => {
  const audit = await swarm.json<{ entries: Array<{ action: string }>; verify: { ok: boolean; entries: number } }>(M, 'audit', '--verify');
  const actions = audit.entries.map((e) => e.action);
  for (const a of ['trust.request_received', 'trust.approved', 'trust.revoked_by_peer', 'trust.rejected']) assert.ok(actions.includes(a), `audit has ${a}`);
  assert.equal(audit.verify.ok, true);
  assert.equal(audit.verify.entries, audit.entries.length);
});
