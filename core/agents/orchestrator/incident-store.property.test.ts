// Property: whatever order anomaly updates arrive in — shuffled, repeated, interleaved with
// sweeps that close incidents and clock jumps — the incident store never loses or duplicates an
// anomaly: every (agent, id) sits in exactly one incident, with its newest revision, and every
// incident's totals are exactly the sums of what it holds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AnomalyUpdate, Severity } from '../monitor/detect/anomaly.ts';
import { FakeClock, MINUTE, anomaly } from './orchestrator-fixtures.ts';
import { Orchestrator } from './orchestrator.ts';

const AGENTS = ['gcp-log-monitor', 'aws-web-1', 'edge-3'];
const SOURCES = ['198.51.100.23', '203.0.113.45', '2001:db8:5:6::1', '2001:db8:5:6::beef'];
const RULES: Array<{ rule: string; severity: Severity }> = [
  { rule: 'auth-brute-force', severity: 'high' },
  { rule: 'user-enumeration', severity: 'medium' },
  { rule: 'success-after-failures', severity: 'critical' },
];

interface Episode {
  readonly agent: string;
  readonly id: string;
  readonly source: string;
  readonly rule: number;
  readonly start: number;
  /** Counts of its revisions 1..n (growing); the last one may be the closing report. */
  readonly counts: readonly number[];
  readonly closes: boolean;
}

const episode: fc.Arbitrary<Episode> = fc.record({
  agent: fc.constantFrom(...AGENTS),
  // A small id pool: the same id from two agents must stay two anomalies.
  id: fc.constantFrom('e1', 'e2', 'e3', 'e4', 'e5', 'e6'),
  source: fc.constantFrom(...SOURCES),
  rule: fc.integer({ min: 0, max: RULES.length - 1 }),
  start: fc.integer({ min: 0, max: 90 }),
  counts: fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 4 }).map((steps) => steps.map((_, i) => steps.slice(0, i + 1).reduce((a, b) => a + b, 0))),
  closes: fc.boolean(),
});

type Step = { readonly kind: 'update'; readonly update: { agent: string; message: AnomalyUpdate } } | { readonly kind: 'sweep'; readonly advance: number };

function updatesOf(e: Episode): Array<{ agent: string; message: AnomalyUpdate }> {
  const { rule, severity } = RULES[e.rule] ?? { rule: 'auth-brute-force', severity: 'high' as Severity };
  return e.counts.map((count, i) => {
    const revision = i + 1;
    const last = revision === e.counts.length;
    const a = anomaly({ id: e.id, rule, severity, sourceIp: e.source, revision, count, from: e.start, to: e.start + i * 3, state: last && e.closes ? 'closed' : 'open' });
    const message: AnomalyUpdate = last && e.closes ? { type: 'closed', reason: 'quiet', anomaly: a } : { type: revision === 1 ? 'opened' : 'updated', anomaly: a };
    return { agent: e.agent, message };
  });
}

const scenario = fc
  .uniqueArray(episode, { selector: (e) => `${e.agent}|${e.id}`, minLength: 1, maxLength: 10 })
  .chain((episodes) => {
    const updates = episodes.flatMap(updatesOf);
    return fc.record({
      episodes: fc.constant(episodes),
      // Every update at least once, some twice (redelivery), in any order, with sweeps between.
      order: fc.shuffledSubarray(updates, { minLength: updates.length, maxLength: updates.length }),
      repeats: fc.subarray(updates),
      sweeps: fc.array(fc.record({ at: fc.nat(), advance: fc.integer({ min: 0, max: 40 * MINUTE }) }), { maxLength: 5 }),
    });
  })
  .map(({ episodes, order, repeats, sweeps }) => {
    const steps: Step[] = [...order, ...repeats].map((update) => ({ kind: 'update', update }));
    for (const s of sweeps) steps.splice(s.at % (steps.length + 1), 0, { kind: 'sweep', advance: s.advance });
    return { episodes, steps };
  });

test('the incident store never loses or duplicates an anomaly, whatever the order of updates', () => {
  fc.assert(
    fc.property(scenario, ({ episodes, steps }) => {
      const dir = mkdtempSync(join(tmpdir(), 'swarm-orchestrator-prop-'));
      const clock = new FakeClock();
      const orchestrator = Orchestrator.open({
        dbPath: join(dir, 'incidents.db'),
        executors: () => ['aws-firewall-executor'],
        now: clock.now,
        sweepEveryMs: 0,
        policy: { autoApprove: [{ rule: 'auth-brute-force', minSeverity: 'high', maxTtl: '1h' }] },
      });
      try {
        for (const step of steps) {
          if (step.kind === 'sweep') {
            clock.advance(step.advance);
            orchestrator.sweep();
          } else orchestrator.ingest(step.update.agent, step.update.message);
        }
        const expected = new Map(episodes.map((e) => [`${e.agent}|${e.id}`, { revision: e.counts.length, count: e.counts.at(-1) ?? 0, open: !e.closes }]));
        const incidents = orchestrator.incidents({ limit: 1000 });
        const seen = new Set<string>();
        let total = 0;
        for (const incident of incidents) {
          const members = orchestrator.incidentAnomalies(incident.id, 1000);
          assert.equal(members.length, incident.anomalies, `${incident.id}: anomalies counted as held`);
          assert.equal(members.reduce((n, m) => n + m.count, 0), incident.count, `${incident.id}: count is the sum of its anomalies' latest counts`);
          assert.equal(members.filter((m) => m.state === 'open').length, incident.openAnomalies);
          assert.equal(new Set(members.map((m) => m.agent)).size, incident.agentsTotal);
          assert.equal(new Set(members.map((m) => m.sourceIp)).size, incident.sourcesTotal);
          assert.ok(members.every((m) => `${m.sourceIp}` !== '' && incident.firstSeen <= m.firstSeen && m.lastSeen <= incident.lastSeen));
          for (const m of members) {
            const key = `${m.agent}|${m.anomalyId}`;
            assert.ok(!seen.has(key), `${key} is in two incidents`);
            seen.add(key);
            const want = expected.get(key);
            assert.ok(want, `${key} was never sent`);
            assert.equal(m.revision, want.revision, `${key} holds its newest revision`);
            assert.equal(m.count, want.count);
            assert.equal(m.state === 'open', want.open);
          }
          total += incident.count;
        }
        assert.deepEqual([...seen].sort(), [...expected.keys()].sort(), 'every anomaly sent is held');
        assert.equal(total, [...expected.values()].reduce((n, e) => n + e.count, 0));
        // At most one proposal in play per incident.
        const inPlay = orchestrator.proposals({ status: ['pending', 'approved', 'applied'], limit: 1000 });
        assert.equal(new Set(inPlay.map((p) => p.incidentId)).size, inPlay.length);
      } finally {
        orchestrator.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 150 },
  );
});
