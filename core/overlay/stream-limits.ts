/**
 * Timing and buffer limits of reliable streams (protocol 0x01). Defaults follow DESIGN.md
 * (keepalive 30 s, idle timeout 120 s) and TCP practice (RFC 6298 timers, RFC 6928 initial
 * window); tests shrink them to run in virtual time.
 */
export interface StreamLimits {
  /**
   * Receive buffer per stream, in segments: in-order bytes the application has not read yet plus
   * out-of-order segments waiting for a hole to fill. The advertised window never exceeds it, so
   * a peer cannot make us hold more than this however it sends.
   */
  receiveWindowSegments: number;
  /**
   * Bytes a stream may hold for sending (written but unsent, plus sent but unacknowledged).
   * `write()` returns false once this is reached, and refuses to go further until 'drain'.
   */
  sendBufferBytes: number;
  /** Segments in flight before the first acknowledgement (RFC 6928). */
  initialWindowSegments: number;
  /** RTO before any RTT sample (RFC 6298 says 1 s). */
  initialRtoMs: number;
  /**
   * Floor of the RTO. RFC 6298 asks for 1 s; like Linux we use 200 ms, which is still well above
   * any delayed-ACK or scheduling hiccup on the peer, and makes recovery from a tail loss fast.
   */
  minRtoMs: number;
  /** Ceiling of the RTO once it backs off (RFC 6298 allows 60 s). */
  maxRtoMs: number;
  /** Give up a connection attempt (SYN or SYN-ACK unanswered) after this long. */
  connectTimeoutMs: number;
  /**
   * A stream that received nothing for this long sends an ACK request, so NAT mappings on the
   * path stay open and a dead peer is noticed (DESIGN.md: 30 s).
   */
  keepaliveMs: number;
  /** A stream that received nothing at all for this long is aborted (DESIGN.md: 120 s). */
  idleTimeoutMs: number;
  /**
   * After both FINs are acknowledged the connection lingers this long to re-acknowledge a
   * retransmitted FIN whose ACK was lost, instead of answering it with a reset (Pilot: 10 s).
   */
  timeWaitMs: number;
  /** Send SACK blocks (on by default; off only to measure what they are worth). */
  selectiveAck: boolean;
  /** Live streams (any state, TIME_WAIT included) per peer and per node. */
  maxStreamsPerPeer: number;
  maxStreams: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  // 512 segments of ~1.4 kB is ~700 kB: enough for ~55 Mbit/s at 100 ms RTT per stream.
  receiveWindowSegments: 512,
  sendBufferBytes: 1024 * 1024,
  initialWindowSegments: 10,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 60_000,
  connectTimeoutMs: 10_000,
  keepaliveMs: 30_000,
  idleTimeoutMs: 120_000,
  timeWaitMs: 10_000,
  selectiveAck: true,
  maxStreamsPerPeer: 256,
  maxStreams: 4096,
};
