/**
 * Anti-replay sliding window for 64-bit packet counters (the bitmap scheme of RFC 6479).
 *
 * A counter is accepted once, and only if it is newer than the highest seen or falls inside the
 * window behind it; anything older is rejected. UDP reorders, so the window must be wide enough
 * to absorb a burst arriving out of order: 2048 counters covers several round trips at full rate.
 *
 * Counters are plain numbers: sessions rekey long before 2^53 packets (see timers.ts), and the
 * transport rejects any counter past REJECT_AFTER_MESSAGES before it gets here.
 */
const WORD_BITS = 32;
export const REPLAY_WINDOW_WORDS = 64;
const RING_BITS = REPLAY_WINDOW_WORDS * WORD_BITS; // 2048
/** How far behind the highest counter a packet may arrive and still be accepted. */
export const REPLAY_WINDOW_SIZE = RING_BITS - WORD_BITS;

export class ReplayWindow {
  #ring = new Uint32Array(REPLAY_WINDOW_WORDS);
  #highest = -1;

  /** True if `counter` has not been seen and is not too old. Does not record it. */
  check(counter: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0) return false;
    if (counter > this.#highest) return true;
    if (this.#highest - counter >= REPLAY_WINDOW_SIZE) return false;
    const word = Math.floor(counter / WORD_BITS) % REPLAY_WINDOW_WORDS;
    const bit = 1 << (counter % WORD_BITS);
    return (this.#ring[word]! & bit) === 0;
  }

  /** Records `counter` as seen. Call only after the packet authenticated; returns false on a replay. */
  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    if (counter > this.#highest) {
      const oldWord = this.#highest < 0 ? -1 : Math.floor(this.#highest / WORD_BITS);
      const newWord = Math.floor(counter / WORD_BITS);
      // Clear the words we slide over so stale bits from a previous lap are not mistaken for replays.
      const steps = Math.min(newWord - oldWord, REPLAY_WINDOW_WORDS);
      for (let i = 1; i <= steps; i++) this.#ring[(oldWord + i) % REPLAY_WINDOW_WORDS] = 0;
      this.#highest = counter;
    }
    const word = Math.floor(counter / WORD_BITS) % REPLAY_WINDOW_WORDS;
    this.#ring[word] = this.#ring[word]! | (1 << (counter % WORD_BITS));
    return true;
  }

  get highest(): number {
    return this.#highest;
  }
}
