/** `swarmctl console --web` as a real child process, as an analyst would start it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BIN } from '../test/helpers/swarm.ts';

export interface RunningConsole {
  url: string;
  port: number;
  token: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function startConsole(stateDir: string, args: string[]): Promise<RunningConsole> {
  const child = spawn(process.execPath, [BIN, '--state-dir', stateDir, 'console', '--web', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const ready = JSON.parse(line) as { url: string; port: number };
      const stop = () =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        });
      resolve({ url: ready.url, port: ready.port, token: new URL(ready.url).hash.replace('#token=', ''), process: child, stop });
    });
    child.once('exit', (code) => reject(new Error(`console exited ${code}: ${stderr}`)));
  });
}
