/**
 * Every mitigation decision the executor made, in `executor.db` (SQLite through core/store: WAL,
 * synchronous=NORMAL, integrity check on open). One row per order, keyed by its request id, so a
 * replayed order is recognised even years later.
 *
 *   accepted ──► applied ──► expired | revoked | superseded
 *       └──────► failed
 *   refused (policy said no; the firewall was never touched)
 *
 * `accepted` is committed BEFORE the firewall is touched and `applied` after it changed: a
 * process killed in between leaves a row in `accepted`, which the next start finds and resolves
 * (reconciliation), instead of a firewall entry nobody knows about or a decision reported as done
 * that never reached the kernel. `superseded` is a block renewed by a later order for the same
 * CIDR: exactly one decision stays active per CIDR, so expiry and reconciliation are unambiguous.
 */
import type { DatabaseSync } from 'node:sqlite';
import { inTransaction, openDatabase, type Migration } from '../../store/database.ts';
import type { MitigationAction } from './mitigation-order.ts';

export type DecisionState = 'accepted' | 'applied' | 'failed' | 'refused' | 'expired' | 'revoked' | 'superseded';

export interface Decision {
  readonly requestId: string;
  readonly incidentId: string | null;
  readonly action: MitigationAction;
  /** Canonical CIDR; for an order refused because its target did not parse, the text received (bounded). */
  readonly cidr: string;
  readonly ttlSeconds: number;
  /** When a block ends (ms since the epoch); null for unblocks and refusals. */
  readonly expiresAt: number | null;
  readonly state: DecisionState;
  /** Refusal or failure code. */
  readonly code: string | null;
  /** What happened: the refusal or failure message, or why the decision ended. */
  readonly detail: string | null;
  /** The analyst's justification from the order. */
  readonly reason: string;
  readonly requester: { readonly fingerprint: string; readonly hostname: string };
  readonly issuedAt: number;
  readonly receivedAt: number;
  /** When the firewall change was made (null until applied). */
  readonly appliedAt: number | null;
  readonly updatedAt: number;
  /**
   * The order exactly as the requester signed it (task wire: payload, signer, signature), so
   * anyone can check later, with the requester's public key alone, who ordered this. Null for
   * orders that did not come over the wire (CLI on the executor's host, tests).
   */
  readonly evidence: OrderEvidence | null;
  /** Who or what ended it: `admin`, a request id that superseded or unblocked it, `policy`, `flush`. */
  readonly endedBy: string | null;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE decisions (
        request_id            TEXT PRIMARY KEY,
        incident_id           TEXT,
        action                TEXT NOT NULL CHECK (action IN ('block', 'unblock')),
        cidr                  TEXT NOT NULL,
        ttl_seconds           INTEGER NOT NULL,
        expires_at            INTEGER,
        state                 TEXT NOT NULL CHECK (state IN ('accepted', 'applied', 'failed', 'refused', 'expired', 'revoked', 'superseded')),
        code                  TEXT,
        detail                TEXT,
        reason                TEXT NOT NULL,
        requester_fingerprint TEXT NOT NULL,
        requester_hostname    TEXT NOT NULL,
        issued_at             INTEGER NOT NULL,
        received_at           INTEGER NOT NULL,
        applied_at            INTEGER,
        updated_at            INTEGER NOT NULL,
        ended_by              TEXT,
        evidence              TEXT                -- JSON of the signed order, or NULL
      ) STRICT;
      -- Active blocks by expiry (the expiry timer, reconciliation) and by target (refresh, unblock).
      CREATE INDEX decisions_by_state_expiry ON decisions (state, expires_at);
      CREATE INDEX decisions_by_cidr ON decisions (cidr, state);
    `,
  },
];

interface DecisionRow {
  request_id: string;
  incident_id: string | null;
  action: MitigationAction;
  cidr: string;
  ttl_seconds: number;
  expires_at: number | null;
  state: DecisionState;
  code: string | null;
  detail: string | null;
  reason: string;
  requester_fingerprint: string;
  requester_hostname: string;
  issued_at: number;
  received_at: number;
  applied_at: number | null;
  updated_at: number;
  ended_by: string | null;
  evidence: string | null;
}

/** The signed request as the task wire delivered it. */
export interface OrderEvidence {
  readonly signed: { readonly payload: string; readonly signer: string; readonly signature: string };
}

function parseEvidence(text: string | null): OrderEvidence | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as OrderEvidence;
    return typeof v?.signed?.payload === 'string' ? v : null;
  } catch {
    return null;
  }
}

/**
 * Listings leave out the signed request: 10,000 active blocks would otherwise parse 10,000 JSON
 * documents nobody reads. `get(requestId)` returns it.
 */
const LIST_COLUMNS = `request_id, incident_id, action, cidr, ttl_seconds, expires_at, state, code, detail, reason,
  requester_fingerprint, requester_hostname, issued_at, received_at, applied_at, updated_at, ended_by, NULL AS evidence`;

function toDecision(r: DecisionRow): Decision {
  return {
    requestId: r.request_id,
    incidentId: r.incident_id,
    action: r.action,
    cidr: r.cidr,
    ttlSeconds: Number(r.ttl_seconds),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    state: r.state,
    code: r.code,
    detail: r.detail,
    reason: r.reason,
    requester: { fingerprint: r.requester_fingerprint, hostname: r.requester_hostname },
    issuedAt: Number(r.issued_at),
    receivedAt: Number(r.received_at),
    appliedAt: r.applied_at === null ? null : Number(r.applied_at),
    updatedAt: Number(r.updated_at),
    endedBy: r.ended_by,
    evidence: parseEvidence(r.evidence),
  };
}

export interface DecisionUpdate {
  readonly code?: string | null;
  readonly detail?: string | null;
  readonly endedBy?: string | null;
  readonly appliedAt?: number | null;
}

export class DecisionStore {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the executor's database. Throws StoreError (message + hint). */
  static open(path: string): DecisionStore {
    return new DecisionStore(openDatabase(path, MIGRATIONS));
  }

  get(requestId: string): Decision | null {
    const row = this.#db.prepare('SELECT * FROM decisions WHERE request_id = ?').get(requestId) as DecisionRow | undefined;
    return row === undefined ? null : toDecision(row);
  }

  /** Records a new decision; false if its request id is already known (a replay). */
  insert(d: Decision): boolean {
    const result = this.#db
      .prepare(
        `INSERT INTO decisions (request_id, incident_id, action, cidr, ttl_seconds, expires_at, state, code, detail, reason,
           requester_fingerprint, requester_hostname, issued_at, received_at, applied_at, updated_at, ended_by, evidence)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(request_id) DO NOTHING`,
      )
      .run(
        d.requestId,
        d.incidentId,
        d.action,
        d.cidr,
        d.ttlSeconds,
        d.expiresAt,
        d.state,
        d.code,
        d.detail,
        d.reason,
        d.requester.fingerprint,
        d.requester.hostname,
        d.issuedAt,
        d.receivedAt,
        d.appliedAt,
        d.updatedAt,
        d.endedBy,
        d.evidence === null ? null : JSON.stringify(d.evidence),
      );
    return Number(result.changes) === 1;
  }

  /**
   * Moves a decision to `to` if it is in one of `from` (a guarded transition: a decision that
   * already ended is never revived). Returns whether it moved.
   */
  transition(requestId: string, from: readonly DecisionState[], to: DecisionState, at: number, update: DecisionUpdate = {}): boolean {
    const placeholders = from.map(() => '?').join(', ');
    const result = this.#db
      .prepare(
        `UPDATE decisions SET state = ?, updated_at = ?,
           code = coalesce(?, code), detail = coalesce(?, detail), ended_by = coalesce(?, ended_by), applied_at = coalesce(?, applied_at)
         WHERE request_id = ? AND state IN (${placeholders})`,
      )
      .run(to, at, update.code ?? null, update.detail ?? null, update.endedBy ?? null, update.appliedAt ?? null, requestId, ...from);
    return Number(result.changes) === 1;
  }

  /** Runs several transitions as one transaction (applied + superseded must not be split). */
  atomically<T>(fn: () => T): T {
    return inTransaction(this.#db, fn);
  }

  /** Blocks in force according to the store, soonest expiry first (without evidence: see `get`). */
  activeBlocks(): Decision[] {
    const rows = this.#db
      .prepare(`SELECT ${LIST_COLUMNS} FROM decisions WHERE state = 'applied' AND action = 'block' ORDER BY expires_at, request_id`)
      .all() as unknown as DecisionRow[];
    return rows.map(toDecision);
  }

  /** The blocks in force whose target is one of `cidrs` (canonical texts): one indexed query. */
  activeTargetsAmong(cidrs: readonly string[]): Array<{ requestId: string; cidr: string }> {
    if (cidrs.length === 0) return [];
    const placeholders = cidrs.map(() => '?').join(', ');
    return this.#db
      .prepare(`SELECT request_id AS requestId, cidr FROM decisions WHERE cidr IN (${placeholders}) AND state = 'applied' AND action = 'block'`)
      .all(...cidrs) as Array<{ requestId: string; cidr: string }>;
  }

  /** The targets of all blocks in force. */
  activeTargets(): Array<{ requestId: string; cidr: string }> {
    return this.#db.prepare("SELECT request_id AS requestId, cidr FROM decisions WHERE state = 'applied' AND action = 'block'").all() as Array<{
      requestId: string;
      cidr: string;
    }>;
  }

  countActiveBlocks(): number {
    const row = this.#db.prepare("SELECT count(*) AS n FROM decisions WHERE state = 'applied' AND action = 'block'").get() as { n: number };
    return Number(row.n);
  }

  activeBlockFor(cidr: string): Decision | null {
    const row = this.#db.prepare("SELECT * FROM decisions WHERE cidr = ? AND state = 'applied' AND action = 'block'").get(cidr) as DecisionRow | undefined;
    return row === undefined ? null : toDecision(row);
  }

  /** Decisions a crash left between `accepted` and their outcome, oldest first. */
  stuck(): Decision[] {
    const rows = this.#db.prepare("SELECT * FROM decisions WHERE state = 'accepted' ORDER BY received_at, request_id").all() as unknown as DecisionRow[];
    return rows.map(toDecision);
  }

  /** Active blocks whose time is up. */
  dueToExpire(now: number): Decision[] {
    const rows = this.#db
      .prepare("SELECT * FROM decisions WHERE state = 'applied' AND action = 'block' AND expires_at <= ? ORDER BY expires_at, request_id")
      .all(now) as unknown as DecisionRow[];
    return rows.map(toDecision);
  }

  /** When the next active block ends, or null. */
  nextExpiry(): number | null {
    const row = this.#db.prepare("SELECT min(expires_at) AS t FROM decisions WHERE state = 'applied' AND action = 'block'").get() as { t: number | null };
    return row.t === null ? null : Number(row.t);
  }

  /** The latest decisions, newest first (history for the CLI and the console; without evidence). */
  recent(limit = 100): Decision[] {
    const rows = this.#db.prepare(`SELECT ${LIST_COLUMNS} FROM decisions ORDER BY received_at DESC, rowid DESC LIMIT ?`).all(limit) as unknown as DecisionRow[];
    return rows.map(toDecision);
  }

  close(): void {
    this.#db.close();
  }
}
