/**
 * The firewall executor as real processes on loopback: an executor daemon (`--executor dry-run`)
 * that an orchestrator node may send signed mitigation requests to once the executor granted it
 * mitigation.request; `mitigate`, `decisions`, `executor revoke|flush` and the audit trail on
 * both nodes. (The real nftables/iptables backends are tested in network namespaces beside the
 * executor's code.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, Swarm } from '../helpers/swarm.ts';

const O = 'local-threat-orchestrator';
const E = 'aws-firewall-executor';
const M = 'gcp-log-monitor';
const swarm = new Swarm();

interface MitigateJson {
  target: string;
  request: { id: string; cidr: string; ttlSeconds: number };
  result: { id: string; status: string; code?: string; reason?: string; detail?: { cidr: string; expiresAt?: number } };
}

interface DecisionsJson {
  backend: string;
  decisions: Array<{ requestId: string; cidr: string; state: string; remainingSeconds: number | null; requester: { hostname: string }; reason: string }>;
}

async function trustWith(requester: string, caps: string[], executor = E): Promise<void> {
  const asked = await swarm.cli(requester, 'handshake', executor, `${requester} sends mitigation requests`, '--want', 'mitigation.request');
  assert.equal(asked.code, 0, asked.stderr);
  await eventually(async () => (await swarm.json<{ incoming: Array<{ hostname: string }> }>(executor, 'pending')).incoming.some((r) => r.hostname === requester), 10_000, `${requester}'s request at ${executor}`);
  const approve = await swarm.cli(executor, 'approve', requester, ...caps.flatMap((c) => ['--cap', c]));
  assert.equal(approve.code, 0, approve.stderr);
  await eventually(async () => (await swarm.json<{ trusted: Array<{ hostname: string }> }>(requester, 'trust')).trusted.some((t) => t.hostname === executor), 10_000, `trust on ${requester}`);
}

before(async () => {
  await swarm.startRegistry();
  await swarm.startDaemon(O);
  await swarm.startDaemon(M);
  await swarm.startDaemon(E, ['--executor', 'dry-run', '--allow', '203.0.113.0/24', '--max-ttl', '24h']);
  await trustWith(O, ['mitigation.request']);
  // The monitor is trusted too, but only for basic traffic: it may not order firewall changes.
  await trustWith(M, ['events.publish']);
});

after(() => swarm.close());

test('an approved orchestrator blocks an address with a TTL; decisions shows it with its remaining time; info reports the executor', async () => {
  const r = await swarm.cli(O, 'mitigate', E, '--block', '198.51.100.7', '--ttl', '1h', '--reason', 'ssh brute force, incident 42', '--json');
  assert.equal(r.code, 0, r.stderr || r.stdout);
  const out = JSON.parse(r.stdout) as MitigateJson;
  assert.equal(out.result.status, 'applied');
  assert.equal(out.result.detail?.cidr, '198.51.100.7/32');
  const expiresAt = out.result.detail?.expiresAt ?? 0;
  assert.ok(Math.abs(expiresAt - (Date.now() + 3_600_000)) < 60_000, 'expires in about an hour');

  const decisions = await swarm.json<DecisionsJson>(E, 'decisions');
  assert.equal(decisions.backend, 'dry-run');
  const row = decisions.decisions.find((d) => d.requestId === out.request.id);
  assert.ok(row, 'the decision is listed');
  assert.equal(row.state, 'applied');
  assert.equal(row.requester.hostname, O);
  assert.equal(row.reason, 'ssh brute force, incident 42');
  assert.ok(row.remainingSeconds !== null && row.remainingSeconds > 3500 && row.remainingSeconds <= 3600);

  const text = await swarm.cli(E, 'decisions');
  assert.match(text.stdout, /198\.51\.100\.7\/32\s+applied/);
  assert.match(text.stdout, new RegExp(`198\\.51\\.100\\.7/32\\s+applied\\s+\\d+ s\\s+${O}\\s`), 'the table names who requested the block');
  const info = await swarm.json<{ roles: { executor: { backend: string; active: number } } }>(E, 'info');
  assert.equal(info.roles.executor.backend, 'dry-run');
  assert.ok(info.roles.executor.active >= 1);
});

test('hostile or disallowed orders are refused with their reason, and nothing is added', async () => {
  const before = (await swarm.json<DecisionsJson>(E, 'decisions')).decisions.length;
  const cases: Array<[string[], RegExp]> = [
    [['--block', '0.0.0.0/0'], /0\.0\.0\.0\/0|wider|everything|unspecified/i],
    [['--block', '203.0.113.9'], /allow/i],
    [['--block', '127.0.0.1'], /loopback|address of this executor/i],
    [['--block', '1.2.3.4/33'], /prefix|\/33|invalid|not an/i],
    [['--block', '1.2.3'], /invalid|not an|address/i],
    [['--block', '::g'], /invalid|not an|address/i],
    [['--block', '1.2.3.4/32; rm -rf /'], /invalid|not an|address|character/i],
    [['--block', '198.51.100.8', '--ttl', '3650d'], /ttl|long|max/i],
  ];
  for (const [args, why] of cases) {
    const r = await swarm.cli(O, 'mitigate', E, ...args, '--reason', 'hostile test', '--json');
    assert.equal(r.code, 1, `${args.join(' ')} must fail`);
    const out = JSON.parse(r.stdout) as MitigateJson;
    assert.equal(out.result.status, 'refused', args.join(' '));
    assert.match(out.result.reason ?? '', why, `${args.join(' ')}: ${out.result.reason}`);
  }
  assert.equal((await swarm.json<DecisionsJson>(E, 'decisions')).decisions.length, before, 'no block was added');
});

test('a trusted peer without mitigation.request is refused, and the refusal is in the executor audit log', async () => {
  const r = await swarm.cli(M, 'mitigate', E, '--block', '198.51.100.50', '--reason', 'a monitor may not do this', '--json');
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as MitigateJson;
  assert.equal(out.result.code, 'forbidden');
  const audit = await swarm.json<{ entries: Array<{ action: string; actor: string; details: { code?: string } }>; verify: { ok: boolean } }>(E, 'audit', '--verify');
  assert.ok(audit.entries.some((e) => e.action === 'task.refused' && e.actor === M && e.details.code === 'forbidden'));
  assert.equal(audit.verify.ok, true);
});

test('unblock and revoke lift blocks; flush removes what is left; both audit chains verify', async () => {
  const a = JSON.parse((await swarm.cli(O, 'mitigate', E, '--block', '198.51.100.60', '--reason', 'to unblock', '--json')).stdout) as MitigateJson;
  assert.equal(a.result.status, 'applied');
  const un = await swarm.cli(O, 'mitigate', E, '--unblock', '198.51.100.60', '--reason', 'false positive', '--json');
  assert.equal(un.code, 0, un.stdout);
  const b = JSON.parse((await swarm.cli(O, 'mitigate', E, '--block', '198.51.100.61', '--reason', 'to revoke', '--json')).stdout) as MitigateJson;
  assert.equal(b.result.status, 'applied');
  const revoked = await swarm.cli(E, 'executor', 'revoke', '198.51.100.61');
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, /revoked 198\.51\.100\.61\/32/);

  const all = await swarm.json<DecisionsJson>(E, 'decisions', '--all');
  assert.equal(all.decisions.find((d) => d.requestId === a.request.id)?.state, 'revoked');
  assert.equal(all.decisions.find((d) => d.requestId === b.request.id)?.state, 'revoked');
  const active = await swarm.json<DecisionsJson>(E, 'decisions');
  assert.ok(!active.decisions.some((d) => d.cidr === '198.51.100.60/32' || d.cidr === '198.51.100.61/32'));

  const flushed = await swarm.json<{ removed: number }>(E, 'executor', 'flush');
  assert.ok(flushed.removed >= 1, 'the block from the first test was still active');
  assert.deepEqual((await swarm.json<DecisionsJson>(E, 'decisions')).decisions, []);

  const executorAudit = await swarm.json<{ entries: Array<{ action: string }>; verify: { ok: boolean } }>(E, 'audit', '--verify');
  assert.equal(executorAudit.verify.ok, true);
  for (const action of ['mitigation.accepted', 'mitigation.applied', 'mitigation.refused', 'mitigation.revoked']) {
    assert.ok(executorAudit.entries.some((e) => e.action === action), `executor audit has ${action}`);
  }
  // Exported as JSON lines, the chain links entry to entry.
  const exported = await swarm.cli(E, 'audit', '--jsonl', '--verify');
  assert.equal(exported.code, 0, exported.stderr);
  const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; prevHash: string; hash: string; action: string });
  assert.equal(lines.length, executorAudit.entries.length);
  lines.forEach((e, i) => {
    assert.equal(e.seq, i + 1);
    if (i > 0) assert.equal(e.prevHash, lines[i - 1]!.hash);
  });
  assert.match(exported.stderr, /chain verified/);
  const orchestratorAudit = await swarm.json<{ entries: Array<{ action: string; actor: string }>; verify: { ok: boolean } }>(O, 'audit', '--verify');
  assert.equal(orchestratorAudit.verify.ok, true);
  assert.ok(orchestratorAudit.entries.some((e) => e.action === 'task.submitted' && e.actor === 'admin'));
  assert.ok(orchestratorAudit.entries.some((e) => e.action === 'task.applied' && e.actor === E));
});

test('mitigate without a reason or with both --block and --unblock is a usage error', async () => {
  const noReason = await swarm.cli(O, 'mitigate', E, '--block', '198.51.100.9');
  assert.equal(noReason.code, 2);
  assert.match(noReason.stderr, /--reason is required/);
  const both = await swarm.cli(O, 'mitigate', E, '--block', '198.51.100.9', '--unblock', '198.51.100.9', '--reason', 'x');
  assert.match(both.stderr, /exactly one of --block/);
  const badBackend = await swarm.cli('other', 'daemon', 'start', '--hostname', 'other', '--registry', `127.0.0.1:${swarm.registry!.port}`, '--executor', 'pf');
  assert.notEqual(badBackend.code, 0);
  assert.match(badBackend.stderr, /--executor must be one of nftables, iptables, dry-run/);
});

test('the width limit and the private ranges are configurable: --widest-v4, --permit, --allow-private', async () => {
  const E2 = 'onprem-firewall-executor';
  await swarm.startDaemon(E2, ['--executor', 'dry-run', '--widest-v4', '24', '--permit', '10.20.0.0/16']);
  await trustWith(O, ['mitigation.request'], E2);
  const order = async (cidr: string) => JSON.parse((await swarm.cli(O, 'mitigate', E2, '--block', cidr, '--reason', 'policy test', '--json')).stdout) as MitigateJson;
  const wide = await order('198.51.100.0/23');
  assert.equal(wide.result.status, 'refused');
  assert.match(wide.result.reason ?? '', /\/24|wider/);
  assert.equal((await order('198.51.100.0/24')).result.status, 'applied');
  assert.equal((await order('10.20.1.1')).result.status, 'applied', 'a permitted private range');
  assert.equal((await order('10.30.1.1')).result.status, 'refused', 'other private space stays refused');
  const stray = await swarm.cli('stray', 'daemon', 'start', '--hostname', 'stray', '--registry', `127.0.0.1:${swarm.registry!.port}`, '--widest-v4', '24');
  assert.notEqual(stray.code, 0);
  assert.match(stray.stderr, /--widest-v4 configures the firewall executor/);
});
