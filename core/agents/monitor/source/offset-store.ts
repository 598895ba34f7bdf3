/**
 * Saved checkpoints of the log sources, so a restarted monitor resumes exactly where its consumer
 * stopped: one row per source, written in one statement (atomic) on each acknowledgement.
 *
 * The table lives in an SQLite file opened through core/store (WAL, synchronous=NORMAL: a killed
 * process keeps every committed acknowledgement; the integrity check and its user-facing errors
 * come with it). `OffsetStore.open(path)` owns a file of its own (the monitor's `monitor.db` in
 * the state directory). A store that wants the table inside its own database adds
 * `OFFSETS_TABLE_SQL` to one of its migrations and passes its connection to `new OffsetStore(db)`:
 * the schema version (`user_version`) belongs to whoever owns the file.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openDatabase, type Migration } from '../../../store/database.ts';
import type { Checkpoint, FileCheckpoint, JournalCheckpoint, StreamCheckpoint } from './log-source.ts';

export const OFFSETS_TABLE_SQL = `
  CREATE TABLE IF NOT EXISTS monitor_checkpoints (
    source     TEXT PRIMARY KEY,   -- the source's name, e.g. file:/var/log/auth.log
    checkpoint TEXT NOT NULL,      -- JSON of a Checkpoint
    saved_at   INTEGER NOT NULL    -- ms since the epoch
  );
`;

const MIGRATIONS: readonly Migration[] = [{ version: 1, sql: OFFSETS_TABLE_SQL }];

export class OffsetStore {
  readonly #db: DatabaseSync;
  readonly #ownsDatabase: boolean;
  #upsert: StatementSync | null = null;

  /** Uses a connection whose owner created the table (see OFFSETS_TABLE_SQL). */
  constructor(db: DatabaseSync, ownsDatabase = false) {
    this.#db = db;
    this.#ownsDatabase = ownsDatabase;
  }

  /** Opens (creating if needed) a database file of its own. Throws StoreError (message + hint). */
  static open(path: string): OffsetStore {
    return new OffsetStore(openDatabase(path, MIGRATIONS), true);
  }

  /** The saved checkpoint of a source, or null (none saved, or a row this version cannot read). */
  load(source: string): Checkpoint | null {
    const row = this.#db.prepare('SELECT checkpoint FROM monitor_checkpoints WHERE source = ?').get(source) as
      | { checkpoint: string }
      | undefined;
    if (row === undefined) return null;
    return parseCheckpoint(row.checkpoint);
  }

  /** One statement, so atomic; called on every acknowledgement, hence the prepared statement kept. */
  save(source: string, checkpoint: Checkpoint): void {
    this.#upsert ??= this.#db.prepare(
      `INSERT INTO monitor_checkpoints (source, checkpoint, saved_at) VALUES (?, ?, ?)
       ON CONFLICT(source) DO UPDATE SET checkpoint = excluded.checkpoint, saved_at = excluded.saved_at`,
    );
    this.#upsert.run(source, JSON.stringify(checkpoint), Date.now());
  }

  /** Forgets a source's checkpoint (it starts over as configured). */
  delete(source: string): void {
    this.#db.prepare('DELETE FROM monitor_checkpoints WHERE source = ?').run(source);
  }

  /** Every saved checkpoint, for `swarmctl monitor status`-style listings. */
  list(): Array<{ source: string; checkpoint: Checkpoint | null; savedAt: number }> {
    const rows = this.#db.prepare('SELECT source, checkpoint, saved_at FROM monitor_checkpoints ORDER BY source').all() as Array<{
      source: string;
      checkpoint: string;
      saved_at: number;
    }>;
    return rows.map((r) => ({ source: r.source, checkpoint: parseCheckpoint(r.checkpoint), savedAt: Number(r.saved_at) }));
  }

  close(): void {
    if (this.#ownsDatabase) this.#db.close();
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Total: a row that is not a well-formed checkpoint reads as none (the source starts as configured). */
export function parseCheckpoint(text: string): Checkpoint | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (o.kind === 'file') {
    if (
      typeof o.path !== 'string' ||
      typeof o.dev !== 'string' ||
      typeof o.ino !== 'string' ||
      !isCount(o.offset) ||
      !isCount(o.line) ||
      typeof o.fingerprint !== 'string' ||
      !isCount(o.fingerprintBytes)
    ) {
      return null;
    }
    const c: FileCheckpoint = {
      kind: 'file',
      path: o.path,
      dev: o.dev,
      ino: o.ino,
      offset: o.offset,
      line: o.line,
      fingerprint: o.fingerprint,
      fingerprintBytes: o.fingerprintBytes,
    };
    return c;
  }
  if (o.kind === 'journald') {
    if (!(o.cursor === null || typeof o.cursor === 'string') || !isCount(o.line)) return null;
    const c: JournalCheckpoint = { kind: 'journald', cursor: o.cursor, line: o.line };
    return c;
  }
  if (o.kind === 'stream') {
    if (!isCount(o.offset) || !isCount(o.line)) return null;
    const c: StreamCheckpoint = { kind: 'stream', offset: o.offset, line: o.line };
    return c;
  }
  return null;
}
