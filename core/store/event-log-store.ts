/**
 * The event stream's durable side (port 1002): a publisher's log of events per topic, and a
 * subscriber's cursor per publisher and topic. Both live in `events.db` in the state directory,
 * apart from swarm.db so a busy event log never holds up a trust decision.
 *
 * Why a durable log: a subscriber that reconnects says "after seq N" and gets exactly the events
 * it has not seen (no loss, no duplicates), and a subscriber that stalls is served from here at
 * its own pace instead of from memory, so it can neither stall the publisher nor grow its heap.
 * The log is bounded per topic (`retain`); a subscriber that comes back after more than that was
 * published learns exactly which range it missed (a gap), never silently.
 */
import { openDatabase, type Database, type Migration } from './database.ts';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
    CREATE TABLE event_log (
      topic TEXT NOT NULL,
      seq INTEGER NOT NULL,
      at INTEGER NOT NULL,
      payload TEXT NOT NULL,
      PRIMARY KEY (topic, seq)
    ) WITHOUT ROWID;
    CREATE TABLE event_topic (
      topic TEXT PRIMARY KEY,
      last_seq INTEGER NOT NULL
    );
    CREATE TABLE subscription_cursor (
      publisher TEXT NOT NULL,
      topic TEXT NOT NULL,
      last_seq INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (publisher, topic)
    ) WITHOUT ROWID;
  `,
  },
];

/** Events kept per topic unless configured otherwise: days of a busy monitor, a few hundred MB at most. */
export const DEFAULT_EVENTS_RETAINED = 200_000;

export interface LoggedEvent {
  readonly seq: number;
  readonly at: number;
  /** The event as JSON text, exactly as appended. */
  readonly payload: string;
}

export class EventLogStore {
  readonly db: Database;
  readonly retain: number;
  readonly #insert;
  readonly #setTopic;
  readonly #getTopic;
  readonly #readAfter;
  readonly #oldest;
  readonly #prune;
  readonly #getCursor;
  readonly #setCursor;

  private constructor(db: Database, retain: number) {
    this.db = db;
    this.retain = retain;
    this.#insert = db.prepare('INSERT INTO event_log (topic, seq, at, payload) VALUES (?, ?, ?, ?)');
    this.#setTopic = db.prepare('INSERT INTO event_topic (topic, last_seq) VALUES (?, ?) ON CONFLICT(topic) DO UPDATE SET last_seq = excluded.last_seq');
    this.#getTopic = db.prepare('SELECT last_seq FROM event_topic WHERE topic = ?');
    this.#readAfter = db.prepare('SELECT seq, at, payload FROM event_log WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?');
    this.#oldest = db.prepare('SELECT min(seq) AS seq FROM event_log WHERE topic = ?');
    this.#prune = db.prepare('DELETE FROM event_log WHERE topic = ? AND seq <= ?');
    this.#getCursor = db.prepare('SELECT last_seq FROM subscription_cursor WHERE publisher = ? AND topic = ?');
    this.#setCursor = db.prepare(
      'INSERT INTO subscription_cursor (publisher, topic, last_seq, updated_at) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT(publisher, topic) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at',
    );
  }

  static open(path: string, options: { retain?: number } = {}): EventLogStore {
    const retain = options.retain ?? DEFAULT_EVENTS_RETAINED;
    if (!Number.isInteger(retain) || retain < 1) throw new RangeError('retain must be a positive integer');
    return new EventLogStore(openDatabase(path, MIGRATIONS), retain);
  }

  /** The highest sequence number ever given in this topic (0 before the first event). */
  lastSeq(topic: string): number {
    const row = this.#getTopic.get(topic) as { last_seq: number } | undefined;
    return row ? Number(row.last_seq) : 0;
  }

  /** The oldest sequence number still kept, or lastSeq + 1 when none is kept. */
  firstSeq(topic: string): number {
    const row = this.#oldest.get(topic) as { seq: number | null } | undefined;
    return row?.seq == null ? this.lastSeq(topic) + 1 : Number(row.seq);
  }

  /**
   * Appends events (JSON texts) in one transaction and returns the sequence numbers they got.
   * Sequence numbers start at 1, never repeat and never go back, even after pruning or a restart.
   */
  append(topic: string, payloads: readonly string[], at: number): { first: number; last: number } {
    const first = this.lastSeq(topic) + 1;
    if (payloads.length === 0) return { first, last: first - 1 };
    let seq = first - 1;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const payload of payloads) this.#insert.run(topic, ++seq, at, payload);
      this.#setTopic.run(topic, seq);
      const floor = seq - this.retain;
      // Steady state: deletes exactly as many rows as were appended (the primary key range).
      if (floor > 0) this.#prune.run(topic, floor);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    return { first, last: seq };
  }

  /** Up to `limit` events with seq > afterSeq, in order. */
  readAfter(topic: string, afterSeq: number, limit: number): LoggedEvent[] {
    return (this.#readAfter.all(topic, afterSeq, limit) as Array<{ seq: number; at: number; payload: string }>).map((r) => ({
      seq: Number(r.seq),
      at: Number(r.at),
      payload: r.payload,
    }));
  }

  /** A subscriber's last processed seq from this publisher's topic (0 = none yet). */
  cursor(publisher: string, topic: string): number {
    const row = this.#getCursor.get(publisher, topic) as { last_seq: number } | undefined;
    return row ? Number(row.last_seq) : 0;
  }

  saveCursor(publisher: string, topic: string, seq: number, at = Date.now()): void {
    this.#setCursor.run(publisher, topic, seq, at);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
