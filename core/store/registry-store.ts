/**
 * The registry's database: one record per node identity key. A hostname belongs to the key that
 * first registered it; a node ID, once assigned to a key, stays with it.
 */
import type { DatabaseSync } from 'node:sqlite';
import { inTransaction, openDatabase, type Migration } from './database.ts';

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
    CREATE TABLE nodes (
      key            TEXT PRIMARY KEY,   -- base64url Ed25519 public key
      hostname       TEXT NOT NULL UNIQUE,
      network        INTEGER NOT NULL,
      node           INTEGER NOT NULL,
      static_public  TEXT NOT NULL,
      static_sig     TEXT NOT NULL,
      endpoints      TEXT NOT NULL,      -- JSON array of ip:port, observed first
      trusted        TEXT NOT NULL,      -- JSON array of key tags this node trusts
      public         INTEGER NOT NULL DEFAULT 0,
      registered_at  TEXT NOT NULL,
      last_seen      INTEGER NOT NULL,
      online         INTEGER NOT NULL DEFAULT 1,
      UNIQUE (network, node)
    );
  `,
  },
];

export interface NodeRecord {
  key: string;
  hostname: string;
  network: number;
  node: number;
  staticPublic: string;
  staticSig: string;
  endpoints: string[];
  trusted: string[];
  public: boolean;
  registeredAt: string;
  lastSeen: number;
  online: boolean;
}

type Row = Record<string, unknown>;

function parseList(v: unknown): string[] {
  try {
    const parsed = JSON.parse(String(v)) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

function recordFrom(row: Row): NodeRecord {
  return {
    key: String(row.key),
    hostname: String(row.hostname),
    network: Number(row.network),
    node: Number(row.node),
    staticPublic: String(row.static_public),
    staticSig: String(row.static_sig),
    endpoints: parseList(row.endpoints),
    trusted: parseList(row.trusted),
    public: Number(row.public) === 1,
    registeredAt: String(row.registered_at),
    lastSeen: Number(row.last_seen),
    online: Number(row.online) === 1,
  };
}

export class RegistryStore {
  readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  static open(path: string): RegistryStore {
    return new RegistryStore(openDatabase(path, MIGRATIONS));
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return inTransaction(this.db, fn);
  }

  byKey(key: string): NodeRecord | null {
    const row = this.db.prepare('SELECT * FROM nodes WHERE key = ?').get(key) as Row | undefined;
    return row ? recordFrom(row) : null;
  }

  byHostname(hostname: string): NodeRecord | null {
    const row = this.db.prepare('SELECT * FROM nodes WHERE hostname = ?').get(hostname) as Row | undefined;
    return row ? recordFrom(row) : null;
  }

  byAddress(network: number, node: number): NodeRecord | null {
    const row = this.db.prepare('SELECT * FROM nodes WHERE network = ? AND node = ?').get(network, node) as Row | undefined;
    return row ? recordFrom(row) : null;
  }

  /** Every node marked online (the relay rebuilds its routing table from these at start). */
  online(): NodeRecord[] {
    return (this.db.prepare('SELECT * FROM nodes WHERE online = 1').all() as unknown as Row[]).map(recordFrom);
  }

  nodeIdTaken(network: number, node: number): boolean {
    return this.db.prepare('SELECT 1 FROM nodes WHERE network = ? AND node = ?').get(network, node) !== undefined;
  }

  count(): number {
    return Number((this.db.prepare('SELECT count(*) AS n FROM nodes').get() as { n: number }).n);
  }

  upsert(r: NodeRecord): void {
    this.db
      .prepare(
        `INSERT INTO nodes (key, hostname, network, node, static_public, static_sig, endpoints, trusted, public, registered_at, last_seen, online)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET static_public = excluded.static_public, static_sig = excluded.static_sig,
           endpoints = excluded.endpoints, trusted = excluded.trusted, public = excluded.public,
           last_seen = excluded.last_seen, online = excluded.online`,
      )
      .run(r.key, r.hostname, r.network, r.node, r.staticPublic, r.staticSig, JSON.stringify(r.endpoints), JSON.stringify(r.trusted),
        r.public ? 1 : 0, r.registeredAt, r.lastSeen, r.online ? 1 : 0);
  }

  rename(key: string, hostname: string): void {
    this.db.prepare('UPDATE nodes SET hostname = ? WHERE key = ?').run(hostname, key);
  }

  setOffline(key: string): void {
    this.db.prepare('UPDATE nodes SET online = 0 WHERE key = ?').run(key);
  }
}
