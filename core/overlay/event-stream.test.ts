/**
 * The event stream end to end: two real OverlayNodes over real UDP on loopback, a real SQLite
 * event log on the publisher and a real cursor store on each subscriber.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventPublisher, EventSubscription, type SubscriptionStatus } from './event-stream.ts';
import type { EventItem } from './event-wire.ts';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { OverlayNode, type PeerContact } from './node.ts';
import { UdpPacketConn } from './transport.ts';
import { EventLogStore } from '../store/event-log-store.ts';

const WAIT_MS = 10_000;

function contactOf(identity: NodeIdentity, node: OverlayNode, hostname: string): PeerContact {
  return { identityKey: identity.publicKey, staticPublic: identity.staticKey.publicKey, staticSignature: identity.staticSignature, address: node.address, endpoints: [node.conn.local], hostname };
}

interface Lab {
  publisher: OverlayNode;
  publisherKey: string;
  events: EventPublisher;
  log: EventLogStore;
  /** Subscriber keys the publisher lets read. */
  readers: Set<string>;
  subscriber(): Promise<{ node: OverlayNode; key: string; cursors: EventLogStore; dir: string }>;
}

async function lab(t: TestContext, options: { retain?: number; topics?: string[] } = {}): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-events-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pubId = generateIdentity();
  const trusted = new Set<string>();
  const publisher = new OverlayNode({ identity: pubId, conn: await UdpPacketConn.bind('127.0.0.1', 0), trust: { isTrusted: (k) => trusted.has(k) }, address: { network: 1, node: 0x100 } });
  t.after(() => publisher.close());
  const log = EventLogStore.open(join(dir, 'publisher-events.db'), options.retain ? { retain: options.retain } : {});
  t.after(() => log.close());
  const readers = new Set<string>();
  const topics = options.topics;
  const events = new EventPublisher({ node: publisher, store: log, mayRead: (peer) => readers.has(peer), ...(topics ? { publishes: (topic: string) => topics.includes(topic) } : {}) });
  t.after(() => events.close());
  let n = 0;
  return {
    publisher,
    publisherKey: keyId(pubId.publicKey),
    events,
    log,
    readers,
    async subscriber() {
      const id = generateIdentity();
      const key = keyId(id.publicKey);
      const node = new OverlayNode({ identity: id, conn: await UdpPacketConn.bind('127.0.0.1', 0), trust: { isTrusted: (k) => k === keyId(pubId.publicKey) }, address: { network: 1, node: 0x200 + ++n } });
      t.after(() => node.close());
      node.addContact(contactOf(pubId, publisher, 'gcp-log-monitor'));
      publisher.addContact(contactOf(id, node, `console-${n}`));
      trusted.add(key);
      const subDir = join(dir, `sub-${n}`);
      const cursors = EventLogStore.open(join(subDir, 'events.db'));
      t.after(() => cursors.close());
      return { node, key, cursors, dir: subDir };
    },
  };
}

/** Resolves when `predicate` holds, checked after every event batch / status change; rejects with `what` after WAIT_MS. */
function until(emitter: { on(e: string, f: () => void): void; off(e: string, f: () => void): void }, events: string[], predicate: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const check = () => {
      if (!predicate()) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`));
    }, WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      for (const e of events) emitter.off(e, check);
    };
    for (const e of events) emitter.on(e, check);
  });
}

class Received {
  readonly items: EventItem[] = [];
  readonly signal = new EventEmitter();
  handler = (batch: readonly EventItem[]) => {
    this.items.push(...batch);
    this.signal.emit('batch');
  };
  waitFor(n: number): Promise<void> {
    return until(this.signal, ['batch'], () => this.items.length >= n, `${n} events (have ${this.items.length})`);
  }
}

function subscribe(lab: Lab, sub: { node: OverlayNode; cursors: EventLogStore }, received: Received, extra: { onGap?: (from: number, to: number) => void } = {}): EventSubscription {
  return new EventSubscription({ node: sub.node, peerKeyId: lab.publisherKey, topic: 'anomalies', store: sub.cursors, onEvents: received.handler, ...extra }).start();
}

test('a subscriber gets the events published before and after it subscribed, in order, exactly once', async (t) => {
  const l = await lab(t);
  const sub = await l.subscriber();
  l.readers.add(sub.key);
  l.events.publish('anomalies', [{ n: 1 }, { n: 2 }]);
  const received = new Received();
  const s = subscribe(l, sub, received);
  t.after(() => s.close());
  await received.waitFor(2);
  for (let i = 3; i <= 500; i++) l.events.publish('anomalies', [{ n: i }]);
  await received.waitFor(500);
  assert.deepEqual(received.items.map((it) => it.seq), Array.from({ length: 500 }, (_, i) => i + 1));
  assert.deepEqual(received.items.map((it) => (it.data as { n: number }).n), Array.from({ length: 500 }, (_, i) => i + 1));
  await until(s, ['cursor'], () => s.cursor === 500, 'the cursor to be saved');
  assert.equal(sub.cursors.cursor(l.publisherKey, 'anomalies'), 500);
});

test('a subscriber that reconnects (even after a restart of its store) resumes after its last event: no loss, no duplicates', async (t) => {
  const l = await lab(t);
  const sub = await l.subscriber();
  l.readers.add(sub.key);
  const first = new Received();
  const s1 = subscribe(l, sub, first);
  l.events.publish('anomalies', Array.from({ length: 300 }, (_, i) => ({ n: i + 1 })));
  await first.waitFor(300);
  await until(s1, ['cursor'], () => s1.cursor === 300, 'the cursor to be saved');
  s1.close();
  // Published while the subscriber is away.
  l.events.publish('anomalies', Array.from({ length: 200 }, (_, i) => ({ n: 301 + i })));
  const reopened = EventLogStore.open(join(sub.dir, 'events.db'));
  t.after(() => reopened.close());
  const second = new Received();
  const s2 = subscribe(l, { node: sub.node, cursors: reopened }, second);
  t.after(() => s2.close());
  await second.waitFor(200);
  l.events.publish('anomalies', [{ n: 501 }]);
  await second.waitFor(201);
  assert.deepEqual(second.items.map((it) => it.seq), Array.from({ length: 201 }, (_, i) => 301 + i));
  const all = [...first.items, ...second.items].map((it) => (it.data as { n: number }).n);
  assert.deepEqual(all, Array.from({ length: 501 }, (_, i) => i + 1));
});

test('a peer without events.subscribe is refused and receives no event', async (t) => {
  const l = await lab(t);
  const sub = await l.subscriber();
  l.events.publish('anomalies', [{ secret: true }]);
  const received = new Received();
  const s = subscribe(l, sub, received);
  t.after(() => s.close());
  await until(s, ['status'], () => s.status.state === 'refused', 'the refusal');
  assert.match((s.status as Extract<SubscriptionStatus, { state: 'refused' }>).reason, /events\.subscribe/);
  assert.equal(received.items.length, 0);
  assert.equal(sub.cursors.cursor(l.publisherKey, 'anomalies'), 0);
});

test('a topic the node does not publish is refused as such, not as a missing grant', async (t) => {
  const l = await lab(t, { topics: ['decisions'] });
  const sub = await l.subscriber();
  l.readers.add(sub.key); // granted events.subscribe
  const received = new Received();
  const s = subscribe(l, sub, received); // asks for "anomalies"
  t.after(() => s.close());
  await until(s, ['status'], () => s.status.state === 'refused', 'the refusal');
  const reason = (s.status as Extract<SubscriptionStatus, { state: 'refused' }>).reason;
  assert.match(reason, /publishes no topic "anomalies"/);
  assert.doesNotMatch(reason, /events\.subscribe/);
});

test('taking events.subscribe away ends a live subscription before the next event is sent', async (t) => {
  const l = await lab(t);
  const sub = await l.subscriber();
  l.readers.add(sub.key);
  const received = new Received();
  const s = subscribe(l, sub, received);
  t.after(() => s.close());
  l.events.publish('anomalies', [{ n: 1 }]);
  await received.waitFor(1);
  l.readers.delete(sub.key);
  l.events.publish('anomalies', [{ n: 2 }]);
  await until(s, ['status'], () => s.status.state === 'refused', 'the refusal after revocation');
  assert.deepEqual(received.items.map((it) => it.seq), [1]);
});

test('a subscriber that comes back after the log was pruned is told exactly which events it missed', async (t) => {
  const l = await lab(t, { retain: 50 });
  const sub = await l.subscriber();
  l.readers.add(sub.key);
  sub.cursors.saveCursor(l.publisherKey, 'anomalies', 10);
  l.events.publish('anomalies', Array.from({ length: 120 }, (_, i) => ({ n: i + 1 })));
  const gaps: Array<[number, number]> = [];
  const received = new Received();
  const s = subscribe(l, sub, received, { onGap: (from, to) => gaps.push([from, to]) });
  t.after(() => s.close());
  await received.waitFor(50);
  assert.deepEqual(gaps, [[11, 70]]);
  assert.deepEqual(received.items.map((it) => it.seq), Array.from({ length: 50 }, (_, i) => 71 + i));
});

test('a subscriber that stalls stalls neither the publisher nor another subscriber', async (t) => {
  const l = await lab(t);
  const stalled = await l.subscriber();
  const healthy = await l.subscriber();
  l.readers.add(stalled.key);
  l.readers.add(healthy.key);
  let release!: () => void;
  const stuck = new Promise<void>((resolve) => (release = resolve));
  let stalledBatches = 0;
  const s1 = new EventSubscription({
    node: stalled.node,
    peerKeyId: l.publisherKey,
    topic: 'anomalies',
    store: stalled.cursors,
    onEvents: () => {
      stalledBatches++;
      return stuck; // never finishes until the end of the test
    },
  }).start();
  t.after(() => {
    release();
    s1.close();
  });
  const received = new Received();
  const s2 = subscribe(l, healthy, received);
  t.after(() => s2.close());
  const payload = { rule: 'ssh-brute-force', evidence: 'x'.repeat(500) };
  const TOTAL = 5_000;
  const t0 = performance.now();
  for (let i = 0; i < TOTAL / 100; i++) l.events.publish('anomalies', Array.from({ length: 100 }, () => payload));
  const publishMs = performance.now() - t0;
  await received.waitFor(TOTAL);
  assert.equal(received.items.length, TOTAL);
  assert.equal(stalledBatches, 1, 'the stalled consumer got one batch and is still on it');
  const info = l.events.subscribers();
  const behind = info.find((i) => i.peer === stalled.key)!;
  assert.ok(behind.behind > 0, 'the publisher kept the stalled subscriber behind instead of buffering everything for it');
  assert.equal(info.find((i) => i.peer === healthy.key)!.behind, 0);
  // Publishing never waits for a subscriber: 5,000 appends take SQLite time, not network time.
  assert.ok(publishMs < 5_000, `publishing took ${publishMs} ms`);
});
