/**
 * Trust-handshake messages (port 444). Each datagram is a 64-byte Ed25519 signature followed by a
 * JSON body; the signature covers a context string and the exact body bytes, so nothing has to
 * be re-serialised to be checked. The decoder is total and strict: every field is type-, length-
 * and format-checked, and the signature is verified against the sender key named in the body.
 */
import { parseAddress } from './address.ts';
import { isValidHostname } from './hostname.ts';
import { ed25519Verify, randomBytes, SIGNATURE_SIZE } from './crypto.ts';
import type { NodeIdentity } from './identity.ts';
import { MAX_DATAGRAM_PAYLOAD } from './node.ts';
import { fail, ok, type DecodeError, type Result } from './result.ts';

/** What a trusted peer may be allowed to do on this node. */
export const CAPABILITIES = ['events.subscribe', 'events.publish', 'mitigation.request', 'data.exchange'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export function isCapability(value: string): value is Capability {
  return (CAPABILITIES as readonly string[]).includes(value);
}

export const MAX_JUSTIFICATION_BYTES = 600;
export const MAX_REASON_BYTES = 300;
const SIGNING_CONTEXT = Buffer.from('swarm-soc trust v1\0');
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;

interface Common {
  nonce: string;
  from: string; // base64url Ed25519 key of the sender
  to: string; // base64url Ed25519 key of the receiver
  ts: number; // ms since the epoch
}

export interface RequestMessage extends Common {
  type: 'request';
  hostname: string;
  address: string;
  justification: string;
  want: Capability[];
  offer: Capability[];
}

export type AckStatus = 'pending' | 'trusted' | 'refused' | 'done';

export interface AckMessage extends Common {
  type: 'ack';
  ref: string;
  status: AckStatus;
  detail: string;
}

export interface ApproveMessage extends Common {
  type: 'approve';
  ref: string; // request id (the request's nonce)
  caps: Capability[];
  hostname: string;
  address: string;
}

export interface RejectMessage extends Common {
  type: 'reject';
  ref: string;
  reason: string;
}

export interface RevokeMessage extends Common {
  type: 'revoke';
  reason: string;
}

export type TrustMessage = RequestMessage | AckMessage | ApproveMessage | RejectMessage | RevokeMessage;

/** Distributive Omit, so each message kind keeps its own fields. */
export type TrustMessageDraft = TrustMessage extends infer M ? (M extends TrustMessage ? Omit<M, 'nonce' | 'from' | 'ts'> : never) : never;

export type TrustDecodeCode = 'trust_short' | 'trust_too_large' | 'trust_json' | 'trust_schema' | 'trust_signature';
export type TrustDecodeError = DecodeError<TrustDecodeCode>;

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Signs a message. The nonce is fixed by the caller when a message is retried (it identifies the
 * message); the timestamp is taken at signing, so a retry hours later is still fresh.
 */
export function signTrustMessage(
  identity: NodeIdentity,
  draft: TrustMessageDraft,
  nonce = newNonce(),
  now = Date.now(),
): { message: TrustMessage; bytes: Buffer } {
  const message = { ...draft, nonce, from: identity.publicKey.toString('base64url'), ts: now } as TrustMessage;
  const body = Buffer.from(JSON.stringify(message));
  const signature = identity.sign(Buffer.concat([SIGNING_CONTEXT, body]));
  return { message, bytes: Buffer.concat([signature, body]) };
}

type Obj = Record<string, unknown>;

function str(o: Obj, field: string, pattern: RegExp | null, maxBytes: number): string | null {
  const v = o[field];
  if (typeof v !== 'string' || Buffer.byteLength(v) > maxBytes) return null;
  if (pattern && !pattern.test(v)) return null;
  return v;
}

function caps(o: Obj, field: string): Capability[] | null {
  const v = o[field];
  if (!Array.isArray(v) || v.length > CAPABILITIES.length) return null;
  const out: Capability[] = [];
  for (const c of v) {
    if (typeof c !== 'string' || !isCapability(c) || out.includes(c)) return null;
    out.push(c);
  }
  return out;
}

function schemaError(what: string): { ok: false; error: TrustDecodeError } {
  return fail('trust_schema', `invalid trust message: ${what}`);
}

/** Decodes, validates and verifies a trust datagram. Never throws. */
export function decodeTrustMessage(bytes: Uint8Array): Result<TrustMessage, TrustDecodeError> {
  if (!(bytes instanceof Uint8Array) || bytes.length <= SIGNATURE_SIZE + 2) return fail('trust_short', 'trust message too short');
  if (bytes.length > MAX_DATAGRAM_PAYLOAD) return fail('trust_too_large', 'trust message too large');
  const signature = bytes.subarray(0, SIGNATURE_SIZE);
  const body = bytes.subarray(SIGNATURE_SIZE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return fail('trust_json', 'trust message body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return schemaError('not an object');
  const o = parsed as Obj;
  const nonce = str(o, 'nonce', NONCE_PATTERN, 22);
  const from = str(o, 'from', KEY_PATTERN, 43);
  const to = str(o, 'to', KEY_PATTERN, 43);
  const ts = o.ts;
  if (!nonce || !from || !to) return schemaError('nonce, from and to are required');
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return schemaError('ts must be a timestamp in ms');
  const common = { nonce, from, to, ts };
  let message: TrustMessage;
  switch (o.type) {
    case 'request': {
      const hostname = isValidHostname(o.hostname) ? o.hostname : null;
      const address = str(o, 'address', null, 32);
      const justification = str(o, 'justification', null, MAX_JUSTIFICATION_BYTES);
      const want = caps(o, 'want');
      const offer = caps(o, 'offer');
      if (!hostname) return schemaError('bad hostname');
      if (!address || !parseAddress(address).ok) return schemaError('bad address');
      if (justification === null) return schemaError(`justification must be text of at most ${MAX_JUSTIFICATION_BYTES} bytes`);
      if (!want || !offer) return schemaError('unknown or repeated capability');
      message = { type: 'request', ...common, hostname, address, justification, want, offer };
      break;
    }
    case 'ack': {
      const ref = str(o, 'ref', NONCE_PATTERN, 22);
      const status = o.status;
      const detail = str(o, 'detail', null, MAX_REASON_BYTES);
      if (!ref) return schemaError('ack needs ref');
      if (status !== 'pending' && status !== 'trusted' && status !== 'refused' && status !== 'done') return schemaError('bad ack status');
      if (detail === null) return schemaError('bad ack detail');
      message = { type: 'ack', ...common, ref, status, detail };
      break;
    }
    case 'approve': {
      const ref = str(o, 'ref', NONCE_PATTERN, 22);
      const granted = caps(o, 'caps');
      const hostname = isValidHostname(o.hostname) ? o.hostname : null;
      const address = str(o, 'address', null, 32);
      if (!ref || !granted || !hostname || !address || !parseAddress(address).ok) return schemaError('bad approve');
      message = { type: 'approve', ...common, ref, caps: granted, hostname, address };
      break;
    }
    case 'reject': {
      const ref = str(o, 'ref', NONCE_PATTERN, 22);
      const reason = str(o, 'reason', null, MAX_REASON_BYTES);
      if (!ref || reason === null) return schemaError('bad reject');
      message = { type: 'reject', ...common, ref, reason };
      break;
    }
    case 'revoke': {
      const reason = str(o, 'reason', null, MAX_REASON_BYTES);
      if (reason === null) return schemaError('bad revoke');
      message = { type: 'revoke', ...common, reason };
      break;
    }
    default:
      return schemaError('unknown type');
  }
  const fromKey = Buffer.from(from, 'base64url');
  if (!ed25519Verify(fromKey, Buffer.concat([SIGNING_CONTEXT, body]), signature)) {
    return fail('trust_signature', 'trust message signature does not verify');
  }
  return ok(message);
}
