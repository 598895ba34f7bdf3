/**
 * Sliding windows over event time for one source. Times passed in never go backwards (the engine
 * clamps each source's times to its latest), so both windows stay sorted and forget from the front.
 * A window of W ms holds the attempts at times e with `now - e <= W` (inclusive, like fail2ban's
 * findtime).
 */

/**
 * Attempts (time, weight) within the window, oldest first, and their total weight. One array
 * holds time and weight side by side (one object to reach, not two), and it is reused: clearing
 * or forgetting moves indices instead of reallocating, since a source's episodes start and end
 * all the time. Detectors extend this class rather than holding one, for the same reason.
 */
export class TimeWindowCount {
  readonly #windowMs: number;
  /** [time0, weight0, time1, weight1, ...]; entries head..tail-1 are current (in entry units). */
  readonly #entries: number[] = [];
  #head = 0;
  #tail = 0;
  #sum = 0;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  get sum(): number {
    return this.#sum;
  }

  get entries(): number {
    return this.#tail - this.#head;
  }

  /** Forgets attempts older than the window at `now`; returns their total weight. */
  advance(now: number): number {
    const oldest = now - this.#windowMs;
    const entries = this.#entries;
    let head = this.#head;
    let forgotten = 0;
    while (head < this.#tail && (entries[2 * head] as number) < oldest) {
      forgotten += entries[2 * head + 1] as number;
      head++;
    }
    if (forgotten > 0) {
      this.#sum -= forgotten;
      if (head === this.#tail) head = this.#tail = 0;
      this.#head = head;
    }
    return forgotten;
  }

  add(time: number, count: number): void {
    const entries = this.#entries;
    // When the array is full, reuse the consumed front if it is at least half of it (each
    // compaction then moves at most as many entries as were added since the last one: amortised
    // O(1)); otherwise let the array grow.
    if (2 * this.#tail === entries.length && this.#head > 0 && 4 * this.#head >= entries.length) this.#compact();
    const at = 2 * this.#tail;
    entries[at] = time;
    entries[at + 1] = count;
    this.#tail++;
    this.#sum += count;
  }

  /**
   * Drops the oldest attempts while the newer ones alone still reach `atLeast`. Whether the window
   * reaches `atLeast` at any later time is unchanged by this (an older attempt never outlives a newer
   * one), so a "were there N failures in the window" question stays exact with at most N entries.
   * Returns the dropped weight.
   */
  dropRedundant(atLeast: number): number {
    const entries = this.#entries;
    let dropped = 0;
    while (this.#head < this.#tail) {
      const oldestCount = entries[2 * this.#head + 1] as number;
      if (this.#sum - oldestCount < atLeast) break;
      this.#sum -= oldestCount;
      dropped += oldestCount;
      this.#head++;
    }
    return dropped;
  }

  clear(): void {
    this.#head = 0;
    this.#tail = 0;
    this.#sum = 0;
  }

  /** Moves the live entries to the front instead of growing the array. */
  #compact(): void {
    const entries = this.#entries;
    const from = 2 * this.#head;
    const end = 2 * this.#tail;
    for (let i = from; i < end; i++) entries[i - from] = entries[i] as number;
    this.#tail -= this.#head;
    this.#head = 0;
  }
}

/**
 * Distinct keys (users, ports) seen within the window: each key with its latest time and the
 * attempts it stands for, chained oldest first so forgetting looks only at the front. A key seen
 * again moves to the end of the chain without touching the Map (V8 Maps pay for delete-and-insert
 * churn), and entry objects are reused.
 */
export class KeyedTimeWindow<K> {
  readonly #windowMs: number;
  readonly #keys = new Map<K, KeyEntry<K>>();
  #oldest: KeyEntry<K> | null = null;
  #newest: KeyEntry<K> | null = null;
  #spare: KeyEntry<K> | null = null;
  #sum = 0;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Distinct keys in the window. */
  get size(): number {
    return this.#keys.size;
  }

  /** Attempts by the keys in the window. */
  get sum(): number {
    return this.#sum;
  }

  advance(now: number): number {
    const oldest = now - this.#windowMs;
    let forgotten = 0;
    for (let entry = this.#oldest; entry !== null && entry.time < oldest; entry = this.#oldest) {
      forgotten += entry.count;
      this.#keys.delete(entry.key);
      this.#unlink(entry);
      entry.newer = this.#spare;
      this.#spare = entry;
    }
    this.#sum -= forgotten;
    return forgotten;
  }

  add(key: K, time: number, count: number): void {
    this.#sum += count;
    const known = this.#keys.get(key);
    if (known !== undefined) {
      known.time = time;
      known.count += count;
      if (known !== this.#newest) {
        this.#unlink(known);
        this.#append(known);
      }
      return;
    }
    let entry = this.#spare;
    if (entry !== null) {
      this.#spare = entry.newer;
      entry.key = key;
      entry.time = time;
      entry.count = count;
    } else {
      entry = { key, time, count, older: null, newer: null };
    }
    this.#keys.set(key, entry);
    this.#append(entry);
  }

  clear(): void {
    if (this.#keys.size === 0) return;
    this.#keys.clear();
    if (this.#newest !== null) {
      this.#newest.newer = this.#spare;
      this.#spare = this.#oldest;
    }
    this.#oldest = this.#newest = null;
    this.#sum = 0;
  }

  #append(entry: KeyEntry<K>): void {
    entry.older = this.#newest;
    entry.newer = null;
    if (this.#newest !== null) this.#newest.newer = entry;
    else this.#oldest = entry;
    this.#newest = entry;
  }

  #unlink(entry: KeyEntry<K>): void {
    if (entry.older !== null) entry.older.newer = entry.newer;
    else this.#oldest = entry.newer;
    if (entry.newer !== null) entry.newer.older = entry.older;
    else this.#newest = entry.older;
    entry.older = entry.newer = null;
  }
}

interface KeyEntry<K> {
  key: K;
  time: number;
  count: number;
  older: KeyEntry<K> | null;
  newer: KeyEntry<K> | null;
}
