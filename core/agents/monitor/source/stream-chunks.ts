/**
 * Pulls chunks from a Readable one at a time, so the stream's own high-water mark is the only
 * buffer: while the consumer does not ask, the stream stops reading (a pipe fills and its writer
 * blocks). Unlike `for await`, cancelling does not destroy the stream, so stdin can be left
 * usable.
 */
import type { Readable } from 'node:stream';

export class StreamChunks {
  readonly #stream: Readable;
  #ended = false;
  #error: Error | null = null;
  #cancelled = false;
  #wake: (() => void) | null = null;
  readonly #onReadable = (): void => this.#signal();
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#signal();
  };
  readonly #onError = (err: Error): void => {
    this.#error = err;
    this.#signal();
  };

  constructor(stream: Readable) {
    this.#stream = stream;
    stream.on('readable', this.#onReadable);
    stream.on('end', this.#onEnd);
    stream.on('close', this.#onEnd);
    stream.on('error', this.#onError);
  }

  /** The next chunk, or null at the end of the stream or after cancel(). Rejects with the stream's error. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.#cancelled) return null;
      if (this.#error !== null) throw this.#error;
      const chunk = this.#stream.read() as Buffer | string | null;
      if (chunk !== null) return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (this.#ended || this.#stream.readableEnded) return null;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Stops: a pending next() resolves null; the stream is left as it is (paused), not destroyed. */
  cancel(): void {
    this.#cancelled = true;
    this.#stream.off('readable', this.#onReadable);
    this.#stream.off('end', this.#onEnd);
    this.#stream.off('close', this.#onEnd);
    this.#stream.off('error', this.#onError);
    this.#signal();
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
