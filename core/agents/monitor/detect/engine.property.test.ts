// Property: for any rules and any event stream (unordered times, odd weights, missing fields,
// expiry calls, tiny source caps), the engine never throws, every attempt it matched is either
// reported in exactly one closed anomaly or discarded, and each anomaly's reports are well formed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { EventKind, SecurityEvent } from '../event.ts';
import type { AnomalyUpdate } from './anomaly.ts';
import { createDetectorEngine } from './engine.ts';
import { T0 } from './event-fixtures.ts';
import { ALL_EVENT_KINDS, parseRules } from './rules.ts';
import type { DetectionRule } from './rules.ts';

const FAILURES: EventKind[] = ['auth_failure', 'invalid_user', 'preauth_disconnect', 'protocol_error', 'web_bot_search', 'firewall_drop'];
const PROGRAMS = ['sshd', 'nginx', 'kernel', 'postfix/smtpd'];

const kindsOf = (allowed: EventKind[]) => fc.subarray(allowed, { minLength: 1 });
const common = {
  programs: fc.option(fc.subarray(['sshd', 'nginx', 'kernel', 'postfix/*'], { minLength: 1 }), { nil: undefined }),
  cooldown_seconds: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
  enabled: fc.boolean(),
};
const ruleConfig = fc.oneof(
  fc.record({ detector: fc.constant('brute_force'), kinds: kindsOf(FAILURES), capacity: fc.integer({ min: 1, max: 6 }), leak_per_second: fc.constantFrom(0.01, 0.1, 0.5, 1, 3), ...common }),
  fc.record({ detector: fc.constant('user_enumeration'), kinds: kindsOf(FAILURES), window_seconds: fc.integer({ min: 1, max: 120 }), distinct_users: fc.integer({ min: 2, max: 4 }), ...common }),
  fc.record({ detector: fc.constant('slow_brute_force'), kinds: kindsOf(FAILURES), window_seconds: fc.integer({ min: 1, max: 300 }), threshold: fc.integer({ min: 1, max: 8 }), ...common }),
  fc.record({ detector: fc.constant('success_after_failures'), kinds: kindsOf(FAILURES), window_seconds: fc.integer({ min: 1, max: 300 }), min_failures: fc.integer({ min: 1, max: 5 }), ...common }),
  fc.record({ detector: fc.constant('port_scan'), kinds: fc.constant(['firewall_drop']), window_seconds: fc.integer({ min: 1, max: 60 }), distinct_ports: fc.integer({ min: 2, max: 5 }), ...common }),
  fc.record({ detector: fc.constant('web_scan'), kinds: kindsOf(FAILURES), window_seconds: fc.integer({ min: 1, max: 120 }), threshold: fc.integer({ min: 1, max: 5 }), ...common }),
);

type Step = { readonly op: 'event'; readonly dt: number; readonly fields: Omit<SecurityEvent, 'time' | 'line' | 'text'>; readonly badTime: boolean } | { readonly op: 'expire'; readonly dt: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({
    op: fc.constant('event' as const),
    dt: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: -3000, max: 3000 }) }, { weight: 4, arbitrary: fc.integer({ min: 0, max: 60_000 }) }, { weight: 1, arbitrary: fc.constant(3_600_000) }),
    badTime: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
    fields: fc.record({
      sourceIp: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('203.0.113.5', '198.51.100.7', '2001:db8::1', 'host.example') }, { weight: 1, arbitrary: fc.constantFrom(null, '') }),
      user: fc.constantFrom('root', 'admin', 'pi', 'x', null),
      kind: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FAILURES) }, { weight: 1, arbitrary: fc.constantFrom(...ALL_EVENT_KINDS) }),
      program: fc.constantFrom(...PROGRAMS),
      count: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 50 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, Number.NaN, 2.5, 1e12) }),
      destPort: fc.option(fc.integer({ min: -1, max: 70_000 }), { nil: undefined }),
    }),
  }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), dt: fc.integer({ min: -1000, max: 700_000 }) }) },
);

/** The weight the engine gives an event, restated independently. */
function weight(count: number): number {
  if (!(count >= 1)) return 1;
  return Math.min(Math.floor(count), 1_000_000_000);
}

/** Whether an event passes a rule's filters, restated independently from the documented rules. */
function matches(rule: DetectionRule, event: SecurityEvent): boolean {
  if (typeof event.sourceIp !== 'string' || event.sourceIp.length === 0) return false;
  const kindOk = rule.kinds.includes(event.kind) || (rule.detector === 'success_after_failures' && event.kind === 'auth_success');
  if (!kindOk) return false;
  if (rule.programs !== null && !rule.programs.some((program) => (program.endsWith('*') ? event.program.startsWith(program.slice(0, -1)) : program === event.program))) return false;
  if (rule.detector === 'user_enumeration') return typeof event.user === 'string' && event.user.length > 0;
  if (rule.detector === 'port_scan') return event.destPort !== undefined && Number.isInteger(event.destPort) && event.destPort >= 0 && event.destPort <= 65535;
  return true;
}

test('the engine never throws and every matched attempt is reported once or discarded', () => {
  let anomaliesSeen = 0;
  fc.assert(
    fc.property(
      fc.array(ruleConfig, { minLength: 1, maxLength: 5 }),
      fc.array(step, { maxLength: 300, size: 'max' }),
      fc.record({ maxTrackedSources: fc.integer({ min: 1, max: 6 }), updateIntervalMs: fc.constantFrom(1000, 60_000), updateGrowthFactor: fc.constantFrom(1.5, 2) }),
      (configs, steps, options) => {
        const parsed = parseRules(JSON.stringify({ builtin_rules: false, rules: configs.map((config, i) => ({ name: `r${i}`, ...config })) }));
        if (!parsed.ok) assert.fail(parsed.errors.join('\n'));
        const rules = parsed.rules;
        const engine = createDetectorEngine(rules, options);

        const matched = new Map<string, number>(rules.map((rule) => [rule.name, 0]));
        const updates: { update: AnomalyUpdate; clock: number }[] = [];
        let time = T0;
        let clock = Number.NEGATIVE_INFINITY;
        let line = 0;
        for (const s of steps) {
          time += s.dt;
          if (s.op === 'expire') {
            clock = Math.max(clock, time);
            for (const update of engine.expire(time)) updates.push({ update, clock });
            continue;
          }
          line++;
          const event: SecurityEvent = { ...s.fields, time: s.badTime ? Number.NaN : time, line, text: `line ${line}` };
          if (!s.badTime) clock = Math.max(clock, time);
          for (const rule of rules) if (rule.enabled && matches(rule, event)) matched.set(rule.name, (matched.get(rule.name) ?? 0) + weight(event.count));
          for (const update of engine.push(event)) updates.push({ update, clock });
        }
        for (const update of engine.flush()) updates.push({ update, clock });

        const stats = engine.stats();
        assert.equal(stats.trackedSources, 0);
        const reportedByRule = new Map<string, number>();
        const byId = new Map<string, { update: AnomalyUpdate; clock: number }[]>();
        for (const entry of updates) {
          const list = byId.get(entry.update.anomaly.id) ?? [];
          list.push(entry);
          byId.set(entry.update.anomaly.id, list);
        }
        for (const [id, reports] of byId) {
          const types = reports.map((entry) => entry.update.type);
          assert.equal(types[0], 'opened', id);
          assert.equal(types.at(-1), 'closed', id);
          assert.equal(types.filter((type) => type === 'closed').length, 1, id);
          for (let i = 0; i < reports.length; i++) {
            const current = reports[i]?.update.anomaly;
            assert.ok(current);
            assert.equal(current.revision, i + 1, id);
            assert.equal(current.state, i === reports.length - 1 ? 'closed' : 'open');
            assert.ok(current.firstSeen <= current.lastSeen, id);
            assert.ok(current.count >= 1 && current.evidence.length >= 1 && current.summary.length > 0, id);
            if (i === 0) continue;
            const previous = reports[i - 1];
            assert.ok(previous);
            assert.ok(current.count >= previous.update.anomaly.count, `${id}: count went down`);
            if (reports[i]?.update.type === 'updated') {
              const grew = current.count >= previous.update.anomaly.count * options.updateGrowthFactor;
              const waited = (reports[i]?.clock ?? 0) - previous.clock >= options.updateIntervalMs;
              assert.ok(grew || waited, `${id}: update ${i + 1} came too soon`);
            }
          }
          const last = reports.at(-1)?.update.anomaly;
          assert.ok(last);
          reportedByRule.set(last.rule, (reportedByRule.get(last.rule) ?? 0) + last.count);
        }
        for (const rule of stats.rules) {
          assert.equal(rule.matched, matched.get(rule.rule), `${rule.rule}: matched`);
          assert.equal(rule.reported, reportedByRule.get(rule.rule) ?? 0, `${rule.rule}: reported`);
          assert.equal(rule.matched, rule.reported + rule.discarded, `${rule.rule}: matched = reported + discarded`);
          assert.equal(rule.openAnomalies, 0);
          assert.ok(rule.trackedSources === 0);
        }
        for (const rule of rules) if (!rule.enabled) assert.equal(stats.rules.some((entry) => entry.rule === rule.name), false);
        anomaliesSeen += byId.size;
      },
    ),
    { numRuns: 400 },
  );
  // The property says little if the streams never made a rule fire.
  assert.ok(anomaliesSeen > 400, `only ${anomaliesSeen} anomalies in 400 runs`);
});
