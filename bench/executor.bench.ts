/**
 * Firewall executor benchmark: how long it takes to put 10,000 blocks into the kernel with the
 * executor's backends, against the way it is often done by hand or by older tools — one
 * `iptables -A INPUT -s ADDRESS -j DROP` per address (the peer), measured in the same run.
 *
 *   nftables set, one batch          NftablesBackend.block(10,000): table, sets and one `nft -f -` transaction
 *   nftables set, one call per block NftablesBackend.block([one]) per address (what execute() does per order); sampled
 *   ipset, one batch                 IptablesBackend.block(10,000): sets, rules and one `ipset restore`
 *   ipset, one call per block        IptablesBackend.block([one]) per address; sampled
 *   peer: iptables -A per address    10,000 processes, one rule each (iptables-nft on Debian)
 *   peer: iptables-restore, batch    the same 10,000 rules in one `iptables-restore --noflush`
 *   executor end to end              FirewallExecutor.execute() per order: policy, SQLite, nft; sampled, p50/p99
 *   list (reconciliation read-back)  backend.list() with 10,000 entries
 *
 * Everything runs inside a throwaway network namespace: the benchmark re-executes itself there
 * (`ip netns exec NS node executor.bench.ts --inside-netns`), so the commands run as they would
 * on a host, without a per-command `ip netns exec`, and the host's firewall is never touched.
 * Sampled rows time `--sample` (default 500) calls and extrapolate to 10,000: per-call nft costs
 * tens of milliseconds of process start-up, and 10,000 of them would take minutes to say so.
 *
 * Packet path: UDP round trips over loopback inside the namespace with no rules, with the
 * 10,000-entry nftables set, with the ipset and with the 10,000 iptables rules: what each
 * arrangement costs every packet that is NOT blocked (a rule list is walked to its end).
 *
 * Usage: node bench/executor.bench.ts [--json] [--check] [--entries N] [--sample N]
 * Needs root, nftables, iptables and ipset. Results are written to bench/results/executor.json.
 */
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FirewallBlock } from '../core/agents/executor/backend.ts';
import { parseCidr, type Cidr } from '../core/agents/executor/cidr.ts';
import { INSIDE_NETNS_FLAG, measureInFreshNetns } from './netns-harness.ts';
import { findBinary } from '../core/agents/executor/command-runner.ts';
import { FirewallExecutor } from '../core/agents/executor/executor.ts';
import { IptablesBackend } from '../core/agents/executor/iptables-backend.ts';
import { NftablesBackend } from '../core/agents/executor/nftables-backend.ts';

const run = promisify(execFile);
const DEFAULT_ENTRIES = 10_000;
const DEFAULT_SAMPLE = 500;
/** The batch through an nftables set should beat one iptables process per address by at least this. */
const TARGET_SPEEDUP = 10;
const TTL_SECONDS = 3600;
/** Loopback round trips per packet-path measurement (after 2,000 to warm up). */
const ROUND_TRIPS = 20_000;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Distinct public /32s outside every special-purpose range (20.0.0.0/8), so the policy admits them. */
function addresses(count: number): Cidr[] {
  return Array.from({ length: count }, (_, i) => {
    const r = parseCidr(`20.${(i >> 14) & 255}.${(i >> 6) & 255}.${(i & 63) + 1}`);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  });
}

interface Row {
  readonly method: string;
  readonly entries: number;
  /** Seconds for `entries` (measured, or extrapolated from a sample). */
  readonly seconds: number;
  readonly measuredEntries: number;
  readonly extrapolated: boolean;
  readonly note?: string;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function progress(step: string): void {
  console.error(`[executor bench] ${step}`);
}

/** Runs one process per item, sequentially, like a shell loop would. */
function spawnEach(commands: ReadonlyArray<readonly [string, ...string[]]>): Promise<void> {
  return commands.reduce<Promise<void>>(
    (chain, [command, ...args]) =>
      chain.then(
        () =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            child.on('error', reject);
            child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: ${stderr}`))));
          }),
      ),
    Promise.resolve(),
  );
}

/**
 * Round trips of a UDP ping-pong over loopback inside the namespace: both datagrams of each
 * round trip traverse the INPUT hook, so this is what every packet pays for the rules in place
 * (a source that is not blocked: the worst case for a rule list, which is walked to the end).
 */
async function loopbackRoundTrips(count: number): Promise<number> {
  const echo = createSocket('udp4');
  const client = createSocket('udp4');
  await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  echo.on('message', (msg, from) => echo.send(msg, from.port, from.address));
  const port = echo.address().port;
  const payload = Buffer.alloc(64);
  const seconds = await timed(
    () =>
      new Promise<void>((resolve) => {
        let left = count;
        // A datagram lost on loopback would stall the ping-pong: send again after a quiet moment.
        let retry: NodeJS.Timeout | undefined;
        const send = () => {
          clearTimeout(retry);
          retry = setTimeout(send, 200);
          client.send(payload, port, '127.0.0.1');
        };
        client.on('message', () => {
          if (--left > 0) return send();
          clearTimeout(retry);
          resolve();
        });
        send();
      }),
  );
  echo.close();
  client.close();
  return (seconds / count) * 1e6;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** The measurements, inside the namespace. Prints JSON on stdout. */
async function inside(entries: number, sample: number): Promise<void> {
  const all = addresses(entries);
  const blocks: FirewallBlock[] = all.map((cidr) => ({ cidr, ttlSeconds: TTL_SECONDS }));
  const sampled = blocks.slice(0, Math.min(sample, blocks.length));
  const rows: Row[] = [];
  const extrapolate = (method: string, seconds: number, note?: string): Row => ({
    method,
    entries: all.length,
    seconds: (seconds / sampled.length) * all.length,
    measuredEntries: sampled.length,
    extrapolated: sampled.length < all.length,
    ...(note === undefined ? {} : { note }),
  });

  const packetPath: Array<{ ruleset: string; microsecondsPerRoundTrip: number }> = [];
  const measurePackets = async (ruleset: string) => {
    await loopbackRoundTrips(2_000);
    packetPath.push({ ruleset, microsecondsPerRoundTrip: await loopbackRoundTrips(ROUND_TRIPS) });
  };
  progress('packet path: loopback round trips with no rules');
  await measurePackets('no rules');

  const nft = new NftablesBackend({ table: 'swarm_soc_bench' });
  progress(`nftables: ${all.length.toLocaleString('en-US')} blocks in one nft -f - transaction`);
  const nftBatch = await timed(async () => {
    await nft.setup();
    await nft.block(blocks);
  });
  rows.push({ method: 'nftables set, one batch (nft -f -)', entries: all.length, seconds: nftBatch, measuredEntries: all.length, extrapolated: false });
  progress('packet path: with the nftables set');
  await measurePackets(`nftables set of ${all.length.toLocaleString('en-US')}`);
  let listed = 0;
  const nftList = await timed(async () => {
    listed = (await nft.list()).length;
  });
  if (listed !== all.length) throw new Error(`nftables holds ${listed} entries, expected ${all.length}`);
  rows.push({ method: 'nftables list() read-back', entries: all.length, seconds: nftList, measuredEntries: all.length, extrapolated: false });
  const nftRefresh = await timed(() => nft.block(blocks));
  rows.push({ method: 'nftables refresh all (same batch again)', entries: all.length, seconds: nftRefresh, measuredEntries: all.length, extrapolated: false });
  await nft.flush();

  progress(`nftables: ${sampled.length} blocks, one nft process each`);
  await nft.setup();
  const nftEach = await timed(async () => {
    for (const b of sampled) await nft.block([b]);
  });
  rows.push(extrapolate('nftables set, one call per block', nftEach));
  await nft.flush();

  const ipt = new IptablesBackend({ setPrefix: 'swarm_bench', maxElements: all.length });
  progress(`ipset: ${all.length.toLocaleString('en-US')} blocks in one ipset restore`);
  const iptBatch = await timed(async () => {
    await ipt.setup();
    await ipt.block(blocks);
  });
  rows.push({ method: 'ipset + 1 iptables rule, one batch (ipset restore)', entries: all.length, seconds: iptBatch, measuredEntries: all.length, extrapolated: false });
  progress('packet path: with the ipset');
  await measurePackets(`ipset of ${all.length.toLocaleString('en-US')} (one iptables rule)`);
  const iptList = await timed(async () => {
    listed = (await ipt.list()).length;
  });
  if (listed !== all.length) throw new Error(`ipset holds ${listed} entries, expected ${all.length}`);
  rows.push({ method: 'ipset list() read-back', entries: all.length, seconds: iptList, measuredEntries: all.length, extrapolated: false });
  await ipt.flush();
  progress(`ipset: ${sampled.length} blocks, one ipset process each`);
  await ipt.setup();
  const iptEach = await timed(async () => {
    for (const b of sampled) await ipt.block([b]);
  });
  rows.push(extrapolate('ipset, one call per block', iptEach));
  await ipt.flush();

  const iptables = findBinary('iptables') as string;
  progress(`peer: iptables -A INPUT -s X -j DROP, ${all.length.toLocaleString('en-US')} processes (the slow part)`);
  const peerEach = await timed(() => spawnEach(all.map((c) => [iptables, '-w', '-A', 'INPUT', '-s', c.text, '-j', 'DROP'] as const)));
  rows.push({ method: 'peer: iptables -A INPUT -s X -j DROP per address', entries: all.length, seconds: peerEach, measuredEntries: all.length, extrapolated: false });
  progress('packet path: with the iptables rules');
  await measurePackets(`${all.length.toLocaleString('en-US')} iptables rules`);
  await run(iptables, ['-w', '-F', 'INPUT']);
  progress('peer: the same rules in one iptables-restore --noflush');
  const restore = `*filter\n${all.map((c) => `-A INPUT -s ${c.text} -j DROP`).join('\n')}\nCOMMIT\n`;
  const peerBatch = await timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(findBinary('iptables-restore') as string, ['-w', '--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`iptables-restore: ${stderr}`))));
        child.stdin.end(restore);
      }),
  );
  rows.push({ method: 'peer: iptables-restore, one rule per address, one batch', entries: all.length, seconds: peerBatch, measuredEntries: all.length, extrapolated: false });
  await run(iptables, ['-w', '-F', 'INPUT']);

  progress(`executor: ${sampled.length} orders through FirewallExecutor.execute (policy, SQLite, nft)`);
  const dir = mkdtempSync(join(tmpdir(), 'executor-bench-'));
  const executor = await FirewallExecutor.open({
    dbPath: join(dir, 'executor.db'),
    backend: new NftablesBackend({ table: 'swarm_soc_bench' }),
    policy: { maxActiveEntries: Math.max(all.length, 1) },
    protectedAddresses: () => [],
  });
  const latencies: number[] = [];
  const executorEach = await timed(async () => {
    for (const [i, b] of sampled.entries()) {
      const t0 = performance.now();
      const r = await executor.execute({
        requestId: `bench-${i}`,
        incidentId: null,
        action: 'block',
        cidr: b.cidr.text,
        ttlSeconds: TTL_SECONDS,
        reason: 'benchmark',
        requester: { fingerprint: 'BENCH', hostname: 'bench' },
        issuedAt: Date.now(),
      });
      if (r.status !== 'applied') throw new Error(`order ${i}: ${r.status} ${r.reason ?? ''}`);
      latencies.push(performance.now() - t0);
    }
  });
  await executor.flush();
  await executor.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  rows.push(extrapolate('executor end to end, one order at a time', executorEach, `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms per order`));

  const versions = {
    nft: (await run('nft', ['--version'])).stdout.trim(),
    iptables: (await run(iptables, ['--version'])).stdout.trim(),
    ipset: (await run('ipset', ['--version'])).stdout.trim(),
  };
  console.log(JSON.stringify({ rows, packetPath, versions }));
}

async function main(): Promise<void> {
  const entries = Number(argValue('--entries') ?? DEFAULT_ENTRIES);
  const sample = Number(argValue('--sample') ?? DEFAULT_SAMPLE);
  if (process.argv.includes(INSIDE_NETNS_FLAG)) {
    await inside(entries, sample);
    return;
  }
  const json = process.argv.includes('--json');
  if (process.getuid?.() !== 0) {
    console.error('executor bench: needs root (it creates a network namespace and changes the firewall inside it)');
    process.exitCode = 1;
    return;
  }
  for (const [tool, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['iptables', 'iptables'], ['iptables-restore', 'iptables'], ['ipset', 'ipset']] as const) {
    if (findBinary(tool) === null) {
      console.error(`executor bench: ${tool} is not installed (apt-get install ${pkg})`);
      process.exitCode = 1;
      return;
    }
  }
  const measured = await measureInFreshNetns<{ rows: Row[]; packetPath: Array<{ ruleset: string; microsecondsPerRoundTrip: number }>; versions: Record<string, string> }>(
    'swx-bench',
    fileURLToPath(import.meta.url),
    ['--entries', String(entries), '--sample', String(sample)],
  );

  const rows = measured.rows;
  const peer = rows.find((r) => r.method.startsWith('peer: iptables -A')) as Row;
  const ours = rows.find((r) => r.method.startsWith('nftables set, one batch')) as Row;
  const speedup = Math.round((peer.seconds / ours.seconds) * 10) / 10;
  const results = {
    benchmark: 'executor',
    measuredAt: new Date().toISOString(),
    environment: { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, ...measured.versions },
    entries,
    sample,
    pass: speedup >= TARGET_SPEEDUP,
    speedup,
    target: TARGET_SPEEDUP,
    rows: rows.map((r) => ({ ...r, perEntryMs: (r.seconds / r.entries) * 1000, vsPeer: Math.round((peer.seconds / r.seconds) * 10) / 10 })),
    packetPath: measured.packetPath,
  };
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'executor.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (json) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    const fmt = (n: number) => n.toLocaleString('en-US');
    console.log(`\n## Executor benchmark (${results.environment.cpu}, ${results.environment.cores} cores, Node ${process.version}; ${measured.versions.nft}, ${measured.versions.iptables}), ${fmt(entries)} blocks in a network namespace\n`);
    console.log(`| method | time for ${fmt(entries)} | per block | vs peer | note |`);
    console.log('| --- | --- | --- | --- | --- |');
    for (const r of results.rows) {
      const time = r.seconds >= 10 ? `${r.seconds.toFixed(1)} s` : r.seconds >= 1 ? `${r.seconds.toFixed(2)} s` : `${(r.seconds * 1000).toFixed(0)} ms`;
      const note = [r.extrapolated ? `extrapolated from ${fmt(r.measuredEntries)}` : '', r.note ?? ''].filter(Boolean).join('; ');
      console.log(`| ${r.method} | ${time} | ${r.perEntryMs < 0.1 ? r.perEntryMs.toFixed(3) : r.perEntryMs.toFixed(1)} ms | ${r.vsPeer}× | ${note} |`);
    }
    const base = measured.packetPath[0]?.microsecondsPerRoundTrip ?? 0;
    console.log(`\nPacket path: UDP round trips over loopback inside the namespace (${fmt(ROUND_TRIPS)}, from a source that is not blocked)\n`);
    console.log('| rules in place | µs per round trip | added by the rules |');
    console.log('| --- | --- | --- |');
    for (const p of measured.packetPath) console.log(`| ${p.ruleset} | ${p.microsecondsPerRoundTrip.toFixed(1)} | ${(p.microsecondsPerRoundTrip - base).toFixed(1)} µs |`);
    console.log(`\nTarget: one nftables batch at least ${TARGET_SPEEDUP}× faster than one iptables process per address: ${speedup}× — ${results.pass ? 'pass' : '**FAIL**'}.`);
  }
  if (process.argv.includes('--check') && !results.pass) process.exitCode = 1;
}

await main();
