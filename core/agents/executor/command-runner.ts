/**
 * Runs firewall tools: always `spawn` with an argument array, never a shell, so no byte of any
 * argument is ever interpreted. Batches go through stdin (`nft -f -`, `ipset restore`), and the
 * backends build that text only from canonical CIDRs and their own constants.
 *
 * With a network namespace every command becomes `ip netns exec NAME /usr/sbin/nft ...`: the
 * namespace name is checked against the characters `ip` itself allows in /run/netns, and the
 * tool is passed by absolute path, so what runs inside does not depend on PATH.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BackendError } from './backend.ts';

/** Where Debian puts nft, iptables and ipset; root's PATH has them, a service's may not. */
const SYSTEM_BIN_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
/** A firewall tool that has not answered in this long is stuck on a lock; better to fail loudly. */
const COMMAND_TIMEOUT_MS = 60_000;
/** `nft -j list` of 10,000 entries is about 1 MB; anything near this bound is not our table. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const NETNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The absolute path of a tool, or null if it is not installed. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...SYSTEM_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function isValidNetnsName(name: string): boolean {
  return NETNS_NAME.test(name) && name !== '.' && name !== '..';
}

/** Which Debian package provides each tool, for "install it" hints. */
const PACKAGE_OF: Record<string, string> = { nft: 'nftables', iptables: 'iptables', ip6tables: 'iptables', ipset: 'ipset', ip: 'iproute2' };

export class CommandRunner {
  readonly netns: string | null;
  readonly #paths = new Map<string, string>();

  constructor(netns?: string) {
    if (netns !== undefined && !isValidNetnsName(netns)) {
      throw new BackendError('backend_unavailable', `${JSON.stringify(netns)} is not a network namespace name`, 'use letters, digits, "_", "-" and "."');
    }
    this.netns = netns ?? null;
  }

  /** Resolves the tools a backend needs, with an install hint for the first missing one. */
  require(tools: readonly string[]): void {
    for (const tool of this.netns === null ? tools : ['ip', ...tools]) {
      if (this.#paths.has(tool)) continue;
      const path = findBinary(tool);
      if (path === null) {
        throw new BackendError('backend_unavailable', `${tool} is not installed`, `install it (apt-get install ${PACKAGE_OF[tool] ?? tool})`);
      }
      this.#paths.set(tool, path);
    }
  }

  /** Runs a tool; resolves with its exit code and output (a non-zero exit is not an exception). */
  run(tool: string, args: readonly string[], stdin?: string): Promise<CommandResult> {
    this.require([tool]);
    const path = this.#paths.get(tool) as string;
    const argv = this.netns === null ? [path, ...args] : [this.#paths.get('ip') as string, 'netns', 'exec', this.netns, path, ...args];
    const [command, ...rest] = argv as [string, ...string[]];
    return new Promise((resolve, reject) => {
      const child = spawn(command, rest, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let bytes = 0;
      let overflow = false;
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_OUTPUT_BYTES) {
          overflow = true;
          child.kill('SIGKILL');
          return;
        }
        into.push(chunk);
      };
      child.stdout.on('data', collect(out));
      child.stderr.on('data', collect(err));
      const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
      timer.unref();
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new BackendError('backend_unavailable', `cannot run ${tool}: ${e.message}`, `install it (apt-get install ${PACKAGE_OF[tool] ?? tool})`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (overflow) {
          reject(new BackendError('backend_output', `${tool} printed more than ${MAX_OUTPUT_BYTES} bytes`, 'inspect the firewall by hand; this is not the executor\'s table'));
          return;
        }
        if (code === null) {
          reject(new BackendError('backend_command_failed', `${tool} ${args[0] ?? ''} was killed (${signal ?? 'timeout'})`, 'another firewall tool may hold the lock; try again'));
          return;
        }
        resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      // EPIPE if the tool exits before reading all of stdin: its exit code says why.
      child.stdin.on('error', () => {});
      child.stdin.end(stdin ?? '');
    });
  }

  /** Runs a tool and turns a non-zero exit into a BackendError naming the tool and its message. */
  async runChecked(tool: string, args: readonly string[], stdin?: string): Promise<CommandResult> {
    const result = await this.run(tool, args, stdin);
    if (result.code !== 0) throw commandError(tool, args, result, this.netns);
    return result;
  }

  /** Where commands run, for messages: `network namespace x` or `this host`. */
  where(): string {
    return this.netns === null ? 'this host' : `network namespace ${this.netns}`;
  }
}

/** A failed command as an error a person can act on (permission and namespace problems named). */
export function commandError(tool: string, args: readonly string[], result: CommandResult, netns: string | null): BackendError {
  const text = result.stderr.trim().split('\n').slice(0, 4).join(' / ') || `exit code ${result.code}`;
  if (/Operation not permitted|Permission denied|must be root|are you root/i.test(text)) {
    return new BackendError('backend_permission', `${tool} was refused: ${text}`, 'the executor needs root or CAP_NET_ADMIN to change the firewall');
  }
  if (netns !== null && /Cannot open network namespace|setting the network namespace/i.test(text)) {
    return new BackendError('backend_unavailable', `network namespace ${netns} does not exist: ${text}`, `create it (ip netns add ${netns}) or drop the netns option`);
  }
  return new BackendError('backend_command_failed', `${tool} ${args.slice(0, 3).join(' ')} failed: ${text}`, 'see the message; the executor\'s reconciliation compares the firewall with its decisions and repairs the difference');
}
