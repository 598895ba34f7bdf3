/**
 * A node's own database: whom it trusts and with which capabilities, trust requests waiting for
 * a decision (incoming) or for the peer's decision (outgoing), trust messages not yet delivered,
 * nonces seen (replay protection) and the audit log. Every decision and its audit entry are
 * written in one transaction, so a crash never leaves one without the other.
 */
import type { DatabaseSync } from 'node:sqlite';
import { AuditLog, AUDIT_MIGRATION } from './audit-log.ts';
import { inTransaction, openDatabase, type Migration } from './database.ts';

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql:
      AUDIT_MIGRATION.sql +
      `
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE trust (
      peer_key        TEXT PRIMARY KEY,
      hostname        TEXT NOT NULL,
      address         TEXT NOT NULL,
      fingerprint     TEXT NOT NULL,
      caps_granted    TEXT NOT NULL,  -- JSON: what the peer may do on this node
      caps_received   TEXT NOT NULL,  -- JSON: what this node may do on the peer
      since           TEXT NOT NULL,
      request_id      TEXT NOT NULL,
      static_public   TEXT NOT NULL,
      static_sig      TEXT NOT NULL,
      endpoints       TEXT NOT NULL,  -- JSON: last known underlay endpoints
      last_seen       TEXT
    );
    CREATE TABLE pending_in (
      request_id      TEXT PRIMARY KEY,
      peer_key        TEXT NOT NULL UNIQUE,
      hostname        TEXT NOT NULL,
      address         TEXT NOT NULL,
      fingerprint     TEXT NOT NULL,
      justification   TEXT NOT NULL,
      want_caps       TEXT NOT NULL,
      offer_caps      TEXT NOT NULL,
      received_at     TEXT NOT NULL,
      static_public   TEXT NOT NULL,
      static_sig      TEXT NOT NULL,
      endpoints       TEXT NOT NULL
    );
    CREATE TABLE outgoing (
      request_id      TEXT PRIMARY KEY,
      peer_key        TEXT NOT NULL,
      hostname        TEXT NOT NULL,
      address         TEXT NOT NULL,
      fingerprint     TEXT NOT NULL,
      justification   TEXT NOT NULL,
      want_caps       TEXT NOT NULL,
      offer_caps      TEXT NOT NULL,
      sent_at         TEXT NOT NULL,
      status          TEXT NOT NULL,  -- sending | pending | approved | rejected
      reason          TEXT,
      decided_at      TEXT,
      static_public   TEXT NOT NULL,
      static_sig      TEXT NOT NULL,
      endpoints       TEXT NOT NULL
    );
    CREATE INDEX outgoing_peer ON outgoing (peer_key);
    CREATE TABLE seen_nonces (
      peer_key TEXT NOT NULL,
      nonce    TEXT NOT NULL,
      at       INTEGER NOT NULL,
      PRIMARY KEY (peer_key, nonce)
    );
    CREATE TABLE outbox (
      id         INTEGER PRIMARY KEY,
      peer_key   TEXT NOT NULL,
      nonce      TEXT NOT NULL UNIQUE,
      kind       TEXT NOT NULL,
      message    BLOB NOT NULL,
      created_at INTEGER NOT NULL,
      attempts   INTEGER NOT NULL DEFAULT 0,
      next_at    INTEGER NOT NULL
    );
  `,
  },
];

/** How to reach a peer and verify it, as kept alongside trust and requests. */
export interface StoredContact {
  peerKey: string; // base64url Ed25519 public key
  hostname: string;
  address: string; // N:NNNN.HHHH.LLLL
  fingerprint: string;
  staticPublic: string; // base64
  staticSig: string; // base64
  endpoints: string[]; // ip:port
}

export interface TrustRecord extends StoredContact {
  capsGranted: string[];
  capsReceived: string[];
  since: string;
  requestId: string;
  lastSeen: string | null;
}

export interface IncomingRequest extends StoredContact {
  requestId: string;
  justification: string;
  wantCaps: string[];
  offerCaps: string[];
  receivedAt: string;
}

export type OutgoingStatus = 'sending' | 'pending' | 'approved' | 'rejected';

export interface OutgoingRequest extends StoredContact {
  requestId: string;
  justification: string;
  wantCaps: string[];
  offerCaps: string[];
  sentAt: string;
  status: OutgoingStatus;
  reason: string | null;
  decidedAt: string | null;
}

export interface OutboxEntry {
  id: number;
  peerKey: string;
  nonce: string;
  kind: string;
  message: Buffer;
  createdAt: number;
  attempts: number;
  nextAt: number;
}

type Row = Record<string, unknown>;

function json(value: unknown): string {
  return JSON.stringify(value);
}

function list(value: unknown): string[] {
  try {
    const parsed = JSON.parse(String(value)) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

function contactFrom(row: Row): StoredContact {
  return {
    peerKey: String(row.peer_key),
    hostname: String(row.hostname),
    address: String(row.address),
    fingerprint: String(row.fingerprint),
    staticPublic: String(row.static_public),
    staticSig: String(row.static_sig),
    endpoints: list(row.endpoints),
  };
}

function trustFrom(row: Row): TrustRecord {
  return {
    ...contactFrom(row),
    capsGranted: list(row.caps_granted),
    capsReceived: list(row.caps_received),
    since: String(row.since),
    requestId: String(row.request_id),
    lastSeen: row.last_seen == null ? null : String(row.last_seen),
  };
}

function incomingFrom(row: Row): IncomingRequest {
  return {
    ...contactFrom(row),
    requestId: String(row.request_id),
    justification: String(row.justification),
    wantCaps: list(row.want_caps),
    offerCaps: list(row.offer_caps),
    receivedAt: String(row.received_at),
  };
}

function outgoingFrom(row: Row): OutgoingRequest {
  return {
    ...contactFrom(row),
    requestId: String(row.request_id),
    justification: String(row.justification),
    wantCaps: list(row.want_caps),
    offerCaps: list(row.offer_caps),
    sentAt: String(row.sent_at),
    status: String(row.status) as OutgoingStatus,
    reason: row.reason == null ? null : String(row.reason),
    decidedAt: row.decided_at == null ? null : String(row.decided_at),
  };
}

export class NodeStore {
  readonly db: DatabaseSync;
  readonly audit: AuditLog;

  constructor(db: DatabaseSync, nodeFingerprint: string) {
    this.db = db;
    this.audit = new AuditLog(db, nodeFingerprint);
  }

  static open(path: string, nodeFingerprint: string, options: { readOnly?: boolean } = {}): NodeStore {
    return new NodeStore(openDatabase(path, MIGRATIONS, options), nodeFingerprint);
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return inTransaction(this.db, fn);
  }

  // ---- key/value -----------------------------------------------------------------------------

  getValue(key: string): string | null {
    const row = this.db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setValue(key: string, value: string): void {
    this.db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // ---- trust ---------------------------------------------------------------------------------

  trusted(): TrustRecord[] {
    return (this.db.prepare('SELECT * FROM trust ORDER BY hostname').all() as Row[]).map(trustFrom);
  }

  trustOf(peerKey: string): TrustRecord | null {
    const row = this.db.prepare('SELECT * FROM trust WHERE peer_key = ?').get(peerKey) as Row | undefined;
    return row ? trustFrom(row) : null;
  }

  putTrust(t: Omit<TrustRecord, 'lastSeen'>): void {
    this.db
      .prepare(
        `INSERT INTO trust (peer_key, hostname, address, fingerprint, caps_granted, caps_received, since, request_id,
                            static_public, static_sig, endpoints)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(peer_key) DO UPDATE SET hostname = excluded.hostname, address = excluded.address,
           caps_granted = excluded.caps_granted, caps_received = excluded.caps_received, since = excluded.since,
           request_id = excluded.request_id, static_public = excluded.static_public, static_sig = excluded.static_sig,
           endpoints = excluded.endpoints`,
      )
      .run(t.peerKey, t.hostname, t.address, t.fingerprint, json(t.capsGranted), json(t.capsReceived), t.since, t.requestId,
        t.staticPublic, t.staticSig, json(t.endpoints));
  }

  deleteTrust(peerKey: string): boolean {
    return Number(this.db.prepare('DELETE FROM trust WHERE peer_key = ?').run(peerKey).changes) > 0;
  }

  updateTrustContact(peerKey: string, endpoints: string[], lastSeen: string): void {
    this.db.prepare('UPDATE trust SET endpoints = ?, last_seen = ? WHERE peer_key = ?').run(json(endpoints), lastSeen, peerKey);
  }

  // ---- incoming requests -----------------------------------------------------------------------

  incoming(): IncomingRequest[] {
    return (this.db.prepare('SELECT * FROM pending_in ORDER BY received_at').all() as Row[]).map(incomingFrom);
  }

  incomingFrom(peerKey: string): IncomingRequest | null {
    const row = this.db.prepare('SELECT * FROM pending_in WHERE peer_key = ?').get(peerKey) as Row | undefined;
    return row ? incomingFrom(row) : null;
  }

  countIncoming(): number {
    return Number((this.db.prepare('SELECT count(*) AS n FROM pending_in').get() as { n: number }).n);
  }

  /** Stores a request, replacing an earlier one from the same peer (one pending request per peer). */
  putIncoming(r: IncomingRequest): void {
    this.db.prepare('DELETE FROM pending_in WHERE peer_key = ?').run(r.peerKey);
    this.db
      .prepare(
        `INSERT INTO pending_in (request_id, peer_key, hostname, address, fingerprint, justification, want_caps, offer_caps,
                                 received_at, static_public, static_sig, endpoints)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.requestId, r.peerKey, r.hostname, r.address, r.fingerprint, r.justification, json(r.wantCaps), json(r.offerCaps),
        r.receivedAt, r.staticPublic, r.staticSig, json(r.endpoints));
  }

  deleteIncoming(peerKey: string): void {
    this.db.prepare('DELETE FROM pending_in WHERE peer_key = ?').run(peerKey);
  }

  // ---- outgoing requests -----------------------------------------------------------------------

  outgoing(): OutgoingRequest[] {
    return (this.db.prepare('SELECT * FROM outgoing ORDER BY sent_at').all() as Row[]).map(outgoingFrom);
  }

  outgoingById(requestId: string): OutgoingRequest | null {
    const row = this.db.prepare('SELECT * FROM outgoing WHERE request_id = ?').get(requestId) as Row | undefined;
    return row ? outgoingFrom(row) : null;
  }

  /** The newest request to this peer that still waits for its answer. */
  openOutgoingTo(peerKey: string): OutgoingRequest | null {
    const row = this.db
      .prepare("SELECT * FROM outgoing WHERE peer_key = ? AND status IN ('sending', 'pending') ORDER BY sent_at DESC LIMIT 1")
      .get(peerKey) as Row | undefined;
    return row ? outgoingFrom(row) : null;
  }

  putOutgoing(r: OutgoingRequest): void {
    // A new request supersedes older unanswered ones to the same peer.
    this.db.prepare("DELETE FROM outgoing WHERE peer_key = ? AND status IN ('sending', 'pending')").run(r.peerKey);
    this.db
      .prepare(
        `INSERT INTO outgoing (request_id, peer_key, hostname, address, fingerprint, justification, want_caps, offer_caps,
                               sent_at, status, reason, decided_at, static_public, static_sig, endpoints)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.requestId, r.peerKey, r.hostname, r.address, r.fingerprint, r.justification, json(r.wantCaps), json(r.offerCaps),
        r.sentAt, r.status, r.reason, r.decidedAt, r.staticPublic, r.staticSig, json(r.endpoints));
  }

  setOutgoingStatus(requestId: string, status: OutgoingStatus, reason: string | null, decidedAt: string | null): void {
    this.db.prepare('UPDATE outgoing SET status = ?, reason = ?, decided_at = ? WHERE request_id = ?').run(status, reason, decidedAt, requestId);
  }

  // ---- replay protection -------------------------------------------------------------------------

  /** Records a nonce; false if this peer used it before. */
  rememberNonce(peerKey: string, nonce: string, at: number): boolean {
    const result = this.db.prepare('INSERT OR IGNORE INTO seen_nonces (peer_key, nonce, at) VALUES (?, ?, ?)').run(peerKey, nonce, at);
    return Number(result.changes) === 1;
  }

  forgetNoncesBefore(at: number): void {
    this.db.prepare('DELETE FROM seen_nonces WHERE at < ?').run(at);
  }

  // ---- outbox ------------------------------------------------------------------------------------

  enqueue(peerKey: string, nonce: string, kind: string, message: Buffer, now: number): void {
    this.db
      .prepare('INSERT OR IGNORE INTO outbox (peer_key, nonce, kind, message, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(peerKey, nonce, kind, message, now, now);
  }

  dueOutbox(now: number): OutboxEntry[] {
    const rows = this.db.prepare('SELECT * FROM outbox WHERE next_at <= ? ORDER BY id').all(now) as Row[];
    return rows.map((row) => ({
      id: Number(row.id),
      peerKey: String(row.peer_key),
      nonce: String(row.nonce),
      kind: String(row.kind),
      message: Buffer.from(row.message as Uint8Array),
      createdAt: Number(row.created_at),
      attempts: Number(row.attempts),
      nextAt: Number(row.next_at),
    }));
  }

  outboxSize(): number {
    return Number((this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n);
  }

  nextOutboxAt(): number | null {
    const row = this.db.prepare('SELECT min(next_at) AS t FROM outbox').get() as { t: number | null };
    return row.t == null ? null : Number(row.t);
  }

  rescheduleOutbox(id: number, attempts: number, nextAt: number): void {
    this.db.prepare('UPDATE outbox SET attempts = ?, next_at = ? WHERE id = ?').run(attempts, nextAt, id);
  }

  /** Removes a delivered message; true if it was still queued. */
  acknowledge(peerKey: string, nonce: string): boolean {
    return Number(this.db.prepare('DELETE FROM outbox WHERE peer_key = ? AND nonce = ?').run(peerKey, nonce).changes) > 0;
  }

  dropOutboxFor(peerKey: string, kinds: string[]): void {
    for (const kind of kinds) this.db.prepare('DELETE FROM outbox WHERE peer_key = ? AND kind = ?').run(peerKey, kind);
  }
}
