import { spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { openFileSource, type FileProgress, type FileSource } from './file-source.ts';
import { SourceError, type FileCheckpoint } from './log-source.ts';
import { OffsetStore } from './offset-store.ts';
import { BatchCollector, numberedLines, numberedTexts } from './source-test-support.ts';

let dir: string;
const open: Array<FileSource | OffsetStore> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-source-'));
});

afterEach(async () => {
  for (const thing of open.splice(0)) {
    if (thing instanceof OffsetStore) thing.close();
    else await thing.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

function follow(path: string, options: Parameters<typeof openFileSource>[1] = {}): FileSource {
  const source = openFileSource(path, { pollIntervalMs: 50, ...options });
  open.push(source);
  return source;
}

function store(name = 'monitor.db'): OffsetStore {
  const s = OffsetStore.open(join(dir, name));
  open.push(s);
  return s;
}

test('rename rotation mid-stream (logrotate create): every line once, in order, the old file read to its end first', async () => {
  const path = join(dir, 'auth.log');
  // A daemon that keeps its log open, as syslog does until logrotate's postrotate HUP.
  const daemon = openSync(path, 'a');
  writeSync(daemon, numberedLines('old', 1, 50));
  const collector = new BatchCollector(follow(path));
  await collector.untilLineCount(1);
  writeSync(daemon, numberedLines('old', 51, 100));
  renameSync(path, `${path}.1`);
  writeSync(daemon, numberedLines('old', 101, 120)); // still writing to the renamed file
  closeSync(daemon);
  writeFileSync(path, numberedLines('new', 1, 30)); // after HUP: a new file at the path
  appendFileSync(path, numberedLines('new', 31, 80));

  await collector.untilLineCount(200);
  assert.deepEqual(collector.texts(), [...numberedTexts('old', 1, 120), ...numberedTexts('new', 1, 80)]);
  assert.deepEqual(
    collector.lines.slice(118, 122).map((l) => l.line),
    [119, 120, 1, 2],
    'line numbers are per file',
  );
  assert.ok(collector.warnings.some((w) => w.reason === 'rotated'));
});

test('copytruncate mid-stream: read again from 0 after the truncation, every line once', async () => {
  const path = join(dir, 'app.log');
  const writer = openSync(path, 'a'); // O_APPEND, as copytruncate requires of writers
  writeSync(writer, numberedLines('before', 1, 40));
  const collector = new BatchCollector(follow(path));
  await collector.untilLineCount(40); // lines still unread at the truncation would only be in the copy
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  writeSync(writer, numberedLines('after', 1, 5)); // fewer bytes than were read before
  await collector.untilLineCount(45);
  writeSync(writer, numberedLines('after', 6, 10));
  await collector.untilLineCount(50);
  closeSync(writer);
  assert.deepEqual(collector.texts(), [...numberedTexts('before', 1, 40), ...numberedTexts('after', 1, 10)]);
  assert.deepEqual(
    collector.lines.slice(39, 42).map((l) => l.line),
    [40, 1, 2],
  );
  assert.ok(collector.warnings.some((w) => w.reason === 'truncated'));
});

test('truncation followed at once by more data than was read is still seen as a truncation (first bytes differ)', async () => {
  const path = join(dir, 'app.log');
  writeFileSync(path, numberedLines('first', 1, 3));
  const collector = new BatchCollector(follow(path));
  await collector.untilLineCount(3);
  // One write replaces the content with a longer one: the size alone never drops below our offset.
  writeFileSync(path, numberedLines('second generation line', 1, 20));
  await collector.untilLineCount(23);
  assert.deepEqual(collector.texts(), [...numberedTexts('first', 1, 3), ...numberedTexts('second generation line', 1, 20)]);
});

test('a file that does not exist yet is waited for, and one that disappears for a while is picked up again', async () => {
  const sub = join(dir, 'not-yet');
  const path = join(sub, 'late.log');
  const collector = new BatchCollector(follow(path));
  await collector.untilWarning('file_missing');
  mkdirSync(sub); // not even the directory existed: polling finds it
  writeFileSync(path, numberedLines('first', 1, 3));
  await collector.untilLineCount(3);
  unlinkSync(path);
  writeFileSync(join(sub, 'other.log'), 'unrelated\n');
  writeFileSync(path, numberedLines('second', 1, 2));
  await collector.untilLineCount(5);
  assert.deepEqual(collector.texts(), [...numberedTexts('first', 1, 3), ...numberedTexts('second', 1, 2)]);
});

test('from: end skips what is there, keeps the file\'s line numbering, and reads a partly written last line whole', async () => {
  const path = join(dir, 'live.log');
  writeFileSync(path, numberedLines('old', 1, 5) + 'half of ');
  let opened!: (p: FileProgress) => void;
  const openedAt = new Promise<FileProgress>((resolve) => (opened = resolve));
  const collector = new BatchCollector(follow(path, { from: 'end', onProgress: (p) => opened(p) }));
  // The end is where the file was when the source opened it (its first progress report).
  assert.equal((await openedAt).bytesRead, Buffer.byteLength(numberedLines('old', 1, 5)));
  appendFileSync(path, 'line 6\n' + numberedLines('new', 7, 8));
  await collector.untilLineCount(3);
  assert.deepEqual(
    collector.lines.map((l) => [l.line, l.text]),
    [
      [6, 'half of line 6'],
      [7, 'new 7'],
      [8, 'new 8'],
    ],
  );
});

test('binary garbage, invalid UTF-8 and a 10 MB line are skipped with counted warnings; the lines around them are kept', async () => {
  const path = join(dir, 'dirty.log');
  const fd = openSync(path, 'w');
  writeSync(fd, 'Jan  2 03:04:05 h sshd[1]: kept 1\n');
  writeSync(fd, Buffer.from([0x00, 0x00, 0x00, 0x00, 0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x0a])); // binary
  writeSync(fd, 'Jan  2 03:04:05 h sshd[1]: kept 3\r\n');
  writeSync(fd, Buffer.concat([Buffer.from('Jan  2 03:04:05 h sshd[1]: bad '), Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80]), Buffer.from('\n')]));
  writeSync(fd, 'Jan  2 03:04:05 h sshd[1]: kept 5\n');
  const block = Buffer.alloc(1024 * 1024, 'A');
  for (let i = 0; i < 10; i++) writeSync(fd, block); // a 10 MB line
  writeSync(fd, '\nJan  2 03:04:05 h sshd[1]: kept 7\n');
  closeSync(fd);

  const source = follow(path, { follow: false });
  const collector = new BatchCollector(source);
  await collector.done;
  assert.equal(collector.error, null);
  assert.deepEqual(
    collector.lines.map((l) => [l.line, l.text]),
    [
      [1, 'Jan  2 03:04:05 h sshd[1]: kept 1'],
      [3, 'Jan  2 03:04:05 h sshd[1]: kept 3'],
      [5, 'Jan  2 03:04:05 h sshd[1]: kept 5'],
      [7, 'Jan  2 03:04:05 h sshd[1]: kept 7'],
    ],
  );
  assert.deepEqual(
    collector.warnings.map((w) => [w.reason, w.line]),
    [
      ['binary', 2],
      ['invalid_utf8', 4],
      ['too_long', 6],
    ],
  );
  assert.deepEqual(source.skipped, { too_long: 1, invalid_utf8: 1, binary: 1 });
  assert.match(collector.warnings[2]!.message, /line 6 skipped: longer than the line limit/);
});

test('one-shot read: stops at the end, reports progress up to the file size, and pulls one chunk per call', async () => {
  const path = join(dir, 'scan.log');
  writeFileSync(path, numberedLines('Jan  2 03:04:05 host sshd[42]: Failed password for root from 192.0.2.1 port 22 ssh2 #', 1, 20_000));
  const total = (await import('node:fs')).statSync(path).size;
  const progress: FileProgress[] = [];
  const source = follow(path, { follow: false, chunkBytes: 16 * 1024, onProgress: (p) => progress.push(p) });
  const first = await source.next();
  assert.ok(first !== null && first.lines.length > 0);
  // Backpressure: nothing more is read until the consumer asks again.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(progress.at(-1)!.bytesRead, 16 * 1024);
  let count = first.lines.length;
  for (;;) {
    const batch = await source.next();
    if (batch === null) break;
    count += batch.lines.length;
  }
  assert.equal(count, 20_000);
  assert.deepEqual(progress.at(-1), { bytesRead: total, totalBytes: total });
  assert.ok(progress.every((p, i) => i === 0 || p.bytesRead >= progress[i - 1]!.bytesRead));
  assert.equal(await source.next(), null);
});

test('one-shot read of a missing file fails with a message and a hint', async () => {
  const source = follow(join(dir, 'nope.log'), { follow: false });
  await assert.rejects(source.next(), (err: unknown) => {
    assert.ok(err instanceof SourceError);
    assert.equal(err.code, 'file_missing');
    assert.match(err.message, /nope\.log: no such file/);
    assert.ok(err.hint.length > 0);
    return true;
  });
});

test('restart from a checkpoint resumes exactly: lines acked before a SIGKILL are not read again, unacked ones are', async () => {
  const path = join(dir, 'auth.log');
  const db = join(dir, 'monitor.db');
  writeFileSync(path, numberedLines('line', 1, 10));
  // A monitor process that acknowledges lines one by one up to line 4, then is killed mid-batch.
  const script = join(dir, 'consumer.ts');
  writeFileSync(
    script,
    `import { openFileSource } from ${JSON.stringify(new URL('./file-source.ts', import.meta.url).pathname)};
import { OffsetStore } from ${JSON.stringify(new URL('./offset-store.ts', import.meta.url).pathname)};
const source = openFileSource(${JSON.stringify(path)}, { offsets: OffsetStore.open(${JSON.stringify(db)}) });
const batch = await source.next();
for (let i = 0; i < batch.lines.length; i++) {
  process.stdout.write('processed ' + batch.lines[i].text + '\\n');
  if (batch.lines[i].line <= 4) source.ack(batch.checkpointAfter(i));
  if (batch.lines[i].line === 6) { process.stdout.write('READY\\n'); break; }
}
setInterval(() => {}, 60_000);
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumer did not report READY within 10 s; output: ${output}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`consumer exited with ${code}; output: ${output}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  assert.match(output, /processed line 6/);

  appendFileSync(path, numberedLines('line', 11, 12));
  const collector = new BatchCollector(follow(path, { offsets: store() }));
  await collector.untilLineCount(8);
  assert.deepEqual(collector.texts(), numberedTexts('line', 5, 12));
  assert.equal(collector.lines[0]!.line, 5);
});

/** Reads lines 1..10 of `path`, acknowledges up to line 4, and closes (a stop between acknowledgements). */
async function readAndAckFour(path: string, offsets: OffsetStore): Promise<FileCheckpoint> {
  const source = openFileSource(path, { offsets, pollIntervalMs: 50 });
  const collector = new BatchCollector(source);
  await collector.untilLineCount(10);
  const batch = collector.batches.find((b) => b.lines.some((l) => l.line === 4))!;
  const checkpoint = batch.checkpointAfter(batch.lines.findIndex((l) => l.line === 4));
  source.ack(checkpoint);
  await source.close();
  assert.equal(checkpoint.kind, 'file');
  return checkpoint as FileCheckpoint;
}

test('restart after a rename rotation while stopped: the rotated file (same inode) is finished first, then the new one from 0', async () => {
  const path = join(dir, 'auth.log');
  const offsets = store();
  writeFileSync(path, numberedLines('old', 1, 10));
  const saved = await readAndAckFour(path, offsets);
  assert.equal(saved.offset, Buffer.byteLength(numberedLines('old', 1, 4)));
  renameSync(path, `${path}.1`);
  appendFileSync(`${path}.1`, numberedLines('old', 11, 12));
  writeFileSync(`${path}.2.gz`, 'compressed older rotation, never a candidate\n');
  writeFileSync(path, numberedLines('new', 1, 3));

  const collector = new BatchCollector(follow(path, { offsets }));
  await collector.untilLineCount(11);
  assert.deepEqual(collector.texts(), [...numberedTexts('old', 5, 12), ...numberedTexts('new', 1, 3)]);
  assert.deepEqual(
    collector.lines.map((l) => l.line),
    [5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3],
  );
});

test('restart after copytruncate while stopped: the copy is finished from the offset, then the truncated file from 0', async () => {
  const path = join(dir, 'app.log');
  const offsets = store();
  writeFileSync(path, numberedLines('old', 1, 10));
  await readAndAckFour(path, offsets);
  appendFileSync(path, numberedLines('old', 11, 12));
  copyFileSync(path, `${path}-20240102`);
  truncateSync(path, 0);
  appendFileSync(path, numberedLines('new', 1, 3));

  const collector = new BatchCollector(follow(path, { offsets }));
  await collector.untilLineCount(11);
  assert.deepEqual(collector.texts(), [...numberedTexts('old', 5, 12), ...numberedTexts('new', 1, 3)]);
});

test('restart when the checkpoint\'s file is gone: the new file is read from 0 with a checkpoint_stale warning', async () => {
  const path = join(dir, 'auth.log');
  const offsets = store();
  writeFileSync(path, numberedLines('old', 1, 10));
  await readAndAckFour(path, offsets);
  unlinkSync(path);
  writeFileSync(path, 'x'.repeat(10_000) + '\n'); // holds an inode until the new file takes another
  writeFileSync(path, numberedLines('new', 1, 3));

  const collector = new BatchCollector(follow(path, { offsets }));
  await collector.untilLineCount(3);
  assert.deepEqual(collector.texts(), numberedTexts('new', 1, 3));
  assert.ok(collector.warnings.some((w) => w.reason === 'checkpoint_stale' && /may be missing/.test(w.message)));
});

test('restart with the file unchanged resumes at the offset even with from: end', async () => {
  const path = join(dir, 'auth.log');
  const offsets = store();
  writeFileSync(path, numberedLines('line', 1, 10));
  await readAndAckFour(path, offsets);
  const collector = new BatchCollector(follow(path, { offsets, from: 'end' }));
  await collector.untilLineCount(6);
  assert.deepEqual(collector.texts(), numberedTexts('line', 5, 10));
  assert.deepEqual(collector.warnings, []);
});

test('close() ends a next() that is waiting for data', async () => {
  const path = join(dir, 'quiet.log');
  writeFileSync(path, 'one\n');
  const source = follow(path, { pollIntervalMs: 60_000 });
  assert.equal((await source.next())?.lines.length, 1);
  const waiting = source.next();
  await source.close();
  assert.equal(await waiting, null);
});
