/**
 * An append-only, hash-chained audit log of every trust decision (and, later, every mitigation).
 *
 * Each entry's hash covers the previous entry's hash and the entry's own fields, so changing,
 * inserting or deleting any entry breaks every hash after it; triggers refuse UPDATE and DELETE
 * so the application cannot rewrite history by accident. `verify()` recomputes the whole chain.
 */
import { createHash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import type { Migration } from './database.ts';

export const GENESIS_HASH = '0'.repeat(64);

export const AUDIT_MIGRATION: Migration = {
  version: 1,
  sql: `
    CREATE TABLE audit (
      seq       INTEGER PRIMARY KEY,
      at        TEXT NOT NULL,
      node      TEXT NOT NULL,
      actor     TEXT NOT NULL,
      action    TEXT NOT NULL,
      subject   TEXT NOT NULL,
      details   TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash      TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `,
};

export interface AuditEntry {
  seq: number;
  at: string;
  /** Fingerprint of the node that recorded the entry. */
  node: string;
  /** Who made the decision: `admin` (local CLI/console), `peer:<fingerprint>`, `system`. */
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditVerdict {
  ok: boolean;
  entries: number;
  headHash: string;
  /** First entry that does not verify, and why. */
  brokenAt?: number;
  problem?: string;
}

interface AuditRow {
  seq: number;
  at: string;
  node: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export function entryHash(prevHash: string, e: Omit<AuditEntry, 'hash' | 'prevHash' | 'details'> & { details: string }): string {
  const body = JSON.stringify([e.seq, e.at, e.node, e.actor, e.action, e.subject, e.details]);
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

function toEntry(row: AuditRow): AuditEntry {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(row.details) as Record<string, unknown>;
  } catch {
    details = { unparseable: row.details };
  }
  return {
    seq: row.seq,
    at: row.at,
    node: row.node,
    actor: row.actor,
    action: row.action,
    subject: row.subject,
    details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export class AuditLog {
  readonly #db: DatabaseSync;
  readonly #node: string;

  constructor(db: DatabaseSync, nodeFingerprint: string) {
    this.#db = db;
    this.#node = nodeFingerprint;
  }

  /** Appends an entry. Call inside the same transaction as the decision it records. */
  append(actor: string, action: string, subject: string, details: Record<string, unknown> = {}, at = new Date()): AuditEntry {
    const head = this.#db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; hash: string }
      | undefined;
    const seq = (head?.seq ?? 0) + 1;
    const prevHash = head?.hash ?? GENESIS_HASH;
    const fields = { seq, at: at.toISOString(), node: this.#node, actor, action, subject, details: JSON.stringify(details) };
    const hash = entryHash(prevHash, fields);
    this.#db
      .prepare(
        'INSERT INTO audit (seq, at, node, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(seq, fields.at, fields.node, actor, action, subject, fields.details, prevHash, hash);
    return { ...fields, details, prevHash, hash };
  }

  list(options: { limit?: number; afterSeq?: number } = {}): AuditEntry[] {
    const rows = this.#db
      .prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq ASC LIMIT ?')
      .all(options.afterSeq ?? 0, options.limit ?? -1) as unknown as AuditRow[];
    return rows.map(toEntry);
  }

  /** Entries in the log. */
  count(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
  }

  /** Recomputes the chain from the first entry. */
  verify(): AuditVerdict {
    let prev = GENESIS_HASH;
    let expectedSeq = 1;
    let count = 0;
    for (const row of this.#db.prepare('SELECT * FROM audit ORDER BY seq ASC').iterate() as Iterable<AuditRow>) {
      const fail = (problem: string): AuditVerdict => ({ ok: false, entries: count, headHash: prev, brokenAt: row.seq, problem });
      if (row.seq !== expectedSeq) return fail(`entry ${expectedSeq} is missing`);
      if (row.prev_hash !== prev) return fail(`entry ${row.seq} does not link to entry ${row.seq - 1}`);
      if (entryHash(prev, row) !== row.hash) return fail(`entry ${row.seq} was altered (its hash does not match its content)`);
      prev = row.hash;
      expectedSeq++;
      count++;
    }
    return { ok: true, entries: count, headHash: prev };
  }
}
