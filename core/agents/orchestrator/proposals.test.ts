import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OrchestratorError } from './orchestrator-error.ts';
import { closed, harness, HOUR, MINUTE, opened, updated, type Harness } from './orchestrator-fixtures.ts';
import { DEFAULT_POLICY, parsePolicy } from './policy.ts';
import { approvedStatus, escalatedTtlSeconds, targetTransition } from './proposals.ts';
import type { ProposalView } from './views.ts';

/** One pending proposal, from a high brute force by `ip`. */
function proposeFor(h: Harness, ip = '198.51.100.23', id = `bf-${ip}-${h.clock.t}`): ProposalView {
  h.orchestrator.ingest('gcp-log-monitor', opened({ id, sourceIp: ip, severity: 'high', count: 9 }));
  const [proposal] = h.orchestrator.proposals({ status: 'pending' });
  assert.ok(proposal, 'a high brute force is proposed for a block');
  return proposal;
}

/** Throws an OrchestratorError with this code whose message matches. */
function assertRefused(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OrchestratorError, `expected an OrchestratorError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    assert.ok(err.hint.length > 0, 'every refusal says what to do');
    return true;
  });
}

test('a high brute force gets a proposal: block the /32 for the base TTL on the known executors, with a reason', (t) => {
  const h = harness(t);
  h.executors = ['aws-firewall-executor', 'gcp-firewall-executor'];
  const changes = h.orchestrator.ingest('gcp-log-monitor', opened({ severity: 'high', count: 9 }));
  const created = changes.find((c) => c.type === 'proposal');
  assert.ok(created && created.type === 'proposal' && created.event === 'created');
  const p = created.proposal;
  assert.equal(p.status, 'pending');
  assert.equal(p.action, 'block');
  assert.equal(p.cidr, '198.51.100.23/32');
  assert.equal(p.ttlSeconds, 3600);
  assert.equal(p.previousBans, 0);
  assert.deepEqual(p.targets, ['aws-firewall-executor', 'gcp-firewall-executor']);
  assert.equal(p.reason, 'auth-brute-force (high): 9 attempts seen by 1 agent (gcp-log-monitor); first ban, 1h');
  assert.equal(p.enrichment.status, 'off');
  const incident = h.orchestrator.incident(p.incidentId);
  assert.equal(incident?.state, 'proposed');
  assert.equal(incident?.proposalId, p.id);
  // Further updates of the same incident do not raise a second proposal while one is pending.
  h.orchestrator.ingest('gcp-log-monitor', updated({ severity: 'critical', count: 40 }));
  assert.equal(h.orchestrator.proposals().length, 1);
});

test('a pending proposal follows its incident: worse severity, more rules, an IPv6 source hopping inside its /64', (t) => {
  const h = harness(t);
  h.orchestrator.ingest('m1', opened({ id: 'bf', sourceIp: '2001:db8:5:6::1', severity: 'high' }));
  const [first] = h.orchestrator.proposals();
  assert.equal(first?.cidr, '2001:db8:5:6::1/128');
  const changes = h.orchestrator.ingest('m2', opened({ id: 'win', rule: 'success-after-failures', severity: 'critical', sourceIp: '2001:db8:5:6::beef', mitre: 'T1078' }));
  const update = changes.find((c) => c.type === 'proposal');
  assert.ok(update?.type === 'proposal' && update.event === 'updated');
  assert.equal(update.proposal.id, first?.id);
  assert.equal(update.proposal.cidr, '2001:db8:5:6::/64');
  assert.equal(update.proposal.severity, 'critical');
  assert.deepEqual(update.proposal.triggerRules, ['success-after-failures', 'auth-brute-force']);
  assert.equal(update.proposal.ttlSeconds, first?.ttlSeconds);
  assert.match(update.proposal.reason, /^success-after-failures \(critical\), auth-brute-force \(high\): 12 attempts seen by 2 agents/);
  assert.equal(h.orchestrator.proposals().length, 1);
});

test('no proposal below the threshold; per-rule thresholds and minCount are honoured', (t) => {
  const h = harness(t);
  h.orchestrator.ingest('m1', opened({ id: 'enum', rule: 'user-enumeration', severity: 'medium', sourceIp: '203.0.113.45' }));
  h.orchestrator.ingest('m1', opened({ id: 'scan', rule: 'port-scan', severity: 'low', sourceIp: '192.0.2.77' }));
  assert.deepEqual(h.orchestrator.proposals(), []);
  assert.deepEqual(
    h.orchestrator.incidents().map((i) => i.state),
    ['open', 'open'],
  );

  const strict = harness(t, { policy: { thresholds: { minSeverity: 'critical', minCount: 10, rules: { 'user-enumeration': 'medium', 'auth-brute-force': 'never' } } } });
  strict.orchestrator.ingest('m1', opened({ id: 'bf', rule: 'auth-brute-force', severity: 'critical', count: 50, sourceIp: '198.51.100.1' }));
  strict.orchestrator.ingest('m1', opened({ id: 'enum-few', rule: 'user-enumeration', severity: 'medium', count: 5, sourceIp: '198.51.100.2' }));
  assert.deepEqual(strict.orchestrator.proposals(), [], "'never' and minCount hold proposals back");
  strict.orchestrator.ingest('m1', updated({ id: 'enum-few', rule: 'user-enumeration', severity: 'medium', count: 12, sourceIp: '198.51.100.2' }));
  assert.deepEqual(
    strict.orchestrator.proposals().map((p) => [p.cidr, p.triggerRules]),
    [['198.51.100.2/32', ['user-enumeration']]],
  );
});

test('escalation: 1st ban 1h, 2nd 2h, 3rd 4h … capped at the maximum, remembered across a restart of the store', (t) => {
  const h = harness(t, { policy: { escalation: { baseTtl: '1h', factor: 2, maxTtl: '6h' } } });
  const ttls: number[] = [];
  for (let offense = 0; offense < 5; offense++) {
    const p = proposeFor(h, '198.51.100.23', `bf-${offense}`);
    ttls.push(p.ttlSeconds);
    assert.equal(p.previousBans, offense);
    const m = h.orchestrator.approve(p.id, 'admin');
    h.orchestrator.markResult(m.requestId, 'applied');
    // The attacker gives up, the block runs out, the incident closes; the console restarts.
    h.orchestrator.ingest('gcp-log-monitor', closed({ id: `bf-${offense}`, revision: 9 }));
    h.clock.advance(p.ttlSeconds * 1000 + 20 * MINUTE);
    h.orchestrator.sweep();
    assert.equal(h.orchestrator.incident(p.incidentId)?.state, 'closed');
    h.restart();
  }
  assert.deepEqual(ttls, [3600, 7200, 14400, 21600, 21600]);
  assert.equal(
    h.orchestrator.proposals({ status: 'expired' }).length,
    5,
    'the sweep marks blocks expired once their TTL ran out',
  );
  // Another source starts at the base TTL again.
  assert.equal(proposeFor(h, '198.51.100.99').ttlSeconds, 3600);
});

test('escalation formula: base × factor^previousBans, capped; bans older than forgetAfter no longer count', (t) => {
  const e = DEFAULT_POLICY.escalation;
  assert.deepEqual(
    [0, 1, 2, 3, 7, 8, 1000].map((n) => escalatedTtlSeconds(n, e)),
    [3600, 7200, 14400, 28800, 460800, 604800, 604800],
  );
  const h = harness(t, { policy: { escalation: { forgetAfter: '7d' } } });
  h.orchestrator.approve(proposeFor(h).id, 'admin');
  h.clock.advance(2 * HOUR);
  h.orchestrator.sweep();
  h.clock.advance(8 * 24 * HOUR);
  h.orchestrator.sweep();
  assert.equal(proposeFor(h).previousBans, 0);
});

test('a ban no executor applied does not count toward escalation', (t) => {
  const h = harness(t);
  const first = proposeFor(h, '198.51.100.23', 'first-episode');
  const m = h.orchestrator.approve(first.id, 'admin');
  const refused = h.orchestrator.markResult(m.requestId, 'refused', { detail: 'inside the allowlist 198.51.100.0/24' });
  assert.equal(refused.status, 'refused');
  assert.equal(h.orchestrator.incident(first.incidentId)?.state, 'open');
  // More of the same is not asked again: the executors refused it.
  h.orchestrator.ingest('gcp-log-monitor', updated({ id: 'first-episode', severity: 'high', count: 20 }));
  assert.equal(h.orchestrator.proposals().length, 1);
  h.orchestrator.ingest('gcp-log-monitor', closed({ id: 'first-episode', count: 20 }));
  h.clock.advance(HOUR);
  h.orchestrator.sweep();
  const second = proposeFor(h, '198.51.100.23', 'another-episode');
  assert.equal(second.previousBans, 0);
});

test('approve with edits: the mitigation carries the edited CIDR, TTL and targets, and the decision is recorded and audited', (t) => {
  const h = harness(t);
  h.executors = ['aws-firewall-executor', 'gcp-firewall-executor'];
  const p = proposeFor(h);
  const m = h.orchestrator.approve(p.id, 'admin', { cidr: '198.51.100.0/24', ttl: '6h', targets: ['gcp-firewall-executor'] });
  assert.equal(m.proposalId, p.id);
  assert.equal(m.incidentId, p.incidentId);
  assert.match(m.requestId, /^[0-9a-f-]{36}$/);
  assert.match(m.incidentId, /^[A-Za-z0-9_-]{8,64}$/, 'incident ids fit the task wire');
  assert.deepEqual(
    { action: m.action, cidr: m.cidr, ttlSeconds: m.ttlSeconds, targets: m.targets, approvedBy: m.approvedBy, auto: m.auto, reason: m.reason },
    { action: 'block', cidr: '198.51.100.0/24', ttlSeconds: 21600, targets: ['gcp-firewall-executor'], approvedBy: 'admin', auto: false, reason: p.reason },
  );
  const view = h.orchestrator.proposal(p.id);
  assert.equal(view?.status, 'approved');
  assert.equal(view?.decision?.by, 'admin');
  assert.equal(view?.decision?.at, h.clock.t);
  assert.deepEqual(view?.decision?.edited, { cidr: '198.51.100.0/24', ttlSeconds: 21600, targets: ['gcp-firewall-executor'] });
  assert.equal(view?.approved?.requestId, m.requestId);
  assert.equal(h.orchestrator.incident(p.incidentId)?.state, 'mitigated');
  assert.deepEqual(h.audit.map((a) => [a.actor, a.action, a.subject]), [['admin', 'mitigation.approved', '198.51.100.0/24']]);
  assert.equal(h.audit[0]?.details.request_id, m.requestId);
  assert.ok(JSON.parse(JSON.stringify(view)), 'views are JSON');
});

test('approval edits that make no sense are refused with a clear error and change nothing', (t) => {
  const h = harness(t);
  const p = proposeFor(h);
  assertRefused(() => h.orchestrator.approve(p.id, 'admin', { cidr: '198.51.100.23/24' }), 'invalid_input', /host bits set; did you mean 198\.51\.100\.0\/24\?/);
  assertRefused(() => h.orchestrator.approve(p.id, 'admin', { cidr: 'evil; rm -rf /' }), 'invalid_input', /not an IP address/);
  assertRefused(() => h.orchestrator.approve(p.id, 'admin', { cidr: '0.0.0.0/0' }), 'invalid_input', /every address/);
  assertRefused(() => h.orchestrator.approve(p.id, 'admin', { ttl: '90d' }), 'invalid_input', /longer than the policy allows \(4w 2d\)/);
  assertRefused(() => h.orchestrator.approve(p.id, 'admin', { ttl: 'soon' }), 'invalid_input', /not a duration/);
  assertRefused(() => h.orchestrator.approve(p.id, 'admin', { targets: ['aws-firewall-executor', 'stranger'] }), 'invalid_input', /"stranger" is not a known executor/);
  assertRefused(() => h.orchestrator.approve(p.id, 'admin', { targets: [] }), 'no_targets', /at least one target/);
  assertRefused(() => h.orchestrator.approve(p.id, 'admin', { ttl: '1h', until: 'forever' } as never), 'invalid_input', /unknown approval edit "until"/);
  assertRefused(() => h.orchestrator.approve(p.id, ''), 'invalid_input', /who decides/);
  h.executors = [];
  assertRefused(() => h.orchestrator.approve(p.id, 'admin'), 'no_targets', /no executor/);
  assert.equal(h.orchestrator.proposal(p.id)?.status, 'pending');
  assert.deepEqual(h.audit, []);
});

test('state machine: reject records who, when and why; invalid transitions are refused with a clear error', (t) => {
  const h = harness(t);
  const p = proposeFor(h);
  assertRefused(() => h.orchestrator.reject(p.id, 'admin', '  '), 'invalid_input', /needs a reason/);
  const rejected = h.orchestrator.reject(p.id, 'alice', 'partner NAT address');
  assert.equal(rejected.status, 'rejected');
  assert.deepEqual(
    { kind: rejected.decision?.kind, by: rejected.decision?.by, at: rejected.decision?.at, reason: rejected.decision?.reason },
    { kind: 'rejected', by: 'alice', at: h.clock.t, reason: 'partner NAT address' },
  );
  assert.equal(h.orchestrator.incident(p.incidentId)?.state, 'rejected');
  assertRefused(() => h.orchestrator.approve(p.id, 'admin'), 'invalid_transition', /is rejected by alice, not pending/);
  assertRefused(() => h.orchestrator.reject(p.id, 'admin', 'again'), 'invalid_transition', /is rejected by alice, not pending/);
  assertRefused(() => h.orchestrator.approve('proposal-999', 'admin'), 'not_found', /no proposal "proposal-999"/);
  assertRefused(() => h.orchestrator.markResult('no-such-request', 'applied'), 'not_found', /no approved mitigation has request id/);
  assert.deepEqual(h.audit.map((a) => [a.actor, a.action]), [['alice', 'mitigation.rejected']]);

  // Same severity again: the rejection stands. Worse: a new proposal asks again.
  h.orchestrator.ingest('gcp-log-monitor', opened({ id: 'more', severity: 'high', count: 3 }));
  assert.equal(h.orchestrator.proposals().length, 1);
  h.orchestrator.ingest('gcp-log-monitor', opened({ id: 'worse', rule: 'success-after-failures', severity: 'critical', count: 6, mitre: 'T1078' }));
  const [latest] = h.orchestrator.proposals();
  assert.equal(latest?.status, 'pending');
  assert.equal(latest?.severity, 'critical');
  assert.notEqual(latest?.id, p.id);
});

test('executor results: per-target transitions, repeated reports are idempotent, impossible ones refused', (t) => {
  const h = harness(t);
  h.executors = ['fw-a', 'fw-b'];
  const p = proposeFor(h);
  const m = h.orchestrator.approve(p.id, 'admin');
  assert.equal(h.orchestrator.markResult(m.requestId, 'applied', { target: 'fw-a', expiresAt: h.clock.t + 3_600_000 }).status, 'applied');
  assert.equal(h.orchestrator.markResult(m.requestId, 'failed', { target: 'fw-b', detail: 'nft: no such table' }).status, 'applied');
  const auditsBefore = h.audit.length;
  h.orchestrator.markResult(m.requestId, 'applied', { target: 'fw-a' });
  assert.equal(h.audit.length, auditsBefore, 'a repeated report changes nothing');
  assertRefused(() => h.orchestrator.markResult(m.requestId, 'refused', { target: 'fw-a' }), 'invalid_transition', /on fw-a is applied: it cannot become refused/);
  assertRefused(() => h.orchestrator.markResult(m.requestId, 'applied', { target: 'fw-z' }), 'invalid_input', /not a target/);
  assertRefused(() => h.orchestrator.markResult(m.requestId, 'exploded' as never), 'invalid_input', /unknown mitigation result/);
  // A retry on fw-b works; then both are revoked.
  h.orchestrator.markResult(m.requestId, 'applied', { target: 'fw-b' });
  const revoked = h.orchestrator.markResult(m.requestId, 'revoked', { detail: 'analyst lifted the block' });
  assert.equal(revoked.status, 'revoked');
  assert.deepEqual(
    revoked.results.map((r) => [r.target, r.result]),
    [
      ['fw-a', 'revoked'],
      ['fw-b', 'revoked'],
    ],
  );
  assertRefused(() => h.orchestrator.markResult(m.requestId, 'applied'), 'invalid_transition', /is revoked: it cannot become applied/);
  assert.deepEqual(
    h.audit.map((a) => [a.actor, a.action]),
    [
      ['admin', 'mitigation.approved'],
      ['fw-a', 'mitigation.applied'],
      ['fw-b', 'mitigation.failed'],
      ['fw-b', 'mitigation.applied'],
      ['fw-a', 'mitigation.revoked'],
      ['fw-b', 'mitigation.revoked'],
    ],
  );
  // After a revocation, renewed activity is proposed again (and escalated: the ban counted).
  h.orchestrator.ingest('gcp-log-monitor', opened({ id: 'back-again', severity: 'high' }));
  const [again] = h.orchestrator.proposals({ status: 'pending' });
  assert.equal(again?.previousBans, 1);
  assert.equal(again?.ttlSeconds, 7200);
});

test('auto-approval is off by default: a matching incident waits for a person', (t) => {
  const h = harness(t);
  const changes = h.orchestrator.ingest('gcp-log-monitor', opened({ severity: 'critical', count: 100 }));
  assert.ok(!changes.some((c) => c.type === 'auto_approved'));
  assert.equal(h.orchestrator.proposals()[0]?.status, 'pending');
  assert.deepEqual(h.audit, []);
});

test('auto-approval only with a matching policy rule, returned with its audit record and audited', (t) => {
  const h = harness(t, { policy: { autoApprove: [{ rule: 'auth-brute-force', minSeverity: 'high', maxTtl: '1h' }] } });
  // Not the rule: waits.
  h.orchestrator.ingest('m1', opened({ id: 'enum', rule: 'success-after-failures', severity: 'critical', sourceIp: '203.0.113.9' }));
  // The rule, but below its severity: waits.
  h.orchestrator.ingest('m1', opened({ id: 'med', rule: 'auth-brute-force', severity: 'medium', sourceIp: '203.0.113.10' }));
  assert.equal(h.audit.length, 0);
  // The rule at its severity: approved by the system.
  const changes = h.orchestrator.ingest('m1', opened({ id: 'bf', rule: 'auth-brute-force', severity: 'high', sourceIp: '203.0.113.11' }));
  const auto = changes.find((c) => c.type === 'auto_approved');
  assert.ok(auto && auto.type === 'auto_approved');
  assert.equal(auto.mitigation.auto, true);
  assert.equal(auto.mitigation.cidr, '203.0.113.11/32');
  assert.equal(auto.mitigation.approvedBy, 'system');
  assert.deepEqual(auto.mitigation.targets, ['aws-firewall-executor']);
  assert.equal(auto.proposal.status, 'approved');
  assert.deepEqual(auto.proposal.decision?.policyRule, { rule: 'auth-brute-force', minSeverity: 'high', maxTtlSeconds: 3600 });
  assert.deepEqual(
    { actor: auto.audit.actor, action: auto.audit.action, subject: auto.audit.subject },
    { actor: 'system', action: 'mitigation.auto_approved', subject: '203.0.113.11/32' },
  );
  assert.deepEqual(auto.audit.details.policy_rule, { rule: 'auth-brute-force', min_severity: 'high', max_ttl_seconds: 3600 });
  assert.deepEqual(h.audit, [auto.audit], 'the audit callback got the same record');
  assert.deepEqual(
    h.orchestrator.proposals({ status: 'pending' }).map((p) => p.cidr),
    ['203.0.113.9/32'],
    'the critical one from another rule still waits for a person',
  );
  // A repeat offender's escalated TTL exceeds the rule's maxTtl: a person decides.
  h.orchestrator.markResult(auto.mitigation.requestId, 'expired');
  const again = h.orchestrator.ingest('m1', opened({ id: 'bf2', rule: 'auth-brute-force', severity: 'high', sourceIp: '203.0.113.11' }));
  assert.ok(!again.some((c) => c.type === 'auto_approved'));
  assert.equal(h.orchestrator.proposals({ status: 'pending' }).find((p) => p.cidr === '203.0.113.11/32')?.ttlSeconds, 7200);
});

test('an auto-approval whose audit append fails is undone and left for a person; the anomalies are kept', (t) => {
  const logs: string[] = [];
  const h = harness(t, {
    policy: { autoApprove: [{ rule: 'auth-brute-force', minSeverity: 'high', maxTtl: '1h' }] },
    audit: () => {
      throw new Error('audit log is read-only');
    },
    log: (line) => logs.push(line),
  });
  const changes = h.orchestrator.ingest('m1', opened({ severity: 'high' }));
  assert.ok(!changes.some((c) => c.type === 'auto_approved'));
  assert.equal(h.orchestrator.proposals()[0]?.status, 'pending');
  assert.equal(h.orchestrator.incidents()[0]?.anomalies, 1);
  assert.match(logs.join('\n'), /auto-approval of proposal-1 was not recorded \(audit log is read-only\)/);
});

test('policy: unknown fields, wildcards and incomplete auto-approval rules are refused with every problem listed', () => {
  const parsed = parsePolicy({
    correlationWindow: '10 minutes',
    thresholds: { minSeverty: 'low' },
    escalation: { factor: 0.5 },
    autoApprove: [{ rule: '*', minSeverity: 'high', maxTtl: '1h' }, { rule: 'auth-brute-force' }],
  });
  assert.ok(!parsed.ok);
  assert.deepEqual(parsed.errors, [
    'policy.correlationWindow: "10 minutes" is not a duration (write e.g. 90s, 15m, 1h30m, 7d, 2w)',
    'policy.thresholds: unknown field "minSeverty" (fields: minSeverity, minCount, rules)',
    'policy.escalation.factor: must be a number from 1 to 100, got 0.5',
    'policy.autoApprove[0].rule: required, an exact rule name (letters, digits, . _ -; no wildcards), got "*"',
    'policy.autoApprove[1].minSeverity: required (low, medium, high, critical)',
    'policy.autoApprove[1].maxTtl: required, e.g. "1h"',
  ]);
  assert.deepEqual(parsePolicy(undefined), { ok: true, policy: DEFAULT_POLICY });
  assert.deepEqual(DEFAULT_POLICY.autoApprove, []);
});

test('pure transitions: target results and the approved status they add up to', () => {
  assert.equal(targetTransition(null, 'applied'), 'change');
  assert.equal(targetTransition('applied', 'applied'), 'same');
  assert.equal(targetTransition('applied', 'expired'), 'change');
  assert.equal(targetTransition('applied', 'failed'), 'invalid');
  assert.equal(targetTransition('refused', 'applied'), 'invalid');
  assert.equal(targetTransition('expired', 'revoked'), 'invalid');
  assert.equal(approvedStatus(['a', 'b'], {}), 'approved');
  assert.equal(approvedStatus(['a', 'b'], { a: 'refused' }), 'approved');
  assert.equal(approvedStatus(['a', 'b'], { a: 'refused', b: 'failed' }), 'failed');
  assert.equal(approvedStatus(['a', 'b'], { a: 'expired', b: 'applied' }), 'applied');
  assert.equal(approvedStatus(['a', 'b'], { a: 'expired', b: 'refused' }), 'expired');
});
