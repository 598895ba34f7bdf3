/**
 * Registry messages, carried as underlay datagrams on the node's own UDP socket, so the registry
 * sees the endpoint a node's peers will see (after NAT) and the keepalives hold the mapping open.
 *
 *   request:  0x10 | Ed25519 signature (64) | JSON body   signed by the node's identity key
 *   response: 0x11 | Ed25519 signature (64) | JSON body   signed by the registry's identity key
 *
 * Requests carry a nonce and a timestamp: the registry refuses stale or replayed ones. Responses
 * echo the nonce, and the client pins the registry's key on first contact, so a spoofed or
 * replayed response is dropped. The registry is trusted for reachability, never for identity:
 * the keys it hands out are verified in the tunnel handshake and by analysts via fingerprints.
 */
import { ed25519Verify, randomBytes, SIGNATURE_SIZE } from './crypto.ts';
import type { NodeIdentity } from './identity.ts';
import { isNatType, type NatType } from './nat-type.ts';
import { fail, ok, type DecodeError, type Result } from './result.ts';

export const MSG_REGISTRY_REQUEST = 0x10;
export const MSG_REGISTRY_RESPONSE = 0x11;
/** Registry datagrams may be larger than tunnel datagrams (a register carries the trust tags). */
export const MAX_REGISTRY_MESSAGE = 16 * 1024;
export const MAX_TRUSTED_TAGS = 512;
/** Requests older or newer than this are refused: clocks may drift, replays may not. */
export const REGISTRY_FRESHNESS_MS = 5 * 60_000;

const REQUEST_CONTEXT = Buffer.from('swarm-soc registry request v1\0');
const RESPONSE_CONTEXT = Buffer.from('swarm-soc registry response v1\0');

export type LookupPurpose = 'info' | 'handshake' | 'connect';

export interface RegisterBody {
  op: 'register';
  hostname: string;
  static_public: string; // base64
  static_sig: string; // base64
  endpoints: string[]; // local candidates (ip:port); the registry adds what it observes
  trusted: string[]; // tags (trustTag) of the keys this node trusts: they may see its endpoints
  public: boolean;
  /** The NAT this node found itself behind (a hint for peers: behind a symmetric one, relay at once). */
  nat?: NatType;
}

export interface LookupBody {
  op: 'lookup';
  target: string; // hostname, address (N:NNNN.HHHH.LLLL) or base64url key
  purpose: LookupPurpose;
}

/** Ask the registry to tell `target` to punch towards us (see relay-protocol.ts). */
export interface PunchBody {
  op: 'punch';
  target: string; // as in lookup
  token: string; // 32 hex digits, echoed in the target's punch packets
}

export interface UnregisterBody {
  op: 'unregister';
}

export type RequestBody = (RegisterBody | LookupBody | PunchBody | UnregisterBody) & { key: string; nonce: string; ts: number };

export interface PublicRecord {
  hostname: string;
  address: string;
  key: string;
  static_public: string;
  static_sig: string;
  online: boolean;
  last_seen: number;
  /** Present only when the registry may disclose them to this requester. */
  endpoints?: string[];
  /** The node's NAT as it last reported it (with the endpoints). */
  nat?: NatType;
}

export interface ResponseBody {
  re: string; // the request nonce
  registry_key: string; // base64url Ed25519 key the response is signed with
  ok: boolean;
  error?: { code: string; message: string };
  address?: string; // register: the address assigned to the caller
  observed?: string; // register: the caller's endpoint as the registry sees it
  beacon_port?: number; // register: the beacon's second UDP port on the registry's IP (NAT classification)
  record?: PublicRecord; // lookup; punch: the target as the registry knows it now
}

export type RegistryDecodeCode = 'registry_short' | 'registry_json' | 'registry_schema' | 'registry_signature' | 'registry_key_mismatch';
export type RegistryDecodeError = DecodeError<RegistryDecodeCode>;

export function newRequestNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function encodeRequest(identity: NodeIdentity, body: RegisterBody | LookupBody | PunchBody | UnregisterBody, now = Date.now()): { nonce: string; bytes: Buffer } {
  const nonce = newRequestNonce();
  const full = { ...body, key: identity.publicKey.toString('base64url'), nonce, ts: now };
  const json = Buffer.from(JSON.stringify(full));
  const signature = identity.sign(Buffer.concat([REQUEST_CONTEXT, json]));
  return { nonce, bytes: Buffer.concat([Buffer.from([MSG_REGISTRY_REQUEST]), signature, json]) };
}

export function encodeResponse(registry: NodeIdentity, body: ResponseBody): Buffer {
  const json = Buffer.from(JSON.stringify(body));
  const signature = registry.sign(Buffer.concat([RESPONSE_CONTEXT, json]));
  return Buffer.concat([Buffer.from([MSG_REGISTRY_RESPONSE]), signature, json]);
}

function splitSigned(bytes: Uint8Array, type: number): Result<{ signature: Uint8Array; json: Buffer; parsed: Record<string, unknown> }, RegistryDecodeError> {
  if (!(bytes instanceof Uint8Array) || bytes.length < 1 + SIGNATURE_SIZE + 2 || bytes[0] !== type) {
    return fail('registry_short', 'registry message too short');
  }
  if (bytes.length > MAX_REGISTRY_MESSAGE) return fail('registry_short', 'registry message too large');
  const signature = bytes.subarray(1, 1 + SIGNATURE_SIZE);
  const json = Buffer.from(bytes.subarray(1 + SIGNATURE_SIZE));
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    return fail('registry_json', 'registry message is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('registry_schema', 'not an object');
  return ok({ signature, json, parsed: parsed as Record<string, unknown> });
}

const B64URL_KEY = /^[A-Za-z0-9_-]{43}$/;
const B64_32 = /^[A-Za-z0-9+/]{43}=$/;
const B64_64 = /^[A-Za-z0-9+/]{86}==$/;
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const TAG = /^[0-9a-f]{16}$/;

function isStringList(v: unknown, max: number, each: (s: string) => boolean): v is string[] {
  return Array.isArray(v) && v.length <= max && v.every((s) => typeof s === 'string' && each(s));
}

/** Decodes and verifies a request (signature by the key it names). Never throws. */
export function decodeRequest(bytes: Uint8Array): Result<RequestBody, RegistryDecodeError> {
  const split = splitSigned(bytes, MSG_REGISTRY_REQUEST);
  if (!split.ok) return split;
  const o = split.value.parsed;
  const bad = (what: string) => fail('registry_schema', `invalid registry request: ${what}`);
  if (typeof o.key !== 'string' || !B64URL_KEY.test(o.key)) return bad('key');
  if (typeof o.nonce !== 'string' || !NONCE.test(o.nonce)) return bad('nonce');
  if (typeof o.ts !== 'number' || !Number.isSafeInteger(o.ts)) return bad('ts');
  let body: RequestBody;
  const common = { key: o.key, nonce: o.nonce, ts: o.ts };
  switch (o.op) {
    case 'register':
      if (typeof o.hostname !== 'string' || o.hostname.length > 63) return bad('hostname');
      if (typeof o.static_public !== 'string' || !B64_32.test(o.static_public)) return bad('static_public');
      if (typeof o.static_sig !== 'string' || !B64_64.test(o.static_sig)) return bad('static_sig');
      if (!isStringList(o.endpoints, 8, (s) => s.length <= 64)) return bad('endpoints');
      if (!isStringList(o.trusted, MAX_TRUSTED_TAGS, (s) => TAG.test(s))) return bad('trusted');
      if (typeof o.public !== 'boolean') return bad('public');
      if (o.nat !== undefined && !isNatType(o.nat)) return bad('nat');
      body = {
        op: 'register',
        hostname: o.hostname,
        static_public: o.static_public,
        static_sig: o.static_sig,
        endpoints: o.endpoints,
        trusted: o.trusted,
        public: o.public,
        ...(o.nat !== undefined ? { nat: o.nat as NatType } : {}),
        ...common,
      };
      break;
    case 'lookup':
      if (typeof o.target !== 'string' || o.target.length === 0 || o.target.length > 64) return bad('target');
      if (o.purpose !== 'info' && o.purpose !== 'handshake' && o.purpose !== 'connect') return bad('purpose');
      body = { op: 'lookup', target: o.target, purpose: o.purpose, ...common };
      break;
    case 'punch':
      if (typeof o.target !== 'string' || o.target.length === 0 || o.target.length > 64) return bad('target');
      if (typeof o.token !== 'string' || !/^[0-9a-f]{32}$/.test(o.token)) return bad('token');
      body = { op: 'punch', target: o.target, token: o.token, ...common };
      break;
    case 'unregister':
      body = { op: 'unregister', ...common };
      break;
    default:
      return bad('op');
  }
  if (!ed25519Verify(Buffer.from(o.key, 'base64url'), Buffer.concat([REQUEST_CONTEXT, split.value.json]), split.value.signature)) {
    return fail('registry_signature', 'registry request signature does not verify');
  }
  return ok(body);
}

function isRecord(v: unknown): v is PublicRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.hostname === 'string' &&
    typeof r.address === 'string' &&
    typeof r.key === 'string' &&
    B64URL_KEY.test(r.key) &&
    typeof r.static_public === 'string' &&
    B64_32.test(r.static_public) &&
    typeof r.static_sig === 'string' &&
    B64_64.test(r.static_sig) &&
    typeof r.online === 'boolean' &&
    typeof r.last_seen === 'number' &&
    (r.endpoints === undefined || isStringList(r.endpoints, 8, (s) => s.length <= 64)) &&
    (r.nat === undefined || isNatType(r.nat))
  );
}

/**
 * Decodes a response and verifies its signature. With `pinnedKey` (the registry key seen on first
 * contact) a response signed by any other key is refused; without one, the caller pins the key
 * the response names. Never throws.
 */
export function decodeResponse(bytes: Uint8Array, pinnedKey: string | null): Result<ResponseBody, RegistryDecodeError> {
  const split = splitSigned(bytes, MSG_REGISTRY_RESPONSE);
  if (!split.ok) return split;
  const o = split.value.parsed;
  if (typeof o.re !== 'string' || typeof o.ok !== 'boolean') return fail('registry_schema', 'bad response');
  if (typeof o.registry_key !== 'string' || !B64URL_KEY.test(o.registry_key)) return fail('registry_schema', 'bad registry key');
  if (pinnedKey !== null && o.registry_key !== pinnedKey) {
    return fail('registry_key_mismatch', 'the registry answered with a different key than the one pinned on first contact');
  }
  const key = Buffer.from(o.registry_key, 'base64url');
  if (!ed25519Verify(key, Buffer.concat([RESPONSE_CONTEXT, split.value.json]), split.value.signature)) {
    return fail('registry_signature', 'registry response signature does not verify');
  }
  const body: ResponseBody = { re: o.re, ok: o.ok, registry_key: o.registry_key };
  if (o.error !== undefined) {
    const e = o.error as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || typeof e.code !== 'string' || typeof e.message !== 'string') {
      return fail('registry_schema', 'bad error');
    }
    body.error = { code: e.code, message: e.message };
  }
  if (typeof o.address === 'string') body.address = o.address;
  if (typeof o.observed === 'string') body.observed = o.observed;
  if (typeof o.beacon_port === 'number' && Number.isInteger(o.beacon_port) && o.beacon_port > 0 && o.beacon_port <= 65535) body.beacon_port = o.beacon_port;
  if (o.record !== undefined) {
    if (!isRecord(o.record)) return fail('registry_schema', 'bad record');
    body.record = o.record;
  }
  return ok(body);
}

/**
 * The registry learns which keys a node trusts (so it may disclose the node's endpoints to them)
 * as 8-byte tags of those keys, which keeps a registration inside one datagram.
 */
export function trustTag(keyB64url: string): string {
  return Buffer.from(keyB64url, 'base64url').subarray(0, 8).toString('hex');
}
