/**
 * Retransmission timeout from measured round trips (RFC 6298): a smoothed RTT and its mean
 * deviation, RTO = SRTT + max(G, 4·RTTVAR) clamped to [min, max], doubled on every timeout
 * until a fresh sample arrives. Samples come only from segments sent once (Karn's rule), which
 * the caller enforces.
 */
export interface RttBounds {
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
}

/** Our clock ticks in milliseconds; RFC 6298's G keeps RTO above SRTT when RTTVAR is ~0. */
const CLOCK_GRANULARITY_MS = 1;
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const K = 4;
/** The baseline is the lowest SRTT over FLOOR_BUCKETS buckets of FLOOR_BUCKET_MS. */
const FLOOR_BUCKET_MS = 1000;
const FLOOR_BUCKETS = 10;

export class RttEstimator {
  #bounds: RttBounds;
  #srtt: number | null = null;
  /** The lowest SRTT of each of the last few seconds: the baseline a rising queue shows against. */
  #floors: Array<{ start: number; min: number }> = [];
  #rttvar = 0;
  #baseRto: number;
  #rto: number;

  constructor(bounds: RttBounds) {
    this.#bounds = bounds;
    this.#baseRto = this.#clamp(bounds.initialRtoMs);
    this.#rto = this.#baseRto;
  }

  /** Smoothed RTT in ms, or null before the first sample. */
  get srtt(): number | null {
    return this.#srtt;
  }

  /**
   * The lowest SRTT of the last ~10 s. A queue filling at a bottleneck pushes SRTT above it before
   * the queue overflows; random loss comes with none. (The smoothed RTT's floor, not the raw
   * minimum sample: reordering delivers some packets far early and makes that meaningless.) A
   * path that changes to a longer one is learnt within the window.
   */
  get baseline(): number | null {
    let min = Infinity;
    for (const f of this.#floors) if (f.min < min) min = f.min;
    return min === Infinity ? null : min;
  }

  get rttvar(): number {
    return this.#rttvar;
  }

  /** Current retransmission timeout, back-off included. */
  get rto(): number {
    return this.#rto;
  }

  /** One round trip of `rttMs`, measured at `now` (ms; any clock that only moves forward). */
  sample(rttMs: number, now = 0): void {
    const r = Math.max(0, rttMs);
    if (this.#srtt === null) {
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      this.#rttvar = (1 - BETA) * this.#rttvar + BETA * Math.abs(this.#srtt - r);
      this.#srtt = (1 - ALPHA) * this.#srtt + ALPHA * r;
    }
    this.#baseRto = this.#clamp(this.#srtt + Math.max(CLOCK_GRANULARITY_MS, K * this.#rttvar));
    const last = this.#floors.at(-1);
    if (!last || now - last.start >= FLOOR_BUCKET_MS) {
      this.#floors.push({ start: now, min: this.#srtt });
      if (this.#floors.length > FLOOR_BUCKETS) this.#floors.shift();
    } else if (this.#srtt < last.min) {
      last.min = this.#srtt;
    }
    // A fresh sample ends any back-off (RFC 6298 section 5, note on 5.7).
    this.#rto = this.#baseRto;
  }

  /**
   * New data was acknowledged: the path delivers again, so drop the back-off (keep SRTT).
   * RFC 6298 keeps it until a clean sample, but after a timeout every outstanding segment is a
   * retransmission that Karn's rule may not sample; under heavy loss the RTO then climbs to its
   * ceiling and stays there while data flows. Linux ends the back-off on such an ACK too.
   */
  resetBackoff(): void {
    this.#rto = this.#baseRto;
  }

  /** The timer expired: wait twice as long next time (RFC 6298 5.5). */
  backoff(): void {
    this.#rto = Math.min(this.#rto * 2, this.#bounds.maxRtoMs);
  }

  #clamp(ms: number): number {
    return Math.min(Math.max(ms, this.#bounds.minRtoMs), this.#bounds.maxRtoMs);
  }
}
