/**
 * The option area at the front of a stream segment's payload (docs/protocol.md, "Streams").
 *
 *   payload = (empty)                                   no options, no data
 *           | L (1 byte) | options (L bytes) | data     L = 0 on ordinary data segments
 *   option  = kind (1) | body length (1) | body
 *
 *   kind 1  SACK         body = n × (left edge u32, right edge u32), big-endian, n ≥ 1: byte
 *                        ranges [left, right) the receiver holds beyond the acknowledgement number
 *   kind 2  ZERO_WINDOW  empty body: the receive buffer is full. Needed because the header's
 *                        window field uses 0 for "no limit" (Pilot v0.5).
 *   kind 3  ACK_REQUEST  empty body: answer with an ACK now (zero-window probe, keepalive)
 *
 * Unknown kinds are skipped, so options can be added without breaking older nodes. Decoding is
 * total: malformed input yields a typed error, never an exception.
 */
import { fail, ok, type DecodeError, type Result } from './result.ts';

export const OPTION_SACK = 1;
export const OPTION_ZERO_WINDOW = 2;
export const OPTION_ACK_REQUEST = 3;

/** One byte for the option-area length: what an ordinary data segment pays for the area. */
export const OPTION_AREA_PREFIX = 1;
const SACK_BLOCK_SIZE = 8;
/** A body length is one byte, so at most 31 blocks fit in one SACK option. */
export const MAX_SACK_BLOCKS_PER_OPTION = Math.floor(255 / SACK_BLOCK_SIZE);

export interface SackBlock {
  /** First byte held (u32 sequence number). */
  readonly start: number;
  /** One past the last byte held (u32 sequence number). */
  readonly end: number;
}

export interface SegmentOptions {
  readonly sack: readonly SackBlock[] | null;
  readonly zeroWindow: boolean;
  readonly ackRequest: boolean;
}

export const NO_OPTIONS: SegmentOptions = Object.freeze({ sack: null, zeroWindow: false, ackRequest: false });

export interface DecodedPayload {
  readonly options: SegmentOptions;
  /** Where the data starts in the payload. */
  readonly dataOffset: number;
}

export type StreamOptionErrorCode = 'option_area_length' | 'option_truncated' | 'option_sack_length';
export type StreamOptionError = DecodeError<StreamOptionErrorCode>;

/** Reads the option area of a stream payload. An empty payload has neither options nor data. */
export function decodeOptionArea(payload: Uint8Array): Result<DecodedPayload, StreamOptionError> {
  if (payload.length === 0) return ok({ options: NO_OPTIONS, dataOffset: 0 });
  const areaLength = payload[0]!;
  const areaEnd = OPTION_AREA_PREFIX + areaLength;
  if (areaEnd > payload.length) {
    return fail('option_area_length', `option area of ${areaLength} bytes does not fit in a ${payload.length}-byte payload`);
  }
  if (areaLength === 0) return ok({ options: NO_OPTIONS, dataOffset: OPTION_AREA_PREFIX });
  let sack: SackBlock[] | null = null;
  let zeroWindow = false;
  let ackRequest = false;
  let at = OPTION_AREA_PREFIX;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  while (at < areaEnd) {
    if (at + 2 > areaEnd) return fail('option_truncated', `option at byte ${at} has no length byte`);
    const kind = payload[at]!;
    const bodyLength = payload[at + 1]!;
    const bodyStart = at + 2;
    const bodyEnd = bodyStart + bodyLength;
    if (bodyEnd > areaEnd) return fail('option_truncated', `option ${kind} claims ${bodyLength} bytes past the end of the option area`);
    switch (kind) {
      case OPTION_SACK: {
        if (bodyLength === 0 || bodyLength % SACK_BLOCK_SIZE !== 0) {
          return fail('option_sack_length', `SACK option of ${bodyLength} bytes is not a whole number of 8-byte blocks`);
        }
        sack ??= [];
        for (let b = bodyStart; b < bodyEnd; b += SACK_BLOCK_SIZE) {
          sack.push({ start: view.getUint32(b), end: view.getUint32(b + 4) });
        }
        break;
      }
      case OPTION_ZERO_WINDOW:
        zeroWindow = true;
        break;
      case OPTION_ACK_REQUEST:
        ackRequest = true;
        break;
      default:
        break; // unknown: skipped, for forward compatibility
    }
    at = bodyEnd;
  }
  return ok({ options: { sack, zeroWindow, ackRequest }, dataOffset: areaEnd });
}

/**
 * Builds a payload: the option area, then `data` if given. With no options and no data the
 * payload is empty (a bare SYN, ACK or RST, as in the Pilot examples).
 */
export function encodeStreamPayload(options: SegmentOptions, data?: Uint8Array): Buffer {
  const blocks = options.sack ?? [];
  if (blocks.length > MAX_SACK_BLOCKS_PER_OPTION) {
    throw new RangeError(`at most ${MAX_SACK_BLOCKS_PER_OPTION} SACK blocks fit in one option (got ${blocks.length})`);
  }
  const sackSize = blocks.length > 0 ? 2 + blocks.length * SACK_BLOCK_SIZE : 0;
  const areaLength = sackSize + (options.zeroWindow ? 2 : 0) + (options.ackRequest ? 2 : 0);
  const dataLength = data?.length ?? 0;
  if (areaLength === 0 && dataLength === 0) return EMPTY;
  const out = Buffer.allocUnsafe(OPTION_AREA_PREFIX + areaLength + dataLength);
  out[0] = areaLength;
  let at = OPTION_AREA_PREFIX;
  if (blocks.length > 0) {
    out[at++] = OPTION_SACK;
    out[at++] = blocks.length * SACK_BLOCK_SIZE;
    for (const block of blocks) {
      out.writeUInt32BE(block.start >>> 0, at);
      out.writeUInt32BE(block.end >>> 0, at + 4);
      at += SACK_BLOCK_SIZE;
    }
  }
  if (options.zeroWindow) {
    out[at++] = OPTION_ZERO_WINDOW;
    out[at++] = 0;
  }
  if (options.ackRequest) {
    out[at++] = OPTION_ACK_REQUEST;
    out[at++] = 0;
  }
  if (data && dataLength > 0) out.set(data, at);
  return out;
}

const EMPTY = Buffer.alloc(0);
