/**
 * The executor's decision path on the dry-run backend (memory) with a controllable clock: fast,
 * no root needed. The same paths against real nftables and iptables, with real traffic, are in
 * test/executor-netns.test.ts; the crash between `accepted` and the firewall with a real SIGKILL
 * is in test/executor-crash.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { BackendError, type FirewallBackend, type FirewallBlock } from './backend.ts';
import type { Cidr } from './cidr.ts';
import { DryRunBackend } from './dry-run-backend.ts';
import { ExecutorError, FirewallExecutor, type ExecutionResult, type FirewallExecutorOptions, type MitigationOrder } from './executor.ts';

let dir: string;
let clock: number;
const now = () => clock;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'executor-'));
  clock = 1_700_000_000_000;
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

let nextId = 1;
function order(fields: Partial<MitigationOrder> = {}): MitigationOrder {
  return {
    requestId: `req-${String(nextId++).padStart(8, '0')}`,
    incidentId: 'incident-7',
    action: 'block',
    cidr: '198.51.100.7',
    ttlSeconds: 600,
    reason: 'ssh brute force',
    requester: { fingerprint: 'ABCD-EF01-2345-6789-ABCD-EF01-2345-6789', hostname: 'local-threat-orchestrator' },
    issuedAt: clock,
    ...fields,
  };
}

interface AuditEntry {
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

interface Harness {
  executor: FirewallExecutor;
  backend: FirewallBackend;
  audit: AuditEntry[];
  results: ExecutionResult[];
}

async function open(overrides: Partial<FirewallExecutorOptions> = {}, backend: FirewallBackend = new DryRunBackend({ now })): Promise<Harness> {
  const audit: AuditEntry[] = [];
  const executor = await FirewallExecutor.open({
    dbPath: join(dir, 'executor.db'),
    backend,
    policy: {},
    protectedAddresses: () => ['198.51.100.1', '203.0.113.250:9000'],
    audit: (action, subject, details) => audit.push({ action, subject, details }),
    now,
    ...overrides,
  });
  const results: ExecutionResult[] = [];
  executor.on('result', (r) => results.push(r));
  return { executor, backend, audit, results };
}

async function listed(backend: FirewallBackend): Promise<string[]> {
  return (await backend.list()).map((e) => `${e.cidr.text} ${e.remainingSeconds}`).sort();
}

/** Fault injection: a real dry-run backend whose chosen operations fail. */
class FaultyBackend extends DryRunBackend {
  failBlock: BackendError | null = null;
  failUnblock: BackendError | null = null;
  override async block(blocks: readonly FirewallBlock[]): Promise<void> {
    if (this.failBlock !== null) throw this.failBlock;
    return super.block(blocks);
  }
  override async unblock(cidrs: readonly Cidr[]): Promise<void> {
    if (this.failUnblock !== null) throw this.failUnblock;
    return super.unblock(cidrs);
  }
}

test('a block is accepted, applied, audited and reported, and shows as active with its remaining time', async () => {
  const { executor, backend, audit, results } = await open();
  const o = order({ cidr: '::ffff:198.51.100.7' });
  const result = await executor.execute(o, { signed: { payload: '{"id":"x"}', signer: 'key', signature: 'sig' } });
  assert.deepEqual(result, { requestId: o.requestId, status: 'applied', cidr: '198.51.100.7/32', expiresAt: clock + 600_000 });
  assert.deepEqual(results, [result]);
  assert.deepEqual(await listed(backend), ['198.51.100.7/32 600']);
  assert.deepEqual(audit.map((a) => `${a.action} ${a.subject}`), ['mitigation.accepted 198.51.100.7/32', 'mitigation.applied 198.51.100.7/32']);
  assert.deepEqual(audit[0]?.details.signed, { payload: '{"id":"x"}', signer: 'key', signature: 'sig' });
  clock += 100_000;
  const [view] = executor.active();
  assert.equal(view?.remainingSeconds, 500);
  assert.equal(view?.state, 'applied');
  assert.equal(view?.appliedAt, clock - 100_000);
  assert.equal(view?.requester.hostname, 'local-threat-orchestrator');
  assert.equal(executor.evidence(o.requestId)?.signed.signature, 'sig');
  await executor.close();
});

test('a replayed request id is refused whatever happened to the first one, and nothing changes', async () => {
  const { executor, backend, audit } = await open();
  const o = order();
  assert.equal((await executor.execute(o)).status, 'applied');
  const again = await executor.execute({ ...o, cidr: '203.0.113.9' });
  assert.equal(again.status, 'refused');
  assert.equal(again.code, 'replayed_request');
  assert.match(again.reason ?? '', /already decided \(applied/);
  assert.deepEqual(await listed(backend), ['198.51.100.7/32 600']);
  const refused = order({ cidr: '10.0.0.1' });
  assert.equal((await executor.execute(refused)).code, 'special_range');
  assert.equal((await executor.execute({ ...refused, cidr: '203.0.113.9' })).code, 'replayed_request', 'a refused id is used up too');
  assert.equal(executor.decision(refused.requestId)?.state, 'refused');
  assert.deepEqual(
    audit.filter((a) => a.action === 'mitigation.refused').map((a) => a.details.code),
    ['replayed_request', 'special_range', 'replayed_request'],
  );
  await executor.close();
});

test('blocking the same CIDR again renews it: one entry, the earlier decision superseded', async () => {
  const { executor, backend } = await open();
  const first = order({ ttlSeconds: 600 });
  await executor.execute(first);
  clock += 60_000;
  const second = order({ ttlSeconds: 3600 });
  assert.equal((await executor.execute(second)).status, 'applied');
  assert.deepEqual(await listed(backend), ['198.51.100.7/32 3600']);
  assert.equal(executor.decision(first.requestId)?.state, 'superseded');
  assert.equal(executor.decision(first.requestId)?.endedBy, second.requestId);
  assert.deepEqual(
    executor.active().map((d) => d.requestId),
    [second.requestId],
  );
  await executor.close();
});

test('a block overlapping an active block of another CIDR is refused, and so is an unblock inside one', async () => {
  const { executor } = await open();
  await executor.execute(order({ cidr: '192.0.2.7' }));
  const wider = await executor.execute(order({ cidr: '192.0.2.0/24' }));
  assert.equal(wider.code, 'overlaps_active_block');
  assert.match(wider.reason ?? '', /overlaps the active block of 192\.0\.2\.7\/32/);
  await executor.execute(order({ cidr: '203.0.113.0/28' }));
  const inside = await executor.execute(order({ action: 'unblock', cidr: '203.0.113.9', ttlSeconds: 0 }));
  assert.equal(inside.code, 'overlaps_active_block');
  assert.match(inside.reason ?? '', /unblock 203\.0\.113\.0\/28 instead/);
  await executor.close();
});

test('unblock removes the block and reports the block as revoked; unblocking what is not blocked is fine', async () => {
  const { executor, backend, results } = await open();
  const block = order();
  await executor.execute(block);
  const unblock = order({ action: 'unblock', ttlSeconds: 0 });
  const r = await executor.execute(unblock);
  assert.equal(r.status, 'applied');
  assert.deepEqual(await listed(backend), []);
  assert.equal(executor.decision(block.requestId)?.state, 'revoked');
  assert.deepEqual(results.slice(-2).map((x) => `${x.requestId} ${x.status}`), [`${block.requestId} revoked`, `${unblock.requestId} applied`]);
  const nothing = await executor.execute(order({ action: 'unblock', cidr: '192.0.2.55', ttlSeconds: 0 }));
  assert.equal(nothing.status, 'applied');
  assert.match(nothing.reason ?? '', /was not blocked/);
  await executor.close();
});

test('revoke lifts an active block by CIDR or request id; unknown targets give null', async () => {
  const { executor, backend, audit } = await open();
  const a = order({ cidr: '198.51.100.7' });
  const b = order({ cidr: '2001:db8::/48' });
  await executor.execute(a);
  await executor.execute(b);
  assert.equal((await executor.revoke('198.51.100.7', 'admin'))?.status, 'revoked');
  assert.equal((await executor.revoke(b.requestId, 'admin'))?.status, 'revoked');
  assert.equal(await executor.revoke('198.51.100.7', 'admin'), null);
  assert.equal(await executor.revoke('no-such-request', 'admin'), null);
  assert.deepEqual(await listed(backend), []);
  assert.equal(executor.decision(a.requestId)?.endedBy, 'admin');
  assert.equal(audit.filter((x) => x.action === 'mitigation.revoked').length, 2);
  await executor.close();
});

test('at most maxActiveEntries blocks are active; a renewal still goes through at the bound', async () => {
  const { executor } = await open({ policy: { maxActiveEntries: 3 } });
  for (const host of [1, 2, 3]) assert.equal((await executor.execute(order({ cidr: `203.0.113.${host}` }))).status, 'applied');
  const fourth = await executor.execute(order({ cidr: '203.0.113.4' }));
  assert.equal(fourth.code, 'too_many_entries');
  assert.equal((await executor.execute(order({ cidr: '203.0.113.2' }))).status, 'applied');
  assert.equal(executor.active().length, 3);
  await executor.close();
});

test('a firewall failure is recorded as failed with the backend\'s code, and nothing is active', async () => {
  const backend = new FaultyBackend({ now });
  const { executor, audit } = await open({}, backend);
  backend.failBlock = new BackendError('backend_permission', 'nft was refused: Operation not permitted', 'run as root');
  const o = order();
  const r = await executor.execute(o);
  assert.equal(r.status, 'failed');
  assert.equal(r.code, 'backend_permission');
  assert.match(r.reason ?? '', /Operation not permitted \(run as root\)/);
  assert.equal(executor.decision(o.requestId)?.state, 'failed');
  assert.deepEqual(executor.active(), []);
  assert.deepEqual(audit.map((a) => a.action), ['mitigation.accepted', 'mitigation.failed']);
  await executor.close();
});

test('an order the audit log cannot record never reaches the firewall', async () => {
  const { executor, backend } = await open({
    audit: (action) => {
      if (action === 'mitigation.accepted') throw new Error('disk full');
    },
  });
  const o = order();
  const r = await executor.execute(o);
  assert.equal(r.status, 'failed');
  assert.equal(r.code, 'audit_failed');
  assert.deepEqual(await listed(backend), []);
  assert.equal(executor.decision(o.requestId)?.state, 'failed');
  await executor.close();
});

test('blocks expire on their own: the timer marks them expired, removes the entry and reports it', async () => {
  clock = Date.now();
  const realNow = () => Date.now();
  const backend = new DryRunBackend({ now: realNow });
  const { executor, audit } = await open({ policy: { testOnlyMinTtlSeconds: 1 }, now: realNow }, backend);
  const o = order({ ttlSeconds: 1 });
  const expired = new Promise<ExecutionResult>((resolve) => executor.on('result', (r) => r.status === 'expired' && resolve(r)));
  // The executor's timer is unref'd (blocks live in the kernel, not in this process): keep the test alive.
  const keepAlive = setTimeout(() => {}, 10_000);
  await executor.execute(o);
  const r = await expired;
  clearTimeout(keepAlive);
  assert.equal(r.requestId, o.requestId);
  assert.ok(Date.now() >= (r.expiresAt as number));
  assert.deepEqual(await listed(backend), []);
  assert.equal(executor.decision(o.requestId)?.state, 'expired');
  assert.equal(audit.at(-1)?.action, 'mitigation.expired');
  await executor.close();
});

test('reconcile after a reboot: missing entries come back with their remaining time; unknown entries go', async () => {
  const first = await open();
  await first.executor.execute(order({ cidr: '198.51.100.7', ttlSeconds: 600 }));
  await first.executor.execute(order({ cidr: '192.0.2.0/24', ttlSeconds: 120 }));
  await first.executor.close();
  clock += 100_000;
  // A new dry-run backend is an empty firewall, like a host after a reboot; plus an entry nobody decided.
  const rebooted = new DryRunBackend({ now });
  await rebooted.block([{ cidr: { family: 4, network: 0xc0000263n, prefix: 32, text: '192.0.2.99/32' }, ttlSeconds: 999 }]);
  const second = await open({}, rebooted);
  const report = second.executor.startupReport;
  assert.deepEqual([...report.readded].sort(), ['192.0.2.0/24', '198.51.100.7/32']);
  assert.deepEqual(report.removed, ['192.0.2.99/32']);
  assert.equal(report.active, 2);
  assert.deepEqual(await listed(rebooted), ['192.0.2.0/24 20', '198.51.100.7/32 500']);
  // Time passes while the executor is down: due blocks are expired at the next start.
  await second.executor.close();
  clock += 30_000;
  const third = await open({}, rebooted);
  assert.equal(third.executor.startupReport.expired.length, 1);
  assert.deepEqual(await listed(rebooted), ['198.51.100.7/32 470']);
  await third.executor.close();
});

test('reconcile lifts blocks the policy now refuses (a new allowlist entry, a newly trusted peer)', async () => {
  const first = await open();
  const o = order({ cidr: '203.0.113.7' });
  await first.executor.execute(o);
  await first.executor.execute(order({ cidr: '198.51.100.7' }));
  await first.executor.close();
  const second = await open({ policy: { allowlist: ['203.0.113.0/24'] } }, first.backend);
  assert.deepEqual(second.executor.startupReport.revokedByPolicy, [{ requestId: o.requestId, cidr: '203.0.113.7/32', code: 'allowlisted' }]);
  assert.deepEqual(await listed(second.backend), ['198.51.100.7/32 600']);
  assert.equal(second.executor.decision(o.requestId)?.endedBy, 'policy');
  await second.executor.close();
});

test('a crash between accepted and the firewall is finished at the next start (in-process fault injection)', async () => {
  const backend = new DryRunBackend({ now });
  const crashed = await open({ testHooks: { afterAccepted: () => Promise.reject(new Error('simulated crash')) } }, backend);
  const o = order();
  await assert.rejects(crashed.executor.execute(o), /simulated crash/);
  assert.equal(crashed.executor.decision(o.requestId)?.state, 'accepted');
  assert.deepEqual(await listed(backend), []);
  await crashed.executor.close();
  clock += 10_000;
  const reopened = await open({}, backend);
  assert.deepEqual(reopened.executor.startupReport.resumed, [{ requestId: o.requestId, cidr: '198.51.100.7/32', outcome: 'applied' }]);
  assert.deepEqual(await listed(backend), ['198.51.100.7/32 590'], 'only the time it has left');
  assert.equal(reopened.executor.decision(o.requestId)?.state, 'applied');
  await reopened.executor.close();
});

test('a crash after the firewall changed but before "applied" was stored is finished without a second entry', async () => {
  const backend = new DryRunBackend({ now });
  const crashed = await open({ testHooks: { afterApplied: () => Promise.reject(new Error('simulated crash')) } }, backend);
  const o = order();
  await assert.rejects(crashed.executor.execute(o));
  await crashed.executor.close();
  const reopened = await open({}, backend);
  assert.equal(reopened.executor.startupReport.resumed[0]?.outcome, 'applied');
  assert.deepEqual(await listed(backend), ['198.51.100.7/32 600']);
  await reopened.executor.close();
});

test('a decision stuck in accepted whose time ran out while the executor was down ends as expired', async () => {
  const backend = new DryRunBackend({ now });
  const crashed = await open({ testHooks: { afterAccepted: () => Promise.reject(new Error('simulated crash')) } }, backend);
  const o = order({ ttlSeconds: 60 });
  await assert.rejects(crashed.executor.execute(o));
  await crashed.executor.close();
  clock += 61_000;
  const reopened = await open({}, backend);
  assert.deepEqual(reopened.executor.startupReport.resumed, [{ requestId: o.requestId, cidr: '198.51.100.7/32', outcome: 'expired', code: 'expired_before_applied' }]);
  assert.deepEqual(await listed(backend), []);
  await reopened.executor.close();
});

test('flush removes every entry, ends every active decision as revoked and audits it', async () => {
  const { executor, backend, audit, results } = await open();
  await executor.execute(order({ cidr: '198.51.100.7' }));
  await executor.execute(order({ cidr: '2001:db8:1::/48' }));
  assert.deepEqual(await executor.flush('admin'), { removed: 2 });
  assert.deepEqual(await listed(backend), []);
  assert.deepEqual(executor.active(), []);
  assert.equal(results.filter((r) => r.status === 'revoked').length, 2);
  assert.deepEqual(audit.at(-1)?.action, 'mitigation.flushed');
  await executor.close();
});

test('malformed orders are answered, not thrown; a closed executor refuses new work', async () => {
  const { executor } = await open();
  const r = await executor.execute({ requestId: 'x y' } as unknown as MitigationOrder);
  assert.equal(r.status, 'refused');
  assert.equal(r.code, 'invalid_order');
  await executor.close();
  await assert.rejects(executor.execute(order()), (err: unknown) => err instanceof ExecutorError && err.code === 'executor_closed');
});

test('an invalid policy stops the executor from opening', async () => {
  await assert.rejects(open({ policy: { maxTtlSeconds: -1 } }), (err: unknown) => err instanceof ExecutorError && /maxTtlSeconds/.test(err.message));
});

test('history lists every decision newest first, with its state', async () => {
  const { executor } = await open();
  await executor.execute(order({ cidr: '198.51.100.7' }));
  clock += 1;
  await executor.execute(order({ cidr: '0.0.0.0/0' }));
  assert.deepEqual(
    executor.history().map((d) => `${d.state} ${d.cidr} ${d.code ?? ''}`),
    ['refused 0.0.0.0/0 default_route', 'applied 198.51.100.7/32 '],
  );
  await executor.close();
});
