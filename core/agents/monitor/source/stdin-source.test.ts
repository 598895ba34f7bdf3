import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStdinSource } from './stdin-source.ts';
import { BatchCollector, numberedLines, numberedTexts } from './source-test-support.ts';

test('lines from a stream, split anywhere, CRLF or LF, the last one without LF included', async () => {
  const input = new PassThrough();
  const source = openStdinSource(input);
  const collector = new BatchCollector(source);
  input.write('Jan  2 03:04:05 host sshd[1]: one\r\nJan  2 03:04:05 ho');
  input.write('st sshd[1]: two\n');
  await collector.untilLineCount(2);
  input.write(Buffer.from([0x00, 0x01, 0x0a]));
  input.end('last without LF');
  await collector.done;
  assert.equal(collector.error, null);
  assert.deepEqual(
    collector.lines.map((l) => [l.line, l.text]),
    [
      [1, 'Jan  2 03:04:05 host sshd[1]: one'],
      [2, 'Jan  2 03:04:05 host sshd[1]: two'],
      [4, 'last without LF'],
    ],
  );
  assert.deepEqual(
    collector.warnings.map((w) => [w.source, w.reason, w.line]),
    [['stdin', 'binary', 3]],
  );
  assert.deepEqual(collector.batches.at(-1)!.checkpoint, { kind: 'stream', offset: 87, line: 4 });
});

test('a consumer that does not ask for more makes the writer wait (backpressure), and nothing is lost', async () => {
  const input = new PassThrough({ highWaterMark: 16 * 1024 });
  const source = openStdinSource(input);
  const payload = numberedLines('line', 1, 50_000);
  const chunk = 4096;
  input.write(payload.slice(0, chunk));
  let written = chunk;
  const texts = (await source.next())!.lines.map((l) => l.text);
  // The consumer now holds its batch and asks for nothing: the writer fills the buffers and is told to wait.
  while (input.write(payload.slice(written, written + chunk))) written += chunk;
  written += chunk;
  // Give an eager reader every chance to drain the stream: a few turns of the event loop.
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(input.writableNeedDrain, true, 'the stream was drained although nobody asked for more lines');
  assert.ok(written < 128 * 1024, `the stream took ${written} bytes of 700 KB before telling the writer to wait`);
  const writing = (async () => {
    while (written < payload.length) {
      if (!input.write(payload.slice(written, written + chunk))) await new Promise((resolve) => input.once('drain', resolve));
      written += chunk;
    }
    input.end();
  })();
  for (;;) {
    const batch = await source.next();
    if (batch === null) break;
    texts.push(...batch.lines.map((l) => l.text));
  }
  await writing;
  assert.deepEqual(texts, numberedTexts('line', 1, 50_000));
});

test('close() ends a waiting next() and leaves the stream usable', async () => {
  const input = new PassThrough();
  const source = openStdinSource(input, { name: 'pipe' });
  const waiting = source.next();
  await source.close();
  assert.equal(await waiting, null);
  assert.equal(input.destroyed, false);
});
