/**
 * Runs a compiled fail2ban filter over log lines and turns its matches into SecurityEvents.
 *
 * Per line, in fail2ban's order: find and cut out the date; run `prefregex` (a line it does not match
 * is not looked at further) and continue with its `<F-CONTENT>`; the first `failregex` that matches
 * decides; an `ignoreregex` match cancels it. Fields from the prefregex are overridden by fields from
 * the failregex.
 *
 * Sessions (`<F-MLFID>` in the prefregex, e.g. `host sshd[1234]: `): lines of one session share what
 * they learned. This is how sshd.conf attributes "Disconnecting: Too many authentication failures"
 * (no address) to the address of the session's "Connection from" line. Our rules, checked against
 * fail2ban's annotated sshd log:
 * - every matched line stores its address and user in the session;
 * - a failure line without an address waits in the session until a later line names one;
 * - a `<F-NOFAIL>` (or `<F-MLFGAINED>`) line is not a failure, but one that names a user counts as an
 *   attempt that the session's next failure carries (`count`), and it becomes a failure itself once
 *   the session has tried more than one user name (an intruder "forgetting" failures by a success);
 * - `<F-MLFFORGET>` ends the session after its line.
 * Without a session id a line stands alone: a failure needs an address of its own.
 */
import type { LineParser, SecurityEvent } from '../event.ts';
import { createDateDetector, type DatePatterns } from './date-detector.ts';

export interface CompiledRegex {
  /** The regex as the filter wrote it (after option substitution), for messages. */
  readonly source: string;
  readonly regex: RegExp;
  /** Capture groups that carry fields: [index in the RegExp, field name]. */
  readonly fields: ReadonlyArray<readonly [number, string]>;
}

export interface CompiledFilter {
  readonly name: string;
  /** Used when the line has no syslog header to take the program name from. */
  readonly defaultProgram: string;
  readonly prefregex: CompiledRegex | null;
  readonly failregex: readonly CompiledRegex[];
  readonly ignoreregex: readonly CompiledRegex[];
  readonly dates: DatePatterns;
}

export interface FilterParserOptions {
  /**
   * "Now" for dates without a year (and for lines without a date), in ms since the epoch.
   * Default: the wall clock when each line is read. Set it when replaying an old log.
   */
  readonly referenceTime?: number;
  /** How many sessions (`<F-MLFID>`) are remembered at once; the least recently seen are dropped first. */
  readonly maxSessions?: number;
}

// Session ids come from the log (host + pid), so an attacker opening many connections creates many;
// the bound keeps memory flat while covering the sessions of a busy server's last minutes.
const DEFAULT_MAX_SESSIONS = 10_000;

// Field precedence for the address we report: an explicit identifier first, as fail2ban bans by it.
const ADDRESS_FIELDS = ['id', 'fid', 'ip4', 'ip6', 'addr', 'host', 'dns'] as const;

// Best-effort syslog header after the date is cut out: "[host ]program[pid]: ".
// A host name has no ':' or '[' (that would be the program's own "name[pid]:").
const SYSLOG_HEADER = /^\s*(?:<[^>\s]*>\s*)?(?:[^\s:[\]]+\s+)?\[?([A-Za-z][\w./()-]*?)\]?(?:\[\d+\])?:(?:\s|$)/;

interface HeldFailure {
  readonly time: number;
  readonly line: number;
  readonly text: string;
  readonly program: string;
  user: string | null;
  count: number;
}

interface Session {
  address: string | null;
  user: string | null;
  readonly users: Set<string>;
  /** No-failure attempts (with a user) since the last failure; the next failure carries them. */
  pendingAttempts: number;
  held: HeldFailure | null;
}

/** Reads the fields of one match into an empty map. */
function readFields(match: RegExpExecArray, compiled: CompiledRegex, into: Map<string, string>): void {
  for (const [index, field] of compiled.fields) {
    const value = match[index];
    if (value === undefined) continue;
    // A tag used twice in one regex: the first non-empty capture wins.
    const earlier = into.get(field);
    if (earlier !== undefined && earlier !== '') continue;
    into.set(field, value);
  }
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

function addressOf(fields: ReadonlyMap<string, string>): string | null {
  for (const field of ADDRESS_FIELDS) {
    const value = nonEmpty(fields.get(field));
    if (value !== null) return value;
  }
  return null;
}

function userOf(fields: ReadonlyMap<string, string>): string | null {
  const direct = nonEmpty(fields.get('user'));
  if (direct !== null) return direct;
  // `<F-ALT_USER>`, `<F-ALT_USER1>`, ...: the first one found stands in for the user.
  const alternatives = [...fields.keys()].filter((key) => key.startsWith('alt_user')).sort();
  for (const key of alternatives) {
    const value = nonEmpty(fields.get(key));
    if (value !== null) return value;
  }
  return null;
}

/** Creates a LineParser for one stream of lines (it keeps per-stream date and session state). */
export function createFilterLineParser(filter: CompiledFilter, options: FilterParserOptions = {}): LineParser {
  const dates = createDateDetector(filter.dates);
  const maxSessions = Math.max(1, options.maxSessions ?? DEFAULT_MAX_SESSIONS);
  const sessions = new Map<string, Session>();
  let lastTime: number | null = null;

  // `auth-worker(22401)` and `pop(pam_unix)` name the program before the parenthesis.
  const programOf = (rest: string): string => SYSLOG_HEADER.exec(rest)?.[1]?.replace(/\(.*\)$/, '') || filter.defaultProgram;

  const event = (
    base: { time: number; line: number; text: string; program: string; user: string | null; count: number },
    address: string,
  ): SecurityEvent => ({
    time: base.time,
    sourceIp: address,
    user: base.user,
    kind: 'auth_failure',
    program: base.program,
    line: base.line,
    text: base.text,
    count: base.count,
  });

  const sessionFor = (id: string): Session => {
    let session = sessions.get(id);
    if (session !== undefined) {
      // Re-insert so Map order is least-recently-seen first.
      sessions.delete(id);
    } else {
      session = { address: null, user: null, users: new Set(), pendingAttempts: 0, held: null };
      if (sessions.size >= maxSessions) {
        const oldest = sessions.keys().next().value;
        if (oldest !== undefined) sessions.delete(oldest);
      }
    }
    sessions.set(id, session);
    return session;
  };

  return {
    push(text, line) {
      const now = options.referenceTime ?? Date.now();
      let time = lastTime ?? now;
      let rest = text;
      const date = dates.detect(text, now);
      if (date !== null) {
        time = date.time;
        lastTime = time;
        rest = text.slice(0, date.start) + text.slice(date.end);
      }

      const fields = new Map<string, string>();
      let content = rest;
      if (filter.prefregex !== null) {
        const match = filter.prefregex.regex.exec(rest);
        if (match === null) return [];
        readFields(match, filter.prefregex, fields);
        const inner = fields.get('content');
        if (inner !== undefined) content = inner;
        fields.delete('content');
      }
      let failMatch: RegExpExecArray | null = null;
      let failRegex: CompiledRegex | null = null;
      for (const candidate of filter.failregex) {
        failMatch = candidate.regex.exec(content);
        if (failMatch !== null) {
          failRegex = candidate;
          break;
        }
      }
      if (failMatch === null || failRegex === null) return [];
      for (const ignore of filter.ignoreregex) {
        if (ignore.regex.test(content)) return [];
      }
      const own = new Map<string, string>();
      readFields(failMatch, failRegex, own);
      for (const [key, value] of own) fields.set(key, value);

      const gained = fields.has('mlfgained');
      const noFailure = fields.has('nofail') || gained;
      const forget = fields.has('mlfforget');
      const address = addressOf(fields);
      const user = userOf(fields);
      const program = programOf(rest);
      const base = { time, line, text, program, user, count: 1 };
      const sessionId = nonEmpty(fields.get('mlfid'));

      if (sessionId === null) {
        return !noFailure && address !== null ? [event(base, address)] : [];
      }

      const session = sessionFor(sessionId);
      if (address !== null) session.address = address;
      if (user !== null) {
        session.user = user;
        session.users.add(user);
      }
      const known = session.address;
      const events: SecurityEvent[] = [];
      if (session.held !== null && known !== null) {
        events.push(event(session.held, known));
        session.held = null;
      }
      const failure = !noFailure || (user !== null && session.users.size > 1);
      if (failure) {
        const count = session.pendingAttempts + 1;
        session.pendingAttempts = 0;
        const failed = { ...base, user: user ?? session.user, count };
        if (known !== null) {
          events.push(event(failed, known));
        } else if (session.held !== null) {
          session.held.count += count;
          session.held.user ??= failed.user;
        } else {
          session.held = failed;
        }
      } else if (user !== null) {
        session.pendingAttempts++;
      }
      if (forget) sessions.delete(sessionId);
      return events;
    },
    flush() {
      // Failures still waiting for an address never got one: fail2ban drops them too (nothing to ban).
      sessions.clear();
      return [];
    },
  };
}
