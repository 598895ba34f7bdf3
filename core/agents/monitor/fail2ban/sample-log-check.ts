/**
 * Runs a fail2ban filter over fail2ban's own annotated sample log and compares our events with the
 * annotations: the oracle behind the corpus test. For each option set a block of the log is checked
 * under, a fresh parser is fed that block's lines (those whose constraint holds) in file order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecurityEvent } from '../event.ts';
import { evaluateConstraint, parseAnnotatedLog, type AnnotatedLine, type AnnotatedBlock } from './annotated-test-log.ts';
import { loadFail2banFilter } from './load-filter.ts';

/** fail2ban's test suite pins "now" to 2005-08-14 10:00:00 UTC; the sample logs' years follow from it. */
export const SAMPLE_LOG_REFERENCE_TIME = 1_124_013_600_000;

export interface LineVerdict {
  readonly line: AnnotatedLine;
  readonly optionSet: string;
  readonly events: readonly SecurityEvent[];
}

export interface SampleLogReport {
  readonly filter: string;
  readonly optionSets: readonly string[];
  /** Option sets whose filter could not be loaded, with the loader's message. */
  readonly loadErrors: ReadonlyArray<{ readonly optionSet: string; readonly message: string }>;
  /** match:true lines where we found the annotated host (or any host when none is annotated). */
  readonly found: readonly LineVerdict[];
  /** match:true lines where we found nothing or a different host. */
  readonly missed: readonly LineVerdict[];
  /** match:true lines where the annotated time differs from ours (whole seconds, local time). */
  readonly wrongTime: readonly LineVerdict[];
  /** match:true lines where an annotated user differs from ours. */
  readonly wrongUser: readonly LineVerdict[];
  /** match:true lines where the annotated number of attempts differs from our event's count. */
  readonly wrongAttempts: readonly LineVerdict[];
  /** match:false lines we reported. */
  readonly falsePositives: readonly LineVerdict[];
  readonly trueNegatives: number;
  readonly skipped: ReadonlyArray<{ readonly line: AnnotatedLine; readonly reason: string }>;
}

// Option keys that steer fail2ban's test harness rather than the filter.
function filterVars(optionSet: Readonly<Record<string, string>>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(optionSet)) if (!key.startsWith('test.')) vars[key] = value;
  return vars;
}

function annotatedLocalTime(text: string): number {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{2}):(\d{2})/.exec(text);
  if (m === null) return NaN;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])).getTime();
}

function readLog(logDirectory: string, name: string, seen: Set<string>): AnnotatedBlock[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const log = parseAnnotatedLog(readFileSync(join(logDirectory, name), 'utf8'), name);
  const blocks = [...log.blocks];
  for (const added of log.addedFiles) blocks.push(...readLog(logDirectory, added, seen));
  return blocks;
}

export function checkFilterAgainstSampleLog(filterDirectory: string, logDirectory: string, name: string): SampleLogReport {
  const blocks = readLog(logDirectory, name, new Set());
  const optionSetKeys = new Map<string, Readonly<Record<string, string>>>();
  for (const block of blocks) for (const set of block.optionSets) optionSetKeys.set(JSON.stringify(set), set);
  const report = {
    filter: name,
    optionSets: [...optionSetKeys.keys()],
    loadErrors: [] as Array<{ optionSet: string; message: string }>,
    found: [] as LineVerdict[],
    missed: [] as LineVerdict[],
    wrongTime: [] as LineVerdict[],
    wrongUser: [] as LineVerdict[],
    wrongAttempts: [] as LineVerdict[],
    falsePositives: [] as LineVerdict[],
    trueNegatives: 0,
    skipped: [] as Array<{ line: AnnotatedLine; reason: string }>,
  };
  for (const [key, optionSet] of optionSetKeys) {
    const condition = optionSet['test.condition'];
    if (condition !== undefined && evaluateConstraint(condition.replace(/==/g, ' == '), name, optionSet) !== true) continue;
    const loaded = loadFail2banFilter(join(filterDirectory, `${name}.conf`), { vars: filterVars(optionSet) });
    if (!loaded.ok) {
      report.loadErrors.push({ optionSet: key, message: loaded.error.message });
      continue;
    }
    const parser = loaded.filter.createParser({ referenceTime: SAMPLE_LOG_REFERENCE_TIME });
    for (const block of blocks) {
      if (!block.optionSets.some((set) => JSON.stringify(set) === key)) continue;
      for (const line of block.lines) {
        const annotation = line.annotation;
        if (annotation?.constraint !== undefined) {
          const holds = evaluateConstraint(annotation.constraint, name, optionSet);
          if (holds === null) {
            report.skipped.push({ line, reason: `constraint not understood: ${annotation.constraint}` });
            continue;
          }
          if (!holds) continue;
        }
        const events = parser.push(line.text, line.line);
        const verdict: LineVerdict = { line, optionSet: key, events };
        if (annotation === null) {
          if (line.annotationError !== undefined) report.skipped.push({ line, reason: `annotation unreadable: ${line.annotationError}` });
          continue;
        }
        if (!annotation.match) {
          if (events.length > 0) report.falsePositives.push(verdict);
          else report.trueNegatives++;
          continue;
        }
        const host = annotation.host;
        const hit = events.find((event) => (host === undefined || host === null ? event.sourceIp !== null : event.sourceIp === host));
        if (hit === undefined) {
          report.missed.push(verdict);
          continue;
        }
        report.found.push(verdict);
        // A failure that waited for its session's address keeps its own line's time; fail2ban dates it by the later line.
        if (annotation.time !== undefined && hit.line === line.line && Math.floor(hit.time / 1000) !== Math.floor(annotatedLocalTime(annotation.time) / 1000)) {
          report.wrongTime.push(verdict);
        }
        if (typeof annotation.user === 'string' && (hit.user ?? '') !== annotation.user) report.wrongUser.push(verdict);
        if (annotation.attempts !== undefined && hit.count !== annotation.attempts) report.wrongAttempts.push(verdict);
      }
    }
    parser.flush();
  }
  return report;
}
