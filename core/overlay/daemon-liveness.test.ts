/**
 * A daemon killed with kill -9 whose parent never reaps it (a detached daemon reparented to a
 * container's pid 1) stays a zombie: kill(pid, 0) still succeeds. It must not count as running,
 * or `daemon start` refuses with "already running" until the zombie is reaped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isProcessAlive } from './daemon.ts';

test('a zombie process is not alive; a running one is', { skip: process.platform !== 'linux' ? 'needs /proc' : false }, async (t) => {
  // sh starts a short-lived child, then becomes `sleep`, which never reaps it: a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => parent.kill('SIGKILL'));
  const zombie = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const state = () => {
    try {
      const stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return 'gone';
    }
  };
  await new Promise<void>((resolve) => {
    const check = () => (state() === 'Z' ? resolve() : setImmediate(check));
    check();
  });
  assert.equal(isProcessAlive(zombie), false);
  assert.equal(isProcessAlive(parent.pid!), true);
  assert.equal(isProcessAlive(process.pid), true);
});
