/**
 * The detector engine: SecurityEvents in, anomaly reports out.
 *
 * Time is event time only. The engine's clock is the latest event time it has seen (or a later
 * `expire(now)`), so scanning last month's log gives the same anomalies, ids and updates as
 * watching it live.
 *
 * Merging: while a (rule, source) anomaly is open, that source's further events for the rule go
 * into it (count, lastSeen, users, evidence) instead of making new ones. An 'updated' report for
 * the same id is emitted only when the count has grown by `updateGrowthFactor` since the last
 * report (x2: so a million-line flood gives about 20 reports), or when a report interval of event
 * time has passed: `updateIntervalMs`, or a tenth of the rule's cooldown if that is longer (a
 * day-long slow-brute-force window needs no news every minute). The anomaly closes, with one
 * last 'closed' report, once the source has been quiet for the rule's cooldown (the window;
 * brute_force: the time a full bucket drains; or cooldown_seconds if longer), when it is
 * evicted, or at flush().
 *
 * Memory: each rule tracks at most `maxTrackedSources` sources: a new one evicts the least
 * recently active (its open anomaly is closed with reason 'evicted', and the eviction counted).
 * A quiet source's state is dropped after twice the cooldown (at least an hour); until then its
 * detector forgets aged-out attempts by itself if the source returns. Per source, every
 * structure is bounded (see detectors.ts, evidence.ts, distinct-values.ts).
 *
 * Cost: an event does one lookup in a source table shared by all rules and O(1) amortised work
 * for each enabled rule that listens to its kind; nothing scans all sources.
 */
import type { SecurityEvent } from '../event.ts';
import type { Anomaly, AnomalyUpdate } from './anomaly.ts';
import { RuleRunner, SourceDirectory } from './rule-runner.ts';
import type { RuleStats, RunnerSettings, SourceRecord } from './rule-runner.ts';
import type { DetectionRule } from './rules.ts';
import { UserNames } from './user-names.ts';

export type { RuleStats } from './rule-runner.ts';

export interface DetectorEngineOptions {
  /** Sources tracked per rule before the least recently active is evicted. Default 10,000. */
  readonly maxTrackedSources?: number;
  /** An open anomaly is re-reported at most this often (event time, ms) ... Default 60,000. */
  readonly updateIntervalMs?: number;
  /** ... or when its count has grown by this factor since the last report. Default 2. */
  readonly updateGrowthFactor?: number;
}

export interface DetectorEngineStats {
  /** Events pushed. */
  readonly events: number;
  /** Events with no source address (nothing to attribute them to). */
  readonly eventsWithoutSource: number;
  /** Distinct sources some rule tracks now. */
  readonly trackedSources: number;
  /** The engine's clock: the latest event time seen (ms), or null before the first event. */
  readonly clock: number | null;
  readonly rules: readonly RuleStats[];
}

export interface DetectorEngine {
  /** Feeds one event; returns the anomaly reports it caused (often none). Never throws. */
  push(event: SecurityEvent): readonly AnomalyUpdate[];
  /**
   * Moves the clock to `now` (ms, e.g. Date.now() when watching live, so anomalies close while
   * the log is quiet) and closes what went quiet. Never moves the clock backwards.
   */
  expire(now: number): readonly AnomalyUpdate[];
  /** End of input: closes every open anomaly ('end_of_input') and forgets all state. */
  flush(): readonly AnomalyUpdate[];
  /** The anomalies open now, as last reported (no new revision). */
  openAnomalies(): Anomaly[];
  stats(): DetectorEngineStats;
}

const DEFAULT_MAX_TRACKED_SOURCES = 10_000;
const DEFAULT_UPDATE_INTERVAL_MS = 60_000;
const DEFAULT_UPDATE_GROWTH_FACTOR = 2;
/**
 * One line can stand for many attempts ("message repeated N times"), but a corrupt N must not
 * push sums past the range where doubles count exactly.
 */
const MAX_EVENT_WEIGHT = 1_000_000_000;
const NO_UPDATES: readonly AnomalyUpdate[] = Object.freeze([]);

export function createDetectorEngine(rules: readonly DetectionRule[], options: DetectorEngineOptions = {}): DetectorEngine {
  const settings: RunnerSettings = {
    maxTrackedSources: positiveIntegerOr(options.maxTrackedSources, DEFAULT_MAX_TRACKED_SOURCES),
    updateIntervalMs: positiveNumberOr(options.updateIntervalMs, DEFAULT_UPDATE_INTERVAL_MS),
    updateGrowthFactor: options.updateGrowthFactor !== undefined && options.updateGrowthFactor > 1 ? options.updateGrowthFactor : DEFAULT_UPDATE_GROWTH_FACTOR,
  };
  const enabled = rules.filter((rule) => rule.enabled);
  // brute_force rules run first: slow_brute_force rules skip what they have already reported.
  const ordered = [...enabled.filter((rule) => rule.detector === 'brute_force'), ...enabled.filter((rule) => rule.detector !== 'brute_force')];
  const directory = new SourceDirectory(ordered.length);
  const userNames = new UserNames();
  const runners = ordered.map((rule, index) => new RuleRunner(rule, index, settings, directory));
  const slowRunners = runners.filter((runner) => runner.rule.detector === 'slow_brute_force');
  const runnersByKind = new Map<string, RuleRunner[]>();
  for (const runner of runners) {
    const kinds = runner.rule.detector === 'success_after_failures' ? [...runner.rule.kinds, 'auth_success'] : runner.rule.kinds;
    for (const kind of new Set(kinds)) {
      let list = runnersByKind.get(kind);
      if (!list) runnersByKind.set(kind, (list = []));
      list.push(runner);
    }
  }

  let clock = Number.NEGATIVE_INFINITY;
  /** No rule has anything to close or drop before the clock passes this. */
  let nextSweepAt = Number.POSITIVE_INFINITY;
  let events = 0;
  let eventsWithoutSource = 0;
  const pending: AnomalyUpdate[] = [];

  function drain(): readonly AnomalyUpdate[] {
    if (pending.length === 0) return NO_UPDATES;
    const out = pending.slice();
    pending.length = 0;
    return out;
  }

  function sweep(): void {
    if (clock <= nextSweepAt) return;
    nextSweepAt = Number.POSITIVE_INFINITY;
    for (const runner of runners) {
      runner.sweep(clock, pending);
      const next = runner.nextExpiryAt;
      if (next < nextSweepAt) nextSweepAt = next;
    }
  }

  return {
    push(event) {
      events++;
      if (event === null || typeof event !== 'object') return NO_UPDATES;
      const time = Number.isFinite(event.time) ? event.time : Number.isFinite(clock) ? clock : 0;
      if (time > clock) {
        clock = time;
        sweep();
      }
      const ip = event.sourceIp;
      if (typeof ip !== 'string' || ip.length === 0) {
        eventsWithoutSource++;
        return drain();
      }
      const listening = runnersByKind.get(event.kind);
      if (listening === undefined) return drain();
      const count = eventWeight(event.count);
      let record: SourceRecord | undefined;
      const user = userNames.canonical(event.user);
      let reportedByBruteForce = false;
      for (const runner of listening) {
        if (!runner.accepts(event)) continue;
        if (reportedByBruteForce && runner.rule.detector === 'slow_brute_force') {
          runner.skip(count);
          continue;
        }
        record ??= directory.obtain(ip);
        const outcome = runner.observe(event, user, record, time, count, clock, pending);
        const next = runner.nextExpiryAt;
        if (next < nextSweepAt) nextSweepAt = next;
        if (runner.rule.detector === 'brute_force' && outcome !== 'pending') {
          reportedByBruteForce = true;
          // The burst before the bucket overflowed is in the brute-force anomaly now; a slow rule
          // counting it too would report the same attempts twice.
          if (outcome === 'opened') for (const slow of slowRunners) slow.dropPending(record);
        }
      }
      return drain();
    },

    expire(now) {
      if (Number.isFinite(now) && now > clock) {
        clock = now;
        sweep();
      }
      return drain();
    },

    flush() {
      for (const runner of runners) runner.closeAll(pending);
      nextSweepAt = Number.POSITIVE_INFINITY;
      return drain();
    },

    openAnomalies() {
      return runners.flatMap((runner) => runner.openAnomalies());
    },

    stats() {
      return {
        events,
        eventsWithoutSource,
        trackedSources: directory.size,
        clock: Number.isFinite(clock) ? clock : null,
        rules: runners.map((runner) => runner.stats()),
      };
    },
  };
}

function eventWeight(count: number): number {
  if (!(count >= 1)) return 1; // also NaN and non-numbers: the line itself is one attempt
  return count > MAX_EVENT_WEIGHT ? MAX_EVENT_WEIGHT : Math.floor(count);
}

function positiveIntegerOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}

function positiveNumberOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}
