import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileSource } from './file-source.ts';
import { JournaldSource } from './journald-source.ts';
import { SourceError } from './log-source.ts';
import { openLogSource, parseSourceSpec } from './source-spec.ts';
import { StreamSource } from './stdin-source.ts';

test('source specs: file:, bare paths, journald:, stdin and -', () => {
  assert.deepEqual(parseSourceSpec('file:/var/log/auth.log'), { kind: 'file', path: '/var/log/auth.log' });
  assert.deepEqual(parseSourceSpec('/var/log/auth.log'), { kind: 'file', path: '/var/log/auth.log' });
  assert.deepEqual(parseSourceSpec('logs/auth.log'), { kind: 'file', path: 'logs/auth.log' });
  assert.deepEqual(parseSourceSpec('file:odd:name.log'), { kind: 'file', path: 'odd:name.log' });
  assert.deepEqual(parseSourceSpec('journald:sshd,sshd-session'), { kind: 'journald', match: 'sshd,sshd-session' });
  assert.deepEqual(parseSourceSpec('journald'), { kind: 'journald', match: '' });
  assert.deepEqual(parseSourceSpec('stdin'), { kind: 'stdin' });
  assert.deepEqual(parseSourceSpec('-'), { kind: 'stdin' });
  for (const bad of ['', 'file:', 'jornald:sshd', 'http://x']) {
    const result = parseSourceSpec(bad);
    assert.ok(result instanceof SourceError && result.code === 'bad_source_spec', bad);
    assert.match(result.hint, /journald:sshd/);
  }
});

test('openLogSource opens the kind the spec names, and a one-shot file read works through it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'source-spec-'));
  try {
    const path = join(dir, 'a.log');
    writeFileSync(path, 'one\ntwo\n');
    const file = openLogSource({ kind: 'file', path }, { follow: false });
    assert.ok(file instanceof FileSource);
    assert.equal(file.name, `file:${path}`);
    const texts: string[] = [];
    for await (const batch of file) texts.push(...batch.lines.map((l) => l.text));
    assert.deepEqual(texts, ['one', 'two']);
    const journal = openLogSource({ kind: 'journald', match: 'sshd' });
    assert.ok(journal instanceof JournaldSource);
    assert.equal(journal.name, 'journald:sshd');
    await journal.close();
    const stdin = openLogSource({ kind: 'stdin' }, { stdin: new PassThrough() });
    assert.ok(stdin instanceof StreamSource);
    await stdin.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
