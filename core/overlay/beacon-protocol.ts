/**
 * Beacon probes: "what is my address?", asked on the node's own UDP socket so the answer is the
 * mapping its NAT made for that socket. The registry answers them on its registry port and on a
 * second UDP port (the beacon port); a node that probes both and compares the two answers learns
 * whether its NAT keeps one mapping for every destination (endpoint-independent, punchable) or
 * makes a new one per destination (address/port-dependent, "symmetric": needs a relay).
 *
 *   probe:  0x12 | nonce (16) | zero padding to PROBE_SIZE
 *   answer: 0x13 | nonce (16) | observed endpoint, ASCII, zero-padded to 64 | Ed25519 signature (64)
 *
 * The probe is padded to the answer's size so the beacon never sends more bytes than it was sent
 * (a spoofed source address cannot turn it into an amplifier). The answer is signed by the
 * registry's identity key over a context string and everything before the signature; the node
 * checks it against the registry key it pinned when it registered, so a stranger on the path
 * cannot make it believe a wrong NAT type. The observed address is used only for that label and
 * for display: endpoints peers use come from the registry's own (signed) records.
 */
import { ed25519Verify, randomBytes, SIGNATURE_SIZE } from './crypto.ts';
import type { NodeIdentity } from './identity.ts';
import { fail, ok, type DecodeError, type Result } from './result.ts';
import { formatEndpoint, parseEndpoint, type Endpoint } from './transport.ts';

export const MSG_BEACON_PROBE = 0x12;
export const MSG_BEACON_ANSWER = 0x13;
export const BEACON_NONCE_SIZE = 16;
const ENDPOINT_FIELD_SIZE = 64;
export const BEACON_ANSWER_SIZE = 1 + BEACON_NONCE_SIZE + ENDPOINT_FIELD_SIZE + SIGNATURE_SIZE; // 145
export const BEACON_PROBE_SIZE = BEACON_ANSWER_SIZE;

const ANSWER_CONTEXT = Buffer.from('swarm-soc beacon answer v1\0');

export type BeaconDecodeCode = 'beacon_size' | 'beacon_padding' | 'beacon_endpoint' | 'beacon_signature';
export type BeaconDecodeError = DecodeError<BeaconDecodeCode>;

export function newProbeNonce(): Buffer {
  return randomBytes(BEACON_NONCE_SIZE);
}

export function encodeProbe(nonce: Uint8Array): Buffer {
  if (nonce.length !== BEACON_NONCE_SIZE) throw new RangeError(`a beacon nonce is ${BEACON_NONCE_SIZE} bytes`);
  const out = Buffer.alloc(BEACON_PROBE_SIZE);
  out[0] = MSG_BEACON_PROBE;
  out.set(nonce, 1);
  return out;
}

/** Returns the probe's nonce. The padding must be zero: anything else is junk. Never throws. */
export function decodeProbe(bytes: Uint8Array): Result<Buffer, BeaconDecodeError> {
  if (!(bytes instanceof Uint8Array) || bytes.length !== BEACON_PROBE_SIZE || bytes[0] !== MSG_BEACON_PROBE) {
    return fail('beacon_size', `a beacon probe is ${BEACON_PROBE_SIZE} bytes starting with 0x12`);
  }
  for (let i = 1 + BEACON_NONCE_SIZE; i < bytes.length; i++) {
    if (bytes[i] !== 0) return fail('beacon_padding', 'beacon probe padding is not zero');
  }
  return ok(Buffer.from(bytes.subarray(1, 1 + BEACON_NONCE_SIZE)));
}

export function encodeAnswer(beacon: NodeIdentity, nonce: Uint8Array, observed: Endpoint): Buffer {
  const text = Buffer.from(formatEndpoint(observed), 'ascii');
  if (text.length > ENDPOINT_FIELD_SIZE || nonce.length !== BEACON_NONCE_SIZE) throw new RangeError('beacon answer field too long');
  const out = Buffer.alloc(BEACON_ANSWER_SIZE);
  out[0] = MSG_BEACON_ANSWER;
  out.set(nonce, 1);
  out.set(text, 1 + BEACON_NONCE_SIZE);
  const signed = out.subarray(0, BEACON_ANSWER_SIZE - SIGNATURE_SIZE);
  out.set(beacon.sign(Buffer.concat([ANSWER_CONTEXT, signed])), BEACON_ANSWER_SIZE - SIGNATURE_SIZE);
  return out;
}

export interface BeaconAnswer {
  nonce: Buffer;
  observed: Endpoint;
}

/** Decodes an answer and verifies it was signed by `beaconKey` (the pinned registry key). Never throws. */
export function decodeAnswer(bytes: Uint8Array, beaconKey: Uint8Array): Result<BeaconAnswer, BeaconDecodeError> {
  if (!(bytes instanceof Uint8Array) || bytes.length !== BEACON_ANSWER_SIZE || bytes[0] !== MSG_BEACON_ANSWER) {
    return fail('beacon_size', `a beacon answer is ${BEACON_ANSWER_SIZE} bytes starting with 0x13`);
  }
  const signedPart = bytes.subarray(0, BEACON_ANSWER_SIZE - SIGNATURE_SIZE);
  if (!ed25519Verify(beaconKey, Buffer.concat([ANSWER_CONTEXT, signedPart]), bytes.subarray(BEACON_ANSWER_SIZE - SIGNATURE_SIZE))) {
    return fail('beacon_signature', 'beacon answer signature does not verify with the pinned registry key');
  }
  const field = bytes.subarray(1 + BEACON_NONCE_SIZE, 1 + BEACON_NONCE_SIZE + ENDPOINT_FIELD_SIZE);
  const end = field.indexOf(0);
  const text = Buffer.from(end === -1 ? field : field.subarray(0, end)).toString('latin1');
  for (let i = end === -1 ? field.length : end; i < field.length; i++) {
    if (field[i] !== 0) return fail('beacon_endpoint', 'beacon answer endpoint field is not zero-padded');
  }
  const observed = parseEndpoint(text);
  if (!observed) return fail('beacon_endpoint', 'beacon answer endpoint is not ip:port');
  return ok({ nonce: Buffer.from(bytes.subarray(1, 1 + BEACON_NONCE_SIZE)), observed });
}
