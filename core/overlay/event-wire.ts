/**
 * Messages of the event stream (port 1002), carried over a reliable overlay stream as frames:
 *
 *   0-3   length of the JSON body (u32, big-endian), at most MAX_EVENT_FRAME
 *   4-    JSON body (UTF-8), an object with a `type`
 *
 * Subscriber → publisher:
 *   { type: 'subscribe', topic, after }        after = last seq the subscriber processed (0: from the oldest kept)
 * Publisher → subscriber:
 *   { type: 'subscribed', topic, first, last }  what the publisher holds right now
 *   { type: 'gap', topic, from, to }            events from..to were pruned before this subscriber got them
 *   { type: 'events', topic, items: [{ seq, at, data }] }   consecutive seqs, in order
 *   { type: 'error', code, message }            then the publisher closes the stream
 *
 * The decoder is total: any byte sequence gives messages or a typed error, never an exception.
 */
import { fail, ok, type DecodeError, type Result } from './result.ts';

export const EVENT_FRAME_HEADER = 4;
/** A frame of events is cut well below this; a bigger length means a broken or hostile peer. */
export const MAX_EVENT_FRAME = 1024 * 1024;
export const MAX_TOPIC_LENGTH = 64;
const TOPIC_RULE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export type EventErrorCode = 'forbidden' | 'bad_request' | 'unavailable';

export interface EventItem {
  readonly seq: number;
  readonly at: number;
  readonly data: unknown;
}

export type SubscriberMessage = { type: 'subscribe'; topic: string; after: number };
export type PublisherMessage =
  | { type: 'subscribed'; topic: string; first: number; last: number }
  | { type: 'gap'; topic: string; from: number; to: number }
  | { type: 'events'; topic: string; items: EventItem[] }
  | { type: 'error'; code: EventErrorCode; message: string };

export type EventWireErrorCode = 'frame_too_large' | 'frame_not_json' | 'frame_bad_message';
export type EventWireError = DecodeError<EventWireErrorCode>;

export function isValidTopic(topic: unknown): topic is string {
  return typeof topic === 'string' && TOPIC_RULE.test(topic);
}

const isSeq = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Frames a message whose JSON body is already text (the publisher splices stored payloads in). */
export function frameJson(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const frame = Buffer.allocUnsafe(EVENT_FRAME_HEADER + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, EVENT_FRAME_HEADER);
  return frame;
}

export function encodeMessage(message: SubscriberMessage | PublisherMessage): Buffer {
  return frameJson(JSON.stringify(message));
}

/**
 * An `events` frame built from stored JSON payloads without parsing them again: each payload was
 * produced by JSON.stringify when it was appended, so splicing it in yields valid JSON.
 */
export function encodeStoredEvents(topic: string, items: readonly { seq: number; at: number; payload: string }[]): Buffer {
  let json = `{"type":"events","topic":${JSON.stringify(topic)},"items":[`;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    json += `${i === 0 ? '' : ','}{"seq":${item.seq},"at":${item.at},"data":${item.payload}}`;
  }
  return frameJson(`${json}]}`);
}

function validatePublisher(m: Record<string, unknown>): PublisherMessage | null {
  switch (m.type) {
    case 'subscribed':
      return isValidTopic(m.topic) && isSeq(m.first) && isSeq(m.last) ? { type: 'subscribed', topic: m.topic, first: m.first, last: m.last } : null;
    case 'gap':
      return isValidTopic(m.topic) && isSeq(m.from) && isSeq(m.to) && m.from <= m.to ? { type: 'gap', topic: m.topic, from: m.from, to: m.to } : null;
    case 'events': {
      if (!isValidTopic(m.topic) || !Array.isArray(m.items)) return null;
      const items: EventItem[] = [];
      for (const raw of m.items as unknown[]) {
        if (typeof raw !== 'object' || raw === null) return null;
        const it = raw as Record<string, unknown>;
        if (!isSeq(it.seq) || !isSeq(it.at) || !('data' in it)) return null;
        // Consecutive and increasing: the subscriber's no-loss/no-duplicate bookkeeping relies on it.
        if (items.length > 0 && it.seq !== items[items.length - 1]!.seq + 1) return null;
        items.push({ seq: it.seq, at: it.at, data: it.data });
      }
      return { type: 'events', topic: m.topic, items };
    }
    case 'error': {
      const code = m.code;
      if (code !== 'forbidden' && code !== 'bad_request' && code !== 'unavailable') return null;
      return typeof m.message === 'string' ? { type: 'error', code, message: m.message.slice(0, 300) } : null;
    }
    default:
      return null;
  }
}

function validateSubscriber(m: Record<string, unknown>): SubscriberMessage | null {
  if (m.type !== 'subscribe' || !isValidTopic(m.topic) || !isSeq(m.after)) return null;
  return { type: 'subscribe', topic: m.topic, after: m.after };
}

/**
 * Reassembles frames from stream chunks. `push` returns the complete messages so far, or an
 * error after which the stream must be closed (the framing is lost).
 */
export class EventFrameDecoder<M> {
  readonly #validate: (m: Record<string, unknown>) => M | null;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failed: EventWireError | null = null;

  private constructor(validate: (m: Record<string, unknown>) => M | null) {
    this.#validate = validate;
  }

  static forSubscriber(): EventFrameDecoder<PublisherMessage> {
    return new EventFrameDecoder(validatePublisher);
  }

  static forPublisher(): EventFrameDecoder<SubscriberMessage> {
    return new EventFrameDecoder(validateSubscriber);
  }

  /** The same framing for another protocol's messages (the task port uses it). */
  static withValidator<M>(validate: (m: Record<string, unknown>) => M | null): EventFrameDecoder<M> {
    return new EventFrameDecoder(validate);
  }

  /** Bytes held waiting for the rest of a frame (bounded by MAX_EVENT_FRAME + header). */
  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Uint8Array): Result<M[], EventWireError> {
    if (this.#failed) return { ok: false, error: this.#failed };
    if (chunk.length > 0) {
      this.#chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#buffered += chunk.length;
    }
    const messages: M[] = [];
    while (this.#buffered >= EVENT_FRAME_HEADER) {
      const head = this.#peek(EVENT_FRAME_HEADER);
      const length = head.readUInt32BE(0);
      if (length > MAX_EVENT_FRAME) return this.#fail('frame_too_large', `event frame of ${length} bytes exceeds ${MAX_EVENT_FRAME}`);
      if (this.#buffered < EVENT_FRAME_HEADER + length) break;
      const frame = this.#take(EVENT_FRAME_HEADER + length);
      let parsed: unknown;
      try {
        parsed = JSON.parse(frame.toString('utf8', EVENT_FRAME_HEADER));
      } catch {
        return this.#fail('frame_not_json', 'event frame body is not JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return this.#fail('frame_bad_message', 'event frame body is not an object');
      const message = this.#validate(parsed as Record<string, unknown>);
      if (message === null) return this.#fail('frame_bad_message', `unexpected or malformed event message (type ${JSON.stringify((parsed as { type?: unknown }).type)?.slice(0, 40)})`);
      messages.push(message);
    }
    return ok(messages);
  }

  #fail(code: EventWireErrorCode, message: string): { ok: false; error: EventWireError } {
    this.#failed = { code, message };
    this.#chunks = [];
    this.#buffered = 0;
    return fail(code, message);
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.#chunks);
    this.#chunks = [joined];
    return joined;
  }

  #take(n: number): Buffer {
    const first = this.#peek(n);
    const frame = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    return frame;
  }
}
