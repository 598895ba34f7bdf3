/**
 * Offline scan of one log file (`swarmctl monitor scan FILE`): read it once, parse every line,
 * run the detectors on the events, and report each event, each anomaly in its final merged
 * state, and a summary. The same parsers and detectors as the live monitor, so what a scan of
 * yesterday's log says is what the monitor would have streamed.
 *
 * Memory is bounded whatever the file size: the source holds one chunk, the parser per-connection
 * state, the engine a capped number of sources; events and anomalies go to the callbacks as they
 * are found.
 */
import { stat } from 'node:fs/promises';
import type { Anomaly } from './detect/anomaly.ts';
import { createDetectorEngine, type DetectorEngine } from './detect/engine.ts';
import type { DetectionRule } from './detect/rules.ts';
import { isFailure, type LineParser, type SecurityEvent } from './event.ts';
import type { Fail2banFilter } from './fail2ban/load-filter.ts';
import { createLineParser } from './parse/line-parser.ts';
import { openFileSource, type FileProgress } from './source/file-source.ts';
import type { SkipCounts, SourceWarning } from './source/log-source.ts';

export interface ScanOptions {
  readonly path: string;
  readonly rules: readonly DetectionRule[];
  /** fail2ban filters to parse with instead of the built-in parsers. */
  readonly filters?: readonly Fail2banFilter[];
  /** Year reference for syslog stamps without a year; default: the file's modification time. */
  readonly referenceTime?: number;
  readonly onEvent?: (event: SecurityEvent) => void;
  /** Each anomaly once, in its final merged state (when it closed or the input ended). */
  readonly onAnomaly?: (anomaly: Anomaly) => void;
  readonly onWarning?: (warning: SourceWarning) => void;
  readonly onProgress?: (progress: FileProgress) => void;
}

export interface ScanSummary {
  readonly path: string;
  readonly lines: number;
  readonly events: number;
  readonly failures: number;
  readonly anomalies: number;
  readonly anomaliesBySeverity: Record<string, number>;
  readonly skipped: SkipCounts;
  readonly warnings: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly linesPerSecond: number;
}

/** One parser that feeds every line to each of several (fail2ban filters side by side). */
function combineParsers(parsers: readonly LineParser[]): LineParser {
  if (parsers.length === 1) return parsers[0]!;
  return {
    push(text, line) {
      const out: SecurityEvent[] = [];
      for (const p of parsers) for (const e of p.push(text, line)) out.push(e);
      return out;
    },
    flush() {
      const out: SecurityEvent[] = [];
      for (const p of parsers) for (const e of p.flush()) out.push(e);
      return out;
    },
  };
}

export function parserFor(filters: readonly Fail2banFilter[] | undefined, referenceTime: number | undefined): LineParser {
  const options = referenceTime === undefined ? {} : { referenceTime };
  if (filters && filters.length > 0) return combineParsers(filters.map((f) => f.createParser(options)));
  return createLineParser(options);
}

/** Rejects with the source's SourceError (message + hint) when the file cannot be read. */
export async function scanFile(options: ScanOptions): Promise<ScanSummary> {
  const started = performance.now();
  let referenceTime = options.referenceTime;
  if (referenceTime === undefined) {
    try {
      referenceTime = (await stat(options.path)).mtimeMs;
    } catch {
      // The source reports a missing or unreadable file with a proper message below.
    }
  }
  const parser = parserFor(options.filters, referenceTime);
  const engine: DetectorEngine = createDetectorEngine(options.rules);
  const source = openFileSource(options.path, { follow: false, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  let lines = 0;
  let events = 0;
  let failures = 0;
  let anomalies = 0;
  let warnings = 0;
  let bytes = 0;
  const bySeverity: Record<string, number> = { low: 0, medium: 0, high: 0, critical: 0 };

  const onUpdates = (updates: ReturnType<DetectorEngine['push']>) => {
    for (const u of updates) {
      if (u.type !== 'closed') continue;
      anomalies++;
      bySeverity[u.anomaly.severity] = (bySeverity[u.anomaly.severity] ?? 0) + 1;
      options.onAnomaly?.(u.anomaly);
    }
  };
  const onEvents = (found: readonly SecurityEvent[]) => {
    for (const event of found) {
      events++;
      if (isFailure(event.kind)) failures++;
      options.onEvent?.(event);
      const updates = engine.push(event);
      if (updates.length > 0) onUpdates(updates);
    }
  };

  try {
    for (;;) {
      const batch = await source.next();
      if (batch === null) break;
      for (const w of batch.warnings) {
        warnings++;
        options.onWarning?.(w);
      }
      for (const l of batch.lines) {
        lines++;
        bytes += l.text.length + 1;
        const found = parser.push(l.text, l.line);
        if (found.length > 0) onEvents(found);
      }
    }
    onEvents(parser.flush());
    onUpdates(engine.flush());
  } finally {
    await source.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    path: options.path,
    lines,
    events,
    failures,
    anomalies,
    anomaliesBySeverity: bySeverity,
    skipped: { ...source.skipped },
    warnings,
    bytes,
    seconds,
    linesPerSecond: seconds > 0 ? Math.round(lines / seconds) : lines,
  };
}
