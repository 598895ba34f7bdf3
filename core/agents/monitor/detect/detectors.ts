/**
 * The firing condition of each detector, for one source before its rule fires. The engine keeps
 * one of these per (rule, source) and does the rest (evidence, users, merging, expiry) the same
 * way for every detector.
 *
 * Contract: times passed in never decrease for one source (the engine clamps them). `moveTo(t)`
 * first forgets what no longer counts at time t and returns the attempts forgotten; then
 * `record(...)` counts the event (its user name passed canonical, see user-names.ts) and says whether the rule fires. `pending` is the number of
 * attempts held (the count an anomaly would start with); 0 means the episode is over.
 *
 * The window-based detectors extend their window class instead of holding one: one object per
 * source and rule instead of two, which matters when every event touches one per rule.
 */
import type { SecurityEvent } from '../event.ts';
import type { DetectionRule } from './rules.ts';
import { KeyedTimeWindow, TimeWindowCount } from './time-window.ts';

export interface SourceDetector {
  moveTo(time: number): number;
  record(event: SecurityEvent, count: number, time: number, user: string | null): boolean;
  readonly pending: number;
  /** Forgets everything (the rule fired and the anomaly took the attempts, or they were dropped). */
  reset(): void;
}

export interface DetectorBehaviour {
  createSourceDetector(): SourceDetector;
  /** How long a quiet source's state still matters: the window, or the time a full bucket drains. */
  readonly retentionMs: number;
  /** What the detector needs from an event beyond its kind and program (a user, a port). */
  accepts(event: SecurityEvent): boolean;
}

/**
 * Floating-point slack for the bucket: 0.1 leaked 30 times is not exactly 3, and an exact
 * fill to capacity must not count as an overflow because of it.
 */
const BUCKET_EPSILON = 1e-9;

export function detectorBehaviour(rule: DetectionRule): DetectorBehaviour {
  switch (rule.detector) {
    case 'brute_force': {
      const { capacity, leakPerSecond } = rule;
      return {
        createSourceDetector: () => new LeakyBucket(capacity, leakPerSecond),
        retentionMs: Math.ceil((capacity / leakPerSecond) * 1000),
        accepts: () => true,
      };
    }
    case 'slow_brute_force':
    case 'web_scan': {
      const windowMs = rule.windowSeconds * 1000;
      const threshold = rule.threshold;
      return {
        createSourceDetector: () => new WindowThreshold(windowMs, threshold),
        retentionMs: windowMs,
        accepts: () => true,
      };
    }
    case 'user_enumeration': {
      const windowMs = rule.windowSeconds * 1000;
      const distinct = rule.distinctUsers;
      return {
        createSourceDetector: () => new DistinctKeysInWindow<string>(windowMs, distinct, (_event, user) => user),
        retentionMs: windowMs,
        accepts: (event) => userOf(event) !== null,
      };
    }
    case 'port_scan': {
      const windowMs = rule.windowSeconds * 1000;
      const distinct = rule.distinctPorts;
      return {
        createSourceDetector: () => new DistinctKeysInWindow<number>(windowMs, distinct, (event) => portOf(event)),
        retentionMs: windowMs,
        accepts: (event) => portOf(event) !== null,
      };
    }
    case 'success_after_failures': {
      const windowMs = rule.windowSeconds * 1000;
      const minFailures = rule.minFailures;
      return {
        createSourceDetector: () => new FailuresThenSuccess(windowMs, minFailures),
        retentionMs: windowMs,
        accepts: () => true,
      };
    }
  }
}

export function userOf(event: SecurityEvent): string | null {
  return typeof event.user === 'string' && event.user.length > 0 ? event.user : null;
}

export function portOf(event: SecurityEvent): number | null {
  const port = event.destPort;
  return typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535 ? port : null;
}

/**
 * brute_force: each failure pours its weight into the source's bucket, which drains
 * leak_per_second; the rule fires when the level goes above capacity. The episode (what an
 * anomaly would report) is every attempt since the bucket was last empty.
 */
class LeakyBucket implements SourceDetector {
  readonly #capacity: number;
  readonly #leakPerSecond: number;
  #level = 0;
  #at = 0;
  #episode = 0;

  constructor(capacity: number, leakPerSecond: number) {
    this.#capacity = capacity;
    this.#leakPerSecond = leakPerSecond;
  }

  get pending(): number {
    return this.#episode;
  }

  moveTo(time: number): number {
    if (this.#episode === 0) {
      this.#at = time;
      return 0;
    }
    // Multiply before dividing: whole seconds times a rate like 0.5 stay exact.
    this.#level -= ((time - this.#at) * this.#leakPerSecond) / 1000;
    this.#at = time;
    if (this.#level > BUCKET_EPSILON) return 0;
    const forgotten = this.#episode;
    this.#level = 0;
    this.#episode = 0;
    return forgotten;
  }

  record(_event: SecurityEvent, count: number): boolean {
    this.#level += count;
    this.#episode += count;
    return this.#level > this.#capacity + BUCKET_EPSILON;
  }

  reset(): void {
    this.#level = 0;
    this.#episode = 0;
  }
}

/**
 * slow_brute_force, web_scan: at least `threshold` attempts within the window. The window never
 * holds more than `threshold` entries: the rule fires, and the anomaly takes them, at that point.
 */
class WindowThreshold extends TimeWindowCount implements SourceDetector {
  readonly #threshold: number;

  constructor(windowMs: number, threshold: number) {
    super(windowMs);
    this.#threshold = threshold;
  }

  get pending(): number {
    return this.sum;
  }

  moveTo(time: number): number {
    return this.advance(time);
  }

  record(_event: SecurityEvent, count: number, time: number): boolean {
    this.add(time, count);
    return this.sum >= this.#threshold;
  }

  reset(): void {
    this.clear();
  }
}

/**
 * user_enumeration, port_scan: at least `distinct` different keys (user names, destination ports)
 * within the window. Holds fewer than `distinct` keys before it fires.
 */
class DistinctKeysInWindow<K> extends KeyedTimeWindow<K> implements SourceDetector {
  readonly #distinct: number;
  readonly #keyOf: (event: SecurityEvent, user: string | null) => K | null;

  constructor(windowMs: number, distinct: number, keyOf: (event: SecurityEvent, user: string | null) => K | null) {
    super(windowMs);
    this.#distinct = distinct;
    this.#keyOf = keyOf;
  }

  get pending(): number {
    return this.sum;
  }

  moveTo(time: number): number {
    return this.advance(time);
  }

  record(event: SecurityEvent, count: number, time: number, user: string | null): boolean {
    const key = this.#keyOf(event, user);
    if (key === null) return false;
    this.add(key, time, count);
    return this.size >= this.#distinct;
  }

  reset(): void {
    this.clear();
  }
}

/**
 * success_after_failures: an auth_success from a source with at least `minFailures` failures
 * within the window before it. A success that does not fire ends the run (a person who mistyped
 * twice and then logged in starts from zero).
 *
 * The firing question uses an exact sliding window of at most `minFailures` entries. The count an
 * anomaly reports is the run: the failures from the source with no pause longer than the window
 * between them, plus the success (a person reads "logged in after 37 failures").
 */
class FailuresThenSuccess extends TimeWindowCount implements SourceDetector {
  readonly #windowMs: number;
  readonly #minFailures: number;
  #run = 0;
  #lastFailureAt = 0;
  #ended = false;

  constructor(windowMs: number, minFailures: number) {
    super(windowMs);
    this.#windowMs = windowMs;
    this.#minFailures = minFailures;
  }

  get pending(): number {
    return this.#run;
  }

  moveTo(time: number): number {
    if (this.#ended || (this.#run > 0 && time - this.#lastFailureAt > this.#windowMs)) {
      const forgotten = this.#run;
      this.reset();
      return forgotten;
    }
    this.advance(time);
    return 0;
  }

  record(event: SecurityEvent, count: number, time: number): boolean {
    if (event.kind === 'auth_success') {
      this.#run += count;
      if (this.sum >= this.#minFailures) return true;
      this.#ended = true;
      return false;
    }
    this.add(time, count);
    this.dropRedundant(this.#minFailures);
    this.#run += count;
    this.#lastFailureAt = time;
    return false;
  }

  reset(): void {
    this.clear();
    this.#run = 0;
    this.#ended = false;
  }
}
