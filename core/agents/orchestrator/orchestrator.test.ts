// The orchestrator as the console uses it, fed by the real monitor pipeline (line parser and
// detector engine with the built-in rules) on two edge hosts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnomalyUpdate } from '../monitor/detect/anomaly.ts';
import { createDetectorEngine } from '../monitor/detect/engine.ts';
import { builtInRules } from '../monitor/detect/rules.ts';
import { createLineParser } from '../monitor/parse/line-parser.ts';
import { harness, MINUTE, T0 } from './orchestrator-fixtures.ts';
import { OrchestratorError } from './orchestrator-error.ts';

/** A log monitor on `host`: sshd lines in, anomaly updates out, as its event stream would carry them. */
function edgeMonitor(host: string) {
  const parser = createLineParser();
  const engine = createDetectorEngine(builtInRules());
  let line = 0;
  const stamp = (second: number) => new Date(T0 + second * 1000).toISOString();
  return {
    log(second: number, message: string): AnomalyUpdate[] {
      return parser.push(`${stamp(second)} ${host} ${message}`, ++line).flatMap((event) => [...engine.push(event)]);
    },
    flush: (): AnomalyUpdate[] => [...engine.flush()],
  };
}

test("an analyst's day: two edge hosts, three attackers, one correlated incident approved, applied and remembered across a restart", (t) => {
  const h = harness(t);
  h.executors = ['aws-firewall-executor'];
  const gcp = edgeMonitor('gcp-web-1');
  const aws = edgeMonitor('aws-web-1');
  const updates: Array<[string, AnomalyUpdate[]]> = [];
  // 198.51.100.23 guesses root passwords on both hosts.
  for (let i = 0; i < 8; i++) updates.push(['gcp-log-monitor', gcp.log(i * 5, `sshd[${100 + i}]: Failed password for root from 198.51.100.23 port ${40000 + i} ssh2`)]);
  for (let i = 0; i < 7; i++) updates.push(['aws-log-monitor', aws.log(60 + i * 4, `sshd[${500 + i}]: Failed password for root from 198.51.100.23 port ${41000 + i} ssh2`)]);
  // 203.0.113.45 probes for user names, slowly enough to stay under the brute-force bucket.
  ['admin', 'oracle', 'test', 'ubuntu', 'pi', 'git'].forEach((user, i) => updates.push(['gcp-log-monitor', gcp.log(120 + i * 40, `sshd[${200 + i}]: Invalid user ${user} from 203.0.113.45 port ${42000 + i}`)]));
  // 198.51.100.99 guesses and gets in.
  for (let i = 0; i < 6; i++) updates.push(['aws-log-monitor', aws.log(400 + i, `sshd[${300 + i}]: Failed password for backup from 198.51.100.99 port ${43000 + i} ssh2`)]);
  updates.push(['aws-log-monitor', aws.log(410, 'sshd[400]: Accepted password for backup from 198.51.100.99 port 43100 ssh2')]);
  updates.push(['gcp-log-monitor', gcp.flush()], ['aws-log-monitor', aws.flush()]);
  for (const [agent, batch] of updates) if (batch.length) h.orchestrator.ingestBatch(agent, batch);

  const incidents = h.orchestrator.incidents();
  assert.deepEqual(
    incidents.map((i) => [i.sourceKey, i.agentsTotal, i.severity, i.state]).sort(),
    [
      ['198.51.100.23/32', 2, 'high', 'proposed'],
      ['198.51.100.99/32', 1, 'critical', 'proposed'],
      ['203.0.113.45/32', 1, 'medium', 'open'],
    ],
  );
  const brute = incidents.find((i) => i.sourceKey === '198.51.100.23/32');
  assert.ok(brute);
  assert.equal(brute.count, 15);
  assert.deepEqual([...brute.agents].sort(), ['aws-log-monitor', 'gcp-log-monitor']);
  assert.equal(brute.openAnomalies, 0);
  assert.ok(brute.evidence.some((e) => e.agent === 'aws-log-monitor') && brute.evidence.some((e) => e.agent === 'gcp-log-monitor'));

  const proposals = h.orchestrator.proposals({ status: 'pending' });
  assert.deepEqual(proposals.map((p) => [p.cidr, p.severity]).sort(), [
    ['198.51.100.23/32', 'high'],
    ['198.51.100.99/32', 'critical'],
  ]);
  const forBrute = proposals.find((p) => p.incidentId === brute.id);
  assert.ok(forBrute);
  assert.equal(forBrute.reason, 'auth-brute-force (high): 15 attempts seen by 2 agents; first ban, 1h');

  // The analyst approves the brute force for longer, and rejects nothing else yet.
  const mitigation = h.orchestrator.approve(forBrute.id, 'admin', { ttl: '4h' });
  assert.deepEqual(
    { cidr: mitigation.cidr, ttlSeconds: mitigation.ttlSeconds, targets: mitigation.targets, incidentId: mitigation.incidentId },
    { cidr: '198.51.100.23/32', ttlSeconds: 14_400, targets: ['aws-firewall-executor'], incidentId: brute.id },
  );
  h.orchestrator.markResult(mitigation.requestId, 'applied', { target: 'aws-firewall-executor' });

  // Every change went to listeners too, as JSON the renderer can take.
  const kinds = h.changes.map((c) => `${c.type}:${'event' in c ? c.event : ''}`);
  for (const k of ['incident:opened', 'incident:updated', 'proposal:created', 'proposal:approved', 'proposal:result']) assert.ok(kinds.includes(k), `${k} was emitted`);
  assert.deepEqual(JSON.parse(JSON.stringify(h.changes)), h.changes);

  // The console restarts: incidents, decisions and results are all still there.
  h.restart();
  assert.equal(h.orchestrator.incident(brute.id)?.state, 'mitigated');
  const after = h.orchestrator.proposal(forBrute.id);
  assert.equal(after?.status, 'applied');
  assert.equal(after?.approved?.requestId, mitigation.requestId);
  assert.deepEqual(
    after?.results.map((r) => [r.target, r.result, r.expiresAt]),
    [['aws-firewall-executor', 'applied', h.clock.t + 14_400_000]],
  );
  // The incident goes quiet and closes; its block lapses on schedule.
  h.clock.advance(20 * MINUTE);
  h.orchestrator.sweep();
  assert.equal(h.orchestrator.incident(brute.id)?.state, 'closed');
  assert.equal(
    h.orchestrator.incidents({ state: 'proposed' }).length,
    1,
    'the pending critical one stays open until someone decides',
  );
  h.clock.advance(4 * 60 * MINUTE);
  h.orchestrator.sweep();
  assert.equal(h.orchestrator.proposal(forBrute.id)?.status, 'expired');
  assert.deepEqual(
    h.audit.map((a) => [a.actor, a.action, a.subject]),
    [
      ['admin', 'mitigation.approved', '198.51.100.23/32'],
      ['aws-firewall-executor', 'mitigation.applied', '198.51.100.23/32'],
      ['system', 'mitigation.expired', '198.51.100.23/32'],
    ],
  );
});

test('open() refuses a bad policy with every problem, and a closed orchestrator says so', (t) => {
  const h = harness(t);
  assert.throws(
    () => h.restart({ policy: { correlationWindow: 'soon', autoApprove: [{ rule: 'auth-brute-force' }] } as never }),
    (err: unknown) => err instanceof OrchestratorError && err.code === 'invalid_policy' && /correlationWindow/.test(err.message) && /autoApprove\[0\]\.minSeverity: required/.test(err.message),
  );
  h.restart();
  const o = h.orchestrator;
  o.close();
  assert.throws(() => o.incidents(), (err: unknown) => err instanceof OrchestratorError && err.code === 'closed');
  o.close();
});

test('filters: by state, by source address, by status and incident; unknown filter values are refused', (t) => {
  const { orchestrator } = harness(t);
  orchestrator.ingestBatch('m1', [
    { type: 'opened', anomaly: { ...baseAnomaly('a', '198.51.100.1'), severity: 'high' } },
    { type: 'opened', anomaly: { ...baseAnomaly('b', '198.51.100.2'), severity: 'low' } },
  ]);
  assert.deepEqual(
    orchestrator.incidents({ state: 'proposed' }).map((i) => i.sourceKey),
    ['198.51.100.1/32'],
  );
  assert.deepEqual(
    orchestrator.incidents({ state: ['open', 'closed'] }).map((i) => i.sourceKey),
    ['198.51.100.2/32'],
  );
  assert.deepEqual(orchestrator.incidents({ source: 'not an address!' }), []);
  const [incident] = orchestrator.incidents({ source: '198.51.100.1' });
  assert.equal(orchestrator.proposals({ incidentId: incident?.id ?? '' }).length, 1);
  assert.equal(orchestrator.proposals({ incidentId: 'incident-999' }).length, 0);
  assert.equal(orchestrator.incident('nonsense'), null);
  assert.throws(() => orchestrator.incidents({ state: 'solved' as never }), /unknown incident state "solved"/);
  assert.throws(() => orchestrator.proposals({ status: 'done' as never }), /unknown proposal status "done"/);
});

function baseAnomaly(id: string, sourceIp: string) {
  return {
    id,
    rule: 'auth-brute-force',
    detector: 'brute_force' as const,
    severity: 'high' as const,
    mitre: 'T1110.001',
    sourceIp,
    state: 'open' as const,
    revision: 1,
    count: 6,
    firstSeen: T0,
    lastSeen: T0,
    detectedAt: T0,
    users: { sample: ['root'], total: 1, totalIsLowerBound: false },
    evidence: [],
    evidenceOmitted: 0,
    summary: '',
  };
}
