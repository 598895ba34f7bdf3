/**
 * Log monitor benchmark: `swarmctl monitor scan` against `fail2ban-regex` (the peer) on the same
 * 200,000-line sshd log, built by repeating fail2ban's own annotated sshd test log.
 *
 * Both run as the command a user would type, as separate processes, timed wall-clock from spawn
 * to exit (so process start-up counts against both), output discarded:
 *
 *   swarmctl monitor scan FILE --json           parsers + detectors, one JSON object per event
 *   fail2ban-regex FILE /etc/fail2ban/filter.d/sshd.conf
 *
 * Also reported: the in-process scan rate (scanFile without process start-up) and the same scan
 * through our loader of fail2ban's sshd.conf filter (the community filter run by our engine).
 *
 * Usage: node bench/monitor.bench.ts [--json] [--check] [--lines N]
 * Results are written to bench/results/monitor.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtInRules } from '../core/agents/monitor/detect/rules.ts';
import { loadFail2banFilter } from '../core/agents/monitor/fail2ban/load-filter.ts';
import { scanFile } from '../core/agents/monitor/scan.ts';

const FAIL2BAN_SSHD_LOG = '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs/sshd';
const FAIL2BAN_SSHD_FILTER = '/etc/fail2ban/filter.d/sshd.conf';
const SWARMCTL = fileURLToPath(new URL('../core/cli/bin/swarmctl.js', import.meta.url));
const DEFAULT_LINES = 200_000;
const TARGET_RATIO = 50;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Repeats the annotated sshd log until it has `lines` lines (the last copy cut to fit). */
function buildLog(path: string, lines: number): void {
  const source = readFileSync(FAIL2BAN_SSHD_LOG, 'utf8').replace(/\r?\n$/, '').split(/\r?\n/);
  const out: string[] = [];
  while (out.length < lines) for (const l of source) if (out.length < lines) out.push(l);
  writeFileSync(path, `${out.join('\n')}\n`);
}

function timeCommand(command: string, args: string[]): Promise<{ seconds: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4000) stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ seconds: (performance.now() - t0) / 1000, code, stderr }));
  });
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const lines = Number(argValue('--lines') ?? DEFAULT_LINES);
  if (!existsSync(FAIL2BAN_SSHD_LOG) || !existsSync(FAIL2BAN_SSHD_FILTER)) {
    console.error('monitor bench: fail2ban is not installed (apt-get install fail2ban): it is both the test corpus and the peer');
    process.exitCode = 1;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'swarm-monitor-bench-'));
  const progress = (step: string) => console.error(`[monitor bench] ${step}`);
  try {
    const log = join(dir, 'sshd-200k.log');
    buildLog(log, lines);
    progress(`built ${lines.toLocaleString('en-US')}-line log`);

    progress('in-process scan (built-in parsers)');
    await scanFile({ path: log, rules: builtInRules() }); // warm-up: JIT and file cache
    const inProcess = await scanFile({ path: log, rules: builtInRules() });
    const filter = loadFail2banFilter(FAIL2BAN_SSHD_FILTER);
    if (!filter.ok) throw new Error(filter.error.message);
    progress('in-process scan (fail2ban sshd.conf through our loader)');
    const withFilter = await scanFile({ path: log, rules: builtInRules(), filters: [filter.filter] });

    progress('swarmctl monitor scan --json (process)');
    const ours = await timeCommand(process.execPath, [SWARMCTL, 'monitor', 'scan', log, '--json']);
    if (ours.code !== 0) throw new Error(`swarmctl monitor scan failed: ${ours.stderr}`);
    progress(`fail2ban-regex (process; this is the slow part)`);
    const peer = await timeCommand('fail2ban-regex', [log, FAIL2BAN_SSHD_FILTER]);
    if (peer.code !== 0) throw new Error(`fail2ban-regex failed: ${peer.stderr}`);

    const oursRate = Math.round(lines / ours.seconds);
    const peerRate = Math.round(lines / peer.seconds);
    const ratio = Math.round((oursRate / peerRate) * 10) / 10;
    const results = {
      benchmark: 'monitor',
      measuredAt: new Date().toISOString(),
      environment: { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
      lines,
      pass: ratio >= TARGET_RATIO,
      swarmctlScan: { seconds: ours.seconds, linesPerSecond: oursRate },
      fail2banRegex: { seconds: peer.seconds, linesPerSecond: peerRate },
      ratio,
      target: TARGET_RATIO,
      inProcess: { linesPerSecond: inProcess.linesPerSecond, events: inProcess.events, anomalies: inProcess.anomalies },
      inProcessFail2banFilter: { linesPerSecond: withFilter.linesPerSecond, events: withFilter.events, anomalies: withFilter.anomalies },
    };
    const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'monitor.json'), `${JSON.stringify(results, null, 2)}\n`);
    if (json) {
      console.log(JSON.stringify(results, null, 2));
    } else {
      const fmt = (n: number) => n.toLocaleString('en-US');
      console.log(`\n## Monitor benchmark (${results.environment.cpu}, ${results.environment.cores} cores, Node ${process.version}), ${fmt(lines)} sshd lines\n`);
      console.log('| metric | value | peer value | ratio | target | pass/fail |');
      console.log('| --- | --- | --- | --- | --- | --- |');
      console.log(
        `| swarmctl monitor scan --json (process, wall) | ${fmt(oursRate)} lines/s (${ours.seconds.toFixed(2)} s) | ${fmt(peerRate)} lines/s (${peer.seconds.toFixed(2)} s, fail2ban-regex sshd.conf) | ${ratio}× | ≥ ${TARGET_RATIO}× | ${results.pass ? 'pass' : '**FAIL**'} |`,
      );
      console.log(`| scan in process, built-in parsers | ${fmt(inProcess.linesPerSecond)} lines/s | — | — | — | — |`);
      console.log(`| scan in process, fail2ban sshd.conf via our loader | ${fmt(withFilter.linesPerSecond)} lines/s | — | — | — | — |`);
      console.log(`\nEvents ${fmt(inProcess.events)} (built-in) / ${fmt(withFilter.events)} (sshd.conf); anomalies ${inProcess.anomalies} / ${withFilter.anomalies}.`);
    }
    if (process.argv.includes('--check') && !results.pass) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
