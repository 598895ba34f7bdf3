/**
 * Path impairment for the NAT lab: loss, delay, jitter and reordering on everything a router
 * forwards, as `tc qdisc ... netem` would add. Kernels without netem (CONFIG_NET_SCH_NETEM unset,
 * as on this project's CI machines) still have NFQUEUE, so the router's forwarded UDP goes to a
 * queue and impair.c (built here on first use, against Debian's libnetfilter-queue-dev) holds,
 * drops or reorders each packet. Everything stays inside the lab's router namespace.
 */
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NatLab, NatLan } from '../nat-lab.ts';

const run = promisify(execFile);
const SOURCE = fileURLToPath(new URL('./impair.c', import.meta.url));
const HEADER = '/usr/include/libnetfilter_queue/libnetfilter_queue.h';

export interface Impairment {
  /** Probability in [0, 1] that a packet is dropped (each direction). */
  loss: number;
  delayMs: number;
  jitterMs: number;
  /** Probability in [0, 1] that a packet skips the delay (and so overtakes others). */
  reorder: number;
  seed?: number;
}

/** Why impairment cannot run here, or null. */
export function impairSkipReason(): string | null {
  if (!existsSync(HEADER)) return 'libnetfilter-queue-dev is not installed (apt-get install libnetfilter-queue-dev)';
  if (spawnSync('sh', ['-c', 'command -v cc']).status !== 0) return 'no C compiler (apt-get install gcc)';
  return null;
}

let built: Promise<string> | null = null;

function buildImpair(): Promise<string> {
  built ??= (async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'swarm-impair-')), 'impair');
    await run('cc', ['-O2', '-Wall', '-o', out, SOURCE, '-lnetfilter_queue', '-lnfnetlink']);
    return out;
  })();
  return built;
}

let nextQueue = 0;

/**
 * Impairs everything `lan`'s router forwards (both directions: the LAN's traffic to and from the
 * internet). Resolves once the impairer is bound to its queue; `stop()` removes the rule first
 * (so traffic flows again) and then ends the impairer. The lab's destroy() also kills it.
 */
export async function impairLan(lab: NatLab, lan: NatLan, impairment: Impairment): Promise<{ stop(): Promise<string>; process: ChildProcess }> {
  const binary = await buildImpair();
  const queue = String(nextQueue++ % 65536);
  const child = lab.spawn(lan.routerNs, [
    binary,
    queue,
    String(impairment.loss),
    String(impairment.delayMs),
    String(impairment.jitterMs),
    String(impairment.reorder),
    String(impairment.seed ?? 1),
  ]);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`impair exited ${code}: ${stderr}`)));
  });
  const rule = ['-t', 'mangle', '-p', 'udp', '-j', 'NFQUEUE', '--queue-num', queue];
  const added = await lab.exec(lan.routerNs, ['iptables', '-A', 'FORWARD', ...rule]);
  if (added.code !== 0) {
    child.kill('SIGKILL');
    throw new Error(`iptables NFQUEUE: ${added.stderr}`);
  }
  return {
    process: child,
    async stop() {
      await lab.exec(lan.routerNs, ['iptables', '-D', 'FORWARD', ...rule]);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      return stderr.trim();
    },
  };
}
