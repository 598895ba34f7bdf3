import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, test } from 'node:test';
import { DecisionStore, type Decision } from './decision-store.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'decision-store-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function decision(fields: Partial<Decision> = {}): Decision {
  return {
    requestId: 'req-00000001',
    incidentId: null,
    action: 'block',
    cidr: '198.51.100.7/32',
    ttlSeconds: 600,
    expiresAt: 1_000_600_000,
    state: 'accepted',
    code: null,
    detail: null,
    reason: 'ssh brute force',
    requester: { fingerprint: 'ABCD', hostname: 'console' },
    issuedAt: 1_000_000_000,
    receivedAt: 1_000_000_000,
    appliedAt: null,
    updatedAt: 1_000_000_000,
    endedBy: null,
    evidence: { signed: { payload: '{}', signer: 'k', signature: 's' } },
    ...fields,
  };
}

test('decisions survive reopening; a request id is stored once (replays are detectable)', () => {
  const path = join(dir, 'state', 'executor.db');
  const a = DecisionStore.open(path);
  assert.equal(a.insert(decision()), true);
  assert.equal(a.insert(decision({ cidr: '203.0.113.9/32' })), false);
  a.close();
  const b = DecisionStore.open(path);
  assert.deepEqual(b.get('req-00000001'), decision());
  assert.equal(b.get('nope'), null);
  b.close();
  const raw = new DatabaseSync(path);
  assert.equal((raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  raw.close();
});

test('transitions are guarded: a decision that ended is never revived', () => {
  const store = DecisionStore.open(join(dir, 'executor.db'));
  store.insert(decision());
  assert.deepEqual(store.stuck().map((d) => d.requestId), ['req-00000001']);
  assert.equal(store.transition('req-00000001', ['accepted'], 'applied', 5, { appliedAt: 5 }), true);
  assert.equal(store.get('req-00000001')?.appliedAt, 5);
  assert.equal(store.countActiveBlocks(), 1);
  assert.equal(store.activeBlockFor('198.51.100.7/32')?.requestId, 'req-00000001');
  assert.equal(store.nextExpiry(), 1_000_600_000);
  assert.deepEqual(store.dueToExpire(1_000_599_999), []);
  assert.equal(store.dueToExpire(1_000_600_000).length, 1);
  assert.equal(store.transition('req-00000001', ['applied'], 'expired', 6), true);
  assert.equal(store.transition('req-00000001', ['accepted', 'applied'], 'revoked', 7, { endedBy: 'admin' }), false);
  assert.equal(store.get('req-00000001')?.state, 'expired');
  assert.equal(store.countActiveBlocks(), 0);
  assert.equal(store.nextExpiry(), null);
  store.close();
});

test('the schema refuses states and actions that do not exist', () => {
  const store = DecisionStore.open(join(dir, 'executor.db'));
  assert.throws(() => store.insert(decision({ state: 'done' as Decision['state'] })), /CHECK constraint/);
  assert.throws(() => store.insert(decision({ requestId: 'r2', action: 'drop' as Decision['action'] })), /CHECK constraint/);
  store.close();
});
