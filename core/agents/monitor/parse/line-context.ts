/**
 * What the format parsers know about the line they are reading, and how they make events of it.
 * The dispatcher reuses one context for every line (no allocation per line); format parsers append
 * the events they complete to the array they are given.
 */
import type { EventKind, SecurityEvent } from '../event.ts';

export interface LineContext {
  /** Epoch ms of the line's stamp. */
  time: number;
  hostname: string | null;
  /** The program that logged the line, without pid. */
  program: string;
  pid: string | null;
  /** The message after the header (the whole line for formats without one). */
  message: string;
  line: number;
  /** The raw line without its line ending. */
  text: string;
  /** How many attempts the line stands for: N for rsyslog's `message repeated N times: [...]`. */
  count: number;
}

export function newLineContext(): LineContext {
  return { time: 0, hostname: null, program: '', pid: null, message: '', line: 0, text: '', count: 1 };
}

/** An event for the line in `ctx`. */
export function eventOf(ctx: LineContext, kind: EventKind, sourceIp: string | null, user: string | null): SecurityEvent {
  return { time: ctx.time, sourceIp, user, kind, program: ctx.program, line: ctx.line, text: ctx.text, count: ctx.count };
}

/** The interface each format implements; state, if any, lives inside. */
export interface FormatParser {
  /** Reads the line in `ctx` and appends the events it completes to `out`. */
  push(ctx: LineContext, out: SecurityEvent[]): void;
  /** Appends whatever is still held at the end of the input. */
  flush(out: SecurityEvent[]): void;
}
