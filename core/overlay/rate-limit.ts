/**
 * Token buckets keyed by source (an IP, a peer key): a burst, then a steady rate. Used wherever a
 * stranger can make us do work: tunnel handshakes (Diffie-Hellman), trust messages (signature
 * checks, disk writes), registry requests.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxKeys: number;

  /** `maxKeys` bounds memory: past it the table is reset (a flood of sources gets fresh buckets). */
  constructor(burst: number, perSecond: number, maxKeys = 10_000) {
    this.#burst = burst;
    this.#perMs = perSecond / 1000;
    this.#maxKeys = maxKeys;
  }

  /** Takes one token for `key` at time `now` (ms); false when the source is over its rate. */
  take(key: string, now: number): boolean {
    let b = this.#buckets.get(key);
    if (!b) {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.clear();
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
    }
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
