/**
 * nginx and Apache logs → auth failures, bot searches and TLS garbage.
 *
 *   2012/04/09 11:53:29 [error] 2865#0: *66647 user "xyz" was not found in "/var/www/.htpasswd", client: 192.0.43.10, server: ...
 *   [Sat Jul 20 21:39:11.978080 2013] [auth_basic:error] [pid 17512:tid 1401] [client 127.0.0.1:51390] AH01617: user username: authentication failure for "/basic/file": Password Mismatch
 *   12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] "GET //phpMyAdmin-2.8.2.3/scripts/setup.php HTTP/1.1" 404 47 "-" "-"
 *
 * Error-log stamps are local time; access-log stamps carry their zone. The same error messages
 * arrive through syslog (`nginx: ...`, `httpd[pid]: [authz_core:error] ...`); the dispatcher hands
 * those messages to nginxMessage / apacheMessage.
 *
 * What counts (and why) is in docs/log-monitor.md ("Parsers"). In short: every failed HTTP
 * authentication the server reports (wrong password, unknown user, wrong scheme, Digest nonce and
 * realm tricks, a client denied by configuration) is an auth_failure; a request for a path that
 * bots probe that the server could not serve is a web_bot_search; a TLS handshake that failed on
 * garbage (plain HTTP or random bytes on the TLS port) and SNI mismatches are protocol_errors.
 */
import type { SecurityEvent } from '../event.ts';
import { isBotProbeFile, isBotProbePath } from './bot-probes.ts';
import { eventOf, type LineContext } from './line-context.ts';
import { isValidStamp, monthAt, type LogClock } from './log-clock.ts';
import { normaliseAddress } from './source-address.ts';
import { fourDigits, twoDigits } from './syslog.ts';

/** Access-log statuses that mean the server had nothing to give for the path (444: nginx closed the connection). */
const NOT_SERVED_STATUSES = new Set([403, 404, 410, 444]);
const UNAUTHORIZED = 401;

/** `YYYY/MM/DD hh:mm:ss [level] pid#tid: [*cid ]message`: fills ctx.time/program/message and reads it. False when the line is not one. */
export function readNginxErrorLine(text: string, clock: LogClock, ctx: LineContext, out: SecurityEvent[]): boolean {
  const time = nginxStamp(text, 0, clock);
  if (time === null || text.charCodeAt(19) !== 0x20) return false;
  ctx.time = time;
  ctx.program = 'nginx';
  ctx.message = text.slice(20);
  nginxMessage(ctx, out);
  return true;
}

/** An nginx message as syslog delivers it: an error line without or with its own stamp, or an access line. */
export function nginxMessage(ctx: LineContext, out: SecurityEvent[]): void {
  let m = ctx.message;
  if (m.charCodeAt(4) === 0x2f /* / */ && m.charCodeAt(19) === 0x20 && twoDigits(m, 5) >= 0) m = m.slice(20);
  if (m.charCodeAt(0) !== 0x5b /* [ */) {
    readAccessMessage(m, ctx, out, false);
    return;
  }
  // "[level] pid#tid: *cid "
  const levelEnd = m.indexOf('] ');
  if (levelEnd < 0) return;
  const pidEnd = m.indexOf(': ', levelEnd);
  if (pidEnd < 0) return;
  let i = pidEnd + 2;
  if (m.charCodeAt(i) === 0x2a /* * */) {
    const space = m.indexOf(' ', i);
    if (space < 0) return;
    i = space + 1;
  }
  nginxErrorMessage(ctx, m, i, out);
}

function nginxErrorMessage(ctx: LineContext, m: string, i: number, out: SecurityEvent[]): void {
  const clientAt = m.lastIndexOf(', client: ');
  if (clientAt < i) return;
  if (m.startsWith('user "', i)) {
    // `user "x" was not found in "/etc/.htpasswd"` / `user "x": password mismatch`
    const notFound = m.indexOf('" was not found in "', i + 6);
    const mismatch = m.indexOf('": password mismatch', i + 6);
    const colonNotFound = m.indexOf('": was not found in "', i + 6);
    const ends = [notFound, mismatch, colonNotFound].filter((e) => e >= 0);
    if (ends.length === 0) return;
    const userEnd = Math.min(...ends);
    out.push(eventOf(ctx, 'auth_failure', clientOf(m, clientAt), m.slice(i + 6, userEnd)));
    return;
  }
  if (m.startsWith('SSL_do_handshake() failed', i)) {
    // Plain HTTP or random bytes sent to the TLS port; an old client's missing cipher is not counted.
    if (m.includes(' too long') || m.includes(' too short') || m.includes('wrong version number') || m.includes('http request')) {
      out.push(eventOf(ctx, 'protocol_error', clientOf(m, clientAt), null));
    }
    return;
  }
  if (m.startsWith('access forbidden by rule', i)) {
    out.push(eventOf(ctx, 'auth_failure', clientOf(m, clientAt), null));
    return;
  }
  if (m.includes('(2: No such file or directory)')) {
    const requestAt = m.indexOf(', request: "', clientAt);
    if (requestAt < 0) return;
    const methodEnd = m.indexOf(' ', requestAt + 12);
    if (methodEnd < 0) return;
    const pathEnd = m.indexOf(' ', methodEnd + 1);
    const path = m.slice(methodEnd + 1, pathEnd < 0 ? m.length : pathEnd);
    if (isBotProbePath(path)) out.push(eventOf(ctx, 'web_bot_search', clientOf(m, clientAt), null));
  }
}

/** The address after `, client: ` at `clientAt`. */
function clientOf(m: string, clientAt: number): string | null {
  const start = clientAt + 10;
  let end = m.indexOf(',', start);
  if (end < 0) end = m.length;
  return normaliseAddress(m.slice(start, end));
}

function nginxStamp(text: string, i: number, clock: LogClock): number | null {
  const year = fourDigits(text, i);
  const month = twoDigits(text, i + 5) - 1;
  const day = twoDigits(text, i + 8);
  const hour = twoDigits(text, i + 11);
  const minute = twoDigits(text, i + 14);
  const second = twoDigits(text, i + 17);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return null;
  if (text.charCodeAt(i + 4) !== 0x2f || text.charCodeAt(i + 7) !== 0x2f || text.charCodeAt(i + 10) !== 0x20) return null;
  if (text.charCodeAt(i + 13) !== 0x3a || text.charCodeAt(i + 16) !== 0x3a) return null;
  if (!isValidStamp(year, month, day, hour, minute, second)) return null;
  return clock.local(year, month, day, hour, minute, second, 0);
}

/** `[Www Mmm dd hh:mm:ss[.frac] yyyy] [module:level] ... [client addr[:port]] message`. False when the line is not one. */
export function readApacheErrorLine(text: string, clock: LogClock, ctx: LineContext, out: SecurityEvent[]): boolean {
  // "[Tue Jul 22 06:48:30 2008] "
  if (text.charCodeAt(0) !== 0x5b || text.charCodeAt(4) !== 0x20) return false;
  const month = monthAt(text, 5);
  if (month < 0 || text.charCodeAt(8) !== 0x20) return false;
  const day = text.charCodeAt(9) === 0x20 ? twoDigits(`0${text.charAt(10)}`, 0) : twoDigits(text, 9);
  const hour = twoDigits(text, 12);
  const minute = twoDigits(text, 15);
  const second = twoDigits(text, 18);
  if (day < 0 || hour < 0 || minute < 0 || second < 0 || text.charCodeAt(14) !== 0x3a || text.charCodeAt(17) !== 0x3a) return false;
  let i = 20;
  let ms = 0;
  if (text.charCodeAt(i) === 0x2e) {
    const start = i + 1;
    i = start;
    while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    if (i === start) return false;
    ms = Math.floor(Number(`0.${text.slice(start, i)}`) * 1000);
  }
  if (text.charCodeAt(i) !== 0x20) return false;
  const year = fourDigits(text, i + 1);
  if (year < 0 || text.charCodeAt(i + 5) !== 0x5d || !isValidStamp(year, month, day, hour, minute, second)) return false;
  ctx.time = clock.local(year, month, day, hour, minute, second, ms);
  ctx.program = 'apache';
  ctx.message = text.slice(i + 7);
  apacheMessage(ctx, out);
  return true;
}

/** The part after the stamp: `[module:level] [pid N:tid N] [client addr:port] [AHnnnnn: ]content`. */
export function apacheMessage(ctx: LineContext, out: SecurityEvent[]): void {
  const m = ctx.message;
  let i = 0;
  let client: string | null = null;
  /** 2.4 (the format with a `[pid N]` tag) writes the client's port after its address; 2.2 did not. */
  let withPort = false;
  // The client tag comes within the first few tags; text after it is the request's (attacker's) to write.
  for (let tags = 0; tags < 4; tags++) {
    while (m.charCodeAt(i) === 0x20) i++;
    if (m.charCodeAt(i) !== 0x5b) return;
    if (m.startsWith('[client ', i)) {
      const end = clientTagEnd(m, i + 8);
      if (end < 0) return;
      client = apacheClient(m.slice(i + 8, end), withPort);
      i = end + 1;
      break;
    }
    if (m.startsWith('[pid ', i)) withPort = true;
    const end = m.indexOf(']', i);
    if (end < 0) return;
    i = end + 1;
  }
  if (client === null) return;
  while (m.charCodeAt(i) === 0x20) i++;
  // "AH01617: "
  if (m.startsWith('AH', i)) {
    let j = i + 2;
    while (m.charCodeAt(j) >= 0x30 && m.charCodeAt(j) <= 0x39) j++;
    if (j > i + 2 && m.startsWith(': ', j)) i = j + 2;
  }
  apacheContent(ctx, m.slice(i), client, out);
}

/** The `]` closing a client tag, which may hold a bracketed IPv6 address: `[client [2001:db8::1]:51548]`. */
function clientTagEnd(m: string, start: number): number {
  if (m.charCodeAt(start) === 0x5b) {
    const inner = m.indexOf(']', start);
    return inner < 0 ? -1 : m.indexOf(']', inner + 1);
  }
  return m.indexOf(']', start);
}

/** A port number as Apache appends it to the client address. */
const PORT = /^\d{1,5}$/;

/**
 * `1.2.3.4`, `1.2.3.4:51380`, `[2001:db8::1]:51548`, `2001:db8::1:51548` (2.4 writes `%s:%d`: an
 * IPv6 address unbracketed, its port appended), `2001:db8::1` (2.2 wrote IPv6 bare, without port).
 * `withPort`: the line is in 2.4's format, so a trailing `:digits` is the port, not a last group.
 */
function apacheClient(token: string, withPort: boolean): string | null {
  if (token.charCodeAt(0) === 0x5b) {
    const close = token.indexOf(']');
    return close < 0 ? null : normaliseAddress(token.slice(1, close));
  }
  const firstColon = token.indexOf(':');
  if (firstColon < 0) return normaliseAddress(token);
  if (token.indexOf(':', firstColon + 1) < 0) return normaliseAddress(token.slice(0, firstColon)); // v4:port
  const lastColon = token.lastIndexOf(':');
  if (withPort && PORT.test(token.slice(lastColon + 1))) {
    const address = normaliseAddress(token.slice(0, lastColon));
    if (address !== null) return address;
  }
  return normaliseAddress(token);
}

function apacheContent(ctx: LineContext, content: string, client: string, out: SecurityEvent[]): void {
  let c = content;
  // mod_auth_digest (2.2) prefixes its messages with "Digest: "
  if (c.startsWith('Digest: ')) c = c.slice(8);
  const failure = (user: string | null): void => {
    out.push(eventOf(ctx, 'auth_failure', client, user));
  };
  switch (c.charCodeAt(0)) {
    case 0x63: // c
      if (c.startsWith('client denied by server configuration') || c.startsWith('client used wrong authentication scheme')) failure(null);
      return;
    case 0x75: // u
      if (c.startsWith('user `')) {
        // user `name' in realm `realm' not found
        const realm = c.indexOf("' in realm `", 6);
        if (realm < 0) return;
        const after = c.indexOf("' ", realm + 12);
        if (after < 0) return;
        const verdict = c.slice(after + 2);
        if (verdict.startsWith('not found') || verdict.startsWith('authentication failure') || verdict.startsWith('authorization failure') || verdict.startsWith('denied by provider')) {
          failure(c.slice(6, realm));
        }
        return;
      }
      if (c.startsWith('unknown algorithm `')) {
        failure(null);
        return;
      }
      if (c.startsWith('user ')) {
        // user X not found / user X: authentication failure for ... / user X: password mismatch
        const markers = [' not found', ': authentication failure', ': authorization failure', ' denied by provider', ': password mismatch'];
        let userEnd = -1;
        for (const marker of markers) {
          const at = c.indexOf(marker, 5);
          if (at >= 0 && (userEnd < 0 || at < userEnd)) userEnd = at;
        }
        if (userEnd >= 5) failure(c.slice(5, userEnd));
      }
      return;
    case 0x41: // A
      if (c.startsWith('Authorization of user ')) {
        const access = c.indexOf(' to access ', 22);
        if (access >= 0 && c.includes(' failed', access)) failure(c.slice(22, access));
      }
      return;
    case 0x69: // i
      if (c.startsWith('invalid nonce ') && (c.includes(' received - length is not') || c.includes(' received - user attempted time travel'))) failure(null);
      else if (c.startsWith('invalid qop `')) failure(null);
      return;
    case 0x72: // r
      if (c.startsWith('realm mismatch - got `')) failure(null);
      return;
    case 0x48: // H
    case 0x4e: // N
      if ((c.startsWith('Hostname ') || c.startsWith('No hostname was provided via SNI')) && c.includes('provided via SNI')) {
        out.push(eventOf(ctx, 'protocol_error', client, null));
      }
      return;
    case 0x46: // F
      if (c.startsWith('File does not exist: ')) botSearchForFile(ctx, c.slice(21), client, out);
      return;
    case 0x73: // s
      if (c.startsWith('script not found or unable to stat: ')) botSearchForFile(ctx, c.slice(36), client, out);
      else if (c.startsWith("script '")) {
        const end = c.indexOf("' not found or unable to stat", 8);
        if (end > 8) botSearchForFile(ctx, c.slice(8, end), client, out);
      }
      return;
    default:
      return;
  }
}

function botSearchForFile(ctx: LineContext, pathAndMore: string, client: string, out: SecurityEvent[]): void {
  const referer = pathAndMore.indexOf(', referer: ');
  const path = referer < 0 ? pathAndMore : pathAndMore.slice(0, referer);
  if (isBotProbeFile(path.trimEnd())) out.push(eventOf(ctx, 'web_bot_search', client, null));
}

/** `client ident user [dd/Mon/yyyy:hh:mm:ss ±zzzz] "METHOD path PROTO" status ...`. False when the line is not one. */
export function readAccessLine(text: string, program: string, ctx: LineContext, out: SecurityEvent[]): boolean {
  ctx.program = program;
  return readAccessMessage(text, ctx, out, true);
}

function readAccessMessage(m: string, ctx: LineContext, out: SecurityEvent[], ownStamp: boolean): boolean {
  const clientEnd = m.indexOf(' ');
  if (clientEnd < 1) return false;
  const dateAt = m.indexOf(' [', clientEnd);
  if (dateAt < 0 || dateAt - clientEnd > 300) return false;
  const dateEnd = m.indexOf('] "', dateAt);
  if (dateEnd < 0 || dateEnd - dateAt > 40) return false;
  // ident and user between the client and the date: "- -", "- root"
  const userStart = m.lastIndexOf(' ', dateAt - 1) + 1;
  if (userStart <= clientEnd) return false;
  const user = m.slice(userStart, dateAt);
  const requestStart = dateEnd + 3;
  const requestEnd = requestEndOf(m, requestStart);
  if (requestEnd < 0) return false;
  const status = threeDigits(m, requestEnd + 2);
  if (status < 0) return false;
  if (ownStamp) {
    const time = accessStamp(m, dateAt + 2);
    if (time === null) return false;
    ctx.time = time;
  }
  if (status === UNAUTHORIZED) {
    // A 401 without a user is a browser's first request before it asks for credentials; with one, they were wrong.
    if (user !== '-' && user !== '') out.push(eventOf(ctx, 'auth_failure', normaliseAddress(m.slice(0, clientEnd)), user));
    return true;
  }
  if (!NOT_SERVED_STATUSES.has(status)) return true;
  const methodEnd = m.indexOf(' ', requestStart);
  if (methodEnd < 0 || methodEnd > requestEnd) return true;
  let pathEnd = m.indexOf(' ', methodEnd + 1);
  if (pathEnd < 0 || pathEnd > requestEnd) pathEnd = requestEnd;
  if (isBotProbePath(m.slice(methodEnd + 1, pathEnd))) out.push(eventOf(ctx, 'web_bot_search', normaliseAddress(m.slice(0, clientEnd)), null));
  return true;
}

/** The `"` that closes the request: the first one followed by a space and a three-digit status. */
function requestEndOf(m: string, start: number): number {
  let from = start;
  for (let guard = 0; guard < 16; guard++) {
    const at = m.indexOf('" ', from);
    if (at < 0) return -1;
    if (threeDigits(m, at + 2) >= 0) return at;
    from = at + 1;
  }
  return -1;
}

function threeDigits(m: string, i: number): number {
  const hi = twoDigits(m, i);
  const lo = m.charCodeAt(i + 2) - 0x30;
  if (hi < 0 || lo < 0 || lo > 9) return -1;
  const next = m.charCodeAt(i + 3);
  if (!(next === 0x20 || Number.isNaN(next))) return -1;
  return hi * 10 + lo;
}

/** `20/Jan/2015:19:53:28 +0100` at `i`. */
function accessStamp(m: string, i: number): number | null {
  const day = twoDigits(m, i);
  const month = monthAt(m, i + 3);
  const year = fourDigits(m, i + 7);
  const hour = twoDigits(m, i + 12);
  const minute = twoDigits(m, i + 15);
  const second = twoDigits(m, i + 18);
  if (day < 0 || month < 0 || year < 0 || hour < 0 || minute < 0 || second < 0) return null;
  if (m.charCodeAt(i + 2) !== 0x2f || m.charCodeAt(i + 6) !== 0x2f || m.charCodeAt(i + 11) !== 0x3a) return null;
  if (!isValidStamp(year, month, day, hour, minute, second)) return null;
  const sign = m.charCodeAt(i + 21);
  const offsetHours = twoDigits(m, i + 22);
  const offsetMinutes = twoDigits(m, i + 24);
  if ((sign !== 0x2b && sign !== 0x2d) || offsetHours < 0 || offsetMinutes < 0) return null;
  const offset = (offsetHours * 60 + offsetMinutes) * 60_000 * (sign === 0x2b ? 1 : -1);
  return Date.UTC(year, month, day, hour, minute, second) - offset;
}
