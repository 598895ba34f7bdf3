/**
 * Lines from a readable stream: standard input by default (`journalctl -f | swarmctl monitor scan -`,
 * `zcat auth.log.2.gz | …`). A stream cannot be re-read, so its checkpoints are informational and
 * ack() saves nothing; the final line counts even without LF.
 */
import type { Readable } from 'node:stream';
import { LineSplitter, type SplitResult } from './line-splitter.ts';
import {
  CallQueue,
  SourceError,
  emptySkipCounts,
  iterateBatches,
  skipWarnings,
  type Checkpoint,
  type LogSource,
  type SkipCounts,
  type SourceBatch,
  type StreamCheckpoint,
} from './log-source.ts';
import { StreamChunks } from './stream-chunks.ts';

export interface StreamSourceOptions {
  /** Default `stdin`. */
  name?: string;
  maxLineBytes?: number;
}

export function openStdinSource(stream: Readable = process.stdin, options: StreamSourceOptions = {}): StreamSource {
  return new StreamSource(stream, options);
}

export class StreamSource implements LogSource {
  readonly name: string;
  readonly #chunks: StreamChunks;
  readonly #splitter: LineSplitter;
  readonly #queue = new CallQueue();
  readonly #skipped: SkipCounts = emptySkipCounts();
  #ended = false;
  #closed = false;

  constructor(stream: Readable, options: StreamSourceOptions = {}) {
    this.name = options.name ?? 'stdin';
    this.#chunks = new StreamChunks(stream);
    this.#splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes });
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

  ack(_checkpoint: Checkpoint): void {
    // A stream cannot be resumed: nothing to save.
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#chunks.cancel();
    await this.#queue.run(async () => undefined);
  }

  async #next(): Promise<SourceBatch | null> {
    for (;;) {
      if (this.#ended || this.#closed) return null;
      let chunk: Buffer | null;
      try {
        chunk = await this.#chunks.next();
      } catch (err) {
        throw new SourceError('stream_failed', `${this.name}: reading failed: ${(err as Error).message}`, 'check what writes to it');
      }
      if (chunk === null) {
        if (this.#closed) return null;
        this.#ended = true;
        const last = this.#splitter.end();
        return last.lines.length > 0 || last.skipped.length > 0 ? this.#batch(last) : null;
      }
      const result = this.#splitter.push(chunk);
      if (result.lines.length > 0 || result.skipped.length > 0) return this.#batch(result);
    }
  }

  #batch(result: SplitResult): SourceBatch {
    const checkpoint: StreamCheckpoint = { kind: 'stream', offset: this.#splitter.offset, line: this.#splitter.line };
    const lines = result.lines;
    return {
      source: this.name,
      lines,
      warnings: skipWarnings(this.name, result.skipped, this.#skipped),
      checkpoint,
      checkpointAfter(index: number): StreamCheckpoint {
        const l = lines[index];
        if (l === undefined) throw new RangeError(`checkpointAfter(${index}): no such line in this batch`);
        return { kind: 'stream', offset: l.end, line: l.line };
      },
    };
  }
}
