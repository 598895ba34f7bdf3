import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AUDIT_MIGRATION, AuditLog, entryHash, GENESIS_HASH, type AuditEntry } from './audit-log.ts';
import { inTransaction, openDatabase } from './database.ts';

const NODE_FP = 'AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-0000-1111';

interface Fixture {
  path: string;
  db: DatabaseSync;
  log: AuditLog;
}

function open(t: { after: (fn: () => void) => void }): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-audit-'));
  const path = join(dir, 'audit.db');
  const db = openDatabase(path, [AUDIT_MIGRATION]);
  t.after(() => {
    if (db.isOpen) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { path, db, log: new AuditLog(db, NODE_FP) };
}

/** Five decisions, as a node would record them over a day. */
function appendFive(log: AuditLog): AuditEntry[] {
  const t0 = Date.UTC(2025, 0, 1, 9, 0, 0);
  return [
    log.append('peer:1111', 'trust.request_received', 'gcp-log-monitor', { justification: 'feed' }, new Date(t0)),
    log.append('admin', 'trust.approved', 'gcp-log-monitor', { capabilities: ['events.subscribe'] }, new Date(t0 + 60_000)),
    log.append('admin', 'trust.requested', 'aws-firewall-executor', { want: [] }, new Date(t0 + 120_000)),
    log.append('peer:2222', 'trust.rejected_by_peer', 'aws-firewall-executor', { reason: 'not today' }, new Date(t0 + 180_000)),
    log.append('admin', 'trust.revoked', 'gcp-log-monitor', { reason: 'decommissioned' }, new Date(t0 + 240_000)),
  ];
}

/**
 * What an attacker with write access to the file does: open it directly and drop the triggers
 * that make the table append-only.
 */
function tamper(f: Fixture, sql: (raw: DatabaseSync) => void): void {
  f.db.close();
  const raw = new DatabaseSync(f.path);
  raw.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
  sql(raw);
  raw.close();
  f.db = openDatabase(f.path, [AUDIT_MIGRATION]);
  f.log = new AuditLog(f.db, NODE_FP);
}

test('an empty log verifies, with the genesis hash as its head', (t) => {
  const { log } = open(t);
  assert.deepEqual(log.verify(), { ok: true, entries: 0, headHash: GENESIS_HASH });
  assert.deepEqual(log.list(), []);
});

test('append chains each entry to the previous one, starting from the genesis hash', (t) => {
  const { log } = open(t);
  const entries = appendFive(log);
  assert.deepEqual(entries.map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.equal(entries[0]?.prevHash, GENESIS_HASH);
  for (let i = 1; i < entries.length; i++) assert.equal(entries[i]?.prevHash, entries[i - 1]?.hash);
  for (const e of entries) {
    assert.match(e.hash, /^[0-9a-f]{64}$/);
    assert.equal(e.node, NODE_FP);
    assert.equal(e.hash, entryHash(e.prevHash, { ...e, details: JSON.stringify(e.details) }));
  }
  assert.equal(new Set(entries.map((e) => e.hash)).size, 5, 'every hash is distinct');
  assert.equal(entries[1]?.at, '2025-01-01T09:01:00.000Z');
});

test('list returns what was appended, in order, with limit and afterSeq', (t) => {
  const { log } = open(t);
  const entries = appendFive(log);
  assert.deepEqual(log.list(), entries);
  assert.deepEqual(log.list({ limit: 2 }), entries.slice(0, 2));
  assert.deepEqual(log.list({ afterSeq: 3 }), entries.slice(3));
  assert.deepEqual(log.list({ afterSeq: 1, limit: 2 }), entries.slice(1, 3));
  assert.deepEqual(log.list({ afterSeq: 5 }), []);
  assert.deepEqual(log.list()[3]?.details, { reason: 'not today' });
});

test('verify accepts an intact chain and reports its length and head', (t) => {
  const { log } = open(t);
  const entries = appendFive(log);
  assert.deepEqual(log.verify(), { ok: true, entries: 5, headHash: entries[4]?.hash });
});

test('the chain continues across close and reopen', (t) => {
  const f = open(t);
  const before = appendFive(f.log);
  f.db.close();
  f.db = openDatabase(f.path, [AUDIT_MIGRATION]);
  f.log = new AuditLog(f.db, NODE_FP);
  const next = f.log.append('admin', 'trust.approved', 'x', {});
  assert.equal(next.seq, 6);
  assert.equal(next.prevHash, before[4]?.hash);
  assert.equal(f.log.verify().ok, true);
  assert.equal(f.log.verify().entries, 6);
});

test('an append inside a transaction that rolls back leaves no entry and no gap', (t) => {
  const { db, log } = open(t);
  log.append('admin', 'a', 's');
  assert.throws(() =>
    inTransaction(db, () => {
      log.append('admin', 'b', 's');
      throw new Error('the decision failed');
    }),
  );
  const third = log.append('admin', 'c', 's');
  assert.equal(third.seq, 2);
  assert.deepEqual(log.list().map((e) => e.action), ['a', 'c']);
  assert.equal(log.verify().ok, true);
});

test('the triggers refuse UPDATE and DELETE through an ordinary connection', (t) => {
  const { db, log } = open(t);
  appendFive(log);
  assert.throws(() => db.prepare("UPDATE audit SET subject = 'nobody' WHERE seq = 2").run(), /append-only/);
  assert.throws(() => db.prepare('DELETE FROM audit WHERE seq = 2').run(), /append-only/);
  assert.throws(() => db.prepare('DELETE FROM audit').run(), /append-only/);
  assert.equal(log.list().length, 5);
  assert.equal(log.list()[1]?.subject, 'gcp-log-monitor');
  assert.equal(log.verify().ok, true);
});

test('verify detects an altered entry (content changed, hash left as it was)', (t) => {
  const f = open(t);
  appendFive(f.log);
  tamper(f, (raw) => raw.prepare("UPDATE audit SET details = ? WHERE seq = 2").run(JSON.stringify({ capabilities: ['mitigation.request'] })));
  const verdict = f.log.verify();
  assert.equal(verdict.ok, false);
  assert.equal(verdict.brokenAt, 2);
  assert.equal(verdict.entries, 1, 'only the entries before the damage count as verified');
  assert.match(verdict.problem ?? '', /entry 2 was altered/);
});

for (const column of ['at', 'node', 'actor', 'action', 'subject'] as const) {
  test(`verify detects a change to the ${column} of an entry`, (t) => {
    const f = open(t);
    appendFive(f.log);
    tamper(f, (raw) => raw.prepare(`UPDATE audit SET ${column} = ? WHERE seq = 4`).run('forged'));
    const verdict = f.log.verify();
    assert.equal(verdict.ok, false);
    assert.equal(verdict.brokenAt, 4);
  });
}

test('verify detects an altered entry whose own hash was recomputed (the next link breaks)', (t) => {
  const f = open(t);
  const entries = appendFive(f.log);
  tamper(f, (raw) => {
    const row = raw.prepare('SELECT * FROM audit WHERE seq = 2').get() as Record<string, string | number>;
    const details = JSON.stringify({ capabilities: ['mitigation.request'] });
    const hash = entryHash(String(row.prev_hash), {
      seq: 2,
      at: String(row.at),
      node: String(row.node),
      actor: String(row.actor),
      action: String(row.action),
      subject: String(row.subject),
      details,
    });
    raw.prepare('UPDATE audit SET details = ?, hash = ? WHERE seq = 2').run(details, hash);
  });
  const verdict = f.log.verify();
  assert.equal(verdict.ok, false);
  assert.equal(verdict.brokenAt, 3);
  assert.match(verdict.problem ?? '', /entry 3 does not link to entry 2/);
  assert.notEqual(verdict.headHash, entries[4]?.hash);
});

test('verify detects a deleted entry', (t) => {
  const f = open(t);
  appendFive(f.log);
  tamper(f, (raw) => raw.prepare('DELETE FROM audit WHERE seq = 3').run());
  const verdict = f.log.verify();
  assert.equal(verdict.ok, false);
  assert.equal(verdict.brokenAt, 4);
  assert.match(verdict.problem ?? '', /entry 3 is missing/);
});

test('verify detects a deleted first entry', (t) => {
  const f = open(t);
  appendFive(f.log);
  tamper(f, (raw) => raw.prepare('DELETE FROM audit WHERE seq = 1').run());
  const verdict = f.log.verify();
  assert.equal(verdict.ok, false);
  assert.equal(verdict.brokenAt, 2);
  assert.match(verdict.problem ?? '', /entry 1 is missing/);
});

test('verify detects a deleted entry whose successors were renumbered to close the gap', (t) => {
  const f = open(t);
  appendFive(f.log);
  tamper(f, (raw) => {
    raw.prepare('DELETE FROM audit WHERE seq = 3').run();
    raw.prepare('UPDATE audit SET seq = seq - 1 WHERE seq > 3').run();
  });
  const verdict = f.log.verify();
  assert.equal(verdict.ok, false);
  assert.equal(verdict.brokenAt, 3);
});

test('verify detects two entries swapped', (t) => {
  const f = open(t);
  appendFive(f.log);
  tamper(f, (raw) => {
    raw.prepare('UPDATE audit SET seq = 100 WHERE seq = 2').run();
    raw.prepare('UPDATE audit SET seq = 2 WHERE seq = 3').run();
    raw.prepare('UPDATE audit SET seq = 3 WHERE seq = 100').run();
  });
  const verdict = f.log.verify();
  assert.equal(verdict.ok, false);
  assert.equal(verdict.brokenAt, 2);
});

test('verify detects a forged entry inserted in the middle, even one with a correct hash of its own', (t) => {
  const f = open(t);
  const entries = appendFive(f.log);
  tamper(f, (raw) => {
    // Make room at seq 3 and insert an entry properly chained to entry 2.
    for (let seq = 5; seq >= 3; seq--) raw.prepare('UPDATE audit SET seq = ? WHERE seq = ?').run(seq + 1, seq);
    const fields = {
      seq: 3,
      at: '2025-01-01T09:01:30.000Z',
      node: NODE_FP,
      actor: 'admin',
      action: 'trust.approved',
      subject: 'attacker-box',
      details: JSON.stringify({ capabilities: ['mitigation.request'] }),
    };
    const prev = entries[1]?.hash as string;
    raw
      .prepare('INSERT INTO audit (seq, at, node, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(fields.seq, fields.at, fields.node, fields.actor, fields.action, fields.subject, fields.details, prev, entryHash(prev, fields));
  });
  const verdict = f.log.verify();
  assert.equal(verdict.ok, false);
  // The forged entry itself links and hashes correctly; the original entry after it no longer
  // links to it (and its own seq is part of its hash).
  assert.equal(verdict.brokenAt, 4);
  assert.equal(verdict.entries, 3);
});

test('verify detects an entry appended by hand with a wrong link', (t) => {
  const f = open(t);
  appendFive(f.log);
  tamper(f, (raw) => {
    const fields = { seq: 6, at: new Date().toISOString(), node: NODE_FP, actor: 'admin', action: 'trust.approved', subject: 'x', details: '{}' };
    raw
      .prepare('INSERT INTO audit (seq, at, node, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(6, fields.at, fields.node, fields.actor, fields.action, fields.subject, fields.details, GENESIS_HASH, entryHash(GENESIS_HASH, fields));
  });
  const verdict = f.log.verify();
  assert.equal(verdict.ok, false);
  assert.equal(verdict.brokenAt, 6);
});

test('truncating the newest entries keeps the rest verifiable but changes the head hash an auditor anchored', (t) => {
  // A hash chain cannot, on its own, tell a log that ended at entry 3 from one cut at entry 3:
  // that is what the head hash (shown by `swarmctl audit --verify`) is for.
  const f = open(t);
  const entries = appendFive(f.log);
  const anchored = f.log.verify().headHash;
  assert.equal(anchored, entries[4]?.hash);
  tamper(f, (raw) => raw.prepare('DELETE FROM audit WHERE seq > 3').run());
  const verdict = f.log.verify();
  assert.equal(verdict.ok, true);
  assert.equal(verdict.entries, 3);
  assert.notEqual(verdict.headHash, anchored);
});

test('details that are no longer JSON are listed as unparseable, and verify flags the entry', (t) => {
  const f = open(t);
  appendFive(f.log);
  tamper(f, (raw) => raw.prepare("UPDATE audit SET details = '{not json' WHERE seq = 5").run());
  assert.deepEqual(f.log.list()[4]?.details, { unparseable: '{not json' });
  assert.equal(f.log.verify().brokenAt, 5);
});
