import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { inTransaction, openDatabase, StoreError, type Migration } from './database.ts';

const MIGRATIONS: Migration[] = [
  { version: 1, sql: 'CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT NOT NULL);' },
  { version: 2, sql: 'CREATE TABLE b (id INTEGER PRIMARY KEY);' },
];

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function userVersion(db: DatabaseSync): number {
  return (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
}

function tables(db: DatabaseSync): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
}

function storeError(code: string, pathInMessage?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.ok(err.hint.length > 0, 'a StoreError carries a hint');
    if (pathInMessage) assert.ok(err.message.includes(pathInMessage), `message names the file: ${err.message}`);
    return true;
  };
}

test('a new database is created with mode 0600, in WAL mode, with every migration applied', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'nested', 'swarm.db');
  const db = openDatabase(path, MIGRATIONS);
  try {
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'nested')).mode & 0o777, 0o700, 'a created parent directory is private');
    const mode = db.prepare('PRAGMA journal_mode').get() as { journal_mode: string };
    assert.equal(mode.journal_mode, 'wal');
    assert.equal(userVersion(db), 2);
    assert.deepEqual(tables(db), ['a', 'b']);
    db.prepare('INSERT INTO a (v) VALUES (?)').run('x');
    // SQLite gives the WAL file the database file's permissions.
    const wal = `${path}-wal`;
    if (existsSync(wal)) assert.equal(statSync(wal).mode & 0o077, 0, 'the WAL file is not readable by others');
  } finally {
    db.close();
  }
});

test('reopening applies only migrations that are new, and keeps the data', (t) => {
  const path = join(tempDir(t), 'swarm.db');
  const first = openDatabase(path, MIGRATIONS.slice(0, 1));
  first.prepare('INSERT INTO a (v) VALUES (?)').run('kept');
  assert.equal(userVersion(first), 1);
  first.close();

  const second = openDatabase(path, MIGRATIONS);
  try {
    assert.equal(userVersion(second), 2);
    assert.deepEqual(tables(second), ['a', 'b']);
    assert.deepEqual(second.prepare('SELECT v FROM a').all().map((r) => (r as { v: string }).v), ['kept']);
  } finally {
    second.close();
  }
  // A third open with the same migrations runs none of them again (CREATE TABLE would fail).
  openDatabase(path, MIGRATIONS).close();
});

test('a migration that fails is rolled back entirely and the version is not advanced', (t) => {
  const path = join(tempDir(t), 'swarm.db');
  openDatabase(path, MIGRATIONS.slice(0, 1)).close();
  const broken: Migration[] = [...MIGRATIONS.slice(0, 1), { version: 2, sql: 'CREATE TABLE c (id INTEGER); THIS IS NOT SQL;' }];
  assert.throws(() => openDatabase(path, broken));
  const db = new DatabaseSync(path);
  try {
    assert.equal(userVersion(db), 1);
    assert.deepEqual(tables(db), ['a'], 'the half-applied migration left nothing behind');
  } finally {
    db.close();
  }
});

for (const [what, content] of [
  ['text', Buffer.from('this is a note somebody saved as swarm.db by mistake\n'.repeat(50))],
  ['random bytes', randomBytes(8192)],
  ['a short text', Buffer.from('hi')],
] as const) {
  test(`a file that is not a database (${what}) is refused as store_corrupt and left byte-for-byte unchanged`, (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'swarm.db');
    writeFileSync(path, content, { mode: 0o600 });
    assert.throws(() => openDatabase(path, MIGRATIONS), storeError('store_corrupt', path));
    assert.deepEqual(readFileSync(path), content, 'the file was not rewritten');
    assert.deepEqual(readdirSync(dir), ['swarm.db'], 'no journal or WAL files were created beside it');
    // Twice, to be sure the first attempt did not "repair" it.
    assert.throws(() => openDatabase(path, MIGRATIONS), storeError('store_corrupt', path));
    assert.deepEqual(readFileSync(path), content);
  });
}

for (const journal of ['WAL', 'DELETE'] as const) {
  test(`a database (${journal} journal) whose pages were damaged is store_corrupt and left byte-for-byte unchanged`, (t) => {
    const path = join(tempDir(t), 'swarm.db');
    const db = openDatabase(path, MIGRATIONS);
    // DELETE: a database copied from elsewhere or switched out of WAL, whose header a careless
    // open would rewrite when it turns WAL on.
    if (journal === 'DELETE') db.exec('PRAGMA journal_mode = DELETE');
    inTransaction(db, () => {
      for (let i = 0; i < 500; i++) db.prepare('INSERT INTO a (v) VALUES (?)').run('row '.repeat(20) + i);
    });
    db.close(); // checkpoints: everything is in the main file now
    const damaged = Buffer.from(readFileSync(path));
    // Keep the 100-byte header (so SQLite still recognises the file) and scribble over pages 2-4.
    const pageSize = damaged.readUInt16BE(16);
    damaged.fill(0xa5, pageSize, Math.min(damaged.length, pageSize * 4));
    writeFileSync(path, damaged);
    assert.throws(() => openDatabase(path, MIGRATIONS), storeError('store_corrupt', path));
    assert.deepEqual(readFileSync(path), damaged, 'the damaged file is left as it was, for recovery');
  });
}

test('a schema newer than this code knows is refused as store_version, read-write and read-only', (t) => {
  const path = join(tempDir(t), 'swarm.db');
  openDatabase(path, MIGRATIONS).close();
  const raw = new DatabaseSync(path);
  raw.exec('PRAGMA user_version = 7');
  raw.close();
  assert.throws(() => openDatabase(path, MIGRATIONS), (err: unknown) => {
    storeError('store_version', path)(err);
    assert.match((err as Error).message, /schema 7, this one knows 2/);
    return true;
  });
  assert.throws(() => openDatabase(path, MIGRATIONS, { readOnly: true }), storeError('store_version', path));
  const after = new DatabaseSync(path);
  try {
    assert.equal(userVersion(after), 7, 'the newer database was not touched');
  } finally {
    after.close();
  }
});

test('read-only open of a missing database is store_io and creates nothing', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'missing.db');
  assert.throws(() => openDatabase(path, MIGRATIONS, { readOnly: true }), storeError('store_io', path));
  assert.deepEqual(readdirSync(dir), []);
});

test('read-only open reads the data but refuses writes', (t) => {
  const path = join(tempDir(t), 'swarm.db');
  const rw = openDatabase(path, MIGRATIONS);
  rw.prepare('INSERT INTO a (v) VALUES (?)').run('x');
  rw.close();
  const ro = openDatabase(path, MIGRATIONS, { readOnly: true });
  try {
    assert.equal((ro.prepare('SELECT count(*) AS n FROM a').get() as { n: number }).n, 1);
    assert.throws(() => ro.prepare('INSERT INTO a (v) VALUES (?)').run('y'), /readonly/i);
  } finally {
    ro.close();
  }
});

test('a path that cannot be created is store_io with the path in the message', (t) => {
  const dir = tempDir(t);
  const blocker = join(dir, 'file');
  writeFileSync(blocker, 'x');
  const path = join(blocker, 'sub', 'swarm.db'); // a parent is a regular file
  assert.throws(() => openDatabase(path, MIGRATIONS), storeError('store_io', join(blocker, 'sub')));
});

test('inTransaction commits on success and rolls back when the function throws', (t) => {
  const path = join(tempDir(t), 'swarm.db');
  const db = openDatabase(path, MIGRATIONS);
  try {
    const result = inTransaction(db, () => {
      db.prepare('INSERT INTO a (v) VALUES (?)').run('committed');
      return 42;
    });
    assert.equal(result, 42);
    assert.throws(
      () =>
        inTransaction(db, () => {
          db.prepare('INSERT INTO a (v) VALUES (?)').run('rolled back');
          throw new Error('decision failed');
        }),
      /decision failed/,
    );
    assert.deepEqual(db.prepare('SELECT v FROM a ORDER BY id').all().map((r) => (r as { v: string }).v), ['committed']);
    assert.equal(db.isTransaction, false, 'no transaction is left open');
  } finally {
    db.close();
  }
});
