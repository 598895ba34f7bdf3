/**
 * The mitigation loop of the lab, for real, as an analyst clicks through it: `swarmctl console
 * --web` starts its local lab (a monitor replaying an sshd log, a dry-run firewall executor); the
 * analyst trusts both in the GUI; the monitor's brute force from 198.51.100.23 becomes an incident
 * with a pending block proposal; one click approves it, the console signs the block and sends it
 * to aws-firewall-executor over the overlay's task port (1003), which applies it; Decisions shows
 * the block counting down; Revoke lifts it; the audit log's hash chain verifies and lists the
 * approval. The lab's second attacker (a guess that succeeded, from 198.51.100.99) is rejected
 * with a reason. No seeding and no injected frames: every part is the product's own.
 */
import { expect, test } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsolePage } from './console-page.ts';
import { startConsole, type RunningConsole } from './console-process.ts';

const MONITOR = 'gcp-log-monitor';
const EXECUTOR = 'aws-firewall-executor';
const ATTACKER = '198.51.100.23';
const BLOCK = `${ATTACKER}/32`;
const LUCKY_GUESSER = '198.51.100.99';
/** The replay reaches the brute force within seconds; detection, correlation and a proposal follow. */
const LAB_DETECTION_MS = 60_000;

let root: string;
let consoleApp: RunningConsole;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'swarm-e2e-mitigation-'));
  consoleApp = await startConsole(join(root, 'console'), ['--lab']);
});

test.afterAll(async () => {
  await consoleApp?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('a brute force from the lab is blocked with one click, counts down, is revoked, and the audit chain verifies', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  // The executor first: a proposal targets the executors the console trusts when it is made.
  await expect(console.pendingRequest(EXECUTOR)).toContainText('mitigation.request');
  await console.approveHandshake(EXECUTOR, ['events.publish']);
  await console.approveHandshake(MONITOR, ['events.publish']);
  await expect(console.peerRow(EXECUTOR)).toContainText('trusted');

  await console.openIncidents();
  const incident = console.incidentRow(ATTACKER);
  await expect(incident).toContainText('pending', { timeout: LAB_DETECTION_MS });
  await expect(incident).toContainText(MONITOR);
  await expect(incident).toContainText(BLOCK);
  await expect(incident).toContainText(EXECUTOR);
  await console.openIncident(ATTACKER);
  await expect(console.incidentEvidence.filter({ hasText: `Failed password for root from ${ATTACKER}` }).first()).toBeVisible();
  await expect(console.correlatedAnomalies.getByRole('row').nth(1)).toContainText(MONITOR);
  await console.screenshot(testInfo, '40-lab-incident-pending');

  await console.approveProposalFor(ATTACKER);
  await expect(console.executorResult(EXECUTOR)).toContainText('applied', { timeout: 30_000 });
  await expect(console.proposal).toContainText(/Approved by/);
  await console.screenshot(testInfo, '41-lab-block-applied');

  await console.openDecisions();
  const block = console.decisionRow(BLOCK);
  await expect(block).toContainText(EXECUTOR);
  await expect(block).toContainText('applied');
  const firstReading = await console.remainingTtlSeconds(BLOCK);
  expect(firstReading).toBeGreaterThan(0);
  await expect.poll(() => console.remainingTtlSeconds(BLOCK), { message: 'the remaining TTL counts down' }).toBeLessThan(firstReading);
  await console.screenshot(testInfo, '42-lab-decision-counting-down');

  await console.revokeDecision(BLOCK, 'lab walkthrough: lifting the block');
  await expect(console.decisionRow(BLOCK)).toHaveCount(0);
  await expect(console.endedDecisionRow(BLOCK).first()).toContainText('revoked');
  await console.screenshot(testInfo, '43-lab-decision-revoked');

  await console.openAudit();
  await expect(console.auditVerdict).toHaveText(/hash chain verifies \(\d+ entries\)/);
  await expect(console.auditEntry('mitigation.approved').first()).toContainText(BLOCK);
  await console.screenshot(testInfo, '44-lab-audit');
});

test('the lucky guess from the lab is rejected with a reason, which the audit log keeps', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.openIncidents();
  await expect(console.incidentRow(LUCKY_GUESSER)).toContainText('pending', { timeout: LAB_DETECTION_MS });
  await console.rejectProposalFor(LUCKY_GUESSER, 'lab: the backup account is a honeypot we watch');
  await expect(console.proposal).toContainText('rejected');
  await expect(console.proposal).toContainText('lab: the backup account is a honeypot we watch');
  await expect(console.proposal.getByRole('button', { name: 'Approve', exact: true })).toHaveCount(0);

  await console.openAudit();
  const rejected = console.auditEntry('mitigation.rejected').first();
  await expect(rejected).toContainText(`${LUCKY_GUESSER}/32`);
  await expect(rejected).toContainText('lab: the backup account is a honeypot we watch');
  await expect(console.auditVerdict).toHaveText(/hash chain verifies/);
  await console.screenshot(testInfo, '45-lab-rejected-in-audit');
});
