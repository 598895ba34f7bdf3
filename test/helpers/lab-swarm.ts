/**
 * The NAT lab's swarm: the registry on the internet segment and lab peers (test/helpers/lab-peer.ts:
 * a real Daemon plus a stream sink, driven through stdin and swarmctl) in the LANs, with trust
 * asked and approved through swarmctl as operators would. Shared by the NAT tests and the NAT
 * benchmark.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { INTERNET_IP, type NatLab, type NatLan } from './nat-lab.ts';
import { BIN, eventually, swarmctl, swarmctlJson } from './swarm.ts';

const LAB_PEER = fileURLToPath(new URL('./lab-peer.ts', import.meta.url));
export const LAB_REGISTRY = `${INTERNET_IP}:9000`;

export interface LabEvent {
  event: string;
  id?: string;
  from?: string | null;
  bytes?: number;
  sha256?: string;
  ms?: number;
  connect_ms?: number;
  ok?: boolean;
  path?: 'direct' | 'relay' | null;
  punch_requests?: number;
  error?: string;
  message?: string;
  nat?: string;
  listen?: string;
}

export interface PeerRow {
  hostname: string;
  path: string | null;
  session: boolean;
  rtt_ms: number | null;
  trust: string;
  endpoint: string | null;
}

/** Where a lab peer runs: its namespace, its NAT router's (null on the internet segment) and the public IP it is seen at. */
export interface LabPlace {
  ns: string;
  routerNs: string | null;
  publicIp: string;
}

/** A node driven through its state directory (its control socket is a file, reachable from the host namespace). */
export class LabNodeDir {
  readonly hostname: string;
  readonly dir: string;
  constructor(hostname: string, dir: string) {
    this.hostname = hostname;
    this.dir = dir;
  }

  cli(...args: string[]) {
    return swarmctl(['--state-dir', this.dir, ...args]);
  }

  json<T>(...args: string[]): Promise<T> {
    return swarmctlJson<T>(['--state-dir', this.dir, ...args]);
  }

  /** This node's row for a peer, or undefined if it does not know it. */
  async findPeer(hostname: string): Promise<PeerRow | undefined> {
    return (await this.json<{ peers: PeerRow[] }>('peers')).peers.find((p) => p.hostname === hostname);
  }

  async peer(hostname: string): Promise<PeerRow> {
    const row = await this.findPeer(hostname);
    if (!row) throw new Error(`${this.hostname} does not know ${hostname}`);
    return row;
  }
}

/**
 * One lab daemon (lab-peer.ts): commands in on stdin, events out on stdout, its log on stderr.
 * Each event goes to one `next()` only (the first waiting for it, or the first to ask for it
 * later), so a test waiting for "the stream received" never gets an earlier transfer's.
 */
export class LabPeer extends LabNodeDir {
  readonly child: ChildProcess;
  readonly place: LabPlace;
  /** The daemon log, each line stamped with when it arrived (performance.now()). */
  readonly log: Array<{ at: number; line: string }> = [];
  /** The NAT and UDP port it reported at start-up. */
  nat = 'unknown';
  port = 0;
  readonly #unclaimed: LabEvent[] = [];
  readonly #waiters: Array<{ match: (e: LabEvent) => boolean; resolve: (e: LabEvent) => void }> = [];
  #commands = 0;

  constructor(hostname: string, dir: string, child: ChildProcess, place: LabPlace) {
    super(hostname, dir);
    this.child = child;
    this.place = place;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: LabEvent;
      try {
        e = JSON.parse(line) as LabEvent;
      } catch {
        return;
      }
      const waiter = this.#waiters.find((w) => w.match(e));
      if (!waiter) return void this.#unclaimed.push(e);
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(e);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.log.push({ at: performance.now(), line }));
  }

  /** The daemon log so far. */
  get stderr(): string {
    return this.log.map((l) => l.line).join('\n');
  }

  logTail(lines = 30): string {
    return this.log
      .slice(-lines)
      .map((l) => l.line)
      .join('\n');
  }

  logBetween(from: number, to: number): string[] {
    return this.log.filter((l) => l.at >= from && l.at <= to).map((l) => `+${Math.round(l.at - from)} ms ${l.line}`);
  }

  /** The next event matching `match` not yet given to another caller; fails if the process exits first. */
  next(match: (e: LabEvent) => boolean, what: string, timeoutMs = 60_000): Promise<LabEvent> {
    const i = this.#unclaimed.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#unclaimed.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`${this.hostname} exited ${code} waiting for ${what}:\n${this.logTail()}`));
      };
      const timer = setTimeout(() => {
        this.child.off('exit', onExit);
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`${this.hostname}: no ${what} within ${timeoutMs} ms; log:\n${this.logTail()}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (e: LabEvent) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(e);
        },
      };
      this.child.once('exit', onExit);
      this.#waiters.push(waiter);
    });
  }

  /** Sends a command and waits for its answer (an event with its id, or an error naming it). */
  command(op: Record<string, unknown>, answer: string, timeoutMs: number): Promise<LabEvent> {
    const id = `${op.op as string}-${++this.#commands}`;
    const answered = this.next((e) => e.id === id && (e.event === answer || e.event === 'error'), `${answer} ${id}`, timeoutMs);
    this.child.stdin!.write(`${JSON.stringify({ ...op, id })}\n`);
    return answered.then((e) => {
      if (e.event === 'error') throw new Error(`${this.hostname}: ${op.op as string} failed: ${e.message}`);
      return e;
    });
  }

  send(target: string, bytes: number, id: string): void {
    this.child.stdin!.write(`${JSON.stringify({ op: 'send', id, target, bytes })}\n`);
  }
}

/** Starts the registry (with its beacon and relay), or a separate beacon, in the lab's internet namespace. */
export function startLabRegistry(lab: NatLab, root: string, role: 'registry' | 'beacon' = 'registry', listen = LAB_REGISTRY): Promise<{ process: ChildProcess; listen: string; beacon: string | null }> {
  const child = lab.spawn(lab.internetNs, [process.execPath, BIN, role, 'serve', '--listen', listen, '--db', join(root, `${role}.db`), '--json']);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      // The first line is the readiness object ({listen, beacon, ...}), or an error.
      const ready = JSON.parse(line) as { listen?: string; beacon?: string | null };
      if (ready.listen) resolve({ process: child, listen: ready.listen, beacon: ready.beacon ?? null });
      else reject(new Error(`${role} did not start: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`${role} exited ${code}: ${stderr}`)));
  });
}

/** Where a machine behind `lan` (its first one unless `host` says) runs. */
export function lanPlace(lan: NatLan, host = 0): LabPlace {
  return { ns: lan.hosts[host]!, routerNs: lan.routerNs, publicIp: lan.publicIp };
}

/** A lab peer on the internet segment itself (no NAT). */
export function internetPlace(lab: NatLab): LabPlace {
  return { ns: lab.internetNs, routerNs: null, publicIp: INTERNET_IP };
}

/** Starts a lab peer at `place` (state in root/hostname); resolves once it has classified its NAT. */
export async function startLabPeer(lab: NatLab, root: string, place: LabPlace, hostname: string, options: { limits?: Record<string, number>; beacon?: string } = {}): Promise<LabPeer> {
  const dir = join(root, hostname);
  const extra = options.limits || options.beacon ? [JSON.stringify(options.limits ?? {}), ...(options.beacon ? [options.beacon] : [])] : [];
  const child = lab.spawn(place.ns, [process.execPath, LAB_PEER, dir, hostname, LAB_REGISTRY, ...extra], { stdin: true });
  const peer = new LabPeer(hostname, dir, child, place);
  const up = await peer.next((e) => e.event === 'up', 'start-up', 30_000);
  peer.nat = up.nat ?? 'unknown';
  peer.port = Number(up.listen?.split(':').pop() ?? 0);
  return peer;
}

/** `x` asks `y` for trust and `y` approves, through swarmctl, as operators would. */
export async function trustLabPeers(x: LabPeer, y: LabPeer): Promise<void> {
  const asked = await x.cli('handshake', y.hostname, 'NAT lab', '--json');
  assert.equal(asked.code, 0, asked.stderr);
  await eventually(async () => (await y.json<{ incoming: Array<{ hostname: string }> }>('pending')).incoming.some((r) => r.hostname === x.hostname), 20_000, `${y.hostname} sees the request of ${x.hostname}`);
  const approved = await y.cli('approve', x.hostname, '--json');
  assert.equal(approved.code, 0, approved.stderr);
  await eventually(async () => (await x.peer(y.hostname)).trust === 'trusted', 20_000, `${x.hostname} learns it is trusted`);
}
