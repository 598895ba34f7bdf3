/**
 * One rule at work: its per-source state, the episode evidence, the open anomalies, their merged
 * updates, expiry and eviction. The engine (engine.ts) feeds it the events that pass the rule's
 * filters; the detector (detectors.ts) decides when it fires.
 *
 * Hot path: an event costs one lookup in the engine's source directory (shared by every rule)
 * and, per rule, a few pointer moves and additions. State objects are recycled, since a busy
 * server sees sources come and go all day and the garbage collector would otherwise do most of
 * the work.
 */
import type { SecurityEvent } from '../event.ts';
import type { Anomaly, AnomalyUpdate, CloseReason } from './anomaly.ts';
import { DistinctValueSet, NO_DISTINCT_VALUES } from './distinct-values.ts';
import { detectorBehaviour, portOf } from './detectors.ts';
import type { DetectorBehaviour, SourceDetector } from './detectors.ts';
import { EvidenceBuffer } from './evidence.ts';
import type { DetectionRule } from './rules.ts';
import { summarizeAnomaly } from './summary.ts';

export interface RunnerSettings {
  readonly maxTrackedSources: number;
  readonly updateIntervalMs: number;
  readonly updateGrowthFactor: number;
}

export interface RuleStats {
  readonly rule: string;
  /** Attempts (event weights) that passed the rule's filters. */
  readonly matched: number;
  /** Attempts in anomalies this rule has closed. */
  readonly reported: number;
  /** Attempts that never reached an anomaly (below threshold, aged out, evicted, or already reported by a brute_force rule). */
  readonly discarded: number;
  readonly trackedSources: number;
  readonly evictedSources: number;
  readonly openAnomalies: number;
}

/** What an event did for a rule. */
export type Outcome = 'pending' | 'absorbed' | 'opened';

/** Time-based re-reports of an anomaly per cooldown of its rule, at most (see #reportIntervalMs). */
const REPORTS_PER_COOLDOWN = 10;

/** Spare state objects kept for reuse per rule: enough to absorb churn, small enough not to matter. */
const SPARE_STATES = 256;

/** Every rule's state for one source address, found with one map lookup per event. */
export interface SourceRecord {
  ip: string;
  /** Indexed by rule runner. */
  readonly slots: (SourceState | null)[];
  /** Rules tracking this source; 0: idle (kept in the table in case the source comes back). */
  live: number;
}

/** Idle records tolerated before the table is rebuilt without them, and never more than twice the live ones. */
const IDLE_RECORDS_BEFORE_REBUILD = 4096;

/**
 * The source table shared by all rules. Records are not deleted when the last rule lets go of
 * them: V8's Map pays heavily for delete-then-insert churn (measured: ~300 ns per cycle with a few
 * thousand keys, against ~50 ns for this scheme). Idle records stay, are reused when their source
 * returns, and are dropped all at once by rebuilding the table when they are more than twice the
 * live ones (amortised O(1); memory stays within three times what the live sources need).
 */
export class SourceDirectory {
  #records = new Map<string, SourceRecord>();
  #idle = 0;
  readonly #slotCount: number;
  readonly #spare: SourceRecord[] = [];

  constructor(slotCount: number) {
    this.#slotCount = slotCount;
  }

  /** Sources some rule tracks. */
  get size(): number {
    return this.#records.size - this.#idle;
  }

  /** The source's record, made (idle) if it has none. */
  obtain(ip: string): SourceRecord {
    let record = this.#records.get(ip);
    if (record !== undefined) return record;
    record = this.#spare.pop();
    if (record === undefined) record = { ip, slots: new Array<SourceState | null>(this.#slotCount).fill(null), live: 0 };
    else record.ip = ip;
    this.#records.set(ip, record);
    this.#idle++;
    return record;
  }

  /** A rule starts tracking the source. */
  acquire(record: SourceRecord): void {
    if (record.live++ === 0) this.#idle--;
  }

  /** A rule stops tracking the source. */
  release(record: SourceRecord): void {
    if (--record.live > 0) return;
    this.#idle++;
    if (this.#idle > IDLE_RECORDS_BEFORE_REBUILD && this.#idle > 2 * (this.#records.size - this.#idle)) this.#rebuild();
  }

  #rebuild(): void {
    const live = new Map<string, SourceRecord>();
    for (const [ip, record] of this.#records) {
      if (record.live > 0) live.set(ip, record);
      else if (this.#spare.length < SPARE_STATES) this.#spare.push(record);
    }
    this.#records = live;
    this.#idle = 0;
  }
}

/**
 * Evidence, times, users and ports of an episode, before and after its rule fires: one object
 * (the evidence lines are its own fields) since every event touches one per rule.
 */
class Episode extends EvidenceBuffer {
  firstSeen = 0;
  lastSeen = 0;
  readonly users = new DistinctValueSet<string>();
  readonly ports: DistinctValueSet<number> | null;

  constructor(tracksPorts: boolean) {
    super();
    this.ports = tracksPorts ? new DistinctValueSet<number>() : null;
  }
}

interface OpenAnomaly {
  readonly id: string;
  readonly episode: Episode;
  readonly detectedAt: number;
  count: number;
  revision: number;
  lastReportAt: number;
  countAtLastReport: number;
  successes: number;
  readonly successUser: string | null;
}

interface SourceState {
  record: SourceRecord;
  /** Engine clock when the source was last active. */
  touchedAt: number;
  /**
   * Engine clock when the source was put at the newest end of the recency list: the list is in
   * this order. A touch only sets touchedAt; the move happens when the source reaches the oldest
   * end (see #secondChance), which spares every event the pointer writes into its neighbours.
   */
  placedAt: number;
  /** Latest event time of this source; earlier times are clamped to it for the detector. */
  latest: number;
  /** Neighbours in the rule's recency list (least recently active first). */
  older: SourceState | null;
  newer: SourceState | null;
  /** Neighbours in the list of sources with an open anomaly, in order of openPlacedAt. */
  openOlder: SourceState | null;
  openNewer: SourceState | null;
  /** Engine clock when the source was last put at the newest end of that list (see #openSlotMs). */
  openPlacedAt: number;
  readonly detector: SourceDetector;
  /** Null only while an anomaly owns the source's previous episode. */
  episode: Episode | null;
  anomaly: OpenAnomaly | null;
}

/** A quiet source's state is kept at least this long (and twice the cooldown), so a source that comes back costs nothing. */
const IDLE_STATE_KEPT_MS = 3_600_000;
/**
 * An open anomaly moves to the newest end of its list at most once per 1/64 of the cooldown,
 * not on every event of its source; it therefore closes at most that much after it is due.
 * (Whether an event still merges into it is decided exactly, on the event.)
 */
const OPEN_LIST_SLOTS_PER_COOLDOWN = 64;

export class RuleRunner {
  readonly rule: DetectionRule;
  readonly #index: number;
  readonly #settings: RunnerSettings;
  readonly #directory: SourceDirectory;
  readonly #behaviour: DetectorBehaviour;
  /** Quiet this long, a source's open anomaly closes. */
  readonly #cooldownMs: number;
  /** See OPEN_LIST_SLOTS_PER_COOLDOWN. */
  readonly #openSlotMs: number;
  /** Quiet this long, a source's state is dropped (until then the detector itself forgets what aged out). */
  readonly #keepIdleMs: number;
  /** An open anomaly whose count has not doubled is re-reported after this much event time. */
  readonly #reportIntervalMs: number;
  readonly #tracksPorts: boolean;
  /** The detector needs nothing beyond kind and program (no call to its accepts()). */
  readonly #acceptsAnyEvent: boolean;
  readonly #programs: ReadonlySet<string> | null;
  readonly #programPrefixes: readonly string[];
  /**
   * The sources this rule tracks as a doubly linked list in order of placement (placedAt), oldest
   * first: dropping idle state and eviction look only at the oldest end, giving a source active
   * since its placement a second chance. (A Map's own order cannot serve: V8 leaves deleted
   * entries as holes at the front, so finding the first live entry of a churning Map costs O(n).)
   */
  #oldest: SourceState | null = null;
  #newest: SourceState | null = null;
  /** The sources with an open anomaly, in the same order: closing quiet ones looks only here. */
  #openOldest: SourceState | null = null;
  #openNewest: SourceState | null = null;
  #tracked = 0;
  readonly #spare: SourceState[] = [];
  #matched = 0;
  #reported = 0;
  #discarded = 0;
  #evicted = 0;
  #open = 0;
  /** Anomalies this rule has opened: the last part of their ids, so a reopened episode never reuses one. */
  #opened = 0;

  constructor(rule: DetectionRule, index: number, settings: RunnerSettings, directory: SourceDirectory) {
    this.rule = rule;
    this.#index = index;
    this.#settings = settings;
    this.#directory = directory;
    this.#behaviour = detectorBehaviour(rule);
    this.#cooldownMs = Math.max(this.#behaviour.retentionMs, (rule.cooldownSeconds ?? 0) * 1000);
    this.#keepIdleMs = Math.max(2 * this.#cooldownMs, IDLE_STATE_KEPT_MS);
    this.#openSlotMs = Math.ceil(this.#cooldownMs / OPEN_LIST_SLOTS_PER_COOLDOWN);
    // A rule that looks at a day needs no news every minute: a tenth of its cooldown, at least
    // the configured interval. Keeps a botnet of slow sources from flooding the feed.
    this.#reportIntervalMs = Math.max(settings.updateIntervalMs, this.#cooldownMs / REPORTS_PER_COOLDOWN);
    this.#tracksPorts = rule.detector === 'port_scan';
    this.#acceptsAnyEvent = rule.detector !== 'port_scan' && rule.detector !== 'user_enumeration';
    const programs = rule.programs ?? [];
    this.#programs = rule.programs === null ? null : new Set(programs.filter((program) => !program.endsWith('*')));
    this.#programPrefixes = programs.filter((program) => program.endsWith('*')).map((program) => program.slice(0, -1));
  }

  /** The clock value after which sweep() has something to do. */
  get nextExpiryAt(): number {
    const open = this.#openOldest === null ? Number.POSITIVE_INFINITY : this.#openOldest.openPlacedAt + this.#openSlotMs + this.#cooldownMs;
    const idle = this.#oldest === null ? Number.POSITIVE_INFINITY : this.#oldest.placedAt + this.#keepIdleMs;
    return open < idle ? open : idle;
  }

  accepts(event: SecurityEvent): boolean {
    if (this.#programs !== null) {
      const program = event.program;
      if (!this.#programs.has(program) && !(typeof program === 'string' && this.#programPrefixes.some((prefix) => program.startsWith(prefix)))) return false;
    }
    return this.#acceptsAnyEvent || this.#behaviour.accepts(event);
  }

  /** A slow_brute_force rule's view of an attempt a brute_force rule already reported. */
  skip(count: number): void {
    this.#matched += count;
    this.#discarded += count;
  }

  /** `user` is the event's user name, canonical (see user-names.ts). */
  observe(event: SecurityEvent, user: string | null, record: SourceRecord, time: number, count: number, clock: number, out: AnomalyUpdate[]): Outcome {
    this.#matched += count;
    let source = record.slots[this.#index] ?? null;
    if (source === null) source = this.#admit(record, time, clock, out);
    else if (source.anomaly !== null && clock - source.touchedAt > this.#cooldownMs) {
      // Due to close but not swept yet (sweeps may run up to a slot late): this event starts anew.
      this.#close(source, 'quiet', out);
    }
    source.touchedAt = clock;
    // Logs are not strictly ordered (several writers, per-process buffering): an event a little
    // older than the source's latest is counted at the latest time, so buckets never refill
    // from a negative leak and windows stay sorted. Reports keep the event's own time.
    if (time > source.latest) source.latest = time;
    const at = source.latest;

    const anomaly = source.anomaly;
    if (anomaly !== null) {
      if (clock - source.openPlacedAt >= this.#openSlotMs) {
        this.#unlinkOpen(source);
        this.#appendOpen(source, clock);
      }
      this.#merge(anomaly, record.ip, event, user, time, count, clock, out);
      return 'absorbed';
    }

    const detector = source.detector;
    this.#discarded += detector.moveTo(at);
    let episode = source.episode;
    if (episode === null) episode = source.episode = newEpisode(this.#tracksPorts);
    else if (detector.pending === 0 && episode.lines > 0) clearEpisode(episode);
    addToEpisode(episode, event, user, time);
    if (!detector.record(event, count, at, user)) return 'pending';

    const isSuccess = event.kind === 'auth_success';
    const opened: OpenAnomaly = {
      id: `${this.rule.name}/${record.ip}/${episode.firstSeen}/${++this.#opened}`,
      episode,
      detectedAt: time,
      count: detector.pending,
      revision: 0,
      lastReportAt: clock,
      countAtLastReport: detector.pending,
      successes: isSuccess ? count : 0,
      successUser: isSuccess ? user : null,
    };
    detector.reset();
    // The anomaly owns the episode now; the source starts a fresh one if it fires again later.
    source.episode = null;
    source.anomaly = opened;
    this.#appendOpen(source, clock);
    this.#open++;
    out.push({ type: 'opened', anomaly: this.#report(opened, record.ip, 'open') });
    return 'opened';
  }

  /** Forgets what a source has gathered towards this rule without firing (see slow_brute_force). */
  dropPending(record: SourceRecord): void {
    const source = record.slots[this.#index] ?? null;
    if (source === null || source.anomaly !== null) return;
    this.#discarded += source.detector.pending;
    source.detector.reset();
    if (source.episode !== null) clearEpisode(source.episode);
  }

  /**
   * Closes the anomalies of sources quiet for the cooldown, and drops the state of sources idle
   * for much longer. (In between, a quiet source's detector forgets what aged out by itself when
   * the source comes back; keeping the state saves re-creating it.)
   */
  sweep(clock: number, out: AnomalyUpdate[]): void {
    // The oldest-placed open anomaly was last touched before openPlacedAt + openSlotMs.
    const closeUpTo = clock - this.#cooldownMs - this.#openSlotMs;
    for (let source = this.#openOldest; source !== null && source.openPlacedAt < closeUpTo; source = this.#openOldest) {
      this.#close(source, 'quiet', out);
    }
    for (let source = this.#oldest; source !== null && clock - source.placedAt > this.#keepIdleMs; source = this.#oldest) {
      if (!this.#secondChance(source, clock)) this.#remove(source, 'quiet', out);
    }
  }

  /**
   * The oldest source by placement may have been active since: then it moves to the newest end
   * (true), else it really is the least recently active (false). Each move is paid for by the
   * touches since the last one, so this is amortised O(1).
   */
  #secondChance(source: SourceState, clock: number): boolean {
    if (source.touchedAt <= source.placedAt) return false;
    this.#unlink(source);
    source.placedAt = clock;
    this.#append(source);
    return true;
  }

  /** End of input: closes every open anomaly and forgets every source. */
  closeAll(out: AnomalyUpdate[]): void {
    while (this.#oldest !== null) this.#remove(this.#oldest, 'end_of_input', out);
  }

  openAnomalies(): Anomaly[] {
    const out: Anomaly[] = [];
    for (let source = this.#openOldest; source !== null; source = source.openNewer) {
      if (source.anomaly !== null) out.push(this.#describe(source.anomaly, source.record.ip, 'open'));
    }
    return out;
  }

  stats(): RuleStats {
    return {
      rule: this.rule.name,
      matched: this.#matched,
      reported: this.#reported,
      discarded: this.#discarded,
      trackedSources: this.#tracked,
      evictedSources: this.#evicted,
      openAnomalies: this.#open,
    };
  }

  /** Starts tracking a source, evicting the least recently active one when the rule is full. */
  #admit(record: SourceRecord, time: number, clock: number, out: AnomalyUpdate[]): SourceState {
    // Acquired before evicting: an eviction can rebuild the directory, which keeps only records in use.
    this.#directory.acquire(record);
    if (this.#tracked >= this.#settings.maxTrackedSources) {
      let oldest = this.#oldest;
      while (oldest !== null && this.#secondChance(oldest, clock)) oldest = this.#oldest;
      if (oldest !== null) {
        this.#evicted++;
        this.#remove(oldest, 'evicted', out);
      }
    }
    let source = this.#spare.pop();
    if (source === undefined) {
      source = {
        record,
        touchedAt: clock,
        placedAt: clock,
        latest: time,
        older: null,
        newer: null,
        openOlder: null,
        openNewer: null,
        openPlacedAt: clock,
        detector: this.#behaviour.createSourceDetector(),
        episode: null,
        anomaly: null,
      };
    } else {
      source.record = record;
      source.touchedAt = source.placedAt = clock;
      source.latest = time;
    }
    record.slots[this.#index] = source;
    this.#tracked++;
    this.#append(source);
    return source;
  }

  #merge(anomaly: OpenAnomaly, ip: string, event: SecurityEvent, user: string | null, time: number, count: number, clock: number, out: AnomalyUpdate[]): void {
    anomaly.count += count;
    if (event.kind === 'auth_success') anomaly.successes += count;
    addToEpisode(anomaly.episode, event, user, time);
    if (anomaly.count >= anomaly.countAtLastReport * this.#settings.updateGrowthFactor || clock - anomaly.lastReportAt >= this.#reportIntervalMs) {
      anomaly.lastReportAt = clock;
      anomaly.countAtLastReport = anomaly.count;
      out.push({ type: 'updated', anomaly: this.#report(anomaly, ip, 'open') });
    }
  }

  #close(source: SourceState, reason: CloseReason, out: AnomalyUpdate[]): void {
    const anomaly = source.anomaly;
    if (anomaly === null) return;
    this.#reported += anomaly.count;
    this.#open--;
    source.anomaly = null;
    this.#unlinkOpen(source);
    out.push({ type: 'closed', reason, anomaly: this.#report(anomaly, source.record.ip, 'closed') });
  }

  #remove(source: SourceState, reason: CloseReason, out: AnomalyUpdate[]): void {
    this.#close(source, reason, out);
    this.#discarded += source.detector.pending;
    source.detector.reset();
    if (source.episode !== null) clearEpisode(source.episode);
    this.#unlink(source);
    this.#tracked--;
    const record = source.record;
    record.slots[this.#index] = null;
    this.#directory.release(record);
    if (this.#spare.length < SPARE_STATES) this.#spare.push(source);
  }

  #append(source: SourceState): void {
    source.older = this.#newest;
    source.newer = null;
    if (this.#newest !== null) this.#newest.newer = source;
    else this.#oldest = source;
    this.#newest = source;
  }

  #unlink(source: SourceState): void {
    if (source.older !== null) source.older.newer = source.newer;
    else this.#oldest = source.newer;
    if (source.newer !== null) source.newer.older = source.older;
    else this.#newest = source.older;
    source.older = null;
    source.newer = null;
  }

  #appendOpen(source: SourceState, clock: number): void {
    source.openPlacedAt = clock;
    source.openOlder = this.#openNewest;
    source.openNewer = null;
    if (this.#openNewest !== null) this.#openNewest.openNewer = source;
    else this.#openOldest = source;
    this.#openNewest = source;
  }

  #unlinkOpen(source: SourceState): void {
    if (source.openOlder !== null) source.openOlder.openNewer = source.openNewer;
    else this.#openOldest = source.openNewer;
    if (source.openNewer !== null) source.openNewer.openOlder = source.openOlder;
    else this.#openNewest = source.openOlder;
    source.openOlder = null;
    source.openNewer = null;
  }

  /** A new revision of the anomaly, for an update. */
  #report(anomaly: OpenAnomaly, ip: string, state: Anomaly['state']): Anomaly {
    anomaly.revision++;
    return this.#describe(anomaly, ip, state);
  }

  #describe(anomaly: OpenAnomaly, ip: string, state: Anomaly['state']): Anomaly {
    const { episode } = anomaly;
    const users = episode.users.size > 0 ? episode.users.snapshot() : NO_DISTINCT_VALUES;
    const ports = episode.ports?.snapshot() ?? null;
    return {
      id: anomaly.id,
      rule: this.rule.name,
      detector: this.rule.detector,
      severity: this.rule.severity,
      mitre: this.rule.mitre,
      sourceIp: ip,
      state,
      revision: anomaly.revision,
      count: anomaly.count,
      firstSeen: episode.firstSeen,
      lastSeen: episode.lastSeen,
      detectedAt: anomaly.detectedAt,
      users,
      ...(ports !== null ? { ports } : {}),
      evidence: episode.snapshot(),
      evidenceOmitted: episode.omitted,
      summary: summarizeAnomaly({
        detector: this.rule.detector,
        sourceIp: ip,
        count: anomaly.count,
        firstSeen: episode.firstSeen,
        lastSeen: episode.lastSeen,
        users,
        ports,
        successes: anomaly.successes,
        successUser: anomaly.successUser,
      }),
    };
  }
}

/**
 * A source keeps its Episode and clears it in place when an episode ends without firing: a
 * source that fails once every few minutes would otherwise allocate on every event.
 */
function newEpisode(tracksPorts: boolean): Episode {
  return new Episode(tracksPorts);
}

function clearEpisode(episode: Episode): void {
  episode.clear();
  episode.users.clear();
  episode.ports?.clear();
}

function addToEpisode(episode: Episode, event: SecurityEvent, user: string | null, time: number): void {
  if (episode.lines === 0) {
    episode.firstSeen = time;
    episode.lastSeen = time;
  } else {
    if (time < episode.firstSeen) episode.firstSeen = time;
    if (time > episode.lastSeen) episode.lastSeen = time;
  }
  episode.add(event);
  if (user !== null) episode.users.add(user);
  if (episode.ports !== null) {
    const port = portOf(event);
    if (port !== null) episode.ports.add(port);
  }
}
