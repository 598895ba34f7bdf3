/**
 * Runs every bench/*.bench.ts in sequence, each in a fresh Node process so that no benchmark
 * inherits another's JIT state, heap or sockets. Node flags and arguments are passed through:
 *
 *   node bench/run.ts [--json] [--check]
 *   node --cpu-prof bench/run.ts
 *
 * Exits with the first non-zero exit code of a benchmark (with --check: a missed target).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const benchmarks = readdirSync(benchDir)
  .filter((name) => name.endsWith('.bench.ts'))
  .sort();

function runBenchmark(file: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, file, ...process.argv.slice(2)], { stdio: 'inherit' });
    child.on('error', (err) => {
      console.error(`cannot start ${file}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let exitCode = 0;
for (const [i, name] of benchmarks.entries()) {
  console.error(`\n=== [${i + 1}/${benchmarks.length}] ${name} ===`);
  const code = await runBenchmark(join(benchDir, name));
  if (code !== 0) {
    console.error(`${name} exited with code ${code}`);
    if (exitCode === 0) exitCode = code;
  }
}
process.exitCode = exitCode;
