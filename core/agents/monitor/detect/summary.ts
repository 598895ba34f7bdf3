/**
 * The one-line summary an analyst reads in the feed: who, what, how often, over how long.
 */
import type { DetectorKind, DistinctValues } from './anomaly.ts';

export interface SummaryFacts {
  readonly detector: DetectorKind;
  readonly sourceIp: string;
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly users: DistinctValues<string>;
  readonly ports: DistinctValues<number> | null;
  /** success_after_failures: the successful logins among `count`, and the account of the first. */
  readonly successes: number;
  readonly successUser: string | null;
}

export function summarizeAnomaly(facts: SummaryFacts): string {
  const { sourceIp: ip, count } = facts;
  const span = describeSpan(facts.lastSeen - facts.firstSeen);
  switch (facts.detector) {
    case 'brute_force':
      return `${plural(count, 'failed login')} from ${ip} ${span}${listUsers(facts.users)}`;
    case 'user_enumeration':
      return `${ip} tried ${distinct(facts.users, 'different user')} ${span} (${plural(count, 'attempt')})${listUsers(facts.users)}`;
    case 'slow_brute_force':
      return `${plural(count, 'failed login')} from ${ip} spread ${span.replace(/^in /, 'over ')}, below the brute-force rate${listUsers(facts.users)}`;
    case 'success_after_failures': {
      const failures = count - facts.successes;
      const as = facts.successUser === null ? '' : ` as ${facts.successUser}`;
      const more = facts.successes > 1 ? ` (${plural(facts.successes, 'successful login')} in all)` : '';
      return `${ip} logged in${as} after ${plural(failures, 'failed attempt')} ${span}${more}`;
    }
    case 'port_scan': {
      const ports = facts.ports ?? { sample: [], total: 0, totalIsLowerBound: false };
      const listed = ports.sample.length > 0 ? `: ${ports.sample.join(', ')}${ports.total > ports.sample.length ? ', …' : ''}` : '';
      return `${ip} probed ${distinct(ports, 'port')} ${span} (${plural(count, 'dropped packet')})${listed}`;
    }
    case 'web_scan':
      return `${ip} requested ${plural(count, 'path')} that vulnerability scanners probe ${span}`;
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function distinct(values: DistinctValues<unknown>, noun: string): string {
  return `${values.totalIsLowerBound ? 'at least ' : ''}${plural(values.total, noun)}`;
}

function listUsers(users: DistinctValues<string>): string {
  if (users.sample.length === 0) return '';
  const more = users.total - users.sample.length;
  const tail = more > 0 ? ` and ${users.totalIsLowerBound ? 'at least ' : ''}${more} more` : '';
  return `; users: ${users.sample.join(', ')}${tail}`;
}

/** "within a second", "in 45 s", "in 2 min 10 s", "in 3 h 5 min", "in 2 d 4 h". */
export function describeSpan(ms: number): string {
  if (!(ms >= 1000)) return 'within a second';
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `in ${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `in ${minutes} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `in ${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  const days = Math.floor(hours / 24);
  return `in ${days} d${hours % 24 ? ` ${hours % 24} h` : ''}`;
}
