/**
 * A NAT lab built from network namespaces, for tests of NAT classification and (later) hole
 * punching and relaying. Everything happens inside namespaces this helper creates: the host's
 * own interfaces, routes and firewall are never touched.
 *
 *   internet  br0 203.0.113.1/24 (documentation range): the registry/beacon, public nodes
 *      ├── router r1  wan 203.0.113.11  lan 10.1.0.1/24  ── lan l1  10.1.0.2 (default via 10.1.0.1)
 *      └── router r2  wan 203.0.113.12  lan 10.2.0.1/24  ── lan l2  10.2.0.2
 *
 * A router forwards (ip_forward only inside its namespace), masquerades what leaves its WAN side
 * (`MASQUERADE`: Linux keeps one mapping per socket and the source port where it can, an
 * endpoint-independent "cone" NAT; `MASQUERADE --random-fully`: a random port per destination,
 * a symmetric NAT) and, like a home router, lets in from the internet (to the LAN or to itself)
 * only replies to what was sent out. The internet has no route to the private LANs.
 *
 * Names carry the test process id (`swn-<pid>-<n>-<role>`), as in
 * core/agents/executor/test/netns-lab.ts: parallel test files never collide, and namespaces a
 * killed run left behind (their pid is gone) are removed, with the processes still inside them,
 * by the next run. `destroy()` kills every process inside the lab's namespaces and deletes them;
 * createNatLab removes what it built if building fails.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { deleteNamespace, inNetns, netnsSkipReason, removeStaleNamespaces } from '../../core/agents/executor/test/netns-lab.ts';

const run = promisify(execFile);
const NAME_PATTERN = /^swn-(\d+)-\d+-[a-z0-9]+$/;

export const INTERNET_IP = '203.0.113.1';
export type NatKind = 'cone' | 'symmetric';

export interface NatLan {
  kind: NatKind;
  /** The namespace of the (first) machine behind the NAT. */
  ns: string;
  /** Every machine behind this NAT (ns first), at 10.i.0.2, 10.i.0.3, ... */
  hosts: string[];
  routerNs: string;
  /** The router's address on the internet: what the world sees as the LAN's source address. */
  publicIp: string;
  lanIp: string;
  /** The router's interfaces: towards the internet, and towards the LAN (both in routerNs). */
  wanIf: string;
  lanIf: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NatLab {
  readonly internetNs: string;
  readonly lans: readonly NatLan[];
  /** Runs a command inside a namespace to completion (argument array, no shell). */
  exec(ns: string, argv: readonly string[], timeoutMs?: number): Promise<ExecResult>;
  /** Starts a long-running process inside a namespace (stdin a pipe if asked); destroy() kills it. */
  spawn(ns: string, argv: readonly string[], options?: { stdin?: boolean }): ChildProcess;
  destroy(): Promise<void>;
}

/** Why the NAT lab cannot run here, or null if it can (root, Linux, ip and iptables present). */
export function natLabSkipReason(): string | null {
  return netnsSkipReason(['iptables']);
}

let labCount = 0;

/** Builds the lab with one LAN per entry of `kinds` (at most 9), each with `hostsPerLan` machines. */
export async function createNatLab(kinds: readonly NatKind[], options: { hostsPerLan?: number } = {}): Promise<NatLab> {
  const hostsPerLan = options.hostsPerLan ?? 1;
  if (hostsPerLan < 1 || hostsPerLan > 8) throw new RangeError('1 to 8 hosts per LAN');
  if (kinds.length > 9) throw new RangeError('at most 9 LANs');
  await removeStaleNamespaces(NAME_PATTERN);
  const n = labCount++;
  const name = (role: string) => `swn-${process.pid}-${n}-${role}`;
  // Interface names are limited to 15 characters.
  const tag = `${process.pid.toString(36)}${n}`;
  const internetNs = name('inet');
  const created: string[] = [];
  const children: ChildProcess[] = [];

  const destroy = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of [...created].reverse()) await deleteNamespace(ns);
    created.length = 0;
  };

  const addNamespace = async (ns: string) => {
    await run('ip', ['netns', 'add', ns]);
    created.push(ns);
    await inNetns(ns, ['ip', 'link', 'set', 'lo', 'up']);
  };

  const lans: NatLan[] = [];
  try {
    await addNamespace(internetNs);
    await inNetns(internetNs, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await inNetns(internetNs, ['ip', 'addr', 'add', `${INTERNET_IP}/24`, 'dev', 'br0']);
    await inNetns(internetNs, ['ip', 'link', 'set', 'br0', 'up']);
    for (const [index, kind] of kinds.entries()) {
      const i = index + 1;
      const wan = `snw${tag}${i}`;
      const port = `snb${tag}${i}`;
      const inside = `snr${tag}${i}`;
      const hosts = Array.from({ length: hostsPerLan }, (_, h) => name(h === 0 ? `l${i}` : `l${i}h${h}`));
      const lan: NatLan = { kind, ns: hosts[0]!, hosts, routerNs: name(`r${i}`), publicIp: `203.0.113.${10 + i}`, lanIp: `10.${i}.0.2`, wanIf: wan, lanIf: inside };
      await addNamespace(lan.routerNs);
      for (const host of hosts) await addNamespace(host);
      const host = `snl${tag}${i}`;
      await run('ip', ['link', 'add', wan, 'netns', lan.routerNs, 'type', 'veth', 'peer', 'name', port, 'netns', internetNs]);
      await inNetns(internetNs, ['ip', 'link', 'set', port, 'master', 'br0', 'up']);
      await inNetns(lan.routerNs, ['ip', 'addr', 'add', `${lan.publicIp}/24`, 'dev', wan]);
      await inNetns(lan.routerNs, ['ip', 'link', 'set', wan, 'up']);
      // The LAN is a bridge in the router (its address 10.i.0.1) with one veth per machine.
      await inNetns(lan.routerNs, ['ip', 'link', 'add', inside, 'type', 'bridge']);
      await inNetns(lan.routerNs, ['ip', 'addr', 'add', `10.${i}.0.1/24`, 'dev', inside]);
      await inNetns(lan.routerNs, ['ip', 'link', 'set', inside, 'up']);
      for (const [h, hostNs] of hosts.entries()) {
        const toHost = `snp${tag}${i}${h}`;
        const hostIf = `${host}${h}`;
        await run('ip', ['link', 'add', toHost, 'netns', lan.routerNs, 'type', 'veth', 'peer', 'name', hostIf, 'netns', hostNs]);
        await inNetns(lan.routerNs, ['ip', 'link', 'set', toHost, 'master', inside, 'up']);
        await inNetns(hostNs, ['ip', 'addr', 'add', `10.${i}.0.${2 + h}/24`, 'dev', hostIf]);
        await inNetns(hostNs, ['ip', 'link', 'set', hostIf, 'up']);
        await inNetns(hostNs, ['ip', 'route', 'add', 'default', 'via', `10.${i}.0.1`]);
      }
      // Per-namespace sysctl: the host's own forwarding setting is not touched.
      await inNetns(lan.routerNs, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      await inNetns(lan.routerNs, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE', ...(kind === 'symmetric' ? ['--random-fully'] : [])]);
      await inNetns(lan.routerNs, ['iptables', '-A', 'FORWARD', '-i', wan, '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'DROP']);
      // The router itself takes nothing unsolicited from the internet either (a home router's WAN
      // zone rejects input). This matters for punching: an unsolicited packet accepted here would
      // leave a conntrack entry that stops MASQUERADE from keeping our source port later.
      await inNetns(lan.routerNs, ['iptables', '-A', 'INPUT', '-i', wan, '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'DROP']);
      lans.push(lan);
    }
  } catch (err) {
    await destroy();
    throw err;
  }

  const exec = (ns: string, argv: readonly string[], timeoutMs = 60_000): Promise<ExecResult> =>
    new Promise((resolve) => {
      execFile('ip', ['netns', 'exec', ns, ...argv], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  const spawnIn = (ns: string, argv: readonly string[], options: { stdin?: boolean } = {}): ChildProcess => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };

  return { internetNs, lans, exec, spawn: spawnIn, destroy };
}
