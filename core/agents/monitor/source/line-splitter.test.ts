import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter, type SkippedLine, type SplitLine } from './line-splitter.ts';

function splitAll(input: Buffer, chunkSizes: number[], maxLineBytes?: number): { lines: SplitLine[]; skipped: SkippedLine[]; splitter: LineSplitter } {
  const splitter = new LineSplitter({ maxLineBytes });
  const lines: SplitLine[] = [];
  const skipped: SkippedLine[] = [];
  let pos = 0;
  let i = 0;
  while (pos < input.length) {
    const size = chunkSizes.length === 0 ? input.length : Math.max(1, chunkSizes[i++ % chunkSizes.length]!);
    const r = splitter.push(input.subarray(pos, pos + size));
    lines.push(...r.lines);
    skipped.push(...r.skipped);
    pos += size;
  }
  const r = splitter.end();
  lines.push(...r.lines);
  skipped.push(...r.skipped);
  return { lines, skipped, splitter };
}

test('LF and CRLF lines, numbered from 1, each with the offset after its LF; the final line counts without LF', () => {
  const input = Buffer.from('alpha\r\nbeta\n\ngamma\r\ndelta');
  const { lines, skipped } = splitAll(input, []);
  assert.deepEqual(skipped, []);
  assert.deepEqual(lines, [
    { line: 1, text: 'alpha', end: 7 },
    { line: 2, text: 'beta', end: 12 },
    { line: 3, text: '', end: 13 },
    { line: 4, text: 'gamma', end: 20 },
    { line: 5, text: 'delta', end: 25 },
  ]);
});

test('an unterminated line is held until its LF, and offset/line only move past complete lines', () => {
  const s = new LineSplitter({ startOffset: 100, startLine: 9 });
  assert.deepEqual(s.push(Buffer.from('par')).lines, []);
  assert.equal(s.offset, 100);
  assert.equal(s.bufferedBytes, 3);
  const r = s.push(Buffer.from('tial\nnext'));
  assert.deepEqual(r.lines, [{ line: 10, text: 'partial', end: 108 }]);
  assert.equal(s.offset, 108);
  assert.equal(s.line, 10);
});

test('a multi-byte UTF-8 character split across chunks is decoded whole', () => {
  const input = Buffer.from('user dvořák from 2001:db8::1 ✓\nnext\n');
  for (let cut = 1; cut < input.length; cut++) {
    const { lines } = splitAll(input, [cut, input.length]);
    assert.deepEqual(
      lines.map((l) => l.text),
      ['user dvořák from 2001:db8::1 ✓', 'next'],
      `cut at ${cut}`,
    );
    assert.equal(lines[0]!.end, Buffer.byteLength('user dvořák from 2001:db8::1 ✓\n'));
  }
});

test('binary and invalid UTF-8 lines are skipped with their line numbers; the lines around them are kept', () => {
  const input = Buffer.concat([
    Buffer.from('good 1\n'),
    Buffer.from([0x00, 0x00, 0x01, 0x41, 0x0a]), // NULs: binary
    Buffer.from('good 3\n'),
    Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0x6f, 0x0a]), // 0xff 0xfe: not UTF-8
    Buffer.from('tab\tand ESC \x1b[0m are text\n'),
    Buffer.from([0x0b, 0x0c, 0x61, 0x0a]), // VT and FF are text
    Buffer.from([0x61, 0x07, 0x62, 0x0a]), // BEL: binary
    Buffer.from([0xc3, 0x28, 0x00, 0x0a]), // both: binary wins
    Buffer.from('good 9\n'),
  ]);
  for (const chunks of [[], [1], [3, 7], [64]]) {
    const { lines, skipped } = splitAll(input, chunks);
    assert.deepEqual(
      lines.map((l) => [l.line, l.text]),
      [
        [1, 'good 1'],
        [3, 'good 3'],
        [5, 'tab\tand ESC \x1b[0m are text'],
        [6, '\x0b\x0ca'],
        [9, 'good 9'],
      ],
      `chunks ${JSON.stringify(chunks)}`,
    );
    assert.deepEqual(skipped, [
      { reason: 'binary', line: 2 },
      { reason: 'invalid_utf8', line: 4 },
      { reason: 'binary', line: 7 },
      { reason: 'binary', line: 8 },
    ]);
  }
});

test('a 10 MB line is skipped without ever holding more than maxLineBytes of it', () => {
  const max = 64 * 1024;
  const s = new LineSplitter({ maxLineBytes: max });
  const out: SplitLine[] = [];
  const skipped: SkippedLine[] = [];
  const take = (r: { lines: SplitLine[]; skipped: SkippedLine[] }): void => {
    out.push(...r.lines);
    skipped.push(...r.skipped);
  };
  take(s.push(Buffer.from('before\n')));
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) take(s.push(chunk));
  take(s.push(Buffer.from('\nafter\n')));
  take(s.end());
  assert.deepEqual(
    out.map((l) => [l.line, l.text]),
    [
      [1, 'before'],
      [3, 'after'],
    ],
  );
  assert.deepEqual(skipped, [{ reason: 'too_long', line: 2 }]);
  assert.ok(s.peakBufferedBytes <= max, `held ${s.peakBufferedBytes} bytes of a 10 MB line (limit ${max})`);
  assert.equal(out[1]!.end, 7 + 10 * 1024 * 1024 + 1 + 6);
});

test('the line limit is configurable and applies to lines inside one chunk and across chunks alike', () => {
  const input = Buffer.from('12345\n123456\nabc\n1234567');
  for (const chunks of [[], [2], [4, 1]]) {
    const { lines, skipped } = splitAll(input, chunks, 5);
    assert.deepEqual(
      lines.map((l) => l.text),
      ['12345', 'abc'],
      `chunks ${JSON.stringify(chunks)}`,
    );
    assert.deepEqual(skipped, [
      { reason: 'too_long', line: 2 },
      { reason: 'too_long', line: 4 },
    ]);
  }
});

test('any chunking gives the same lines, numbers and offsets as one push', () => {
  const alphabet = ['a', 'é', '\n', '\r\n', '\x00', '\xff', ' ', 'Z', '\n\n', '✓'];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...alphabet), { maxLength: 80 }),
      fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 1, max: 12 }),
      (pieces, chunks, max) => {
        // '\xff' as latin1 is one invalid byte; the rest as UTF-8.
        const input = Buffer.concat(pieces.map((p) => (p === '\xff' ? Buffer.from([0xff]) : Buffer.from(p))));
        const whole = splitAll(input, [], max);
        const chunked = splitAll(input, chunks, max);
        assert.deepEqual(chunked.lines, whole.lines);
        assert.deepEqual(chunked.skipped, whole.skipped);
        assert.equal(chunked.splitter.offset, input.length);
        const newlines = input.filter((b) => b === 0x0a).length;
        const last = input.length > 0 && input[input.length - 1] !== 0x0a ? 1 : 0;
        assert.equal(whole.lines.length + whole.skipped.length, newlines + last);
      },
    ),
    { numRuns: 500 },
  );
});

test('line numbers match sed -n Np on the same file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'splitter-sed-'));
  try {
    const path = join(dir, 'mixed.log');
    const content = Buffer.concat([
      Buffer.from('Jan  2 03:04:05 host sshd[1]: one\r\n'),
      Buffer.from([0x00, 0x01, 0x0a]),
      Buffer.from('Jan  2 03:04:06 host sshd[1]: three ünïcode\n'),
      Buffer.from('y'.repeat(300) + '\n'),
      Buffer.from([0xff, 0x0a]),
      Buffer.from('\n'),
      Buffer.from('Jan  2 03:04:07 host sshd[1]: seven\n'),
    ]);
    writeFileSync(path, content);
    const { lines, skipped } = splitAll(content, [5], 200);
    assert.deepEqual(
      skipped.map((s) => s.line),
      [2, 4, 5],
    );
    for (const l of lines) {
      const sed = execFileSync('sed', ['-n', `${l.line}p`, path]).toString('utf8').replace(/\r?\n$/, '');
      assert.equal(l.text, sed, `line ${l.line}`);
    }
    assert.deepEqual(
      lines.map((l) => l.line),
      [1, 3, 6, 7],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
