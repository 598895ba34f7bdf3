/**
 * Benchmarks that touch a firewall run inside a throwaway network namespace: the benchmark
 * re-executes itself there with INSIDE_NETNS_FLAG, the inside run prints its measurements as
 * JSON on stdout, and the namespace (with every rule made in it) is deleted afterwards — also on
 * Ctrl-C. The host's own firewall is never touched.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const INSIDE_NETNS_FLAG = '--inside-netns';

/** Runs `node script INSIDE_NETNS_FLAG ...args` in a fresh namespace (loopback up) and parses what it printed. */
export async function measureInFreshNetns<T>(prefix: string, script: string, args: readonly string[]): Promise<T> {
  const netns = `${prefix}-${process.pid}`;
  await run('ip', ['netns', 'add', netns]);
  const removeOnSignal = () => {
    execFile('ip', ['netns', 'del', netns], () => process.exit(130));
  };
  process.once('SIGINT', removeOnSignal);
  process.once('SIGTERM', removeOnSignal);
  try {
    await run('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, script, INSIDE_NETNS_FLAG, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`the measurements inside ${netns} failed (exit ${code})`);
    return JSON.parse(out) as T;
  } finally {
    process.off('SIGINT', removeOnSignal);
    process.off('SIGTERM', removeOnSignal);
    await run('ip', ['netns', 'del', netns]).catch(() => {});
  }
}
