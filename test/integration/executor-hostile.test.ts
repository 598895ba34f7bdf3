/**
 * Hostile mitigation requests over the real overlay against an executor daemon whose nftables
 * backend runs in a network namespace this test creates: every one is refused with its reason
 * and `nft list ruleset` in the namespace is byte-identical before and after. Then a kill -9
 * of the executor: after a restart its store, its firewall and its answers agree.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { netnsSkipReason } from '../../core/agents/executor/test/netns-lab.ts';
import { Daemon, isProcessAlive } from '../../core/overlay/daemon.ts';
import { generateIdentity } from '../../core/overlay/identity.ts';
import { exchange } from '../../core/overlay/task-service.ts';
import { encodeTask, encodeTaskMessage, TASK_MAX_AGE_MS, type TaskMessage } from '../../core/overlay/task-wire.ts';
import { eventually, Swarm } from '../helpers/swarm.ts';

const run = promisify(execFile);
const E = 'aws-firewall-executor';
const skip = netnsSkipReason(['nft']);
const netns = `swx-it-${process.pid}`;
const swarm = new Swarm();
let consoleNode: Daemon | null = null;
let executorKey = '';

async function ruleset(): Promise<string> {
  // --stateless: without counters and the running "expires" countdown, which change by themselves.
  return (await run('ip', ['netns', 'exec', netns, 'nft', '--stateless', 'list', 'ruleset'])).stdout;
}

let n = 0;
function payload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: `hostile-${process.pid}-${++n}-0000`, issuedAt: Date.now(), incidentId: null, action: 'block', cidr: '198.51.100.7', ttlSeconds: 3600, reason: 'test', ...extra };
}

async function send(frames: Buffer[]) {
  const stream = await consoleNode!.node.connectStream(executorKey, 1003);
  return exchange(stream, frames, frames.length, 10_000);
}

function signed(body: Record<string, unknown>): Buffer {
  const id = consoleNode!.identity;
  return encodeTask('mitigation', JSON.stringify(body), id.publicKey, (m) => id.sign(m));
}

before(async () => {
  if (skip) return;
  await run('ip', ['netns', 'add', netns]);
  await swarm.startRegistry();
  await swarm.startDaemon(E, ['--executor', 'nftables', '--netns', netns, '--allow', '203.0.113.0/24', '--max-ttl', '24h', '--max-entries', '3']);
  // The requester: an in-process node (as the console's is), so the test can also send what no
  // honest client would.
  consoleNode = await Daemon.start({ stateDir: swarm.dir('soc-console'), hostname: 'soc-console', registry: `127.0.0.1:${swarm.registry!.port}`, listen: '127.0.0.1:0' });
  await consoleNode.trust.requestTrust(E, 'sends mitigations', { want: ['mitigation.request'] });
  await eventually(async () => (await swarm.json<{ incoming: Array<{ hostname: string }> }>(E, 'pending')).incoming.some((r) => r.hostname === 'soc-console'), 10_000, 'the request at the executor');
  assert.equal((await swarm.cli(E, 'approve', 'soc-console', '--cap', 'mitigation.request')).code, 0);
  await eventually(async () => consoleNode!.trust.trusted().some((r) => r.hostname === E) || null, 10_000, 'trust on the console');
  executorKey = consoleNode.trust.trusted().find((r) => r.hostname === E)!.peerKey;
});

after(async () => {
  await consoleNode?.stop();
  await swarm.close();
  if (!skip) await run('ip', ['netns', 'del', netns]).catch(() => {});
});

test('hostile requests are refused with their reason and leave the nftables ruleset byte-identical', { skip: skip ?? false }, async () => {
  // Fill the executor to its bound of 3 active blocks with good requests first.
  const good = [payload({ cidr: '198.51.100.7' }), payload({ cidr: '198.51.100.8' }), payload({ cidr: '2001:db8:bad::1' })];
  const applied = await send(good.map(signed));
  assert.deepEqual(applied.map((r) => r.status), ['applied', 'applied', 'applied'], JSON.stringify(applied));
  const beforeRules = await ruleset();
  assert.match(beforeRules, /198\.51\.100\.7/);

  const stranger = generateIdentity();
  const flipped = (() => {
    const frame = JSON.parse(signed(payload({ cidr: '198.51.100.20' })).subarray(4).toString()) as TaskMessage;
    const sig = Buffer.from(frame.signature, 'base64url');
    sig[0]! ^= 0x80;
    return encodeTaskMessage({ ...frame, signature: sig.toString('base64url') });
  })();
  const cases: Array<[string, Buffer, RegExp]> = [
    ['unsigned', encodeTaskMessage({ type: 'task', task: 'mitigation', payload: JSON.stringify(payload({ cidr: '198.51.100.21' })), signer: '', signature: '' }), /unsigned/],
    ['signed by an untrusted key', encodeTask('mitigation', JSON.stringify(payload({ cidr: '198.51.100.22' })), stranger.publicKey, (m) => stranger.sign(m)), /wrong_signer/],
    ['bad signature', flipped, /bad_signature/],
    ['replayed request id', signed(good[0]!), /replayed_request/],
    ['stale timestamp', signed(payload({ cidr: '198.51.100.23', issuedAt: Date.now() - TASK_MAX_AGE_MS - 1000 })), /stale/],
    ['0.0.0.0/0', signed(payload({ cidr: '0.0.0.0/0' })), /.+/],
    ['the executor\'s own address', signed(payload({ cidr: '127.0.0.1' })), /.+/],
    ['an allowlisted address', signed(payload({ cidr: '203.0.113.5' })), /.+/],
    ['1.2.3.4/33', signed(payload({ cidr: '1.2.3.4/33' })), /.+/],
    ['1.2.3', signed(payload({ cidr: '1.2.3' })), /.+/],
    ['::g', signed(payload({ cidr: '::g' })), /.+/],
    ['a CIDR with a shell command', signed(payload({ cidr: '1.2.3.4/32; rm -rf /' })), /.+/],
    ['TTL 0', signed(payload({ cidr: '198.51.100.24', ttlSeconds: 0 })), /.+/],
    ['TTL of 10 years', signed(payload({ cidr: '198.51.100.25', ttlSeconds: 10 * 365 * 86_400 })), /.+/],
    ['past the entry bound (1 of a batch)', signed(payload({ cidr: '198.51.100.26' })), /.+/],
    ['past the entry bound (2 of a batch)', signed(payload({ cidr: '198.51.100.27' })), /.+/],
  ];
  const results = await send(cases.map((c) => c[1]));
  assert.equal(results.length, cases.length);
  cases.forEach(([what, , code], i) => {
    const r = results[i]!;
    assert.equal(r.status, 'refused', `${what}: ${JSON.stringify(r)}`);
    assert.match(r.code ?? '', code, what);
    assert.ok((r.reason ?? '').length > 10, `${what} says why: ${r.reason}`);
  });
  assert.match(results.at(-1)!.reason ?? '', /active|bound|entries|limit/i);
  assert.equal(await ruleset(), beforeRules, 'the ruleset did not change');

  // A trusted peer without mitigation.request: refused too (from the CLI, over its own node).
  await swarm.startDaemon('gcp-log-monitor');
  assert.equal((await swarm.cli('gcp-log-monitor', 'handshake', E, 'monitor')).code, 0);
  await eventually(async () => (await swarm.json<{ incoming: Array<{ hostname: string }> }>(E, 'pending')).incoming.some((r) => r.hostname === 'gcp-log-monitor'), 10_000, 'the monitor request');
  assert.equal((await swarm.cli(E, 'approve', 'gcp-log-monitor', '--cap', 'events.publish')).code, 0);
  await eventually(async () => (await swarm.json<{ trusted: Array<{ hostname: string }> }>('gcp-log-monitor', 'trust')).trusted.some((t) => t.hostname === E) || null, 10_000, 'monitor trust');
  const m = await swarm.cli('gcp-log-monitor', 'mitigate', E, '--block', '198.51.100.30', '--reason', 'not allowed', '--json');
  assert.equal((JSON.parse(m.stdout) as { result: { code: string } }).result.code, 'forbidden');
  assert.equal(await ruleset(), beforeRules, 'still unchanged');

  const audit = await swarm.json<{ entries: Array<{ action: string }>; verify: { ok: boolean } }>(E, 'audit', '--verify');
  assert.equal(audit.verify.ok, true);
  const refusals = audit.entries.filter((e) => e.action === 'task.refused' || e.action === 'mitigation.refused').length;
  assert.ok(refusals >= cases.length + 1, `every refusal is audited (${refusals})`);
});

test('kill -9 the executor daemon: after a restart its blocks, firewall and answers are consistent', { skip: skip ?? false }, async () => {
  const pid = (await swarm.json<{ pid: number }>(E, 'info')).pid;
  const active = (await swarm.json<{ decisions: Array<{ cidr: string }> }>(E, 'decisions')).decisions.map((d) => d.cidr).sort();
  process.kill(pid, 'SIGKILL');
  // SIGKILL is delivered asynchronously: wait until the process is gone (or a zombie).
  await eventually(async () => !isProcessAlive(pid) || null, 10_000, `pid ${pid} to die`);
  // Someone removes one element while the executor is down; reconciliation must put it back.
  await run('ip', ['netns', 'exec', netns, 'nft', 'delete', 'element', 'inet', 'swarm_soc', 'blocked4', '{ 198.51.100.7 }']);
  await swarm.startDaemon(E, ['--executor', 'nftables', '--netns', netns, '--allow', '203.0.113.0/24', '--max-ttl', '24h', '--max-entries', '3']);
  const after = (await swarm.json<{ decisions: Array<{ cidr: string }> }>(E, 'decisions')).decisions.map((d) => d.cidr).sort();
  assert.deepEqual(after, active);
  assert.match(await ruleset(), /198\.51\.100\.7/, 'the missing element was re-added');
  const info = await swarm.json<{ roles: { executor: { startup: { readded: number } } } }>(E, 'info');
  assert.equal(info.roles.executor.startup.readded, 1, 'info reports what the restart repaired');
  const audit = await swarm.json<{ verify: { ok: boolean } }>(E, 'audit', '--verify');
  assert.equal(audit.verify.ok, true);
});
