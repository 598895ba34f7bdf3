/**
 * One line of `journalctl -o json` → syslog-style lines the parsers already read:
 *
 *   2024-01-02T03:04:05.123456+00:00 host sshd[123]: message
 *
 * (RFC 3339 time in UTC with microseconds, as rsyslog's high-precision format writes it.)
 * Facts of the format (systemd.journal-fields(7), journalctl(1)): every field is a string, except
 * that a value that is not printable UTF-8 is an array of byte values, a field that occurs more
 * than once is an array of its values, and without `--all` a field over 4096 bytes is null.
 * __REALTIME_TIMESTAMP is microseconds since the epoch, as a decimal string; __CURSOR names the
 * entry for `--after-cursor`.
 *
 * Total: bad input gives a typed reason, never an exception.
 */
import { decodeText, hasBinaryControl, type SkipReason } from './line-splitter.ts';

export interface JournalEntry {
  readonly cursor: string | null;
  /** The message as syslog-style lines (a multi-line message gives one line per message line). */
  readonly lines: readonly string[];
}

export type JournalEntryProblem =
  | { readonly reason: 'bad_entry'; readonly cursor: string | null; readonly detail: string }
  | { readonly reason: SkipReason; readonly cursor: string | null; readonly detail: string };

export type JournalEntryResult = { ok: true; entry: JournalEntry } | { ok: false; problem: JournalEntryProblem };

type FieldValue = { text: string } | { bytes: Uint8Array } | null;

function isByteArray(v: unknown[]): v is number[] {
  return v.length > 0 && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255);
}

/** A field's (first) value: text, raw bytes, or null when absent or unreadable. */
function field(o: Record<string, unknown>, name: string): FieldValue {
  let v = o[name];
  if (Array.isArray(v) && !isByteArray(v)) v = v[0]; // the field occurs more than once: the first
  if (typeof v === 'string') return { text: v };
  if (typeof v === 'number') return { text: String(v) };
  if (Array.isArray(v) && isByteArray(v)) return { bytes: Uint8Array.from(v) };
  return null;
}

/** A field as text for names and numbers (host, identifier, pid): undecodable bytes are replaced. */
function fieldText(o: Record<string, unknown>, name: string): string | null {
  const f = field(o, name);
  if (f === null) return null;
  if ('text' in f) return f.text;
  return Buffer.from(f.bytes).toString('utf8');
}

const REALTIME = /^\d{1,20}$/;
/** Year 10000: beyond it an ISO 8601 year has five digits and the line would not parse. */
const MAX_REALTIME_US = 253_402_300_800_000_000n;
/** Hostnames, identifiers and pids carry no spaces in syslog: keep the line's fields where parsers expect them. */
const SPACES = /\s+/g;

/** `2024-01-02T03:04:05.123456+00:00`, or null for a timestamp that is not one. */
export function isoFromRealtime(microseconds: string): string | null {
  if (!REALTIME.test(microseconds)) return null;
  const us = BigInt(microseconds);
  if (us >= MAX_REALTIME_US) return null;
  const seconds = us / 1_000_000n;
  const fraction = (us % 1_000_000n).toString().padStart(6, '0');
  const date = new Date(Number(seconds) * 1000);
  return `${date.toISOString().slice(0, 19)}.${fraction}+00:00`;
}

export function parseJournalEntry(jsonLine: string, maxLineBytes: number): JournalEntryResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonLine);
  } catch {
    return fail('bad_entry', null, 'not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('bad_entry', null, 'not a JSON object');
  const o = parsed as Record<string, unknown>;
  const cursor = typeof o.__CURSOR === 'string' ? o.__CURSOR : null;

  const realtime = fieldText(o, '__REALTIME_TIMESTAMP');
  const time = realtime === null ? null : isoFromRealtime(realtime);
  if (time === null) return fail('bad_entry', cursor, 'no valid __REALTIME_TIMESTAMP');

  if (!('MESSAGE' in o)) return fail('bad_entry', cursor, 'no MESSAGE');
  if (o.MESSAGE === null) return fail('too_long', cursor, 'MESSAGE omitted by journalctl (over 4096 bytes without --all)');
  const message = field(o, 'MESSAGE');
  if (message === null) return fail('bad_entry', cursor, 'MESSAGE is neither text nor bytes');
  let text: string;
  if ('text' in message) {
    if (hasBinaryControl(message.text)) return fail('binary', cursor, 'MESSAGE holds control characters');
    text = message.text;
  } else {
    const decoded = decodeText(message.bytes);
    if (typeof decoded !== 'string') return fail(decoded.skip, cursor, `MESSAGE is ${decoded.skip === 'binary' ? 'binary' : 'not valid UTF-8'}`);
    text = decoded;
  }

  const host = (fieldText(o, '_HOSTNAME') ?? 'localhost').replace(SPACES, '_') || 'localhost';
  const program = (fieldText(o, 'SYSLOG_IDENTIFIER') ?? fieldText(o, '_COMM') ?? 'unknown').replace(SPACES, '_') || 'unknown';
  const pid = (fieldText(o, '_PID') ?? fieldText(o, 'SYSLOG_PID'))?.replace(SPACES, '') ?? '';
  const prefix = `${time} ${host} ${program}${pid === '' ? '' : `[${pid}]`}: `;

  const parts = text.split('\n');
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const lines: string[] = [];
  for (const part of parts) {
    const body = part.endsWith('\r') ? part.slice(0, -1) : part;
    const line = prefix + body;
    if (Buffer.byteLength(line) > maxLineBytes) return fail('too_long', cursor, 'MESSAGE longer than the line limit');
    lines.push(line);
  }
  return { ok: true, entry: { cursor, lines } };
}

function fail(reason: JournalEntryProblem['reason'], cursor: string | null, detail: string): JournalEntryResult {
  return { ok: false, problem: { reason, cursor, detail } };
}
