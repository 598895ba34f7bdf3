/**
 * The console's anomaly feed on disk: one row per (agent, anomaly id), so a detector that merges
 * repeats under one id updates its row instead of adding rows. Its own SQLite file (feed.db in the
 * console's state directory), not the node's swarm.db: the feed takes thousands of writes a
 * second in a burst, and those must never hold the write lock a trust decision is waiting for; it
 * can also be moved aside or deleted without touching trust or the audit log.
 *
 * Reads are keyset pages (newest lastSeen first, then newest seq): a page costs the same at the
 * millionth row as at the first, where OFFSET would walk every row before it. The feed keeps the
 * newest `retention` items (default 1,000,000, about 1-2 GB with typical evidence) and drops the
 * oldest lastSeen beyond that after every batch.
 *
 * Input is expected validated already (core/console/api.ts parseFeedAnomalies); this module
 * stores what it is given and trusts its types, not its intent.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { inTransaction, openDatabase, type Migration } from './database.ts';

export const DEFAULT_FEED_RETENTION = 1_000_000;

export type AnomalySeverity = 'low' | 'medium' | 'high' | 'critical';
const SEVERITY_BY_RANK: readonly AnomalySeverity[] = ['low', 'medium', 'high', 'critical'];

function severityRank(severity: AnomalySeverity): number {
  return SEVERITY_BY_RANK.indexOf(severity) + 1;
}

export interface AnomalyEvidence {
  line: number;
  text: string;
  source?: string;
}

export interface AnomalyAgent {
  key: string;
  hostname: string;
}

export interface AnomalyRecord {
  id: string;
  rule: string;
  detector: string;
  sourceIp: string | null;
  count: number;
  firstSeen: number;
  lastSeen: number;
  severity: AnomalySeverity;
  mitre: string;
  summary: string;
  users: string[];
  usersTotal: number;
  evidence: AnomalyEvidence[];
}

/** A stored item without its evidence lines (what lists need). */
export interface StoredAnomalyRow extends Omit<AnomalyRecord, 'evidence'> {
  seq: number;
  agentKey: string;
  agentHostname: string;
  evidenceCount: number;
  receivedAt: number;
  updatedAt: number;
}

export interface StoredAnomaly extends StoredAnomalyRow {
  evidence: AnomalyEvidence[];
}

export interface UpsertOutcome {
  row: StoredAnomalyRow;
  /** True when the item is new; false when an earlier version was replaced. */
  created: boolean;
}

export interface AnomalyFilter {
  rule?: string | null;
  severity?: AnomalySeverity | null;
  /** With `severity`: that severity or worse. */
  severityAtLeast?: boolean;
  sourceIp?: string | null;
  /** With `sourceIp`: addresses that start with it. */
  sourceIpPrefix?: boolean;
  agentKey?: string | null;
  /** Case-insensitive (ASCII) substring of summary, rule, source IP or an evidence line. */
  text?: string | null;
}

export interface FeedPosition {
  lastSeen: number;
  seq: number;
}

export interface AnomalyPageQuery extends AnomalyFilter {
  /** Continue after this item (the last of the previous page); omit for the newest. */
  after?: FeedPosition | null;
  limit: number;
}

export interface AnomalyPageResult {
  rows: StoredAnomalyRow[];
  /** Where the next page starts, or null when there is none. */
  next: FeedPosition | null;
}

export interface AnomalyStoreOptions {
  /** Newest items kept; older ones (by lastSeen) are deleted after each batch. */
  retention?: number;
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
    CREATE TABLE feed (
      seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: clients key rows by it
      agent_key       TEXT NOT NULL,
      agent_hostname  TEXT NOT NULL,
      anomaly_id      TEXT NOT NULL,
      rule            TEXT NOT NULL,
      detector        TEXT NOT NULL,
      source_ip       TEXT,
      count           INTEGER NOT NULL,
      first_seen      INTEGER NOT NULL,   -- epoch ms, monitor clock
      last_seen       INTEGER NOT NULL,
      severity        INTEGER NOT NULL,   -- 1 low … 4 critical: "at least high" is a range
      mitre           TEXT NOT NULL,
      summary         TEXT NOT NULL,
      users           TEXT NOT NULL,      -- JSON array
      users_total     INTEGER NOT NULL,
      evidence_text   TEXT NOT NULL,      -- the evidence lines' text joined by newlines: searched as is
      evidence_meta   TEXT NOT NULL,      -- JSON [[line, source|null], …], one per text line
      evidence_count  INTEGER NOT NULL,
      received_at     INTEGER NOT NULL,   -- epoch ms, console clock
      updated_at      INTEGER NOT NULL,
      UNIQUE (agent_key, anomaly_id)
    );
    CREATE INDEX feed_recent ON feed (last_seen, seq);
    CREATE INDEX feed_first_seen ON feed (first_seen);
    CREATE INDEX feed_rule ON feed (rule, last_seen, seq);
    CREATE INDEX feed_source ON feed (source_ip, last_seen, seq);
    CREATE TABLE feed_rules (rule TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE feed_agents (agent_key TEXT PRIMARY KEY, hostname TEXT NOT NULL) WITHOUT ROWID;
  `,
  },
];

const ROW_COLUMNS =
  'seq, agent_key, agent_hostname, anomaly_id, rule, detector, source_ip, count, first_seen, last_seen, severity, mitre, summary, users, users_total, evidence_count, received_at, updated_at';

interface RowRecord {
  seq: number;
  agent_key: string;
  agent_hostname: string;
  anomaly_id: string;
  rule: string;
  detector: string;
  source_ip: string | null;
  count: number;
  first_seen: number;
  last_seen: number;
  severity: number;
  mitre: string;
  summary: string;
  users: string;
  users_total: number;
  evidence_count: number;
  received_at: number;
  updated_at: number;
}

function parseJsonList(text: string): unknown[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

function rowFromRecord(r: RowRecord): StoredAnomalyRow {
  return {
    seq: r.seq,
    agentKey: r.agent_key,
    agentHostname: r.agent_hostname,
    id: r.anomaly_id,
    rule: r.rule,
    detector: r.detector,
    sourceIp: r.source_ip,
    count: r.count,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    severity: SEVERITY_BY_RANK[r.severity - 1] ?? 'low',
    mitre: r.mitre,
    summary: r.summary,
    users: parseJsonList(r.users).filter((u): u is string => typeof u === 'string'),
    usersTotal: r.users_total,
    evidenceCount: r.evidence_count,
    receivedAt: r.received_at,
    updatedAt: r.updated_at,
  };
}

function evidenceColumns(evidence: readonly AnomalyEvidence[]): { text: string; meta: string } {
  return {
    // Lines are single-line text (the validator turned newlines into spaces), so a newline separates them unambiguously.
    text: evidence.map((e) => e.text).join('\n'),
    meta: JSON.stringify(evidence.map((e) => [e.line, e.source ?? null])),
  };
}

function evidenceFromColumns(text: string, meta: string, count: number): AnomalyEvidence[] {
  if (count === 0) return [];
  const texts = text.split('\n');
  const metas = parseJsonList(meta);
  return texts.slice(0, count).map((lineText, i) => {
    const m = metas[i];
    const line = Array.isArray(m) && typeof m[0] === 'number' ? m[0] : 0;
    const source = Array.isArray(m) && typeof m[1] === 'string' ? m[1] : null;
    return source === null ? { line, text: lineText } : { line, text: lineText, source };
  });
}

/** Every character a stored address can hold sorts before this one, so [p, p + this) is "starts with p". */
const ADDRESS_PREFIX_END = '~';

/** WHERE clauses and parameters for a filter (shared by pages and counts so they always agree). */
function filterClauses(filter: AnomalyFilter): { clauses: string[]; params: SQLInputValue[] } {
  const clauses: string[] = [];
  const params: SQLInputValue[] = [];
  if (filter.rule != null) {
    clauses.push('rule = ?');
    params.push(filter.rule);
  }
  if (filter.severity != null) {
    clauses.push(filter.severityAtLeast ? 'severity >= ?' : 'severity = ?');
    params.push(severityRank(filter.severity));
  }
  if (filter.sourceIp != null) {
    if (filter.sourceIpPrefix) {
      clauses.push('source_ip >= ? AND source_ip < ?');
      params.push(filter.sourceIp, filter.sourceIp + ADDRESS_PREFIX_END);
    } else {
      clauses.push('source_ip = ?');
      params.push(filter.sourceIp);
    }
  }
  if (filter.agentKey != null) {
    clauses.push('agent_key = ?');
    params.push(filter.agentKey);
  }
  if (filter.text != null && filter.text !== '') {
    // LIKE is case-insensitive for ASCII letters without building a lower-cased copy of every row.
    const pattern = `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    clauses.push("(summary LIKE ? ESCAPE '\\' OR rule LIKE ? ESCAPE '\\' OR source_ip LIKE ? ESCAPE '\\' OR evidence_text LIKE ? ESCAPE '\\')");
    params.push(pattern, pattern, pattern, pattern);
  }
  return { clauses, params };
}

export class AnomalyStore {
  readonly path: string;
  readonly retention: number;
  readonly #db: DatabaseSync;
  readonly #find: StatementSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;
  readonly #touchRule: StatementSync;
  readonly #touchAgent: StatementSync;
  readonly #prune: StatementSync;
  readonly #get: StatementSync;
  /** Query shapes vary with the filter: prepare each shape once. */
  readonly #prepared = new Map<string, StatementSync>();
  #total: number;
  #closed = false;
  readonly #knownRules = new Set<string>();
  readonly #knownAgents = new Map<string, string>();

  private constructor(path: string, db: DatabaseSync, retention: number) {
    this.path = path;
    this.retention = retention;
    this.#db = db;
    this.#find = db.prepare('SELECT seq, count, first_seen, last_seen, received_at FROM feed WHERE agent_key = ? AND anomaly_id = ?');
    this.#insert = db.prepare(
      `INSERT INTO feed (agent_key, agent_hostname, anomaly_id, rule, detector, source_ip, count, first_seen, last_seen, severity, mitre, summary, users, users_total,
         evidence_text, evidence_meta, evidence_count, received_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#update = db.prepare(
      `UPDATE feed SET agent_hostname = ?, rule = ?, detector = ?, source_ip = ?, count = ?, first_seen = ?, last_seen = ?, severity = ?, mitre = ?, summary = ?,
         users = ?, users_total = ?, evidence_text = ?, evidence_meta = ?, evidence_count = ?, updated_at = ?
       WHERE seq = ?`,
    );
    this.#touchRule = db.prepare('INSERT OR IGNORE INTO feed_rules (rule) VALUES (?)');
    this.#touchAgent = db.prepare('INSERT INTO feed_agents (agent_key, hostname) VALUES (?, ?) ON CONFLICT (agent_key) DO UPDATE SET hostname = excluded.hostname');
    this.#prune = db.prepare('DELETE FROM feed WHERE seq IN (SELECT seq FROM feed ORDER BY last_seen, seq LIMIT ?)');
    this.#get = db.prepare(`SELECT ${ROW_COLUMNS}, evidence_text, evidence_meta FROM feed WHERE seq = ?`);
    this.#total = (db.prepare('SELECT COUNT(*) AS n FROM feed').get() as { n: number }).n;
    for (const r of db.prepare('SELECT rule FROM feed_rules').all() as Array<{ rule: string }>) this.#knownRules.add(r.rule);
    for (const a of db.prepare('SELECT agent_key, hostname FROM feed_agents').all() as Array<{ agent_key: string; hostname: string }>) this.#knownAgents.set(a.agent_key, a.hostname);
  }

  /** Opens (creating if needed) a feed database. Throws StoreError naming the file and the fix. */
  static open(path: string, options: AnomalyStoreOptions = {}): AnomalyStore {
    const retention = options.retention ?? DEFAULT_FEED_RETENTION;
    if (!Number.isSafeInteger(retention) || retention < 1) throw new RangeError(`feed retention must be a positive integer, got ${retention}`);
    return new AnomalyStore(path, openDatabase(path, MIGRATIONS), retention);
  }

  /** Items stored now. */
  get total(): number {
    return this.#total;
  }

  /**
   * Stores a batch from one agent in one transaction. An anomaly id the agent sent before is
   * replaced (counts, lastSeen, evidence) unless what arrives is older than what is stored (a
   * late or repeated delivery), which is skipped. Returns what changed, in input order.
   */
  upsertBatch(agent: AnomalyAgent, anomalies: readonly AnomalyRecord[], now: number = Date.now()): UpsertOutcome[] {
    if (anomalies.length === 0) return [];
    const outcomes: UpsertOutcome[] = [];
    let created = 0;
    inTransaction(this.#db, () => {
      if (this.#knownAgents.get(agent.key) !== agent.hostname) this.#touchAgent.run(agent.key, agent.hostname);
      for (const a of anomalies) {
        if (!this.#knownRules.has(a.rule)) this.#touchRule.run(a.rule);
        const stored = this.#find.get(agent.key, a.id) as { seq: number; count: number; first_seen: number; last_seen: number; received_at: number } | undefined;
        const evidence = evidenceColumns(a.evidence);
        const users = JSON.stringify(a.users);
        const rank = severityRank(a.severity);
        let seq: number;
        let firstSeen = a.firstSeen;
        let receivedAt = now;
        if (stored === undefined) {
          const result = this.#insert.run(
            agent.key, agent.hostname, a.id, a.rule, a.detector, a.sourceIp, a.count, a.firstSeen, a.lastSeen, rank, a.mitre, a.summary, users, a.usersTotal,
            evidence.text, evidence.meta, a.evidence.length, now, now,
          );
          seq = Number(result.lastInsertRowid);
          created++;
        } else {
          // Out-of-order or repeated delivery: never let an older version overwrite a newer one.
          if (a.lastSeen < stored.last_seen || (a.lastSeen === stored.last_seen && a.count <= stored.count)) continue;
          seq = stored.seq;
          firstSeen = Math.min(stored.first_seen, a.firstSeen);
          receivedAt = stored.received_at;
          this.#update.run(
            agent.hostname, a.rule, a.detector, a.sourceIp, a.count, firstSeen, a.lastSeen, rank, a.mitre, a.summary, users, a.usersTotal,
            evidence.text, evidence.meta, a.evidence.length, now, seq,
          );
        }
        outcomes.push({
          created: stored === undefined,
          row: {
            seq,
            agentKey: agent.key,
            agentHostname: agent.hostname,
            id: a.id,
            rule: a.rule,
            detector: a.detector,
            sourceIp: a.sourceIp,
            count: a.count,
            firstSeen,
            lastSeen: a.lastSeen,
            severity: a.severity,
            mitre: a.mitre,
            summary: a.summary,
            users: a.users,
            usersTotal: a.usersTotal,
            evidenceCount: a.evidence.length,
            receivedAt,
            updatedAt: now,
          },
        });
      }
      this.#total += created;
      if (this.#total > this.retention) {
        const result = this.#prune.run(this.#total - this.retention);
        this.#total -= Number(result.changes);
      }
    });
    // Only after the commit: a rolled-back batch must not leave names the database does not have.
    this.#knownAgents.set(agent.key, agent.hostname);
    for (const a of anomalies) this.#knownRules.add(a.rule);
    return outcomes;
  }

  #statement(sql: string): StatementSync {
    let statement = this.#prepared.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#prepared.set(sql, statement);
    }
    return statement;
  }

  /** One page, newest lastSeen first. */
  page(query: AnomalyPageQuery): AnomalyPageResult {
    const limit = Math.max(1, Math.floor(query.limit));
    const { clauses, params } = filterClauses(query);
    if (query.after) {
      // A row value comparison walks the (…, last_seen, seq) indexes straight to the cursor.
      clauses.push('(last_seen, seq) < (?, ?)');
      params.push(query.after.lastSeen, query.after.seq);
    }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    // One row more than asked tells whether another page exists without a second query.
    const records = this.#statement(`SELECT ${ROW_COLUMNS} FROM feed ${where} ORDER BY last_seen DESC, seq DESC LIMIT ?`).all(...params, limit + 1) as unknown as RowRecord[];
    const rows = records.slice(0, limit).map(rowFromRecord);
    const last = rows.at(-1);
    return { rows, next: records.length > limit && last ? { lastSeen: last.lastSeen, seq: last.seq } : null };
  }

  /** One item with its evidence, or null when it is not (or no longer) stored. */
  get(seq: number): StoredAnomaly | null {
    const record = this.#get.get(seq) as (RowRecord & { evidence_text: string; evidence_meta: string }) | undefined;
    if (!record) return null;
    return { ...rowFromRecord(record), evidence: evidenceFromColumns(record.evidence_text, record.evidence_meta, record.evidence_count) };
  }

  /** Items per bucket by firstSeen over [from, to); `from` is used as given (align it first). */
  countsPerBucket(from: number, to: number, bucketMs: number, filter: AnomalyFilter = {}): number[] {
    const buckets = Math.max(0, Math.ceil((to - from) / bucketMs));
    const counts = new Array<number>(buckets).fill(0);
    if (buckets === 0) return counts;
    const { clauses, params } = filterClauses(filter);
    clauses.unshift('first_seen >= ? AND first_seen < ?');
    params.unshift(from, to);
    // The time range is what bounds the work (another filter's index would walk all of that
    // filter's rows). node:sqlite binds JS numbers as REAL: CAST makes the division whole.
    const sql = `SELECT CAST((first_seen - ?) / ? AS INTEGER) AS bucket, COUNT(*) AS n FROM feed INDEXED BY feed_first_seen WHERE ${clauses.join(' AND ')} GROUP BY bucket`;
    for (const r of this.#statement(sql).all(from, bucketMs, ...params) as Array<{ bucket: number; n: number }>) {
      if (r.bucket >= 0 && r.bucket < buckets) counts[r.bucket] = r.n;
    }
    return counts;
  }

  /** Every rule and agent the feed has stored, sorted, for filter menus. */
  facets(): { rules: string[]; agents: AnomalyAgent[] } {
    return {
      rules: [...this.#knownRules].sort(),
      agents: [...this.#knownAgents].map(([key, hostname]) => ({ key, hostname })).sort((a, b) => a.hostname.localeCompare(b.hostname) || (a.key < b.key ? -1 : 1)),
    };
  }

  /** Closes the database; calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
