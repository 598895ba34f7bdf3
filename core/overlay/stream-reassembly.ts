/**
 * The receiver's out-of-order store: segments that arrived beyond the next expected byte wait
 * here, in sequence order, until the hole before them is filled. It also describes what it
 * holds as SACK blocks, so the sender retransmits only what is missing.
 *
 * The caller bounds it: a segment is only offered when it lies inside the advertised window and
 * the bytes held plus the new segment fit in the receive buffer.
 */
import type { SackBlock } from './stream-options.ts';

interface HeldSegment {
  readonly seq: number;
  readonly end: number;
  readonly data: Buffer;
}

/** Serial-number distance from b to a (RFC 1982): negative when a is before b. */
function distance(a: number, b: number): number {
  return (a - b) | 0;
}

export class Reassembly {
  /** Sorted by sequence number; small (bounded by the receive window), so an array is fine. */
  #held: HeldSegment[] = [];
  #bytes = 0;
  #latest: HeldSegment | null = null;

  /** Bytes held (overlapping segments count twice, which only makes the bound stricter). */
  get bytes(): number {
    return this.#bytes;
  }

  get segments(): number {
    return this.#held.length;
  }

  get isEmpty(): boolean {
    return this.#held.length === 0;
  }

  /**
   * Holds a segment that starts after the next expected byte. Returns false, and keeps nothing,
   * when those bytes are already held (a duplicate).
   */
  insert(seq: number, data: Buffer): boolean {
    const end = (seq + data.length) >>> 0;
    const held = this.#held;
    // First held segment that starts after seq.
    let lo = 0;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (distance(held[mid]!.seq, seq) <= 0) lo = mid + 1;
      else hi = mid;
    }
    // Covered by the segment before it (same start or earlier, reaching as far)?
    const before = lo > 0 ? held[lo - 1]! : null;
    if (before && distance(before.end, end) >= 0) return false;
    const segment = { seq, end, data };
    held.splice(lo, 0, segment);
    this.#bytes += data.length;
    this.#latest = segment;
    return true;
  }

  /**
   * Takes the next piece of data that continues the stream at `next` (the next expected byte),
   * trimmed to start exactly there, or null if the first hole is still open. Segments entirely
   * before `next` are discarded on the way.
   */
  take(next: number): Buffer | null {
    const held = this.#held;
    while (held.length > 0) {
      const first = held[0]!;
      if (distance(first.seq, next) > 0) return null;
      held.shift();
      this.#bytes -= first.data.length;
      if (this.#latest === first) this.#latest = null;
      if (distance(first.end, next) <= 0) continue; // already delivered
      return first.data.subarray(distance(next, first.seq));
    }
    return null;
  }

  /**
   * The held ranges as SACK blocks (RFC 2018 order): first the block holding the segment that
   * arrived last, so the sender learns of the newest arrival even if it reads only one block,
   * then the others from the lowest, where the holes the sender should fill first are.
   */
  sackBlocks(max: number): SackBlock[] {
    const blocks: SackBlock[] = [];
    let latestBlock: SackBlock | null = null;
    let start = 0;
    let end = 0;
    let holdsLatest = false;
    let open = false;
    const flush = () => {
      const block = { start, end };
      if (holdsLatest) latestBlock = block;
      else blocks.push(block);
    };
    for (const s of this.#held) {
      if (open && distance(s.seq, end) <= 0) {
        if (distance(s.end, end) > 0) end = s.end;
      } else {
        if (open) flush();
        start = s.seq;
        end = s.end;
        holdsLatest = false;
        open = true;
      }
      if (s === this.#latest) holdsLatest = true;
    }
    if (open) flush();
    const ordered = latestBlock ? [latestBlock, ...blocks] : blocks;
    return ordered.length > max ? ordered.slice(0, max) : ordered;
  }

  clear(): void {
    this.#held = [];
    this.#bytes = 0;
    this.#latest = null;
  }
}
