// The engine around the detectors: merging into one anomaly, bounded update rate, event weights,
// unordered time, expiry by event time, eviction under a flood of sources.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnomalyUpdate } from './anomaly.ts';
import { DISTINCT_VALUES_TRACKED } from './distinct-values.ts';
import { createDetectorEngine } from './engine.ts';
import { EVIDENCE_FIRST_LINES, EVIDENCE_LATEST_LINES, EVIDENCE_TEXT_MAX_CHARS } from './evidence.ts';
import { at, opened, rulesFrom, run, T0 } from './event-fixtures.ts';
import { builtInRules } from './rules.ts';

const bucket = rulesFrom(`
rules:
  - { name: bucket, detector: brute_force, severity: high, mitre: T1110.001, kinds: [auth_failure], capacity: 2, leak_per_second: 1, cooldown_seconds: 60 }
`);

describe('merging', () => {
  test('a flood from one source is one anomaly: one id, growing counts, few updates', () => {
    const engine = createDetectorEngine(bucket);
    // 10,000 failures in 10 s.
    const updates = run(engine, Array.from({ length: 10_000 }, (_, i) => at(i / 1000, { user: `u${i % 7}` })));
    assert.equal(new Set(updates.map((update) => update.anomaly.id)).size, 1);
    assert.equal(updates[0]?.type, 'opened');
    assert.equal(updates.at(-1)?.type, 'closed');
    assert.deepEqual(
      updates.map((update) => update.anomaly.revision),
      updates.map((_, i) => i + 1),
    );
    for (let i = 1; i < updates.length; i++) {
      assert.ok((updates[i]?.anomaly.count ?? 0) >= (updates[i - 1]?.anomaly.count ?? 0) * 2 || updates[i]?.type === 'closed');
    }
    // Opened at 3, then each report at least doubles: 6, 12, ... 6144, then the close.
    assert.ok(updates.length <= 14, `${updates.length} updates`);
    const last = updates.at(-1)?.anomaly;
    assert.equal(last?.count, 10_000);
    assert.equal(last?.state, 'closed');
    assert.deepEqual(last?.users.total, 7);
    assert.equal(last?.firstSeen, T0);
    assert.equal(last?.lastSeen, T0 + 9999);
  });

  test('a slow steady source is re-reported at most once a minute of event time', () => {
    const engine = createDetectorEngine(
      rulesFrom(`
rules:
  - { name: bucket, detector: brute_force, severity: high, mitre: T1110.001, kinds: [auth_failure], capacity: 2, leak_per_second: 0.01, cooldown_seconds: 600 }
`),
    );
    // One failure every 10 s for an hour (360): opened on the 3rd.
    const updates = run(engine, Array.from({ length: 360 }, (_, i) => at(i * 10)), { flush: false });
    const open = updates.filter((update) => update.type !== 'closed');
    for (let i = 1; i < open.length; i++) {
      const previous = open[i - 1]?.anomaly;
      const current = open[i]?.anomaly;
      assert.ok(previous && current);
      const doubled = current.count >= previous.count * 2;
      assert.ok(doubled || current.lastSeen - previous.lastSeen >= 60_000, `update ${i} came too soon`);
    }
    // About one a minute, plus the doublings at the start.
    assert.ok(open.length <= 60 + 8, `${open.length} updates`);
    assert.ok(open.length >= 50, `${open.length} updates: the anomaly must still be reported while it grows`);
  });

  test('a rule with a long cooldown re-reports less often: a tenth of the cooldown', () => {
    const engine = createDetectorEngine(
      rulesFrom(`
rules:
  - { name: slow, detector: slow_brute_force, severity: medium, mitre: T1110, kinds: [auth_failure], window_seconds: 86400, threshold: 2 }
`),
    );
    // One failure every 10 minutes for a day: opened on the 2nd, then re-reported when the count
    // doubles (4, 8, 16, 32, 64, 128) or every 2.4 h (a tenth of the day-long window).
    const updates = run(engine, Array.from({ length: 144 }, (_, i) => at(i * 600)), { flush: false });
    const open = updates.filter((update) => update.type === 'updated');
    for (let i = 1; i < open.length; i++) {
      const previous = open[i - 1]?.anomaly;
      const current = open[i]?.anomaly;
      assert.ok(previous && current);
      assert.ok(current.count >= previous.count * 2 || current.lastSeen - previous.lastSeen >= 8640_000, `update ${i} came too soon`);
    }
    assert.ok(open.length <= 6 + 10, `${open.length} updates`);
  });

  test('a source that pauses for less than the cooldown stays in the same anomaly; a longer pause opens a new one', () => {
    const engine = createDetectorEngine(bucket);
    const burst = (start: number) => [at(start), at(start), at(start), at(start)];
    const updates = run(engine, [...burst(0), ...burst(60), ...burst(200)]);
    const ids = [...new Set(updates.map((update) => update.anomaly.id))];
    assert.equal(ids.length, 2);
    const closes = updates.filter((update) => update.type === 'closed');
    assert.deepEqual(
      closes.map((update) => [update.anomaly.count, update.type === 'closed' ? update.reason : '']),
      [
        [8, 'quiet'],
        [4, 'end_of_input'],
      ],
    );
  });
});

test('event.count is honoured: one "message repeated 10 times" line is 10 attempts', () => {
  const engine = createDetectorEngine(bucket);
  const updates = run(engine, [at(0, { count: 10 })]);
  assert.equal(opened(updates).length, 1);
  assert.equal(updates[0]?.anomaly.count, 10);
  // A nonsensical weight counts as the one line it is: these three are 3 attempts, over capacity 2.
  const odd = createDetectorEngine(bucket);
  const oddUpdates = run(odd, [at(0, { count: 0 }), at(0, { count: Number.NaN }), at(0, { count: -5 })]);
  assert.equal(oddUpdates[0]?.anomaly.count, 3);
});

describe('time', () => {
  test('an event a little older than the previous one neither refills the bucket nor breaks the report', () => {
    const engine = createDetectorEngine(
      rulesFrom(`
rules:
  - { name: bucket, detector: brute_force, severity: high, mitre: T1110.001, kinds: [auth_failure], capacity: 3, leak_per_second: 1 }
`),
    );
    const updates = run(engine, [at(10), at(9), at(9.5), at(10)]);
    const [first] = opened(updates);
    assert.equal(first?.anomaly.count, 4);
    assert.equal(first?.anomaly.firstSeen, T0 + 9000);
    assert.equal(first?.anomaly.lastSeen, T0 + 10_000);
    assert.deepEqual(
      first?.anomaly.evidence.map((line) => line.time),
      [10, 9, 9.5, 10].map((s) => T0 + s * 1000),
    );
  });

  test('windows stay correct when lines arrive slightly out of order', () => {
    const engine = createDetectorEngine(
      rulesFrom(`
rules:
  - { name: slow, detector: slow_brute_force, severity: medium, mitre: T1110, kinds: [auth_failure], window_seconds: 60, threshold: 4 }
`),
    );
    assert.equal(opened(run(engine, [at(0), at(20), at(19), at(40), at(39)])).length, 1);
  });

  test('an event hours in the past does not crash or corrupt the counts', () => {
    const engine = createDetectorEngine(builtInRules());
    const updates = run(engine, [at(3600), at(0), at(3600), at(-86_400), at(3601)]);
    assert.equal(updates.length, 0);
    for (const stats of engine.stats().rules) assert.equal(stats.matched, stats.reported + stats.discarded, stats.rule);
  });

  test('expiry follows event time: an anomaly closes after a full cooldown of silence, at most 1/64 of it late', () => {
    const engine = createDetectorEngine(bucket); // cooldown 60 s
    assert.equal(opened(run(engine, [at(0), at(0), at(0)], { flush: false })).length, 1);
    assert.deepEqual(engine.expire(T0 + 60_000), [], 'never before the cooldown');
    const closed = engine.expire(T0 + 60_000 + 60_000 / 64 + 1);
    assert.equal(closed.length, 1);
    assert.equal(closed[0]?.type === 'closed' && closed[0].reason, 'quiet');
    assert.deepEqual(engine.expire(T0 + 30_000), [], 'the clock never goes backwards');
    assert.equal(engine.stats().rules[0]?.openAnomalies, 0);
    // The quiet source's state itself is dropped after twice the cooldown, at least an hour.
    assert.equal(engine.stats().trackedSources, 1);
    engine.expire(T0 + 3_600_001);
    assert.equal(engine.stats().trackedSources, 0);
  });

  test('an event just after the cooldown never merges into the old anomaly, swept or not', () => {
    const engine = createDetectorEngine(bucket); // cooldown 60 s
    const updates = run(engine, [at(0), at(0), at(0), at(60.001), at(60.001), at(60.001)]);
    const ids = opened(updates).map((update) => update.anomaly.id);
    assert.equal(ids.length, 2);
    const closes = updates.filter((update) => update.type === 'closed');
    assert.deepEqual(
      closes.map((update) => update.anomaly.count),
      [3, 3],
    );
  });

  test('an old log scans exactly like the same log watched live', () => {
    const events = [
      ...Array.from({ length: 40 }, (_, i) => at(i * 3, { ip: '198.51.100.1', user: `u${i % 9}` })),
      ...Array.from({ length: 30 }, (_, i) => at(100 + i * 400, { ip: '198.51.100.2' })),
      at(20_000, { ip: '198.51.100.2', kind: 'auth_success' }),
      ...Array.from({ length: 30 }, (_, i) => at(50 + i, { ip: '192.0.2.7', kind: 'firewall_drop', user: null, port: 1000 + i })),
    ].sort((a, b) => a.time - b.time);
    const offline = run(createDetectorEngine(builtInRules()), events);
    // Live: the monitor also calls expire(now) while waiting for lines; `now` never passes the
    // time of the line that comes next.
    const live = createDetectorEngine(builtInRules());
    const liveUpdates: AnomalyUpdate[] = [];
    for (const event of events) {
      liveUpdates.push(...live.expire(event.time - 1));
      liveUpdates.push(...live.push(event));
    }
    liveUpdates.push(...live.flush());
    assert.ok(offline.length > 5);
    const key = (update: AnomalyUpdate) => JSON.stringify(update);
    assert.deepEqual(liveUpdates.map(key).sort(), offline.map(key).sort());
  });
});

describe('bounded memory', () => {
  test('a flood of distinct sources evicts the least recently active, and counts it', () => {
    const engine = createDetectorEngine(builtInRules(), { maxTrackedSources: 100 });
    const sources = 20_000;
    for (let i = 0; i < sources; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      engine.push(at(i / 100, { ip, user: `user${i}` }));
    }
    const stats = engine.stats();
    assert.ok(stats.trackedSources <= 100, `${stats.trackedSources} sources tracked`);
    for (const rule of stats.rules) {
      assert.ok(rule.trackedSources <= 100, rule.rule);
      if (rule.matched > 0) assert.equal(rule.evictedSources, sources - 100, rule.rule);
    }
    engine.flush();
    assert.equal(engine.stats().trackedSources, 0);
  });

  test('an evicted source closes its open anomaly with reason "evicted"', () => {
    const engine = createDetectorEngine(bucket, { maxTrackedSources: 2 });
    const updates = run(engine, [at(0), at(0), at(0), at(1, { ip: '192.0.2.1' }), at(2, { ip: '192.0.2.2' })], { flush: false });
    const closed = updates.find((update) => update.type === 'closed');
    assert.equal(closed?.type === 'closed' && closed.reason, 'evicted');
    assert.equal(closed?.anomaly.sourceIp, '203.0.113.5');
    assert.equal(engine.stats().rules[0]?.evictedSources, 1);
  });

  test('evidence keeps the first and the latest lines and counts the rest', () => {
    const engine = createDetectorEngine(bucket);
    const events = Array.from({ length: 50 }, (_, i) => at(i / 10));
    const last = run(engine, events).at(-1)?.anomaly;
    assert.ok(last);
    const kept = EVIDENCE_FIRST_LINES + EVIDENCE_LATEST_LINES;
    assert.deepEqual(
      last.evidence.map((line) => line.line),
      [...events.slice(0, EVIDENCE_FIRST_LINES), ...events.slice(-EVIDENCE_LATEST_LINES)].map((event) => event.line),
    );
    assert.equal(last.evidenceOmitted, 50 - kept);
  });

  test('evidence text and the list of users are bounded', () => {
    const engine = createDetectorEngine(bucket);
    const long = { ...at(0), text: 'x'.repeat(100_000) };
    const users = Array.from({ length: 1000 }, (_, i) => at(0.001 * i, { user: `user-${i}` }));
    const last = run(engine, [long, ...users]).at(-1)?.anomaly;
    assert.ok(last);
    assert.equal(last.evidence[0]?.text.length, EVIDENCE_TEXT_MAX_CHARS + 1);
    assert.equal(last.users.sample.length, 10);
    assert.equal(last.users.total, DISTINCT_VALUES_TRACKED);
    assert.equal(last.users.totalIsLowerBound, true);
    assert.match(last.summary, /and at least 246 more/);
  });
});

test('openAnomalies shows what is open without making a new revision', () => {
  const engine = createDetectorEngine(bucket);
  const updates = run(engine, [at(0), at(0), at(0)], { flush: false });
  const [open] = engine.openAnomalies();
  assert.deepEqual(open, updates[0]?.anomaly);
  engine.flush();
  assert.deepEqual(engine.openAnomalies(), []);
});

test('disabled rules do not run', () => {
  const rules = rulesFrom(`
rules:
  - { name: off, detector: brute_force, enabled: false, severity: high, mitre: T1110, kinds: [auth_failure], capacity: 1, leak_per_second: 1 }
`);
  const engine = createDetectorEngine(rules);
  assert.deepEqual(run(engine, [at(0), at(0), at(0)]), []);
  assert.deepEqual(engine.stats().rules, []);
});

test('ids are deterministic (rule, source, first attempt, sequence) and never reused', () => {
  const updates = run(createDetectorEngine(bucket, { maxTrackedSources: 1 }), [at(5), at(5), at(5), at(5, { ip: '192.0.2.1' }), at(5), at(5), at(5)]);
  assert.deepEqual(
    opened(updates).map((update) => update.anomaly.id),
    [`bucket/203.0.113.5/${T0 + 5000}/1`, `bucket/203.0.113.5/${T0 + 5000}/2`],
  );
});
