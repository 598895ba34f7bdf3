/**
 * Accuracy against fail2ban's annotated test logs (Debian package `fail2ban`). Each log line there
 * is preceded by `# failJSON: {"time": ..., "match": true|false, "host": ...}`.
 *
 * - Every line annotated `"match": true` (without a `"constraint"`, which ties the annotation to one
 *   fail2ban filter mode or name) must yield a failure event from that line's push whose source is
 *   the annotated host; when the event is the line's own, its time must be the annotated time.
 * - Lines annotated `"match": false` are either informational, or failures fail2ban counts once per
 *   attempt or connection on another line. We report how many of them we flag (a failure event
 *   names the line), and hold each file to a bound we meet; informational lines (successes,
 *   sessions, `Connection from`, reverse-DNS warnings) must never be flagged.
 *
 * The annotations' times are local time in Europe/Zurich, with the clock at 2005-08-14 12:00
 * (fail2ban's own test setup): this file runs in that zone and with that reference time.
 * docs/log-monitor.md ("Parsers") explains each deliberate difference.
 */
process.env.TZ = 'Europe/Zurich';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isFailure, type SecurityEvent } from '../event.ts';
import { createLineParser } from './line-parser.ts';
import { normaliseAddress } from './source-address.ts';

/** Where Debian's fail2ban package installs the annotated logs; FAIL2BAN_LOGS points elsewhere. */
const FAIL2BAN_LOGS = process.env.FAIL2BAN_LOGS ?? '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs';
/** fail2ban's tests run with MyTime at 1124013600 (2005-08-14 12:00 CEST). */
const FAIL2BAN_NOW = 1_124_013_600_000;
/** multilog's TAI64N labels are 2^62 + 10 + Unix seconds; fail2ban ignores the 10. */
const TAI64N_OFFSET_MS = 10_000;

interface CorpusFile {
  readonly name: string;
  /** Most `match: false` lines we may flag (each is listed in the report; see docs/log-monitor.md). */
  readonly maxFlaggedNegatives: number;
  /** Text put before each log line: the journal corpus has lines without a stamp. */
  readonly prefix?: string;
}

const CORPUS: readonly CorpusFile[] = [
  { name: 'sshd', maxFlaggedNegatives: 12 },
  { name: 'sshd-journal', maxFlaggedNegatives: 10, prefix: 'Aug 14 10:00:00 ' },
  { name: 'nginx-http-auth', maxFlaggedNegatives: 0 },
  { name: 'nginx-botsearch', maxFlaggedNegatives: 0 },
  { name: 'apache-auth', maxFlaggedNegatives: 1 },
  { name: 'apache-botsearch', maxFlaggedNegatives: 1 },
  { name: 'postfix', maxFlaggedNegatives: 2 },
  { name: 'dovecot', maxFlaggedNegatives: 6 },
];

/** Lines that report no failure at all: calling one a failure would be plainly wrong. */
const INFORMATIONAL = /\b(Accepted \w+ for|session (opened|closed)|Connection from \S+ port|POSSIBLE BREAK-IN|Postponed |Login: )/;

interface Annotation {
  match: boolean;
  host?: string;
  ip4?: string;
  ip6?: string;
  time?: string;
  constraint?: string;
}

interface AnnotatedLine {
  line: number;
  text: string;
  annotation: Annotation | null;
}

function readCorpus(path: string, prefix: string): AnnotatedLine[] {
  const lines: AnnotatedLine[] = [];
  let annotation: Annotation | null = null;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const marker = raw.match(/^#\s*failJSON:\s*(.*)$/);
      if (marker !== null) {
        annotation = JSON.parse(marker[1] ?? '') as Annotation;
        return;
      }
      if (raw.startsWith('#') || raw.trim() === '') return;
      lines.push({ line: index + 1, text: prefix + raw, annotation });
      annotation = null;
    });
  return lines;
}

/** "2005-03-7T02:09:33" (fail2ban's annotations are not always zero-padded) as local epoch ms. */
function annotatedTime(text: string): number {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{2}):(\d{2})/.exec(text);
  if (m === null) throw new Error(`unreadable annotation time ${text}`);
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0).getTime();
}

const corpusMissing = !existsSync(FAIL2BAN_LOGS);
const skipReason = corpusMissing
  ? `fail2ban's annotated logs are not installed at ${FAIL2BAN_LOGS} (apt-get install fail2ban to run the accuracy tests)`
  : false;

test('the fail2ban corpus is present where CI installs it', { skip: process.env.CI === undefined ? skipReason : false }, () => {
  assert.ok(existsSync(join(FAIL2BAN_LOGS, 'sshd')), `${FAIL2BAN_LOGS}/sshd is missing: CI must install the fail2ban package`);
});

for (const file of CORPUS) {
  const path = join(FAIL2BAN_LOGS, file.name);
  test(`fail2ban corpus: ${file.name}`, { skip: corpusMissing && process.env.CI === undefined ? skipReason : false }, (t) => {
    assert.ok(existsSync(path), `${path} is missing`);
    const lines = readCorpus(path, file.prefix ?? '');
    const parser = createLineParser({ referenceTime: FAIL2BAN_NOW });
    const failureLines = new Set<number>();
    const problems: string[] = [];
    let positives = 0;
    let negatives = 0;
    let constrained = 0;
    const flaggedAtPush: number[] = [];

    for (const { line, text, annotation } of lines) {
      const events = parser.push(text, line);
      for (const e of events) if (isFailure(e.kind)) failureLines.add(e.line);
      if (annotation === null) continue;
      if (annotation.constraint !== undefined) {
        constrained++;
        continue;
      }
      const failures = events.filter((e) => isFailure(e.kind));
      if (!annotation.match) {
        negatives++;
        if (failures.some((e) => e.line === line)) flaggedAtPush.push(line);
        continue;
      }
      positives++;
      const host = annotation.host ?? annotation.ip4 ?? annotation.ip6;
      const expected = host === undefined ? null : (normaliseAddress(host) ?? host);
      const match: SecurityEvent | undefined = failures.find((e) => expected === null || e.sourceIp === expected);
      if (match === undefined) {
        problems.push(`line ${line}: expected a failure from ${expected ?? 'any address'}, got ${JSON.stringify(events.map((e) => [e.kind, e.sourceIp]))}\n  ${text}`);
        continue;
      }
      if (annotation.time !== undefined && match.line === line) {
        const want = annotatedTime(annotation.time);
        const got = Math.floor(match.time / 1000) * 1000;
        const slack = text.startsWith('@') ? TAI64N_OFFSET_MS : 0;
        if (Math.abs(got - want) > slack) problems.push(`line ${line}: time ${new Date(got).toISOString()}, annotated ${annotation.time} (${new Date(want).toISOString()})`);
      }
    }
    for (const e of parser.flush()) if (isFailure(e.kind)) failureLines.add(e.line);

    const negativeLines = lines.filter((l) => l.annotation !== null && l.annotation.constraint === undefined && !l.annotation.match);
    const flagged = negativeLines.filter((l) => failureLines.has(l.line));
    for (const l of flagged) {
      if (INFORMATIONAL.test(l.text)) problems.push(`line ${l.line}: an informational line was called a failure\n  ${l.text}`);
    }
    const detail =
      flagged.length === 0
        ? ''
        : ` (lines ${flagged.map((l) => l.line).join(', ')}; ${flaggedAtPush.length} flagged when read, the others held as attempts and counted when their connection ended)`;
    t.diagnostic(
      `${file.name}: ${positives} match:true lines found; ${flagged.length} of ${negatives} match:false lines flagged${detail}; ` +
        `${constrained} lines with a mode constraint not checked`,
    );
    assert.deepEqual(problems, [], problems.join('\n'));
    assert.ok(positives > 0, `${file.name}: no match:true lines read (did the annotation format change?)`);
    assert.ok(flagged.length <= file.maxFlaggedNegatives, `${file.name}: ${flagged.length} match:false lines flagged, at most ${file.maxFlaggedNegatives} expected`);
  });
}
