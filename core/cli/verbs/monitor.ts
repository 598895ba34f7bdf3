/**
 * `swarmctl monitor scan FILE`: parse one log file offline and run the detectors on it.
 * `swarmctl monitor rules`: print the effective detection rules (built-in, or merged with --rules).
 */
import { resolve } from 'node:path';
import type { Anomaly } from '../../agents/monitor/detect/anomaly.ts';
import { builtInRules, defaultRulesYaml, formatRulesYaml, loadRulesFile, type DetectionRule } from '../../agents/monitor/detect/rules.ts';
import type { SecurityEvent } from '../../agents/monitor/event.ts';
import { loadFail2banFilter, type Fail2banFilter } from '../../agents/monitor/fail2ban/load-filter.ts';
import { scanFile, type ScanSummary } from '../../agents/monitor/scan.ts';
import { SourceError } from '../../agents/monitor/source/log-source.ts';
import { UsageError } from '../args.ts';
import type { Verb } from '../context.ts';
import { printJson, table } from '../output.ts';

class MonitorCliError extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(code: string, message: string, hint: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

/** The rules a verb runs with: built-in, merged with --rules FILE when given. */
export async function rulesFromOption(path: unknown): Promise<readonly DetectionRule[]> {
  if (typeof path !== 'string') return builtInRules();
  const loaded = await loadRulesFile(resolve(path));
  if (!loaded.ok) {
    const [first, ...more] = loaded.errors;
    throw new MonitorCliError('bad_rules', `${first ?? 'invalid rules file'}${more.length ? ` (and ${more.length} more: ${more.join('; ')})` : ''}`, 'fix the rules file; `swarmctl monitor rules --defaults` prints a commented example');
  }
  return loaded.rules;
}

/** fail2ban filters from repeated --filter FILE options, with --mode applied to each. */
export function filtersFromOptions(paths: unknown, mode: unknown): Fail2banFilter[] {
  if (!Array.isArray(paths)) return [];
  return paths.map((p: string) => {
    const loaded = loadFail2banFilter(resolve(p), typeof mode === 'string' ? { mode } : {});
    if (!loaded.ok) throw new MonitorCliError(`filter_${loaded.error.code}`, loaded.error.message, 'check the filter file, or drop --filter to use the built-in parsers');
    return loaded.filter;
  });
}

function isoOrNull(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function eventJson(e: SecurityEvent): Record<string, unknown> {
  return {
    type: 'event',
    time: isoOrNull(e.time),
    source_ip: e.sourceIp,
    user: e.user,
    kind: e.kind,
    program: e.program,
    line: e.line,
    ...(e.count !== 1 ? { count: e.count } : {}),
    ...(e.destPort !== undefined ? { dest_port: e.destPort } : {}),
  };
}

function anomalyJson(a: Anomaly): Record<string, unknown> {
  return {
    type: 'anomaly',
    id: a.id,
    rule: a.rule,
    detector: a.detector,
    source_ip: a.sourceIp,
    count: a.count,
    first_seen: isoOrNull(a.firstSeen),
    last_seen: isoOrNull(a.lastSeen),
    severity: a.severity,
    mitre: a.mitre,
    users: a.users.sample,
    users_total: a.users.total,
    ...(a.ports ? { ports: a.ports.sample, ports_total: a.ports.total } : {}),
    summary: a.summary,
    evidence: a.evidence.map((l) => ({ line: l.line, text: l.text })),
    evidence_omitted: a.evidenceOmitted,
  };
}

function summaryJson(s: ScanSummary): Record<string, unknown> {
  return {
    type: 'summary',
    file: s.path,
    lines: s.lines,
    events: s.events,
    failures: s.failures,
    anomalies: s.anomalies,
    anomalies_by_severity: s.anomaliesBySeverity,
    skipped: s.skipped,
    warnings: s.warnings,
    seconds: Math.round(s.seconds * 1000) / 1000,
    lines_per_second: s.linesPerSecond,
  };
}

/** A one-line progress bar on a terminal's stderr, redrawn at most 10 times a second. */
function progressBar(label: string): { update(done: number, total: number): void; clear(): void } | null {
  if (!process.stderr.isTTY) return null;
  let last = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < 100 || total <= 0) return;
      last = now;
      const share = Math.min(1, done / total);
      const width = 30;
      const filled = Math.round(share * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${(done / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB`);
      drawn = true;
    },
    clear() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * Lines for stdout gathered into ~64 KiB writes: a scan prints one JSON object per event, and a
 * write per line (a system call each when stdout is a file or pipe) cost more than the scan.
 */
function bufferedLines(out: (text: string) => void): { line(text: string): void; flush(): void } {
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (pending.length === 0) return;
    out(pending.join('\n'));
    pending = [];
    size = 0;
  };
  return {
    line(text) {
      pending.push(text);
      size += text.length + 1;
      if (size >= 64 * 1024) flush();
    },
    flush,
  };
}

/** Files smaller than this finish before a progress bar would be worth drawing. */
const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

export const monitorScan: Verb = {
  summary: 'parse a log file offline and report security events and anomalies',
  spec: {
    options: { rules: { type: 'string' }, filter: { type: 'string', multiple: true }, mode: { type: 'string' }, events: { type: 'boolean' } },
    positionals: ['FILE'],
    required: 1,
    usage: 'swarmctl monitor scan FILE [--rules rules.yaml] [--filter /etc/fail2ban/filter.d/sshd.conf ...] [--mode normal] [--events] [--json]',
  },
  async run(ctx) {
    const file = ctx.args.positionals[0];
    if (typeof file !== 'string' || file === '') throw new UsageError('missing FILE for "swarmctl monitor scan"', 'for example: swarmctl monitor scan /var/log/auth.log');
    const rules = await rulesFromOption(ctx.args.values.rules);
    const filters = filtersFromOptions(ctx.args.values.filter, ctx.args.values.mode);
    const p = ctx.printer;
    const json = p.json;
    const anomalies: Anomaly[] = [];
    let eventLines = 0;
    const showEvents = json || ctx.args.values.events === true;
    const bar = json ? null : progressBar(`scanning ${file}`);
    const stdout = bufferedLines((text) => p.out(text));
    let summary: ScanSummary;
    try {
      summary = await scanFile({
        path: resolve(file),
        rules,
        filters,
        onEvent: showEvents
          ? (e) => {
              eventLines++;
              if (json) stdout.line(JSON.stringify(eventJson(e)));
              else stdout.line(`${isoOrNull(e.time) ?? '-'}  line ${e.line}  ${e.kind}  ${e.sourceIp ?? '-'}  ${e.user ?? '-'}  ${e.program}${e.count !== 1 ? ` x${e.count}` : ''}`);
            }
          : undefined,
        onAnomaly: (a) => {
          if (json) stdout.line(JSON.stringify(anomalyJson(a)));
          else anomalies.push(a);
        },
        onWarning: json ? undefined : (w) => p.err(`warning: ${w.message}`),
        onProgress: bar ? (pr) => pr.totalBytes >= PROGRESS_MIN_BYTES && bar.update(pr.bytesRead, pr.totalBytes) : undefined,
      });
    } catch (err) {
      stdout.flush();
      bar?.clear();
      if (err instanceof SourceError) throw new MonitorCliError(err.code, err.message, err.hint);
      throw err;
    }
    stdout.flush();
    bar?.clear();
    if (json) {
      p.out(JSON.stringify(summaryJson(summary)));
      return 0;
    }
    if (eventLines > 0) p.out('');
    if (anomalies.length === 0) p.out('no anomalies');
    else {
      const order = { critical: 0, high: 1, medium: 2, low: 3 } as const;
      anomalies.sort((a, b) => order[a.severity] - order[b.severity] || b.count - a.count);
      p.out(
        table(
          anomalies.map((a) => ({
            severity: a.severity,
            rule: a.rule,
            source: a.sourceIp,
            count: a.count,
            first: isoOrNull(a.firstSeen),
            last: isoOrNull(a.lastSeen),
            mitre: a.mitre,
            users: a.users.total > a.users.sample.length ? `${a.users.sample.slice(0, 3).join(',')} +${a.users.total - 3}` : a.users.sample.slice(0, 3).join(','),
          })),
          [
            ['severity', 'severity'],
            ['rule', 'rule'],
            ['source', 'source'],
            ['count', 'count'],
            ['first', 'first seen'],
            ['last', 'last seen'],
            ['mitre', 'mitre'],
            ['users', 'users'],
          ],
        ),
      );
    }
    const skipped = Object.entries(summary.skipped).filter(([, n]) => n > 0);
    p.out(
      `\n${summary.lines.toLocaleString('en-US')} lines, ${summary.events.toLocaleString('en-US')} events (${summary.failures.toLocaleString('en-US')} failures), ` +
        `${summary.anomalies} anomalies in ${summary.seconds.toFixed(2)} s (${summary.linesPerSecond.toLocaleString('en-US')} lines/s)` +
        (skipped.length ? `; skipped ${skipped.map(([r, n]) => `${n} ${r.replace('_', ' ')}`).join(', ')}` : ''),
    );
    return 0;
  },
};

export const monitorRules: Verb = {
  summary: 'print the detection rules in effect (built-in, or merged with --rules FILE)',
  spec: {
    options: { rules: { type: 'string' }, defaults: { type: 'boolean' } },
    positionals: [],
    required: 0,
    usage: 'swarmctl monitor rules [--defaults | --rules rules.yaml] [--json]',
  },
  async run(ctx) {
    if (ctx.args.values.defaults && typeof ctx.args.values.rules === 'string') throw new UsageError('--defaults and --rules contradict each other', 'give one of them');
    if (ctx.args.values.defaults && !ctx.printer.json) {
      ctx.printer.out(defaultRulesYaml().trimEnd());
      return 0;
    }
    const rules = await rulesFromOption(ctx.args.values.rules);
    if (ctx.printer.json) printJson(ctx.printer, { rules });
    else ctx.printer.out(formatRulesYaml(rules).trimEnd());
    return 0;
  },
};
