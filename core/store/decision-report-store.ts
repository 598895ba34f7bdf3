/**
 * What firewall executors reported to this console: one row per (executor, request id), kept up
 * to date from the executors' "decisions" streams and from the answers to our own requests, so
 * the Active decisions view survives a console restart. The executor's own store is the truth;
 * this is the console's view of it (SQLite, WAL, its own file: mitigations.db).
 */
import type { DatabaseSync } from 'node:sqlite';
import { openDatabase, type Migration } from './database.ts';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE decision_reports (
        executor      TEXT NOT NULL,
        request_id    TEXT NOT NULL,
        incident_id   TEXT,
        action        TEXT NOT NULL,
        cidr          TEXT NOT NULL,
        state         TEXT NOT NULL,
        code          TEXT,
        detail        TEXT,
        reason        TEXT NOT NULL,
        requested_by  TEXT NOT NULL,
        ttl_seconds   INTEGER NOT NULL,
        applied_at    INTEGER,
        expires_at    INTEGER,
        updated_at    INTEGER NOT NULL,
        PRIMARY KEY (executor, request_id)
      );
      CREATE INDEX decision_reports_updated ON decision_reports (updated_at DESC);
    `,
  },
];

export interface DecisionReportRow {
  readonly executor: string;
  readonly requestId: string;
  readonly incidentId: string | null;
  readonly action: 'block' | 'unblock';
  readonly cidr: string;
  readonly state: string;
  readonly code: string | null;
  readonly detail: string | null;
  readonly reason: string;
  readonly requestedBy: string;
  readonly ttlSeconds: number;
  readonly appliedAt: number | null;
  readonly expiresAt: number | null;
  readonly updatedAt: number;
}

interface Row {
  executor: string;
  request_id: string;
  incident_id: string | null;
  action: string;
  cidr: string;
  state: string;
  code: string | null;
  detail: string | null;
  reason: string;
  requested_by: string;
  ttl_seconds: number;
  applied_at: number | null;
  expires_at: number | null;
  updated_at: number;
}

function fromRow(r: Row): DecisionReportRow {
  return {
    executor: r.executor,
    requestId: r.request_id,
    incidentId: r.incident_id,
    action: r.action === 'unblock' ? 'unblock' : 'block',
    cidr: r.cidr,
    state: r.state,
    code: r.code,
    detail: r.detail,
    reason: r.reason,
    requestedBy: r.requested_by,
    ttlSeconds: r.ttl_seconds,
    appliedAt: r.applied_at,
    expiresAt: r.expires_at,
    updatedAt: r.updated_at,
  };
}

/** A report never moves a decision back: once ended (expired, revoked...), a late "applied" changes nothing. */
const FINAL_STATES = new Set(['refused', 'failed', 'expired', 'revoked']);

export class DecisionReportStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  static open(path: string): DecisionReportStore {
    return new DecisionReportStore(openDatabase(path, MIGRATIONS));
  }

  /** Stores a report; returns the row as it now stands, or null when it changed nothing. */
  upsert(report: DecisionReportRow): DecisionReportRow | null {
    const existing = this.get(report.executor, report.requestId);
    if (existing !== null) {
      if (FINAL_STATES.has(existing.state) && !FINAL_STATES.has(report.state)) return null;
      const same = existing.state === report.state && existing.expiresAt === report.expiresAt && existing.code === report.code && existing.detail === report.detail;
      if (same) return null;
    }
    // Fields a later report may lack (a bare result after a full decision) keep what was known.
    const merged: DecisionReportRow = existing === null ? report : {
      ...report,
      incidentId: report.incidentId ?? existing.incidentId,
      appliedAt: report.appliedAt ?? existing.appliedAt,
      expiresAt: report.expiresAt ?? existing.expiresAt,
      reason: report.reason || existing.reason,
      requestedBy: report.requestedBy || existing.requestedBy,
      ttlSeconds: report.ttlSeconds || existing.ttlSeconds,
    };
    this.#db
      .prepare(
        `INSERT INTO decision_reports (executor, request_id, incident_id, action, cidr, state, code, detail, reason, requested_by, ttl_seconds, applied_at, expires_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (executor, request_id) DO UPDATE SET incident_id = excluded.incident_id, action = excluded.action, cidr = excluded.cidr,
           state = excluded.state, code = excluded.code, detail = excluded.detail, reason = excluded.reason, requested_by = excluded.requested_by,
           ttl_seconds = excluded.ttl_seconds, applied_at = excluded.applied_at, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
      )
      .run(
        merged.executor,
        merged.requestId,
        merged.incidentId,
        merged.action,
        merged.cidr,
        merged.state,
        merged.code,
        merged.detail,
        merged.reason,
        merged.requestedBy,
        merged.ttlSeconds,
        merged.appliedAt,
        merged.expiresAt,
        merged.updatedAt,
      );
    return merged;
  }

  get(executor: string, requestId: string): DecisionReportRow | null {
    const row = this.#db.prepare('SELECT * FROM decision_reports WHERE executor = ? AND request_id = ?').get(executor, requestId) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Newest first. */
  list(limit = 500): DecisionReportRow[] {
    return (this.#db.prepare('SELECT * FROM decision_reports ORDER BY updated_at DESC LIMIT ?').all(limit) as unknown as Row[]).map(fromRow);
  }

  close(): void {
    this.#db.close();
  }
}
