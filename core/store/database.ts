/**
 * SQLite persistence (node:sqlite, WAL). One file per node for trust, pending requests and the
 * audit log; one for a registry. WAL with synchronous=NORMAL survives a killed process without
 * losing a committed transaction; trust decisions are single transactions.
 *
 * A file that is not a database, or fails SQLite's quick check, stops the process with a message
 * naming the file and what to do; it is never recreated behind the user's back.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export type StoreErrorCode = 'store_corrupt' | 'store_io' | 'store_version' | 'store_locked';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly hint: string;
  constructor(code: StoreErrorCode, message: string, hint: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export interface OpenOptions {
  readOnly?: boolean;
}

export type Database = DatabaseSync;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens (creating if needed) a database, checks it, and brings its schema up to date.
 * Throws StoreError with a user-facing message and hint.
 */
export function openDatabase(path: string, migrations: readonly Migration[], options: OpenOptions = {}): DatabaseSync {
  const readOnly = options.readOnly ?? false;
  let exists = true;
  try {
    statSync(path);
  } catch {
    exists = false;
  }
  if (!exists && readOnly) {
    throw new StoreError('store_io', `database ${path} does not exist`, 'start the daemon once to create it');
  }
  if (!exists) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StoreError('store_io', `cannot create ${dirname(path)}: ${describe(err)}`, 'check the path and its permissions');
    }
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly, enableForeignKeyConstraints: true });
  } catch (err) {
    throw new StoreError('store_io', `cannot open database ${path}: ${describe(err)}`, 'check the path and its permissions');
  }
  if (!exists) {
    try {
      chmodSync(path, 0o600);
    } catch {
      // best effort: the directory is 0700 anyway
    }
  }
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    // Check before anything writes: switching a damaged rollback-journal database to WAL would
    // rewrite its header, and a file we refuse must be left exactly as we found it.
    const check = db.prepare('PRAGMA quick_check').all() as Array<Record<string, unknown>>;
    const verdict = check.map((row) => String(Object.values(row)[0])).join('; ');
    if (verdict !== 'ok') throw new Error(verdict);
    if (!readOnly) {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
    }
  } catch (err) {
    db.close();
    const message = describe(err);
    if (/locked|busy/i.test(message)) {
      throw new StoreError('store_locked', `database ${path} is locked by another process`, 'stop the other process and try again');
    }
    throw new StoreError(
      'store_corrupt',
      `database ${path} is corrupt (${message})`,
      'move the file aside and restore it from a backup; swarmctl never rewrites a damaged database',
    );
  }
  if (!readOnly) migrate(db, path, migrations);
  else checkVersion(db, path, migrations);
  return db;
}

function currentVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

function latest(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

function checkVersion(db: DatabaseSync, path: string, migrations: readonly Migration[]): void {
  const version = currentVersion(db);
  if (version > latest(migrations)) {
    db.close();
    throw new StoreError(
      'store_version',
      `database ${path} was written by a newer swarmctl (schema ${version}, this one knows ${latest(migrations)})`,
      'upgrade swarmctl',
    );
  }
}

function migrate(db: DatabaseSync, path: string, migrations: readonly Migration[]): void {
  checkVersion(db, path, migrations);
  const version = currentVersion(db);
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= version) continue;
    inTransaction(db, () => {
      db.exec(m.sql);
      db.exec(`PRAGMA user_version = ${m.version}`);
    });
  }
}

/** Runs `fn` in an IMMEDIATE transaction (takes the write lock up front), committing or rolling back. */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
