/**
 * A one-shot read of a 2-million-line file (≈ 180 MB) in a child process whose V8 heap is capped
 * well below the file's size: it must finish, see every line in order, and keep its heap small.
 */
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

const LINES = 2_000_000;
const BLOCK = 100_000;
/** The V8 old space the reader may use; the file is ~180 MB, and its lines as JS objects would be several times that. */
const HEAP_CAP_MB = 48;
/** Upper bound asserted on sampled heapUsed: one chunk's lines plus the runtime, with room for GC timing. */
const HEAP_BOUND_BYTES = 40 * 1024 * 1024;

let dir: string;
let path: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-source-memory-'));
  path = join(dir, 'big.log');
  // One block of 100k lines, written 20 times: generating 2M distinct strings would take longer
  // than reading them. Line k of a block names pid k, so the reader can check every line's place.
  const parts: string[] = [];
  for (let k = 0; k < BLOCK; k++) parts.push(`2024-01-02T03:04:05.000000+00:00 web-1 sshd[${k}]: Failed password for root from 192.0.2.${k % 250}`);
  const block = Buffer.from(parts.join('\n') + '\n');
  const fd = openSync(path, 'w');
  for (let written = 0; written < LINES; written += BLOCK) writeSync(fd, block);
  closeSync(fd);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test(`a ${LINES.toLocaleString('en')}-line file is read to the end in bounded memory (heap capped at ${HEAP_CAP_MB} MB)`, async (t) => {
  const script = join(dir, 'scan.ts');
  writeFileSync(
    script,
    `import { openFileSource } from ${JSON.stringify(new URL('./file-source.ts', import.meta.url).pathname)};
let lines = 0, expected = 1, outOfOrder = 0, peakHeap = 0, batches = 0, lastProgress = null;
const source = openFileSource(${JSON.stringify(path)}, { follow: false, onProgress: (p) => { lastProgress = p; } });
const started = performance.now();
for await (const batch of source) {
  for (const l of batch.lines) {
    if (l.line !== expected || !l.text.includes('sshd[' + ((expected - 1) % ${BLOCK}) + ']')) outOfOrder++;
    expected++;
  }
  lines += batch.lines.length;
  if (++batches % 64 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ lines, outOfOrder, peakHeap, rss: process.memoryUsage().rss, ms, lastProgress }));
`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, script], { timeout: 60_000 });
  const result = JSON.parse(stdout) as { lines: number; outOfOrder: number; peakHeap: number; rss: number; ms: number; lastProgress: { bytesRead: number; totalBytes: number } };
  const size = statSync(path).size;
  assert.equal(result.lines, LINES);
  assert.equal(result.outOfOrder, 0);
  assert.deepEqual(result.lastProgress, { bytesRead: size, totalBytes: size });
  assert.ok(result.peakHeap < HEAP_BOUND_BYTES, `peak heapUsed ${(result.peakHeap / 1048576).toFixed(1)} MB for a ${(size / 1048576).toFixed(0)} MB file`);
  t.diagnostic(
    `${LINES} lines, ${(size / 1048576).toFixed(0)} MB: ${result.ms.toFixed(0)} ms (${((LINES / result.ms) * 1000 / 1e6).toFixed(2)} M lines/s), peak heapUsed ${(result.peakHeap / 1048576).toFixed(1)} MB, rss ${(result.rss / 1048576).toFixed(0)} MB`,
  );
});
