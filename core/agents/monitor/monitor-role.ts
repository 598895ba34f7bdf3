/**
 * The log monitor role of an agent daemon (`swarmctl daemon start --monitor SPEC ...`): follow
 * the configured sources, parse, detect, and publish each anomaly report on the node's event
 * stream (port 1002, topic "anomalies") to peers it granted `events.subscribe`.
 *
 * Order of durability, per batch of lines: anomaly reports are appended to the event log (SQLite)
 * first, then the source checkpoint is saved. A crash in between re-reads that batch once at
 * restart; the detectors start fresh after a restart anyway, and subscribers apply reports by
 * anomaly id and revision, so a repeat is harmless, while a lost line could hide an attack.
 *
 * Source specs: `PATH` or `file:PATH` (followed like tail -F, across rotation), `journald:MATCH`
 * (journalctl -f, e.g. journald:sshd), `stdin`.
 */
import { join, resolve } from 'node:path';
import type { Daemon } from '../../overlay/daemon.ts';
import type { EventPublisher } from '../../overlay/event-stream.ts';
import type { AnomalyUpdate } from './detect/anomaly.ts';
import { createDetectorEngine, type DetectorEngine } from './detect/engine.ts';
import type { DetectionRule } from './detect/rules.ts';
import type { SecurityEvent } from './event.ts';
import type { Fail2banFilter } from './fail2ban/load-filter.ts';
import { parserFor } from './scan.ts';
import { SourceError, type LogSource, type SourceWarning } from './source/log-source.ts';
import { OffsetStore } from './source/offset-store.ts';
import { openLogSource, parseSourceSpec } from './source/source-spec.ts';

export const ANOMALY_TOPIC = 'anomalies';
export const MONITOR_DB = 'monitor.db';
/** How often anomalies of sources that went quiet are closed (wall clock). */
const EXPIRE_EVERY_MS = 1_000;

/** What travels on the "anomalies" topic: a detector report, as the console stores it. */
export interface AnomalyReport {
  readonly type: AnomalyUpdate['type'];
  readonly reason?: string;
  readonly anomaly: AnomalyUpdate['anomaly'];
}

export interface MonitorRoleOptions {
  readonly daemon: Daemon;
  readonly specs: readonly string[];
  readonly rules: readonly DetectionRule[];
  readonly filters?: readonly Fail2banFilter[];
  /** Without a saved checkpoint, read files from their start (lab replay) or only what is appended (default). */
  readonly from?: 'start' | 'end';
  readonly log?: (line: string) => void;
  /** For tests: the clock that closes quiet anomalies. */
  readonly now?: () => number;
}

export interface MonitorStats {
  readonly sources: readonly { name: string; lines: number; skipped: Record<string, number> }[];
  readonly lines: number;
  readonly events: number;
  readonly reports: number;
  readonly subscribers: number;
}

/** Opens a --monitor source; a bad spec is a SourceError (message + hint). Journald starts at the end without a cursor. */
function openSource(text: string, offsets: OffsetStore, from: 'start' | 'end'): LogSource {
  const spec = parseSourceSpec(text);
  if (spec instanceof SourceError) throw spec;
  const resolved = spec.kind === 'file' ? { kind: 'file' as const, path: resolve(spec.path) } : spec;
  return openLogSource(resolved, { follow: true, offsets, from: spec.kind === 'journald' ? 'end' : from });
}

export class MonitorRole {
  readonly publisher: EventPublisher;
  readonly #engine: DetectorEngine;
  readonly #sources: LogSource[];
  readonly #offsets: OffsetStore;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #lineCounts = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  readonly #loops: Promise<void>[];
  #events = 0;
  #reports = 0;
  #closed = false;

  constructor(options: MonitorRoleOptions) {
    const stateDir = options.daemon.stateDir;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#offsets = OffsetStore.open(join(stateDir, MONITOR_DB));
    this.publisher = options.daemon.publishTopic(ANOMALY_TOPIC);
    this.#engine = createDetectorEngine(options.rules);
    try {
      this.#sources = options.specs.map((spec) => openSource(spec, this.#offsets, options.from ?? 'end'));
    } catch (err) {
      this.#offsets.close();
      throw err;
    }
    this.#loops = this.#sources.map((source) => this.#follow(source, parserFor(options.filters, undefined)));
    this.#timer = setInterval(() => this.#publish(this.#engine.expire(this.#now())), EXPIRE_EVERY_MS);
    this.#timer.unref();
    this.#log(`monitor: watching ${this.#sources.map((s) => s.name).join(', ')}; ${options.rules.filter((r) => r.enabled).length} rules; anomalies on port 1002 topic "${ANOMALY_TOPIC}"`);
  }

  stats(): MonitorStats {
    const sources = this.#sources.map((s) => ({ name: s.name, lines: this.#lineCounts.get(s.name) ?? 0, skipped: { ...s.skipped } }));
    return {
      sources,
      lines: sources.reduce((n, s) => n + s.lines, 0),
      events: this.#events,
      reports: this.#reports,
      subscribers: this.publisher.subscribers().filter((s) => s.topic === ANOMALY_TOPIC).length,
    };
  }

  async #follow(source: LogSource, parser: ReturnType<typeof parserFor>): Promise<void> {
    try {
      for (;;) {
        const batch = await source.next();
        if (batch === null || this.#closed) return;
        for (const w of batch.warnings) this.#warn(w);
        const updates: AnomalyUpdate[] = [];
        for (const l of batch.lines) {
          const found: readonly SecurityEvent[] = parser.push(l.text, l.line);
          for (const event of found) {
            this.#events++;
            for (const u of this.#engine.push(event)) updates.push(u);
          }
        }
        this.#lineCounts.set(source.name, (this.#lineCounts.get(source.name) ?? 0) + batch.lines.length);
        this.#publish(updates);
        source.ack(batch.checkpoint);
      }
    } catch (err) {
      if (this.#closed) return;
      const e = err as { message?: string; hint?: string };
      this.#log(`monitor: ${source.name} stopped: ${e.message ?? String(err)}${e.hint ? ` — ${e.hint}` : ''}`);
    }
  }

  #publish(updates: readonly AnomalyUpdate[]): void {
    if (updates.length === 0 || this.#closed) return;
    const reports: AnomalyReport[] = updates.map((u) => (u.type === 'closed' ? { type: u.type, reason: u.reason, anomaly: u.anomaly } : { type: u.type, anomaly: u.anomaly }));
    try {
      this.publisher.publish(ANOMALY_TOPIC, reports, this.#now());
    } catch (err) {
      // The event log is unwritable (disk full, file removed): say so and keep watching; the
      // anomalies stay in the detectors and are reported again with their next update.
      this.#log(`monitor: could not record ${reports.length} anomaly reports: ${(err as Error).message}`);
      return;
    }
    this.#reports += reports.length;
    for (const u of updates) if (u.type === 'opened') this.#log(`monitor: ${u.anomaly.severity} ${u.anomaly.rule} from ${u.anomaly.sourceIp}: ${u.anomaly.summary}`);
  }

  #warn(w: SourceWarning): void {
    this.#log(`monitor: warning: ${w.message}`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all(this.#sources.map((s) => s.close()));
    await Promise.allSettled(this.#loops);
    this.#offsets.close();
  }
}
