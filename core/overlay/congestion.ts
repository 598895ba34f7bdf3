/**
 * AIMD congestion control in segments (RFC 5681, with RFC 3465 byte counting done in whole
 * segments): slow start doubles the window each round trip until ssthresh, congestion avoidance
 * then adds one segment per window's worth of acknowledgements, and a loss halves it
 * (multiplicative decrease); a retransmission timeout drops it to one segment.
 *
 * Loss that is not congestion (the stream sees no queue building up in its RTT: a lossy radio
 * link, a bad cable, a 30 %-loss lab path) gets a mild response instead, in the spirit of TCP
 * Veno: the window shrinks by 15 % and keeps growing, so the sender keeps the path full. Halving
 * on every random loss would hold a 10 %-loss path to a few segments per round trip (Mathis et
 * al.: rate ~ 1.2 / sqrt(p) segments per RTT) whatever its capacity.
 */

/** Never halve below two segments: with one, a lost segment can only be found by the RTO. */
const MIN_SSTHRESH_SEGMENTS = 2;
/** RFC 5681's loss window after a timeout. */
const LOSS_WINDOW_SEGMENTS = 1;
/** Random (non-congestive) loss: keep this share of the window, and at least this many segments. */
const RANDOM_LOSS_BETA = 0.85;
const RANDOM_LOSS_MIN_WINDOW = 4;

export class AimdCongestion {
  #cwnd: number;
  #ssthresh: number;
  #maxWindow: number;
  /** Acknowledged segments counted toward the next +1 in congestion avoidance. */
  #avoidanceCredit = 0;

  constructor(initialWindow: number, maxWindow: number) {
    this.#maxWindow = Math.max(1, maxWindow);
    this.#cwnd = Math.min(Math.max(1, initialWindow), this.#maxWindow);
    this.#ssthresh = this.#maxWindow;
  }

  /** Congestion window, in segments. */
  get cwnd(): number {
    return this.#cwnd;
  }

  get ssthresh(): number {
    return this.#ssthresh;
  }

  get inSlowStart(): boolean {
    return this.#cwnd < this.#ssthresh;
  }

  /**
   * New data was acknowledged. `cwndLimited` says whether the sender was actually using the
   * window: growing it while the application or the receiver was the limit would let it balloon
   * to a size the path never proved it can carry (RFC 7661).
   */
  onAck(ackedSegments: number, cwndLimited: boolean): void {
    if (!cwndLimited || ackedSegments <= 0) return;
    let credit = ackedSegments;
    if (this.#cwnd < this.#ssthresh) {
      const grow = Math.min(credit, this.#ssthresh - this.#cwnd);
      this.#cwnd += grow;
      credit -= grow;
    }
    if (credit > 0) {
      this.#avoidanceCredit += credit;
      while (this.#avoidanceCredit >= this.#cwnd) {
        this.#avoidanceCredit -= this.#cwnd;
        this.#cwnd++;
      }
    }
    if (this.#cwnd > this.#maxWindow) this.#cwnd = this.#maxWindow;
  }

  /** Loss found by duplicate ACKs or SACK holes (fast retransmit): halve. */
  onLoss(flightSegments: number): void {
    this.#ssthresh = Math.max(Math.floor(flightSegments / 2), MIN_SSTHRESH_SEGMENTS);
    this.#cwnd = this.#ssthresh;
    this.#avoidanceCredit = 0;
  }

  /**
   * Loss without a queue behind it (see the class comment): shrink a little, and keep probing
   * upwards quickly (slow start to twice the window): with no queue, the path has room, and only
   * a rising RTT, which turns losses back into congestion signals, should stop the growth.
   */
  onRandomLoss(): void {
    this.#cwnd = Math.max(Math.min(RANDOM_LOSS_MIN_WINDOW, this.#cwnd), Math.floor(this.#cwnd * RANDOM_LOSS_BETA));
    this.#ssthresh = Math.min(this.#maxWindow, Math.max(this.#ssthresh, this.#cwnd * 2));
    this.#avoidanceCredit = 0;
  }

  /** A timeout with no queue behind it: a lost retransmission, not a dead path. Halve, keep ssthresh. */
  onRandomTimeout(): void {
    this.#cwnd = Math.max(MIN_SSTHRESH_SEGMENTS, Math.floor(this.#cwnd / 2));
    this.#avoidanceCredit = 0;
  }

  /** The retransmission timer expired: the path may have changed entirely, start over. */
  onTimeout(flightSegments: number): void {
    this.#ssthresh = Math.max(Math.floor(flightSegments / 2), MIN_SSTHRESH_SEGMENTS);
    this.#cwnd = LOSS_WINDOW_SEGMENTS;
    this.#avoidanceCredit = 0;
  }
}
