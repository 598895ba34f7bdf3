/**
 * The syslog header of a log line: when, which host, which program (and pid), and the message.
 *
 * Formats read (facts from RFC 3164, RFC 5424, RFC 3339 and daemontools' tai64n):
 *
 *   Jan  1 12:00:00 host prog[pid]: msg                 RFC 3164 (BSD); day padded with a space or not
 *   <34>Jan  1 12:00:00 host prog: msg                  the same with its PRI, as sent on the wire
 *   Jan  1 12:00:00 prog[pid]: msg                      no hostname (a local syslogd may omit it)
 *   <34>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] msg    RFC 5424
 *   2024-01-02T03:04:05.123456+00:00 host prog[pid]: msg             rsyslog high precision / ISO 8601
 *   2024-01-02 03:04:05 prog: msg                       ISO 8601 with a space, no zone (local time)
 *   @400000004c91b044077a9e94 prog: msg                 multilog's TAI64N label
 *
 * The hostname is optional when its absence is unambiguous: a hostname never ends in `:` nor
 * carries brackets, and a program token always does one or the other (`prog:`, `prog[pid]:`,
 * `[prog]`). Programs keep what they log as their name apart from the pid: `sshd`,
 * `sshd-session`, `sshd(pam_unix)`, `postfix/smtpd`, `auth-worker(304)`, `kernel`.
 *
 * Total: a line that is not one of these gives null, never an exception.
 */
import { createLogClock, isValidStamp, monthAt, utc, type LogClock, type LogClockOptions } from './log-clock.ts';

export type SyslogFormat = 'rfc3164' | 'rfc5424' | 'iso8601' | 'tai64n';

export interface SyslogHeader {
  /** Milliseconds since the Unix epoch (UTC); stamps without a zone are local time. */
  readonly time: number;
  readonly hostname: string | null;
  /** The program name without its pid; '' when an RFC 5424 line gives none (`-`). */
  readonly program: string;
  readonly pid: string | null;
  /** The text after the header. */
  readonly message: string;
  readonly format: SyslogFormat;
}

export type SyslogHeaderOptions = LogClockOptions;

/** The syslog header of `text` (without its line ending), or null when it has none. */
export function parseSyslogHeader(text: string, options: SyslogHeaderOptions = {}): SyslogHeader | null {
  return readSyslogHeader(text, createLogClock(options));
}

/** As parseSyslogHeader, with a clock the caller keeps (its cache makes a stream of lines cheap). */
export function readSyslogHeader(text: string, clock: LogClock): SyslogHeader | null {
  const record = newHeaderRecord();
  if (!readSyslogHeaderInto(text, clock, record)) return null;
  const { time, hostname, program, pid, message, format } = record;
  return { time, hostname, program, pid, message, format };
}

/** A header being read; the line parser reuses one for every line instead of allocating. */
export interface HeaderRecord {
  time: number;
  hostname: string | null;
  program: string;
  pid: string | null;
  message: string;
  format: SyslogFormat;
  /** Scratch: where the last stamp or fraction read ended. */
  end: number;
}

export function newHeaderRecord(): HeaderRecord {
  return { time: 0, hostname: null, program: '', pid: null, message: '', format: 'rfc3164', end: 0 };
}

/*
 * The headers are matched by anchored regular expressions: V8 runs them as native code from the
 * first line on, where hand-written character loops crawl through the interpreter until the JIT
 * has warmed up (a one-shot `monitor scan` of a file spends most of its time there).
 */

/** A program token and what follows it: `prog:`, `prog[pid]:`, `prog[pid]`, `[prog]`, `[prog]:`, then a space or the end. */
const PROGRAM = String.raw`(?:([^\s:\[\]"]{1,128})(?:\[([^\s\[\]]+)\]:?|:)|\[([^\s:\[\]"]{1,128})\]:?)(?: |$)`;
/**
 * After the stamp: an optional hostname, then the program. The hostname group is lazy, so a first
 * token that is a program token is read as the program (a hostname never ends in `:` nor carries
 * brackets), and only otherwise as the hostname.
 */
const TAIL = String.raw` +(?:(\S+) +)??${PROGRAM}`;
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';

/**
 * `Mmm dd hh:mm:ss[.frac]` (day padded with a space or not) + TAIL, after an optional `<PRI>` the
 * caller skipped. Only the fraction and the tail are captured (each capture is a new string): the
 * stamp's fields are read from their fixed places. Groups: 1 fraction, 2 host, 3 program, 4 pid, 5 [program].
 */
const RFC3164 = new RegExp(String.raw`^${MONTH.replace('(', '(?:')} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.(\d{1,9})\d*)?${TAIL}`);
/** `[<PRI>]YYYY-MM-DD[T ]hh:mm:ss[.frac][zone]` + TAIL. Groups: 1 year … 6 second, 7 fraction, 8 zone, 9 host, 10 program, 11 pid, 12 [program]. */
const ISO8601 = new RegExp(String.raw`^(?:<\d{1,3}>)?(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9})\d*)?(Z|[+-]\d\d:?\d\d)?${TAIL}`);
/** `@` + TAI64N label + TAIL. Groups: 1 seconds (low 32 bits), 2 nanoseconds, 3 host, 4 program, 5 pid, 6 [program]. */
const TAI64N = new RegExp(String.raw`^@40000000([0-9a-fA-F]{8})([0-9a-fA-F]{8})${TAIL}`);
/** RFC 5424 up to STRUCTURED-DATA: `<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID `. */
const RFC5424 = /^<\d{1,3}>\d{1,2} (\S+) (\S+) (\S+) (\S+) (\S+) /;
/** An RFC 3339 timestamp as RFC 5424 writes it. */
const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9})\d*)?(Z|[+-]\d\d:?\d\d)$/;

/** Reads the header of `text` into `h`; false (h then holds garbage) when there is none. */
export function readSyslogHeaderInto(text: string, clock: LogClock, h: HeaderRecord): boolean {
  let c = text.charCodeAt(0);
  if (c === 0x3c /* < */) {
    // RFC 5424 follows its PRI with a version number and a space; other formats go on with their stamp.
    const close = text.indexOf('>');
    if (close < 2 || close > 4) return false;
    c = text.charCodeAt(close + 1);
    const afterVersion = text.charCodeAt(close + 2) === 0x20 ? close + 2 : text.charCodeAt(close + 3) === 0x20 ? close + 3 : -1;
    if (afterVersion > 0 && isDigit(c) && isDigit(text.charCodeAt(afterVersion - 1))) return readRfc5424(text, clock, h);
  }
  if (isDigit(c)) return readIsoHeader(text, clock, h);
  if (c === 0x40 /* @ */) return readTai64nHeader(text, h);
  return readRfc3164Header(text, clock, h);
}

function readRfc3164Header(text: string, clock: LogClock, h: HeaderRecord): boolean {
  // "<34>" before the stamp: the pattern is applied to what follows it.
  const start = text.charCodeAt(0) === 0x3c ? text.indexOf('>') + 1 : 0;
  const body = start === 0 ? text : text.slice(start);
  const m = RFC3164.exec(body);
  if (m === null) return false;
  // "Jun 14 10:00:01" and "Jun  4 10:00:01" put the time at 7, "Jun 4 10:00:01" at 6.
  const timeAt = body.charCodeAt(6) === 0x20 ? 7 : 6;
  const tens = body.charCodeAt(4);
  const day = timeAt === 6 ? tens - 0x30 : (tens === 0x20 ? 0 : (tens - 0x30) * 10) + (body.charCodeAt(5) - 0x30);
  const month = monthAt(body, 0);
  const hour = (body.charCodeAt(timeAt) - 0x30) * 10 + (body.charCodeAt(timeAt + 1) - 0x30);
  const minute = (body.charCodeAt(timeAt + 3) - 0x30) * 10 + (body.charCodeAt(timeAt + 4) - 0x30);
  const second = (body.charCodeAt(timeAt + 6) - 0x30) * 10 + (body.charCodeAt(timeAt + 7) - 0x30);
  if (!isValidStamp(2000, month, day, hour, minute, second)) return false; // 2000 is a leap year: Feb 29 allowed here
  h.time = clock.withoutYear(month, day, hour, minute, second, fractionMs(m[1]));
  h.format = 'rfc3164';
  return takeTail(body, m, 2, h);
}

function readIsoHeader(text: string, clock: LogClock, h: HeaderRecord): boolean {
  const m = ISO8601.exec(text);
  if (m === null) return false;
  const time = isoTime(m, clock);
  if (time === null) return false;
  h.time = time;
  h.format = 'iso8601';
  return takeTail(text, m, 9, h);
}

function readTai64nHeader(text: string, h: HeaderRecord): boolean {
  const m = TAI64N.exec(text);
  if (m === null) return false;
  const seconds = Number.parseInt(m[1] ?? '', 16);
  const nanoseconds = Number.parseInt(m[2] ?? '', 16);
  // libtai counts TAI seconds from 1970 TAI, 10 s ahead of UTC then; leap seconds since are
  // ignored, as tai64nlocal does. Labels from year 2106 on (high word above 0x40000000) are refused.
  h.time = (seconds - 10) * 1000 + Math.floor(Math.min(nanoseconds, 999_999_999) / 1_000_000);
  h.format = 'tai64n';
  return takeTail(text, m, 3, h);
}

/** Fills h.hostname/program/pid/message from the TAIL groups starting at `first`. */
function takeTail(text: string, m: RegExpExecArray, first: number, h: HeaderRecord): boolean {
  h.hostname = m[first] ?? null;
  h.program = m[first + 1] ?? m[first + 3] ?? '';
  h.pid = m[first + 2] ?? null;
  h.message = text.slice(m[0].length);
  return true;
}

/** Epoch ms of the date-time groups 1–8 (year … zone) of ISO8601 or RFC3339; null for an impossible date. */
function isoTime(m: RegExpExecArray, clock: LogClock): number | null {
  const year = digitsValue(m[1]);
  const month = digitsValue(m[2]) - 1;
  const day = digitsValue(m[3]);
  const hour = digitsValue(m[4]);
  const minute = digitsValue(m[5]);
  const second = digitsValue(m[6]);
  if (!isValidStamp(year, month, day, hour, minute, second)) return null;
  const ms = fractionMs(m[7]);
  const zone = m[8];
  if (zone === undefined) return clock.local(year, month, day, hour, minute, second, ms);
  const time = utc(year, month, day, hour, minute, second, ms);
  if (zone === 'Z') return time;
  const offsetHours = (zone.charCodeAt(1) - 0x30) * 10 + (zone.charCodeAt(2) - 0x30);
  const offsetMinutes = (zone.charCodeAt(zone.length - 2) - 0x30) * 10 + (zone.charCodeAt(zone.length - 1) - 0x30);
  if (offsetHours > 23 || offsetMinutes > 59) return null;
  return time - (zone.charCodeAt(0) === 0x2b ? 1 : -1) * (offsetHours * 60 + offsetMinutes) * 60_000;
}

/** Milliseconds of a decimal fraction's digits ("5" → 500, "123456" → 123). */
function fractionMs(digits: string | undefined): number {
  if (digits === undefined) return 0;
  let ms = 0;
  for (let i = 0; i < 3; i++) ms = ms * 10 + (i < digits.length ? digits.charCodeAt(i) - 0x30 : 0);
  return ms;
}

/**
 * The value of a short run of digits the pattern captured. Arithmetic on the characters: Number()
 * on a fresh substring goes through the runtime, and this runs several times on every line.
 */
function digitsValue(digits: string | undefined): number {
  if (digits === undefined) return -1;
  let value = 0;
  for (let i = 0; i < digits.length; i++) value = value * 10 + (digits.charCodeAt(i) - 0x30);
  return value;
}

/** RFC 5424: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]. */
function readRfc5424(text: string, clock: LogClock, h: HeaderRecord): boolean {
  const m = RFC5424.exec(text);
  if (m === null) return false;
  const [, stamp = '-', hostname = '-', app = '-', procid = '-'] = m;
  if (stamp === '-') h.time = clock.reference();
  else {
    const t = RFC3339.exec(stamp);
    const time = t === null ? null : isoTime(t, clock);
    if (time === null) return false;
    h.time = time;
  }
  let i = m[0].length;
  if (text.charCodeAt(i) === 0x2d /* - */) i++;
  else {
    const end = skipStructuredData(text, i);
    if (end < 0) return false;
    i = end;
  }
  let message = '';
  if (i < text.length) {
    if (text.charCodeAt(i) !== 0x20) return false;
    message = text.slice(i + 1);
    if (message.charCodeAt(0) === 0xfeff) message = message.slice(1); // the BOM that announces UTF-8
  }
  h.hostname = hostname === '-' ? null : hostname;
  h.program = app === '-' ? '' : app;
  h.pid = procid === '-' ? null : procid;
  h.message = message;
  h.format = 'rfc5424';
  return true;
}

/** The index after one or more `[id param="value" ...]` elements, or -1 when they are malformed. */
function skipStructuredData(text: string, start: number): number {
  let i = start;
  const n = text.length;
  if (text.charCodeAt(i) !== 0x5b) return -1;
  while (i < n && text.charCodeAt(i) === 0x5b) {
    i++;
    let quoted = false;
    for (;;) {
      if (i >= n) return -1;
      const c = text.charCodeAt(i);
      if (quoted) {
        if (c === 0x5c /* \ */) i++; // \" \\ \] are escapes inside a value
        else if (c === 0x22) quoted = false;
      } else if (c === 0x22) quoted = true;
      else if (c === 0x5d) break;
      i++;
    }
    i++;
  }
  return i;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The two-digit number at `i`, or -1. */
export function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 0x30;
  const b = text.charCodeAt(i + 1) - 0x30;
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1;
  return a * 10 + b;
}

/** The four-digit number at `i`, or -1. */
export function fourDigits(text: string, i: number): number {
  const hi = twoDigits(text, i);
  const lo = twoDigits(text, i + 2);
  return hi < 0 || lo < 0 ? -1 : hi * 100 + lo;
}

