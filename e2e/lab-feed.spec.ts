/**
 * A newcomer's first minutes, for real: `swarmctl console --web` starts the local lab, whose log
 * monitor replays a realistic sshd log; the analyst approves the monitor in the GUI, and the
 * brute force it detects arrives in the Feed over the overlay's event stream (port 1002), with
 * its evidence lines. No seeding, no injected frames: every part is the product's own.
 */
import { expect, test } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsolePage } from './console-page.ts';
import { startConsole, type RunningConsole } from './console-process.ts';

let root: string;
let consoleApp: RunningConsole;

test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'swarm-e2e-lab-'));
  consoleApp = await startConsole(join(root, 'console'), ['--lab']);
});

test.afterAll(async () => {
  await consoleApp?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('approving the lab monitor makes its brute-force detection appear in the live feed with evidence', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.approveHandshake('gcp-log-monitor', ['events.publish']);
  await console.openFeed();
  // The replay's root brute force from 198.51.100.23 (a documentation address).
  const row = console.feedRow(/198\.51\.100\.23/).filter({ hasText: /brute/i }).first();
  await expect(row).toBeVisible({ timeout: 30_000 });
  await expect(row).toContainText('gcp-log-monitor');
  await row.click();
  await row.press('Enter');
  await expect(page.getByText(/Failed password for root from 198\.51\.100\.23/).first()).toBeVisible();
  await console.screenshot(testInfo, '20-lab-feed-live');
});
