import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeStore, type IncomingRequest, type OutgoingRequest, type StoredContact, type TrustRecord } from './node-store.ts';

const SELF_FP = '0000-1111-2222-3333-4444-5555-6666-7777';

interface Fixture {
  path: string;
  store: NodeStore;
  reopen(): NodeStore;
}

function open(t: { after: (fn: () => void) => void }): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-ns-'));
  const path = join(dir, 'swarm.db');
  const f: Fixture = {
    path,
    store: NodeStore.open(path, SELF_FP),
    reopen() {
      f.store.close();
      f.store = NodeStore.open(path, SELF_FP);
      return f.store;
    },
  };
  t.after(() => {
    if (f.store.db.isOpen) f.store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return f;
}

function contact(n: number): StoredContact {
  const key = Buffer.alloc(32, n).toString('base64url');
  return {
    peerKey: key,
    hostname: `peer-${n}`,
    address: `1:0001.0000.${n.toString(16).toUpperCase().padStart(4, '0')}`,
    fingerprint: `${n}${n}${n}${n}-AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-0000`,
    staticPublic: Buffer.alloc(32, 0x40 + n).toString('base64'),
    staticSig: Buffer.alloc(64, 0x50 + n).toString('base64'),
    endpoints: [`10.0.0.${n}:${4000 + n}`],
  };
}

function trustRecord(n: number, overrides: Partial<TrustRecord> = {}): Omit<TrustRecord, 'lastSeen'> {
  return {
    ...contact(n),
    capsGranted: ['events.subscribe'],
    capsReceived: ['events.publish', 'mitigation.request'],
    since: '2025-01-01T00:00:00.000Z',
    requestId: `req-${n}`,
    ...overrides,
  };
}

function incoming(n: number, requestId: string, overrides: Partial<IncomingRequest> = {}): IncomingRequest {
  return {
    ...contact(n),
    requestId,
    justification: `peer ${n} needs the feed`,
    wantCaps: ['events.subscribe'],
    offerCaps: [],
    receivedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
    ...overrides,
  };
}

function outgoing(n: number, requestId: string, overrides: Partial<OutgoingRequest> = {}): OutgoingRequest {
  return {
    ...contact(n),
    requestId,
    justification: `we need peer ${n}`,
    wantCaps: ['events.publish'],
    offerCaps: ['events.subscribe'],
    sentAt: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
    status: 'sending',
    reason: null,
    decidedAt: null,
    ...overrides,
  };
}

test('the database file is private (0600)', (t) => {
  const { path } = open(t);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('key/value settings: missing is null, set overwrites', (t) => {
  const { store } = open(t);
  assert.equal(store.getValue('hostname'), null);
  store.setValue('hostname', 'gcp-log-monitor');
  store.setValue('hostname', 'aws-firewall-executor');
  assert.equal(store.getValue('hostname'), 'aws-firewall-executor');
});

test('trust: put, read back, list by hostname, update on conflict, delete', (t) => {
  const { store } = open(t);
  assert.equal(store.trustOf(contact(1).peerKey), null);
  store.putTrust(trustRecord(2));
  store.putTrust(trustRecord(1));
  assert.deepEqual(store.trustOf(contact(1).peerKey), { ...trustRecord(1), lastSeen: null });
  assert.deepEqual(store.trusted().map((r) => r.hostname), ['peer-1', 'peer-2']);

  // A second approval for the same key updates the record instead of duplicating it.
  store.putTrust(trustRecord(1, { capsGranted: ['events.subscribe', 'mitigation.request'], hostname: 'peer-1-renamed' }));
  assert.equal(store.trusted().length, 2);
  assert.deepEqual(store.trustOf(contact(1).peerKey)?.capsGranted, ['events.subscribe', 'mitigation.request']);
  assert.equal(store.trustOf(contact(1).peerKey)?.hostname, 'peer-1-renamed');

  store.updateTrustContact(contact(2).peerKey, ['192.0.2.9:7000'], '2025-02-02T00:00:00.000Z');
  const two = store.trustOf(contact(2).peerKey);
  assert.deepEqual(two?.endpoints, ['192.0.2.9:7000']);
  assert.equal(two?.lastSeen, '2025-02-02T00:00:00.000Z');

  assert.equal(store.deleteTrust(contact(1).peerKey), true);
  assert.equal(store.deleteTrust(contact(1).peerKey), false, 'deleting twice reports nothing was there');
  assert.equal(store.trustOf(contact(1).peerKey), null);
  assert.deepEqual(store.trusted().map((r) => r.hostname), ['peer-2']);
});

test('incoming requests: one pending request per peer, the newest replaces the older', (t) => {
  const { store } = open(t);
  store.putIncoming(incoming(1, 'first'));
  store.putIncoming(incoming(2, 'other-peer'));
  assert.equal(store.countIncoming(), 2);
  store.putIncoming(incoming(1, 'second', { justification: 'asked again, politely' }));
  assert.equal(store.countIncoming(), 2);
  const fromOne = store.incomingFrom(contact(1).peerKey);
  assert.equal(fromOne?.requestId, 'second');
  assert.equal(fromOne?.justification, 'asked again, politely');
  assert.deepEqual(fromOne, incoming(1, 'second', { justification: 'asked again, politely' }));
  assert.deepEqual(store.incoming().map((r) => r.requestId).sort(), ['other-peer', 'second']);

  store.deleteIncoming(contact(1).peerKey);
  assert.equal(store.incomingFrom(contact(1).peerKey), null);
  assert.equal(store.countIncoming(), 1);
});

test('incoming requests are listed oldest first', (t) => {
  const { store } = open(t);
  store.putIncoming(incoming(3, 'c'));
  store.putIncoming(incoming(1, 'a'));
  store.putIncoming(incoming(2, 'b'));
  assert.deepEqual(store.incoming().map((r) => r.requestId), ['a', 'b', 'c']);
});

test('outgoing requests: a new one supersedes an open one to the same peer, decided ones are kept', (t) => {
  const { store } = open(t);
  store.putOutgoing(outgoing(1, 'r1'));
  assert.equal(store.openOutgoingTo(contact(1).peerKey)?.requestId, 'r1');
  store.setOutgoingStatus('r1', 'pending', null, null);
  assert.equal(store.openOutgoingTo(contact(1).peerKey)?.status, 'pending');

  store.putOutgoing(outgoing(1, 'r2', { sentAt: '2025-01-02T00:00:00.000Z' }));
  assert.equal(store.outgoingById('r1'), null, 'the superseded open request is gone');
  assert.equal(store.openOutgoingTo(contact(1).peerKey)?.requestId, 'r2');

  store.setOutgoingStatus('r2', 'rejected', 'not this week', '2025-01-03T00:00:00.000Z');
  const rejected = store.outgoingById('r2');
  assert.equal(rejected?.status, 'rejected');
  assert.equal(rejected?.reason, 'not this week');
  assert.equal(rejected?.decidedAt, '2025-01-03T00:00:00.000Z');
  assert.equal(store.openOutgoingTo(contact(1).peerKey), null, 'a rejected request is not open');

  // Asking again keeps the history of the rejected one.
  store.putOutgoing(outgoing(1, 'r3', { sentAt: '2025-01-04T00:00:00.000Z' }));
  assert.deepEqual(store.outgoing().map((r) => [r.requestId, r.status]), [['r2', 'rejected'], ['r3', 'sending']]);
  assert.deepEqual(store.outgoingById('r3'), outgoing(1, 'r3', { sentAt: '2025-01-04T00:00:00.000Z' }));
});

test('rememberNonce is true the first time and false on a repeat, per peer', (t) => {
  const { store } = open(t);
  const a = contact(1).peerKey;
  const b = contact(2).peerKey;
  assert.equal(store.rememberNonce(a, 'nonce-1', 1000), true);
  assert.equal(store.rememberNonce(a, 'nonce-1', 2000), false);
  assert.equal(store.rememberNonce(a, 'nonce-1', 3000), false);
  assert.equal(store.rememberNonce(b, 'nonce-1', 1000), true, 'another peer may use the same nonce');
  assert.equal(store.rememberNonce(a, 'nonce-2', 1000), true);

  store.forgetNoncesBefore(1500);
  // Forgotten nonces are accepted again (the freshness window refuses them long before this).
  assert.equal(store.rememberNonce(a, 'nonce-1', 5000), true);
  assert.equal(store.rememberNonce(a, 'nonce-1', 5000), false);
});

test('outbox: enqueue, due by time, reschedule with attempts, acknowledge once', (t) => {
  const { store } = open(t);
  const a = contact(1).peerKey;
  const b = contact(2).peerKey;
  assert.equal(store.outboxSize(), 0);
  assert.equal(store.nextOutboxAt(), null);
  store.enqueue(a, 'n1', 'request', Buffer.from('{"type":"request"}'), 1000);
  store.enqueue(b, 'n2', 'approve', Buffer.from([0, 1, 2, 255]), 2000);
  store.enqueue(a, 'n1', 'request', Buffer.from('duplicate'), 1500); // same nonce: ignored
  assert.equal(store.outboxSize(), 2);
  assert.equal(store.nextOutboxAt(), 1000);

  assert.deepEqual(store.dueOutbox(999), []);
  const due = store.dueOutbox(1000);
  assert.equal(due.length, 1);
  assert.equal(due[0]?.nonce, 'n1');
  assert.equal(due[0]?.kind, 'request');
  assert.equal(due[0]?.attempts, 0);
  assert.equal(due[0]?.createdAt, 1000);
  assert.deepEqual(due[0]?.message, Buffer.from('{"type":"request"}'));
  assert.ok(Buffer.isBuffer(due[0]?.message));

  const all = store.dueOutbox(5000);
  assert.deepEqual(all.map((e) => e.nonce), ['n1', 'n2'], 'in the order they were queued');
  assert.deepEqual(all[1]?.message, Buffer.from([0, 1, 2, 255]), 'binary messages survive');

  store.rescheduleOutbox(due[0]!.id, 1, 9000);
  assert.deepEqual(store.dueOutbox(5000).map((e) => e.nonce), ['n2']);
  assert.equal(store.nextOutboxAt(), 2000);
  const later = store.dueOutbox(9000).find((e) => e.nonce === 'n1');
  assert.equal(later?.attempts, 1);
  assert.equal(later?.nextAt, 9000);

  assert.equal(store.acknowledge(b, 'n1'), false, 'an ack from the wrong peer removes nothing');
  assert.equal(store.acknowledge(a, 'n1'), true);
  assert.equal(store.acknowledge(a, 'n1'), false, 'a second ack finds nothing');
  assert.equal(store.outboxSize(), 1);
});

test('dropOutboxFor removes only the given kinds for the given peer', (t) => {
  const { store } = open(t);
  const a = contact(1).peerKey;
  const b = contact(2).peerKey;
  store.enqueue(a, 'n1', 'approve', Buffer.from('x'), 0);
  store.enqueue(a, 'n2', 'revoke', Buffer.from('x'), 0);
  store.enqueue(a, 'n3', 'reject', Buffer.from('x'), 0);
  store.enqueue(b, 'n4', 'approve', Buffer.from('x'), 0);
  store.dropOutboxFor(a, ['approve', 'reject']);
  assert.deepEqual(store.dueOutbox(0).map((e) => e.nonce), ['n2', 'n4']);
});

test('a transaction that throws leaves trust, requests, outbox and audit as they were', (t) => {
  const { store } = open(t);
  assert.throws(() =>
    store.transaction(() => {
      store.putTrust(trustRecord(1));
      store.putIncoming(incoming(2, 'x'));
      store.enqueue(contact(1).peerKey, 'n', 'approve', Buffer.from('x'), 0);
      store.audit.append('admin', 'trust.approved', 'peer-1');
      throw new Error('crash in the middle of a decision');
    }),
  );
  assert.deepEqual(store.trusted(), []);
  assert.equal(store.countIncoming(), 0);
  assert.equal(store.outboxSize(), 0);
  assert.deepEqual(store.audit.list(), []);
});

test('everything survives close and reopen', (t) => {
  const f = open(t);
  const s = f.store;
  s.setValue('hostname', 'local-threat-orchestrator');
  s.putTrust(trustRecord(1));
  s.putIncoming(incoming(2, 'in-2'));
  s.putOutgoing(outgoing(3, 'out-3', { status: 'pending' }));
  s.rememberNonce(contact(2).peerKey, 'seen', 100);
  s.enqueue(contact(1).peerKey, 'ob-1', 'approve', Buffer.from('{"type":"approve"}'), 100);
  s.audit.append('admin', 'trust.approved', 'peer-1', { capabilities: ['events.subscribe'] });
  const head = s.audit.verify().headHash;

  const r = f.reopen();
  assert.equal(r.getValue('hostname'), 'local-threat-orchestrator');
  assert.deepEqual(r.trustOf(contact(1).peerKey), { ...trustRecord(1), lastSeen: null });
  assert.deepEqual(r.incomingFrom(contact(2).peerKey), incoming(2, 'in-2'));
  assert.deepEqual(r.outgoingById('out-3'), outgoing(3, 'out-3', { status: 'pending' }));
  assert.equal(r.rememberNonce(contact(2).peerKey, 'seen', 200), false, 'replay protection survives a restart');
  assert.deepEqual(r.dueOutbox(100).map((e) => [e.nonce, e.message.toString()]), [['ob-1', '{"type":"approve"}']]);
  assert.deepEqual(r.audit.verify(), { ok: true, entries: 1, headHash: head });
});

test('a read-only store reads everything and refuses writes', (t) => {
  const f = open(t);
  f.store.putTrust(trustRecord(1));
  f.store.close();
  const ro = NodeStore.open(f.path, SELF_FP, { readOnly: true });
  try {
    assert.equal(ro.trusted().length, 1);
    assert.throws(() => ro.putTrust(trustRecord(2)), /readonly/i);
  } finally {
    ro.close();
  }
  f.store = NodeStore.open(f.path, SELF_FP);
});
