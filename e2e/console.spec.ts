/**
 * An analyst's first session, in web mode against real processes on loopback: a registry, two
 * agent daemons and the console, all started through swarmctl. Screens are saved as artifacts.
 */
import { createServer, type Server } from 'node:http';
import { expect, test } from '@playwright/test';
import { eventually, Swarm } from '../test/helpers/swarm.ts';
import { ConsolePage } from './console-page.ts';
import { startConsole, type RunningConsole } from './console-process.ts';

const MONITOR = 'gcp-log-monitor';
const EXECUTOR = 'aws-firewall-executor';
const CONSOLE = 'soc-console';
const MONITOR_WHY = 'log monitor on the GCP edge: streams SSH brute-force anomalies';
const EXECUTOR_WHY = 'firewall executor on the AWS edge: applies approved blocks';

let swarm: Swarm;
let consoleApp: RunningConsole;
const fingerprints = new Map<string, string>();

interface TrustList {
  trusted: Array<{ hostname: string; capsGranted: string[]; capsReceived: string[] }>;
}
interface PendingList {
  incoming: Array<{ hostname: string }>;
  outgoing: Array<{ hostname: string; status: string; reason: string | null }>;
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  swarm = new Swarm();
  const registry = await swarm.startRegistry();
  consoleApp = await startConsole(swarm.dir(CONSOLE), ['--no-lab', '--registry', `127.0.0.1:${registry.port}`, '--hostname', CONSOLE]);
  for (const host of [MONITOR, EXECUTOR]) {
    const info = await swarm.startDaemon(host);
    fingerprints.set(host, String(info.fingerprint));
  }
  await swarm.json(MONITOR, 'handshake', CONSOLE, MONITOR_WHY, '--want', 'events.publish');
  await swarm.json(EXECUTOR, 'handshake', CONSOLE, EXECUTOR_WHY);
});

test.afterAll(async () => {
  await consoleApp?.stop();
  await swarm?.close();
});

test('the analyst sees who asks for trust, why, and the key fingerprint to verify', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await expect(console.thisNode).toContainText(CONSOLE);
  const request = console.pendingRequest(MONITOR);
  await expect(request).toContainText(MONITOR_WHY);
  await expect(request).toContainText(fingerprints.get(MONITOR)!);
  await expect(console.pendingRequest(EXECUTOR)).toContainText(EXECUTOR_WHY);
  await console.screenshot(testInfo, '01-pending-handshakes');
});

test('approving the monitor trusts it in the GUI and on the agent itself', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.approveHandshake(MONITOR, ['events.publish']);
  await expect(console.pendingRequest(MONITOR)).toHaveCount(0);
  const row = console.peerRow(MONITOR);
  await expect(row).toContainText('trusted');
  await expect(row).toContainText('events.publish');
  // The path of the live session (loopback: direct) and its measured RTT.
  await expect(row.locator('.path-badge')).toHaveText('direct');
  await expect(row.locator('td.numeric')).toHaveText(/^\d+(\.\d)? ms$/);
  await console.screenshot(testInfo, '02-peer-trusted');
  // The agent's own CLI agrees: the console is trusted there, and granted what we asked.
  const agentView = await eventually(async () => {
    const list = await swarm.json<TrustList>(MONITOR, 'trust');
    return list.trusted.find((t) => t.hostname === CONSOLE);
  }, 10_000, 'the monitor to trust the console');
  expect(agentView.capsReceived).toContain('events.publish');
});

test('rejecting the executor with a reason: the requester sees the reason', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.rejectHandshake(EXECUTOR, 'no change ticket for this executor');
  await expect(console.pendingRequest(EXECUTOR)).toHaveCount(0);
  await expect(console.pendingSection).toContainText('No pending handshakes');
  await console.screenshot(testInfo, '03-after-reject');
  const outgoing = await eventually(async () => {
    const list = await swarm.json<PendingList>(EXECUTOR, 'pending');
    return list.outgoing.find((o) => o.hostname === CONSOLE && o.status === 'rejected');
  }, 10_000, 'the executor to learn the rejection');
  expect(outgoing.reason).toBe('no change ticket for this executor');
});

test('a change made with the CLI shows up in the GUI, and a new request raises a notification', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  // The executor asks again; the console shows it live with a notification.
  await swarm.json(EXECUTOR, 'handshake', CONSOLE, 'ticket CHG-1042 approved by the CAB');
  await expect(console.pendingRequest(EXECUTOR)).toContainText('CHG-1042');
  await expect(console.notifications.filter({ hasText: EXECUTOR }).first()).toBeVisible();
  await console.screenshot(testInfo, '04-new-request-notification');
  // Approved from the terminal on the console's own node: the GUI follows.
  const approved = await swarm.cli(CONSOLE, 'approve', EXECUTOR, '--cap', 'events.publish');
  expect(approved.code, approved.stderr).toBe(0);
  await expect(console.pendingRequest(EXECUTOR)).toHaveCount(0);
  await expect(console.peerRow(EXECUTOR)).toContainText('trusted');
});

test('revoking the monitor cuts trust in the GUI and on the agent', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.revokePeer(MONITOR, 'host reimaged');
  await expect(console.peerRow(MONITOR).getByRole('button', { name: `Revoke ${MONITOR}` })).toHaveCount(0);
  await expect(console.peerRow(MONITOR)).not.toContainText(/\btrusted\b/);
  await console.screenshot(testInfo, '05-after-revoke');
  await eventually(async () => {
    const list = await swarm.json<TrustList>(MONITOR, 'trust');
    return !list.trusted.some((t) => t.hostname === CONSOLE);
  }, 10_000, 'the monitor to drop trust');
});

test('the handshake form asks a peer for trust; the settings screen shows the registry', async ({ page }, testInfo) => {
  const console = new ConsolePage(page);
  await console.open(consoleApp.url);
  await console.requestTrust(MONITOR, 'console wants the anomaly feed again after the reimage');
  await expect(console.outgoingSection).toContainText(MONITOR);
  const incoming = await eventually(async () => {
    const list = await swarm.json<PendingList>(MONITOR, 'pending');
    return list.incoming.find((r) => r.hostname === CONSOLE);
  }, 10_000, 'the request to reach the monitor');
  expect(incoming.hostname).toBe(CONSOLE);
  await console.screenshot(testInfo, '06-outgoing-request');
  const settings = await console.openSettings();
  await expect(settings.getByRole('textbox', { name: 'Registry' })).toHaveValue(`127.0.0.1:${swarm.registry!.port}`);
  await console.screenshot(testInfo, '07-settings');
});

test.describe('access control', () => {
  let foreign: Server;
  let foreignPort = 0;

  test.beforeAll(async () => {
    // A page on another origin that tries to drive the console with a stolen token.
    foreign = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>foreign</title><p>foreign page</p>');
    });
    await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', () => r()));
    foreignPort = (foreign.address() as { port: number }).port;
  });

  test.afterAll(() => new Promise<void>((r) => foreign.close(() => r())));

  test('a page without the token gets an explanation and no data', async ({ page }, testInfo) => {
    await page.goto(`http://127.0.0.1:${consoleApp.port}/`);
    await expect(page.getByText(/no access token/i)).toBeVisible();
    await expect(page.getByText(MONITOR)).toHaveCount(0);
    const consolePage = new ConsolePage(page);
    await consolePage.screenshot(testInfo, '08-no-token');
  });

  test('API requests without the token, or from a foreign Origin, are refused', async ({ page, request }) => {
    const noToken = await request.get(`http://127.0.0.1:${consoleApp.port}/api/snapshot`);
    expect(noToken.status()).toBe(401);
    const foreignOrigin = await request.get(`http://127.0.0.1:${consoleApp.port}/api/snapshot`, {
      headers: { authorization: `Bearer ${consoleApp.token}`, origin: `http://127.0.0.1:${foreignPort}` },
    });
    expect(foreignOrigin.status()).toBe(403);
    const withToken = await request.get(`http://127.0.0.1:${consoleApp.port}/api/snapshot`, { headers: { authorization: `Bearer ${consoleApp.token}` } });
    expect(withToken.status()).toBe(200);
    // In a real browser: a foreign page that knows the token still cannot open the WebSocket.
    await page.goto(`http://127.0.0.1:${foreignPort}/`);
    const outcome = await page.evaluate(
      ({ port, token }) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/api/ws`, ['swarm-console.v1', `token.${token}`]);
          ws.onmessage = () => resolve('connected');
          ws.onerror = () => resolve('refused');
        }),
      { port: consoleApp.port, token: consoleApp.token },
    );
    expect(outcome).toBe('refused');
  });
});
