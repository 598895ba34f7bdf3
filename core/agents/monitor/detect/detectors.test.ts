// Each detector fires exactly at its threshold and not one attempt or one millisecond below it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createDetectorEngine } from './engine.ts';
import { at, opened, rulesFrom, run, T0 } from './event-fixtures.ts';

describe('brute_force (leaky bucket)', () => {
  const rules = rulesFrom(`
rules:
  - name: bucket
    detector: brute_force
    severity: high
    mitre: T1110.001
    kinds: [auth_failure, invalid_user]
    capacity: 3
    leak_per_second: 0.5
`);

  test('a full bucket does not fire; the first attempt over capacity does', () => {
    const engine = createDetectorEngine(rules);
    const updates = run(engine, [at(0), at(0), at(0)], { flush: false });
    assert.deepEqual(updates, []);
    const fired = engine.push(at(0));
    assert.equal(fired.length, 1);
    const [update] = fired;
    assert.equal(update?.type, 'opened');
    assert.equal(update?.anomaly.count, 4);
    assert.equal(update?.anomaly.rule, 'bucket');
    assert.equal(update?.anomaly.detector, 'brute_force');
    assert.equal(update?.anomaly.severity, 'high');
    assert.equal(update?.anomaly.mitre, 'T1110.001');
    assert.equal(update?.anomaly.sourceIp, '203.0.113.5');
  });

  test('the bucket leaks leak_per_second: 2 s at 0.5/s drains exactly one attempt', () => {
    // Level 3 at t=0; at t=2 it has drained to 2, so one more fills it to exactly 3 (no overflow),
    // and the next at the same second overflows.
    const engine = createDetectorEngine(rules);
    assert.deepEqual(run(engine, [at(0), at(0), at(0), at(2)], { flush: false }), []);
    const fired = engine.push(at(2));
    assert.equal(fired[0]?.anomaly.count, 5);
  });

  test('one millisecond less leak is an overflow', () => {
    const engine = createDetectorEngine(rules);
    const updates = run(engine, [at(0), at(0), at(0), at(1.999)], { flush: false });
    assert.equal(opened(updates).length, 1);
    assert.equal(updates[0]?.anomaly.count, 4);
  });

  test('a rate that never overflows never fires, however long it goes on', () => {
    // 0.5/s drains one attempt every 2 s: one attempt every 2 s keeps the level at 1.
    const engine = createDetectorEngine(rules);
    const events = Array.from({ length: 500 }, (_, i) => at(i * 2));
    assert.deepEqual(run(engine, events), []);
  });

  test('an episode ends when the bucket is empty: older attempts are not counted', () => {
    const engine = createDetectorEngine(rules);
    // 3 at t=0 drain completely by t=6; the next 4 are a new episode.
    const updates = run(engine, [at(0), at(0), at(0), at(6), at(6), at(6), at(6)]);
    const [first] = opened(updates);
    assert.equal(first?.anomaly.count, 4);
    assert.equal(first?.anomaly.firstSeen, T0 + 6000);
    const stats = engine.stats().rules[0];
    assert.equal(stats?.discarded, 3);
    assert.equal(stats?.reported, 4);
  });

  test('floating-point leak: 0.1/s for 10 s drains exactly one attempt, no phantom overflow', () => {
    const [rule] = rulesFrom(`
rules:
  - { name: tenth, detector: brute_force, severity: low, mitre: T1110, kinds: [auth_failure], capacity: 3, leak_per_second: 0.1 }
`);
    assert.ok(rule);
    const engine = createDetectorEngine([rule]);
    const events = [at(0), at(0), at(0)];
    for (let i = 1; i <= 30; i++) events.push(at(i * 10)); // each refills exactly what 10 s drained
    assert.deepEqual(run(engine, events), []);
  });

  test('only the kinds and programs the rule lists count', () => {
    const [rule] = rulesFrom(`
rules:
  - { name: ssh-only, detector: brute_force, severity: low, mitre: T1110, kinds: [auth_failure], programs: [sshd, "postfix/*"], capacity: 1, leak_per_second: 0.01 }
`);
    assert.ok(rule);
    const engine = createDetectorEngine([rule]);
    const ignored = [at(0, { program: 'nginx' }), at(0, { program: 'nginx' }), at(0, { kind: 'invalid_user' }), at(0, { kind: 'invalid_user' }), at(0, { kind: 'auth_success' })];
    assert.deepEqual(run(engine, ignored, { flush: false }), []);
    assert.equal(opened(run(engine, [at(1, { program: 'postfix/smtpd' }), at(1)])).length, 1);
  });

  test('events without a source address are counted as such and ignored', () => {
    const [rule] = rules;
    assert.ok(rule);
    const engine = createDetectorEngine([rule]);
    assert.deepEqual(run(engine, Array.from({ length: 10 }, () => at(0, { ip: null }))), []);
    assert.equal(engine.stats().eventsWithoutSource, 10);
  });
});

describe('user_enumeration', () => {
  const rules = rulesFrom(`
rules:
  - { name: enum, detector: user_enumeration, severity: medium, mitre: T1110.003, kinds: [auth_failure, invalid_user], window_seconds: 60, distinct_users: 3 }
`);

  test('fires on the third distinct user within the window (inclusive), not on repeats', () => {
    const engine = createDetectorEngine(rules);
    const quiet = [at(0, { user: 'alice' }), at(1, { user: 'alice' }), at(2, { user: 'bob', kind: 'invalid_user' }), at(3, { user: 'bob' })];
    assert.deepEqual(run(engine, quiet, { flush: false }), []);
    const fired = engine.push(at(60, { user: 'carol' }));
    assert.equal(fired.length, 1);
    const anomaly = fired[0]?.anomaly;
    assert.equal(anomaly?.count, 5);
    assert.deepEqual(anomaly?.users, { sample: ['alice', 'bob', 'carol'], total: 3, totalIsLowerBound: false });
  });

  test('a user seen just over the window ago no longer counts', () => {
    const engine = createDetectorEngine(rules);
    assert.deepEqual(run(engine, [at(0, { user: 'alice' }), at(10, { user: 'bob' }), at(60.001, { user: 'carol' })]), []);
  });

  test('seeing a user again keeps it in the window', () => {
    const engine = createDetectorEngine(rules);
    const updates = run(engine, [at(0, { user: 'alice' }), at(10, { user: 'bob' }), at(50, { user: 'alice' }), at(65, { user: 'carol' })]);
    // alice's first attempt (t=0) is out of the window at t=65, her second (t=50) is not.
    assert.equal(opened(updates).length, 1);
  });

  test('events without a user do not count', () => {
    const engine = createDetectorEngine(rules);
    assert.deepEqual(run(engine, [at(0, { user: null }), at(0, { user: null }), at(0, { user: 'a' }), at(0, { user: 'b' })]), []);
  });
});

describe('slow_brute_force', () => {
  const slowOnly = rulesFrom(`
rules:
  - { name: slow, detector: slow_brute_force, severity: medium, mitre: T1110, kinds: [auth_failure], window_seconds: 100, threshold: 4 }
`);

  test('fires at threshold failures within the window, inclusive of the window edge', () => {
    const engine = createDetectorEngine(slowOnly);
    const updates = run(engine, [at(0), at(30), at(60), at(100)]);
    assert.equal(opened(updates).length, 1);
    assert.equal(updates[0]?.anomaly.count, 4);
  });

  test('does not fire when the first failure is a millisecond outside the window', () => {
    const engine = createDetectorEngine(slowOnly);
    assert.deepEqual(run(engine, [at(0), at(30), at(60), at(100.001)]), []);
    assert.equal(engine.stats().rules[0]?.discarded, 4);
  });

  test('leaves fast bursts to the brute_force rule and catches what it misses', () => {
    const rules = rulesFrom(`
rules:
  - { name: fast, detector: brute_force, severity: high, mitre: T1110.001, kinds: [auth_failure], capacity: 3, leak_per_second: 1 }
  - { name: slow, detector: slow_brute_force, severity: medium, mitre: T1110, kinds: [auth_failure], window_seconds: 3600, threshold: 5 }
`);
    const engine = createDetectorEngine(rules);
    // A burst of 20 from one source: only the fast rule reports it.
    const burst = run(engine, Array.from({ length: 20 }, () => at(0, { ip: '198.51.100.1' })));
    assert.deepEqual(opened(burst).map((update) => update.anomaly.rule), ['fast']);
    // One failure a minute from another source never overflows the bucket: the slow rule fires.
    const trickle = run(engine, Array.from({ length: 5 }, (_, i) => at(i * 60, { ip: '198.51.100.2' })));
    assert.deepEqual(opened(trickle).map((update) => [update.anomaly.rule, update.anomaly.count]), [['slow', 5]]);
  });
});

describe('success_after_failures', () => {
  const rules = rulesFrom(`
rules:
  - { name: saf, detector: success_after_failures, severity: critical, mitre: T1078, kinds: [auth_failure, invalid_user], window_seconds: 600, min_failures: 3 }
`);

  test('a success after min_failures failures fires, critical, naming the account', () => {
    const engine = createDetectorEngine(rules);
    const updates = run(engine, [at(0), at(1, { kind: 'invalid_user', user: 'admin' }), at(2), at(3, { kind: 'auth_success', user: 'deploy' })]);
    const [first] = opened(updates);
    assert.equal(first?.anomaly.severity, 'critical');
    assert.equal(first?.anomaly.mitre, 'T1078');
    assert.equal(first?.anomaly.count, 4);
    assert.match(first?.anomaly.summary ?? '', /logged in as deploy after 3 failed attempts/);
    assert.equal(first?.anomaly.evidence.at(-1)?.text.includes('auth_success'), true);
  });

  test('one failure fewer does not fire, and the success starts the count again', () => {
    const engine = createDetectorEngine(rules);
    const events = [at(0), at(1), at(2, { kind: 'auth_success' }), at(3), at(4, { kind: 'auth_success' })];
    assert.deepEqual(run(engine, events), []);
  });

  test('failures are counted within the window before the success (inclusive)', () => {
    const inside = createDetectorEngine(rules);
    assert.equal(opened(run(inside, [at(0), at(1), at(2), at(600, { kind: 'auth_success' })])).length, 1);
    const outside = createDetectorEngine(rules);
    assert.deepEqual(run(outside, [at(0), at(1), at(2), at(600.001, { kind: 'auth_success' })]), []);
  });

  test('reports the whole run of failures, not just those still in the window', () => {
    const engine = createDetectorEngine(rules);
    const failures = Array.from({ length: 10 }, (_, i) => at(i * 100));
    const updates = run(engine, [...failures, at(1000, { kind: 'auth_success', user: 'pi' })]);
    assert.equal(updates[0]?.anomaly.count, 11);
    assert.equal(updates[0]?.anomaly.firstSeen, T0);
    assert.match(updates[0]?.anomaly.summary ?? '', /after 10 failed attempts/);
  });

  test('a success alone, or from another source, does not fire', () => {
    const engine = createDetectorEngine(rules);
    assert.deepEqual(run(engine, [at(0), at(1), at(2), at(3, { kind: 'auth_success', ip: '192.0.2.9' })]), []);
  });
});

describe('port_scan', () => {
  const rules = rulesFrom(`
rules:
  - { name: scan, detector: port_scan, severity: low, mitre: T1595, kinds: [firewall_drop], window_seconds: 10, distinct_ports: 3 }
`);
  const drop = (seconds: number, port?: number) => at(seconds, { kind: 'firewall_drop', user: null, ...(port === undefined ? {} : { port }) });

  test('fires on the third distinct port within the window and lists the ports', () => {
    const engine = createDetectorEngine(rules);
    assert.deepEqual(run(engine, [drop(0, 22), drop(1, 23), drop(2, 22), drop(3), drop(4, 70000)], { flush: false }), []);
    const fired = engine.push(drop(10, 80));
    assert.equal(fired.length, 1);
    assert.deepEqual(fired[0]?.anomaly.ports, { sample: [22, 23, 80], total: 3, totalIsLowerBound: false });
    assert.equal(fired[0]?.anomaly.count, 4);
    assert.match(fired[0]?.anomaly.summary ?? '', /probed 3 ports/);
  });

  test('ports spread wider than the window do not fire', () => {
    const engine = createDetectorEngine(rules);
    assert.deepEqual(run(engine, [drop(0, 22), drop(5, 23), drop(10.001, 80)]), []);
  });
});

describe('web_scan', () => {
  const rules = rulesFrom(`
rules:
  - { name: bots, detector: web_scan, severity: low, mitre: T1595.003, kinds: [web_bot_search], window_seconds: 60, threshold: 3 }
`);
  const probe = (seconds: number) => at(seconds, { kind: 'web_bot_search', user: null });

  test('fires at threshold probes within the window, not below', () => {
    assert.deepEqual(run(createDetectorEngine(rules), [probe(0), probe(30)]), []);
    assert.deepEqual(run(createDetectorEngine(rules), [probe(0), probe(30), probe(60.001)]), []);
    const updates = run(createDetectorEngine(rules), [probe(0), probe(30), probe(60)]);
    assert.equal(opened(updates).length, 1);
    assert.equal(updates[0]?.anomaly.mitre, 'T1595.003');
  });
});
