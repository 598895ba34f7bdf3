/**
 * The tunnel key agreement, in the shape of Noise IK (as WireGuard uses it):
 *
 *   <- s                       (the initiator already knows the responder's static X25519 key)
 *   -> e, es, s, ss, {payload} (initiation)
 *   <- e, ee, se, {payload}    (response)
 *
 * Static X25519 keys are bound to the nodes' Ed25519 identities by a signature (the "static
 * certificate"); the initiator's certificate travels encrypted inside the initiation, the
 * responder's comes from the registry and is checked against the responder's identity key before
 * any handshake starts. Ephemeral keys on both sides give forward secrecy. There is no
 * unauthenticated mode: every transport key depends on both static keys.
 *
 * KDFn(ck, ikm) is HKDF-SHA256 with salt = chaining key and empty info, returning n 32-byte
 * outputs: the same construction as Noise's HKDF. AEAD is AES-256-GCM; handshake messages use a
 * zero nonce because every one of their keys is used exactly once.
 *
 * Each message's clear header (type and session indices) is mixed into the transcript hash before
 * its first AEAD, so the tags cover it: a changed index fails the handshake at once, instead of
 * completing it with keys the peer will look up under another index (a silently dead session).
 */
import type { KeyObject } from 'node:crypto';
import {
  aeadOpen,
  aeadSeal,
  AEAD_NONCE_SIZE,
  AEAD_TAG_SIZE,
  ed25519Verify,
  hkdfSha256,
  KEY_SIZE,
  sha256,
  SIGNATURE_SIZE,
  x25519,
  x25519Generate,
  type X25519KeyPair,
} from './crypto.ts';
import { fail, ok, type DecodeError, type Result } from './result.ts';

export const MSG_INITIATION = 0x01;
export const MSG_RESPONSE = 0x02;
export const MSG_TRANSPORT = 0x03;

const CONSTRUCTION = Buffer.from('SwarmSOC_IK_25519_AESGCM_SHA256 v1');
const IDENTIFIER = Buffer.from('swarm-soc overlay tunnel');
const STATIC_CERT_CONTEXT = Buffer.from('swarm-soc static key v1\0');
const ZERO_NONCE = Buffer.alloc(AEAD_NONCE_SIZE);
const EMPTY = Buffer.alloc(0);

const INITIAL_CHAIN = sha256(CONSTRUCTION);
const INITIAL_HASH = sha256(INITIAL_CHAIN, IDENTIFIER);

/** Initiation payload: identity key, static certificate, address (network, node), timestamp. */
const TIMESTAMP_SIZE = 12;
const INIT_PAYLOAD_SIZE = KEY_SIZE + SIGNATURE_SIZE + 6 + TIMESTAMP_SIZE;
/** Type and sender index (initiation); type, sender and receiver index (response). */
const INITIATION_HEADER_SIZE = 1 + 4;
const RESPONSE_HEADER_SIZE = 1 + 4 + 4;
export const INITIATION_SIZE = 1 + 4 + KEY_SIZE + (KEY_SIZE + AEAD_TAG_SIZE) + (INIT_PAYLOAD_SIZE + AEAD_TAG_SIZE);
export const RESPONSE_SIZE = 1 + 4 + 4 + KEY_SIZE + AEAD_TAG_SIZE;

export type HandshakeErrorCode =
  | 'handshake_length'
  | 'handshake_type'
  | 'handshake_key'
  | 'handshake_decrypt'
  | 'handshake_certificate';
export type HandshakeError = DecodeError<HandshakeErrorCode>;

/** The local node's long-term keys as the handshake needs them. */
export interface StaticIdentity {
  readonly identityPublic: Buffer; // Ed25519, 32 bytes
  readonly staticKey: X25519KeyPair;
  /** Ed25519 signature over staticCertificateMessage(staticKey.publicKey). */
  readonly staticSignature: Buffer;
  readonly network: number;
  readonly node: number;
}

export function staticCertificateMessage(staticPublic: Uint8Array): Buffer {
  return Buffer.concat([STATIC_CERT_CONTEXT, staticPublic]);
}

export function verifyStaticCertificate(identityPublic: Uint8Array, staticPublic: Uint8Array, signature: Uint8Array): boolean {
  return staticPublic.length === KEY_SIZE && ed25519Verify(identityPublic, staticCertificateMessage(staticPublic), signature);
}

function kdf1(chain: Buffer, input: Uint8Array): Buffer {
  return hkdfSha256(input, chain, EMPTY, 32);
}

function kdf2(chain: Buffer, input: Uint8Array): [Buffer, Buffer] {
  const out = hkdfSha256(input, chain, EMPTY, 64);
  return [out.subarray(0, 32), out.subarray(32, 64)];
}

/** The symmetric keys a finished handshake yields. */
export interface TransportKeys {
  readonly sendKey: Buffer;
  readonly receiveKey: Buffer;
}

/** What the initiator keeps between sending the initiation and receiving the response. */
export interface InitiatorState {
  readonly localIndex: number;
  readonly ephemeral: X25519KeyPair;
  readonly localStatic: KeyObject;
  readonly chain: Buffer;
  readonly hash: Buffer;
}

export function createInitiation(
  local: StaticIdentity,
  remoteStaticPublic: Uint8Array,
  localIndex: number,
  timestamp: Buffer,
): Result<{ message: Buffer; state: InitiatorState }, HandshakeError> {
  if (timestamp.length !== TIMESTAMP_SIZE) return fail('handshake_length', 'timestamp must be 12 bytes');
  const message = Buffer.alloc(INITIATION_SIZE);
  message[0] = MSG_INITIATION;
  message.writeUInt32BE(localIndex, 1);
  const ephemeral = x25519Generate();
  let chain = INITIAL_CHAIN;
  let hash = sha256(INITIAL_HASH, remoteStaticPublic);
  hash = sha256(hash, message.subarray(0, INITIATION_HEADER_SIZE));
  chain = kdf1(chain, ephemeral.publicKey);
  hash = sha256(hash, ephemeral.publicKey);
  const es = x25519(ephemeral.privateKey, remoteStaticPublic);
  if (!es) return fail('handshake_key', "the peer's static key is invalid");
  let key: Buffer;
  [chain, key] = kdf2(chain, es);
  const encryptedStatic = aeadSeal(key, ZERO_NONCE, local.staticKey.publicKey, hash);
  hash = sha256(hash, encryptedStatic);
  const ss = x25519(local.staticKey.privateKey, remoteStaticPublic);
  if (!ss) return fail('handshake_key', "the peer's static key is invalid");
  [chain, key] = kdf2(chain, ss);
  const payload = Buffer.alloc(INIT_PAYLOAD_SIZE);
  local.identityPublic.copy(payload, 0);
  local.staticSignature.copy(payload, KEY_SIZE);
  payload.writeUInt16BE(local.network, KEY_SIZE + SIGNATURE_SIZE);
  payload.writeUInt32BE(local.node, KEY_SIZE + SIGNATURE_SIZE + 2);
  timestamp.copy(payload, KEY_SIZE + SIGNATURE_SIZE + 6);
  const encryptedPayload = aeadSeal(key, ZERO_NONCE, payload, hash);
  hash = sha256(hash, encryptedPayload);

  ephemeral.publicKey.copy(message, 5);
  encryptedStatic.copy(message, 5 + KEY_SIZE);
  encryptedPayload.copy(message, 5 + KEY_SIZE + encryptedStatic.length);
  return ok({ message, state: { localIndex, ephemeral, localStatic: local.staticKey.privateKey, chain, hash } });
}

/** What the responder learns from a valid initiation. */
export interface Initiation {
  readonly senderIndex: number;
  readonly identityPublic: Buffer;
  readonly staticPublic: Buffer;
  readonly staticSignature: Buffer;
  readonly network: number;
  readonly node: number;
  readonly timestamp: Buffer;
  readonly ephemeralPublic: Buffer;
  readonly chain: Buffer;
  readonly hash: Buffer;
}

export function consumeInitiation(local: StaticIdentity, message: Uint8Array): Result<Initiation, HandshakeError> {
  if (message.length !== INITIATION_SIZE) {
    return fail('handshake_length', `initiation of ${message.length} bytes (expected ${INITIATION_SIZE})`);
  }
  const m = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (m[0] !== MSG_INITIATION) return fail('handshake_type', 'not an initiation');
  const senderIndex = m.readUInt32BE(1);
  const ephemeralPublic = Buffer.from(m.subarray(5, 5 + KEY_SIZE));
  const encryptedStatic = m.subarray(5 + KEY_SIZE, 5 + 2 * KEY_SIZE + AEAD_TAG_SIZE);
  const encryptedPayload = m.subarray(5 + 2 * KEY_SIZE + AEAD_TAG_SIZE);

  let chain = INITIAL_CHAIN;
  let hash = sha256(INITIAL_HASH, local.staticKey.publicKey);
  hash = sha256(hash, m.subarray(0, INITIATION_HEADER_SIZE));
  chain = kdf1(chain, ephemeralPublic);
  hash = sha256(hash, ephemeralPublic);
  const es = x25519(local.staticKey.privateKey, ephemeralPublic);
  if (!es) return fail('handshake_key', 'invalid ephemeral key');
  let key: Buffer;
  [chain, key] = kdf2(chain, es);
  const staticPublic = aeadOpen(key, ZERO_NONCE, encryptedStatic, hash);
  if (!staticPublic) return fail('handshake_decrypt', 'initiation does not decrypt (not meant for us, or tampered)');
  hash = sha256(hash, encryptedStatic);
  const ss = x25519(local.staticKey.privateKey, staticPublic);
  if (!ss) return fail('handshake_key', 'invalid static key');
  [chain, key] = kdf2(chain, ss);
  const payload = aeadOpen(key, ZERO_NONCE, encryptedPayload, hash);
  if (!payload) return fail('handshake_decrypt', 'initiation payload does not decrypt');
  hash = sha256(hash, encryptedPayload);

  const identityPublic = Buffer.from(payload.subarray(0, KEY_SIZE));
  const signature = payload.subarray(KEY_SIZE, KEY_SIZE + SIGNATURE_SIZE);
  if (!verifyStaticCertificate(identityPublic, staticPublic, signature)) {
    return fail('handshake_certificate', "the initiator's static key is not signed by its identity");
  }
  return ok({
    senderIndex,
    identityPublic,
    staticPublic: Buffer.from(staticPublic),
    staticSignature: Buffer.from(signature),
    network: payload.readUInt16BE(KEY_SIZE + SIGNATURE_SIZE),
    node: payload.readUInt32BE(KEY_SIZE + SIGNATURE_SIZE + 2),
    timestamp: Buffer.from(payload.subarray(KEY_SIZE + SIGNATURE_SIZE + 6)),
    ephemeralPublic,
    chain,
    hash,
  });
}

export function createResponse(
  initiation: Initiation,
  localIndex: number,
): Result<{ message: Buffer; keys: TransportKeys }, HandshakeError> {
  const message = Buffer.alloc(RESPONSE_SIZE);
  message[0] = MSG_RESPONSE;
  message.writeUInt32BE(localIndex, 1);
  message.writeUInt32BE(initiation.senderIndex, 5);
  const ephemeral = x25519Generate();
  let chain = kdf1(initiation.chain, ephemeral.publicKey);
  let hash = sha256(initiation.hash, ephemeral.publicKey);
  hash = sha256(hash, message.subarray(0, RESPONSE_HEADER_SIZE));
  const ee = x25519(ephemeral.privateKey, initiation.ephemeralPublic);
  const se = x25519(ephemeral.privateKey, initiation.staticPublic);
  if (!ee || !se) return fail('handshake_key', 'invalid key in initiation');
  chain = kdf1(chain, ee);
  chain = kdf1(chain, se);
  const [finalChain, key] = kdf2(chain, EMPTY);
  chain = finalChain;
  const encryptedEmpty = aeadSeal(key, ZERO_NONCE, EMPTY, hash);
  hash = sha256(hash, encryptedEmpty);
  const [initiatorToResponder, responderToInitiator] = kdf2(chain, EMPTY);

  ephemeral.publicKey.copy(message, 9);
  encryptedEmpty.copy(message, 9 + KEY_SIZE);
  return ok({ message, keys: { sendKey: responderToInitiator, receiveKey: initiatorToResponder } });
}

/** Reads the indices of a response so the node can find the matching initiator state. */
export function responseIndices(message: Uint8Array): Result<{ senderIndex: number; receiverIndex: number }, HandshakeError> {
  if (message.length !== RESPONSE_SIZE) {
    return fail('handshake_length', `response of ${message.length} bytes (expected ${RESPONSE_SIZE})`);
  }
  if (message[0] !== MSG_RESPONSE) return fail('handshake_type', 'not a response');
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  return ok({ senderIndex: view.getUint32(1), receiverIndex: view.getUint32(5) });
}

export function consumeResponse(state: InitiatorState, message: Uint8Array): Result<TransportKeys, HandshakeError> {
  const indices = responseIndices(message);
  if (!indices.ok) return indices;
  if (indices.value.receiverIndex !== state.localIndex) return fail('handshake_type', 'response for another handshake');
  const m = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const ephemeralPublic = m.subarray(9, 9 + KEY_SIZE);
  const encryptedEmpty = m.subarray(9 + KEY_SIZE);
  let chain = kdf1(state.chain, ephemeralPublic);
  let hash = sha256(state.hash, ephemeralPublic);
  hash = sha256(hash, m.subarray(0, RESPONSE_HEADER_SIZE));
  const ee = x25519(state.ephemeral.privateKey, ephemeralPublic);
  const se = x25519(state.localStatic, ephemeralPublic);
  if (!ee || !se) return fail('handshake_key', 'invalid ephemeral key in response');
  chain = kdf1(chain, ee);
  chain = kdf1(chain, se);
  const [finalChain, key] = kdf2(chain, EMPTY);
  chain = finalChain;
  if (!aeadOpen(key, ZERO_NONCE, encryptedEmpty, hash)) {
    return fail('handshake_decrypt', 'response does not decrypt (forged, or from a different key)');
  }
  hash = sha256(hash, encryptedEmpty);
  const [initiatorToResponder, responderToInitiator] = kdf2(chain, EMPTY);
  return ok({ sendKey: initiatorToResponder, receiveKey: responderToInitiator });
}

/**
 * A 12-byte handshake timestamp: milliseconds since the epoch (u64) and a per-process sequence
 * (u32), strictly increasing so a responder can refuse a replayed initiation.
 */
export class TimestampClock {
  #lastMs = 0;
  #sequence = 0;
  next(now = Date.now()): Buffer {
    const nowMs = Math.floor(now);
    if (nowMs > this.#lastMs) {
      this.#lastMs = nowMs;
      this.#sequence = 0;
    } else {
      this.#sequence++;
    }
    const out = Buffer.alloc(TIMESTAMP_SIZE);
    out.writeUInt32BE(Math.floor(this.#lastMs / 2 ** 32), 0);
    out.writeUInt32BE(this.#lastMs >>> 0, 4);
    out.writeUInt32BE(this.#sequence, 8);
    return out;
  }
}

export function timestampMs(timestamp: Buffer): number {
  return timestamp.readUInt32BE(0) * 2 ** 32 + timestamp.readUInt32BE(4);
}
