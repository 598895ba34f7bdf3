/**
 * A reliable, ordered byte stream to a trusted peer (protocol 0x01), TCP-like: three-way
 * handshake, cumulative ACK plus SACK blocks, RFC 6298 retransmission timer, AIMD congestion
 * control with fast retransmit, flow control from the receiver's window (in segments) with
 * zero-window probes, FIN in each direction, RST, keepalive and idle timeout. The wire format is
 * in docs/protocol.md ("Streams").
 *
 * The application sees an EventEmitter rather than a Node Duplex: every packet of a transfer
 * goes through here, and a Duplex adds buffering, nextTick hops and per-chunk bookkeeping this
 * class does not need. Backpressure works the Node way all the same:
 *
 *   write(buf) → false once the send buffer is full; wait for 'drain'. Writing on regardless
 *                throws ('send_buffer_full'), so the buffer stays bounded.
 *   'data'     (chunk: Buffer) in order; pause() stops it, and the receive window shrinks to
 *              zero, so the sender stops too; resume() starts it again. Data arriving before a
 *              'data' listener is attached is held, not lost.
 *   'end'      the peer finished sending (its FIN); we may still write until end().
 *   'drain'    the send buffer has room again.
 *   'close'    (error: Error | null) the stream is finished, cleanly or not. Emitted once.
 *   'error'    (error: StreamError) only when someone listens; 'close' carries it too, so a
 *              reset by a peer cannot crash a process that forgot an error handler.
 *
 * Chunks handed to 'data' are views of the decrypted packet, not copies: keep them as long as
 * you like, they are not reused.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AimdCongestion } from './congestion.ts';
import type { StreamLimits } from './stream-limits.ts';
import { decodeOptionArea, encodeStreamPayload, NO_OPTIONS, OPTION_AREA_PREFIX, type SegmentOptions } from './stream-options.ts';
import { Reassembly } from './stream-reassembly.ts';
import { RttEstimator } from './stream-rtt.ts';
import { REORDERING_THRESHOLD, Scoreboard, SentSegment, type AckedRange, type SackedRange } from './stream-scoreboard.ts';
import { FLAG_ACK, FLAG_FIN, FLAG_RST, FLAG_SYN, type Packet } from './wire.ts';

/** What a stream needs to know about its peer (the node's PeerView has it). */
export interface StreamPeer {
  readonly keyId: string;
  readonly hostname: string | null;
}

/** What a stream needs from the node: a clock, the trust gate and a way to send a segment. */
export interface StreamLink {
  now(): number;
  isTrusted(peerKeyId: string): boolean;
  send(peerKeyId: string, srcPort: number, dstPort: number, flags: number, seq: number, ack: number, window: number, payload: Uint8Array): void;
}

export type StreamErrorCode =
  | 'refused'
  | 'reset'
  | 'timeout'
  | 'not_trusted'
  | 'closed'
  | 'send_buffer_full'
  | 'write_after_end'
  | 'too_many_streams'
  | 'port_in_use';

export class StreamError extends Error {
  readonly code: StreamErrorCode;
  constructor(code: StreamErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export type StreamState = 'syn-sent' | 'syn-received' | 'established' | 'time-wait' | 'closed';

export interface StreamStats {
  segmentsSent: number;
  segmentsReceived: number;
  /** Data bytes sent once (retransmissions not counted). */
  bytesSent: number;
  /** Data bytes delivered in order. */
  bytesReceived: number;
  retransmittedSegments: number;
  /** Times loss was found by duplicate ACKs or SACK and the window reduced. */
  fastRecoveries: number;
  /** Of those, how many were judged random loss (no queueing in the RTT) and got the mild response. */
  randomLossRecoveries: number;
  /** Times the retransmission timer expired. */
  timeouts: number;
  windowProbesSent: number;
  /** Tail-loss probes (RFC 8985): a segment sent after 2·SRTT of silence to draw an ACK; counted in retransmittedSegments when it resends data. */
  tailLossProbes: number;
  keepalivesSent: number;
  duplicateSegments: number;
  outOfOrderSegments: number;
  /** Segments dropped because they did not fit the receive buffer. */
  droppedOutOfWindow: number;
  malformedSegments: number;
}

/** Called by the stream table; not part of the application's API. */
export interface StreamControl {
  readonly stream: OverlayStream;
  readonly inTimeWait: boolean;
  receive(packet: Packet): void;
  connect(): Promise<void>;
  accept(syn: Packet): void;
  abort(error: StreamError | null, sendReset: boolean): void;
}

export interface StreamInit {
  link: StreamLink;
  limits: StreamLimits;
  /** Largest data in one segment (the tunnel MTU minus the option-area byte). */
  maxSegmentData: number;
  peer: StreamPeer;
  localPort: number;
  remotePort: number;
  /** The stream is gone (closed, TIME_WAIT over, or never established): forget it. */
  onRelease(control: StreamControl): void;
  /** A passively opened stream completed its handshake. */
  onEstablished?(stream: OverlayStream): void;
}

/**
 * In-order data is acknowledged once per event-loop turn (setImmediate runs after libuv has read
 * the batch of datagrams that arrived), and at the latest every this many segments. libuv reads
 * up to 32 datagrams per poll, so at full speed that is one ACK per read batch. Each ACK costs
 * an encryption and a system call: ACKing every second segment, as TCP does, sent 16 times as
 * many ACKs and cost ~40 % more CPU per segment on loopback (64 vs 46 µs, both ends in one
 * process). On a slow path a batch holds a segment or two, and every segment is ACKed promptly. The sender counts acknowledged segments, not ACKs,
 * so its window grows just as fast.
 */
const ACK_EVERY_SEGMENTS = 32;
/** Duplicate ACKs that mean a segment was lost, not reordered (RFC 5681). */
const DUP_ACK_THRESHOLD = 3;
/** Blocks per ACK: a TCP header has room for 3 or 4; our option area for 31. More blocks, fewer blind retransmissions under heavy loss. */
const MAX_SACK_BLOCKS = 16;
/** The window field is 16 bits. */
const MAX_WINDOW_FIELD = 0xffff;
const NO_LIMIT = Number.POSITIVE_INFINITY;
/**
 * Loss counts as random (not congestion) when the smoothed RTT is within this much of its
 * baseline (its floor over the last seconds): 10 ms, or a quarter of the baseline on long paths
 * (jitter grows with distance).
 */
const RANDOM_LOSS_QUEUE_MS = 10;
const RANDOM_LOSS_QUEUE_SHARE = 0.25;
/**
 * Tail-loss probe timing (RFC 8985): 2·SRTT after the last ACK, never sooner than this. Before
 * any RTT sample the RTO alone applies.
 */
const MIN_PROBE_TIMEOUT_MS = 10;
const EMPTY = Buffer.alloc(0);
const ZERO_WINDOW_ONLY: SegmentOptions = Object.freeze({ sack: null, zeroWindow: true, ackRequest: false });

function distance(a: number, b: number): number {
  return (a - b) | 0;
}

function randomIsn(): number {
  // Random initial sequence numbers keep a late segment of an earlier stream on the same ports
  // from landing inside this one's window.
  return randomInt(0x1_0000_0000);
}

export class OverlayStream extends EventEmitter {
  readonly peer: StreamPeer;
  readonly localPort: number;
  readonly remotePort: number;
  readonly stats: StreamStats = {
    segmentsSent: 0,
    segmentsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    retransmittedSegments: 0,
    fastRecoveries: 0,
    randomLossRecoveries: 0,
    timeouts: 0,
    windowProbesSent: 0,
    tailLossProbes: 0,
    keepalivesSent: 0,
    duplicateSegments: 0,
    outOfOrderSegments: 0,
    droppedOutOfWindow: 0,
    malformedSegments: 0,
  };

  readonly #link: StreamLink;
  readonly #limits: StreamLimits;
  readonly #mss: number;
  readonly #capacityBytes: number;
  readonly #init: StreamInit;
  readonly #control: StreamControl;
  #state: StreamState = 'closed';
  #error: Error | null = null;
  #closeEmitted = false;

  // Sequence space (u32, compared with serial arithmetic).
  #iss = 0;
  #sndUna = 0;
  #sndNxt = 0;
  #sndWl1 = 0;
  #sndWl2 = 0;
  /** The peer's receive window in segments; NO_LIMIT when it advertises 0 without ZERO_WINDOW. */
  #peerWindow = 0;
  #irs = 0;
  #rcvNxt = 0;

  // Sending. Unsent data lives in segment-sized buffers whose first byte is the (empty) option
  // area, so each byte is copied once, at write(), and a segment goes out without another copy.
  #unsent: Buffer[] = [];
  #unsentHead = 0;
  /** Data bytes in the last unsent buffer (all the others are full). */
  #tailFill = 0;
  #unsentBytes = 0;
  #board = new Scoreboard();
  #acked: AckedRange = { segments: 0, bytes: 0, sampleSentAt: -1 };
  #sacked: SackedRange = { segments: 0, sampleSentAt: -1 };
  #cc: AimdCongestion;
  #rtt: RttEstimator;
  #pumpScheduled = false;
  #cwndLimited = false;
  #finState: 'open' | 'queued' | 'sent' | 'acked' = 'open';
  #finSeq = 0;
  #dupAcks = 0;
  #inRecovery = false;
  /** The current recovery is from random loss: the window keeps growing through it. */
  #randomRecovery = false;
  /** sndNxt when the window was last cut: losses before it were paid for already (RFC 6582). */
  #recoverySeq = 0;
  /** Transmissions up to this one predate the current recovery. */
  #recoveryTx = 0;
  #needDrain = false;

  // Receiving.
  #reassembly = new Reassembly();
  #readable: Buffer[] = [];
  #readableBytes = 0;
  #paused = false;
  #dataListeners = 0;
  #flushScheduled = false;
  #peerFinSeq: number | null = null;
  #finReceived = false;
  #endEmitted = false;
  #acksOwed = 0;
  #ackImmediate: NodeJS.Immediate | null = null;
  /** The window we told the peer last, in segments. */
  #advertised = 0;

  // Timers: one per stream, set to the earliest deadline and re-armed when it fires.
  #timer: NodeJS.Timeout | null = null;
  #timerAt = NO_LIMIT;
  #rtoAt = NO_LIMIT;
  #probeAt = NO_LIMIT;
  /** When segments skipped by the last loss check for being too young come of age. */
  #lossCheckAt = NO_LIMIT;
  /** A tail-loss probe went out and no ACK has shown progress since: no second one. */
  #probeSpent = false;
  #persistAt = NO_LIMIT;
  #persistProbes = 0;
  #handshakeAt = NO_LIMIT;
  #handshakeStartedAt = 0;
  #handshakeAttempts = 0;
  #timeWaitUntil = NO_LIMIT;
  #lastReceivedAt = 0;
  #lastKeepaliveAt = 0;
  #connecting: { resolve: () => void; reject: (err: Error) => void } | null = null;

  constructor(init: StreamInit) {
    super();
    this.#init = init;
    this.#link = init.link;
    this.#limits = init.limits;
    this.#mss = init.maxSegmentData;
    this.#capacityBytes = init.limits.receiveWindowSegments * init.maxSegmentData;
    this.peer = init.peer;
    this.localPort = init.localPort;
    this.remotePort = init.remotePort;
    this.#cc = new AimdCongestion(init.limits.initialWindowSegments, MAX_WINDOW_FIELD);
    this.#rtt = new RttEstimator(init.limits);
    this.on('newListener', (event) => {
      if (event !== 'data') return;
      this.#dataListeners++;
      this.#scheduleFlush();
    });
    this.on('removeListener', (event) => {
      if (event === 'data') this.#dataListeners--;
    });
    const isTimeWait = () => this.#state === 'time-wait';
    this.#control = {
      stream: this,
      get inTimeWait() {
        return isTimeWait();
      },
      receive: (packet) => this.#receive(packet),
      connect: () => this.#openActive(),
      accept: (syn) => this.#openPassive(syn),
      abort: (error, sendReset) => this.#abort(error, sendReset),
    };
  }

  /** For the stream table. */
  get control(): StreamControl {
    return this.#control;
  }

  // ---- application API -----------------------------------------------------------------------

  get state(): StreamState {
    return this.#state;
  }

  /** Why the stream closed, if it did not close cleanly. */
  get error(): Error | null {
    return this.#error;
  }

  /** Bytes written and not yet acknowledged by the peer. */
  get writableLength(): number {
    return this.#unsentBytes + this.#board.bytes;
  }

  /** Bytes received in order and not yet handed to a 'data' listener. */
  get readableLength(): number {
    return this.#readableBytes;
  }

  get congestionWindow(): number {
    return this.#cc.cwnd;
  }

  get srttMs(): number | null {
    return this.#rtt.srtt;
  }

  get rtoMs(): number {
    return this.#rtt.rto;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  /**
   * Queues bytes to send (copied: the buffer may be reused at once). Returns false once the send
   * buffer is full: wait for 'drain' before writing more, or the next write throws.
   */
  write(chunk: Uint8Array | string): boolean {
    this.#assertWritable();
    const hwm = this.#limits.sendBufferBytes;
    if (this.writableLength >= hwm) {
      throw new StreamError(
        'send_buffer_full',
        `the stream's send buffer already holds ${this.writableLength} bytes (limit ${hwm}): wait for 'drain' after write() returns false`,
      );
    }
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    if (data.length > 0) {
      this.#append(data);
      this.#schedulePump();
    }
    if (this.writableLength >= hwm) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  /** Sends what is queued, then a FIN. Reading continues until the peer ends too. */
  end(chunk?: Uint8Array | string): void {
    if (chunk !== undefined) this.write(chunk);
    if (this.#finState !== 'open' || (this.#state !== 'established' && this.#state !== 'syn-received' && this.#state !== 'syn-sent')) return;
    this.#finState = 'queued';
    this.#schedulePump();
  }

  /** Aborts at once: the peer gets a reset, buffered data on both sides is dropped. */
  destroy(error?: Error): void {
    this.#abort(error ?? null, true);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#scheduleFlush();
  }

  #assertWritable(): void {
    if (this.#state === 'closed' || this.#state === 'time-wait') {
      const why = this.#error ? `: ${this.#error.message}` : '';
      throw new StreamError('closed', `the stream to ${this.#peerName()} port ${this.remotePort} is closed${why}`);
    }
    if (this.#finState !== 'open') {
      throw new StreamError('write_after_end', 'write after end(): this side of the stream is finished');
    }
  }

  /** State test that TypeScript does not narrow: event handlers and sends can change the state under us. */
  #is(state: StreamState): boolean {
    return this.#state === state;
  }

  #peerName(): string {
    return this.peer.hostname ?? this.peer.keyId.slice(0, 12);
  }

  /** Copies data into segment-sized buffers, topping up the last unsent one first. */
  #append(data: Uint8Array): void {
    const mss = this.#mss;
    let offset = 0;
    while (offset < data.length) {
      let tail = this.#unsent.length > this.#unsentHead ? this.#unsent[this.#unsent.length - 1]! : null;
      if (tail === null || this.#tailFill === mss) {
        tail = Buffer.allocUnsafe(OPTION_AREA_PREFIX + mss);
        tail[0] = 0; // empty option area
        this.#unsent.push(tail);
        this.#tailFill = 0;
      }
      const n = Math.min(mss - this.#tailFill, data.length - offset);
      tail.set(offset === 0 && n === data.length ? data : data.subarray(offset, offset + n), OPTION_AREA_PREFIX + this.#tailFill);
      this.#tailFill += n;
      this.#unsentBytes += n;
      offset += n;
    }
  }

  // ---- opening -------------------------------------------------------------------------------

  #openActive(): Promise<void> {
    const now = this.#link.now();
    this.#state = 'syn-sent';
    this.#iss = randomIsn();
    this.#sndUna = this.#iss;
    this.#sndNxt = (this.#iss + 1) >>> 0;
    this.#recoverySeq = this.#sndNxt;
    this.#handshakeStartedAt = now;
    this.#lastReceivedAt = now;
    const opened = new Promise<void>((resolve, reject) => {
      this.#connecting = { resolve, reject };
    });
    this.#sendHandshake(now);
    return opened;
  }

  #openPassive(syn: Packet): void {
    const now = this.#link.now();
    this.#state = 'syn-received';
    this.#irs = syn.seq;
    this.#rcvNxt = (syn.seq + 1) >>> 0;
    this.#iss = randomIsn();
    this.#sndUna = this.#iss;
    this.#sndNxt = (this.#iss + 1) >>> 0;
    this.#recoverySeq = this.#sndNxt;
    this.#sndWl1 = syn.seq;
    this.#sndWl2 = this.#iss;
    this.#peerWindow = syn.window === 0 ? NO_LIMIT : syn.window;
    this.#handshakeStartedAt = now;
    this.#lastReceivedAt = now;
    this.#sendHandshake(now);
  }

  /** Sends (or resends) our SYN or SYN-ACK and schedules the next attempt. */
  #sendHandshake(now: number): void {
    this.#handshakeAttempts++;
    const flags = this.#state === 'syn-sent' ? FLAG_SYN : FLAG_SYN | FLAG_ACK;
    if (!this.#transmit(flags, this.#iss, EMPTY, this.#windowSegments())) return;
    this.#handshakeAt = now + this.#rtt.rto;
    this.#armTimer(this.#handshakeAt);
  }

  #retryHandshake(now: number): void {
    if (now - this.#handshakeStartedAt >= this.#limits.connectTimeoutMs) {
      const error = new StreamError(
        'timeout',
        `no answer from ${this.#peerName()} to a stream on port ${this.remotePort} within ${this.#limits.connectTimeoutMs} ms (is the peer's node running?)`,
      );
      // A half-open passive stream just goes away; nobody is waiting for it.
      this.#finish(this.#state === 'syn-sent' ? error : null);
      return;
    }
    this.#rtt.backoff();
    this.#sendHandshake(now);
  }

  #establish(now: number): void {
    this.#state = 'established';
    this.#sndUna = (this.#iss + 1) >>> 0;
    if (this.#handshakeAttempts === 1) this.#rtt.sample(now - this.#handshakeStartedAt, now);
    this.#handshakeAt = NO_LIMIT;
    this.#lastReceivedAt = now;
    this.#armTimer(this.#nextDeadline());
  }

  // ---- receiving -----------------------------------------------------------------------------

  #receive(packet: Packet): void {
    if (this.#state === 'closed') return;
    const payload = packet.payload as Buffer;
    let options = NO_OPTIONS;
    let data = payload;
    if (payload.length > 0) {
      if (payload[0] === 0) {
        data = payload.subarray(OPTION_AREA_PREFIX);
      } else {
        const decoded = decodeOptionArea(payload);
        if (!decoded.ok) {
          this.stats.malformedSegments++;
          return;
        }
        options = decoded.value.options;
        data = payload.subarray(decoded.value.dataOffset);
      }
    }
    const now = this.#link.now();
    this.stats.segmentsReceived++;
    this.#lastReceivedAt = now;
    const flags = packet.flags;
    if (flags & FLAG_RST) {
      this.#onReset(packet.seq, packet.ack, flags);
      return;
    }
    switch (this.#state) {
      case 'syn-sent':
        this.#onHandshakeReply(packet, options, now);
        return;
      case 'syn-received':
        if (flags & FLAG_SYN) {
          if (!(flags & FLAG_ACK) && packet.seq === this.#irs) this.#sendHandshake(now); // our SYN-ACK was lost
          return;
        }
        if (!(flags & FLAG_ACK)) return;
        if (packet.ack !== ((this.#iss + 1) >>> 0)) {
          this.#sendBareReset(packet.ack);
          return;
        }
        this.#establish(now);
        this.#init.onEstablished?.(this);
        if (!this.#is('established')) return; // the listener may have destroyed it
        break; // the same segment may carry data: go on as established
      case 'time-wait':
        if (flags & FLAG_FIN) this.#sendAck(false); // our last ACK was lost: say it again
        return;
      default:
        break;
    }
    if (flags & FLAG_SYN) {
      // A retransmitted SYN-ACK: our ACK of it was lost.
      this.#sendAck(false);
      return;
    }
    if (!(flags & FLAG_ACK)) return;
    if (distance(packet.ack, this.#sndNxt) > 0) {
      // It acknowledges bytes we never sent: drop it and say where we are (RFC 793).
      this.#sendAck(false);
      return;
    }
    this.#onAck(packet.seq, packet.ack, packet.window, options, data.length, flags, now);
    if (this.#state !== 'established') return;
    let ackNow = options.ackRequest;
    if (data.length > 0 || flags & FLAG_FIN) {
      if (this.#onData(packet.seq, data, (flags & FLAG_FIN) !== 0)) ackNow = true;
      if (this.#state !== 'established') return;
    }
    this.#pump(); // data we send carries the ACK
    if (this.#state !== 'established') return;
    if (ackNow || this.#acksOwed >= ACK_EVERY_SEGMENTS) this.#sendAck(false);
    else if (this.#acksOwed > 0) this.#scheduleAck();
    this.#maybeDrain();
    this.#maybeFinish(now);
  }

  #onHandshakeReply(packet: Packet, options: SegmentOptions, now: number): void {
    const flags = packet.flags;
    if (!(flags & FLAG_ACK)) return; // a bare SYN: simultaneous open is not supported
    if (packet.ack !== ((this.#iss + 1) >>> 0)) {
      this.#sendBareReset(packet.ack); // an answer to some older attempt
      return;
    }
    if (!(flags & FLAG_SYN)) return;
    this.#irs = packet.seq;
    this.#rcvNxt = (packet.seq + 1) >>> 0;
    this.#sndWl1 = packet.seq;
    this.#sndWl2 = packet.ack;
    this.#peerWindow = this.#windowFrom(packet.window, options);
    this.#establish(now);
    this.#sendAck(false);
    const connecting = this.#connecting;
    this.#connecting = null;
    connecting?.resolve();
  }

  #windowFrom(field: number, options: SegmentOptions): number {
    if (options.zeroWindow) return 0;
    return field === 0 ? NO_LIMIT : field;
  }

  #onAck(seq: number, ack: number, window: number, options: SegmentOptions, dataLength: number, flags: number, now: number): void {
    const una = this.#sndUna;
    const windowBefore = this.#peerWindow;
    // Only a segment at least as new as the last one that set the window may change it, so a
    // reordered old ACK cannot shrink it back (RFC 793 SND.WL1/WL2).
    if (distance(seq, this.#sndWl1) > 0 || (seq === this.#sndWl1 && distance(ack, this.#sndWl2) >= 0)) {
      this.#peerWindow = this.#windowFrom(window, options);
      this.#sndWl1 = seq;
      this.#sndWl2 = ack;
    }
    const board = this.#board;
    let sampled = false;
    if (distance(ack, una) > 0) {
      board.acknowledge(ack, this.#acked);
      this.#sndUna = ack;
      if (this.#acked.sampleSentAt >= 0) {
        this.#rtt.sample(now - this.#acked.sampleSentAt, now);
        sampled = true;
      } else {
        this.#rtt.resetBackoff();
      }
      if (this.#finState === 'sent' && distance(ack, this.#finSeq) > 0) this.#finState = 'acked';
      this.#dupAcks = 0;
      if (this.#inRecovery) {
        if (distance(ack, this.#recoverySeq) >= 0) {
          this.#inRecovery = false;
        } else if (!options.sack) {
          // A partial ACK without SACK: the next hole was lost too, unless we already resent it
          // (NewReno). With SACK, the transmission-order rule below knows better.
          const head = board.first;
          if (head && head.txOrder <= this.#recoveryTx) board.markLost(head);
        }
      }
      if (!this.#inRecovery || this.#randomRecovery) this.#cc.onAck(this.#acked.segments, this.#cwndLimited);
      this.#rtoAt = board.length > 0 ? now + this.#rtt.rto : NO_LIMIT;
      this.#probeAt = NO_LIMIT; // re-armed by the next send
      this.#probeSpent = false;
    } else if (ack === una && board.length > 0 && dataLength === 0 && !(flags & FLAG_FIN) && this.#peerWindow === windowBefore && !options.sack) {
      // A duplicate ACK without SACK: the receiver got something beyond a hole. Only the third
      // one outside recovery counts (NewReno); in recovery, dupACKs from segments sent before a
      // retransmission would make us resend what is already on its way.
      if (++this.#dupAcks === DUP_ACK_THRESHOLD && !this.#inRecovery && distance(una, this.#recoverySeq) >= 0) {
        const head = board.first;
        if (head) board.markLost(head);
      }
    }
    if (options.sack && board.length > 0) {
      board.markSacked(options.sack, this.#sndUna, this.#sndNxt, this.#sacked);
      // A SACK answers the segment it reports at once: a fair round trip, and often the only one
      // to be had while holes hold the cumulative ACK back.
      if (this.#sacked.sampleSentAt >= 0 && !sampled) this.#rtt.sample(now - this.#sacked.sampleSentAt, now);
      if (this.#sacked.segments > 0) {
        this.#probeAt = NO_LIMIT;
        this.#probeSpent = false;
        // The receiver is getting data: progress, as a cumulative ACK would be. Without this,
        // a recovery that takes two round trips (find the hole, resend it) outlasts an RTO of
        // SRTT + 4·RTTVAR on a steady path, and a needless timeout resends the whole window.
        this.#rtoAt = now + this.#rtt.rto;
      }
    }
    this.#checkLosses(now);
  }

  /** Runs loss detection (SACK-based, with the reordering window) and enters recovery on loss. */
  #checkLosses(now: number): void {
    const board = this.#board;
    if (board.sackedCount > 0) {
      board.detectLosses(REORDERING_THRESHOLD, now, this.#reorderWindow());
      this.#lossCheckAt = board.recheckAt;
      if (this.#lossCheckAt !== NO_LIMIT) this.#armTimer(this.#lossCheckAt);
    }
    if (board.lostCount > 0 && !this.#inRecovery && distance(this.#sndUna, this.#recoverySeq) >= 0) {
      // One multiplicative decrease per window of data: losses from before the last one were paid for.
      this.#inRecovery = true;
      this.#recoverySeq = this.#sndNxt;
      this.#recoveryTx = board.txCounter;
      this.#randomRecovery = this.#lossIsRandom();
      if (this.#randomRecovery) {
        this.#cc.onRandomLoss();
        this.stats.randomLossRecoveries++;
      } else {
        this.#cc.onLoss(board.length);
      }
      this.stats.fastRecoveries++;
    }
  }

  /**
   * How old a segment overtaken by later ones must be before it counts as lost: one smoothed RTT
   * plus a reordering allowance (a quarter of it, or twice the RTT's deviation when the path is
   * jittery), in the spirit of RACK (RFC 8985). 0 before the first RTT sample.
   */
  #reorderWindow(): number {
    const srtt = this.#rtt.srtt;
    return srtt === null ? 0 : srtt + Math.max(srtt / 4, 2 * this.#rtt.rttvar);
  }

  /**
   * Whether loss just seen is random rather than congestion: the smoothed RTT has not risen above
   * its long-run baseline. A congested bottleneck fills its queue before it drops, which drives
   * the RTT up; a lossy link drops without one.
   */
  #lossIsRandom(): boolean {
    const srtt = this.#rtt.srtt;
    const baseline = this.#rtt.baseline;
    if (srtt === null || baseline === null) return false;
    return srtt - baseline <= Math.max(RANDOM_LOSS_QUEUE_MS, baseline * RANDOM_LOSS_QUEUE_SHARE);
  }

  /** Takes in data and/or a FIN. Returns true when the peer should get an ACK at once. */
  #onData(seq: number, data: Buffer, fin: boolean): boolean {
    if (this.#finReceived) return true; // a retransmission of what we already have
    const length = data.length;
    const end = (seq + length) >>> 0;
    const offset = distance(seq, this.#rcvNxt);
    if (offset > 0) {
      // Out of order: hold it if it fits, and tell the sender at once (duplicate ACK + SACK).
      if (length > 0) {
        const space = this.#receiveSpace();
        if (distance(end, this.#rcvNxt) > space || this.#reassembly.bytes + length > space) {
          this.stats.droppedOutOfWindow++;
          return true;
        }
        if (this.#reassembly.insert(seq, data)) this.stats.outOfOrderSegments++;
        else this.stats.duplicateSegments++;
      }
      if (fin) this.#peerFinSeq = end;
      return true;
    }
    if (distance(end, this.#rcvNxt) <= 0 && !(fin && end === this.#rcvNxt)) {
      this.stats.duplicateSegments++;
      return true;
    }
    if (fin) this.#peerFinSeq = end;
    let ackNow = false;
    if (distance(end, this.#rcvNxt) > 0) {
      const fresh = offset < 0 ? data.subarray(-offset) : data;
      if (fresh.length > this.#receiveSpace()) {
        this.stats.droppedOutOfWindow++;
        return true;
      }
      this.#rcvNxt = end;
      this.#acksOwed++;
      this.#deliver(fresh);
      if (this.#state !== 'established') return false;
      if (!this.#reassembly.isEmpty) {
        // The hole is filled (maybe only partly): the sender wants to know at once.
        ackNow = true;
        let next: Buffer | null;
        while ((next = this.#reassembly.take(this.#rcvNxt)) !== null) {
          this.#rcvNxt = (this.#rcvNxt + next.length) >>> 0;
          this.#deliver(next);
          if (this.#state !== 'established') return false;
        }
      }
    }
    if (this.#peerFinSeq !== null && this.#rcvNxt === this.#peerFinSeq) {
      this.#rcvNxt = (this.#rcvNxt + 1) >>> 0;
      this.#finReceived = true;
      this.#reassembly.clear();
      this.#maybeEnd();
      return true;
    }
    return ackNow;
  }

  #deliver(data: Buffer): void {
    this.stats.bytesReceived += data.length;
    if (this.#readable.length === 0 && !this.#paused && this.#dataListeners > 0) {
      this.emit('data', data);
    } else {
      this.#readable.push(data);
      this.#readableBytes += data.length;
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flushReadable());
  }

  /** Hands held data to the application once it reads again, then reopens the window. */
  #flushReadable(): void {
    this.#flushScheduled = false;
    if (this.#state === 'closed') return;
    while (this.#readable.length > 0 && !this.#paused && this.#dataListeners > 0) {
      const chunk = this.#readable.shift()!;
      this.#readableBytes -= chunk.length;
      this.emit('data', chunk);
      if (this.#is('closed')) return;
    }
    this.#maybeEnd();
    if (this.#state !== 'established') return;
    const window = this.#windowSegments();
    const significant = Math.max(2, this.#limits.receiveWindowSegments >> 2);
    if ((this.#advertised === 0 && window > 0) || window - this.#advertised >= significant) this.#sendAck(false);
    this.#maybeFinish(this.#link.now());
  }

  #maybeEnd(): void {
    if (!this.#finReceived || this.#endEmitted || this.#readable.length > 0) return;
    this.#endEmitted = true;
    this.emit('end');
  }

  /** Both FINs acknowledged and the peer's end delivered: linger in TIME_WAIT, then go. */
  #maybeFinish(now: number): void {
    if (this.#state !== 'established' || this.#finState !== 'acked' || !this.#endEmitted) return;
    this.#state = 'time-wait';
    this.#clearBuffers();
    this.#timeWaitUntil = now + this.#limits.timeWaitMs;
    this.#armTimer(this.#timeWaitUntil);
    this.#emitClose(null);
  }

  #onReset(seq: number, ack: number, flags: number): void {
    if (this.#state === 'syn-sent') {
      if (flags & FLAG_ACK && ack === ((this.#iss + 1) >>> 0)) {
        this.#finish(
          new StreamError('refused', `${this.#peerName()} refused a stream on port ${this.remotePort} (nothing listens there)`),
        );
      }
      return;
    }
    if (this.#state === 'syn-received' || this.#state === 'time-wait') {
      this.#finish(null);
      return;
    }
    // Only a reset inside the window counts, so a stale one from an older stream on these ports cannot kill this one.
    const offset = distance(seq, this.#rcvNxt);
    if (offset < 0 || offset > this.#capacityBytes + 1) return;
    const finishedAnyway = this.#finReceived && this.#finState === 'acked';
    this.#finish(finishedAnyway ? null : new StreamError('reset', `${this.#peerName()} reset the stream on port ${this.remotePort}`));
  }

  #receiveSpace(): number {
    return this.#capacityBytes - this.#readableBytes;
  }

  /** The receive window in segments, as advertised. */
  #windowSegments(): number {
    const segments = Math.floor(this.#receiveSpace() / this.#mss);
    return segments > MAX_WINDOW_FIELD ? MAX_WINDOW_FIELD : segments;
  }

  // ---- sending -------------------------------------------------------------------------------

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // A microtask, so that several writes in one turn fill segments before any goes out.
    queueMicrotask(() => this.#pump());
  }

  /** Sends what the windows allow: lost segments first, then new data, then our FIN. */
  #pump(): void {
    this.#pumpScheduled = false;
    if (this.#state !== 'established') return;
    const board = this.#board;
    const cc = this.#cc;
    const now = this.#link.now();
    this.#cwndLimited = false;
    for (;;) {
      if (board.lostCount > 0) {
        if (board.pipe >= cc.cwnd) {
          this.#cwndLimited = true;
          break;
        }
        const lost = board.nextLost()!;
        this.stats.retransmittedSegments++;
        if (!this.#sendSegment(lost, now)) return;
        continue;
      }
      if (this.#unsentHead >= this.#unsent.length) {
        if (this.#finState === 'queued') {
          if (board.pipe >= cc.cwnd) {
            this.#cwndLimited = true;
            break;
          }
          const fin = new SentSegment(this.#sndNxt, (this.#sndNxt + 1) >>> 0, EMPTY, 0, FLAG_FIN | FLAG_ACK);
          this.#finSeq = this.#sndNxt;
          this.#sndNxt = fin.end;
          this.#finState = 'sent';
          board.add(fin);
          if (!this.#sendSegment(fin, now)) return;
        }
        break;
      }
      if (board.pipe >= cc.cwnd) {
        this.#cwndLimited = true;
        break;
      }
      if (board.length >= this.#peerWindow) break;
      if (!this.#sendNewSegment(now)) return;
    }
    if (board.length > 0 && this.#rtoAt === NO_LIMIT) {
      this.#rtoAt = now + this.#rtt.rto;
      this.#armTimer(this.#rtoAt);
    }
    if (board.length > 0 && this.#probeAt === NO_LIMIT && !this.#probeSpent && this.#peerWindow > 0) {
      const srtt = this.#rtt.srtt;
      const at = srtt === null ? NO_LIMIT : now + Math.max(2 * srtt, MIN_PROBE_TIMEOUT_MS);
      if (at < this.#rtoAt) {
        this.#probeAt = at;
        this.#armTimer(at);
      }
    }
    // Zero window with data waiting and nothing in flight: only a probe can learn when it opens
    // (the window update that reopens it may be lost).
    if (this.#peerWindow === 0 && board.length === 0 && this.#unsentHead < this.#unsent.length) {
      if (this.#persistAt === NO_LIMIT) {
        this.#persistAt = now + this.#rtt.rto;
        this.#armTimer(this.#persistAt);
      }
    } else {
      this.#persistAt = NO_LIMIT;
      this.#persistProbes = 0;
    }
  }

  /** Takes the next unsent segment buffer, gives it a sequence number and sends it. */
  #sendNewSegment(now: number): boolean {
    const buffer = this.#unsent[this.#unsentHead]!;
    const isTail = this.#unsentHead === this.#unsent.length - 1;
    const length = isTail ? this.#tailFill : this.#mss;
    if (isTail) {
      this.#unsent = [];
      this.#unsentHead = 0;
      this.#tailFill = 0;
    } else {
      this.#unsent[this.#unsentHead++] = EMPTY;
      if (this.#unsentHead >= 256 && this.#unsentHead * 2 >= this.#unsent.length) {
        this.#unsent = this.#unsent.slice(this.#unsentHead);
        this.#unsentHead = 0;
      }
    }
    this.#unsentBytes -= length;
    const segment = new SentSegment(this.#sndNxt, (this.#sndNxt + length) >>> 0, buffer.subarray(0, OPTION_AREA_PREFIX + length), length, FLAG_ACK);
    this.#sndNxt = segment.end;
    this.#board.add(segment);
    this.stats.bytesSent += length;
    return this.#sendSegment(segment, now);
  }

  #sendSegment(segment: SentSegment, now: number): boolean {
    const window = this.#windowSegments();
    // A 0 in the window field alone would read as "no limit": say "full" with the option.
    const payload = window === 0 ? encodeStreamPayload(ZERO_WINDOW_ONLY, segment.payload.subarray(OPTION_AREA_PREFIX)) : segment.payload;
    this.#board.transmitted(segment, now);
    return this.#transmit(segment.flags, segment.seq, payload, window);
  }

  /** A pure ACK, with SACK blocks while holes are open, and the zero-window or ACK-request option when needed. */
  #sendAck(ackRequest: boolean): void {
    const window = this.#windowSegments();
    const sack = this.#limits.selectiveAck && !this.#reassembly.isEmpty ? this.#reassembly.sackBlocks(MAX_SACK_BLOCKS) : null;
    const payload = sack || window === 0 || ackRequest ? encodeStreamPayload({ sack, zeroWindow: window === 0, ackRequest }, undefined) : EMPTY;
    this.#transmit(FLAG_ACK, this.#sndNxt, payload, window);
  }

  #scheduleAck(): void {
    if (this.#ackImmediate !== null) return;
    this.#ackImmediate = setImmediate(() => {
      this.#ackImmediate = null;
      if (this.#acksOwed > 0 && this.#state === 'established') this.#sendAck(false);
    });
  }

  /** Every segment goes out here, through the trust gate: revoking trust stops the stream. */
  #transmit(flags: number, seq: number, payload: Uint8Array, window: number): boolean {
    if (!this.#link.isTrusted(this.peer.keyId)) {
      this.#finish(new StreamError('not_trusted', `${this.#peerName()} is no longer trusted: the stream was closed`));
      return false;
    }
    this.#advertised = window;
    this.#acksOwed = 0;
    this.stats.segmentsSent++;
    const ack = flags & FLAG_ACK ? this.#rcvNxt : 0;
    this.#link.send(this.peer.keyId, this.localPort, this.remotePort, flags, seq >>> 0, ack, window, payload);
    return true;
  }

  #sendBareReset(seq: number): void {
    if (!this.#link.isTrusted(this.peer.keyId)) return;
    this.#link.send(this.peer.keyId, this.localPort, this.remotePort, FLAG_RST, seq >>> 0, 0, 0, EMPTY);
  }

  #maybeDrain(): void {
    if (this.#needDrain && this.writableLength <= this.#limits.sendBufferBytes / 2) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  // ---- timers --------------------------------------------------------------------------------

  #nextDeadline(): number {
    switch (this.#state) {
      case 'syn-sent':
      case 'syn-received':
        return this.#handshakeAt;
      case 'time-wait':
        return this.#timeWaitUntil;
      case 'closed':
        return NO_LIMIT;
      default: {
        const quietSince = Math.max(this.#lastReceivedAt, this.#lastKeepaliveAt);
        return Math.min(this.#rtoAt, this.#probeAt, this.#lossCheckAt, this.#persistAt, this.#lastReceivedAt + this.#limits.idleTimeoutMs, quietSince + this.#limits.keepaliveMs);
      }
    }
  }

  /** Makes sure the timer fires no later than `at`. Deadlines that move later need nothing: the timer re-arms when it fires. */
  #armTimer(at: number): void {
    if (at >= this.#timerAt || this.#state === 'closed') return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    // At least 1 ms: a deadline already past must not become a hot loop of zero-delay timers.
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(1, at - this.#link.now()));
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = null;
    this.#timerAt = NO_LIMIT;
    const now = this.#link.now();
    switch (this.#state) {
      case 'closed':
        return;
      case 'syn-sent':
      case 'syn-received':
        if (now >= this.#handshakeAt) this.#retryHandshake(now);
        break;
      case 'time-wait':
        if (now >= this.#timeWaitUntil) {
          this.#finish(null);
          return;
        }
        break;
      case 'established': {
        const quiet = now - this.#lastReceivedAt;
        if (quiet >= this.#limits.idleTimeoutMs) {
          this.#abort(new StreamError('timeout', `nothing heard from ${this.#peerName()} on this stream for ${Math.round(quiet / 1000)} s: the peer is gone`), true);
          return;
        }
        if (now >= this.#rtoAt) this.#onRetransmitTimeout(now);
        else if (now >= this.#lossCheckAt) {
          this.#lossCheckAt = NO_LIMIT;
          this.#checkLosses(now);
          if (this.#board.lostCount > 0) this.#schedulePump();
        } else if (now >= this.#probeAt) this.#sendTailLossProbe(now);
        if (this.#state !== 'established') return;
        if (now >= this.#persistAt) this.#sendWindowProbe(now);
        if (quiet >= this.#limits.keepaliveMs && now - this.#lastKeepaliveAt >= this.#limits.keepaliveMs) {
          this.#lastKeepaliveAt = now;
          this.stats.keepalivesSent++;
          this.#sendAck(true);
        }
        break;
      }
    }
    if (!this.#is('closed')) this.#armTimer(this.#nextDeadline());
  }

  #onRetransmitTimeout(now: number): void {
    const board = this.#board;
    if (board.length === 0) {
      this.#rtoAt = NO_LIMIT;
      return;
    }
    this.stats.timeouts++;
    if (this.#lossIsRandom()) this.#cc.onRandomTimeout();
    else this.#cc.onTimeout(board.length);
    board.markAllLost();
    this.#rtt.backoff();
    this.#inRecovery = false;
    this.#recoverySeq = this.#sndNxt;
    this.#dupAcks = 0;
    this.#rtoAt = now + this.#rtt.rto;
    this.#probeAt = NO_LIMIT;
    this.#probeSpent = false;
    this.#pump();
  }

  /**
   * Nothing heard for 2·SRTT with data outstanding: either the last segments or the only ACK
   * for them were lost (one ACK covers a whole read batch here). Send one segment to draw an
   * ACK, with SACK blocks, in one round trip instead of waiting out the RTO: new data if the
   * receiver has room, else the highest segment still unreported. The window is not cut; if the
   * ACK shows losses, recovery does that.
   */
  #sendTailLossProbe(now: number): void {
    const board = this.#board;
    this.#probeAt = NO_LIMIT;
    if (board.length === 0) return;
    this.#probeSpent = true; // one probe per silence; the RTO stays the backstop
    this.stats.tailLossProbes++;
    if (this.#unsentHead < this.#unsent.length && board.length < this.#peerWindow) {
      this.#sendNewSegment(now);
      return;
    }
    const last = board.lastUnsacked();
    if (!last) return;
    this.stats.retransmittedSegments++;
    this.#sendSegment(last, now);
  }

  #sendWindowProbe(now: number): void {
    this.stats.windowProbesSent++;
    this.#persistProbes++;
    this.#sendAck(true);
    const interval = Math.min(this.#rtt.rto * 2 ** Math.min(this.#persistProbes, 16), this.#limits.maxRtoMs);
    this.#persistAt = now + interval;
  }

  // ---- closing -------------------------------------------------------------------------------

  #abort(error: Error | null, sendReset: boolean): void {
    if (this.#state === 'closed') return;
    if (sendReset && this.#state !== 'time-wait' && this.#link.isTrusted(this.peer.keyId)) {
      const flags = this.#state === 'syn-sent' ? FLAG_RST : FLAG_RST | FLAG_ACK;
      this.#link.send(this.peer.keyId, this.localPort, this.remotePort, flags, this.#sndNxt >>> 0, flags & FLAG_ACK ? this.#rcvNxt : 0, 0, EMPTY);
    }
    this.#finish(error);
  }

  #clearBuffers(): void {
    this.#board.clear();
    this.#reassembly.clear();
    this.#unsent = [];
    this.#unsentHead = 0;
    this.#unsentBytes = 0;
    this.#tailFill = 0;
    this.#rtoAt = this.#persistAt = NO_LIMIT;
  }

  #finish(error: Error | null): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = NO_LIMIT;
    if (this.#ackImmediate) clearImmediate(this.#ackImmediate);
    this.#ackImmediate = null;
    this.#clearBuffers();
    this.#readable = [];
    this.#readableBytes = 0;
    this.#init.onRelease(this.#control);
    const connecting = this.#connecting;
    this.#connecting = null;
    if (connecting) {
      connecting.reject(error ?? new StreamError('closed', `the stream to ${this.#peerName()} was closed before it opened`));
      return; // the caller never got the stream: nothing to emit to
    }
    if (error) this.#error = error;
    this.#emitClose(error);
  }

  #emitClose(error: Error | null): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    if (error && this.listenerCount('error') > 0) this.emit('error', error);
    this.emit('close', error);
  }
}
