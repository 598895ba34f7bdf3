/**
 * Follows a log file the way `tail -F` does, and resumes exactly after a restart.
 *
 * Reading is pulled by the consumer, one chunk per call at most, so memory stays bounded (one
 * chunk, the splitter's at most `maxLineBytes`, one batch) however large the file or slow the
 * consumer. At the end of the data it waits for a change (inotify on the directory, plus a short
 * poll) and then looks at what changed:
 *
 * - appended data: read on;
 * - rename rotation (logrotate `create`): the path now names another inode. The old file is read
 *   to its end (once more after noticing, for what was written just before the rename), its last
 *   line even without LF, then the new file from offset 0;
 * - copytruncate, or truncation in place (`: > file`): same inode, but shorter than what was read,
 *   or different first bytes: read again from 0 (what was written between our last read and the
 *   truncation went to the copy; no follower of the live file can see it). The first bytes are
 *   checked after every read while following, so a file truncated and at once written past our
 *   offset is not mistaken for appended data;
 * - the path disappears: keep reading the open file (a writer may still hold it) and wait for the
 *   path to come back; a path that does not exist yet is waited for the same way.
 *
 * Checkpoints and restarts. A checkpoint is device + inode + offset after the last acknowledged
 * complete line + line count + a hash of the first bytes. On start with a saved checkpoint:
 * 1. the path is still that file (same inode, same first bytes, at least as long): resume at the
 *    offset;
 * 2. otherwise the file was rotated while we were stopped: a file beside it whose name starts with
 *    the path's name (`auth.log.1`, `auth.log-20240102`) and which is the checkpoint's file (same
 *    inode and first bytes; or for copytruncate a copy with the same first bytes) is read from the
 *    offset to its end first, then the path from 0;
 * 3. no such file (rotated twice, compressed, deleted): the path is read from 0, with a
 *    `checkpoint_stale` warning saying lines may be missing.
 * Lines written to the old file after we switched to the new one (a writer that keeps the rotated
 * file open and was never told to reopen) are not read: the same limit as tail -F.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_POLL_INTERVAL_MS, FileChangeSignal } from './file-change-signal.ts';
import {
  FINGERPRINT_BYTES,
  findRotatedFile,
  fingerprintOf,
  hashBytes,
  holdsCheckpoint,
  identityOf,
  sameIdentity,
  statOrNull,
  type Fingerprint,
  type FileIdentity,
} from './file-identity.ts';
import { LineSplitter, type SplitResult } from './line-splitter.ts';
import {
  CallQueue,
  SourceError,
  emptySkipCounts,
  iterateBatches,
  skipWarnings,
  type Checkpoint,
  type FileCheckpoint,
  type LogSource,
  type SkipCounts,
  type SourceBatch,
  type SourceWarning,
} from './log-source.ts';
import type { OffsetStore } from './offset-store.ts';

/** Read size: large enough that syscalls are rare, small enough that a chunk's strings stay young-generation. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;

const EMPTY_FINGERPRINT: Fingerprint = { hash: hashBytes(new Uint8Array(0)), bytes: 0 };

/** A checkpoint taken before any file was opened: "nothing read yet", resumed as a fresh start. */
const NOTHING_READ = '0';

export interface FileProgress {
  readonly bytesRead: number;
  readonly totalBytes: number;
}

export interface FileSourceOptions {
  /** Without a checkpoint: read the existing content ('start', default) or only what is appended ('end'). */
  from?: 'start' | 'end';
  /** true (default): follow like tail -F. false: read to the end once and stop (`swarmctl monitor scan FILE`). */
  follow?: boolean;
  /** Resume from the checkpoint saved under `name`, and save acknowledged checkpoints there. */
  offsets?: OffsetStore;
  /** The source's name and checkpoint key; default `file:<absolute path>`. */
  name?: string;
  maxLineBytes?: number;
  chunkBytes?: number;
  pollIntervalMs?: number;
  /** Called after each chunk read (and once at open), for a progress bar. */
  onProgress?: (progress: FileProgress) => void;
}

interface OpenFile {
  readonly handle: FileHandle;
  /** The name it was opened under. */
  readonly path: string;
  readonly identity: FileIdentity;
  /** Next byte to read. */
  pos: number;
  splitter: LineSplitter;
  fingerprint: Fingerprint;
  /** The followed path names another file now: read this one to its end, then switch. */
  detached: boolean;
  /** Size at open, for progress. */
  size: number;
}

export function openFileSource(path: string, options: FileSourceOptions = {}): FileSource {
  return new FileSource(path, options);
}

export class FileSource implements LogSource {
  readonly name: string;
  readonly path: string;
  readonly #from: 'start' | 'end';
  readonly #follow: boolean;
  readonly #offsets: OffsetStore | undefined;
  readonly #maxLineBytes: number | undefined;
  readonly #onProgress: ((progress: FileProgress) => void) | undefined;
  readonly #buf: Buffer;
  readonly #signal: FileChangeSignal;
  readonly #queue = new CallQueue();
  readonly #skipped: SkipCounts = emptySkipCounts();
  #current: OpenFile | null = null;
  #started = false;
  #ended = false;
  #closed = false;
  /** The first open of the path may start at its end (from: 'end'); later ones (rotations) start at 0. */
  #firstOpen = true;
  #missingWarned = false;
  /** Set after waiting: the file may have changed in any way, check before reading. */
  #woken = false;
  #warnings: SourceWarning[] = [];
  #lastCheckpoint: FileCheckpoint;

  constructor(path: string, options: FileSourceOptions = {}) {
    this.path = resolve(path);
    this.name = options.name ?? `file:${this.path}`;
    this.#from = options.from ?? 'start';
    this.#follow = options.follow ?? true;
    this.#offsets = options.offsets;
    this.#maxLineBytes = options.maxLineBytes;
    this.#onProgress = options.onProgress;
    this.#buf = Buffer.allocUnsafe(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    this.#signal = new FileChangeSignal(this.path, options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.#lastCheckpoint = {
      kind: 'file',
      path: this.path,
      dev: NOTHING_READ,
      ino: NOTHING_READ,
      offset: 0,
      line: 0,
      fingerprint: EMPTY_FINGERPRINT.hash,
      fingerprintBytes: 0,
    };
  }

  get skipped(): Readonly<SkipCounts> {
    return this.#skipped;
  }

  [Symbol.asyncIterator](): AsyncIterator<SourceBatch> {
    return iterateBatches(this);
  }

  next(): Promise<SourceBatch | null> {
    return this.#queue.run(() => this.#next());
  }

  ack(checkpoint: Checkpoint): void {
    if (checkpoint.kind !== 'file') throw new TypeError(`${this.name}: cannot acknowledge a ${checkpoint.kind} checkpoint`);
    this.#offsets?.save(this.name, checkpoint);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal.close();
    // Runs after a next() in progress has returned (it sees #closed and stops).
    await this.#queue.run(async () => {
      await this.#closeCurrent();
    });
  }

  async #next(): Promise<SourceBatch | null> {
    if (!this.#started) {
      this.#started = true;
      await this.#begin();
    }
    for (;;) {
      if (this.#closed || this.#ended) return null;
      let cur = this.#current;
      if (cur === null) {
        cur = await this.#openFollowedPath();
        if (cur === null) {
          if (!this.#follow) {
            throw new SourceError('file_missing', `cannot read ${this.path}: no such file`, 'check the path (and that the log is written there)');
          }
          if (!this.#missingWarned) {
            this.#missingWarned = true;
            this.#warn('file_missing', `${this.name}: ${this.path} does not exist; waiting for it to appear`);
            return this.#batch(null, null);
          }
          await this.#signal.wait();
          continue;
        }
        this.#missingWarned = false;
      }
      this.#signal.clear();
      if (this.#woken) {
        // Look before reading: after a truncation that was followed by more writes than we had
        // read, reading first would return the middle of the new content as if it were appended.
        this.#woken = false;
        if (!cur.detached) await this.#noticeChange(cur);
      }
      const n = await this.#read(cur);
      if (n > 0 && this.#follow && !(await this.#firstBytesUnchanged(cur))) {
        // Truncated and written again while we were reading: what was just read may be the middle
        // of the new content. Drop it and read the file again from its start.
        this.#restartTruncated(cur, cur.pos);
        continue;
      }
      if (n > 0) {
        const result = cur.splitter.push(this.#buf.subarray(0, n));
        if (result.lines.length > 0 || result.skipped.length > 0 || this.#warnings.length > 0) return this.#batch(cur, result);
        continue; // the middle of a long line: nothing complete yet
      }
      // End of the data for now.
      if (!this.#follow) {
        const result = cur.splitter.end();
        const batch = await this.#batch(cur, result);
        this.#ended = true;
        await this.#closeCurrent();
        return batch.lines.length > 0 || batch.warnings.length > 0 ? batch : null;
      }
      if (cur.detached) {
        // Rotated away and now read to its end: its last line is complete even without LF.
        const result = cur.splitter.end();
        const batch = await this.#batch(cur, result);
        await this.#closeCurrent();
        if (batch.lines.length > 0 || batch.warnings.length > 0) return batch;
        continue;
      }
      if (await this.#noticeChange(cur)) continue;
      if (this.#warnings.length > 0) return this.#batch(cur, null);
      await this.#signal.wait();
      this.#woken = true;
    }
  }

  /** Where to start: the saved checkpoint, resolved against what is on disk now. */
  async #begin(): Promise<void> {
    const saved = this.#offsets?.load(this.name) ?? null;
    if (saved === null || saved.kind !== 'file' || saved.ino === NOTHING_READ) {
      if (saved !== null) this.#firstOpen = false; // acknowledged "nothing read yet": everything that appears is new
      return;
    }
    this.#firstOpen = false;
    this.#lastCheckpoint = saved;
    const st = await statOrNull(this.path);
    if (st !== null && sameIdentity(identityOf(st), saved)) {
      const handle = await this.#openHandle(this.path);
      if (handle !== null) {
        if (await holdsCheckpoint(handle, saved)) {
          this.#current = await this.#adopt(handle, this.path, saved.offset, saved.line, false);
          return;
        }
        await handle.close();
      }
    }
    const rotated = await findRotatedFile(this.path, saved);
    if (rotated !== null) {
      this.#warn('rotated', `${this.name}: rotated while stopped; finishing ${rotated.path} from offset ${saved.offset}, then ${this.path} from the start`);
      this.#current = await this.#adopt(rotated.handle, rotated.path, saved.offset, saved.line, true);
      return;
    }
    this.#warn(
      'checkpoint_stale',
      `${this.name}: the file of the saved checkpoint (inode ${saved.ino}, offset ${saved.offset}) is gone or was changed; reading ${this.path} from the start (lines written in between may be missing)`,
    );
  }

  async #openFollowedPath(): Promise<OpenFile | null> {
    const handle = await this.#openHandle(this.path);
    const firstOpen = this.#firstOpen;
    this.#firstOpen = false;
    if (handle === null) return null;
    if (firstOpen && this.#from === 'end') {
      const { offset, line } = await countCompleteLines(handle, this.#buf);
      return this.#adopt(handle, this.path, offset, line, false);
    }
    return this.#adopt(handle, this.path, 0, 0, false);
  }

  /** Opens a file for reading; null if it does not exist; SourceError if it cannot be read. */
  async #openHandle(path: string): Promise<FileHandle | null> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw new SourceError(
        'file_unreadable',
        `cannot read ${path}: ${(err as Error).message}`,
        code === 'EACCES' ? 'run the monitor as a user allowed to read it (on Debian, a member of group adm)' : 'check the path',
      );
    }
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      throw new SourceError('file_unreadable', `cannot follow ${path}: not a regular file`, 'use the stdin source for pipes (swarmctl monitor scan - < FILE)');
    }
    return handle;
  }

  async #adopt(handle: FileHandle, path: string, offset: number, line: number, detached: boolean): Promise<OpenFile> {
    const st = await handle.stat({ bigint: true });
    const file: OpenFile = {
      handle,
      path,
      identity: identityOf(st),
      pos: offset,
      splitter: new LineSplitter({ maxLineBytes: this.#maxLineBytes, startOffset: offset, startLine: line }),
      fingerprint: EMPTY_FINGERPRINT,
      detached,
      size: Number(st.size),
    };
    await this.#refreshFingerprint(file);
    this.#current = file;
    this.#onProgress?.({ bytesRead: offset, totalBytes: Math.max(file.size, offset) });
    return file;
  }

  async #read(cur: OpenFile): Promise<number> {
    let n: number;
    try {
      ({ bytesRead: n } = await cur.handle.read(this.#buf, 0, this.#buf.length, cur.pos));
    } catch (err) {
      throw new SourceError('file_unreadable', `cannot read ${cur.path}: ${(err as Error).message}`, 'check the disk and the file');
    }
    cur.pos += n;
    if (n > 0) this.#onProgress?.({ bytesRead: cur.pos, totalBytes: Math.max(cur.size, cur.pos) });
    return n;
  }

  /** At the end of the data: was the file truncated or rotated? true when there is something to read again. */
  async #noticeChange(cur: OpenFile): Promise<boolean> {
    const st = await cur.handle.stat({ bigint: true });
    if (st.size < BigInt(cur.pos) || !(await this.#firstBytesUnchanged(cur))) {
      this.#restartTruncated(cur, Number(st.size));
      return true;
    }
    const now = await statOrNull(this.path);
    if (now !== null && !sameIdentity(identityOf(now), cur.identity)) {
      this.#warn('rotated', `${this.name}: ${this.path} was rotated; finishing the old file, then reading the new one from the start`);
      cur.detached = true;
      return true; // read the old file once more: lines written just before the rename
    }
    return false;
  }

  #restartTruncated(cur: OpenFile, size: number): void {
    this.#warn('truncated', `${this.name}: ${cur.path} was truncated (copytruncate or emptied); reading it again from the start`);
    cur.pos = 0;
    cur.size = size;
    cur.splitter = new LineSplitter({ maxLineBytes: this.#maxLineBytes });
    cur.fingerprint = EMPTY_FINGERPRINT;
  }

  /**
   * Re-reads the file's first bytes: false when they are not the ones fingerprinted (the file was
   * truncated and written again in place); extends the fingerprint while it is short.
   */
  async #firstBytesUnchanged(cur: OpenFile): Promise<boolean> {
    const want = Math.min(FINGERPRINT_BYTES, Math.max(cur.pos, cur.fingerprint.bytes));
    if (want === 0) return true;
    const buf = Buffer.alloc(want);
    const { bytesRead } = await cur.handle.read(buf, 0, want, 0);
    const known = cur.fingerprint;
    if (bytesRead < known.bytes) return false;
    if (known.bytes > 0 && hashBytes(buf.subarray(0, known.bytes)) !== known.hash) return false;
    if (bytesRead > known.bytes) cur.fingerprint = { hash: hashBytes(buf.subarray(0, bytesRead)), bytes: bytesRead };
    return true;
  }

  /** Extends the fingerprint while the file is shorter than FINGERPRINT_BYTES (rarely: new files only). */
  async #refreshFingerprint(file: OpenFile): Promise<void> {
    const want = Math.min(FINGERPRINT_BYTES, file.pos);
    if (file.fingerprint.bytes >= want) return;
    file.fingerprint = (await fingerprintOf(file.handle, want)) ?? file.fingerprint;
  }

  #warn(reason: SourceWarning['reason'], message: string): void {
    this.#warnings.push({ source: this.name, reason, message });
  }

  async #batch(cur: OpenFile | null, result: SplitResult | null): Promise<SourceBatch> {
    const warnings = this.#warnings;
    this.#warnings = [];
    if (result !== null) warnings.push(...skipWarnings(this.name, result.skipped, this.#skipped));
    if (cur === null) {
      const checkpoint = this.#lastCheckpoint;
      return { source: this.name, lines: [], warnings, checkpoint, checkpointAfter: () => outOfRange(0) };
    }
    await this.#refreshFingerprint(cur);
    const base = {
      kind: 'file' as const,
      path: cur.path,
      dev: cur.identity.dev,
      ino: cur.identity.ino,
      fingerprint: cur.fingerprint.hash,
      fingerprintBytes: cur.fingerprint.bytes,
    };
    const checkpoint: FileCheckpoint = { ...base, offset: cur.splitter.offset, line: cur.splitter.line };
    this.#lastCheckpoint = checkpoint;
    const lines = result?.lines ?? [];
    return {
      source: this.name,
      lines,
      warnings,
      checkpoint,
      checkpointAfter(index: number): FileCheckpoint {
        const l = lines[index];
        if (l === undefined) return outOfRange(index);
        return { ...base, offset: l.end, line: l.line };
      },
    };
  }

  async #closeCurrent(): Promise<void> {
    const cur = this.#current;
    this.#current = null;
    if (cur !== null) await cur.handle.close();
  }
}

function outOfRange(index: number): never {
  throw new RangeError(`checkpointAfter(${index}): no such line in this batch`);
}

/** For from: 'end': where the last complete line ends, and how many lines come before it. */
async function countCompleteLines(handle: FileHandle, buf: Buffer): Promise<{ offset: number; line: number }> {
  let pos = 0;
  let line = 0;
  let afterLastLf = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    let i = buf.indexOf(0x0a, 0);
    while (i !== -1 && i < bytesRead) {
      line += 1;
      afterLastLf = pos + i + 1;
      i = buf.indexOf(0x0a, i + 1);
    }
    pos += bytesRead;
  }
  return { offset: afterLastLf, line };
}
