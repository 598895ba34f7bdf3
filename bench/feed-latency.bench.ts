/**
 * End-to-end latency of the anomaly feed: from a log line appended to a monitored file to its
 * anomaly visible in the console's DOM, while the log grows at 5,000 lines/s.
 *
 * Every part is the product's own, as separate processes on loopback: a registry, an agent daemon
 * started with `swarmctl daemon start --monitor FILE`, the console (`swarmctl console --web`) in
 * Debian's Chromium, the monitor trusted by the console with events.subscribe. A load writer
 * appends 5,000 sshd lines/s (routine logins and sessions, which are no attack). Every 250 ms a
 * probe appends a short brute force from a fresh address (198.18.0.0/15, the benchmarking range):
 * its 6th failure overflows the default leaky bucket, so the anomaly opens on that line. The
 * probe's time is taken right after that line is written; a MutationObserver in the page records
 * when a feed row naming the address first appears. Same machine, same clock.
 *
 * Target (issue "Log monitor agent..."): p99 < 250 ms at 5,000 lines/s sustained.
 *
 * Usage: node bench/feed-latency.bench.ts [--json] [--check] [--seconds N]
 * Results are written to bench/results/feed-latency.json.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { startRegistry } from '../core/overlay/registry-server.ts';
import { formatEndpoint } from '../core/overlay/transport.ts';
import { startConsole } from '../e2e/console-process.ts';
import { CHROMIUM_ARGS } from '../e2e/playwright.config.ts';

const BIN = fileURLToPath(new URL('../core/cli/bin/swarmctl.js', import.meta.url));
const LINES_PER_SECOND = 5_000;
const WRITE_EVERY_MS = 10;
const PROBE_EVERY_MS = 250;
/** The default auth-brute-force rule fires on the 6th failure within its leak. */
const PROBE_FAILURES = 6;
const TARGET_P99_MS = 250;
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Runs in the page (a string: this file is compiled without DOM types): records when a row naming
 * each probe address (198.18.0.0/15) first appears anywhere in the document.
 */
const SEEN_RECORDER = `(() => {
  const seen = new Map();
  window.__seen = seen;
  const scan = (node) => {
    const text = node.textContent || '';
    for (const m of text.matchAll(/198\\.1[89]\\.\\d+\\.\\d+/g)) if (!seen.has(m[0])) seen.set(m[0], Date.now());
  };
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) scan(n);
      if (r.type === 'characterData') scan(r.target);
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
})()`;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function swarmctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function must(args: string[]): Promise<string> {
  const r = await swarmctl(args);
  if (r.code !== 0) throw new Error(`swarmctl ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

function stamp(d: Date): string {
  const month = d.toLocaleString('en-US', { month: 'short' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${month} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const seconds = Number(argValue('--seconds') ?? 20);
  const root = mkdtempSync(join(tmpdir(), 'swarm-feed-latency-'));
  const log = join(root, 'auth.log');
  writeFileSync(log, '');
  const progress = (step: string) => console.error(`[feed latency bench] ${step}`);
  const registry = await startRegistry({ listen: '127.0.0.1:0', dbPath: join(root, 'registry.db'), network: 1 });
  const registryText = formatEndpoint(registry.local);
  const monitorDir = join(root, 'monitor');
  const consoleDir = join(root, 'console');
  mkdirSync(consoleDir, { recursive: true });
  let stopConsole: (() => Promise<void>) | null = null;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    progress('starting the monitor daemon and the console');
    await must(['--state-dir', monitorDir, 'daemon', 'start', '--hostname', 'gcp-log-monitor', '--registry', registryText, '--listen', '127.0.0.1:0', '--monitor', log]);
    const consoleApp = await startConsole(consoleDir, ['--no-lab', '--registry', registryText, '--hostname', 'soc-console']);
    stopConsole = consoleApp.stop;
    // The monitor asks the console for trust and offers it the event stream; the analyst approves.
    await must(['--state-dir', monitorDir, 'handshake', 'soc-console', 'log monitor: anomaly feed', '--offer', 'events.subscribe', '--want', 'events.publish']);
    await must(['--state-dir', consoleDir, 'approve', 'gcp-log-monitor']);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(consoleApp.url);
    await page.getByRole('button', { name: 'Feed', exact: true }).click();
    await page.getByRole('region', { name: 'Anomaly feed' }).waitFor();
    // Records when a row naming each probe address first shows up.
    await page.evaluate(SEEN_RECORDER);
    let probeCount = 0;
    const probeAt = new Map<string, number>();
    const writeProbe = () => {
      const n = probeCount++;
      const ip = `198.18.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      const now = new Date();
      const lines: string[] = [];
      for (let i = 0; i < PROBE_FAILURES; i++) lines.push(`${stamp(now)} edge-1 sshd[${50_000 + n}]: Failed password for root from ${ip} port ${40_000 + i} ssh2`);
      appendFileSync(log, `${lines.join('\n')}\n`);
      probeAt.set(ip, Date.now());
      return ip;
    };
    const waitSeen = async (ip: string) => {
      await page.waitForFunction(`window.__seen.has(${JSON.stringify(ip)})`, undefined, { timeout: 60_000 });
    };

    progress('warm-up probe (waits for the subscription to go live)');
    await waitSeen(writeProbe());

    progress(`measuring for ${seconds} s at ${LINES_PER_SECOND.toLocaleString('en-US')} lines/s`);
    probeAt.clear();
    let loadLines = 0;
    let pid = 1000;
    const loadStarted = performance.now();
    const loadTimer = setInterval(() => {
      const s = stamp(new Date());
      const out: string[] = [];
      // Timers drift under load: write what the rate says is due by now, not a fixed batch.
      const due = Math.floor(((performance.now() - loadStarted) / 1000) * LINES_PER_SECOND) - loadLines;
      for (let i = 0; i < due; i++) {
        const p = pid++;
        out.push(i % 2 === 0 ? `${s} edge-1 sshd[${p}]: Accepted publickey for deploy from 10.20.${(p >> 8) & 255}.${p & 255} port 51000 ssh2: ED25519 SHA256:abc` : `${s} edge-1 sshd[${p}]: pam_unix(sshd:session): session closed for user deploy`);
      }
      appendFileSync(log, `${out.join('\n')}\n`);
      loadLines += out.length;
    }, WRITE_EVERY_MS);
    const probeTimer = setInterval(writeProbe, PROBE_EVERY_MS);
    const started = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    clearInterval(probeTimer);
    clearInterval(loadTimer);
    const elapsed = (performance.now() - started) / 1000;
    // Give the last probes their chance to arrive (bounded).
    await page.waitForFunction(`${JSON.stringify([...probeAt.keys()])}.every((ip) => window.__seen.has(ip))`, undefined, { timeout: PROBE_TIMEOUT_MS }).catch(() => {});
    const seen = new Map<string, number>((await page.evaluate('[...window.__seen.entries()]')) as Array<[string, number]>);
    const latencies: number[] = [];
    let missing = 0;
    for (const [ip, at] of probeAt) {
      const shown = seen.get(ip);
      if (shown === undefined) missing++;
      else latencies.push(shown - at);
    }
    latencies.sort((a, b) => a - b);
    const p50 = latencies.length ? percentile(latencies, 0.5) : NaN;
    const p99 = latencies.length ? percentile(latencies, 0.99) : NaN;
    const results = {
      benchmark: 'feed-latency',
      measuredAt: new Date().toISOString(),
      environment: { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
      linesPerSecondTarget: LINES_PER_SECOND,
      linesPerSecondWritten: Math.round((loadLines + probeAt.size * PROBE_FAILURES) / elapsed),
      probes: probeAt.size,
      missing,
      latencyMs: { p50, p99, max: latencies.at(-1) ?? NaN, min: latencies[0] ?? NaN },
      targetP99Ms: TARGET_P99_MS,
      pass: missing === 0 && p99 < TARGET_P99_MS,
    };
    const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'feed-latency.json'), `${JSON.stringify(results, null, 2)}\n`);
    if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
    else {
      console.log(`\n## Feed latency benchmark (${results.environment.cpu}, ${results.environment.cores} cores, Node ${process.version})\n`);
      console.log('| metric | value | target | pass/fail |');
      console.log('| --- | --- | --- | --- |');
      console.log(`| log lines written | ${results.linesPerSecondWritten.toLocaleString('en-US')} lines/s for ${elapsed.toFixed(1)} s | ${LINES_PER_SECOND.toLocaleString('en-US')} lines/s | — |`);
      console.log(`| line appended → anomaly row in the DOM, p50 | ${p50} ms | — | — |`);
      console.log(`| line appended → anomaly row in the DOM, p99 | ${p99} ms (max ${results.latencyMs.max} ms, ${results.probes} probes, ${missing} missing) | < ${TARGET_P99_MS} ms | ${results.pass ? 'pass' : '**FAIL**'} |`);
    }
    if (process.argv.includes('--check') && !results.pass) process.exitCode = 1;
  } finally {
    await browser.close();
    await stopConsole?.();
    await swarmctl(['--state-dir', monitorDir, 'daemon', 'stop']);
    await registry.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
