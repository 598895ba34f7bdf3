/**
 * The executor against the real kernel: nftables, and iptables + ipset, inside throwaway network
 * namespaces (test/netns-lab.ts), asserted with real traffic from an "attacker" namespace to a
 * UDP echo service in the "executor" namespace. Needs root, iproute2, nftables, iptables and
 * ipset (CI has them); skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FirewallBackend } from '../backend.ts';
import { parseCidr } from '../cidr.ts';
import { FirewallExecutor, type ExecutionResult, type ExecutionStatus, type MitigationOrder, type PolicyConfig } from '../executor.ts';
import { IptablesBackend } from '../iptables-backend.ts';
import { NftablesBackend } from '../nftables-backend.ts';
import { ATTACKER, EXECUTOR, createLab, inNetns, netnsSkipReason, type Lab } from './netns-lab.ts';

const skip = netnsSkipReason(['nft', 'iptables', 'ip6tables', 'ipset']);
if (skip !== null) console.log(`# executor netns tests skipped: ${skip}`);

/** A probe that gets no echo within this long counts as dropped (the echo takes well under 1 ms). */
const DROP_WAIT_MS = 300;

let nextId = 1;
function order(fields: Partial<MitigationOrder> = {}): MitigationOrder {
  return {
    requestId: `netns-${process.pid}-${nextId++}`,
    incidentId: 'incident-netns',
    action: 'block',
    cidr: ATTACKER.v4,
    ttlSeconds: 600,
    reason: 'netns test',
    requester: { fingerprint: 'ABCD-EF01-2345-6789-ABCD-EF01-2345-6789', hostname: 'test-console' },
    issuedAt: Date.now(),
    ...fields,
  };
}

function waitForResult(executor: FirewallExecutor, requestId: string, status: ExecutionStatus, withinMs: number): Promise<ExecutionResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      executor.off('result', listener);
      reject(new Error(`no "${status}" result for ${requestId} within ${withinMs} ms`));
    }, withinMs);
    const listener = (r: ExecutionResult) => {
      if (r.requestId !== requestId || r.status !== status) return;
      clearTimeout(timer);
      executor.off('result', listener);
      resolve(r);
    };
    executor.on('result', listener);
  });
}

async function assertDropped(lab: Lab, source: string, message: string): Promise<void> {
  // Two probes at once, so a single lost datagram cannot pass for a block.
  assert.deepEqual(await Promise.all([lab.reaches(source, DROP_WAIT_MS), lab.reaches(source, DROP_WAIT_MS)]), [false, false], message);
}

async function assertPasses(lab: Lab, source: string, message: string): Promise<void> {
  assert.equal(await lab.passesWithin(source), true, message);
}

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'executor-netns-'));
});

after(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function openExecutor(name: string, backend: FirewallBackend, policy: PolicyConfig = {}, audit: string[] = []): Promise<FirewallExecutor> {
  return FirewallExecutor.open({
    dbPath: join(dir, `${name}.db`),
    backend,
    policy: { testOnlyMinTtlSeconds: 2, ...policy },
    protectedAddresses: () => [EXECUTOR.v4, EXECUTOR.v4b, EXECUTOR.v6],
    audit: (action, subject) => audit.push(`${action} ${subject}`),
  });
}

/**
 * Block, revoke, expire — with traffic — for one backend, in a lab of its own (the two backends
 * run at the same time: most of this test is waiting for packets not to come back, and for a TTL).
 */
async function blockRevokeExpire(kind: 'nftables' | 'iptables'): Promise<void> {
  const lab = await createLab();
  const audit: string[] = [];
  const backend = kind === 'nftables' ? new NftablesBackend({ netns: lab.executorNs }) : new IptablesBackend({ netns: lab.executorNs });
  let executor: FirewallExecutor | null = null;
  try {
    executor = await openExecutor(`traffic-${kind}`, backend, {}, audit);
    await blockRevokeExpireWith(lab, executor);
    if (kind === 'iptables') {
      const rules = await inNetns(lab.executorNs, ['iptables', '-S']);
      assert.match(rules, /-A INPUT -m set --match-set swarm_soc4 src -m comment --comment swarm-soc-executor -j DROP/);
      assert.match(await inNetns(lab.executorNs, ['ip6tables', '-S']), /-A FORWARD -m set --match-set swarm_soc6 src/);
    }
    assert.deepEqual(await executor.flush(), { removed: 0 });
    for (const action of ['accepted', 'applied', 'revoked', 'expired', 'flushed']) {
      assert.ok(audit.some((line) => line.startsWith(`mitigation.${action} `)), `audited: ${action}`);
    }
  } finally {
    await executor?.close();
    await lab.destroy();
  }
}

async function blockRevokeExpireWith(lab: Lab, executor: FirewallExecutor): Promise<void> {
  await assertPasses(lab, ATTACKER.v4, 'the attacker reaches the service before any block');
  const block = order({ cidr: ATTACKER.v4 });
  const applied = await executor.execute(block);
  assert.equal(applied.status, 'applied', applied.reason);
  await assertDropped(lab, ATTACKER.v4, 'after the block the attacker\'s packets are dropped');
  assert.equal(await lab.reaches(ATTACKER.v4b), true, 'another source address of the same host still passes: the block is exact');
  if (executor.backend.kind === 'nftables') {
    // Dropped by our rule, not lost on the way: its counter saw the probes.
    const chain = await inNetns(lab.executorNs, ['nft', 'list', 'chain', 'inet', 'swarm_soc', 'input']);
    assert.match(chain, /ip saddr @blocked4 counter packets [1-9]\d* bytes \d+ drop/);
  }

  assert.equal((await executor.revoke(ATTACKER.v4, 'admin'))?.status, 'revoked');
  await assertPasses(lab, ATTACKER.v4, 'after revoke the attacker passes again');

  const v6 = await executor.execute(order({ cidr: ATTACKER.v6 }));
  assert.equal(v6.status, 'applied', v6.reason);
  await assertDropped(lab, ATTACKER.v6, 'IPv6 blocks drop IPv6 traffic');
  assert.equal(await lab.reaches(ATTACKER.v4), true, 'an IPv6 block leaves IPv4 alone');
  assert.equal((await executor.revoke(v6.requestId, 'admin'))?.status, 'revoked');
  await assertPasses(lab, ATTACKER.v6, 'after revoke IPv6 passes again');

  // A prefix, not only a host: 203.0.113.8/30 holds the attacker's 203.0.113.9.
  const short = order({ cidr: '203.0.113.8/30', ttlSeconds: 2 });
  const expired = waitForResult(executor, short.requestId, 'expired', 10_000);
  expired.catch(() => {}); // awaited below; a failure before that must not surface as unhandled
  assert.equal((await executor.execute(short)).status, 'applied');
  await assertDropped(lab, ATTACKER.v4b, 'a prefix block drops its hosts');
  const result = await expired;
  assert.ok(Date.now() >= (result.expiresAt as number), 'expired is reported no earlier than the TTL');
  assert.equal(await lab.reaches(ATTACKER.v4b), true, 'once "expired" is reported, traffic passes at once');
  assert.equal(executor.decision(short.requestId)?.state, 'expired');
  assert.deepEqual(await executor.backend.list(), []);
}

// Three independent labs at once: most of the time is spent waiting for packets not to come back.
describe('firewall executor in network namespaces', { skip: skip ?? false, concurrency: true }, () => {
  test('nftables: the attacker is dropped after block, passes after revoke and again after the TTL', () => blockRevokeExpire('nftables'));
  test('iptables + ipset: the attacker is dropped after block, passes after revoke and again after the TTL', () => blockRevokeExpire('iptables'));
  describe('policy, idempotency, reconciliation and flush (one lab, in sequence)', { concurrency: false }, () => {
    let lab: Lab;

    before(async () => {
      lab = await createLab();
    });

    after(async () => {
      await lab?.destroy();
    });

    test('hostile orders are refused with their reasons and leave the ruleset byte-identical', async () => {
      const executor = await openExecutor('hostile', new NftablesBackend({ netns: lab.executorNs }), { maxActiveEntries: 3, allowlist: ['192.0.2.0/24'] });
      try {
        const replayed = order({ cidr: '203.0.113.101' });
        for (const cidr of ['203.0.113.101', '203.0.113.102', '203.0.113.103']) {
          const r = await executor.execute(cidr === '203.0.113.101' ? replayed : order({ cidr }));
          assert.equal(r.status, 'applied', r.reason);
        }
        // --stateless: without the counters and the running "expires" countdown, which change with
        // time and traffic; any element, set, chain or rule added or removed would show.
        const before = await inNetns(lab.executorNs, ['nft', '--stateless', 'list', 'ruleset']);
        const hostile: Array<[Partial<MitigationOrder>, string, RegExp]> = [
          [{ cidr: '0.0.0.0/0' }, 'default_route', /every IPv4 address/],
          [{ cidr: '::/0' }, 'default_route', /every IPv6 address/],
          [{ cidr: EXECUTOR.v4 }, 'protected_address', /an address of this executor/],
          [{ cidr: '198.51.100.0/24' }, 'protected_address', /covers 198\.51\.100\.1\/32/],
          [{ cidr: '192.0.2.77' }, 'allowlisted', /allowlisted 192\.0\.2\.0\/24/],
          [{ cidr: '1.2.3.4/33' }, 'invalid_cidr', /not a prefix length/],
          [{ cidr: '1.2.3' }, 'invalid_cidr', /not an IPv4 address/],
          [{ cidr: '::g' }, 'invalid_cidr', /has "g"/],
          [{ cidr: '1.2.3.4/32; rm -rf /' }, 'invalid_cidr', /has ";"/],
          [{ cidr: '10.0.0.1' }, 'special_range', /private network/],
          [{ ttlSeconds: 0, cidr: '203.0.113.50' }, 'ttl_too_short', /shorter than the minimum/],
          [{ ttlSeconds: 10 * 365 * 86_400, cidr: '203.0.113.50' }, 'ttl_too_long', /longer than the maximum/],
          [{ cidr: '203.0.113.104' }, 'too_many_entries', /3 blocks are active/],
          [{ ...replayed }, 'replayed_request', /already decided/],
        ];
        for (const [fields, code, reason] of hostile) {
          const r = await executor.execute(order(fields));
          assert.equal(r.status, 'refused', `${JSON.stringify(fields)} should be refused`);
          assert.equal(r.code, code, JSON.stringify(fields));
          assert.match(r.reason ?? '', reason);
        }
        const afterwards = await inNetns(lab.executorNs, ['nft', '--stateless', 'list', 'ruleset']);
        assert.equal(afterwards, before, 'the ruleset is byte-identical after the refusals');
        assert.deepEqual(
          (await executor.backend.list()).map((e) => e.cidr.text).sort(),
          ['203.0.113.101/32', '203.0.113.102/32', '203.0.113.103/32'],
        );
      } finally {
        await executor.flush();
        await executor.close();
      }
    });

    test('the same block twice is one element whose timeout is refreshed (nftables and ipset)', async () => {
      for (const backend of [new NftablesBackend({ netns: lab.executorNs }), new IptablesBackend({ netns: lab.executorNs })]) {
        const executor = await openExecutor(`idempotent-${backend.kind}`, backend);
        try {
          assert.equal((await executor.execute(order({ cidr: '203.0.113.77', ttlSeconds: 120 }))).status, 'applied');
          assert.equal((await executor.execute(order({ cidr: '203.0.113.77', ttlSeconds: 3600 }))).status, 'applied');
          const entries = await backend.list();
          assert.equal(entries.length, 1, backend.kind);
          assert.ok((entries[0]?.remainingSeconds ?? 0) > 3500, `${backend.kind}: the timeout is the new TTL, got ${entries[0]?.remainingSeconds}`);
          // Directly at the backend too: adding what is there and removing what is not both succeed.
          const c = parseCidr('203.0.113.77');
          if (!c.ok) throw new Error('unreachable');
          await backend.block([{ cidr: c.value, ttlSeconds: 300 }]);
          assert.equal((await backend.list()).length, 1);
          assert.ok(((await backend.list())[0]?.remainingSeconds ?? 0) <= 300, `${backend.kind}: a shorter TTL is applied too`);
          await backend.unblock([c.value]);
          await backend.unblock([c.value]);
          assert.deepEqual(await backend.list(), []);
        } finally {
          await executor.flush();
          await executor.close();
        }
      }
    });

    test('reconcile puts back entries someone removed and removes entries nobody decided', async () => {
      const executor = await openExecutor('reconcile', new NftablesBackend({ netns: lab.executorNs }));
      try {
        await executor.execute(order({ cidr: ATTACKER.v4 }));
        await inNetns(lab.executorNs, ['nft', 'delete', 'element', 'inet', 'swarm_soc', 'blocked4', `{ ${ATTACKER.v4} }`]);
        await inNetns(lab.executorNs, ['nft', 'add', 'element', 'inet', 'swarm_soc', 'blocked4', '{ 192.0.2.200 timeout 600s }']);
        assert.equal(await lab.reaches(ATTACKER.v4), true, 'the entry is really gone');
        const report = await executor.reconcile();
        assert.deepEqual(report.readded, [`${ATTACKER.v4}/32`]);
        assert.deepEqual(report.removed, ['192.0.2.200/32']);
        await assertDropped(lab, ATTACKER.v4, 'the block is back in force');
      } finally {
        await executor.flush();
        await executor.close();
      }
    });

    test('flush removes only what the executor created: other nftables tables, iptables rules and ipsets survive', async () => {
      // Someone else's firewall state, set up first.
      await inNetns(lab.executorNs, ['nft', '-f', '-'], [
        'table inet bystander {',
        '  set keep4 { type ipv4_addr; elements = { 192.0.2.1 } }',
        '  chain input { type filter hook input priority 0; policy accept; ip saddr 192.0.2.2 counter drop; }',
        '}',
        '',
      ].join('\n'));
      await inNetns(lab.executorNs, ['iptables', '-A', 'INPUT', '-s', '192.0.2.99', '-j', 'DROP']);
      await inNetns(lab.executorNs, ['ipset', 'create', 'bystander4', 'hash:ip']);
      const bystanderTable = await inNetns(lab.executorNs, ['nft', '--stateless', 'list', 'table', 'inet', 'bystander']);
      const iptablesBefore = await inNetns(lab.executorNs, ['iptables', '-S']);
      const ip6tablesBefore = await inNetns(lab.executorNs, ['ip6tables', '-S']);
      const rulesetBefore = await inNetns(lab.executorNs, ['nft', '--stateless', 'list', 'ruleset']);

      const nft = await openExecutor('flush-nft', new NftablesBackend({ netns: lab.executorNs }));
      const ipt = await openExecutor('flush-ipt', new IptablesBackend({ netns: lab.executorNs }));
      try {
        await nft.execute(order({ cidr: ATTACKER.v4 }));
        await nft.execute(order({ cidr: ATTACKER.v6 }));
        await ipt.execute(order({ cidr: ATTACKER.v4b }));
        // Setting up again (a restart) adds nothing twice.
        await nft.backend.setup();
        await ipt.backend.setup();
        assert.equal((await inNetns(lab.executorNs, ['iptables', '-S'])).match(/--match-set swarm_soc4 src/g)?.length, 2, 'one rule in INPUT, one in FORWARD');
        assert.equal((await inNetns(lab.executorNs, ['nft', 'list', 'chain', 'inet', 'swarm_soc', 'input'])).match(/ drop/g)?.length, 4, 'one rule per set');
        assert.deepEqual(await nft.flush(), { removed: 2 });
        assert.deepEqual(await ipt.flush(), { removed: 1 });
        assert.deepEqual(await nft.flush(), { removed: 0 }, 'a second flush finds nothing and fails on nothing');
        assert.deepEqual(await ipt.flush(), { removed: 0 });

        assert.equal(await inNetns(lab.executorNs, ['nft', '--stateless', 'list', 'table', 'inet', 'bystander']), bystanderTable);
        assert.equal(await inNetns(lab.executorNs, ['iptables', '-S']), iptablesBefore);
        assert.equal(await inNetns(lab.executorNs, ['ip6tables', '-S']), ip6tablesBefore);
        assert.equal((await inNetns(lab.executorNs, ['ipset', 'list', '-n'])).trim(), 'bystander4');
        assert.equal(await inNetns(lab.executorNs, ['nft', '--stateless', 'list', 'ruleset']), rulesetBefore, 'the whole ruleset is as it was before the executors started');
        assert.doesNotMatch(await inNetns(lab.executorNs, ['nft', 'list', 'tables']), /swarm_soc/);
        await assertPasses(lab, ATTACKER.v4, 'nothing of ours drops traffic any more');
        await assertPasses(lab, ATTACKER.v4b, 'nothing of ours drops traffic any more');
      } finally {
        await nft.close();
        await ipt.close();
        await inNetns(lab.executorNs, ['nft', 'delete', 'table', 'inet', 'bystander']);
        await inNetns(lab.executorNs, ['iptables', '-D', 'INPUT', '-s', '192.0.2.99', '-j', 'DROP']);
        await inNetns(lab.executorNs, ['ipset', 'destroy', 'bystander4']);
      }
    });
  });
});
