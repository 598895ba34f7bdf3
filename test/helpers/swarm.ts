/**
 * Real processes on loopback for integration tests: a registry and daemons started through the
 * swarmctl CLI exactly as a user would, each in its own temporary state directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../core/cli/bin/swarmctl.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function swarmctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs swarmctl with --json and parses stdout; fails the test with stderr if it does not succeed. */
export async function swarmctlJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const r = await swarmctl([...args, '--json']);
  if (r.code !== 0) throw new Error(`swarmctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function tempDir(prefix: string): string {
  // Short paths: Unix socket paths are limited to ~100 bytes.
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface RunningRegistry {
  port: number;
  dbDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function startRegistry(dbDir: string, port = 0): Promise<RunningRegistry> {
  const child = spawn(process.execPath, [BIN, 'registry', 'serve', '--listen', `127.0.0.1:${port}`, '--db', join(dbDir, 'registry.db'), '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      const ready = JSON.parse(line) as { listen: string };
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
      resolve({ port: Number(ready.listen.split(':').pop()), dbDir, process: child, stop });
    });
    child.once('exit', (code) => reject(new Error(`registry exited ${code}: ${stderr}`)));
  });
}

/** Retries `check` until it returns a truthy value or the deadline passes (for state in other processes). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class Swarm {
  readonly root = tempDir('swarm-it-');
  registry: RunningRegistry | null = null;
  readonly dirs = new Map<string, string>();

  async startRegistry(): Promise<RunningRegistry> {
    this.registry = await startRegistry(this.root);
    return this.registry;
  }

  dir(hostname: string): string {
    let d = this.dirs.get(hostname);
    if (!d) {
      d = join(this.root, hostname);
      this.dirs.set(hostname, d);
    }
    return d;
  }

  async startDaemon(hostname: string, extra: string[] = []): Promise<Record<string, unknown>> {
    return swarmctlJson(['--state-dir', this.dir(hostname), 'daemon', 'start', '--hostname', hostname, '--registry', `127.0.0.1:${this.registry!.port}`, '--listen', '127.0.0.1:0', ...extra]);
  }

  cli(hostname: string, ...args: string[]): Promise<CliResult> {
    return swarmctl(['--state-dir', this.dir(hostname), ...args]);
  }

  json<T = Record<string, unknown>>(hostname: string, ...args: string[]): Promise<T> {
    return swarmctlJson<T>(['--state-dir', this.dir(hostname), ...args]);
  }

  async close(): Promise<void> {
    await Promise.all([...this.dirs.values()].map((d) => swarmctl(['--state-dir', d, 'daemon', 'stop'])));
    await this.registry?.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}
