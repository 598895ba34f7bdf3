/**
 * The Incidents, Decisions and Audit views as an analyst uses them, in Chromium against a real
 * `swarmctl console --web`, with the incident/decision/audit answers given by a fake in the
 * page's WebSocket (fake-mitigation-desk.ts): it lets the test choose what the executors answer
 * (a refusal with its policy reason), break the audit chain, and hand the page hostile evidence.
 * The same views against the real lab are in mitigation.spec.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { ConsolePage } from './console-page.ts';
import { startConsole, type RunningConsole } from './console-process.ts';
import { fakeAuditRow, fakeDecision, fakeIncident, fakeProposal, FakeMitigationDesk, type FakeDeskState } from './fake-mitigation-desk.ts';

const AWS = 'aws-firewall-executor';
const GCP = 'gcp-firewall-executor';
const HOSTILE = '<img src=x onerror="document.title=\'pwned\'"> Failed password for <b>root</b>';

let root: string;
let consoleApp: RunningConsole;

test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'swarm-e2e-incidents-ui-'));
  consoleApp = await startConsole(join(root, 'console'), ['--no-lab', '--hostname', 'soc-console']);
});

test.afterAll(async () => {
  await consoleApp?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

function deskState(): FakeDeskState {
  return {
    incidents: [
      fakeIncident(1, '198.51.100.23'),
      fakeIncident(2, '198.51.100.99', { severity: 'critical', rules: [{ rule: 'sshd-success-after-failures', severity: 'critical' }] }),
      fakeIncident(3, '203.0.113.45', { severity: 'medium', state: 'open', proposalId: null, proposalStatus: null, rules: [{ rule: 'sshd-user-enum', severity: 'medium' }] }),
    ],
    proposals: [fakeProposal(1, '198.51.100.23', { previousBans: 2, ttlSeconds: 4 * 3600 }), fakeProposal(2, '198.51.100.99', { targets: [AWS, GCP] })],
    executors: [AWS, GCP],
    decisions: [],
    audit: { entries: [], total: 0, verify: { ok: true, entries: 0, brokenAt: null, problem: null }, node: { hostname: 'soc-console', fingerprint: 'F00D-CAFE-0000-0001' } },
    answers: { [GCP]: { status: 'refused', code: 'policy_allowlist', reason: '198.51.100.0/24 is on the allowlist', expiresAt: null } },
    failures: {},
  };
}

async function openConsole(page: Page, state = deskState()) {
  const desk = await FakeMitigationDesk.install(page, state);
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  return { desk, console };
}

test('incidents are listed newest first with their proposals; evidence from the log is shown as text', async ({ page }, testInfo) => {
  const { console } = await openConsole(page, {
    ...deskState(),
    incidents: [fakeIncident(1, '198.51.100.23', { evidence: [{ agent: 'gcp-log-monitor', rule: 'sshd-brute-force', line: 7, text: HOSTILE }], users: ['<script>alert(1)</script>'] })],
    proposals: [fakeProposal(1, '198.51.100.23', { previousBans: 2, ttlSeconds: 4 * 3600 })],
  });
  await console.openIncidents();
  const row = console.incidentRow('198.51.100.23');
  await expect(row).toContainText('high');
  await expect(row).toContainText('sshd-brute-force');
  await expect(row).toContainText('gcp-log-monitor');
  await expect(row).toContainText('pending');
  await expect(row).toContainText('198.51.100.23/32 for 4 h');
  await expect(row).toContainText('2 earlier bans: TTL escalated');
  await expect(row).toContainText(/\d\d:\d\d:\d\d · (1|2) min ago/);

  await console.openIncident('198.51.100.23');
  await expect(console.incidentEvidence.first()).toContainText(HOSTILE);
  await expect(console.incidentDetails).toContainText('<script>alert(1)</script>');
  await expect(console.incidentDetails.locator('img, b, script')).toHaveCount(0);
  expect(await page.title()).not.toBe('pwned');
  await expect(console.correlatedAnomalies).toContainText('14 failed SSH logins from 198.51.100.23');
  await console.screenshot(testInfo, '30-incident-detail');
});

test('Reject needs a reason, and sends it', async ({ page }, testInfo) => {
  const { desk, console } = await openConsole(page);
  await console.openIncidents();
  await console.openIncident('198.51.100.99');
  await console.proposal.getByRole('button', { name: 'Reject', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Reject block of 198.51.100.99/32' });
  const confirm = dialog.getByRole('button', { name: 'Reject', exact: true });
  await expect(confirm).toBeDisabled();
  await expect(dialog).toContainText('Required');
  // An analyst clicking the greyed-out button anyway: nothing is sent, the dialog stays.
  await confirm.click({ force: true });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('textbox', { name: 'Reason' }).fill('   ');
  await expect(confirm).toBeDisabled();
  expect(desk.callsOf('rejectProposal')).toEqual([]);
  await console.screenshot(testInfo, '31-reject-needs-reason');

  await dialog.getByRole('textbox', { name: 'Reason' }).fill('our own red team, ticket SEC-1234');
  await confirm.click();
  await expect(dialog).toBeHidden();
  expect(desk.callsOf('rejectProposal')).toEqual([{ proposalId: 'proposal-2', reason: 'our own red team, ticket SEC-1234' }]);
  await expect(console.proposal).toContainText('rejected');
  await expect(console.proposal).toContainText('reason: “our own red team, ticket SEC-1234”');
  await expect(console.proposal.getByRole('button', { name: 'Approve', exact: true })).toHaveCount(0);
  await expect(console.incidentRow('198.51.100.99')).toContainText('rejected');
});

test('Edit changes the TTL and approves; only the change is sent, and each executor answer is shown', async ({ page }, testInfo) => {
  const { desk, console } = await openConsole(page);
  await console.openIncidents();
  await console.openIncident('198.51.100.99');
  await console.proposal.getByRole('button', { name: 'Edit', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit block of 198.51.100.99/32' });
  await expect(dialog.getByRole('spinbutton', { name: 'Block for' })).toHaveValue('1');
  await expect(dialog.getByRole('combobox', { name: 'Unit' })).toHaveValue('hours');
  await expect(dialog.getByRole('checkbox', { name: AWS })).toBeChecked();
  await expect(dialog.getByRole('checkbox', { name: GCP })).toBeChecked();
  // A TTL outside what a block may last is refused in the dialog, before anything is sent.
  await dialog.getByRole('spinbutton', { name: 'Block for' }).fill('90');
  await dialog.getByRole('combobox', { name: 'Unit' }).selectOption('days');
  await dialog.getByRole('button', { name: 'Approve edited block' }).click();
  await expect(dialog.getByText('A block lasts from 1 min to 30 d.')).toBeVisible();
  expect(desk.callsOf('approveProposal')).toEqual([]);
  await console.screenshot(testInfo, '32-edit-invalid-ttl');

  await dialog.getByRole('spinbutton', { name: 'Block for' }).fill('2');
  await dialog.getByRole('combobox', { name: 'Unit' }).selectOption('hours');
  await dialog.getByRole('button', { name: 'Approve edited block' }).click();
  await expect(dialog).toBeHidden();
  expect(desk.callsOf('approveProposal')).toEqual([{ proposalId: 'proposal-2', cidr: null, ttlSeconds: 7200, targets: null }]);
  await expect(console.proposal).toContainText('edited: TTL 2 h');
  await expect(console.executorResult(AWS)).toContainText('applied');
  await expect(console.executorResult(GCP)).toContainText('refused');
  await expect(console.executorResult(GCP)).toContainText('198.51.100.0/24 is on the allowlist');
  await console.screenshot(testInfo, '33-edit-approved-results');

  // The edit dialog through the page object: a shorter block, on a second executor too.
  await console.editAndApproveProposalFor('198.51.100.23', { ttl: { amount: 30, unit: 'minutes' }, executors: [AWS, GCP] });
  expect(desk.callsOf('approveProposal').at(-1)).toEqual({ proposalId: 'proposal-1', cidr: null, ttlSeconds: 1800, targets: [AWS, GCP] });
  await expect(console.proposal).toContainText(`edited: TTL 30 min, executors ${AWS}, ${GCP}`);
});

test('a failed approval says what happened and what to do, and the proposal stays pending', async ({ page }) => {
  const state = deskState();
  state.failures.approveProposal = { code: 'no_executor', message: 'no trusted executor granted this console mitigation.request', hint: 'approve an executor on the Console view first' };
  const { console } = await openConsole(page, state);
  await console.openIncidents();
  await console.approveProposalFor('198.51.100.23');
  const alert = console.proposal.getByRole('alert');
  await expect(alert).toContainText('no trusted executor granted this console mitigation.request');
  await expect(alert).toContainText('approve an executor on the Console view first');
  await expect(console.proposal.getByRole('button', { name: 'Approve', exact: true })).toBeVisible();
});

test('active blocks count down live, revoke moves one to the ended list, and a pushed change lands', async ({ page }, testInfo) => {
  const state = deskState();
  state.decisions = [
    fakeDecision(AWS, 'req-1', '198.51.100.23/32'),
    fakeDecision(AWS, 'req-0', '192.0.2.66/32', { state: 'expired', expiresAt: Date.now() - 1000, updatedAt: Date.now() - 1000 }),
  ];
  const { desk, console } = await openConsole(page, state);
  await console.openDecisions();
  const row = console.decisionRow('198.51.100.23/32');
  await expect(row).toContainText(AWS);
  await expect(row).toContainText('incident-1');
  await expect(console.endedDecisionRow('192.0.2.66/32')).toContainText('expired');
  await expect(console.decisionRow('192.0.2.66/32')).toHaveCount(0);
  const first = await console.remainingTtlSeconds('198.51.100.23/32');
  expect(first).toBeGreaterThan(3500);
  await expect.poll(() => console.remainingTtlSeconds('198.51.100.23/32'), { message: 'the countdown ticks' }).toBeLessThan(first);
  await console.screenshot(testInfo, '34-decisions-active');

  desk.push({ type: 'decisions', upsert: [fakeDecision(GCP, 'req-7', '203.0.113.7/32', { appliedAt: Date.now(), updatedAt: Date.now() })] });
  await expect(console.decisionRow('203.0.113.7/32')).toContainText(GCP);

  await console.revokeDecision('198.51.100.23/32', 'false positive: our monitoring host');
  expect(desk.callsOf('revokeDecision')).toEqual([{ executor: AWS, requestId: 'req-1', reason: 'false positive: our monitoring host' }]);
  await expect(console.decisionRow('198.51.100.23/32')).toHaveCount(0);
  await expect(console.endedDecisionRow('198.51.100.23/32')).toContainText('revoked');
});

test('the audit view says whether the chain verifies, and re-reads the log when it grows', async ({ page }, testInfo) => {
  const state = deskState();
  state.audit = {
    entries: [fakeAuditRow(2, 'mitigation.approved', '198.51.100.23/32', { proposalId: 'proposal-1', ttlSeconds: 3600, note: '<b>bold</b>' }), fakeAuditRow(1, 'handshake.approved', 'aws-firewall-executor')],
    total: 2,
    verify: { ok: true, entries: 2, brokenAt: null, problem: null },
    node: { hostname: 'soc-console', fingerprint: 'F00D-CAFE-0000-0001' },
  };
  const { desk, console } = await openConsole(page, state);
  await console.openAudit();
  await expect(console.auditVerdict).toHaveText('✓ hash chain verifies (2 entries)');
  const approved = console.auditEntry('mitigation.approved');
  await expect(approved).toContainText('198.51.100.23/32');
  await expect(approved).toContainText('{"proposalId":"proposal-1","ttlSeconds":3600,"note":"<b>bold</b>"}');
  await expect(approved).toContainText('000000029e9e');
  await expect(approved).toContainText(/\d\d:\d\d:\d\d · (\d+ (s|min) ago|just now)/);

  state.audit = {
    ...state.audit,
    entries: [fakeAuditRow(3, 'mitigation.revoked', '198.51.100.23/32'), ...state.audit.entries],
    total: 3,
    verify: { ok: false, entries: 3, brokenAt: 2, problem: 'hash does not match the entry' },
  };
  desk.push({ type: 'audit', entries: 3 });
  await expect(console.auditEntry('mitigation.revoked')).toBeVisible();
  await expect(console.auditVerdict).toContainText('BROKEN at entry 2: hash does not match the entry');
  await expect(page.getByRole('alert').filter({ hasText: 'BROKEN' })).toBeVisible();
  await console.screenshot(testInfo, '35-audit-broken');
});
