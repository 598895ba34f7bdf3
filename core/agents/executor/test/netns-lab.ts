/**
 * A two-namespace network for the executor's real-firewall tests: an "attacker" namespace and an
 * "executor" namespace joined by a veth pair, a UDP echo service in the executor namespace and a
 * probe process in the attacker namespace. Everything the tests change happens inside these
 * namespaces: the host's own firewall and interfaces are never touched.
 *
 *   attacker  198.51.100.7/24, 203.0.113.9/24, 2001:db8:5ec::7/64   (documentation ranges)
 *   executor  198.51.100.1/24, 203.0.113.1/24, 2001:db8:5ec::1/64   (udp echo on ECHO_PORT)
 *
 * Names carry the test process id (`swx-<pid>-<n>-a`), so parallel test files never collide and
 * namespaces left behind by a killed test run are recognised (their pid is gone) and removed by
 * the next run. `destroy()` stops the helpers and deletes the namespaces; call it in `after`.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findBinary } from '../command-runner.ts';
import { isProcessAlive } from '../../../overlay/daemon.ts';

const run = promisify(execFile);
export const ECHO_PORT = 7007;
const HELPER_START_TIMEOUT_MS = 10_000;
const NAME_PATTERN = /^swx-(\d+)-\d+-[ae]$/;

export const ATTACKER = { v4: '198.51.100.7', v4b: '203.0.113.9', v6: '2001:db8:5ec::7' } as const;
export const EXECUTOR = { v4: '198.51.100.1', v4b: '203.0.113.1', v6: '2001:db8:5ec::1' } as const;

/** Why these tests cannot run here, or null if they can (root, iproute2 and the tools present). */
export function netnsSkipReason(tools: readonly string[]): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces (CI runs as root)';
  if (findBinary('ip') === null) return 'ip (iproute2) is not installed';
  for (const tool of tools) {
    if (findBinary(tool) === null) return `${tool} is not installed (apt-get install ${tool === 'nft' ? 'nftables' : tool === 'ipset' ? 'ipset' : 'iptables'})`;
  }
  return null;
}

/** Runs a command inside a namespace (argument array, no shell) and returns its stdout. */
export async function inNetns(netns: string, argv: readonly string[], stdin?: string): Promise<string> {
  if (stdin === undefined) {
    const { stdout } = await run('ip', ['netns', 'exec', netns, ...argv], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...argv]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`))));
    child.stdin.end(stdin);
  });
}

/** Kills what still runs inside a namespace (processes a test started there), then deletes it. */
export async function deleteNamespace(ns: string): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', ns]).then(
    (r) => r.stdout.split('\n').filter((l) => /^\d+$/.test(l.trim())).map(Number),
    () => [] as number[],
  );
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await run('ip', ['netns', 'del', ns]).catch(() => {});
}

/**
 * Deletes namespaces a killed earlier test run left behind: names matching `pattern`, whose first
 * group is the pid of the run that made them, when that pid is gone.
 */
export async function removeStaleNamespaces(pattern: RegExp): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = pattern.exec(name);
    if (m === null || isProcessAlive(Number(m[1]))) continue;
    await deleteNamespace(name);
  }
}

let labCount = 0;

/** Starts a helper script inside a namespace and waits for its "ready" line. */
async function startHelper(netns: string, script: string, args: readonly string[]): Promise<ChildProcessWithoutNullStreams> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, path, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in ${netns}: ${stderr}`)), HELPER_START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      if (line === 'ready') resolve();
      else reject(new Error(`${script}: ${line} ${stderr}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) in ${netns}: ${stderr}`));
    });
  });
  return child;
}

export interface Lab {
  readonly attackerNs: string;
  readonly executorNs: string;
  /** Sends one datagram from `source` (an attacker address) to the echo service; true if it came back. */
  reaches(source: string, timeoutMs?: number): Promise<boolean>;
  /** Waits (up to `withinMs`) until traffic from `source` gets through; false if it never does. */
  passesWithin(source: string, withinMs?: number): Promise<boolean>;
  destroy(): Promise<void>;
}

/** Creates the two namespaces, the link and the helpers. On failure, removes what it created. */
export async function createLab(): Promise<Lab> {
  await removeStaleNamespaces(NAME_PATTERN);
  const n = labCount++;
  const attackerNs = `swx-${process.pid}-${n}-a`;
  const executorNs = `swx-${process.pid}-${n}-e`;
  // Interface names are limited to 15 characters.
  const tag = `${process.pid.toString(36)}${n}`;
  const vethA = `sxa${tag}`;
  const vethE = `sxe${tag}`;
  const helpers: ChildProcessWithoutNullStreams[] = [];
  const created: string[] = [];

  const destroy = async () => {
    for (const h of helpers) {
      h.stdin.end();
      h.kill('SIGKILL');
    }
    for (const ns of created) await run('ip', ['netns', 'del', ns]).catch(() => {});
  };

  try {
    for (const ns of [attackerNs, executorNs]) {
      await run('ip', ['netns', 'add', ns]);
      created.push(ns);
      await inNetns(ns, ['ip', 'link', 'set', 'lo', 'up']);
    }
    await run('ip', ['link', 'add', vethA, 'netns', attackerNs, 'type', 'veth', 'peer', 'name', vethE, 'netns', executorNs]);
    const configure = async (ns: string, dev: string, side: typeof ATTACKER | typeof EXECUTOR) => {
      await inNetns(ns, ['ip', 'addr', 'add', `${side.v4}/24`, 'dev', dev]);
      await inNetns(ns, ['ip', 'addr', 'add', `${side.v4b}/24`, 'dev', dev]);
      // nodad: the address is usable at once instead of after duplicate address detection (~1 s).
      await inNetns(ns, ['ip', '-6', 'addr', 'add', `${side.v6}/64`, 'dev', dev, 'nodad']);
      await inNetns(ns, ['ip', 'link', 'set', dev, 'up']);
    };
    await configure(attackerNs, vethA, ATTACKER);
    await configure(executorNs, vethE, EXECUTOR);
    helpers.push(await startHelper(executorNs, './udp-echo.ts', [String(ECHO_PORT)]));
    helpers.push(await startHelper(attackerNs, './udp-probe.ts', []));
  } catch (err) {
    await destroy();
    throw err;
  }

  const probe = helpers[1] as ChildProcessWithoutNullStreams;
  const waiting = new Map<string, (answer: string) => void>();
  createInterface({ input: probe.stdout }).on('line', (line) => {
    const [id, ...answer] = line.split(' ');
    waiting.get(id ?? '')?.(answer.join(' '));
    waiting.delete(id ?? '');
  });
  let probeId = 0;
  const reaches = (source: string, timeoutMs = 250): Promise<boolean> => {
    const id = String(probeId++);
    const destination = source.includes(':') ? EXECUTOR.v6 : source === ATTACKER.v4b ? EXECUTOR.v4b : EXECUTOR.v4;
    return new Promise((resolve, reject) => {
      waiting.set(id, (answer) => {
        if (answer === 'ok') resolve(true);
        else if (answer === 'timeout') resolve(false);
        else reject(new Error(`probe from ${source}: ${answer}`));
      });
      probe.stdin.write(`${id} ${source} ${destination} ${ECHO_PORT} ${timeoutMs}\n`);
    });
  };
  const passesWithin = async (source: string, withinMs = 3_000): Promise<boolean> => {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) if (await reaches(source, 200)) return true;
    return false;
  };
  return { attackerNs, executorNs, reaches, passesWithin, destroy };
}
