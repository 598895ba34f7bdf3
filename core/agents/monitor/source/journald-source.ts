/**
 * Lines from the systemd journal, through `journalctl --follow --output=json` (spawned with an
 * argument array, never a shell), turned into syslog-style lines by journal-entry.ts.
 *
 * What `journald:<match>` reads. `<match>` is a comma-separated list of names:
 * - a name with a unit suffix (`ssh.service`, `cron.service`, `foo.socket`) is a systemd unit:
 *   `--unit NAME`;
 * - any other name is a syslog identifier, the program name a line is logged under (`sshd`,
 *   `sshd-session`, `kernel`, `postfix/smtpd`): `--identifier NAME`.
 * Identifiers rather than units by default because they name the program whatever the unit is
 * called (Debian's OpenSSH unit is `ssh.service`, not `sshd.service`), and because the parsers key
 * on the program name. OpenSSH 9.8 and later log from `sshd-session` as well: use
 * `journald:sshd,sshd-session`, or the unit. Several names of one kind match any of them;
 * journalctl requires an entry to match both kinds when units and identifiers are mixed.
 * An empty match reads the whole journal.
 *
 * Where it starts: after the saved cursor (`--after-cursor`) when there is one; otherwise at the
 * end (`from: 'end'`, the default: a journal holds months) or at the oldest entry kept
 * (`from: 'start'`). A saved cursor journalctl refuses (damaged) is dropped with a
 * `checkpoint_stale` warning and reading starts as configured.
 *
 * Backpressure: journalctl's stdout is read only as the consumer pulls; when the pipe is full
 * journalctl blocks, and the journal keeps the entries meanwhile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, type SplitLine } from './line-splitter.ts';
import { parseJournalEntry } from './journal-entry.ts';
import {
  CallQueue,
  SourceError,
  emptySkipCounts,
  iterateBatches,
  skipWarnings,
  type Checkpoint,
  type JournalCheckpoint,
  type LogSource,
  type SkipCounts,
  type SourceBatch,
  type SourceLine,
  type SourceWarning,
} from './log-source.ts';
import type { OffsetStore } from './offset-store.ts';
import { StreamChunks } from './stream-chunks.ts';

export const DEFAULT_JOURNALCTL = 'journalctl';

/** Unit types systemd knows (systemd.unit(5)); a name ending in one of these is a unit. */
const UNIT_SUFFIX = /\.(service|socket|device|mount|automount|swap|target|path|timer|slice|scope)$/;
/** Identifiers and unit names: no spaces, no leading dash (never mistaken for an option). */
const MATCH_NAME = /^[A-Za-z0-9_@:+.\\/][A-Za-z0-9_@:+.\\/-]*$/;
/** A byte-array MESSAGE takes up to four JSON bytes per message byte, plus the other fields. */
const JSON_OVERHEAD_BYTES = 64 * 1024;
/** stderr kept for the error message: the reason is in the first lines. */
const STDERR_KEEP_BYTES = 4096;

export interface JournaldSourceOptions {
  /** The match after `journald:` (see above); '' for the whole journal. */
  match?: string;
  /** Path of journalctl. Default `journalctl` (looked up in PATH). */
  journalctlPath?: string;
  /** Without a saved cursor: only new entries ('end', default) or all the journal keeps ('start'). */
  from?: 'start' | 'end';
  /** true (default): follow. false: read what is there and stop. */
  follow?: boolean;
  offsets?: OffsetStore;
  /** The source's name and checkpoint key; default `journald:<match>`. */
  name?: string;
  maxLineBytes?: number;
}

export type JournalMatch = { unit: string } | { identifier: string };

/** Parses the match list; a SourceError (bad_source_spec) for a name journalctl could misread. */
export function parseJournalMatch(match: string): JournalMatch[] | SourceError {
  const names = match
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const out: JournalMatch[] = [];
  for (const name of names) {
    if (!MATCH_NAME.test(name)) {
      return new SourceError(
        'bad_source_spec',
        `journald:${match}: "${name}" is not a syslog identifier or unit name`,
        'use names like journald:sshd, journald:sshd,sshd-session or journald:ssh.service',
      );
    }
    out.push(UNIT_SUFFIX.test(name) ? { unit: name } : { identifier: name });
  }
  return out;
}

/** The argument array for journalctl (exported so tests and `--dry-run` can show it). */
export function journalctlArgs(matches: readonly JournalMatch[], cursor: string | null, from: 'start' | 'end', follow: boolean): string[] {
  const args = ['--output=json', '--no-pager', '--all'];
  if (follow) args.unshift('--follow');
  for (const m of matches) {
    if ('unit' in m) args.push('--unit', m.unit);
    else args.push('--identifier', m.identifier);
  }
  if (cursor !== null) args.push('--after-cursor', cursor);
  else if (from === 'start') args.push('--no-tail');
  else args.push('--lines=0');
  return args;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly spawnError: NodeJS.ErrnoException | null;
}

interface Run {
  readonly child: ChildProcess;
  readonly chunks: StreamChunks;
  readonly exited: Promise<Exit>;
  stderr: string;
  /** Entries received in this run (a refused cursor gives none). */
  entries: number;
  readonly usedCursor: boolean;
}

export function openJournaldSource(options: JournaldSourceOptions = {}): JournaldSource {
  return new JournaldSource(options);
}

export class JournaldSource implements LogSource {
  readonly name: string;
  readonly match: string;
  readonly #journalctl: string;
  readonly #from: 'start' | 'end';
  readonly #follow: boolean;
  readonly #offsets: OffsetStore | undefined;
  readonly #maxLineBytes: number;
  readonly #queue = new CallQueue();
  readonly #skipped: SkipCounts = emptySkipCounts();
  #splitter: LineSplitter;
  #run: Run | null = null;
  #cursor: string | null = null;
  #line = 0;
  #started = false;
  #ended = false;
  #closed = false;
  #warnings: SourceWarning[] = [];
  #matches: readonly JournalMatch[] = [];
  /** A failure found after some entries: delivered by the next call, after those entries. */
  #failure: SourceError | null = null;

  constructor(options: JournaldSourceOptions = {}) {
    this.match = options.match ?? '';
    this.name = options.name ?? `journald:${this.match}`;
    this.#journalctl = options.journalctlPath ?? DEFAULT_JOURNALCTL;
    this.#from = options.from ?? 'end';
    this.#follow = options.follow ?? true;
    this.#offsets = options.offsets;
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#splitter = this.#newSplitter();
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
    if (checkpoint.kind !== 'journald') throw new TypeError(`${this.name}: cannot acknowledge a ${checkpoint.kind} checkpoint`);
    this.#offsets?.save(this.name, checkpoint);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const run = this.#run;
    if (run !== null) {
      run.chunks.cancel();
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
      await run.exited;
    }
    await this.#queue.run(async () => undefined);
  }

  #newSplitter(): LineSplitter {
    return new LineSplitter({ maxLineBytes: this.#maxLineBytes * 4 + JSON_OVERHEAD_BYTES });
  }

  async #next(): Promise<SourceBatch | null> {
    if (!this.#started) {
      this.#started = true;
      const matches = parseJournalMatch(this.match);
      if (matches instanceof SourceError) {
        this.#ended = true;
        throw matches;
      }
      this.#matches = matches;
      const saved = this.#offsets?.load(this.name) ?? null;
      if (saved !== null && saved.kind === 'journald') {
        this.#cursor = saved.cursor;
        this.#line = saved.line;
      }
      this.#spawn();
    }
    for (;;) {
      if (this.#closed) return null;
      const failure = this.#failure;
      if (failure !== null) {
        this.#failure = null;
        this.#ended = true;
        throw failure;
      }
      const run = this.#run;
      if (this.#ended || run === null) return null;
      const chunk = await run.chunks.next();
      if (chunk !== null) {
        const batch = this.#batch(this.#splitter.push(chunk));
        if (batch !== null) return batch;
        continue;
      }
      // journalctl closed its output: it exited, or could not start.
      const exit = await run.exited;
      if (this.#closed) return null;
      const last = this.#batch(this.#splitter.end());
      this.#splitter = this.#newSplitter();
      this.#run = null;
      if (exit.spawnError !== null) {
        this.#failure = this.#spawnFailure(exit.spawnError);
      } else if (exit.code !== 0 && run.usedCursor && run.entries === 0 && /cursor/i.test(run.stderr)) {
        this.#warn(
          'checkpoint_stale',
          `${this.name}: journalctl refused the saved cursor (${firstLine(run.stderr)}); starting ${this.#from === 'start' ? 'from the oldest entry' : 'at the end'}`,
        );
        this.#cursor = null;
        this.#spawn();
        continue;
      } else if (exit.code !== 0) {
        this.#failure = new SourceError(
          'journalctl_failed',
          `${this.name}: journalctl exited with ${exit.code === null ? `signal ${exit.signal}` : `code ${exit.code}`}${run.stderr.trim() === '' ? '' : `: ${firstLine(run.stderr)}`}`,
          'run the same journalctl command by hand to see why (is the user in group systemd-journal or adm?)',
        );
      } else {
        this.#ended = true;
      }
      // What came before the end (or the failure, thrown by the next call) is delivered first.
      if (last !== null) return last;
    }
  }

  #spawn(): void {
    const args = journalctlArgs(this.#matches, this.#cursor, this.#from, this.#follow);
    const child = spawn(this.#journalctl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<Exit>((resolve) => {
      let spawnError: NodeJS.ErrnoException | null = null;
      child.once('error', (err: NodeJS.ErrnoException) => {
        spawnError = err;
        // A child that never started may not emit 'close'.
        if (child.pid === undefined) resolve({ code: null, signal: null, spawnError });
      });
      child.once('close', (code, signal) => resolve({ code, signal, spawnError }));
    });
    const run: Run = { child, chunks: new StreamChunks(child.stdout!), exited, stderr: '', entries: 0, usedCursor: this.#cursor !== null };
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (run.stderr.length < STDERR_KEEP_BYTES) run.stderr += text.slice(0, STDERR_KEEP_BYTES - run.stderr.length);
    });
    this.#run = run;
  }

  #spawnFailure(err: NodeJS.ErrnoException): SourceError {
    if (err.code === 'ENOENT') {
      return new SourceError(
        'journalctl_missing',
        `${this.name}: journalctl not found (${this.#journalctl})`,
        'journald sources need systemd\'s journalctl: give its path, or follow the log file instead (file:/var/log/auth.log)',
      );
    }
    return new SourceError('journalctl_failed', `${this.name}: cannot run ${this.#journalctl}: ${err.message}`, 'check that the path is an executable journalctl');
  }

  #warn(reason: SourceWarning['reason'], message: string): void {
    this.#warnings.push({ source: this.name, reason, message });
  }

  /** Journal entries of a split chunk → a batch; null when the chunk completed no entry and there is nothing to say. */
  #batch(split: { lines: SplitLine[]; skipped: { reason: 'too_long' | 'invalid_utf8' | 'binary'; line: number }[] }): SourceBatch | null {
    const warnings = this.#warnings;
    this.#warnings = [];
    // JSON lines journalctl wrote that were themselves unreadable (absurdly long): count, warn.
    for (const s of split.skipped) {
      this.#line += 1;
      warnings.push(...skipWarnings(this.name, [{ reason: s.reason, line: this.#line }], this.#skipped));
    }
    const lines: SourceLine[] = [];
    /** Cursor to resume from after lines[i]: the entry's, or for all but an entry's last line, the previous entry's (so a partly processed entry is read again, not lost). */
    const cursors: Array<string | null> = [];
    const run = this.#run;
    for (const jsonLine of split.lines) {
      const result = parseJournalEntry(jsonLine.text, this.#maxLineBytes);
      if (run !== null) run.entries += 1;
      const before = this.#cursor;
      if (!result.ok) {
        this.#line += 1;
        const p = result.problem;
        if (p.reason === 'bad_entry') {
          warnings.push({ source: this.name, reason: 'bad_entry', line: this.#line, message: `${this.name}: entry ${this.#line} skipped: ${p.detail}` });
        } else {
          warnings.push(...skipWarnings(this.name, [{ reason: p.reason, line: this.#line }], this.#skipped));
        }
        if (p.cursor !== null) this.#cursor = p.cursor;
        continue;
      }
      const entry = result.entry;
      entry.lines.forEach((text, i) => {
        this.#line += 1;
        lines.push({ line: this.#line, text });
        cursors.push(i === entry.lines.length - 1 ? (entry.cursor ?? before) : before);
      });
      if (entry.cursor !== null) this.#cursor = entry.cursor;
    }
    if (lines.length === 0 && warnings.length === 0) return null;
    const checkpoint: JournalCheckpoint = { kind: 'journald', cursor: this.#cursor, line: this.#line };
    return {
      source: this.name,
      lines,
      warnings,
      checkpoint,
      checkpointAfter(index: number): JournalCheckpoint {
        const l = lines[index];
        if (l === undefined) throw new RangeError(`checkpointAfter(${index}): no such line in this batch`);
        return { kind: 'journald', cursor: cursors[index] ?? null, line: l.line };
      },
    };
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
