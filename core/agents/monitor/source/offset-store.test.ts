import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '../../../store/database.ts';
import type { FileCheckpoint, JournalCheckpoint } from './log-source.ts';
import { OFFSETS_TABLE_SQL, OffsetStore, parseCheckpoint } from './offset-store.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'offset-store-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const fileCheckpoint: FileCheckpoint = {
  kind: 'file',
  path: '/var/log/auth.log.1',
  dev: '2049',
  ino: '18446744073709551557', // beyond 2^53: kept exactly as text
  offset: 123_456,
  line: 789,
  fingerprint: 'ab'.repeat(32),
  fingerprintBytes: 256,
};

test('checkpoints survive closing and reopening the database; the last save wins; WAL is on', () => {
  const path = join(dir, 'state', 'monitor.db');
  const a = OffsetStore.open(path);
  a.save('file:/var/log/auth.log', { ...fileCheckpoint, offset: 1 });
  a.save('file:/var/log/auth.log', fileCheckpoint);
  const journal: JournalCheckpoint = { kind: 'journald', cursor: 's=1;i=2;b=3;m=4;t=5;x=6', line: 3 };
  a.save('journald:sshd', journal);
  a.close();

  const b = OffsetStore.open(path);
  assert.deepEqual(b.load('file:/var/log/auth.log'), fileCheckpoint);
  assert.deepEqual(b.load('journald:sshd'), journal);
  assert.equal(b.load('file:/nowhere'), null);
  assert.deepEqual(
    b.list().map((r) => r.source),
    ['file:/var/log/auth.log', 'journald:sshd'],
  );
  b.delete('journald:sshd');
  assert.equal(b.load('journald:sshd'), null);
  b.close();

  const raw = new DatabaseSync(path);
  assert.equal((raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  raw.close();
});

test('the table can live in a database another store owns', () => {
  const db = new DatabaseSync(join(dir, 'node.db'));
  db.exec(OFFSETS_TABLE_SQL);
  const store = new OffsetStore(db);
  store.save('stdin', { kind: 'stream', offset: 5, line: 1 });
  store.close(); // does not close a connection it does not own
  assert.deepEqual(new OffsetStore(db).load('stdin'), { kind: 'stream', offset: 5, line: 1 });
  db.close();
});

test('a row this version cannot read loads as no checkpoint, never an exception', () => {
  for (const bad of ['', 'null', '[]', '{"kind":"file"}', '{"kind":"file","path":"/x","dev":"1","ino":"2","offset":-1,"line":0,"fingerprint":"","fingerprintBytes":0}', '{"kind":"tape"}']) {
    assert.equal(parseCheckpoint(bad), null, bad);
  }
  const path = join(dir, 'monitor.db');
  OffsetStore.open(path).close();
  const raw = new DatabaseSync(path);
  raw.prepare('INSERT INTO monitor_checkpoints VALUES (?, ?, ?)').run('file:/x', '{not json', 0);
  raw.close();
  const store = OffsetStore.open(path);
  assert.equal(store.load('file:/x'), null);
  store.close();
});

test('a file that is not a database is refused with a message naming it and a hint', () => {
  const path = join(dir, 'monitor.db');
  writeFileSync(path, 'this is not sqlite'.repeat(100));
  assert.throws(
    () => OffsetStore.open(path),
    (err: unknown) => err instanceof StoreError && err.message.includes(path) && err.hint.length > 0,
  );
});
