/**
 * NAT traversal in the NAT lab (test/helpers/nat-lab.ts: network namespaces, real Linux NATs):
 * how often and how fast two peers get from nothing to a working tunnel, and what a stream
 * carries on a punched direct path compared with one relayed by the registry.
 *
 *   internet  203.0.113.1: the registry (punch coordinator and relay) and pub-p, a node with no NAT
 *      ├── cone-a   behind MASQUERADE               (endpoint-independent mapping)
 *      ├── cone-b   behind MASQUERADE
 *      ├── sym-c    behind MASQUERADE --random-fully (a new port per destination: symmetric)
 *      └── sym-d    behind MASQUERADE --random-fully
 *
 * Cases (each pair trusted through swarmctl handshake/approve, as operators would):
 *
 *   cone ↔ cone            cone-a, cone-b   expected direct (hole punching)
 *   public ↔ cone          pub-p, cone-a    expected direct
 *   cone ↔ symmetric       cone-b, sym-c    expected relay
 *   symmetric ↔ symmetric  sym-c, sym-d     expected relay
 *
 * A trial starts from nothing: both daemons forget their session (`reset`), and on every router
 * of the pair the conntrack entries towards the other side are deleted, so neither NAT has a
 * mapping or an open pinhole for the pair. The mappings towards the registry stay: in the field
 * they are held open by the registry keepalive, and deleting them would measure a NAT reboot
 * (behind a symmetric NAT the next registration gets a new port, so the relay's route would be
 * stale until then), not a first contact. Then the initiator — alternating between the two sides
 * from trial to trial — pings the other once (`ttfb`): tunnel handshake, punch or relay
 * fallback, one round trip. Time to first byte is from the start of that ping to its reply;
 * no reply within 5 s is a failure. The path is the initiator's session path after the reply.
 *
 * A punched peer goes on punching for 700 ms after the notice (PUNCH_SCHEDULE_MS in node.ts), and
 * those late packets re-open the pinholes the reset just closed: with trials 250 ms apart, some
 * cone ↔ cone trials came up direct in 5-10 ms without a punch. So after a trial that
 * asked for a punch its pair waits a second; the cases' trials are interleaved, and the pairs
 * that are ready measure meanwhile.
 *
 * Throughput: one stream of --mib MiB (default 16) cone-a → cone-b (direct) and cone-b → sym-c
 * (through the relay, which runs in the registry's process), alternating over five rounds after
 * an unmeasured one; MB/s (10^6 bytes) from the first write until the last byte is acknowledged,
 * median of the rounds. Each stream runs on a fresh session checked to be on its path.
 *
 * Targets: every trial succeeds and ends on its expected path; time to first byte p99 < 1 s on
 * the direct cases.
 *
 * Usage: node bench/nat.bench.ts [--json] [--check] [--trials N] [--mib N]
 * Needs root, iproute2, iptables and conntrack. About 4 minutes with 100 trials a case. Results
 * are written to bench/results/nat.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createNatLab, natLabSkipReason, type NatLab } from '../test/helpers/nat-lab.ts';
import { internetPlace, LAB_REGISTRY, lanPlace, LabPeer, startLabPeer, startLabRegistry, trustLabPeers } from '../test/helpers/lab-swarm.ts';
import { tempDir } from '../test/helpers/swarm.ts';

const DEFAULT_TRIALS = 100;
const DEFAULT_MIB = 16;
const WARMUP_TRIALS = 3;
const THROUGHPUT_ROUNDS = 5;
const TARGET_DIRECT_P99_MS = 1000;
/**
 * Trials of a case start at least this far apart. A node accepts 10 tunnel handshakes a second
 * per source (HANDSHAKE_RATE_PER_SOURCE, after a burst of 20): back to back, the fast relayed
 * trials would hit that limit and measure the rate limiter instead of the traversal.
 */
const TRIAL_SPACING_MS = 250;
/** Waited after a trial that asked for a punch: the peer punches until 700 ms after the notice. */
const PUNCH_TAIL_MS = 1000;
/** A trial whose ping never answers still ends when the handshake gives up (10 s): wait longer. */
const TRIAL_EVENT_TIMEOUT_MS = 20_000;

type PathName = 'direct' | 'relay';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function progress(message: string): void {
  process.stderr.write(`[nat] ${message}\n`);
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

interface NatCase {
  name: string;
  a: string;
  b: string;
  expected: PathName;
}

const CASES: readonly NatCase[] = [
  { name: 'cone ↔ cone', a: 'cone-a', b: 'cone-b', expected: 'direct' },
  { name: 'public ↔ cone', a: 'pub-p', b: 'cone-a', expected: 'direct' },
  { name: 'cone ↔ symmetric', a: 'cone-b', b: 'sym-c', expected: 'relay' },
  { name: 'symmetric ↔ symmetric', a: 'sym-c', b: 'sym-d', expected: 'relay' },
];

interface Trial {
  initiator: string;
  ok: boolean;
  ms: number;
  path: PathName | null;
  /** Punches the initiator asked the registry for (0: the first initiation, or the relay, got through). */
  punchRequests: number;
  /** Conntrack entries the reset deleted on the routers of the pair (the previous trial's path). */
  flowsDeleted: number;
  error?: string;
}

interface CaseResult {
  name: string;
  pair: [string, string];
  expected: PathName;
  trials: number;
  successes: number;
  successRate: number;
  onExpectedPath: number;
  paths: Record<string, number>;
  ttfbMs: { p50: number; p90: number; p99: number; max: number };
  byInitiator: Array<{ initiator: string; trials: number; successes: number; withPunch: number; p50Ms: number; p99Ms: number; maxMs: number }>;
  flowsDeletedPerTrial: { min: number; max: number };
  pass: boolean;
  /** Trials that failed or ended on an unexpected path, with both daemons' logs meanwhile. */
  anomalies: Array<Trial & { index: number; log: Record<string, string[]> }>;
  raw: Trial[];
}

interface ThroughputRun {
  path: PathName;
  from: string;
  to: string;
  bytes: number;
  mbPerS: number;
  ms: number;
  connectMs: number;
  intact: boolean;
  sessionPath: PathName | null;
  /**
   * Relayed runs: UDP datagrams the internet namespace's sockets took in and sent out meanwhile
   * (almost all the relay's; in − out ≈ frames the relay dropped at its per-sender rate), and
   * datagrams lost to a full receive buffer before the registry could read them.
   */
  relayUdp?: { in: number; out: number; rcvbufErrors: number };
}

/** Deletes the conntrack entries of `x`'s router towards `y` (its NAT mapping and pinhole for y); returns how many. */
async function forgetPairOnRouter(lab: NatLab, x: LabPeer, y: LabPeer): Promise<number> {
  const routerNs = x.place.routerNs;
  if (routerNs === null) return 0;
  // The public node shares the registry's address: match its port too, so x's registry mapping stays.
  const filter = y.place.routerNs === null ? ['--orig-dst', y.place.publicIp, '--dport', String(y.port)] : ['--orig-dst', y.place.publicIp];
  const r = await lab.exec(routerNs, ['conntrack', '-D', '-p', 'udp', ...filter]);
  const m = /(\d+) flow entries have been deleted/.exec(r.stderr);
  if (!m) throw new Error(`conntrack -D in ${routerNs} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return Number(m[1]);
}

async function resetPair(lab: NatLab, x: LabPeer, y: LabPeer): Promise<number> {
  await Promise.all([x.command({ op: 'reset', target: y.hostname }, 'reset', 10_000), y.command({ op: 'reset', target: x.hostname }, 'reset', 10_000)]);
  const [n1, n2] = await Promise.all([forgetPairOnRouter(lab, x, y), forgetPairOnRouter(lab, y, x)]);
  return n1 + n2;
}

async function trial(lab: NatLab, initiator: LabPeer, responder: LabPeer): Promise<Trial> {
  const flowsDeleted = await resetPair(lab, initiator, responder);
  const e = await initiator.command({ op: 'ttfb', target: responder.hostname }, 'ttfb', TRIAL_EVENT_TIMEOUT_MS);
  return {
    initiator: initiator.hostname,
    ok: e.ok === true,
    ms: e.ms ?? Number.NaN,
    path: e.path ?? null,
    punchRequests: e.punch_requests ?? 0,
    flowsDeleted,
    ...(e.error ? { error: e.error } : {}),
  };
}

/** One case's trials so far, and when its pair may start the next one. */
interface CaseRun {
  c: NatCase;
  a: LabPeer;
  b: LabPeer;
  /** Trials run, warm-up included. */
  done: number;
  raw: Trial[];
  anomalies: CaseResult['anomalies'];
  readyAt: number;
}

/**
 * Runs the cases' trials interleaved, always the pair that may start soonest: while one pair
 * waits out the punches of its last trial, the others measure. A pair's trials never overlap
 * (they run one at a time) and its state is reset before each, so the others cannot leak into it.
 */
async function runCases(lab: NatLab, peers: Map<string, LabPeer>, trials: number): Promise<CaseResult[]> {
  const runs: CaseRun[] = CASES.map((c) => ({ c, a: peers.get(c.a)!, b: peers.get(c.b)!, done: 0, raw: [], anomalies: [], readyAt: 0 }));
  const total = WARMUP_TRIALS + trials;
  let measured = 0;
  for (;;) {
    const waiting = runs.filter((r) => r.done < total);
    if (waiting.length === 0) break;
    const run = waiting.reduce((x, y) => (y.readyAt < x.readyAt || (y.readyAt === x.readyAt && y.done < x.done) ? y : x));
    const wait = run.readyAt - performance.now();
    if (wait > 0) await sleep(wait);
    const index = run.done - WARMUP_TRIALS; // negative: warm-up
    const [initiator, responder] = run.done % 2 === 0 ? [run.a, run.b] : [run.b, run.a];
    const started = performance.now();
    const t = await trial(lab, initiator, responder);
    const ended = performance.now();
    run.done++;
    // The peer goes on punching up to 700 ms after a punch notice (PUNCH_SCHEDULE_MS in node.ts):
    // those packets would open the NATs for the next trial of this pair, so wait them out.
    run.readyAt = Math.max(started + TRIAL_SPACING_MS, t.punchRequests > 0 ? ended + PUNCH_TAIL_MS : 0);
    if (index < 0) continue;
    run.raw.push(t);
    if (!t.ok || t.path !== run.c.expected) {
      run.anomalies.push({ ...t, index, log: { [run.a.hostname]: run.a.logBetween(started, ended), [run.b.hostname]: run.b.logBetween(started, ended) } });
      progress(`  ${run.c.name} trial ${index + 1}: ${t.ok ? `ok in ${t.ms.toFixed(0)} ms` : `FAILED (${t.error ?? 'no reply'})`} on path ${t.path ?? 'none'} (expected ${run.c.expected})`);
    }
    if (++measured % 40 === 0) progress(`  ${measured}/${trials * runs.length} trials (${runs.map((r) => `${r.c.name} ${r.raw.length}`).join(', ')})`);
  }
  return runs.map((r) => summarize(r, trials));
}

function summarize(run: CaseRun, trials: number): CaseResult {
  const { c, a, b, raw } = run;
  const okMs = raw.filter((t) => t.ok).map((t) => t.ms).sort((x, y) => x - y);
  const paths: Record<string, number> = {};
  for (const t of raw) paths[t.path ?? 'none'] = (paths[t.path ?? 'none'] ?? 0) + 1;
  const successes = okMs.length;
  const onExpectedPath = raw.filter((t) => t.ok && t.path === c.expected).length;
  const ttfbMs = { p50: round1(percentile(okMs, 50)), p90: round1(percentile(okMs, 90)), p99: round1(percentile(okMs, 99)), max: round1(okMs.at(-1) ?? Number.NaN) };
  const byInitiator = [a, b].map((p) => {
    const mine = raw.filter((t) => t.initiator === p.hostname);
    const ms = mine.filter((t) => t.ok).map((t) => t.ms).sort((x, y) => x - y);
    return {
      initiator: p.hostname,
      trials: mine.length,
      successes: ms.length,
      withPunch: mine.filter((t) => t.punchRequests > 0).length,
      p50Ms: round1(percentile(ms, 50)),
      p99Ms: round1(percentile(ms, 99)),
      maxMs: round1(ms.at(-1) ?? Number.NaN),
    };
  });
  const deleted = raw.map((t) => t.flowsDeleted);
  const pass = successes === trials && onExpectedPath === trials && (c.expected !== 'direct' || ttfbMs.p99 < TARGET_DIRECT_P99_MS);
  return {
    name: c.name,
    pair: [a.hostname, b.hostname],
    expected: c.expected,
    trials,
    successes,
    successRate: trials > 0 ? successes / trials : Number.NaN,
    onExpectedPath,
    paths,
    ttfbMs,
    byInitiator,
    flowsDeletedPerTrial: { min: Math.min(...deleted), max: Math.max(...deleted) },
    pass,
    anomalies: run.anomalies,
    raw: raw.map((t) => ({ ...t, ms: round1(t.ms) })),
  };
}

/** The kernel's UDP counters of a namespace (/proc/net/snmp is per network namespace). */
async function udpCounters(lab: NatLab, ns: string): Promise<Record<string, number>> {
  const { stdout } = await lab.exec(ns, ['cat', '/proc/net/snmp']);
  const [names, values] = stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const keys = (names ?? '').split(/\s+/).slice(1);
  const nums = (values ?? '').split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, nums[i] ?? 0]));
}

async function throughputRun(lab: NatLab, from: LabPeer, to: LabPeer, path: PathName, bytes: number): Promise<ThroughputRun> {
  // A fresh session, checked to be on the path this run is about.
  const ready = await from.command({ op: 'ttfb', target: to.hostname }, 'ttfb', TRIAL_EVENT_TIMEOUT_MS);
  if (!ready.ok || ready.path !== path) throw new Error(`${from.hostname} → ${to.hostname}: the session came up on ${ready.path ?? 'no path'}, not ${path}`);
  // The relay's side, from the kernel: what reached the registry's socket, what it sent on, what
  // the socket buffer overflowed (the registry does not publish its own counters).
  const before = path === 'relay' ? await udpCounters(lab, lab.internetNs) : null;
  const received = to.next((e) => e.event === 'received' && e.from === from.hostname, `the stream from ${from.hostname}`, 300_000);
  const sent = await from.command({ op: 'send', target: to.hostname, bytes }, 'sent', 300_000);
  const got = await received;
  const after = before ? await udpCounters(lab, lab.internetNs) : null;
  const delta = (k: string) => (after?.[k] ?? 0) - (before?.[k] ?? 0);
  const ms = (sent.ms ?? Number.NaN) - (sent.connect_ms ?? 0);
  return {
    path,
    from: from.hostname,
    to: to.hostname,
    bytes,
    mbPerS: round1(bytes / 1e6 / (ms / 1000)),
    ms: round1(ms),
    connectMs: round1(sent.connect_ms ?? Number.NaN),
    intact: got.bytes === bytes && got.sha256 === sent.sha256,
    sessionPath: sent.path ?? null,
    ...(before ? { relayUdp: { in: delta('InDatagrams'), out: delta('OutDatagrams'), rcvbufErrors: delta('RcvbufErrors') } } : {}),
  };
}

function toolMissing(): string | null {
  for (const [tool, pkg] of [['conntrack', 'conntrack'], ['iptables', 'iptables']] as const) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  return null;
}

async function main(): Promise<void> {
  const trials = Number(argValue('--trials') ?? DEFAULT_TRIALS);
  const mib = Number(argValue('--mib') ?? DEFAULT_MIB);
  const json = process.argv.includes('--json');
  if (!Number.isInteger(trials) || trials < 1 || !(mib > 0)) {
    console.error('nat bench: --trials needs a whole number ≥ 1 and --mib a positive number');
    process.exitCode = 2;
    return;
  }
  const skip = natLabSkipReason() ?? toolMissing();
  if (skip) {
    console.error(`nat bench: cannot run the NAT lab here: ${skip}`);
    process.exitCode = 1;
    return;
  }

  const root = tempDir('swarm-natb-');
  progress('building the NAT lab: 2 cone NATs, 2 symmetric NATs, the internet segment');
  const lab = await createNatLab(['cone', 'cone', 'symmetric', 'symmetric']);
  const onSignal = () => void lab.destroy().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const peers = new Map<string, LabPeer>();
  try {
    await startLabRegistry(lab, root);
    const [l1, l2, l3, l4] = lab.lans;
    const places = { 'cone-a': lanPlace(l1!), 'cone-b': lanPlace(l2!), 'sym-c': lanPlace(l3!), 'sym-d': lanPlace(l4!), 'pub-p': internetPlace(lab) };
    progress(`starting the registry at ${LAB_REGISTRY} and ${Object.keys(places).length} lab daemons`);
    await Promise.all(Object.entries(places).map(async ([hostname, place]) => peers.set(hostname, await startLabPeer(lab, root, place, hostname))));
    progress(`NATs seen by the daemons: ${[...peers.values()].map((p) => `${p.hostname} ${p.nat}`).join(', ')}`);

    for (const c of CASES) await trustLabPeers(peers.get(c.a)!, peers.get(c.b)!);

    const started = performance.now();
    progress(`${trials} trials from nothing per case, interleaved, initiator alternating: ${CASES.map((c) => `${c.name} (${c.a}, ${c.b}; ${c.expected})`).join(', ')}`);
    const cases = await runCases(lab, peers, trials);

    progress(`throughput: ${mib} MiB streams, direct (cone-a → cone-b) and relayed (cone-b → sym-c), ${THROUGHPUT_ROUNDS} rounds`);
    const bytes = Math.round(mib * 1024 * 1024);
    const runs: ThroughputRun[] = [];
    let damaged = false;
    const direct = () => throughputRun(lab, peers.get('cone-a')!, peers.get('cone-b')!, 'direct', bytes);
    const relayed = () => throughputRun(lab, peers.get('cone-b')!, peers.get('sym-c')!, 'relay', bytes);
    // One unmeasured round first: the JIT and the socket buffers of all four processes settle.
    for (let r = -1; r < THROUGHPUT_ROUNDS; r++) {
      // Alternate which goes first, so drift on a shared machine hits both alike.
      for (const run of r % 2 === 0 ? [direct, relayed] : [relayed, direct]) {
        const result = await run();
        const relay = result.relayUdp ? ` (relay: ${result.relayUdp.in} datagrams in, ${result.relayUdp.out} out, ${result.relayUdp.rcvbufErrors} lost to a full buffer)` : '';
        progress(`  ${r < 0 ? 'warm-up ' : ''}${result.path}: ${result.mbPerS} MB/s${relay}${result.intact ? '' : ' (DATA DAMAGED)'}`);
        if (r >= 0) runs.push(result);
        if (!result.intact) damaged = true; // damaged data fails the run, warm-up or not
      }
    }
    const directMb = median(runs.filter((r) => r.path === 'direct').map((r) => r.mbPerS));
    const relayMb = median(runs.filter((r) => r.path === 'relay').map((r) => r.mbPerS));
    const throughputOk = !damaged && runs.every((r) => r.intact && r.sessionPath === r.path);

    const pass = cases.every((c) => c.pass) && throughputOk;
    const results = {
      benchmark: 'nat',
      measuredAt: new Date().toISOString(),
      environment: { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, conntrack: spawnSync('conntrack', ['--version']).stdout.toString().trim() },
      parameters: { trials, warmupTrials: WARMUP_TRIALS, trialSpacingMs: TRIAL_SPACING_MS, punchTailMs: PUNCH_TAIL_MS, replyTimeoutMs: 5000, streamBytes: bytes, throughputRounds: THROUGHPUT_ROUNDS },
      nat: Object.fromEntries([...peers.values()].map((p) => [p.hostname, p.nat])),
      pass,
      targets: { successRate: 1, expectedPath: 'every trial', directTtfbP99Ms: TARGET_DIRECT_P99_MS },
      trialsSeconds: round1((performance.now() - started) / 1000),
      cases: cases.map((c) => ({ ...c, successRate: Math.round(c.successRate * 10_000) / 10_000 })),
      throughput: { directMbPerS: directMb, relayMbPerS: relayMb, relayedOverDirect: Math.round((relayMb / directMb) * 100) / 100, intact: throughputOk, runs },
    };
    const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'nat.json'), `${JSON.stringify(results, null, 2)}\n`);

    if (json) {
      console.log(JSON.stringify(results, null, 2));
    } else {
      const ms = (n: number) => (Number.isNaN(n) ? '—' : n >= 100 ? `${Math.round(n)} ms` : `${n.toFixed(1)} ms`);
      console.log(`\n## NAT traversal (${results.environment.cpu}, ${results.environment.cores} cores, Node ${process.version}), ${trials} trials a case in the NAT lab\n`);
      console.log('| case | expected | trials | replies | success | paths | TTFB p50 | p90 | p99 | max | target | pass/fail |');
      console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const c of cases) {
        const paths = Object.entries(c.paths)
          .map(([p, n]) => `${p} ${n}`)
          .join(', ');
        const target = c.expected === 'direct' ? `100 %, all direct, p99 < ${TARGET_DIRECT_P99_MS} ms` : '100 %, all relay';
        console.log(
          `| ${c.name} | ${c.expected} | ${c.trials} | ${c.successes} | ${(c.successRate * 100).toFixed(1)} % | ${paths} | ${ms(c.ttfbMs.p50)} | ${ms(c.ttfbMs.p90)} | ${ms(c.ttfbMs.p99)} | ${ms(c.ttfbMs.max)} | ${target} | ${c.pass ? 'pass' : '**FAIL**'} |`,
        );
      }
      console.log('\nBy initiator (the trials alternate):\n');
      console.log('| case | initiator | trials | replies | asked for a punch | TTFB p50 | p99 | max |');
      console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const c of cases) {
        for (const d of c.byInitiator) console.log(`| ${c.name} | ${d.initiator} | ${d.trials} | ${d.successes} | ${d.withPunch} | ${ms(d.p50Ms)} | ${ms(d.p99Ms)} | ${ms(d.maxMs)} |`);
      }
      console.log(`\nStream throughput, ${mib} MiB, median of ${THROUGHPUT_ROUNDS} rounds:\n`);
      console.log('| path | pair | MB/s | runs (MB/s) | vs direct |');
      console.log('| --- | --- | --- | --- | --- |');
      console.log(`| direct (punched) | cone-a → cone-b | ${directMb} | ${runs.filter((r) => r.path === 'direct').map((r) => r.mbPerS).join(', ')} | 1.00× |`);
      console.log(`| relayed (registry) | cone-b → sym-c | ${relayMb} | ${runs.filter((r) => r.path === 'relay').map((r) => r.mbPerS).join(', ')} | ${results.throughput.relayedOverDirect.toFixed(2)}× |`);
      console.log(`\nEvery stream arrived intact on its expected path: ${throughputOk ? 'yes' : '**NO**'}. Overall: ${pass ? 'pass' : '**FAIL**'}.`);
    }
    if (process.argv.includes('--check') && !pass) process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const p of peers.values()) p.child.stdin?.end();
    await lab.destroy();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
