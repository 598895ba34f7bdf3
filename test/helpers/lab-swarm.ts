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
  path?: string | null;
  message?: string;
  nat?: string;
}

export interface PeerRow {
  hostname: string;
  path: string | null;
  session: boolean;
  rtt_ms: number | null;
  trust: string;
  endpoint: string | null;
}

/** One lab daemon: its process, state directory and the events it printed. */
export class LabPeer {
  readonly events: LabEvent[] = [];
  readonly #waiters: Array<{ match: (e: LabEvent) => boolean; resolve: (e: LabEvent) => void }> = [];
  stderr = '';
  readonly hostname: string;
  readonly dir: string;
  readonly child: ChildProcess;
  constructor(hostname: string, dir: string, child: ChildProcess) {
    this.hostname = hostname;
    this.dir = dir;
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as LabEvent;
      this.events.push(e);
      for (const w of [...this.#waiters]) {
        if (w.match(e)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** The next event (or one already seen) matching `match`; fails if the process exits first. */
  next(match: (e: LabEvent) => boolean, what: string, timeoutMs = 60_000): Promise<LabEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.hostname}: no ${what} within ${timeoutMs} ms; log:\n${this.stderr.slice(-3000)}`)), timeoutMs);
      const onExit = (code: number | null) => reject(new Error(`${this.hostname} exited ${code} waiting for ${what}:\n${this.stderr.slice(-3000)}`));
      this.child.once('exit', onExit);
      this.#waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(e);
        },
      });
    });
  }

  send(target: string, bytes: number, id: string): void {
    this.child.stdin!.write(`${JSON.stringify({ op: 'send', id, target, bytes })}\n`);
  }

  cli(...args: string[]) {
    return swarmctl(['--state-dir', this.dir, ...args]);
  }

  json<T>(...args: string[]): Promise<T> {
    return swarmctlJson<T>(['--state-dir', this.dir, ...args]);
  }

  async peer(hostname: string): Promise<PeerRow> {
    const { peers } = await this.json<{ peers: PeerRow[] }>('peers');
    const row = peers.find((p) => p.hostname === hostname);
    if (!row) throw new Error(`${this.hostname} does not know ${hostname}`);
    return row;
  }
}

/** Starts the registry (with its beacon and relay), or a separate beacon, in the lab's internet namespace. */
export function startLabRegistry(lab: NatLab, root: string, role: 'registry' | 'beacon' = 'registry', listen = LAB_REGISTRY): Promise<ChildProcess> {
  const child = lab.spawn(lab.internetNs, [process.execPath, BIN, role, 'serve', '--listen', listen, '--db', join(root, `${role}.db`), '--json']);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      // The first line is the readiness object ({listen, beacon, ...}), or an error.
      if ((JSON.parse(line) as { listen?: string }).listen) resolve(child);
      else reject(new Error(`${role} did not start: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`${role} exited ${code}: ${stderr}`)));
  });
}

/** Starts a lab peer in `lan` (state in root/hostname); resolves once it has classified its NAT. */
export async function startLabPeer(lab: NatLab, root: string, lan: NatLan, hostname: string, options: { limits?: Record<string, number>; beacon?: string } = {}): Promise<LabPeer> {
  const dir = join(root, hostname);
  const extra = options.limits || options.beacon ? [JSON.stringify(options.limits ?? {}), ...(options.beacon ? [options.beacon] : [])] : [];
  const child = lab.spawn(lan.ns, [process.execPath, LAB_PEER, dir, hostname, LAB_REGISTRY, ...extra], { stdin: true });
  const peer = new LabPeer(hostname, dir, child);
  await peer.next((e) => e.event === 'up', 'start-up', 30_000);
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
