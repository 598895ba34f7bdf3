/**
 * The sender's record of segments sent and not yet cumulatively acknowledged: which of them the
 * receiver reported holding (SACK), which are deemed lost, and how many are still in the
 * network ("pipe", RFC 6675), which is what the congestion window limits.
 *
 * Loss is decided by transmission order, like QUIC's packet threshold: a segment is lost once
 * three segments transmitted after it were delivered (and it is older than a reordering window). Unlike counting SACKed segments above a
 * hole, this also notices a retransmission that was itself lost, without waiting for the RTO.
 */
import type { SackBlock } from './stream-options.ts';

/** Segments delivered after one before it is called lost; as TCP's three duplicate ACKs. */
export const REORDERING_THRESHOLD = 3;

export class SentSegment {
  readonly seq: number;
  /** One past the last sequence number used (a FIN uses one). */
  readonly end: number;
  /** What goes on the wire after the header: the option-area byte, then the data. */
  readonly payload: Buffer;
  readonly dataLength: number;
  readonly flags: number;
  sentAt = 0;
  transmissions = 0;
  /** Position in the order of all transmissions on this stream, retransmissions included. */
  txOrder = 0;
  sacked = false;
  lost = false;
  inPipe = false;

  constructor(seq: number, end: number, payload: Buffer, dataLength: number, flags: number) {
    this.seq = seq;
    this.end = end;
    this.payload = payload;
    this.dataLength = dataLength;
    this.flags = flags;
  }
}

/** What a cumulative acknowledgement removed (reused between calls: no allocation per ACK). */
export interface AckedRange {
  segments: number;
  bytes: number;
  /**
   * When the newest segment acknowledged was sent, if the acknowledgement is an honest round
   * trip for it, or -1. It is not when any segment it covers was retransmitted (Karn: which copy
   * is answered?) or SACKed earlier (the ACK was held back by a hole, not by the path).
   */
  sampleSentAt: number;
}

/** A round-trip sample from segments the receiver just reported holding (reused between calls). */
export interface SackedRange {
  /** Newly SACKed segments. */
  segments: number;
  /** When the newest newly SACKed segment that was sent once was sent, or -1. */
  sampleSentAt: number;
}

function distance(a: number, b: number): number {
  return (a - b) | 0;
}

export class Scoreboard {
  #segments: SentSegment[] = [];
  #head = 0;
  #pipe = 0;
  #sacked = 0;
  #lost = 0;
  #bytes = 0;
  #txCounter = 0;
  #largestDeliveredTx = 0;
  #lossCheckedAt = 0;
  /** When the youngest segment the last loss check passed over (too young to call lost) comes of age. */
  #recheckAt = Infinity;

  /** Segments outstanding (sent, not cumulatively acknowledged), SACKed ones included. */
  get length(): number {
    return this.#segments.length - this.#head;
  }

  get first(): SentSegment | null {
    return this.#segments[this.#head] ?? null;
  }

  /** Segments believed to be in the network: neither SACKed nor deemed lost. */
  get pipe(): number {
    return this.#pipe;
  }

  get sackedCount(): number {
    return this.#sacked;
  }

  /** Segments deemed lost and not yet retransmitted. */
  get lostCount(): number {
    return this.#lost;
  }

  /** Data bytes outstanding. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Transmissions so far (the txOrder of the latest). */
  get txCounter(): number {
    return this.#txCounter;
  }

  add(segment: SentSegment): void {
    this.#segments.push(segment);
    this.#bytes += segment.dataLength;
  }

  /** Records a (re)transmission of a segment already added. */
  transmitted(segment: SentSegment, now: number): void {
    segment.transmissions++;
    segment.sentAt = now;
    segment.txOrder = ++this.#txCounter;
    if (segment.lost) {
      segment.lost = false;
      this.#lost--;
    }
    if (!segment.inPipe) {
      segment.inPipe = true;
      this.#pipe++;
    }
  }

  /** Removes every segment that `ack` covers entirely. */
  acknowledge(ack: number, out: AckedRange): void {
    out.segments = 0;
    out.bytes = 0;
    out.sampleSentAt = -1;
    let honest = true;
    const segments = this.#segments;
    while (this.#head < segments.length) {
      const s = segments[this.#head]!;
      if (distance(s.end, ack) > 0) break;
      if (s.inPipe) this.#pipe--;
      if (s.sacked) this.#sacked--;
      if (s.lost) this.#lost--;
      this.#bytes -= s.dataLength;
      if (s.txOrder > this.#largestDeliveredTx) this.#largestDeliveredTx = s.txOrder;
      if (s.transmissions !== 1 || s.sacked) honest = false;
      else if (s.sentAt > out.sampleSentAt) out.sampleSentAt = s.sentAt;
      out.segments++;
      out.bytes += s.dataLength;
      segments[this.#head++] = undefined as unknown as SentSegment; // let it be collected
    }
    if (!honest) out.sampleSentAt = -1;
    if (this.#head === segments.length) {
      this.#segments = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= segments.length) {
      this.#segments = segments.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Marks the segments the receiver reports holding. Blocks outside [una, nxt) are ignored (a
   * confused or stale report must not make us forget data).
   */
  markSacked(blocks: readonly SackBlock[], una: number, nxt: number, out: SackedRange): void {
    out.segments = 0;
    out.sampleSentAt = -1;
    const segments = this.#segments;
    for (const block of blocks) {
      if (distance(block.end, block.start) <= 0 || distance(block.start, una) < 0 || distance(block.end, nxt) > 0) continue;
      // First segment starting at or after the block's start.
      let lo = this.#head;
      let hi = segments.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (distance(segments[mid]!.seq, block.start) < 0) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < segments.length; i++) {
        const s = segments[i]!;
        if (distance(s.end, block.end) > 0) break;
        if (s.sacked) continue;
        s.sacked = true;
        this.#sacked++;
        if (s.inPipe) {
          s.inPipe = false;
          this.#pipe--;
        }
        if (s.lost) {
          s.lost = false;
          this.#lost--;
        }
        if (s.txOrder > this.#largestDeliveredTx) this.#largestDeliveredTx = s.txOrder;
        if (s.transmissions === 1 && s.sentAt > out.sampleSentAt) out.sampleSentAt = s.sentAt;
        out.segments++;
      }
    }
  }

  /**
   * Deems lost every segment still in the pipe that was transmitted `threshold` or more
   * transmissions before the latest one known delivered, and at least `minAgeMs` before `now`
   * (RFC 8985's reordering window: a segment overtaken by later ones is given time to arrive
   * before it is resent, so a path that reorders does not make us resend its in-flight data
   * over and over). Returns how many it marked.
   */
  detectLosses(threshold: number, now = 0, minAgeMs = 0): number {
    // Nothing new delivered and nothing waiting to come of age: nothing can have changed.
    if (this.#largestDeliveredTx === this.#lossCheckedAt && this.#recheckAt === Infinity) return 0;
    this.#lossCheckedAt = this.#largestDeliveredTx;
    this.#recheckAt = Infinity;
    const limit = this.#largestDeliveredTx - threshold;
    let marked = 0;
    const segments = this.#segments;
    for (let i = this.#head; i < segments.length; i++) {
      const s = segments[i]!;
      if (s.inPipe && s.txOrder <= limit) {
        if (minAgeMs > 0 && now - s.sentAt < minAgeMs) {
          // Look again at the next ACK, delivery or not, or at recheckAt.
          if (s.sentAt + minAgeMs < this.#recheckAt) this.#recheckAt = s.sentAt + minAgeMs;
          continue;
        }
        this.markLost(s);
        marked++;
      }
    }
    return marked;
  }

  /** When the youngest-too-young segment of the last loss check comes of age (Infinity: none). */
  get recheckAt(): number {
    return this.#recheckAt;
  }

  /** Deems one segment lost (duplicate ACKs, a partial ACK in recovery). */
  markLost(segment: SentSegment): void {
    if (segment.sacked || segment.lost) return;
    segment.lost = true;
    this.#lost++;
    if (segment.inPipe) {
      segment.inPipe = false;
      this.#pipe--;
    }
  }

  /** The retransmission timer expired: everything not SACKed must be sent again. */
  markAllLost(): void {
    const segments = this.#segments;
    for (let i = this.#head; i < segments.length; i++) this.markLost(segments[i]!);
  }

  /** The lowest segment deemed lost and not yet retransmitted. */
  nextLost(): SentSegment | null {
    if (this.#lost === 0) return null;
    const segments = this.#segments;
    for (let i = this.#head; i < segments.length; i++) if (segments[i]!.lost) return segments[i]!;
    return null;
  }

  /** The highest outstanding segment the receiver has not reported holding (a tail-loss probe resends it). */
  lastUnsacked(): SentSegment | null {
    const segments = this.#segments;
    for (let i = segments.length - 1; i >= this.#head; i--) if (!segments[i]!.sacked) return segments[i]!;
    return null;
  }

  clear(): void {
    this.#segments = [];
    this.#head = 0;
    this.#pipe = this.#sacked = this.#lost = this.#bytes = 0;
  }
}
