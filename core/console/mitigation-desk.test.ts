/**
 * The analyst's loop through the console API, against the real lab: a monitor replaying an sshd
 * brute force and a dry-run executor, both real daemons on loopback UDP, real SQLite files.
 * Anomalies → incident → proposal → Approve → signed request → executor applies → decision
 * listed with its expiry → Revoke → lifted; every step in a verifying audit log. Also: reject
 * with a reason, and hostile decision reports from the network.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ConsoleEvent, IncidentDetailView, IncidentsView, ProposalRow } from './api.ts';
import { decisionOfReport } from './mitigation-desk.ts';
import { ConsoleService } from './service.ts';

const ATTACKER = '198.51.100.23';
const EXECUTOR = 'aws-firewall-executor';

function until<T>(service: ConsoleService, check: () => T | null | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const first = check();
    if (first) return resolve(first);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    // Re-checked on every pushed event (incidents, decisions, feed ...), never on a timer.
    const off = service.onEvent((_e: ConsoleEvent) => {
      const value = check();
      if (!value) return;
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

async function labConsole(t: TestContext): Promise<ConsoleService> {
  const root = mkdtempSync(join(tmpdir(), 'swarm-desk-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const service = await ConsoleService.start({ stateDir: join(root, 'console'), lab: 'always' });
  t.after(() => service.close());
  // The analyst approves both lab agents with what they asked for.
  for (const request of service.snapshot().pending) {
    await service.handle({ method: 'approve', params: { peer: request.hostname, capabilities: request.wantCaps as never } });
  }
  return service;
}

async function pendingProposal(service: ConsoleService): Promise<IncidentsView['proposals'][number]> {
  const view = () => service.desk!.incidents();
  await until(service, () => view().executors.includes(EXECUTOR) || null, 'the executor to be trusted with mitigation.request');
  return until(service, () => view().proposals.find((p) => p.status === 'pending' && p.cidr === `${ATTACKER}/32`), `a pending proposal to block ${ATTACKER}`);
}

test('approve → the executor applies → the decision is listed with its expiry → revoke lifts it; the audit chain verifies', async (t) => {
  const service = await labConsole(t);
  const proposal = await pendingProposal(service);
  const incident = (await service.handle({ method: 'incidentDetail', params: { incidentId: proposal.incidentId } })) as IncidentDetailView;
  assert.deepEqual(incident.incident.sources, [ATTACKER]);
  assert.deepEqual(incident.incident.agents, ['gcp-log-monitor']);
  assert.ok(incident.incident.evidence.length > 0 && incident.anomalies.length > 0);

  const outcome = await service.handle({ method: 'approveProposal', params: { proposalId: proposal.id, cidr: null, ttlSeconds: 1800, targets: null } });
  assert.ok('deliveries' in outcome);
  assert.deepEqual(outcome.deliveries.map((d) => [d.executor, d.status]), [[EXECUTOR, 'applied']]);
  const expiresAt = outcome.deliveries[0]!.expiresAt!;
  assert.ok(Math.abs(expiresAt - (Date.now() + 1_800_000)) < 60_000, 'the analyst-edited TTL reached the executor');

  const decisions = (await service.handle({ method: 'decisions', params: {} })) as { decisions: Array<{ executor: string; requestId: string; cidr: string; state: string; expiresAt: number | null }> };
  const row = decisions.decisions.find((d) => d.cidr === `${ATTACKER}/32`);
  assert.ok(row);
  assert.equal(row.state, 'applied');
  assert.equal(row.executor, EXECUTOR);
  // The executor's own store agrees (the lab runs it in this process).
  const proposalAfter = service.desk!.orchestrator.proposal(proposal.id);
  assert.equal(proposalAfter?.status, 'applied');

  const revoked = (await service.handle({ method: 'revokeDecision', params: { executor: row.executor, requestId: row.requestId, reason: 'false positive' } })) as { state: string };
  assert.equal(revoked.state, 'revoked');
  await until(service, () => service.desk!.orchestrator.proposal(proposal.id)?.status === 'revoked' || null, 'the proposal to show the revocation');

  const audit = (await service.handle({ method: 'auditLog', params: { limit: 500 } })) as { entries: Array<{ action: string; actor: string }>; verify: { ok: boolean } };
  assert.equal(audit.verify.ok, true);
  const actions = audit.entries.map((e) => e.action);
  assert.ok(actions.some((a) => /approv/.test(a)), `an approval is audited (${[...new Set(actions)].join(', ')})`);
  assert.ok(audit.entries.some((e) => e.action === 'task.submitted' && e.actor === 'console-analyst'));
  assert.ok(audit.entries.some((e) => e.action === 'task.applied' && e.actor === EXECUTOR));
});

test('reject records the reason and sends nothing; approving it afterwards is refused', async (t) => {
  const service = await labConsole(t);
  const proposal = await pendingProposal(service);
  const rejected = (await service.handle({ method: 'rejectProposal', params: { proposalId: proposal.id, reason: 'our own red team' } })) as ProposalRow;
  assert.equal(rejected.status, 'rejected');
  assert.equal(rejected.decision?.reason, 'our own red team');
  await assert.rejects(service.handle({ method: 'approveProposal', params: { proposalId: proposal.id, cidr: null, ttlSeconds: null, targets: null } }), /rejected/);
  const decisions = (await service.handle({ method: 'decisions', params: {} })) as { decisions: unknown[] };
  assert.deepEqual(decisions.decisions, []);
});

test('decision reports from the network are checked and bounded; the executor name comes from the stream', () => {
  const now = 1_700_000_000_000;
  assert.equal(decisionOfReport('e1', null, now), null);
  assert.equal(decisionOfReport('e1', { result: { status: 'applied' } }, now), null, 'no request id');
  const row = decisionOfReport('e1', { executor: 'someone-else', result: { requestId: 'r'.repeat(500), status: 'applied', cidr: 'x'.repeat(1000), expiresAt: 'soon' }, decision: { requester: 42 } }, now);
  assert.ok(row);
  assert.equal(row.executor, 'e1');
  assert.equal(row.requestId.length, 128);
  assert.equal(row.cidr.length, 64);
  assert.equal(row.expiresAt, null);
  assert.equal(row.requestedBy, '');
});

test('an auto-approval rule in orchestrator.json approves and delivers without a person, audited as such', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'swarm-desk-auto-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const stateDir = join(root, 'console');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'orchestrator.json'), JSON.stringify({ autoApprove: [{ rule: 'auth-brute-force', minSeverity: 'high', maxTtl: '1h' }] }));
  const service = await ConsoleService.start({ stateDir, lab: 'always' });
  t.after(() => service.close());
  for (const request of service.snapshot().pending) {
    await service.handle({ method: 'approve', params: { peer: request.hostname, capabilities: request.wantCaps as never } });
  }
  const decision = await until(
    service,
    () => service.desk!.decisions().find((d) => d.cidr === `${ATTACKER}/32` && d.state === 'applied'),
    'the auto-approved block applied by the lab executor',
  );
  assert.equal(decision.executor, EXECUTOR);
  const audit = (await service.handle({ method: 'auditLog', params: { limit: 500 } })) as { entries: Array<{ action: string; actor: string }>; verify: { ok: boolean } };
  assert.equal(audit.verify.ok, true);
  assert.ok(audit.entries.some((e) => e.action === 'mitigation.auto_approved'), 'the auto-approval is audited as one');
  assert.ok(audit.entries.some((e) => e.action === 'task.submitted' && e.actor === 'auto-approval'));
});

test('a broken orchestrator.json leaves the console running; incident calls say what is wrong', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'swarm-desk-bad-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const stateDir = join(root, 'console');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'orchestrator.json'), JSON.stringify({ autoApprove: [{ rule: '*', minSeverity: 'high' }] }));
  const service = await ConsoleService.start({ stateDir, lab: 'always' });
  t.after(() => service.close());
  assert.equal(service.snapshot().status, 'running');
  await assert.rejects(service.handle({ method: 'incidents', params: {} }), (err: Error & { hint?: string }) => /autoApprove/.test(err.message) && typeof err.hint === 'string' && err.hint.length > 0);
});
