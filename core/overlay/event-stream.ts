/**
 * The event stream (port 1002): topics a node publishes and trusted peers subscribe to, over
 * reliable overlay streams. Frames and messages: event-wire.ts.
 *
 * Delivery: every event gets the next sequence number of its topic and is appended to the
 * publisher's durable log (EventLogStore) before anyone is told. A subscriber says which seq it
 * processed last; the publisher sends everything after it, in order, then follows the log live.
 * The subscriber saves its cursor after it processed a batch, so a subscriber that reconnects,
 * or restarts, resumes exactly after its last event: no loss and no duplicates (a crash between
 * processing and saving the cursor repeats that batch once, so consumers apply events
 * idempotently; the console does, keyed by anomaly id and revision).
 *
 * Backpressure: a subscriber is served from the log at the pace its stream accepts (write()
 * returning false stops it until 'drain'). Nothing per subscriber is buffered in memory beyond
 * one frame, so a stalled subscriber stalls neither the publisher nor the other subscribers;
 * if it stays away longer than the log retains, it is told exactly which range it missed.
 *
 * Default deny: the publisher serves only peers it granted `events.subscribe`, checked when they
 * subscribe and again before every batch (a capability or trust taken away ends the stream).
 */
import { EventEmitter } from 'node:events';
import { PORT_EVENTS } from './address.ts';
import { encodeMessage, encodeStoredEvents, EventFrameDecoder, isValidTopic, type EventItem, type PublisherMessage } from './event-wire.ts';
import type { OverlayNode } from './node.ts';
import type { OverlayStream } from './stream.ts';
import type { EventLogStore } from '../store/event-log-store.ts';

/** Events per frame: big enough to amortise framing and a write, small enough to keep frames far below MAX_EVENT_FRAME. */
const EVENTS_PER_FRAME = 128;
/** A payload bigger than this is refused at publish time, so one event can never break the frame limit. */
export const MAX_EVENT_BYTES = 64 * 1024;
/** A frame is closed once its payloads reach this size (well under MAX_EVENT_FRAME). */
const FRAME_PAYLOAD_BUDGET = 256 * 1024;
/** A subscriber that has not said what it wants within this time is dropped (it holds a stream slot). */
const SUBSCRIBE_TIMEOUT_MS = 10_000;
/** Reconnect backoff for subscribers: doubling from the first to the last. */
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

export interface EventPublisherOptions {
  readonly node: OverlayNode;
  readonly store: EventLogStore;
  /** May this peer read this topic? (the daemon checks the events.subscribe capability). */
  readonly mayRead: (peerKeyId: string, topic: string) => boolean;
  /** Is this a topic of this node at all? (A refusal then says so, not that a grant is missing.) */
  readonly publishes?: (topic: string) => boolean;
  readonly port?: number;
}

export interface SubscriberInfo {
  readonly peer: string;
  readonly hostname: string | null;
  readonly topic: string;
  /** Last seq handed to the stream. */
  readonly sentSeq: number;
  /** Events of the topic not yet handed to this subscriber's stream. */
  readonly behind: number;
}

interface Subscription {
  readonly stream: OverlayStream;
  readonly topic: string;
  sentSeq: number;
  pumping: boolean;
  waitingForDrain: boolean;
  closed: boolean;
}

export class EventPublisher {
  readonly #options: EventPublisherOptions;
  readonly #port: number;
  readonly #subscriptions = new Set<Subscription>();
  #closed = false;

  constructor(options: EventPublisherOptions) {
    this.#options = options;
    this.#port = options.port ?? PORT_EVENTS;
    options.node.listenStream(this.#port, (stream) => this.#accept(stream));
  }

  /**
   * Appends events (JSON-serialisable values) to a topic and wakes its subscribers. Returns the
   * seqs they got. Throws RangeError for a bad topic or an event over MAX_EVENT_BYTES.
   */
  publish(topic: string, events: readonly unknown[], at = Date.now()): { first: number; last: number } {
    if (!isValidTopic(topic)) throw new RangeError(`invalid topic "${topic}"`);
    const payloads = events.map((e) => {
      const json = JSON.stringify(e);
      if (json === undefined) throw new RangeError('an event must be JSON-serialisable');
      if (Buffer.byteLength(json) > MAX_EVENT_BYTES) throw new RangeError(`event of ${Buffer.byteLength(json)} bytes exceeds ${MAX_EVENT_BYTES}`);
      return json;
    });
    const seqs = this.#options.store.append(topic, payloads, at);
    for (const s of this.#subscriptions) if (s.topic === topic) this.#pump(s);
    return seqs;
  }

  subscribers(): SubscriberInfo[] {
    return [...this.#subscriptions].map((s) => ({
      peer: s.stream.peer.keyId,
      hostname: s.stream.peer.hostname,
      topic: s.topic,
      sentSeq: s.sentSeq,
      behind: Math.max(0, this.#options.store.lastSeq(s.topic) - s.sentSeq),
    }));
  }

  close(): void {
    this.#closed = true;
    this.#options.node.unlistenStream(this.#port);
    for (const s of this.#subscriptions) this.#end(s, null);
  }

  #accept(stream: OverlayStream): void {
    if (this.#closed) return stream.destroy();
    const decoder = EventFrameDecoder.forPublisher();
    let subscription: Subscription | null = null;
    const timer = setTimeout(() => {
      if (!subscription) this.#refuse(stream, 'bad_request', 'no subscribe message in time');
    }, SUBSCRIBE_TIMEOUT_MS);
    timer.unref();
    stream.on('data', (chunk: Buffer) => {
      const decoded = decoder.push(chunk);
      if (!decoded.ok) return this.#refuse(stream, 'bad_request', decoded.error.message);
      for (const msg of decoded.value) {
        // One subscription per stream: a second subscribe is a protocol error.
        if (subscription) return this.#refuse(stream, 'bad_request', 'already subscribed on this stream');
        if (this.#options.publishes && !this.#options.publishes(msg.topic)) {
          return this.#refuse(stream, 'forbidden', `this node publishes no topic "${msg.topic}"`);
        }
        if (!this.#options.mayRead(stream.peer.keyId, msg.topic)) {
          return this.#refuse(stream, 'forbidden', `not allowed to read "${msg.topic}": the publisher has not granted events.subscribe`);
        }
        clearTimeout(timer);
        subscription = this.#subscribe(stream, msg.topic, msg.after);
      }
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      clearTimeout(timer);
      if (subscription) this.#end(subscription, null);
    });
  }

  #subscribe(stream: OverlayStream, topic: string, after: number): Subscription {
    const store = this.#options.store;
    const last = store.lastSeq(topic);
    const first = store.firstSeq(topic);
    // A cursor from the future (the publisher's log was reset) restarts from what exists.
    let sentSeq = after > last ? 0 : after;
    stream.write(encodeMessage({ type: 'subscribed', topic, first, last }));
    if (sentSeq + 1 < first) {
      stream.write(encodeMessage({ type: 'gap', topic, from: sentSeq + 1, to: first - 1 }));
      sentSeq = first - 1;
    }
    const s: Subscription = { stream, topic, sentSeq, pumping: false, waitingForDrain: false, closed: false };
    this.#subscriptions.add(s);
    stream.on('drain', () => {
      s.waitingForDrain = false;
      this.#pump(s);
    });
    this.#pump(s);
    return s;
  }

  /** Hands the subscriber everything after its cursor, as far as its stream accepts. */
  #pump(s: Subscription): void {
    if (s.pumping || s.waitingForDrain || s.closed) return;
    s.pumping = true;
    try {
      const store = this.#options.store;
      for (;;) {
        if (!this.#options.mayRead(s.stream.peer.keyId, s.topic)) {
          this.#refuse(s.stream, 'forbidden', `no longer allowed to read "${s.topic}"`);
          return;
        }
        const read = store.readAfter(s.topic, s.sentSeq, EVENTS_PER_FRAME);
        if (read.length === 0) return;
        let bytes = 0;
        let cut = 0;
        while (cut < read.length && (cut === 0 || bytes + read[cut]!.payload.length <= FRAME_PAYLOAD_BUDGET)) bytes += read[cut++]!.payload.length;
        const items = cut === read.length ? read : read.slice(0, cut);
        if (items[0]!.seq !== s.sentSeq + 1) {
          // Pruned while this subscriber was behind: say exactly what it missed.
          s.stream.write(encodeMessage({ type: 'gap', topic: s.topic, from: s.sentSeq + 1, to: items[0]!.seq - 1 }));
        }
        s.sentSeq = items[items.length - 1]!.seq;
        if (!s.stream.write(encodeStoredEvents(s.topic, items))) {
          s.waitingForDrain = true;
          return;
        }
      }
    } finally {
      s.pumping = false;
    }
  }

  #refuse(stream: OverlayStream, code: 'forbidden' | 'bad_request', message: string): void {
    for (const s of this.#subscriptions) if (s.stream === stream) s.closed = true;
    stream.end(encodeMessage({ type: 'error', code, message }));
  }

  #end(s: Subscription, error: Error | null): void {
    s.closed = true;
    this.#subscriptions.delete(s);
    if (error) s.stream.destroy(error);
    else s.stream.end();
  }
}

// ---- subscriber ----------------------------------------------------------------------------

export interface EventSubscriptionOptions {
  readonly node: OverlayNode;
  readonly peerKeyId: string;
  readonly topic: string;
  /** Where the cursor (last processed seq) is kept across reconnects and restarts. */
  readonly store: EventLogStore;
  /**
   * Processes a batch of consecutive events; the cursor is saved once it returns (or its promise
   * resolves). While it runs, the stream is paused: a slow consumer slows the publisher's sends
   * to it, nothing piles up here.
   */
  readonly onEvents: (items: readonly EventItem[]) => void | Promise<void>;
  /** Events the publisher no longer had (pruned before this subscriber got them). */
  readonly onGap?: (from: number, to: number) => void;
  readonly onStatus?: (status: SubscriptionStatus) => void;
  readonly port?: number;
}

export type SubscriptionStatus =
  | { state: 'connecting' }
  | { state: 'live'; publisherFirst: number; publisherLast: number; cursor: number }
  | { state: 'retrying'; inMs: number; reason: string }
  | { state: 'refused'; reason: string }
  | { state: 'closed' };

/**
 * A subscriber to one topic of one peer, reconnecting with backoff until closed. Emits 'status'
 * (SubscriptionStatus) and 'cursor' (seq, once saved). A refusal
 * (forbidden) is final: it does not hammer a publisher that said no.
 */
export class EventSubscription extends EventEmitter {
  readonly #o: EventSubscriptionOptions;
  #stream: OverlayStream | null = null;
  #timer: NodeJS.Timeout | null = null;
  #backoff = RECONNECT_MIN_MS;
  #closed = false;
  #cursor: number;
  #status: SubscriptionStatus = { state: 'connecting' };

  constructor(options: EventSubscriptionOptions) {
    super();
    this.#o = options;
    this.#cursor = options.store.cursor(options.peerKeyId, options.topic);
  }

  get cursor(): number {
    return this.#cursor;
  }

  get status(): SubscriptionStatus {
    return this.#status;
  }

  start(): this {
    void this.#connect();
    return this;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#stream?.destroy();
    this.#stream = null;
    this.#setStatus({ state: 'closed' });
  }

  #setStatus(status: SubscriptionStatus): void {
    this.#status = status;
    this.#o.onStatus?.(status);
    this.emit('status', status);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    this.#setStatus({ state: 'connecting' });
    let stream: OverlayStream;
    try {
      stream = await this.#o.node.connectStream(this.#o.peerKeyId, this.#o.port ?? PORT_EVENTS);
    } catch (err) {
      return this.#retry((err as Error).message);
    }
    if (this.#closed) return stream.destroy();
    this.#stream = stream;
    const decoder = EventFrameDecoder.forSubscriber();
    // Messages are handled one at a time, in order; while a batch is processed the stream is paused.
    let chain: Promise<void> = Promise.resolve();
    stream.on('data', (chunk: Buffer) => {
      const decoded = decoder.push(chunk);
      if (!decoded.ok) {
        stream.destroy(new Error(`bad frame from publisher: ${decoded.error.message}`));
        return;
      }
      for (const msg of decoded.value) {
        chain = chain.then(() => this.#handle(stream, msg)).catch((err: Error) => {
          stream.destroy(err);
        });
      }
      if (decoded.value.length > 0) {
        stream.pause();
        void chain.then(() => {
          if (this.#stream === stream) stream.resume();
        });
      }
    });
    stream.on('error', () => {});
    stream.on('close', (error?: Error) => {
      if (this.#stream === stream) this.#stream = null;
      void chain.then(() => {
        if (this.#closed) return;
        if (this.#status.state === 'refused') return;
        this.#retry(error?.message ?? 'the publisher closed the stream');
      });
    });
    stream.write(encodeMessage({ type: 'subscribe', topic: this.#o.topic, after: this.#cursor }));
  }

  async #handle(stream: OverlayStream, msg: PublisherMessage): Promise<void> {
    if (this.#closed || this.#stream !== stream) return;
    switch (msg.type) {
      case 'subscribed':
        this.#backoff = RECONNECT_MIN_MS;
        this.#setStatus({ state: 'live', publisherFirst: msg.first, publisherLast: msg.last, cursor: this.#cursor });
        return;
      case 'gap':
        if (msg.topic !== this.#o.topic || msg.to <= this.#cursor) return;
        this.#o.onGap?.(Math.max(msg.from, this.#cursor + 1), msg.to);
        this.#saveCursor(msg.to);
        return;
      case 'events': {
        if (msg.topic !== this.#o.topic || msg.items.length === 0) return;
        // Drop what was already processed (a repeat after reconnecting); refuse a hole.
        const fresh = msg.items.filter((it) => it.seq > this.#cursor);
        if (fresh.length === 0) return;
        if (fresh[0]!.seq !== this.#cursor + 1) throw new Error(`publisher skipped from seq ${this.#cursor} to ${fresh[0]!.seq} without a gap notice`);
        await this.#o.onEvents(fresh);
        this.#saveCursor(fresh[fresh.length - 1]!.seq);
        return;
      }
      case 'error':
        if (msg.code === 'forbidden') {
          this.#setStatus({ state: 'refused', reason: msg.message });
          this.#stream = null;
          stream.destroy();
        }
        return;
    }
  }

  #saveCursor(seq: number): void {
    this.#cursor = seq;
    this.#o.store.saveCursor(this.#o.peerKeyId, this.#o.topic, seq);
    this.emit('cursor', seq);
  }

  #retry(reason: string): void {
    if (this.#closed || this.#timer) return;
    const inMs = this.#backoff;
    this.#backoff = Math.min(RECONNECT_MAX_MS, this.#backoff * 2);
    this.#setStatus({ state: 'retrying', inMs, reason });
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, inMs);
    this.#timer.unref();
  }
}
