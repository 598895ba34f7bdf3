import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLogStore } from './event-log-store.ts';

function tempDb(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-eventlog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'events.db');
}

test('sequence numbers start at 1, are per topic, and events read back in order after any seq', (t) => {
  const store = EventLogStore.open(tempDb(t));
  t.after(() => store.close());
  assert.equal(store.lastSeq('anomalies'), 0);
  assert.deepEqual(store.append('anomalies', ['{"a":1}', '{"a":2}', '{"a":3}'], 1000), { first: 1, last: 3 });
  assert.deepEqual(store.append('other', ['{"b":1}'], 1000), { first: 1, last: 1 });
  assert.deepEqual(store.append('anomalies', ['{"a":4}'], 2000), { first: 4, last: 4 });
  assert.deepEqual(
    store.readAfter('anomalies', 2, 10).map((e) => [e.seq, e.payload, e.at]),
    [
      [3, '{"a":3}', 1000],
      [4, '{"a":4}', 2000],
    ],
  );
  assert.deepEqual(store.readAfter('anomalies', 0, 2).map((e) => e.seq), [1, 2]);
  assert.deepEqual(store.readAfter('anomalies', 4, 10), []);
  assert.deepEqual(store.append('anomalies', [], 3000), { first: 5, last: 4 });
});

test('the log keeps the newest `retain` events per topic; seqs keep counting and the first kept seq shows the gap', (t) => {
  const store = EventLogStore.open(tempDb(t), { retain: 5 });
  t.after(() => store.close());
  for (let i = 1; i <= 12; i++) store.append('anomalies', [`{"i":${i}}`], i);
  assert.equal(store.lastSeq('anomalies'), 12);
  assert.equal(store.firstSeq('anomalies'), 8);
  assert.deepEqual(store.readAfter('anomalies', 0, 100).map((e) => e.seq), [8, 9, 10, 11, 12]);
  assert.equal(store.firstSeq('empty-topic'), 1);
});

test('sequence numbers and cursors survive closing and reopening the file (a restart)', (t) => {
  const path = tempDb(t);
  const first = EventLogStore.open(path);
  first.append('anomalies', ['{"x":1}', '{"x":2}'], 1);
  first.saveCursor('publisher-key', 'anomalies', 7, 99);
  first.close();
  const again = EventLogStore.open(path);
  t.after(() => again.close());
  assert.deepEqual(again.append('anomalies', ['{"x":3}'], 2), { first: 3, last: 3 });
  assert.equal(again.cursor('publisher-key', 'anomalies'), 7);
  assert.equal(again.cursor('publisher-key', 'other'), 0);
  assert.equal(again.cursor('someone-else', 'anomalies'), 0);
});

test('a failed append leaves nothing behind and does not use up sequence numbers', (t) => {
  const store = EventLogStore.open(tempDb(t));
  t.after(() => store.close());
  store.append('anomalies', ['{"ok":1}'], 1);
  // A payload SQLite refuses (NOT NULL) in the middle of a batch: the whole batch rolls back.
  assert.throws(() => store.append('anomalies', ['{"ok":2}', null as unknown as string], 2));
  assert.equal(store.lastSeq('anomalies'), 1);
  assert.deepEqual(store.append('anomalies', ['{"ok":3}'], 3), { first: 2, last: 2 });
  assert.deepEqual(store.readAfter('anomalies', 0, 10).map((e) => e.payload), ['{"ok":1}', '{"ok":3}']);
});
