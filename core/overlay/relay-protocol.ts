/**
 * NAT traversal messages between nodes and the registry/beacon, carried as underlay datagrams on
 * each node's one UDP socket (the socket whose NAT mapping the registry knows).
 *
 * Hole punching. A node that cannot reach a peer directly asks the registry (a signed registry
 * request, op `punch`, with a fresh 16-byte token). The registry, which hears from both nodes and
 * so holds a NAT mapping open towards each, sends the peer a notice signed with its own key:
 *
 *   notice: 0x15 | Ed25519 signature (64) | JSON {op:"punch", key, address, endpoints, token, ts}
 *
 * The peer then sends a few punch packets to the requester's endpoints, which opens its own NAT
 * towards the requester while the requester's handshake attempts open the other side:
 *
 *   punch:  0x16 | token (16)
 *
 * A punch packet that reaches the requester names, by its token, which handshake it belongs to;
 * the requester answers its source at once. A punch packet carries no authority: at most it makes
 * a node send an (encrypted, authenticated) handshake or keepalive to an address.
 *
 * Relay. When no direct path works (a symmetric NAT on either side), tunnel frames go through the
 * registry. The relay forwards only between registered nodes, identifies the sender by the
 * endpoint its registrations come from (never by anything the packet claims), and sees nothing
 * but the two overlay addresses and the tunnel's ciphertext:
 *
 *   to the relay:   0x17 | destination network (2) | destination node (4) | tunnel frame
 *   from the relay: 0x18 | source network (2)      | source node (4)      | tunnel frame
 *
 * Both headers are the same size, so the relay never sends more than it received.
 */
import type { Address } from './address.ts';
import { ed25519Verify, randomBytes, SIGNATURE_SIZE } from './crypto.ts';
import type { NodeIdentity } from './identity.ts';
import { fail, ok, type DecodeError, type Result } from './result.ts';

export const MSG_PUNCH_NOTICE = 0x15;
export const MSG_PUNCH = 0x16;
export const MSG_RELAY_SEND = 0x17;
export const MSG_RELAY_DELIVER = 0x18;

export const PUNCH_TOKEN_SIZE = 16;
export const PUNCH_SIZE = 1 + PUNCH_TOKEN_SIZE;
export const RELAY_HEADER_SIZE = 7;
/** Notices older or newer than this are refused (they tell a node where to send packets). */
export const PUNCH_NOTICE_FRESHNESS_MS = 30_000;
const MAX_NOTICE = 2048;
const NOTICE_CONTEXT = Buffer.from('swarm-soc registry punch notice v1\0');

export function newPunchToken(): Buffer {
  return randomBytes(PUNCH_TOKEN_SIZE);
}

export function encodePunch(token: Uint8Array): Buffer {
  if (token.length !== PUNCH_TOKEN_SIZE) throw new RangeError(`a punch token is ${PUNCH_TOKEN_SIZE} bytes`);
  const out = Buffer.allocUnsafe(PUNCH_SIZE);
  out[0] = MSG_PUNCH;
  out.set(token, 1);
  return out;
}

/** The token of a punch packet, as hex, or null if the packet is not one. Never throws. */
export function decodePunch(bytes: Uint8Array): string | null {
  if (bytes.length !== PUNCH_SIZE || bytes[0] !== MSG_PUNCH) return null;
  return Buffer.from(bytes.buffer, bytes.byteOffset + 1, PUNCH_TOKEN_SIZE).toString('hex');
}

/** The 7-byte relay header: `type` and an overlay address. */
export function relayHeader(type: typeof MSG_RELAY_SEND | typeof MSG_RELAY_DELIVER, address: Address): Buffer {
  const out = Buffer.allocUnsafe(RELAY_HEADER_SIZE);
  out[0] = type;
  out.writeUInt16BE(address.network, 1);
  out.writeUInt32BE(address.node, 3);
  return out;
}

/** The address in a relay header (the packet must be longer than the header). Never throws. */
export function relayAddress(bytes: Uint8Array): Address | null {
  if (bytes.length <= RELAY_HEADER_SIZE) return null;
  return { network: (bytes[1]! << 8) | bytes[2]!, node: ((bytes[3]! << 24) | (bytes[4]! << 16) | (bytes[5]! << 8) | bytes[6]!) >>> 0 };
}

export interface PunchNotice {
  op: 'punch';
  /** The requester's identity key (base64url). */
  key: string;
  /** The requester's overlay address (N:NNNN.HHHH.LLLL). */
  address: string;
  /** Where to send punch packets: the requester's observed endpoint first. */
  endpoints: string[];
  /** The requester's token (hex). */
  token: string;
  ts: number;
}

export function encodePunchNotice(registry: NodeIdentity, notice: PunchNotice): Buffer {
  const json = Buffer.from(JSON.stringify(notice));
  const signature = registry.sign(Buffer.concat([NOTICE_CONTEXT, json]));
  return Buffer.concat([Buffer.from([MSG_PUNCH_NOTICE]), signature, json]);
}

export type PunchNoticeDecodeCode = 'notice_size' | 'notice_json' | 'notice_schema' | 'notice_signature';

/** Decodes a notice and verifies it was signed by `registryKey` (the pinned key). Never throws. */
export function decodePunchNotice(bytes: Uint8Array, registryKey: Uint8Array): Result<PunchNotice, DecodeError<PunchNoticeDecodeCode>> {
  if (bytes.length < 1 + SIGNATURE_SIZE + 2 || bytes.length > MAX_NOTICE || bytes[0] !== MSG_PUNCH_NOTICE) {
    return fail('notice_size', 'not a punch notice');
  }
  const signature = bytes.subarray(1, 1 + SIGNATURE_SIZE);
  const json = Buffer.from(bytes.subarray(1 + SIGNATURE_SIZE));
  if (!ed25519Verify(registryKey, Buffer.concat([NOTICE_CONTEXT, json]), signature)) {
    return fail('notice_signature', 'punch notice signature does not verify with the pinned registry key');
  }
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
  } catch {
    return fail('notice_json', 'punch notice is not JSON');
  }
  if (typeof o !== 'object' || o === null || o.op !== 'punch') return fail('notice_schema', 'not a punch notice');
  if (typeof o.key !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(o.key)) return fail('notice_schema', 'bad key');
  if (typeof o.address !== 'string' || o.address.length > 32) return fail('notice_schema', 'bad address');
  if (!Array.isArray(o.endpoints) || o.endpoints.length > 8 || !o.endpoints.every((e) => typeof e === 'string' && e.length <= 64)) {
    return fail('notice_schema', 'bad endpoints');
  }
  if (typeof o.token !== 'string' || !/^[0-9a-f]{32}$/.test(o.token)) return fail('notice_schema', 'bad token');
  if (typeof o.ts !== 'number' || !Number.isSafeInteger(o.ts)) return fail('notice_schema', 'bad ts');
  return ok({ op: 'punch', key: o.key, address: o.address, endpoints: o.endpoints as string[], token: o.token, ts: o.ts });
}
