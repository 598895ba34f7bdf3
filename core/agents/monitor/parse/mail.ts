/**
 * Postfix and Dovecot → security events.
 *
 * Postfix (smtpd, postscreen; any `postfix*` syslog name such as `postfix/submission/smtpd`):
 * - `warning: host[addr]: SASL LOGIN authentication failed: ...` → auth_failure (except when the
 *   reason is a lost connection to the auth server: our fault, not the client's).
 * - `NOQUEUE: reject: RCPT from host[addr]: 550 5.1.1 <u@x>: Recipient address rejected: User unknown`
 *   → invalid_user (a recipient probe); the other policy rejects (relay denied, HELO/sender/client
 *   checks, RBL hits, milter rejects) → protocol_error: the client broke our SMTP rules. Greylisting
 *   and our own resource errors (4.3.x) are not the client's fault and yield nothing.
 * - Spambot behaviour (`improper command pipelining`, `too many errors`, postscreen `PREGREET`,
 *   `HANGUP`, `COMMAND ... LIMIT`, `NON-SMTP COMMAND`) → protocol_error; `lost connection after X`
 *   before the message was sent → preauth_disconnect.
 * - `disconnect from host[addr] ... auth=0/2` → the failed SASL attempts that no `SASL ...
 *   authentication failed` line of the same smtpd process already counted.
 *
 * Dovecot (`dovecot`, `imap-login`, `pop3-login`, `auth`, `auth-worker(N)` ...):
 * - The login process's verdict `Disconnected (auth failed, N attempts in S secs): user=<u>, ... rip=addr`
 *   → auth_failure with count N, less the attempts the auth process already reported for that
 *   client and user (`pam(u,addr): pam_authenticate() failed`, `sql(u,addr): Password mismatch`,
 *   `pam_unix(dovecot:auth): authentication failure; ... rhost=addr`), so one attempt counts once.
 * - `unknown user` → invalid_user; `(tried to use disabled plaintext auth)`, `(proxy dest auth
 *   failed)` → auth_failure; `client didn't finish SASL auth` / `disconnected before auth was
 *   ready` → preauth_disconnect; `no auth attempts` with a TLS or protocol failure (scanners) →
 *   protocol_error. A client that just connected and left without trying is not counted.
 */
import type { EventKind, SecurityEvent } from '../event.ts';
import { eventOf, type FormatParser, type LineContext } from './line-context.ts';
import { readPamFailure } from './pam-failure.ts';
import { normaliseAddress } from './source-address.ts';

/** How long after the auth process reported a failure the login process's summary may come (a client idles out after 180 s). */
const AUTH_REPORT_WINDOW_MS = 10 * 60_000;
/** Clients whose reported attempts are remembered at once (bounded memory under a flood). */
const MAX_REMEMBERED_CLIENTS = 10_000;
/** Reported attempts remembered per client: a brute force without login summaries must not grow memory. */
const MAX_REPORTS_PER_CLIENT = 64;
/** smtpd processes whose SASL failures are remembered at once. */
const MAX_TRACKED_SMTPD = 10_000;

/** `lost connection after X`: X where the client already sent its message, so losing it is not an attack. */
const LOST_AFTER_MESSAGE = new Set(['DATA', 'BDAT', 'END-OF-MESSAGE', 'QUIT', 'RSET']);

/** Reject reasons that are policy checks the client failed (fail2ban's postfix filter lists the same family). */
const POLICY_REJECTS = [
  'Relay access denied',
  'Helo command rejected',
  'Sender address rejected',
  'Client host rejected',
  'Service unavailable',
  'Command rejected',
  'Data command rejected',
  'blocked using',
  'Host not found',
  'Domain not found',
  'need fully-qualified hostname',
];
const RECIPIENT_UNKNOWN = ['User unknown', 'ndeliverable address'];
/** Dovecot passdb/userdb driver names as they prefix auth messages: pam, sql, ldap, passwd-file ... */
const DRIVER_NAME = /^[a-z-]{2,15}$/;

export function createPostfixParser(): FormatParser {
  /** Per smtpd process (host + pid): SASL failures already counted, by client address. */
  const saslFailures = new Map<string, { address: string; count: number }>();

  function processKey(ctx: LineContext): string | null {
    if (ctx.pid === null) return null;
    return ctx.hostname === null ? ctx.pid : `${ctx.hostname} ${ctx.pid}`;
  }

  return {
    push(ctx: LineContext, out: SecurityEvent[]): void {
      const m = ctx.message;
      switch (m.charCodeAt(0)) {
        case 0x77: // w
          if (m.startsWith('warning: ')) warning(ctx, m, out);
          return;
        case 0x69: // i
          if (m.startsWith('improper command pipelining after ')) out.push(eventOf(ctx, 'protocol_error', bracketAddress(m, m.indexOf(' from ')), null));
          return;
        case 0x74: // t
          if (m.startsWith('too many errors after ')) out.push(eventOf(ctx, 'protocol_error', bracketAddress(m, m.indexOf(' from ')), null));
          return;
        case 0x6c: // l
          if (m.startsWith('lost connection after ')) {
            const commandEnd = m.indexOf(' ', 22);
            if (commandEnd < 0 || LOST_AFTER_MESSAGE.has(m.slice(22, commandEnd))) return;
            const address = bracketAddress(m, commandEnd);
            // A bot that drops the line after its SASL attempt failed: that attempt is already counted.
            const key = processKey(ctx);
            if (key !== null && address !== null && saslFailures.get(key)?.address === address) return;
            out.push(eventOf(ctx, 'preauth_disconnect', address, null));
          }
          return;
        case 0x64: // d
          if (m.startsWith('disconnect from ')) disconnect(ctx, m, out);
          return;
        case 0x63: // c
          if (m.startsWith('connect from ')) {
            const key = processKey(ctx);
            if (key !== null) saslFailures.delete(key); // a new session in this smtpd process
          }
          return;
        case 0x50: // P
          if (m.startsWith('PREGREET ')) out.push(eventOf(ctx, 'protocol_error', bracketAddress(m, m.indexOf(' from ')), null));
          return;
        case 0x48: // H
          if (m.startsWith('HANGUP after ')) out.push(eventOf(ctx, 'protocol_error', bracketAddress(m, m.indexOf(' from ')), null));
          return;
        case 0x43: // C
          if (m.startsWith('COMMAND TIME LIMIT from ') || m.startsWith('COMMAND COUNT LIMIT from ') || m.startsWith('COMMAND LENGTH LIMIT from ')) {
            out.push(eventOf(ctx, 'protocol_error', bracketAddress(m, m.indexOf(' from ')), null));
          }
          return;
        case 0x4e: // N
          if (m.startsWith('NON-SMTP COMMAND from ')) out.push(eventOf(ctx, 'protocol_error', bracketAddress(m, 16), null));
          else reject(ctx, m, out);
          return;
        default:
          reject(ctx, m, out);
      }
    },
    flush(): void {
      saslFailures.clear();
    },
  };

  /** `warning: host[addr]: SASL LOGIN authentication failed: <reason>`, `warning: non-SMTP command from host[addr]: ...` */
  function warning(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    if (m.startsWith('non-SMTP command from ', 9)) {
      out.push(eventOf(ctx, 'protocol_error', bracketAddress(m, 30), null));
      return;
    }
    const sasl = m.indexOf(': SASL ', 9);
    if (sasl < 0) return;
    const failed = m.indexOf(' authentication failed:', sasl);
    if (failed < 0) return;
    // Our SASL backend being down says nothing about the client.
    if (m.startsWith(' Connection lost to authentication server', failed + 23)) return;
    const address = bracketAddress(m, 8);
    let user: string | null = null;
    const userAt = m.indexOf('sasl_username=', failed);
    if (userAt >= 0) user = m.slice(userAt + 14).split(/[ ,]/, 1)[0] ?? null;
    out.push(eventOf(ctx, 'auth_failure', address, user));
    const key = processKey(ctx);
    if (key === null || address === null) return;
    const known = saslFailures.get(key);
    if (known !== undefined && known.address === address) known.count += ctx.count;
    else {
      if (saslFailures.size >= MAX_TRACKED_SMTPD) saslFailures.clear();
      saslFailures.set(key, { address, count: ctx.count });
    }
  }

  /** `disconnect from host[addr] ehlo=1 auth=0/1 quit=1 commands=2/3` */
  function disconnect(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const key = processKey(ctx);
    const counted = key === null ? undefined : saslFailures.get(key);
    if (key !== null) saslFailures.delete(key);
    const authAt = m.indexOf(' auth=');
    if (authAt < 0) return;
    const slash = m.indexOf('/', authAt);
    if (slash < 0) return;
    const succeeded = Number(m.slice(authAt + 6, slash));
    let end = m.indexOf(' ', slash);
    if (end < 0) end = m.length;
    const tried = Number(m.slice(slash + 1, end));
    if (!Number.isInteger(succeeded) || !Number.isInteger(tried)) return;
    const address = bracketAddress(m, 15);
    const already = counted !== undefined && counted.address === address ? counted.count : 0;
    const uncounted = tried - succeeded - already;
    if (uncounted > 0) out.push({ ...eventOf(ctx, 'auth_failure', address, null), count: uncounted });
  }

  /** `<queue id|NOQUEUE>: [milter-]reject: <CMD> from host[addr][:port]: <code> <dsn> <text>` */
  function reject(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const rejectAt = m.indexOf('reject: ');
    if (rejectAt < 0 || rejectAt > 40) return;
    const before = m.charCodeAt(rejectAt - 1);
    if (!(before === 0x20 || before === 0x2d)) return; // ": reject:" or ": milter-reject:"
    const fromAt = m.indexOf(' from ', rejectAt);
    if (fromAt < 0) return;
    const reason = m.slice(fromAt);
    // Greylisting asks a legitimate server to come back later; 4.3.x is our own trouble.
    if (reason.includes('Greylisted') || reason.includes('greylisted') || /: 4\d\d 4\.3\.\d/.test(reason)) return;
    let kind: EventKind | null = null;
    for (const text of RECIPIENT_UNKNOWN) if (reason.includes(text)) kind = 'invalid_user';
    if (kind === null) for (const text of POLICY_REJECTS) if (reason.includes(text)) kind = 'protocol_error';
    if (kind === null && reason.includes(': match ')) kind = 'protocol_error'; // check_*_access maps: "match bad.domain"
    if (kind === null) return;
    let user: string | null = null;
    if (kind === 'invalid_user') {
      const to = reason.indexOf(' to=<');
      if (to >= 0) {
        const end = reason.indexOf('>', to + 5);
        if (end > to + 5) user = reason.slice(to + 5, end);
      }
    }
    out.push(eventOf(ctx, kind, bracketAddress(m, fromAt), user));
  }
}

/** The address in the first `[...]` at or after `from` (postfix writes `host[addr]`), or null. */
function bracketAddress(m: string, from: number): string | null {
  if (from < 0) return null;
  const open = m.indexOf('[', from);
  if (open < 0) return null;
  const close = m.indexOf(']', open + 1);
  if (close < 0) return null;
  let token = m.slice(open + 1, close);
  if (token.startsWith('IPv6:')) token = token.slice(5);
  return normaliseAddress(token);
}

interface ReportedAttempts {
  user: string | null;
  count: number;
  time: number;
  /** Which part of the auth process wrote it: pam_unix's own line, or dovecot's `pam(...)` line. */
  source: 'pam_module' | 'pam_driver' | 'other';
  /** Paired with the other PAM line for the same attempt. */
  paired: boolean;
}

/** pam_unix's line and dovecot's `pam(u,addr): pam_authenticate() failed` line for one attempt come this close together. */
const SAME_PAM_ATTEMPT_MS = 5_000;

export function createDovecotParser(): FormatParser {
  /** Attempts the auth process reported, by client address, not yet matched with a login process summary. */
  const reported = new Map<string, ReportedAttempts[]>();

  /**
   * Remembers an attempt the auth process reported; false when it restates one already reported
   * (with auth_verbose, one PAM failure is logged by pam_unix and again by dovecot's pam driver).
   */
  function remember(address: string | null, user: string | null, source: ReportedAttempts['source'], count: number, time: number): boolean {
    if (address === null) return true;
    const list = reported.get(address);
    if (list !== undefined && source !== 'other') {
      const twin = list.find(
        (e) => !e.paired && e.source !== 'other' && e.source !== source && e.user === user && Math.abs(time - e.time) <= SAME_PAM_ATTEMPT_MS,
      );
      if (twin !== undefined) {
        twin.paired = true;
        return false;
      }
    }
    if (reported.size >= MAX_REMEMBERED_CLIENTS && list === undefined) {
      const oldest = reported.keys().next();
      if (oldest.done !== true) reported.delete(oldest.value);
    }
    const entry: ReportedAttempts = { user, count, time, source, paired: false };
    if (list === undefined) {
      reported.set(address, [entry]);
      return true;
    }
    // Reports too old to be summed up by a login line, and the oldest beyond the bound, are forgotten.
    while (list.length > 0 && ((list[0]?.time ?? time) < time - AUTH_REPORT_WINDOW_MS || list.length >= MAX_REPORTS_PER_CLIENT)) list.shift();
    list.push(entry);
    return true;
  }

  /** How many of `attempts` the auth process already reported for this client and user (and forgets them). */
  function alreadyReported(address: string | null, user: string | null, time: number, attempts: number): number {
    if (address === null) return 0;
    const list = reported.get(address);
    if (list === undefined) return 0;
    let used = 0;
    const left: ReportedAttempts[] = [];
    for (const entry of list) {
      const recent = entry.time <= time && time - entry.time <= AUTH_REPORT_WINDOW_MS;
      const sameUser = entry.user === null || user === null || sameAccount(entry.user, user);
      if (recent && sameUser && used < attempts) {
        const take = Math.min(entry.count, attempts - used);
        used += take;
        if (take < entry.count) left.push({ ...entry, count: entry.count - take });
      } else if (Math.abs(time - entry.time) <= AUTH_REPORT_WINDOW_MS) left.push(entry);
    }
    if (left.length === 0) reported.delete(address);
    else reported.set(address, left);
    return used;
  }

  return {
    push(ctx: LineContext, out: SecurityEvent[]): void {
      const m = ctx.message;
      if (m.includes(' rip=')) {
        // The login process's verdict on a connection: "<what happened> (<why>): user=<u>, ... rip=addr".
        const authFailed = m.indexOf('(auth failed, ');
        if (authFailed >= 0) return authFailedSummary(ctx, m, authFailed + 14, out);
        if (m.includes('(tried to use disabled ') || m.includes('(tried to use disallowed ') || m.includes('(proxy dest auth failed)')) {
          return loginVerdict(ctx, m, 'auth_failure', out);
        }
        if (m.includes("(client didn't finish ") || m.includes('(disconnected before auth was ready')) {
          return loginVerdict(ctx, m, 'preauth_disconnect', out);
        }
        if (m.includes('(no auth attempts')) {
          // Counted only when the connection shows a scanner: TLS garbage, resets, invalid commands.
          if (m.includes('SSL_accept() failed') || m.includes('SSL_accept() syscall failed') || m.includes('Connection reset by peer') || m.includes('Too many invalid commands')) {
            loginVerdict(ctx, m, 'protocol_error', out);
          }
          return;
        }
      }
      const pamAt = m.indexOf('(dovecot:auth): authentication failure; ');
      if (pamAt >= 0) {
        const pam = readPamFailure(m, pamAt + 39);
        const user = pam.user ?? pam.ruser;
        if (remember(pam.rhost, user, 'pam_module', ctx.count, ctx.time)) out.push(eventOf(ctx, 'auth_failure', pam.rhost, user));
        return;
      }
      passdbFailure(ctx, m, out);
    },
    flush(): void {
      reported.clear();
    },
  };

  /** `<verdict> (auth failed, N attempts[ in S secs]): user=<u>, method=M, rip=addr, ...` */
  function authFailedSummary(ctx: LineContext, m: string, countAt: number, out: SecurityEvent[]): void {
    let attempts = 0;
    let i = countAt;
    while (i < m.length && m.charCodeAt(i) >= 0x30 && m.charCodeAt(i) <= 0x39 && i < countAt + 6) attempts = attempts * 10 + (m.charCodeAt(i++) - 0x30);
    if (i === countAt || !m.startsWith(' attempt', i)) return;
    const fields = loginFields(m);
    if (fields === null) return;
    const uncounted = attempts * ctx.count - alreadyReported(fields.address, fields.user, ctx.time, attempts * ctx.count);
    if (uncounted <= 0) return;
    out.push({ ...eventOf(ctx, 'auth_failure', fields.address, fields.user), count: uncounted });
  }

  function loginVerdict(ctx: LineContext, m: string, kind: EventKind, out: SecurityEvent[]): void {
    const fields = loginFields(m);
    if (fields !== null) out.push(eventOf(ctx, kind, fields.address, fields.user));
  }

  /** `<driver>(user,addr[,<session>]): <reason>` from the auth process (pam, sql, ldap, passwd-file ...). */
  function passdbFailure(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    let kind: EventKind;
    if (m.includes('unknown user') || m.includes('Unknown user') || m.includes('User not known to the underlying authentication module')) kind = 'invalid_user';
    else if (m.includes('assword mismatch') || m.includes('pam_authenticate() failed') || m.includes('nvalid credentials')) kind = 'auth_failure';
    else return;
    // "auth-worker(304): pam(user,addr): ...": the group to read is the one that names an address.
    let user: string | null = null;
    let address: string | null = null;
    let driver = '';
    let from = 0;
    for (let guard = 0; guard < 8 && address === null; guard++) {
      const close = m.indexOf('): ', from);
      if (close < 0) return;
      from = close + 1;
      const open = m.lastIndexOf('(', close);
      if (open < 1) continue;
      // The driver name before "(" is lower-case letters and dashes: pam, sql, ldap, passwd-file.
      const driverStart = m.lastIndexOf(' ', open) + 1;
      driver = m.slice(driverStart, open);
      if (!DRIVER_NAME.test(driver)) continue;
      const inner = m.slice(open + 1, close).split(',');
      address = normaliseAddress(inner[1] ?? '');
      user = inner[0] ?? null;
    }
    if (address === null) return;
    let count = ctx.count;
    const times = / (\d{1,5}) Time\(s\)/.exec(m);
    if (times !== null) count *= Number(times[1]);
    const name = user === '' ? null : user;
    if (remember(address, name, driver === 'pam' ? 'pam_driver' : 'other', count, ctx.time)) out.push({ ...eventOf(ctx, kind, address, name), count });
  }
}

/** `user=<u>` and `rip=addr` of a login process line; the last ` rip=` is the real one (the user name comes first). */
function loginFields(m: string): { user: string | null; address: string | null } | null {
  const ripAt = m.lastIndexOf(' rip=');
  if (ripAt < 0) return null;
  let end = m.indexOf(',', ripAt + 5);
  if (end < 0) end = m.length;
  const address = normaliseAddress(m.slice(ripAt + 5, end).trim());
  let user: string | null = null;
  const userAt = m.indexOf(' user=<');
  if (userAt >= 0 && userAt < ripAt) {
    const userEnd = m.lastIndexOf('>', ripAt);
    if (userEnd > userAt + 7) user = m.slice(userAt + 7, userEnd);
  }
  return { user, address };
}

/** The same mailbox, allowing for the domain part one log writes and the other does not. */
function sameAccount(a: string, b: string): boolean {
  if (a === b) return true;
  const localA = a.split('@')[0];
  const localB = b.split('@')[0];
  return localA === localB && (!a.includes('@') || !b.includes('@'));
}
