/**
 * The analyst's first minutes in the desktop app: the console starts with the local lab, a log
 * monitor asks for trust, the analyst checks why and the key fingerprint, approves, and the peer
 * is trusted — through the real Electron shell (preload bridge, IPC, main process service).
 *
 * Needs the Electron binary. Where it cannot be downloaded the spec skips with the reason; the
 * same story runs against the same renderer in web mode in console.spec.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { _electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import type { ConsoleApi, ConsoleSnapshot } from '../core/console/api.ts';
import { findElectronBinary } from '../electron/binary.ts';
import { ConsolePage } from './console-page.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist', 'electron', 'main.cjs');
const INDEX_URL = pathToFileURL(join(ROOT, 'dist', 'renderer', 'index.html')).href;
const MONITOR = 'gcp-log-monitor';

const binary = findElectronBinary(ROOT);

test.describe.configure({ mode: 'serial' });
test.skip('missing' in binary, `Electron binary not installed (${'missing' in binary ? binary.missing : ''}): the same story runs in web mode in console.spec.ts`);

let app: ElectronApplication;
let page: Page;
let stateDir: string;
const mainLog: string[] = [];

/** What the page itself can reach through the preload bridge. */
async function bridgeSnapshot(target: Page): Promise<ConsoleSnapshot> {
  return target.evaluate(() => (globalThis as unknown as { swarmConsole: ConsoleApi }).swarmConsole.call('snapshot', {}));
}

test.beforeAll(async () => {
  if (!('path' in binary)) return;
  stateDir = mkdtempSync(join(tmpdir(), 'swarm-electron-e2e-'));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && name !== 'ELECTRON_RUN_AS_NODE') env[name] = value;
  app = await _electron.launch({
    executablePath: binary.path,
    // Chromium refuses to start as root with its sandbox on (CI containers run as root).
    args: [MAIN, '--lab', '--state-dir', stateDir, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    env,
    timeout: 60_000,
  });
  app.process().stdout?.on('data', (chunk: Buffer) => mainLog.push(chunk.toString()));
  app.process().stderr?.on('data', (chunk: Buffer) => mainLog.push(chunk.toString()));
  page = await app.firstWindow();
});

test.afterEach(async ({}, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach('electron main process log', { body: mainLog.join(''), contentType: 'text/plain' });
});

test.afterAll(async () => {
  // Quitting goes through before-quit, which stops the service (lab daemons, SQLite) first.
  await app?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

test('the analyst verifies the log monitor\'s request and approves it', async ({}, testInfo) => {
  const console = new ConsolePage(page);
  await expect(console.thisNode).toBeVisible();
  const request = console.pendingRequest(MONITOR);
  await expect(request).toBeVisible();

  // What the console service holds for this request is what the analyst must see.
  const asked = (await bridgeSnapshot(page)).pending.find((p) => p.hostname === MONITOR);
  expect(asked, 'the lab monitor asked for trust').toBeDefined();
  await expect(request).toContainText(asked!.justification);
  await expect(request).toContainText(asked!.fingerprint);
  await console.screenshot(testInfo, 'electron-01-pending-handshake');

  await console.approveHandshake(MONITOR, asked!.wantCaps);
  await expect(console.pendingRequest(MONITOR)).toHaveCount(0);
  await expect(console.peerRow(MONITOR)).toContainText('trusted');
  await console.screenshot(testInfo, 'electron-02-peer-trusted');
  const peer = (await bridgeSnapshot(page)).peers.find((p) => p.hostname === MONITOR);
  expect(peer?.trust).toBe('trusted');
});

test('the page gets the console bridge and nothing else: no Node, no ipcRenderer', async () => {
  const surface = await page.evaluate(() => {
    const w = globalThis as unknown as Record<string, unknown>;
    const bridge = w.swarmConsole as Record<string, unknown>;
    return { require: typeof w.require, process: typeof w.process, module: typeof w.module, electron: typeof w.electron, bridge: Object.keys(bridge).sort() };
  });
  expect(surface).toEqual({ require: 'undefined', process: 'undefined', module: 'undefined', electron: 'undefined', bridge: ['call', 'subscribe'] });
});

test('a bad call is refused by the main process with a code and a hint', async () => {
  const failure = await page.evaluate(async () => {
    const api = (globalThis as unknown as { swarmConsole: { call(method: string, params: unknown): Promise<unknown> } }).swarmConsole;
    try {
      await api.call('dropTables', {});
      return null;
    } catch (error) {
      return error as { code: string; message: string; hint: string };
    }
  });
  expect(failure).toMatchObject({ code: 'unknown_method', hint: expect.stringContaining('snapshot') });
});

test('the window does not navigate away or open new windows', async () => {
  // Page-side code: typed loosely here because the e2e project compiles without DOM types.
  const refused = await page.evaluate(() => (globalThis as unknown as { open(url: string): unknown }).open('https://example.com/') === null);
  expect(refused).toBe(true);
  await page.evaluate(() => {
    (globalThis as unknown as { location: { href: string } }).location.href = 'https://example.com/';
  });
  await expect(new ConsolePage(page).thisNode).toBeVisible();
  expect(page.url().startsWith(INDEX_URL)).toBe(true);
  expect(app.windows()).toHaveLength(1);
});
