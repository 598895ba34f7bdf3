/** `swarmctl daemon start|stop|status` and `swarmctl info`. */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MonitorRole, type MonitorStats } from '../../agents/monitor/monitor-role.ts';
import { SourceError } from '../../agents/monitor/source/log-source.ts';
import { parseSourceSpec } from '../../agents/monitor/source/source-spec.ts';
import { parseDuration } from '../../agents/orchestrator/duration.ts';
import type { PolicyConfig } from '../../agents/executor/policy.ts';
import type { ExecutorStats } from '../../agents/executor/executor-role.ts';
import { Daemon, daemonPaths, DaemonError, runningDaemonPid, type DaemonOptions } from '../../overlay/daemon.ts';
import { REGISTRY_KEEPALIVE_MS } from '../../overlay/timers.ts';
import { intOption, UsageError } from '../args.ts';
import { callDaemon, type Context, type Verb } from '../context.ts';
import { printJson, when } from '../output.ts';
import { filtersFromOptions, rulesFromOption } from './monitor.ts';

const BIN = fileURLToPath(new URL('../bin/swarmctl.js', import.meta.url));
/** How long `daemon start` waits for the background daemon to come up and register. */
const START_TIMEOUT_MS = 30_000;

interface Info {
  hostname: string;
  address: string;
  fingerprint: string;
  public_key: string;
  listen: string;
  pid: number;
  state_dir: string;
  started_at: string;
  registry: { endpoint: string; registered: boolean; last_ok_at: string | null; last_error: string | null; observed: string | null; key: string | null };
  nat?: { type: string; observed: string | null; checked_at: string | null; beacon: string | null };
  traversal?: { via: 'registry' | 'beacon'; relay: string; beacon?: { endpoint: string; registered: boolean; last_ok_at: string | null; last_error: string | null } };
  trusted_peers: number;
  pending_incoming: number;
  outbox: number;
  dropped_untrusted: number;
  packet_cipher?: { backend: string; reason: string | null };
  roles?: { monitor?: MonitorStats; executor?: ExecutorStats };
  stats: { node: Record<string, number>; trust: Record<string, number> };
}

function monitorLine(m: MonitorStats): string {
  const sources = m.sources.map((s) => `${s.name} (${s.lines.toLocaleString('en-US')} lines)`).join(', ');
  return `${sources}; ${m.events.toLocaleString('en-US')} events, ${m.reports.toLocaleString('en-US')} anomaly reports, ${m.subscribers} subscriber${m.subscribers === 1 ? '' : 's'}`;
}

function executorLine(e: ExecutorStats): string {
  const results = Object.entries(e.results).map(([status, n]) => `${n} ${status}`).join(', ');
  const s = e.startup;
  const startup = s.resumed + s.readded + s.removed + s.expired + s.revokedByPolicy > 0 ? `; at start: ${s.resumed} resumed, ${s.readded} re-added, ${s.removed} removed, ${s.expired} expired` : '';
  return `${e.backend}; ${e.active} active block${e.active === 1 ? '' : 's'}${results ? `; ${results}` : ''}${startup}`;
}

const NAT_TEXT: Record<string, string> = {
  none: 'none (public address)',
  'endpoint-independent': 'endpoint-independent mapping (cone: direct paths can be punched)',
  symmetric: 'symmetric (address/port-dependent mapping: peers behind NAT need a relay)',
  unknown: 'unknown',
};

function natLine(nat: NonNullable<Info['nat']>): string {
  if (nat.checked_at === null) return 'not classified yet';
  if (nat.beacon === null) return 'unknown (the registry runs no beacon)';
  const seen = nat.observed ? `, seen as ${nat.observed}` : nat.type === 'unknown' ? ', the beacon did not answer' : '';
  return `${NAT_TEXT[nat.type] ?? nat.type}${seen} (checked ${when(nat.checked_at)})`;
}

function traversalLine(t: NonNullable<Info['traversal']>): string {
  const relay = `punching and relay through the ${t.via} at ${t.relay}`;
  if (!t.beacon || t.via === 'beacon') return relay;
  return `${relay} (beacon ${t.beacon.endpoint} not in use: ${t.beacon.last_error ?? (t.beacon.registered ? 'its address disagrees with the registry' : 'not registered yet')})`;
}

function printInfo(ctx: Context, info: Info, headline: string | null): void {
  const p = ctx.printer;
  if (p.json) {
    printJson(p, info);
    return;
  }
  if (headline) p.out(headline);
  const registry = info.registry.registered
    ? `${info.registry.endpoint} (registered, seen as ${info.registry.observed ?? '?'}, last ok ${when(info.registry.last_ok_at)})`
    : `${info.registry.endpoint} (NOT registered: ${info.registry.last_error ?? 'not yet'})`;
  const rows: Array<[string, string]> = [
    ['hostname', info.hostname],
    ['address', info.address],
    ['fingerprint', info.fingerprint],
    ['listen', `udp ${info.listen}`],
    ['registry', registry],
    ...(info.nat ? [['nat', natLine(info.nat)] as [string, string]] : []),
    ...(info.traversal ? [['nat traversal', traversalLine(info.traversal)] as [string, string]] : []),
    ['trusted peers', String(info.trusted_peers)],
    ['pending requests', String(info.pending_incoming)],
    ['dropped (untrusted)', String(info.dropped_untrusted)],
    ['undelivered trust msgs', String(info.outbox)],
    ...(info.packet_cipher ? [['packet cipher', `AES-256-GCM, ${info.packet_cipher.backend}${info.packet_cipher.reason ? ` (native: ${info.packet_cipher.reason})` : ''}`] as [string, string]] : []),
    ...(info.roles?.monitor ? [['log monitor', monitorLine(info.roles.monitor)] as [string, string]] : []),
    ...(info.roles?.executor ? [['firewall executor', executorLine(info.roles.executor)] as [string, string]] : []),
    ['daemon', `pid ${info.pid}, up since ${when(info.started_at)}`],
    ['state dir', info.state_dir],
  ];
  for (const [k, v] of rows) p.out(`${k.padEnd(23)} ${v}`);
}

function daemonOptions(ctx: Context): DaemonOptions {
  const v = ctx.args.values;
  const keepalive = intOption(v, 'keepalive', 1, 3600, REGISTRY_KEEPALIVE_MS / 1000);
  return {
    stateDir: ctx.stateDir,
    ...(typeof v.hostname === 'string' ? { hostname: v.hostname } : {}),
    ...(typeof v.registry === 'string' ? { registry: v.registry } : {}),
    ...(typeof v.listen === 'string' ? { listen: v.listen } : {}),
    ...(typeof v['registry-key'] === 'string' ? { registryKey: v['registry-key'] } : {}),
    ...(typeof v.beacon === 'string' ? { beacon: v.beacon } : {}),
    ...(v.public ? { public: true } : {}),
    keepaliveMs: keepalive * 1000,
  };
}

async function runForeground(ctx: Context): Promise<number> {
  const viaIpc = Boolean(ctx.args.values['ready-ipc']) && typeof process.send === 'function';
  const log = (line: string): void => {
    process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  };
  let daemon: Daemon;
  try {
    // Rules and filters are checked before the node starts: a typo must not leave a half-started agent.
    const monitorSpecs = stringList(ctx.args.values.monitor);
    const rules = monitorSpecs.length > 0 || typeof ctx.args.values.rules === 'string' ? await rulesFromOption(ctx.args.values.rules) : [];
    const filters = filtersFromOptions(ctx.args.values.filter, ctx.args.values.mode);
    if (monitorSpecs.length === 0 && (filters.length > 0 || typeof ctx.args.values.rules === 'string')) {
      throw new UsageError('--rules and --filter configure the log monitor, which needs --monitor SOURCE', 'for example --monitor /var/log/auth.log');
    }
    const from = ctx.args.values['monitor-from'];
    if (from !== undefined && from !== 'start' && from !== 'end') throw new UsageError(`--monitor-from must be start or end, got "${String(from)}"`, 'end (default) reads only new lines of a log without a saved position');
    const executor = executorOptions(ctx);
    daemon = await Daemon.start({ ...daemonOptions(ctx), log });
    if (executor !== null) {
      try {
        // Loaded only when asked for: a monitor-only daemon never loads firewall code.
        const { ExecutorRole } = await import('../../agents/executor/executor-role.ts');
        await ExecutorRole.start({ daemon, ...executor, log });
      } catch (err) {
        await daemon.stop();
        throw err;
      }
    }
    if (monitorSpecs.length > 0) {
      try {
        const role = new MonitorRole({ daemon, specs: monitorSpecs, rules, filters, from: from ?? 'end', log });
        daemon.onStop(() => role.close());
        daemon.addInfo('monitor', () => role.stats());
      } catch (err) {
        await daemon.stop();
        throw err;
      }
    }
  } catch (err) {
    if (viaIpc) {
      const e = err as { code?: string; message?: string; hint?: string };
      process.send?.({ type: 'error', error: { code: e.code ?? 'internal', message: e.message ?? String(err), hint: e.hint ?? '' } });
      process.disconnect?.();
      return 1;
    }
    throw err;
  }
  const stop = () => void daemon.stop();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', () => {});
  if (viaIpc) {
    process.send?.({ type: 'ready', info: daemon.info() });
    process.disconnect?.();
  } else {
    printInfo(ctx, daemon.info() as unknown as Info, 'daemon running in the foreground (Ctrl-C stops it)');
  }
  await daemon.stopped;
  return 0;
}

async function runBackground(ctx: Context): Promise<number> {
  const existing = await runningDaemonPid(ctx.stateDir);
  if (existing) {
    throw new DaemonError('already_running', `a daemon is already running for ${ctx.stateDir} (pid ${existing})`, `stop it with: swarmctl --state-dir ${ctx.stateDir} daemon stop`);
  }
  if (stringList(ctx.args.values.monitor).some((spec) => spec === 'stdin' || spec === '-')) {
    throw new UsageError('--monitor stdin needs --foreground (a background daemon has no standard input)', 'for example: tail -F app.log | swarmctl daemon start --foreground --monitor stdin ...');
  }
  mkdirSync(ctx.stateDir, { recursive: true, mode: 0o700 });
  const paths = daemonPaths(ctx.stateDir);
  const logFd = openSync(paths.log, 'a', 0o600);
  const forwarded: string[] = ['--state-dir', ctx.stateDir, 'daemon', 'start', '--foreground', '--ready-ipc'];
  for (const name of ['hostname', 'registry', 'listen', 'registry-key', 'beacon', 'keepalive']) {
    const value = ctx.args.values[name];
    if (typeof value === 'string') forwarded.push(`--${name}`, value);
  }
  if (ctx.args.values.public) forwarded.push('--public');
  for (const spec of stringList(ctx.args.values.monitor)) forwarded.push('--monitor', absoluteSpec(spec));
  for (const filter of stringList(ctx.args.values.filter)) forwarded.push('--filter', resolve(filter));
  if (typeof ctx.args.values.rules === 'string') forwarded.push('--rules', resolve(ctx.args.values.rules));
  for (const allow of stringList(ctx.args.values.allow)) forwarded.push('--allow', allow);
  for (const permit of stringList(ctx.args.values.permit)) forwarded.push('--permit', permit);
  if (ctx.args.values['allow-private']) forwarded.push('--allow-private');
  for (const name of ['mode', 'monitor-from', 'executor', 'max-ttl', 'max-entries', 'widest-v4', 'widest-v6', 'netns']) {
    const value = ctx.args.values[name];
    if (typeof value === 'string') forwarded.push(`--${name}`, value);
  }
  const child = spawn(process.execPath, [BIN, ...forwarded], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'ipc'],
    env: process.env,
  });
  closeSync(logFd);
  const outcome = await new Promise<{ type: 'ready'; info: Info } | { type: 'error'; error: { code: string; message: string; hint: string } }>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      resolve({ type: 'error', error: { code: 'start_timeout', message: `the daemon did not come up within ${START_TIMEOUT_MS / 1000} s`, hint: `see ${paths.log}` } });
    }, START_TIMEOUT_MS);
    child.on('message', (msg: unknown) => {
      clearTimeout(timer);
      resolve(msg as { type: 'ready'; info: Info });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ type: 'error', error: { code: 'start_failed', message: `the daemon exited during start (code ${code})`, hint: `see ${paths.log}` } });
    });
  });
  child.removeAllListeners();
  if (child.connected) child.disconnect();
  child.unref();
  if (outcome.type === 'error') throw new DaemonError(outcome.error.code, outcome.error.message, outcome.error.hint);
  printInfo(ctx, outcome.info, `daemon started (pid ${outcome.info.pid}); logs: ${paths.log}`);
  return 0;
}

const GLOBAL_HINT = 'swarmctl [--state-dir DIR] ';
const EXECUTOR_BACKENDS = ['nftables', 'iptables', 'dry-run'] as const;

/** The firewall executor's settings from the command line, checked before the node starts; null without --executor. */
function executorOptions(ctx: Context): { backend: (typeof EXECUTOR_BACKENDS)[number]; policy: PolicyConfig; netns?: string } | null {
  const v = ctx.args.values;
  const backend = v.executor;
  if (backend === undefined) {
    const stray = ['allow', 'max-ttl', 'max-entries', 'widest-v4', 'widest-v6', 'permit', 'allow-private', 'netns'].find((name) => v[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} configures the firewall executor, which needs --executor BACKEND`, 'for example --executor nftables (or dry-run to try it out)');
    return null;
  }
  const name = EXECUTOR_BACKENDS.find((b) => b === backend);
  if (name === undefined) throw new UsageError(`--executor must be one of ${EXECUTOR_BACKENDS.join(', ')}, got "${String(backend)}"`, 'dry-run records decisions without touching any firewall');
  let maxTtlSeconds: number | undefined;
  if (v['max-ttl'] !== undefined) {
    const parsed = parseDuration(v['max-ttl']);
    if (!parsed.ok) throw new UsageError(`--max-ttl ${parsed.why}`, 'for example --max-ttl 24h');
    maxTtlSeconds = parsed.seconds;
  }
  const netns = v.netns;
  if (netns !== undefined && (typeof netns !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(netns))) {
    throw new UsageError('--netns must name a network namespace (letters, digits, "_", "-", ".")', 'see ip netns list');
  }
  const policy: PolicyConfig = {
    allowlist: stringList(v.allow).flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean),
    ...(maxTtlSeconds === undefined ? {} : { maxTtlSeconds }),
    ...(v['max-entries'] === undefined ? {} : { maxActiveEntries: intOption(v, 'max-entries', 1, 1_000_000, 10_000) }),
    // The widest block allowed, as a prefix length: nothing wider than a /16 (IPv4) or /48 (IPv6) by default.
    ...(v['widest-v4'] === undefined ? {} : { minPrefixLength4: intOption(v, 'widest-v4', 1, 32, 16) }),
    ...(v['widest-v6'] === undefined ? {} : { minPrefixLength6: intOption(v, 'widest-v6', 1, 128, 48) }),
    ...(v['allow-private'] === true ? { allowPrivate: true } : {}),
    ...(stringList(v.permit).length === 0 ? {} : { permittedRanges: stringList(v.permit).flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean) }),
  };
  return { backend: name, policy, ...(typeof netns === 'string' ? { netns } : {}) };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A --monitor spec checked, and a file path made absolute so the background daemon reads the file the user meant. */
function absoluteSpec(text: string): string {
  const spec = parseSourceSpec(text);
  if (spec instanceof SourceError) throw new UsageError(spec.message, spec.hint);
  return spec.kind === 'file' ? `file:${resolve(spec.path)}` : text;
}

export const daemonStart: Verb = {
  summary: 'start this node\'s daemon (in the background unless --foreground)',
  spec: {
    options: {
      hostname: { type: 'string' },
      registry: { type: 'string' },
      listen: { type: 'string' },
      public: { type: 'boolean' },
      'registry-key': { type: 'string' },
      beacon: { type: 'string' },
      foreground: { type: 'boolean' },
      keepalive: { type: 'string' },
      'ready-ipc': { type: 'boolean' },
      monitor: { type: 'string', multiple: true },
      rules: { type: 'string' },
      filter: { type: 'string', multiple: true },
      mode: { type: 'string' },
      'monitor-from': { type: 'string' },
      executor: { type: 'string' },
      allow: { type: 'string', multiple: true },
      'max-ttl': { type: 'string' },
      'max-entries': { type: 'string' },
      'widest-v4': { type: 'string' },
      'widest-v6': { type: 'string' },
      permit: { type: 'string', multiple: true },
      'allow-private': { type: 'boolean' },
      netns: { type: 'string' },
    },
    positionals: [],
    required: 0,
    usage:
      `${GLOBAL_HINT}daemon start --hostname NAME --registry HOST:PORT [--listen IP:PORT] [--public] [--beacon HOST:PORT] [--foreground]\n` +
      '  log monitor: [--monitor FILE|journald:UNIT|stdin ...] [--rules rules.yaml] [--filter fail2ban-filter.conf ...] [--mode MODE] [--monitor-from end|start]\n' +
      '  firewall executor: [--executor nftables|iptables|dry-run] [--allow CIDR ...] [--max-ttl 24h] [--max-entries 10000]\n' +
      '                     [--widest-v4 16] [--widest-v6 48] [--allow-private] [--permit CIDR ...] [--netns NAME]',
  },
  run(ctx) {
    if (ctx.args.values.foreground) return runForeground(ctx);
    return runBackground(ctx);
  },
};

export const daemonStop: Verb = {
  summary: 'stop this node\'s daemon',
  spec: { options: {}, positionals: [], required: 0, usage: `${GLOBAL_HINT}daemon stop` },
  async run(ctx) {
    const pid = await runningDaemonPid(ctx.stateDir);
    if (!pid) {
      if (ctx.printer.json) printJson(ctx.printer, { stopped: false, running: false });
      else ctx.printer.out(`no daemon is running for ${ctx.stateDir}`);
      return 0;
    }
    await callDaemon(ctx, 'stop', {}, { admin: true });
    const gone = await waitForExit(pid, 10_000);
    if (!gone) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 2_000);
    }
    if (ctx.printer.json) printJson(ctx.printer, { stopped: true, pid, forced: !gone });
    else ctx.printer.out(gone ? `daemon stopped (pid ${pid})` : `daemon did not stop in 10 s and was killed (pid ${pid})`);
    return 0;
  },
};

function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  return new Promise((resolve) => {
    const check = () => {
      try {
        process.kill(pid, 0);
      } catch {
        resolve(true);
        return;
      }
      if (Date.now() > deadline) resolve(false);
      else setTimeout(check, 25);
    };
    check();
  });
}

export const daemonStatus: Verb = {
  summary: 'is the daemon running, and is it registered',
  spec: { options: {}, positionals: [], required: 0, usage: `${GLOBAL_HINT}daemon status` },
  async run(ctx) {
    const pid = await runningDaemonPid(ctx.stateDir);
    if (!pid) {
      if (ctx.printer.json) printJson(ctx.printer, { running: false, state_dir: ctx.stateDir });
      else ctx.printer.out(`not running (state dir ${ctx.stateDir})`);
      return 3;
    }
    const info = (await callDaemon(ctx, 'status')) as Info;
    if (ctx.printer.json) printJson(ctx.printer, { running: true, ...info });
    else printInfo(ctx, info, `running (pid ${pid})`);
    return 0;
  },
};

export const info: Verb = {
  summary: 'this node: hostname, address, fingerprint, UDP socket, registry, counters',
  spec: { options: {}, positionals: [], required: 0, usage: `${GLOBAL_HINT}info [--json]` },
  async run(ctx) {
    printInfo(ctx, (await callDaemon(ctx, 'info')) as Info, null);
    return 0;
  },
};

