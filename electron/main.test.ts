/**
 * The main process without an Electron binary: electron/main.ts is bundled exactly as
 * electron/build.ts does it, except that `require('electron')` gets a recording fake. It then runs
 * against the real ConsoleService and its lab, and the test plays the renderer's part over the
 * recorded IPC handler — the analyst story of e2e/electron.spec.ts minus the pixels — plus every
 * security hook main installs (sender check, navigation, windows, permissions, requests, CSP) and
 * a clean quit.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { ConsoleEvent, ConsoleSnapshot, PeerRow } from '../core/console/api.ts';
import { CALL_CHANNEL, EVENT_CHANNEL, type IpcCallResult } from './channels.ts';
import { CONTENT_SECURITY_POLICY } from './policy.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MONITOR = 'gcp-log-monitor';
const STARTUP_TIMEOUT_MS = 30_000;

type Listener = (...args: never[]) => unknown;

/** Just enough of Electron's main-process API for main.ts, recording what main does with it. */
class FakeWebContents extends EventEmitter {
  readonly id: number;
  url = '';
  readonly sent: { channel: string; payload: unknown }[] = [];
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  constructor(id: number) {
    super();
    this.id = id;
  }

  /** Like Electron's WebFrameMain: its url follows what the webContents shows. */
  get mainFrame(): { url: string; parent: null } {
    return { url: this.url, parent: null };
  }

  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload: structuredClone(payload) });
  }

  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }

  isDestroyed(): boolean {
    return false;
  }

  getURL(): string {
    return this.url;
  }
}

function createFakeElectron() {
  const app = Object.assign(new EventEmitter(), {
    isPackaged: false,
    paths: new Map<string, string>(),
    sandboxEnabled: false,
    exitCode: null as number | null,
    quitCount: 0,
    setPath(name: string, value: string) {
      app.paths.set(name, value);
    },
    requestSingleInstanceLock: () => true,
    enableSandbox() {
      app.sandboxEnabled = true;
    },
    whenReady: () => Promise.resolve(),
    quit() {
      let prevented = false;
      app.emit('before-quit', { preventDefault: () => (prevented = true) });
      if (!prevented) {
        app.quitCount++;
        app.emit('quit');
      }
    },
    exit(code: number) {
      app.exitCode = code;
    },
  });
  const ipcHandlers = new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>();
  const ses = Object.assign(new EventEmitter(), {
    permissionRequest: null as Listener | null,
    permissionCheck: null as Listener | null,
    devicePermission: null as Listener | null,
    beforeRequest: null as Listener | null,
    headersReceived: null as Listener | null,
    setPermissionRequestHandler: (h: Listener) => (ses.permissionRequest = h),
    setPermissionCheckHandler: (h: Listener) => (ses.permissionCheck = h),
    setDevicePermissionHandler: (h: Listener) => (ses.devicePermission = h),
    webRequest: {
      onBeforeRequest: (h: Listener) => (ses.beforeRequest = h),
      onHeadersReceived: (h: Listener) => (ses.headersReceived = h),
    },
  });
  const windows: FakeBrowserWindow[] = [];
  const errors: { title: string; content: string }[] = [];
  let nextId = 1;

  class FakeBrowserWindow extends EventEmitter {
    readonly options: { webPreferences: Record<string, unknown> };
    readonly webContents: FakeWebContents;

    constructor(options: { webPreferences: Record<string, unknown> }) {
      super();
      this.options = options;
      this.webContents = new FakeWebContents(nextId++);
      windows.push(this);
      app.emit('web-contents-created', {}, this.webContents);
    }

    async loadFile(path: string): Promise<void> {
      this.webContents.url = pathToFileURL(path).href;
      this.emit('ready-to-show');
      this.webContents.emit('did-finish-load');
    }

    isDestroyed = () => false;
    isMinimized = () => false;
    restore(): void {}
    show(): void {}
    focus(): void {}
  }

  return {
    app,
    BrowserWindow: FakeBrowserWindow,
    dialog: { showErrorBox: (title: string, content: string) => errors.push({ title, content }) },
    ipcMain: { handle: (channel: string, handler: (event: unknown, ...args: unknown[]) => Promise<unknown>) => ipcHandlers.set(channel, handler) },
    session: { defaultSession: ses },
    // for the test
    ipcHandlers,
    windows,
    errors,
  };
}

type FakeElectron = ReturnType<typeof createFakeElectron>;

let fake: FakeElectron;
let work: string;
let stateDir: string;
let indexHtml: string;
let savedArgv: string[];
const signalListeners = { SIGINT: [] as unknown[], SIGTERM: [] as unknown[] };

async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = STARTUP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function win() {
  const first = fake.windows[0];
  assert.ok(first, 'main created a window');
  return first;
}

/** An IPC call as the preload makes it, from a frame of our choosing. */
async function invoke(method: unknown, params: unknown, frame: { url: string; parent: unknown } | null = win().webContents.mainFrame, senderId = win().webContents.id): Promise<IpcCallResult> {
  const handler = fake.ipcHandlers.get(CALL_CHANNEL);
  assert.ok(handler, `main handles ${CALL_CHANNEL}`);
  return (await handler({ sender: { id: senderId }, senderFrame: frame }, method, params)) as IpcCallResult;
}

async function snapshot(): Promise<ConsoleSnapshot> {
  const reply = await invoke('snapshot', {});
  assert.ok(reply.ok, JSON.stringify(reply));
  return reply.result as ConsoleSnapshot;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'swarm-electron-main-'));
  stateDir = join(work, 'state');
  // The bundle sits where build.ts puts it, relative to a renderer directory, as in a package.
  mkdirSync(join(work, 'dist', 'electron'), { recursive: true });
  mkdirSync(join(work, 'dist', 'renderer'), { recursive: true });
  indexHtml = join(work, 'dist', 'renderer', 'index.html');
  const builtIndex = join(ROOT, 'dist', 'renderer', 'index.html');
  if (existsSync(builtIndex)) copyFileSync(builtIndex, indexHtml);
  else writeFileSync(indexHtml, '<!doctype html><title>Swarm SOC</title>');
  const bundle = join(work, 'dist', 'electron', 'main.cjs');
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['electron/main.ts'],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    banner: { js: "const __swarm_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__swarm_import_meta_url', 'import.meta.dirname': '__dirname', 'import.meta.filename': '__filename' },
    logLevel: 'error',
    plugins: [
      {
        name: 'fake-electron',
        setup(b) {
          b.onResolve({ filter: /^electron$/ }, () => ({ path: 'electron', namespace: 'fake-electron' }));
          b.onLoad({ filter: /.*/, namespace: 'fake-electron' }, () => ({ contents: 'module.exports = globalThis.__swarmFakeElectron;', loader: 'js' }));
        },
      },
    ],
  });
  fake = createFakeElectron();
  (globalThis as unknown as { __swarmFakeElectron: FakeElectron }).__swarmFakeElectron = fake;
  savedArgv = process.argv;
  // As Playwright starts it: inspector switches first, then the app path, then ours.
  process.argv = [process.execPath, '--inspect=0', bundle, '--lab', '--state-dir', stateDir];
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  createRequire(import.meta.url)(bundle);
  signalListeners.SIGINT = process.listeners('SIGINT').filter((l) => !before.SIGINT.includes(l));
  signalListeners.SIGTERM = process.listeners('SIGTERM').filter((l) => !before.SIGTERM.includes(l));
  await eventually(() => (fake.windows.length > 0 ? true : undefined), 'the window');
});

after(async () => {
  process.argv = savedArgv;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) for (const l of signalListeners[signal]) process.off(signal, l as () => void);
  if (fake && fake.app.quitCount === 0) fake.app.quit();
  await eventually(() => (fake.app.quitCount > 0 ? true : undefined), 'quit', 15_000).catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

describe('electron main process (fake Electron, real console service)', () => {
  test('starts sandboxed, with one Chromium profile per state directory', () => {
    assert.deepEqual(fake.errors, []);
    assert.equal(fake.app.exitCode, null);
    assert.equal(fake.app.sandboxEnabled, true);
    assert.equal(fake.app.paths.get('userData'), join(stateDir, 'electron'));
  });

  test('opens the window with the hardened web preferences and the built preload', () => {
    const prefs = win().options.webPreferences;
    assert.equal(prefs.preload, join(work, 'dist', 'electron', 'preload.cjs'));
    assert.deepEqual(
      {
        contextIsolation: prefs.contextIsolation,
        sandbox: prefs.sandbox,
        nodeIntegration: prefs.nodeIntegration,
        nodeIntegrationInWorker: prefs.nodeIntegrationInWorker,
        nodeIntegrationInSubFrames: prefs.nodeIntegrationInSubFrames,
        webSecurity: prefs.webSecurity,
        allowRunningInsecureContent: prefs.allowRunningInsecureContent,
        experimentalFeatures: prefs.experimentalFeatures,
        webviewTag: prefs.webviewTag,
        navigateOnDragDrop: prefs.navigateOnDragDrop,
        spellcheck: prefs.spellcheck,
      },
      {
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        navigateOnDragDrop: false,
        spellcheck: false,
      },
    );
    assert.equal(win().webContents.url, pathToFileURL(indexHtml).href);
  });

  test('the analyst story over IPC: the lab monitor asks, the page sees why and the fingerprint, approves, peer trusted', async () => {
    const asked = await eventually(async () => (await snapshot()).pending.find((p) => p.hostname === MONITOR), 'the monitor\'s handshake');
    assert.match(asked.justification, /log monitor/);
    assert.match(asked.fingerprint, /\S{8,}/);
    const reply = await invoke('approve', { peer: MONITOR, capabilities: asked.wantCaps });
    assert.ok(reply.ok, JSON.stringify(reply));
    assert.equal((reply.result as PeerRow).trust, 'trusted');
    const after = await snapshot();
    assert.equal(after.pending.some((p) => p.hostname === MONITOR), false);
    assert.equal(after.peers.find((p) => p.hostname === MONITOR)?.trust, 'trusted');
  });

  test('pushes a snapshot after the page loads, then live events, on the event channel', async () => {
    const events = () => win().webContents.sent.filter((m) => m.channel === EVENT_CHANNEL).map((m) => m.payload as ConsoleEvent);
    const first = await eventually(() => events()[0], 'the first event');
    assert.equal(first.type, 'snapshot');
    await eventually(() => events().find((e) => e.type === 'peers' && e.upsert.some((p) => p.hostname === MONITOR && p.trust === 'trusted')), 'a peers event for the approval');
  });

  test('a reload gets a fresh snapshot', async () => {
    const count = () => win().webContents.sent.filter((m) => (m.payload as ConsoleEvent).type === 'snapshot').length;
    const before = count();
    win().webContents.emit('did-finish-load');
    await eventually(() => (count() > before ? true : undefined), 'a new snapshot');
  });

  test('invalid calls come back as code, message and hint, never as a thrown error', async () => {
    const unknown = await invoke('dropTables', {});
    assert.equal(unknown.ok, false);
    assert.equal(unknown.ok ? '' : unknown.error.code, 'unknown_method');
    const badParams = await invoke('approve', { peer: MONITOR, capabilities: ['root.shell'] });
    assert.equal(badParams.ok ? '' : badParams.error.code, 'bad_request');
    const serviceError = await invoke('approve', { peer: 'no-such-peer', capabilities: [] });
    assert.equal(serviceError.ok, false);
    assert.ok(!serviceError.ok && serviceError.error.message.length > 0 && serviceError.error.hint.length > 0, JSON.stringify(serviceError));
  });

  test('refuses calls from any other page, frame or webContents', async () => {
    const contents = win().webContents;
    const cases = [
      { frame: { url: 'https://evil.example/', parent: null }, sender: contents.id },
      { frame: { url: pathToFileURL(join(work, 'dist', 'renderer', 'other.html')).href, parent: null }, sender: contents.id },
      { frame: { url: contents.url, parent: {} }, sender: contents.id },
      { frame: contents.mainFrame, sender: contents.id + 100 },
      { frame: null, sender: contents.id },
    ];
    for (const c of cases) {
      const reply = await invoke('snapshot', {}, c.frame, c.sender);
      assert.equal(reply.ok ? '' : reply.error.code, 'forbidden', JSON.stringify(c.frame));
    }
  });

  test('blocks navigation, redirects, subframes, new windows and webviews', () => {
    const contents = win().webContents;
    const attempt = (event: string, url: string, extra: Record<string, unknown> = {}) => {
      let prevented = false;
      contents.emit(event, { url, isMainFrame: true, ...extra, preventDefault: () => (prevented = true) });
      return prevented;
    };
    assert.equal(attempt('will-navigate', 'https://evil.example/'), true);
    assert.equal(attempt('will-navigate', pathToFileURL('/etc/passwd').href), true);
    assert.equal(attempt('will-navigate', `${contents.url}#/peers`), false, 'our own page may reload');
    assert.equal(attempt('will-redirect', 'https://evil.example/'), true);
    assert.equal(attempt('will-frame-navigate', contents.url, { isMainFrame: false }), true, 'no subframes at all');
    assert.equal(attempt('will-attach-webview', 'about:blank'), true);
    assert.deepEqual(contents.windowOpenHandler?.({ url: 'https://evil.example/' }), { action: 'deny' });
  });

  test('denies permissions except notifications for our page, and all devices', () => {
    const contents = win().webContents;
    const ask = (permission: string, requestingUrl: string) => {
      let granted: boolean | null = null;
      fake.session.defaultSession.permissionRequest?.(...([contents, permission, (g: boolean) => (granted = g), { requestingUrl }] as never[]));
      return granted;
    };
    assert.equal(ask('notifications', contents.url), true);
    assert.equal(ask('notifications', 'https://evil.example/'), false);
    for (const permission of ['media', 'geolocation', 'clipboard-read', 'openExternal', 'usb']) assert.equal(ask(permission, contents.url), false, permission);
    assert.equal(fake.session.defaultSession.permissionCheck?.(...([contents, 'media', 'file:///', { requestingUrl: contents.url }] as never[])), false);
    assert.equal(fake.session.defaultSession.devicePermission?.(...([{ deviceType: 'usb' }] as never[])), false);
  });

  test('cancels remote requests and files outside the renderer; adds the CSP to responses', () => {
    const request = (url: string) => {
      let cancel: boolean | undefined;
      fake.session.defaultSession.beforeRequest?.(...([{ url }, (r: { cancel: boolean }) => (cancel = r.cancel)] as never[]));
      return cancel;
    };
    assert.equal(request(pathToFileURL(join(work, 'dist', 'renderer', 'app.js')).href), false);
    assert.equal(request('https://cdn.example/lib.js'), true);
    assert.equal(request('ws://127.0.0.1:7000/api/ws'), true);
    assert.equal(request(pathToFileURL(join(stateDir, 'identity.key')).href), true);
    let headers: Record<string, string[]> | undefined;
    fake.session.defaultSession.headersReceived?.(...([{ url: win().webContents.url, responseHeaders: { 'Content-Type': ['text/html'] } }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders)] as never[]));
    assert.deepEqual(headers?.['Content-Security-Policy'], [CONTENT_SECURITY_POLICY]);
    assert.deepEqual(headers?.['Content-Type'], ['text/html']);
  });

  test('quitting waits for the console service to stop, then quits', async () => {
    fake.app.quit();
    assert.equal(fake.app.quitCount, 0, 'the first quit is held while the service closes');
    await eventually(() => (fake.app.quitCount > 0 ? true : undefined), 'the service to close and the app to quit', 15_000);
    assert.equal(fake.app.quitCount, 1);
    const reply = await invoke('snapshot', {});
    // The service is closed: calls still answer (no hang, no throw across IPC).
    assert.equal(typeof reply.ok, 'boolean');
  });
});
