/**
 * The orchestrator's memory on disk: incidents, the anomalies each one holds, mitigation
 * proposals and the ban history that escalation reads. Its own SQLite file (`incidents.db` in the
 * console's state directory): ingestion writes on every anomaly update, and must not contend with
 * the node's trust decisions in swarm.db, nor with the feed's bursts in feed.db.
 *
 * This module stores and finds; what to store is decided in incidents.ts, proposals.ts and
 * orchestrator.ts. Every multi-row change runs in one transaction (`transaction`), so a crash
 * leaves an incident and its anomalies consistent: an anomaly is counted in exactly one incident.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { Severity } from '../monitor/detect/anomaly.ts';
import { inTransaction, openDatabase, type Migration } from '../../store/database.ts';
import type { IncidentAggregate, IncidentEvidence, IncidentMember, IncidentState } from './incidents.ts';
import type { MitigationAction, MitigationResult, ProposalStatus } from './proposals.ts';

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
    CREATE TABLE incidents (
      seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: ids shown to analysts
      source_key       TEXT NOT NULL,
      family           INTEGER,                            -- 4, 6, or NULL for a host name
      state            TEXT NOT NULL,
      first_seen       INTEGER NOT NULL,                   -- event time (monitors' clocks), epoch ms
      last_seen        INTEGER NOT NULL,
      count            INTEGER NOT NULL,
      anomalies        INTEGER NOT NULL,
      open_anomalies   INTEGER NOT NULL,
      max_severity     TEXT NOT NULL,
      facts            TEXT NOT NULL,                      -- JSON: bounded samples (sources, rules, agents, mitre, users, evidence)
      created_at       INTEGER NOT NULL,                   -- console clock from here on
      updated_at       INTEGER NOT NULL,
      activity_at      INTEGER NOT NULL,                   -- last anomaly update received
      closed_at        INTEGER,
      latest_proposal  INTEGER
    );
    CREATE INDEX incidents_open_by_key ON incidents (source_key, closed_at);
    CREATE INDEX incidents_recent ON incidents (updated_at, seq);
    CREATE INDEX incidents_to_sweep ON incidents (closed_at, activity_at);
    CREATE TABLE incident_anomalies (
      agent            TEXT NOT NULL,
      anomaly_id       TEXT NOT NULL,
      incident_seq     INTEGER NOT NULL REFERENCES incidents (seq),
      source_ip        TEXT NOT NULL,
      last_seen        INTEGER NOT NULL,
      revision         INTEGER NOT NULL,
      member           TEXT NOT NULL,                      -- JSON IncidentMember (latest revision)
      received_at      INTEGER NOT NULL,
      PRIMARY KEY (agent, anomaly_id)
    ) WITHOUT ROWID;
    CREATE INDEX incident_anomalies_by_source ON incident_anomalies (incident_seq, source_ip);
    CREATE INDEX incident_anomalies_by_agent ON incident_anomalies (incident_seq, agent);
    CREATE INDEX incident_anomalies_recent ON incident_anomalies (incident_seq, last_seen);
    CREATE TABLE proposals (
      seq              INTEGER PRIMARY KEY AUTOINCREMENT,
      incident_seq     INTEGER NOT NULL REFERENCES incidents (seq),
      status           TEXT NOT NULL,
      source_key       TEXT NOT NULL,
      request_id       TEXT UNIQUE,                        -- set on approval
      created_at       INTEGER NOT NULL,
      updated_at       INTEGER NOT NULL,
      body             TEXT NOT NULL                       -- JSON: terms, decision, results, enrichment
    );
    CREATE INDEX proposals_by_incident ON proposals (incident_seq, seq);
    CREATE INDEX proposals_by_status ON proposals (status, seq);
    -- Bans remembered for escalation (fail2ban's bips table): one row per approved mitigation.
    CREATE TABLE bans (
      seq              INTEGER PRIMARY KEY AUTOINCREMENT,
      source_key       TEXT NOT NULL,
      at               INTEGER NOT NULL,
      ttl_seconds      INTEGER NOT NULL,
      proposal_seq     INTEGER NOT NULL UNIQUE,
      counts           INTEGER NOT NULL DEFAULT 1          -- 0 once no executor applied it
    );
    CREATE INDEX bans_by_source ON bans (source_key, at);
  `,
  },
];

/** Incident facts kept as one JSON column: bounded lists, read and written whole. */
interface IncidentFacts {
  sources: string[];
  sourcesTotal: number;
  rules: Record<string, Severity>;
  agents: string[];
  agentsTotal: number;
  mitre: string[];
  users: string[];
  usersTotal: number;
  evidence: IncidentEvidence[];
  evidenceReported: number;
}

export interface StoredIncident extends IncidentAggregate {
  readonly seq: number;
  readonly state: IncidentState;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly activityAt: number;
  readonly closedAt: number | null;
  readonly latestProposal: number | null;
}

export interface StoredMember extends IncidentMember {
  readonly incidentSeq: number;
  readonly receivedAt: number;
}

export interface ProposalDecision {
  readonly by: string;
  readonly at: number;
  readonly kind: 'approved' | 'rejected';
  /** A rejection's reason. */
  readonly reason: string | null;
  /** The policy rule that approved it without a person, if one did. */
  readonly autoRule: { rule: string; minSeverity: Severity; maxTtlSeconds: number } | null;
  readonly edited: { cidr?: string; ttlSeconds?: number; targets?: string[] } | null;
}

export interface ApprovedTerms {
  readonly requestId: string;
  readonly cidr: string;
  readonly ttlSeconds: number;
  readonly targets: readonly string[];
  readonly at: number;
}

export interface TargetResult {
  readonly result: MitigationResult;
  readonly at: number;
  readonly detail: string | null;
  /** When a block applied here lapses by itself (applied time + TTL). */
  readonly expiresAt: number | null;
}

export type EnrichmentStatus = 'off' | 'pending' | 'done' | 'failed';

export interface EnrichmentRecord {
  readonly status: EnrichmentStatus;
  readonly summary: string | null;
  readonly rationale: string | null;
  readonly model: string | null;
  readonly error: string | null;
  readonly at: number | null;
}

export interface ProposalBody {
  readonly action: MitigationAction;
  readonly cidr: string;
  readonly ttlSeconds: number;
  readonly targets: readonly string[];
  readonly reason: string;
  readonly severity: Severity;
  readonly triggerRules: readonly string[];
  readonly previousBans: number;
  readonly decision: ProposalDecision | null;
  readonly approved: ApprovedTerms | null;
  readonly results: Readonly<Record<string, TargetResult>>;
  readonly enrichment: EnrichmentRecord;
}

export interface StoredProposal extends ProposalBody {
  readonly seq: number;
  readonly incidentSeq: number;
  readonly status: ProposalStatus;
  readonly sourceKey: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface IncidentQuery {
  readonly states?: readonly IncidentState[];
  readonly sourceKey?: string;
  /** Newest first (by last update); continue below this seq within equal update times. */
  readonly limit: number;
}

export interface ProposalQuery {
  readonly statuses?: readonly ProposalStatus[];
  readonly incidentSeq?: number;
  readonly limit: number;
}

interface IncidentRow {
  seq: number;
  source_key: string;
  family: number | null;
  state: string;
  first_seen: number;
  last_seen: number;
  count: number;
  anomalies: number;
  open_anomalies: number;
  max_severity: string;
  facts: string;
  created_at: number;
  updated_at: number;
  activity_at: number;
  closed_at: number | null;
  latest_proposal: number | null;
}

interface ProposalRow {
  seq: number;
  incident_seq: number;
  status: string;
  source_key: string;
  created_at: number;
  updated_at: number;
  body: string;
}

function incidentOfRow(r: IncidentRow): StoredIncident {
  const facts = JSON.parse(r.facts) as IncidentFacts;
  return {
    seq: r.seq,
    sourceKey: r.source_key,
    family: r.family === 4 || r.family === 6 ? r.family : null,
    state: r.state as IncidentState,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    count: r.count,
    anomalies: r.anomalies,
    openAnomalies: r.open_anomalies,
    maxSeverity: r.max_severity as Severity,
    ...facts,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    activityAt: r.activity_at,
    closedAt: r.closed_at,
    latestProposal: r.latest_proposal,
  };
}

function factsOf(agg: IncidentAggregate): string {
  const facts: IncidentFacts = {
    sources: [...agg.sources],
    sourcesTotal: agg.sourcesTotal,
    rules: { ...agg.rules },
    agents: [...agg.agents],
    agentsTotal: agg.agentsTotal,
    mitre: [...agg.mitre],
    users: [...agg.users],
    usersTotal: agg.usersTotal,
    evidence: [...agg.evidence],
    evidenceReported: agg.evidenceReported,
  };
  return JSON.stringify(facts);
}

function proposalOfRow(r: ProposalRow): StoredProposal {
  const body = JSON.parse(r.body) as ProposalBody;
  return { ...body, seq: r.seq, incidentSeq: r.incident_seq, status: r.status as ProposalStatus, sourceKey: r.source_key, createdAt: r.created_at, updatedAt: r.updated_at };
}

function bodyOf(p: ProposalBody): string {
  const body: ProposalBody = {
    action: p.action,
    cidr: p.cidr,
    ttlSeconds: p.ttlSeconds,
    targets: p.targets,
    reason: p.reason,
    severity: p.severity,
    triggerRules: p.triggerRules,
    previousBans: p.previousBans,
    decision: p.decision,
    approved: p.approved,
    results: p.results,
    enrichment: p.enrichment,
  };
  return JSON.stringify(body);
}

export class IncidentStore {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #prepared = new Map<string, StatementSync>();
  #closed = false;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  /** Opens (creating if needed) the incident database. Throws StoreError naming the file and the fix. */
  static open(path: string): IncidentStore {
    return new IncidentStore(path, openDatabase(path, MIGRATIONS));
  }

  #statement(sql: string): StatementSync {
    let statement = this.#prepared.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#prepared.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in one write transaction. */
  transaction<T>(fn: () => T): T {
    return inTransaction(this.#db, fn);
  }

  /**
   * Runs `fn` inside a savepoint of the current transaction: if it throws, only its writes are
   * undone and the error is rethrown (an auto-approval whose audit failed, inside an ingest batch).
   */
  savepoint<T>(fn: () => T): T {
    this.#db.exec('SAVEPOINT orchestrator_step');
    try {
      const result = fn();
      this.#db.exec('RELEASE orchestrator_step');
      return result;
    } catch (err) {
      this.#db.exec('ROLLBACK TO orchestrator_step');
      this.#db.exec('RELEASE orchestrator_step');
      throw err;
    }
  }

  // ---- anomalies -----------------------------------------------------------------------------

  member(agent: string, anomalyId: string): StoredMember | null {
    const row = this.#statement('SELECT incident_seq, member, received_at FROM incident_anomalies WHERE agent = ? AND anomaly_id = ?').get(agent, anomalyId) as
      | { incident_seq: number; member: string; received_at: number }
      | undefined;
    if (!row) return null;
    return { ...(JSON.parse(row.member) as IncidentMember), incidentSeq: row.incident_seq, receivedAt: row.received_at };
  }

  putMember(incidentSeq: number, member: IncidentMember, now: number): void {
    this.#statement(
      `INSERT INTO incident_anomalies (agent, anomaly_id, incident_seq, source_ip, last_seen, revision, member, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent, anomaly_id) DO UPDATE SET last_seen = excluded.last_seen, revision = excluded.revision, member = excluded.member, received_at = excluded.received_at`,
    ).run(member.agent, member.anomalyId, incidentSeq, member.sourceIp, member.lastSeen, member.revision, JSON.stringify(member), now);
  }

  /** An incident's anomalies, most recently active first. */
  members(incidentSeq: number, limit = 1000): StoredMember[] {
    const rows = this.#statement('SELECT incident_seq, member, received_at FROM incident_anomalies WHERE incident_seq = ? ORDER BY last_seen DESC, agent, anomaly_id LIMIT ?').all(
      incidentSeq,
      Math.max(1, Math.floor(limit)),
    ) as Array<{ incident_seq: number; member: string; received_at: number }>;
    return rows.map((r) => ({ ...(JSON.parse(r.member) as IncidentMember), incidentSeq: r.incident_seq, receivedAt: r.received_at }));
  }

  memberWithSource(incidentSeq: number, sourceIp: string): boolean {
    return this.#statement('SELECT 1 FROM incident_anomalies WHERE incident_seq = ? AND source_ip = ? LIMIT 1').get(incidentSeq, sourceIp) !== undefined;
  }

  memberWithAgent(incidentSeq: number, agent: string): boolean {
    return this.#statement('SELECT 1 FROM incident_anomalies WHERE incident_seq = ? AND agent = ? LIMIT 1').get(incidentSeq, agent) !== undefined;
  }

  /** Every (agent, anomaly id, incident) pair; for checks and tests, not for hot paths. */
  allMemberKeys(): Array<{ agent: string; anomalyId: string; incidentSeq: number; revision: number }> {
    return (this.#statement('SELECT agent, anomaly_id, incident_seq, revision FROM incident_anomalies ORDER BY agent, anomaly_id').all() as Array<{ agent: string; anomaly_id: string; incident_seq: number; revision: number }>).map(
      (r) => ({ agent: r.agent, anomalyId: r.anomaly_id, incidentSeq: r.incident_seq, revision: r.revision }),
    );
  }

  // ---- incidents -----------------------------------------------------------------------------

  incident(seq: number): StoredIncident | null {
    const row = this.#statement('SELECT * FROM incidents WHERE seq = ?').get(seq) as IncidentRow | undefined;
    return row ? incidentOfRow(row) : null;
  }

  /** Incidents of a source key that are not closed, most recently active first. */
  openIncidentsFor(sourceKey: string): StoredIncident[] {
    return (this.#statement('SELECT * FROM incidents WHERE source_key = ? AND closed_at IS NULL ORDER BY last_seen DESC, seq DESC').all(sourceKey) as unknown as IncidentRow[]).map(incidentOfRow);
  }

  createIncident(agg: IncidentAggregate, state: IncidentState, now: number): number {
    const result = this.#statement(
      `INSERT INTO incidents (source_key, family, state, first_seen, last_seen, count, anomalies, open_anomalies, max_severity, facts, created_at, updated_at, activity_at, closed_at, latest_proposal)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
    ).run(agg.sourceKey, agg.family, state, agg.firstSeen, agg.lastSeen, agg.count, agg.anomalies, agg.openAnomalies, agg.maxSeverity, factsOf(agg), now, now, now);
    return Number(result.lastInsertRowid);
  }

  /** Writes the incident's facts after an anomaly update (which also counts as activity). */
  updateIncidentFacts(seq: number, agg: IncidentAggregate, now: number): void {
    this.#statement(
      `UPDATE incidents SET first_seen = ?, last_seen = ?, count = ?, anomalies = ?, open_anomalies = ?, max_severity = ?, facts = ?, updated_at = ?, activity_at = ? WHERE seq = ?`,
    ).run(agg.firstSeen, agg.lastSeen, agg.count, agg.anomalies, agg.openAnomalies, agg.maxSeverity, factsOf(agg), now, now, seq);
  }

  setIncidentState(seq: number, fields: { state: IncidentState; closedAt: number | null; latestProposal: number | null }, now: number): void {
    this.#statement('UPDATE incidents SET state = ?, closed_at = ?, latest_proposal = ?, updated_at = ? WHERE seq = ?').run(fields.state, fields.closedAt, fields.latestProposal, now, seq);
  }

  /** Newest first. */
  listIncidents(query: IncidentQuery): StoredIncident[] {
    const clauses: string[] = [];
    const params: SQLInputValue[] = [];
    if (query.states && query.states.length > 0) {
      clauses.push(`state IN (${query.states.map(() => '?').join(', ')})`);
      params.push(...query.states);
    }
    if (query.sourceKey !== undefined) {
      clauses.push('source_key = ?');
      params.push(query.sourceKey);
    }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const rows = this.#statement(`SELECT * FROM incidents ${where} ORDER BY updated_at DESC, seq DESC LIMIT ?`).all(...params, Math.max(1, Math.floor(query.limit))) as unknown as IncidentRow[];
    return rows.map(incidentOfRow);
  }

  /** Incidents not closed whose last anomaly update is at or before `quietSince`. */
  quietIncidents(quietSince: number): StoredIncident[] {
    return (this.#statement('SELECT * FROM incidents WHERE closed_at IS NULL AND activity_at <= ?').all(quietSince) as unknown as IncidentRow[]).map(incidentOfRow);
  }

  // ---- proposals -----------------------------------------------------------------------------

  createProposal(incidentSeq: number, sourceKey: string, body: ProposalBody, now: number): number {
    const result = this.#statement('INSERT INTO proposals (incident_seq, status, source_key, request_id, created_at, updated_at, body) VALUES (?, ?, ?, NULL, ?, ?, ?)').run(
      incidentSeq,
      'pending',
      sourceKey,
      now,
      now,
      bodyOf(body),
    );
    return Number(result.lastInsertRowid);
  }

  proposal(seq: number): StoredProposal | null {
    const row = this.#statement('SELECT * FROM proposals WHERE seq = ?').get(seq) as ProposalRow | undefined;
    return row ? proposalOfRow(row) : null;
  }

  proposalByRequest(requestId: string): StoredProposal | null {
    const row = this.#statement('SELECT * FROM proposals WHERE request_id = ?').get(requestId) as ProposalRow | undefined;
    return row ? proposalOfRow(row) : null;
  }

  updateProposal(seq: number, status: ProposalStatus, body: ProposalBody, now: number): void {
    this.#statement('UPDATE proposals SET status = ?, request_id = ?, body = ?, updated_at = ? WHERE seq = ?').run(status, body.approved?.requestId ?? null, bodyOf(body), now, seq);
  }

  /** Newest first. */
  listProposals(query: ProposalQuery): StoredProposal[] {
    const clauses: string[] = [];
    const params: SQLInputValue[] = [];
    if (query.statuses && query.statuses.length > 0) {
      clauses.push(`status IN (${query.statuses.map(() => '?').join(', ')})`);
      params.push(...query.statuses);
    }
    if (query.incidentSeq !== undefined) {
      clauses.push('incident_seq = ?');
      params.push(query.incidentSeq);
    }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const rows = this.#statement(`SELECT * FROM proposals ${where} ORDER BY seq DESC LIMIT ?`).all(...params, Math.max(1, Math.floor(query.limit))) as unknown as ProposalRow[];
    return rows.map(proposalOfRow);
  }

  // ---- bans (escalation memory) --------------------------------------------------------------

  recordBan(sourceKey: string, at: number, ttlSeconds: number, proposalSeq: number): void {
    this.#statement('INSERT OR IGNORE INTO bans (source_key, at, ttl_seconds, proposal_seq, counts) VALUES (?, ?, ?, ?, 1)').run(sourceKey, at, ttlSeconds, proposalSeq);
  }

  /** Whether a ban counts toward escalation (a ban no executor applied does not). */
  setBanCounts(proposalSeq: number, counts: boolean): void {
    this.#statement('UPDATE bans SET counts = ? WHERE proposal_seq = ?').run(counts ? 1 : 0, proposalSeq);
  }

  /** Bans of `sourceKey` that count, recorded at or after `since`. */
  previousBans(sourceKey: string, since: number): number {
    return (this.#statement('SELECT COUNT(*) AS n FROM bans WHERE source_key = ? AND at >= ? AND counts = 1').get(sourceKey, since) as { n: number }).n;
  }

  /** Closes the database; calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
