/**
 * The overlay packet: a 34-byte big-endian header followed by the payload (Pilot Protocol v0.5).
 *
 *   0      version (high 4 bits, = 1) | flags (low 4 bits: SYN 1, ACK 2, FIN 4, RST 8)
 *   1      protocol (1 stream, 2 datagram, 3 control)
 *   2-3    payload length
 *   4-5    source network        6-9   source node
 *   10-11  destination network   12-15 destination node
 *   16-17  source port           18-19 destination port
 *   20-23  sequence number       24-27 acknowledgement number
 *   28-29  window (segments, 0 = no limit)
 *   30-33  CRC32 (IEEE) over the header with this field zeroed, then the payload
 *
 * The CRC is part of the published format, so we always compute it when sending and check it on
 * any packet that did not come through a tunnel; inside a tunnel the AEAD tag already proves
 * every byte, and the node skips the (redundant) check on its hot path.
 */
import { crc32 } from 'node:zlib';
import type { SocketAddress } from './address.ts';
import { fail, ok, type DecodeError, type Result } from './result.ts';

export const HEADER_SIZE = 34;
export const WIRE_VERSION = 1;
export const MAX_PAYLOAD = 0xffff;

export const FLAG_SYN = 0x1;
export const FLAG_ACK = 0x2;
export const FLAG_FIN = 0x4;
export const FLAG_RST = 0x8;

export const PROTO_STREAM = 0x01;
export const PROTO_DATAGRAM = 0x02;
export const PROTO_CONTROL = 0x03;

export type Protocol = typeof PROTO_STREAM | typeof PROTO_DATAGRAM | typeof PROTO_CONTROL;

export interface Packet {
  readonly flags: number;
  readonly protocol: Protocol;
  readonly src: SocketAddress;
  readonly dst: SocketAddress;
  readonly seq: number; // u32
  readonly ack: number; // u32
  readonly window: number; // u16
  readonly payload: Uint8Array;
}

export type WireErrorCode =
  | 'wire_short'
  | 'wire_version'
  | 'wire_protocol'
  | 'wire_length'
  | 'wire_checksum'
  | 'wire_field_range';
export type WireError = DecodeError<WireErrorCode>;

const CHECKSUM_OFFSET = 30;

function checkU(value: number, bits: 16 | 32, name: string): string | null {
  const max = bits === 16 ? 0xffff : 0xffffffff;
  return Number.isInteger(value) && value >= 0 && value <= max ? null : `${name} ${value} does not fit in ${bits} bits`;
}

function isU16(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/** Encodes a packet; returns an error (never throws) if a field is out of range. */
export function encodePacket(p: Packet): Result<Buffer, WireError> {
  const header = encodeHeader(p);
  return header.ok ? ok(Buffer.concat([header.value, p.payload])) : header;
}

/**
 * Encodes only the 34-byte header (its CRC covers the payload too), so the packet path can hand
 * header and payload to the cipher as two pieces instead of copying the payload into one buffer.
 */
export function encodeHeader(p: Packet): Result<Buffer, WireError> {
  // This runs for every packet sent: check cheaply first, explain only on failure.
  const valid =
    isU16(p.src.network) && isU32(p.src.node) && isU16(p.src.port) &&
    isU16(p.dst.network) && isU32(p.dst.node) && isU16(p.dst.port) &&
    isU32(p.seq) && isU32(p.ack) && isU16(p.window) &&
    Number.isInteger(p.flags) && p.flags >= 0 && p.flags <= 0xf && p.payload.length <= MAX_PAYLOAD;
  if (!valid) {
    const problems = [
      checkU(p.src.network, 16, 'source network'),
      checkU(p.src.node, 32, 'source node'),
      checkU(p.src.port, 16, 'source port'),
      checkU(p.dst.network, 16, 'destination network'),
      checkU(p.dst.node, 32, 'destination node'),
      checkU(p.dst.port, 16, 'destination port'),
      checkU(p.seq, 32, 'seq'),
      checkU(p.ack, 32, 'ack'),
      checkU(p.window, 16, 'window'),
      Number.isInteger(p.flags) && p.flags >= 0 && p.flags <= 0xf ? null : `flags ${p.flags} do not fit in 4 bits`,
      p.payload.length <= MAX_PAYLOAD ? null : `payload of ${p.payload.length} bytes exceeds ${MAX_PAYLOAD}`,
    ].filter((x): x is string => x !== null);
    return fail('wire_field_range', problems.join('; '));
  }
  if (p.protocol !== PROTO_STREAM && p.protocol !== PROTO_DATAGRAM && p.protocol !== PROTO_CONTROL) {
    return fail('wire_protocol', `unknown protocol ${String(p.protocol)}`);
  }
  const buf = Buffer.allocUnsafe(HEADER_SIZE);
  buf[0] = (WIRE_VERSION << 4) | p.flags;
  buf[1] = p.protocol;
  buf.writeUInt16BE(p.payload.length, 2);
  buf.writeUInt16BE(p.src.network, 4);
  buf.writeUInt32BE(p.src.node, 6);
  buf.writeUInt16BE(p.dst.network, 10);
  buf.writeUInt32BE(p.dst.node, 12);
  buf.writeUInt16BE(p.src.port, 16);
  buf.writeUInt16BE(p.dst.port, 18);
  buf.writeUInt32BE(p.seq, 20);
  buf.writeUInt32BE(p.ack, 24);
  buf.writeUInt16BE(p.window, 28);
  buf.writeUInt32BE(0, CHECKSUM_OFFSET);
  buf.writeUInt32BE(crc32(p.payload, crc32(buf)), CHECKSUM_OFFSET);
  return ok(buf);
}

export interface DecodeOptions {
  /**
   * Check the CRC (default). The node skips it for packets that came out of a tunnel: the AEAD
   * tag has already proved every byte is what the peer sealed, so the CRC cannot fail there and
   * would only cost time on every packet.
   */
  verifyChecksum?: boolean;
}

/** Decodes a packet. Total: every malformed input yields a typed error. */
export function decodePacket(bytes: Uint8Array, options: DecodeOptions = {}): Result<Packet, WireError> {
  if (!(bytes instanceof Uint8Array)) return fail('wire_short', 'not a byte buffer');
  if (bytes.length < HEADER_SIZE) {
    return fail('wire_short', `packet of ${bytes.length} bytes is shorter than the ${HEADER_SIZE}-byte header`);
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = buf[0]! >> 4;
  if (version !== WIRE_VERSION) return fail('wire_version', `unsupported version ${version} (expected ${WIRE_VERSION})`);
  const protocol = buf[1]!;
  if (protocol !== PROTO_STREAM && protocol !== PROTO_DATAGRAM && protocol !== PROTO_CONTROL) {
    return fail('wire_protocol', `unknown protocol 0x${protocol.toString(16).padStart(2, '0')}`);
  }
  const length = buf.readUInt16BE(2);
  if (length !== buf.length - HEADER_SIZE) {
    return fail('wire_length', `header says ${length} payload bytes but ${buf.length - HEADER_SIZE} follow`);
  }
  if (options.verifyChecksum !== false) {
    const claimed = buf.readUInt32BE(CHECKSUM_OFFSET);
    // Recompute over the header with the checksum zeroed, without copying the packet.
    let crc = crc32(buf.subarray(0, CHECKSUM_OFFSET));
    crc = crc32(ZERO4, crc);
    crc = crc32(buf.subarray(HEADER_SIZE), crc);
    if (crc !== claimed) {
      return fail('wire_checksum', `checksum 0x${claimed.toString(16)} does not match 0x${crc.toString(16)}`);
    }
  }
  return ok({
    flags: buf[0]! & 0x0f,
    protocol: protocol as Protocol,
    src: { network: buf.readUInt16BE(4), node: buf.readUInt32BE(6), port: buf.readUInt16BE(16) },
    dst: { network: buf.readUInt16BE(10), node: buf.readUInt32BE(12), port: buf.readUInt16BE(18) },
    seq: buf.readUInt32BE(20),
    ack: buf.readUInt32BE(24),
    window: buf.readUInt16BE(28),
    payload: buf.subarray(HEADER_SIZE),
  });
}

const ZERO4 = Buffer.alloc(4);

/** Serial-number comparison for 32-bit stream sequence numbers: true when a is after b. */
export function seqAfter(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
