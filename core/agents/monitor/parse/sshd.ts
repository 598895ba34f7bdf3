/**
 * OpenSSH's log lines → security events, counting each attempt once.
 *
 * sshd logs one connection under one pid (the privilege-separated child's lines arrive through
 * the monitor with ` [preauth]` appended), so the parser keeps a little state per host and pid:
 *
 * - A pam_unix (or pam_sss ...) `authentication failure;` line is held until the connection shows
 *   what it was: the `Failed password` line for the same attempt absorbs it (one attempt, logged
 *   twice); an `Accepted` line for the same user drops it (a stacked PAM module failed before
 *   another one succeeded, gh-2070 of fail2ban); anything else — a different user, the end of the
 *   connection — releases it as a failure.
 * - `Failed publickey` for an existing user is held: clients offer every key they have, so only a
 *   connection that ends without an accepted key and without any other counted attempt turns its
 *   key offers into one failure.
 * - Lines that name no client address (`Disconnecting: Too many authentication failures`,
 *   `kex_exchange_identification: ...`, `User x not allowed because account is locked`) take the
 *   connection's address when an earlier line gave it, or wait for a later line that does.
 * - The end of a connection before authentication (`Connection closed by ... [preauth]`,
 *   `Received disconnect ... [preauth]`, `maximum authentication attempts exceeded`) is a
 *   preauth_disconnect only when the connection had no counted attempt: a scanner that connects
 *   and leaves, or an enumeration probe that named an invalid user and left. After failed
 *   passwords, the disconnect adds nothing.
 *
 * docs/log-monitor.md ("Parsers") lists every form and the reasons.
 */
import type { EventKind, SecurityEvent } from '../event.ts';
import { eventOf, type FormatParser, type LineContext } from './line-context.ts';
import { readPamFailure } from './pam-failure.ts';
import { normaliseAddress } from './source-address.ts';

/*
 * Message forms. Each is tried only after a cheap test of the message's first characters, and is
 * anchored: V8 runs them as native code from the first line on. Where the client writes part of
 * the line (user names, key details), the pattern decides which ` from <addr>` is sshd's:
 * - `Failed`/`Accepted`: the first one followed only by port/listen address/protocol and then
 *   `: ` or the end (a lazy user name); details after `: ` come after the real address.
 * - the others: the last one followed only by port/listen address/protocol to the end (a greedy
 *   user name).
 */
/** What sshd writes after a client address: ` port N`, ` on <listen addr>[ port N]`, ` sshN`. */
const AFTER_ADDRESS = String.raw`(?: port \d+)?(?: on \S+(?: port \d+)?)?(?: ssh\d*)?`;
/** Groups: 1 method, 2 `invalid user `, 3 user, 4 address. */
const FAILED = new RegExp(String.raw`^Failed (\S+) for (invalid user )?(.*?) from (\S+?)${AFTER_ADDRESS}(?:: |$)`);
/** Groups: 1 method, 2 user, 3 address. */
const ACCEPTED = new RegExp(String.raw`^Accepted (\S+) for (.*?) from (\S+?)${AFTER_ADDRESS}(?:: |$)`);
/** Groups: 1 user, 2 address. */
const INVALID_USER = new RegExp(String.raw`^(?:Invalid|Illegal) user (.*) from (\S+?)${AFTER_ADDRESS}$`);
/** sshd's own report of the PAM stack's verdict (BSD, macOS). Groups: 1 user, 2 address. */
const PAM_REPORT = new RegExp(
  String.raw`^(?:[Aa]uthentication (?:failure|error)|User not known to the underlying authentication module) for (?:(?:illegal|invalid) user )?(.*) from (\S+?)(?: via \S+)?${AFTER_ADDRESS}$`,
);
/** Groups: 1 user, 2 address. */
const MAX_ATTEMPTS = new RegExp(String.raw`^maximum authentication attempts exceeded for (?:invalid user )?(.*) from (\S+?)${AFTER_ADDRESS}$`);
/**
 * `Connection closed by`, `Connection reset by`, `Disconnected from`. Groups: 1 `invalid`/`authenticating`,
 * 2 user, 3 address. The user is lazy: the address is the earliest token from which only `[ port N]`
 * follows, so a port number is never read as the address and a user name cannot hide one.
 */
const CONNECTION_END = /^(?:Connection (?:closed|reset) by|Disconnected from) (?:(?:(invalid|authenticating) )?user (.*?) )?(\S+?)(?: port \d+)?$/;
/** `from A port N:11: ...` (newer) or `from A: 11: ...`. Groups: 1 address, 2 code. */
const RECEIVED_DISCONNECT = /^Received disconnect from (\S+?)(?: port \d+:\s*|: )(\d+):/;
/** Groups: 1 address. */
const NEGOTIATION_FAILED = /^Unable to negotiate with (\S+?) port \d+:/;
const BANNER_EXCHANGE = /^banner exchange: Connection from (\S+?)(?: port \d+)?:/;
/** Groups: 1 auth|session, then for sessions 2 opened|closed, 3 user. */
const PAM_MODULE = /^pam_\w+\(sshd:(auth|session)\): (?:session (opened|closed) for user ([^\s(]*))?/;

const NO_IDENTIFICATION = 'Did not receive identification string from ';
const VERSIONS_DIFFER = 'Protocol major versions differ for ';

/** A connection silent this long (log time) is over: sshd's LoginGraceTime is 2 minutes by default. */
const CONNECTION_IDLE_MS = 10 * 60_000;
/** Connections tracked at once; reaching it finishes them all (their held failures released): memory stays bounded under a flood. */
const MAX_TRACKED_CONNECTIONS = 20_000;
/** New connections between two sweeps for idle ones: the sweep's cost is spread over this many lines. */
const NEW_CONNECTIONS_PER_SWEEP = 1024;

interface SshConnection {
  /** Where the connection is filed: hostname ('' when the lines name none) and pid ('' for a line without pid). */
  readonly host: string;
  readonly pid: string;
  /** The client address the connection's lines named last. */
  ip: string | null;
  /** pam_unix failures waiting for the line that says what they were. */
  pam: SecurityEvent[];
  /** The last failed key offer of an existing user, held until the connection's outcome. */
  publickey: SecurityEvent | null;
  /** Failures logged without an address, waiting for a line that gives it. */
  waiting: SecurityEvent[];
  /** `error: PAM: Authentication failure for U from H` lines not yet paired with their `Failed ...` line. */
  pamReports: number;
  pamReportUser: string | null;
  authenticated: boolean;
  /** An attempt (credential, protocol error, pre-auth disconnect) was counted for this connection. */
  attempted: boolean;
  /** Any failure (including invalid_user) was counted. */
  failed: boolean;
  /** A kex_exchange_identification error was counted: the `banner exchange` line that follows restates it. */
  kexError: boolean;
  /** The client said goodbye (`Received disconnect`): only the closing `Disconnected from` line may follow. */
  closing: boolean;
  lastSeen: number;
}

function newConnection(host: string, pid: string): SshConnection {
  return {
    host,
    pid,
    ip: null,
    pam: [],
    publickey: null,
    waiting: [],
    pamReports: 0,
    pamReportUser: null,
    authenticated: false,
    attempted: false,
    failed: false,
    kexError: false,
    closing: false,
    lastSeen: 0,
  };
}

export function createSshdParser(): FormatParser {
  /** Connections by pid, per hostname ('' for lines without one): no key string is built per line. */
  const connectionsByHost = new Map<string, Map<string, SshConnection>>();
  let connectionCount = 0;
  /** The connection of a line without pid: it lives for that line only, and is finished after it. */
  let transient: SshConnection | null = null;
  let newSinceSweep = 0;

  function withAddress(event: SecurityEvent, sourceIp: string | null): SecurityEvent {
    return event.sourceIp === sourceIp ? event : { ...event, sourceIp };
  }

  /** Releases everything the connection still holds (its outcome is now known to be failure). */
  function finish(conn: SshConnection, out: SecurityEvent[]): void {
    releasePam(conn, null, out);
    releasePublickey(conn, out);
    if (conn.waiting.length === 0) return;
    for (let i = 0; i < conn.waiting.length; i++) out.push(withAddress(conn.waiting[i] as SecurityEvent, conn.ip));
    conn.waiting = [];
  }

  /** The connection this line belongs to; `closingLine` for the lines that may follow a goodbye. */
  function connectionFor(ctx: LineContext, out: SecurityEvent[], closingLine = false): SshConnection {
    const pid = ctx.pid;
    if (pid === null || pid === '') {
      // No pid, no way to tie lines together: the line stands alone.
      transient ??= newConnection('', '');
      return transient;
    }
    const host = ctx.hostname ?? '';
    let conn = connectionsByHost.get(host)?.get(pid);
    if (conn !== undefined && conn.closing && !closingLine) {
      close(conn, out);
      conn = undefined;
    }
    if (conn === undefined) {
      expireIdle(ctx.time, out); // may drop this host's (now empty) map: look it up afterwards
      let connections = connectionsByHost.get(host);
      if (connections === undefined) {
        connections = new Map();
        connectionsByHost.set(host, connections);
      }
      conn = newConnection(host, pid);
      connections.set(pid, conn);
      connectionCount++;
    }
    conn.lastSeen = ctx.time;
    return conn;
  }

  /**
   * The process logged its last line (sshd exits after `Connection closed by`, `fatal:` ...): what
   * the connection still holds goes out, and the next line on this pid is a new connection.
   */
  function close(conn: SshConnection, out: SecurityEvent[]): void {
    finish(conn, out);
    if (conn === transient) return;
    const connections = connectionsByHost.get(conn.host);
    if (connections?.get(conn.pid) !== conn) return;
    connections.delete(conn.pid);
    connectionCount--;
    if (connections.size === 0) connectionsByHost.delete(conn.host);
  }

  /** Now and then finishes the connections that went quiet; all of them when the tracking bound is reached. */
  function expireIdle(now: number, out: SecurityEvent[]): void {
    const full = connectionCount >= MAX_TRACKED_CONNECTIONS;
    if (++newSinceSweep < NEW_CONNECTIONS_PER_SWEEP && !full) return;
    newSinceSweep = 0;
    // Idle connections go; when that is not enough, the bound is kept by finishing them all
    // (a flood of 20,000 concurrent half-open connections is an attack the events already show).
    // forEach, not for-of with destructuring: no entry arrays allocated; deleting the current entry is safe.
    connectionsByHost.forEach((connections, host) => {
      connections.forEach((conn, pid) => {
        if (full || now - conn.lastSeen > CONNECTION_IDLE_MS) {
          finish(conn, out);
          connections.delete(pid);
          connectionCount--;
        }
      });
      if (connections.size === 0) connectionsByHost.delete(host);
    });
  }

  /** A line named the connection's address: failures that waited for it go out now. */
  function learnAddress(conn: SshConnection, address: string | null, out: SecurityEvent[]): void {
    if (address === null) return;
    conn.ip = address;
    if (conn.waiting.length === 0) return;
    for (let i = 0; i < conn.waiting.length; i++) out.push(withAddress(conn.waiting[i] as SecurityEvent, address));
    conn.waiting = [];
  }

  /** Releases held PAM failures, except those for `keepUser` (and those naming no user when keepUser is given). */
  function releasePam(conn: SshConnection, keepUser: string | null, out: SecurityEvent[]): void {
    if (conn.pam.length === 0) return;
    const kept: SecurityEvent[] = [];
    for (let i = 0; i < conn.pam.length; i++) {
      const event = conn.pam[i] as SecurityEvent;
      if (keepUser !== null && (event.user === null || event.user === keepUser)) kept.push(event);
      else {
        out.push(withAddress(event, event.sourceIp ?? conn.ip));
        conn.attempted = true;
      }
    }
    conn.pam = kept;
  }

  function releasePublickey(conn: SshConnection, out: SecurityEvent[]): void {
    if (conn.publickey === null) return;
    if (!conn.attempted && !conn.authenticated) {
      out.push(withAddress(conn.publickey, conn.publickey.sourceIp ?? conn.ip));
      conn.attempted = true;
    }
    conn.publickey = null;
  }

  /** Counts a failure now, or holds it until the connection's address is known. */
  function fail(conn: SshConnection, ctx: LineContext, kind: EventKind, address: string | null, user: string | null, out: SecurityEvent[]): void {
    learnAddress(conn, address, out);
    if (kind !== 'invalid_user') conn.attempted = true;
    conn.failed = true;
    const event = eventOf(ctx, kind, address ?? conn.ip, user);
    if (event.sourceIp === null) conn.waiting.push(event);
    else out.push(event);
  }

  /**
   * The connection ended, or is ending (`strong`: in a way that shows it never authenticated).
   * Held failures go out; a pre-auth end with no counted attempt is itself a preauth_disconnect.
   */
  function connectionEnds(
    conn: SshConnection,
    ctx: LineContext,
    address: string | null,
    user: string | null,
    strong: boolean,
    terminal: boolean,
    out: SecurityEvent[],
  ): void {
    learnAddress(conn, address, out);
    releasePam(conn, null, out);
    releasePublickey(conn, out);
    if (strong && !conn.authenticated && !conn.attempted) fail(conn, ctx, 'preauth_disconnect', address, user, out);
    if (terminal) close(conn, out);
  }

  function push(ctx: LineContext, out: SecurityEvent[]): void {
    readLine(ctx, out);
    if (transient !== null) {
      finish(transient, out);
      transient = null;
    }
  }

  function readLine(ctx: LineContext, out: SecurityEvent[]): void {
    let m = ctx.message;
    // Prefixes before the message proper: severity, Solaris message ids, kernel stamps (journal).
    let fatal = false;
    for (let guard = 0; guard < 4; guard++) {
      const first = m.charCodeAt(0);
      // Most lines have no prefix: one character decides that cheaply.
      if (first !== 0x65 && first !== 0x66 && first !== 0x50 && first !== 0x5b && first !== 0x6b) break;
      if (m.startsWith('error: ')) m = m.slice(7);
      else if (m.startsWith('fatal: ')) {
        m = m.slice(7);
        fatal = true;
      } else if (m.startsWith('PAM: ')) m = m.slice(5);
      else if (m.startsWith('[ID ')) {
        const close = m.indexOf('] ');
        if (close < 0) break;
        m = m.slice(close + 2);
      } else if (m.startsWith('kernel:')) {
        let i = 7;
        if (m.charCodeAt(i) === 0x20) i++;
        if (m.charCodeAt(i) === 0x5b) {
          const close = m.indexOf(']', i);
          if (close < 0) break;
          i = close + 1;
        }
        if (m.charCodeAt(i) === 0x3a) i++;
        if (m.charCodeAt(i) === 0x20) i++;
        m = m.slice(i);
      } else break;
    }
    if (m.length > 0 && m.charCodeAt(m.length - 1) === 0x20) m = m.trimEnd();
    let preauth = false;
    if (m.charCodeAt(m.length - 1) === 0x5d && m.endsWith(' [preauth]')) {
      preauth = true;
      m = m.slice(0, -10);
    }
    // The handlers' patterns are anchored: where one handler takes a first letter, it tests the rest itself.
    switch (m.charCodeAt(0)) {
      case 0x46: // F
        failedAttempt(ctx, m, out);
        return;
      case 0x41: // A
        if (m.charCodeAt(1) === 0x63 /* Ac */) accepted(ctx, m, out);
        else if (m.startsWith('Authentication failure for ') || m.startsWith('Authentication error for ')) pamReport(ctx, m, 'auth_failure', out);
        return;
      case 0x61: // a
        if (m.startsWith('authentication failure for ') || m.startsWith('authentication error for ')) pamReport(ctx, m, 'auth_failure', out);
        else if (m.startsWith('authentication failure; ')) pamFailure(ctx, m, out); // sshd(pam_unix)[pid]: ...
        return;
      case 0x49: // I
        invalidUser(ctx, m, out);
        return;
      case 0x55: // U
        if (m.startsWith('User not known to the underlying authentication module for ')) pamReport(ctx, m, 'invalid_user', out);
        else if (m.startsWith('User ')) userNotAllowed(ctx, m, out);
        else if (m.startsWith('Unable to negotiate ')) negotiationFailed(ctx, m, out);
        return;
      case 0x52: // R
        if (m.startsWith('ROOT LOGIN REFUSED FROM ')) rootRefused(ctx, m, out);
        else if (m.startsWith('Received disconnect from ')) receivedDisconnect(ctx, m, preauth, out);
        else if (m.startsWith('Read from socket failed: ')) {
          const conn = connectionFor(ctx, out);
          connectionEnds(conn, ctx, null, null, preauth, fatal, out);
        }
        return;
      case 0x72: // r
        if (m.startsWith('refused connect from ')) refusedConnect(ctx, m, out);
        return;
      case 0x70: // p
        pamModuleLine(ctx, m, out);
        return;
      case 0x43: // C
        if (m.charCodeAt(11) === 0x66 /* Connection f */) {
          if (m.startsWith('Connection from ')) connectionFrom(ctx, m, out);
        } else connectionEnd(ctx, m, preauth, out);
        return;
      case 0x44: // D
        if (m.charCodeAt(10) === 0x65 /* Disconnecte */) connectionEnd(ctx, m, preauth, out);
        else if (m.startsWith('Disconnecting')) disconnecting(ctx, m, preauth, out);
        else if (m.startsWith(NO_IDENTIFICATION)) protocolErrorAt(ctx, m, NO_IDENTIFICATION.length, true, out);
        return;
      case 0x42: // B
        if (m.startsWith('Bad protocol version identification ')) protocolErrorAt(ctx, m, lastFromIndex(m), true, out);
        return;
      case 0x50: // P
        if (m.startsWith(VERSIONS_DIFFER)) protocolErrorAt(ctx, m, VERSIONS_DIFFER.length, true, out);
        return;
      case 0x62: // b
        if (m.startsWith('banner exchange: Connection from ')) bannerExchange(ctx, m, out);
        return;
      case 0x6b: // k
        if (m.startsWith('kex_exchange_identification: ')) kexIdentification(ctx, m, out);
        return;
      case 0x6d: // m
        if (m.startsWith('maximum authentication attempts exceeded for ')) maxAttempts(ctx, m, out);
        return;
      case 0x6e: // n
        if (m.startsWith('no matching ') && fatal) addresslessProtocolError(ctx, out);
        return;
      case 0x53: // S
        if (m.startsWith('SSH: Server;Ltype: ')) patchedRemoteLine(ctx, m, out);
        return;
      case 0x54: // T
        if (m.startsWith('Timeout before authentication for ')) timeoutBeforeAuth(ctx, m, fatal, out);
        return;
      case 0x73: // s
        if (m.startsWith('ssh_dispatch_run_fatal: Connection from ')) dispatchFatal(ctx, m, out);
        return;
      case 0x64: // d
        if (m.startsWith('drop connection #')) droppedConnection(ctx, m, out);
        return;
      default:
        return;
    }
  }

  /** `Failed <method> for [invalid user ]<user> from <addr> [port N] [ssh2][: info]` */
  function failedAttempt(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const match = FAILED.exec(m);
    if (match === null) return;
    // Indexed, not destructured: destructuring runs the iterator protocol until the JIT removes it.
    const method = match[1];
    const invalid = match[2];
    const user = match[3] ?? '';
    const address = normaliseAddress(match[4] ?? '');
    const conn = connectionFor(ctx, out);
    if (method === 'publickey' && invalid === undefined) {
      // Offering keys is what clients do; the outcome decides (see the file comment).
      learnAddress(conn, address, out);
      conn.publickey = eventOf(ctx, 'auth_failure', address, user);
      return;
    }
    if (method === 'none') {
      // The "none" method is the client asking which methods exist; it is only an attempt if
      // nothing else on this connection was.
      if (!conn.failed) fail(conn, ctx, 'auth_failure', address, user, out);
      return;
    }
    if (conn.pamReports > 0 && (conn.pamReportUser === null || conn.pamReportUser === user)) {
      conn.pamReports--; // the `error: PAM:` line already counted this attempt
      learnAddress(conn, address, out);
      return;
    }
    // The pam_unix line for this attempt (same user, or one PAM could not name) is absorbed.
    if (conn.pam.length > 0) {
      const absorbed = conn.pam.findIndex((e) => e.user === null || e.user === user);
      if (absorbed >= 0) conn.pam.splice(absorbed, 1);
      releasePam(conn, user, out);
    }
    fail(conn, ctx, 'auth_failure', address, user, out);
  }

  /** `Accepted <method> for <user> from <addr> port N ssh2[: key]` */
  function accepted(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const match = ACCEPTED.exec(m);
    if (match === null) return;
    const user = match[2] ?? '';
    const address = normaliseAddress(match[3] ?? '');
    const conn = connectionFor(ctx, out);
    learnAddress(conn, address, out);
    // Held PAM failures for this user were a stacked module failing before another succeeded:
    // dropped. Those for another user were real attempts of their own: released.
    for (let i = 0; i < conn.pam.length; i++) {
      const held = conn.pam[i] as SecurityEvent;
      if (held.user === null || held.user === user) continue;
      out.push(withAddress(held, held.sourceIp ?? conn.ip));
      conn.attempted = true;
    }
    conn.pam = [];
    if (conn.publickey !== null && conn.publickey.user !== user) releasePublickey(conn, out);
    conn.publickey = null;
    conn.authenticated = true;
    out.push(eventOf(ctx, 'auth_success', address ?? conn.ip, user));
  }

  /** `Invalid user <user> from <addr> [port N]` (older: `Illegal user`). */
  function invalidUser(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const match = INVALID_USER.exec(m);
    if (match === null) return;
    fail(connectionFor(ctx, out), ctx, 'invalid_user', normaliseAddress(match[2] ?? ''), match[1] ?? '', out);
  }

  /** `User <user> from <addr> not allowed because ...` or `User <user> not allowed because account is locked`. */
  function userNotAllowed(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const because = m.lastIndexOf(' not allowed because ');
    if (because < 5) return;
    const head = m.slice(5, because);
    const conn = connectionFor(ctx, out);
    const fromAt = head.lastIndexOf(' from ');
    const address = fromAt >= 0 ? normaliseAddress(head.slice(fromAt + 6)) : null;
    if (address !== null) fail(conn, ctx, 'invalid_user', address, head.slice(0, fromAt), out);
    else fail(conn, ctx, 'invalid_user', null, head, out); // the address comes on a later line
  }

  /** `error: PAM: Authentication failure for [illegal user ]<user> from <host>[ via <addr>]` (sshd's own report of the PAM stack's verdict). */
  function pamReport(ctx: LineContext, m: string, kind: EventKind, out: SecurityEvent[]): void {
    const match = PAM_REPORT.exec(m);
    if (match === null) return;
    const user = match[1] ?? '';
    const conn = connectionFor(ctx, out);
    conn.pamReports++;
    conn.pamReportUser = user;
    fail(conn, ctx, kind, normaliseAddress(match[2] ?? ''), user, out);
  }

  /** `pam_unix(sshd:auth): authentication failure; ... rhost=<addr> [user=<user>]`, sessions, the rest ignored. */
  function pamModuleLine(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const match = PAM_MODULE.exec(m);
    if (match === null) return;
    if (match[1] === 'auth') {
      if (m.startsWith('authentication failure; ', match[0].length)) pamFailure(ctx, m.slice(match[0].length), out);
      return;
    }
    if (match[2] !== undefined) out.push(eventOf(ctx, 'session', connectionFor(ctx, out).ip, match[3] ?? ''));
  }

  function pamFailure(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const pam = readPamFailure(m, 0);
    const user = pam.user ?? pam.ruser;
    const conn = connectionFor(ctx, out);
    if (pam.rhost !== null) learnAddress(conn, pam.rhost, out);
    // A different user on the same connection: the earlier held failures were real attempts.
    if (user !== null) releasePam(conn, user, out);
    conn.pam.push(eventOf(ctx, 'auth_failure', pam.rhost ?? conn.ip, user));
  }

  /** `ROOT LOGIN REFUSED FROM <addr>[ port N]` */
  function rootRefused(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const address = addressToken(m, 24);
    if (address === null) return;
    fail(connectionFor(ctx, out), ctx, 'auth_failure', address, 'root', out);
  }

  /** `refused connect from <name> (<addr>)` (tcp_wrappers). */
  function refusedConnect(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const open = m.lastIndexOf('(');
    const close = m.lastIndexOf(')');
    let address = open > 0 && close > open ? normaliseAddress(m.slice(open + 1, close)) : null;
    if (address === null) {
      const at = m.lastIndexOf('@');
      address = normaliseAddress(m.slice(at >= 0 ? at + 1 : 21).split(' ')[0] ?? '');
    }
    if (address === null) return;
    out.push(eventOf(ctx, 'protocol_error', address, null));
  }

  /** `Connection from <addr> port N on <addr> port 22`: a new connection on this pid. */
  function connectionFrom(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const address = addressToken(m, 16);
    const conn = connectionFor(ctx, out);
    if (conn.attempted || conn.failed || conn.authenticated) {
      // The pid was reused without a closing line: finish the old connection, start afresh.
      close(conn, out);
      const fresh = connectionFor(ctx, out);
      learnAddress(fresh, address, out);
      return;
    }
    learnAddress(conn, address, out);
  }

  /** `Connection closed by [invalid user U |authenticating user U ]<addr>[ port N]`, same for `reset`. */
  function connectionEnd(ctx: LineContext, m: string, preauth: boolean, out: SecurityEvent[]): void {
    const match = CONNECTION_END.exec(m);
    if (match === null) return;
    const conn = connectionFor(ctx, out, true);
    // `invalid user`/`authenticating user` says the connection was before authentication even where sshd wrote no [preauth].
    connectionEnds(conn, ctx, normaliseAddress(match[3] ?? ''), match[2] ?? null, preauth || match[1] !== undefined, true, out);
  }

  /** `Received disconnect from <addr> port N:<code>: <text>` (older: `from <addr>: <code>: <text>`). */
  function receivedDisconnect(ctx: LineContext, m: string, preauth: boolean, out: SecurityEvent[]): void {
    const match = RECEIVED_DISCONNECT.exec(m);
    if (match === null) return;
    const address = normaliseAddress(match[1] ?? '');
    const code = Number(match[2]);
    // 11 is "disconnected by application": the ordinary goodbye, a failure only before authentication.
    const BY_APPLICATION = 11;
    const conn = connectionFor(ctx, out);
    connectionEnds(conn, ctx, address, null, preauth || code !== BY_APPLICATION, false, out);
    conn.closing = true;
  }

  /** `Disconnecting: Too many authentication failures[ for U]`, `Disconnecting invalid user U <addr> port N: <reason>` */
  function disconnecting(ctx: LineContext, m: string, preauth: boolean, out: SecurityEvent[]): void {
    const conn = connectionFor(ctx, out);
    if (m.startsWith('Disconnecting: ')) {
      const tooMany = m.startsWith('Too many authentication failures', 15);
      let user: string | null = null;
      if (tooMany && m.startsWith(' for ', 47)) user = m.slice(52);
      connectionEnds(conn, ctx, null, user, preauth || tooMany, false, out);
      return;
    }
    // `Disconnecting (invalid|authenticating) user U <addr> port N: <reason>`
    const portColon = portThenColon(m);
    if (portColon < 0) return;
    const addressStart = m.lastIndexOf(' ', portColon - 1) + 1;
    const address = normaliseAddress(m.slice(addressStart, portColon));
    let user: string | null = null;
    for (const marker of [' invalid user ', ' authenticating user ']) {
      const at = m.indexOf(marker);
      if (at >= 0 && at + marker.length <= addressStart - 1) user = m.slice(at + marker.length, addressStart - 1);
    }
    connectionEnds(conn, ctx, address, user, true, false, out);
  }

  /** `maximum authentication attempts exceeded for [invalid user ]U from <addr> port N ssh2` */
  function maxAttempts(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const match = MAX_ATTEMPTS.exec(m);
    const conn = connectionFor(ctx, out);
    connectionEnds(conn, ctx, normaliseAddress(match?.[2] ?? ''), match?.[1] ?? null, true, false, out);
  }

  /** A protocol error whose address follows `m[at]` (` from ` or the address itself). */
  function protocolErrorAt(ctx: LineContext, m: string, at: number, terminal: boolean, out: SecurityEvent[]): void {
    if (at < 0) return;
    const address = addressToken(m, m.startsWith(' from ', at) ? at + 6 : at);
    const conn = connectionFor(ctx, out);
    fail(conn, ctx, 'protocol_error', address, null, out);
    if (terminal) close(conn, out);
  }

  /** `Unable to negotiate with <addr> port N: no matching ... found` / `Unable to negotiate a key exchange method` */
  function negotiationFailed(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const match = NEGOTIATION_FAILED.exec(m);
    if (match === null) {
      addresslessProtocolError(ctx, out); // `Unable to negotiate a key exchange method`: fatal, no address
      return;
    }
    const conn = connectionFor(ctx, out);
    fail(conn, ctx, 'protocol_error', normaliseAddress(match[1] ?? ''), null, out);
    close(conn, out);
  }

  function addresslessProtocolError(ctx: LineContext, out: SecurityEvent[]): void {
    const conn = connectionFor(ctx, out);
    fail(conn, ctx, 'protocol_error', null, null, out);
    close(conn, out); // only logged as fatal: sshd exits
  }

  /** `banner exchange: Connection from <addr> port N: invalid format` */
  function bannerExchange(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const address = normaliseAddress(BANNER_EXCHANGE.exec(m)?.[1] ?? '');
    const conn = connectionFor(ctx, out);
    if (conn.kexError) learnAddress(conn, address, out); // restates the kex_exchange_identification error
    else fail(conn, ctx, 'protocol_error', address, null, out);
    close(conn, out);
  }

  /** `kex_exchange_identification: <reason>`: no address, it comes with the connection's next line. */
  function kexIdentification(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const reason = m.slice(29);
    // "banner line too long" is always followed by the banner exchange line, which counts it.
    if (reason.startsWith('banner line too long')) return;
    const conn = connectionFor(ctx, out);
    conn.kexError = true;
    fail(conn, ctx, 'protocol_error', null, null, out);
  }

  /** `SSH: Server;Ltype: Version;Remote: <addr>-<port>;...` (a distribution's extra logging): names the address. */
  function patchedRemoteLine(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const at = m.indexOf(';Remote: ');
    if (at < 0) return;
    const end = m.indexOf(';', at + 9);
    const remote = m.slice(at + 9, end < 0 ? m.length : end);
    const dash = remote.lastIndexOf('-');
    const address = normaliseAddress(dash > 0 ? remote.slice(0, dash) : remote);
    learnAddress(connectionFor(ctx, out), address, out);
  }

  /** `Timeout before authentication for <addr> port N` (9.8+: `for connection from <addr> to <addr>, pid = N`). */
  function timeoutBeforeAuth(ctx: LineContext, m: string, fatal: boolean, out: SecurityEvent[]): void {
    let at = 34;
    if (m.startsWith('connection from ', at)) at += 16;
    if (fatal) {
      protocolErrorAt(ctx, m, at, true, out); // the connection's own process, which exits
      return;
    }
    // OpenSSH 9.8+ logs this from the listener (its pid is not the connection's): no state.
    const address = addressToken(m, at);
    if (address !== null) out.push(eventOf(ctx, 'protocol_error', address, null));
  }

  /** `ssh_dispatch_run_fatal: Connection from [invalid user U |authenticating user U ]<addr> port N: <reason>` */
  function dispatchFatal(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const portColon = portThenColon(m);
    if (portColon < 0) return;
    const addressStart = m.lastIndexOf(' ', portColon - 1) + 1;
    const address = normaliseAddress(m.slice(addressStart, portColon));
    const conn = connectionFor(ctx, out);
    fail(conn, ctx, 'protocol_error', address, null, out);
    close(conn, out);
  }

  /** `drop connection #N from [<addr>]:<port> on [<addr>]:22 penalty: <reason>` / `past MaxStartups` (OpenSSH 9.8+, the listener). */
  function droppedConnection(ctx: LineContext, m: string, out: SecurityEvent[]): void {
    const fromAt = m.indexOf(' from [');
    if (fromAt < 0) return;
    const close = m.indexOf(']', fromAt + 7);
    if (close < 0) return;
    const address = normaliseAddress(m.slice(fromAt + 7, close));
    if (address !== null) out.push(eventOf(ctx, 'protocol_error', address, null));
  }

  return {
    push,
    flush(out: SecurityEvent[]): void {
      for (const connections of connectionsByHost.values()) for (const conn of connections.values()) finish(conn, out);
      connectionsByHost.clear();
      connectionCount = 0;
    },
  };
}

/** The address token at `start` (up to a space, a trailing `:` or `,` removed), normalised. */
function addressToken(m: string, start: number): string | null {
  let end = m.indexOf(' ', start);
  if (end < 0) end = m.length;
  let c = m.charCodeAt(end - 1);
  while (end > start && (c === 0x2c || (c === 0x3a && m.charCodeAt(end - 2) !== 0x3a))) {
    end--;
    c = m.charCodeAt(end - 1);
  }
  return end > start ? normaliseAddress(m.slice(start, end)) : null;
}

function lastFromIndex(m: string): number {
  return m.lastIndexOf(' from ');
}

/** Index of ` port ` in ` port <digits>:`, the first one, or -1. */
function portThenColon(m: string): number {
  let from = 0;
  for (;;) {
    const at = m.indexOf(' port ', from);
    if (at < 0) return -1;
    let i = at + 6;
    while (i < m.length && m.charCodeAt(i) >= 0x30 && m.charCodeAt(i) <= 0x39) i++;
    if (i > at + 6 && m.charCodeAt(i) === 0x3a) return at;
    from = at + 1;
  }
}

