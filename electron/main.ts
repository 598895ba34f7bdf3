/**
 * Electron main process of Swarm SOC: one window, the IPC bridge to the console service, and the
 * lifecycle around them. No business logic lives here — everything the analyst does goes through
 * ConsoleService (core/console), exactly as in web mode (`swarmctl console --web`), so the same
 * renderer and the same e2e story cover both.
 *
 * Security posture (see electron/README.md for the why of each setting):
 *   - the renderer is sandboxed, context-isolated, without Node, and sees only `window.swarmConsole`;
 *   - it may load nothing but its own files (no remote content, no other local files), under a
 *     strict CSP, and may not navigate, open windows, attach webviews or download;
 *   - every IPC call is checked for its sender (our window's main frame showing our index.html)
 *     and validated with parseConsoleCall before the service sees it;
 *   - all permissions are denied except desktop notifications for our own page.
 *
 * Bundled to CommonJS by electron/build.ts (dist/electron/main.cjs), so __dirname is
 * dist/electron — inside app.asar when packaged.
 */
import { app, BrowserWindow, dialog, ipcMain, session, type IpcMainInvokeEvent, type Session, type WebContents } from 'electron';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConsoleCall, type ConsoleEvent } from '../core/console/api.ts';
import { ConsoleService, defaultStateDir, errorBody } from '../core/console/service.ts';
import { parseShellArgs, SHELL_USAGE, type ShellOptions } from './args.ts';
import { CALL_CHANNEL, EVENT_CHANNEL, type IpcCallResult } from './channels.ts';
import { isAllowedPermission, isAllowedRequestUrl, isAppIndexUrl, withContentSecurityPolicy } from './policy.ts';

const RENDERER_DIR = join(__dirname, '..', 'renderer');
const INDEX_HTML = join(RENDERER_DIR, 'index.html');
const PRELOAD = join(__dirname, 'preload.cjs');

/**
 * How long quitting waits for the service to stop its nodes (lab daemons, registry) and close
 * SQLite. A hung peer socket must not keep a closed console alive forever.
 */
const SERVICE_CLOSE_TIMEOUT_MS = 10_000;

process.setSourceMapsEnabled(true);

let mainWindow: BrowserWindow | null = null;
let servicePromise: Promise<ConsoleService> | null = null;
let shutdown: 'running' | 'closing' | 'closed' = 'running';

function log(line: string): void {
  console.log(`swarm-soc: ${line}`);
}

/** One line for a person: what happened, then what to do about it. */
function describeError(err: unknown): string {
  const body = errorBody(err);
  return body.hint ? `${body.message} (${body.hint})` : body.message;
}

/** Startup failed: say why in one line (stderr and a dialog) and exit with status 1. */
function failStartup(line: string): void {
  console.error(`swarm-soc: ${line}`);
  // Before `ready` on Linux this prints to stderr instead of showing a dialog, which is fine.
  dialog.showErrorBox('Swarm SOC could not start', line);
  app.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Hardening every webContents (our window, DevTools, anything Chromium creates later).

function blockNavigation(event: { preventDefault(): void }, url: string, what: string): void {
  if (isAppIndexUrl(url, INDEX_HTML)) return;
  event.preventDefault();
  log(`blocked ${what} to ${url}`);
}

function hardenWebContents(contents: WebContents): void {
  // Links with target=_blank, window.open: the console never opens a second window.
  contents.setWindowOpenHandler(({ url }) => {
    log(`blocked new window for ${url}`);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event) => blockNavigation(event, event.url, 'navigation'));
  contents.on('will-redirect', (event) => blockNavigation(event, event.url, 'redirect'));
  contents.on('will-frame-navigate', (event) => {
    // The console has no frames (CSP default-src 'none' forbids them too); refuse any subframe.
    if (!event.isMainFrame) {
      event.preventDefault();
      log(`blocked frame navigation to ${event.url}`);
    } else {
      blockNavigation(event, event.url, 'navigation');
    }
  });
  // webviewTag is off, but refuse at this level too in case a page ever asks for one.
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('blocked a <webview>');
  });
}

function installSessionPolicy(ses: Session): void {
  ses.setPermissionRequestHandler((webContents, permission, callback, details) => {
    const allowed = isAllowedPermission(permission, details.requestingUrl || webContents.getURL(), INDEX_HTML);
    if (!allowed) log(`denied permission ${permission}`);
    callback(allowed);
  });
  ses.setPermissionCheckHandler((webContents, permission, _origin, details) => {
    return isAllowedPermission(permission, details.requestingUrl ?? webContents?.getURL() ?? '', INDEX_HTML);
  });
  // USB, HID, serial and Bluetooth devices: never.
  ses.setDevicePermissionHandler(() => false);
  ses.on('will-download', (event, item) => {
    event.preventDefault();
    log(`blocked download of ${item.getURL()}`);
  });
  // No remote content: only our own files (and DevTools' frontend in development) may load.
  ses.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequestUrl(details.url, RENDERER_DIR);
    if (!allowed) log(`blocked request to ${details.url}`);
    callback({ cancel: !allowed });
  });
  // Our CSP on every response. DevTools' own pages keep their own policy (it needs eval).
  ses.webRequest.onHeadersReceived((details, callback) => {
    if (details.url.startsWith('devtools:')) {
      callback({});
      return;
    }
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders) });
  });
}

// ---------------------------------------------------------------------------------------------
// IPC bridge.

/** Only the main frame of our window, showing our own index.html, may call the service. */
function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return (
    mainWindow !== null &&
    !mainWindow.isDestroyed() &&
    event.sender.id === mainWindow.webContents.id &&
    frame !== null &&
    frame.parent === null &&
    isAppIndexUrl(frame.url, INDEX_HTML)
  );
}

function registerIpc(): void {
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, params: unknown): Promise<IpcCallResult> => {
    if (!isTrustedSender(event)) {
      log(`refused a console call from ${event.senderFrame?.url ?? 'a destroyed frame'}`);
      return { ok: false, error: { code: 'forbidden', message: 'console call refused: it did not come from the Swarm SOC window', hint: 'only the console page may call the console service' } };
    }
    const call = parseConsoleCall(method, params);
    if (!call.ok) return { ok: false, error: call.error };
    try {
      if (servicePromise === null) throw new Error('the console service is not running');
      const service = await servicePromise;
      return { ok: true, result: await service.handle(call.value) };
    } catch (err) {
      return { ok: false, error: errorBody(err) };
    }
  });
}

function sendEvent(event: ConsoleEvent): void {
  if (mainWindow === null || mainWindow.isDestroyed() || mainWindow.webContents.isDestroyed()) return;
  mainWindow.webContents.send(EVENT_CHANNEL, event);
}

// ---------------------------------------------------------------------------------------------
// Window and lifecycle.

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Swarm SOC',
    backgroundColor: '#0b1120',
    webPreferences: {
      // electronegativity flags every preload for manual review (PRELOAD_JS_CHECK); the review is
      // recorded in electron/scan.ts: sandboxed, context-isolated, exposes only call/subscribe.
      preload: PRELOAD,
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
      // Middle-click would otherwise open links in new windows through auxclick.
      disableBlinkFeatures: 'Auxclick',
      // Chromium's spellchecker downloads dictionaries from Google: remote content we do not want.
      spellcheck: false,
      safeDialogs: true,
      devTools: !app.isPackaged,
    },
  });
  win.once('ready-to-show', () => win.show());
  win.webContents.on('did-finish-load', () => {
    // A fresh page (first load or reload) starts from a full snapshot, then follows events.
    void servicePromise?.then((service) => sendEvent({ type: 'snapshot', snapshot: service.snapshot() }), () => {});
  });
  win.webContents.on('render-process-gone', (_event, details) => log(`renderer process gone (${details.reason}, exit code ${details.exitCode})`));
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  return win;
}

async function closeService(): Promise<void> {
  if (servicePromise === null) return;
  let service: ConsoleService;
  try {
    service = await servicePromise;
  } catch {
    return; // it never started; nothing to close
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), SERVICE_CLOSE_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([service.close().then(() => 'closed' as const), timeout]);
    if (outcome === 'timeout') log(`the console service did not stop within ${SERVICE_CLOSE_TIMEOUT_MS / 1000} s; quitting anyway`);
  } catch (err) {
    log(`closing the console service failed: ${describeError(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

function installLifecycle(): void {
  app.on('second-instance', () => {
    if (mainWindow === null || mainWindow.isDestroyed()) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.show();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  // The service lives in this process: closing the console window ends the console on every
  // platform (also macOS), rather than leaving an invisible node on the overlay.
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', (event) => {
    if (shutdown === 'closed') return;
    event.preventDefault();
    if (shutdown === 'closing') return;
    shutdown = 'closing';
    void closeService().finally(() => {
      shutdown = 'closed';
      app.quit();
    });
  });
  // Ctrl+C on `npm start`, or a service manager stopping us: close the service cleanly too.
  process.on('SIGINT', () => app.quit());
  process.on('SIGTERM', () => app.quit());
}

async function start(options: ShellOptions): Promise<void> {
  const stateDir = options.stateDir ?? defaultStateDir();
  if (!existsSync(INDEX_HTML)) {
    failStartup(`the console UI is missing at ${INDEX_HTML} (run npm run build first)`);
    return;
  }
  // One Chromium profile per state directory. The single-instance lock lives in userData, so two
  // consoles on the same state (one identity key, one set of SQLite files) cannot run at once,
  // while consoles on different state directories (the lab beside production, parallel e2e runs)
  // can. The profile also holds no secrets the state directory does not already protect.
  const userData = join(stateDir, 'electron');
  mkdirSync(userData, { recursive: true, mode: 0o700 });
  app.setPath('userData', userData);
  if (!app.requestSingleInstanceLock()) {
    log(`a console for ${stateDir} is already running; focusing it`);
    app.quit();
    return;
  }
  app.enableSandbox();
  installLifecycle();
  registerIpc();

  await app.whenReady();
  installSessionPolicy(session.defaultSession);

  // The service (and the lab, when it runs one) starts while the window paints; calls that
  // arrive meanwhile wait for it.
  log(`starting the console service (state ${stateDir}, lab ${options.lab})`);
  servicePromise = ConsoleService.start({
    stateDir,
    lab: options.lab,
    ...(options.registry !== null ? { registry: options.registry } : {}),
    ...(options.hostname !== null ? { hostname: options.hostname } : {}),
    log,
  });
  servicePromise.then(
    (service) => {
      service.onEvent(sendEvent);
      log('console service running');
    },
    (err: unknown) => failStartup(`the console service could not start: ${describeError(err)}`),
  );

  mainWindow = createWindow();
  try {
    await mainWindow.loadFile(INDEX_HTML);
  } catch (err) {
    failStartup(`the console UI did not load from ${INDEX_HTML}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const parsed = parseShellArgs(process.argv.slice(1));
if (!parsed.ok) {
  failStartup(`${parsed.error} (swarm-soc --help shows the options)`);
} else if (parsed.options.help) {
  console.log(SHELL_USAGE);
  app.exit(0);
} else {
  start(parsed.options).catch((err: unknown) => failStartup(describeError(err)));
}
