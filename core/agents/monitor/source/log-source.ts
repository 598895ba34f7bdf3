/**
 * What every log source (file, journald, stdin) gives its consumer: batches of lines pulled one at
 * a time, each with the checkpoint to acknowledge once its lines are processed.
 *
 * Pull, not push: a source reads (or lets its child process write) only as far as the consumer
 * has asked, so a slow consumer slows the source down instead of making it buffer without bound.
 * At most one chunk (64 KiB by default) plus one batch is held per source. Warnings travel inside
 * the batches, in order with the lines around them, so a consumer cannot miss one by attaching a
 * listener late, and they are subject to the same backpressure.
 */
import type { SkipReason } from './line-splitter.ts';

/** Where a file source stands: which file (device + inode + first bytes), and how far. */
export interface FileCheckpoint {
  readonly kind: 'file';
  /** The path the file was opened under (the followed path, or its rotated name). */
  readonly path: string;
  /** Device and inode, as decimal strings (inode numbers can exceed 2^53). */
  readonly dev: string;
  readonly ino: string;
  /** Byte offset just after the last acknowledged complete line. */
  readonly offset: number;
  /** How many lines come before `offset`, so numbering resumes where it stopped. */
  readonly line: number;
  /** SHA-256 (hex) of the file's first `fingerprintBytes` bytes: recognises a different file that reuses the inode. */
  readonly fingerprint: string;
  readonly fingerprintBytes: number;
}

/** Where a journald source stands: the cursor of the last acknowledged journal entry. */
export interface JournalCheckpoint {
  readonly kind: 'journald';
  /** null before the first entry. */
  readonly cursor: string | null;
  readonly line: number;
}

/** Where a stream source (stdin) stands; a stream cannot be resumed, so this is informational. */
export interface StreamCheckpoint {
  readonly kind: 'stream';
  readonly offset: number;
  readonly line: number;
}

export type Checkpoint = FileCheckpoint | JournalCheckpoint | StreamCheckpoint;

export interface SourceLine {
  /** 1-based line number: in the file (as `sed -n Np` counts), or in the stream / journal since the source began. */
  readonly line: number;
  /** The line, without its line ending. */
  readonly text: string;
}

export type SourceWarningReason =
  | SkipReason // a line that was skipped: too long, not UTF-8, binary
  | 'file_missing' // the followed file does not exist (yet, or for now); waiting for it
  | 'rotated' // the file was renamed away and a new one took its path; continuing with the new one
  | 'truncated' // the file shrank below what was read (copytruncate, `: > file`); reading again from 0
  | 'checkpoint_stale' // the saved checkpoint's file is gone or changed; lines between may be missing
  | 'bad_entry'; // a journal entry that could not be read (not JSON, no message)

export interface SourceWarning {
  readonly source: string;
  readonly reason: SourceWarningReason;
  readonly message: string;
  /** The line it concerns, for skipped lines. */
  readonly line?: number;
}

export interface SourceBatch {
  /** The source's name: `file:/var/log/auth.log`, `journald:sshd`, `stdin`. */
  readonly source: string;
  readonly lines: readonly SourceLine[];
  readonly warnings: readonly SourceWarning[];
  /**
   * Position after everything this batch covers, its lines and any lines skipped with them.
   * Acknowledge it once every line of the batch is processed.
   */
  readonly checkpoint: Checkpoint;
  /** Position just after `lines[index]`, for a consumer that acknowledges part of a batch. */
  checkpointAfter(index: number): Checkpoint;
}

export type SkipCounts = Record<SkipReason, number>;

export interface LogSource extends AsyncIterable<SourceBatch> {
  readonly name: string;
  /**
   * The next batch, waiting for one if needed; null once the source has ended (one-shot read done,
   * stream or journalctl ended) or was closed. Calls are served one after another.
   * Rejects with a SourceError when the source cannot go on (file unreadable, journalctl missing).
   */
  next(): Promise<SourceBatch | null>;
  /**
   * The consumer has processed everything up to `checkpoint`: a restart resumes just after it.
   * Saved at once (one SQLite transaction) when the source has an offset store; a no-op for streams.
   */
  ack(checkpoint: Checkpoint): void;
  /** Lines skipped so far, by reason. */
  readonly skipped: Readonly<SkipCounts>;
  /** Stops reading, releases files, watchers and child processes; a pending next() resolves null. */
  close(): Promise<void>;
}

export type SourceErrorCode =
  | 'file_missing'
  | 'file_unreadable'
  | 'journalctl_missing'
  | 'journalctl_failed'
  | 'bad_source_spec'
  | 'stream_failed';

/** A source that cannot go on: what happened (message) and what to do (hint). */
export class SourceError extends Error {
  readonly code: SourceErrorCode;
  readonly hint: string;
  constructor(code: SourceErrorCode, message: string, hint: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

export function emptySkipCounts(): SkipCounts {
  return { too_long: 0, invalid_utf8: 0, binary: 0 };
}

const SKIP_WORDS: Record<SkipReason, string> = {
  too_long: 'longer than the line limit',
  invalid_utf8: 'not valid UTF-8',
  binary: 'binary data (control bytes)',
};

/** Warnings for lines a splitter skipped, counted into `counts`. */
export function skipWarnings(
  source: string,
  skipped: readonly { reason: SkipReason; line: number }[],
  counts: SkipCounts,
): SourceWarning[] {
  const warnings: SourceWarning[] = [];
  for (const s of skipped) {
    counts[s.reason] += 1;
    warnings.push({ source, reason: s.reason, line: s.line, message: `${source}: line ${s.line} skipped: ${SKIP_WORDS[s.reason]}` });
  }
  return warnings;
}

/**
 * The async iterator every source exposes: `for await (const batch of source)`. Leaving the loop
 * early (break, throw) closes the source, as leaving a stream's loop destroys the stream.
 */
export async function* iterateBatches(source: LogSource): AsyncGenerator<SourceBatch, void, undefined> {
  try {
    for (;;) {
      const batch = await source.next();
      if (batch === null) return;
      yield batch;
    }
  } finally {
    await source.close();
  }
}

/** Serialises calls to an async function, so concurrent next() calls are served in order. */
export class CallQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
