/**
 * Test support for the source tests (not used by the product): pulls a source's batches in the
 * background and lets a test wait for what it expects with a bounded wait and a message that says
 * what was missing, instead of sleeping.
 */
import type { LogSource, SourceBatch, SourceLine, SourceWarning } from './log-source.ts';

export const DEFAULT_WAIT_MS = 10_000;

export class BatchCollector {
  readonly batches: SourceBatch[] = [];
  readonly lines: SourceLine[] = [];
  readonly warnings: SourceWarning[] = [];
  error: unknown = null;
  ended = false;
  readonly done: Promise<void>;
  #listeners = new Set<() => void>();

  constructor(source: LogSource) {
    this.done = this.#pump(source);
  }

  texts(): string[] {
    return this.lines.map((l) => l.text);
  }

  async #pump(source: LogSource): Promise<void> {
    try {
      for (;;) {
        const batch = await source.next();
        if (batch === null) break;
        this.batches.push(batch);
        this.lines.push(...batch.lines);
        this.warnings.push(...batch.warnings);
        this.#notify();
      }
    } catch (err) {
      this.error = err;
    } finally {
      this.ended = true;
      this.#notify();
    }
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  /** Waits until `predicate()` holds; fails with `what` and what arrived so far after `timeoutMs`. */
  async until(what: string, predicate: () => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.error !== null) throw this.error;
      if (this.ended) throw new Error(`the source ended before ${what}; ${this.#summary()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${this.#summary()}`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#listeners.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#listeners.add(done);
      });
    }
  }

  untilLineCount(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.until(`${n} lines`, () => this.lines.length >= n, timeoutMs);
  }

  untilWarning(reason: SourceWarning['reason'], timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.until(`a ${reason} warning`, () => this.warnings.some((w) => w.reason === reason), timeoutMs);
  }

  #summary(): string {
    const last = this.lines.slice(-3).map((l) => JSON.stringify(l.text));
    const warnings = this.warnings.map((w) => w.reason).join(', ');
    return `got ${this.lines.length} lines (last: ${last.join(' ') || 'none'}), warnings: ${warnings || 'none'}`;
  }
}

/** `prefix from` … `prefix to`, one per line, each ending with LF. */
export function numberedLines(prefix: string, from: number, to: number): string {
  let out = '';
  for (let i = from; i <= to; i++) out += `${prefix} ${i}\n`;
  return out;
}

export function numberedTexts(prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${prefix} ${i}`);
  return out;
}
