/**
 * Bytes in chunks → complete text lines, on the hot path of every log source.
 *
 * Lines end with LF; a CR before it is dropped (CRLF files). Every line of the input is counted,
 * kept or skipped, so line numbers match `sed -n Np FILE`, and each kept line carries the byte
 * offset just after its LF (what a checkpoint saves). Memory is bounded: a line longer than
 * `maxLineBytes` is reported and then discarded chunk by chunk until its LF, never buffered
 * whole, so a 10 MB line costs no more than a short one.
 *
 * Speed: the common case (a chunk of valid UTF-8 text) costs one native UTF-8/ASCII check and one
 * control-character regex over the whole chunk, then a native `indexOf` and a native decode per
 * line. Only a chunk that fails those checks is examined line by line. Each line is decoded on its
 * own (not sliced from a decoded chunk) so that a line a detector keeps as evidence does not keep
 * its whole chunk alive.
 */
import { isAscii, isUtf8 } from 'node:buffer';

/** Longer lines are skipped: syslog lines are far shorter, and the cap bounds memory per source. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * C0 control characters other than TAB, LF, VT, FF, CR and ESC. Text logs never contain them
 * (ESC appears in coloured application output); binary data, a corrupted block or a log file
 * pre-allocated with NULs nearly always does. In a latin1 decode each byte is one character, and in
 * valid UTF-8 these code points only come from single bytes, so one regex serves both decodes.
 */
const BINARY_CONTROL = /[\x00-\x08\x0e-\x1a\x1c-\x1f]/;

export type SkipReason = 'too_long' | 'invalid_utf8' | 'binary';

export const SKIP_REASONS: readonly SkipReason[] = ['too_long', 'invalid_utf8', 'binary'];

export interface SplitLine {
  /** 1-based number of this line in the input, skipped lines included. */
  readonly line: number;
  /** The line without its LF (and without the CR of a CRLF). */
  readonly text: string;
  /** Byte offset just after the line's LF (or after its last byte, for a final line without LF). */
  readonly end: number;
}

export interface SkippedLine {
  readonly reason: SkipReason;
  readonly line: number;
}

export interface SplitResult {
  readonly lines: SplitLine[];
  readonly skipped: SkippedLine[];
}

export interface LineSplitterOptions {
  /** Lines with more bytes than this (before the LF) are skipped. Default 64 KiB. */
  maxLineBytes?: number;
  /** Absolute offset of the first byte pushed (when resuming in the middle of a file). */
  startOffset?: number;
  /** How many lines come before the first byte pushed (so numbering resumes). */
  startLine?: number;
}

export class LineSplitter {
  readonly maxLineBytes: number;
  /** Absolute offset just after the last complete line, kept or skipped. */
  #offset: number;
  /** How many complete lines there were so far, kept or skipped. */
  #line: number;
  /** Start of the current unterminated line, kept (copied) while it is short enough. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes of the current unterminated line seen so far, including those discarded. */
  #partialBytes = 0;
  /** The current line was already reported too long: drop its bytes until its LF. */
  #discarding = false;
  #peakBufferedBytes = 0;

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${max}`);
    this.maxLineBytes = max;
    this.#offset = options.startOffset ?? 0;
    this.#line = options.startLine ?? 0;
  }

  /** Absolute offset just after the last complete line (where a resumed read must start). */
  get offset(): number {
    return this.#offset;
  }

  /** Number of complete lines so far, kept or skipped. */
  get line(): number {
    return this.#line;
  }

  /** Bytes held for the current unterminated line. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /** The most bytes ever held for an unterminated line (never more than maxLineBytes). */
  get peakBufferedBytes(): number {
    return this.#peakBufferedBytes;
  }

  /** Splits a chunk. The chunk may be reused by the caller afterwards: nothing keeps a view of it. */
  push(chunk: Uint8Array): SplitResult {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: SplitLine[] = [];
    const skipped: SkippedLine[] = [];
    const firstLf = buf.indexOf(LF);
    if (firstLf === -1) {
      this.#hold(buf, 0, skipped);
      return { lines, skipped };
    }
    let start = 0;
    if (this.#partialBytes > 0) {
      this.#completePending(buf.subarray(0, firstLf), lines, skipped);
      start = firstLf + 1;
    }
    const lastLf = buf.lastIndexOf(LF);
    if (lastLf >= start) this.#splitRegion(buf, start, lastLf + 1, lines, skipped);
    this.#hold(buf, lastLf + 1, skipped);
    return { lines, skipped };
  }

  /** End of input: the final line without an LF, if any, counts as a line. */
  end(): SplitResult {
    const lines: SplitLine[] = [];
    const skipped: SkippedLine[] = [];
    if (this.#partialBytes === 0) return { lines, skipped };
    this.#completePending(Buffer.alloc(0), lines, skipped, false);
    return { lines, skipped };
  }

  /** Drops the unterminated line held so far (its bytes are gone, e.g. the file was truncated). */
  discardPartial(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#partialBytes = 0;
    this.#discarding = false;
  }

  #hold(buf: Buffer, from: number, skipped: SkippedLine[]): void {
    const n = buf.length - from;
    if (n === 0) return;
    this.#partialBytes += n;
    if (this.#discarding) return;
    if (this.#partialBytes > this.maxLineBytes) {
      this.#discarding = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      skipped.push({ reason: 'too_long', line: this.#line + 1 });
      return;
    }
    // Copy: the caller reuses its read buffer.
    this.#pending.push(Buffer.from(buf.subarray(from)));
    this.#pendingBytes += n;
    if (this.#pendingBytes > this.#peakBufferedBytes) this.#peakBufferedBytes = this.#pendingBytes;
  }

  /** The held line ends with `head` (the bytes before the LF; `terminated` false at end of input). */
  #completePending(head: Buffer, lines: SplitLine[], skipped: SkippedLine[], terminated = true): void {
    const total = this.#partialBytes + head.length;
    const wasDiscarding = this.#discarding;
    const pending = this.#pending;
    this.discardPartial();
    this.#line += 1;
    this.#offset += total + (terminated ? 1 : 0);
    if (wasDiscarding) return; // reported when it grew past the limit
    if (total > this.maxLineBytes) {
      skipped.push({ reason: 'too_long', line: this.#line });
      return;
    }
    pending.push(head);
    const bytes = pending.length === 1 ? head : Buffer.concat(pending, total);
    const text = decodeLine(bytes, 0, bytes.length);
    if (typeof text === 'string') lines.push({ line: this.#line, text, end: this.#offset });
    else skipped.push({ reason: text.skip, line: this.#line });
  }

  /** `buf[start, end)` is a run of complete lines, each ending with LF. */
  #splitRegion(buf: Buffer, start: number, end: number, lines: SplitLine[], skipped: SkippedLine[]): void {
    const region = buf.subarray(start, end);
    const ascii = isAscii(region);
    if (!ascii && !isUtf8(region)) {
      this.#splitLineByLine(buf, start, end, lines, skipped);
      return;
    }
    const suspicious = BINARY_CONTROL.test(buf.toString('latin1', start, end));
    const max = this.maxLineBytes;
    const base = this.#offset - start;
    let line = this.#line;
    let pos = start;
    while (pos < end) {
      const lf = buf.indexOf(LF, pos);
      line += 1;
      const length = lf - pos;
      if (length > max) {
        skipped.push({ reason: 'too_long', line });
      } else {
        const textEnd = length > 0 && buf[lf - 1] === CR ? lf - 1 : lf;
        const text = ascii ? buf.toString('latin1', pos, textEnd) : buf.toString('utf8', pos, textEnd);
        if (suspicious && BINARY_CONTROL.test(text)) skipped.push({ reason: 'binary', line });
        else lines.push({ line, text, end: base + lf + 1 });
      }
      pos = lf + 1;
    }
    this.#line = line;
    this.#offset = base + end;
  }

  /** The slow path for a run that is not valid UTF-8 as a whole: find the bad lines. */
  #splitLineByLine(buf: Buffer, start: number, end: number, lines: SplitLine[], skipped: SkippedLine[]): void {
    const max = this.maxLineBytes;
    const base = this.#offset - start;
    let line = this.#line;
    let pos = start;
    while (pos < end) {
      const lf = buf.indexOf(LF, pos);
      line += 1;
      if (lf - pos > max) {
        skipped.push({ reason: 'too_long', line });
      } else {
        const text = decodeLine(buf, pos, lf);
        if (typeof text === 'string') lines.push({ line, text, end: base + lf + 1 });
        else skipped.push({ reason: text.skip, line });
      }
      pos = lf + 1;
    }
    this.#line = line;
    this.#offset = base + end;
  }
}

/** Decodes one line's bytes (without LF, a final CR dropped), or says why it is skipped. */
function decodeLine(buf: Buffer, start: number, end: number): string | { skip: 'binary' | 'invalid_utf8' } {
  const textEnd = end > start && buf[end - 1] === CR ? end - 1 : end;
  return decodeText(buf.subarray(start, textEnd));
}

/**
 * Decodes text bytes, or says why they are not text: control bytes (binary) win over invalid
 * UTF-8, since random binary data is usually both.
 */
export function decodeText(bytes: Uint8Array): string | { skip: 'binary' | 'invalid_utf8' } {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = buf.toString('latin1');
  if (BINARY_CONTROL.test(latin1)) return { skip: 'binary' };
  if (isAscii(buf)) return latin1;
  if (!isUtf8(buf)) return { skip: 'invalid_utf8' };
  return buf.toString('utf8');
}

/** The text holds control characters that text logs never contain (see BINARY_CONTROL). */
export function hasBinaryControl(text: string): boolean {
  return BINARY_CONTROL.test(text);
}
