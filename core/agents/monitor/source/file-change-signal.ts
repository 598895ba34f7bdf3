/**
 * Wakes a file follower when something may have changed: appended data, a rotation, a truncation,
 * the file appearing. It watches the file's directory, not the file: a watch on the file follows
 * its inode, so it would keep reporting the rotated file and never see the new one take the path.
 *
 * inotify can miss what we need (the directory does not exist yet, it is on NFS, it was deleted
 * and re-created, the watch limit is reached), so a short poll runs alongside: the watch makes the
 * follower prompt, the poll makes it correct.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** How long a change can go unnoticed when inotify says nothing; short, since each poll is only a stat. */
export const DEFAULT_POLL_INTERVAL_MS = 250;

export class FileChangeSignal {
  readonly #dir: string;
  readonly #base: string;
  readonly #pollIntervalMs: number;
  #watcher: FSWatcher | null = null;
  /** A change was seen since the last `clear()`: the next wait returns at once (no lost wake-up). */
  #dirty = false;
  #wake: (() => void) | null = null;
  #closed = false;

  constructor(path: string, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS) {
    this.#dir = dirname(path);
    this.#base = basename(path);
    this.#pollIntervalMs = pollIntervalMs;
  }

  /** Called just before looking at the file: changes from now on will end the next wait early. */
  clear(): void {
    this.#dirty = false;
  }

  /** Resolves at the next change near the file, after the poll interval, or at close. */
  wait(): Promise<void> {
    if (this.#closed || this.#dirty) {
      this.#dirty = false;
      return Promise.resolve();
    }
    this.#ensureWatcher();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        if (this.#wake === wake) this.#wake = null;
        resolve();
      }, this.#pollIntervalMs);
      this.#wake = wake;
    });
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = null;
    this.#signal();
  }

  #signal(): void {
    this.#dirty = true;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #ensureWatcher(): void {
    if (this.#watcher !== null || this.#closed) return;
    try {
      // persistent: false: the poll timer keeps the process alive while following, and a watcher
      // must never be what keeps a finished process from exiting.
      const watcher = watch(this.#dir, { persistent: false }, (_event, filename) => {
        // The followed file, its rotated names (auth.log.1, auth.log-20240102), or unknown.
        if (filename == null || String(filename).startsWith(this.#base)) this.#signal();
      });
      watcher.on('error', () => {
        // The directory went away or the watch broke: poll until it can be watched again.
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = null;
        this.#signal();
      });
      this.#watcher = watcher;
    } catch {
      // No directory yet, or no inotify: polling alone.
    }
  }
}
