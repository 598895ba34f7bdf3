/**
 * Tasks (port 1003): a trusted peer asks this node to do something — the console asks a firewall
 * executor to block an address. Carried over a reliable overlay stream, framed like the event
 * stream (u32 big-endian length, then a JSON object):
 *
 *   requester → worker   { type: 'task', task, payload, signer, signature }
 *   worker → requester   { type: 'result', id, status, code?, reason?, detail? }
 *
 * `payload` is JSON *text*, and the signature covers exactly those bytes:
 *
 *   "swarm-soc/task/v1" 0x00 task 0x00 payload
 *
 * Why sign inside a tunnel that is already authenticated: the tunnel proves who sent the bytes
 * now; the signature makes the request itself evidence. The worker keeps the signed request in
 * its audit trail and anyone can check later, with the requester's public key alone, who ordered
 * a block and with which parameters. The domain prefix keeps a task signature from ever being
 * taken for a trust-handshake or registry signature made by the same key.
 *
 * Every payload holds at least `id` (the request id, never reused) and `issuedAt` (ms since the
 * epoch, for freshness). Decoding is total: any bytes give a message or a typed refusal.
 */
import { ed25519Verify, SIGNATURE_SIZE, KEY_SIZE } from './crypto.ts';
import { EventFrameDecoder, frameJson } from './event-wire.ts';

const TASK_DOMAIN = 'swarm-soc/task/v1';
/** A payload is a request, not a file: a bigger one is a broken or hostile peer. */
export const MAX_TASK_PAYLOAD = 16 * 1024;
const TASK_NAME_RULE = /^[a-z][a-z0-9._-]{0,31}$/;
const REQUEST_ID_RULE = /^[A-Za-z0-9_-]{8,64}$/;
/** A request older than this is refused as stale: a captured request cannot be played back later. */
export const TASK_MAX_AGE_MS = 5 * 60_000;
/** Clocks differ a little between machines; a request from further in the future is refused. */
export const TASK_MAX_SKEW_MS = 30_000;

export type TaskRefusalCode =
  | 'malformed' // not a task message, or a payload that is not a JSON object with id and issuedAt
  | 'unsigned' // no signer or no signature
  | 'wrong_signer' // signed by a key that is not the peer's own identity
  | 'bad_signature' // the signature does not verify
  | 'forbidden' // the peer was not granted the capability this task needs
  | 'stale' // issuedAt too old or too far in the future
  | 'unknown_task' // no handler for this task here
  | 'replayed' // the request id was seen before
  | 'busy' // the worker cannot take it now
  | 'failed'; // the handler failed unexpectedly

export interface TaskMessage {
  readonly type: 'task';
  readonly task: string;
  readonly payload: string;
  /** base64url Ed25519 public key, '' when missing (refused as unsigned). */
  readonly signer: string;
  readonly signature: string;
}

export interface TaskResultMessage {
  readonly type: 'result';
  /** The request id, or '' when the request was too broken to have one. */
  readonly id: string;
  /** What the handler reports (`applied`, `refused`, ...); always `refused` for a TaskRefusalCode. */
  readonly status: string;
  readonly code?: string;
  readonly reason?: string;
  readonly detail?: unknown;
}

/** The bytes a task signature covers. */
export function taskSigningBytes(task: string, payload: string): Buffer {
  return Buffer.concat([Buffer.from(TASK_DOMAIN), Buffer.from([0]), Buffer.from(task), Buffer.from([0]), Buffer.from(payload, 'utf8')]);
}

export function isValidTaskName(task: unknown): task is string {
  return typeof task === 'string' && TASK_NAME_RULE.test(task);
}

export function isValidRequestId(id: unknown): id is string {
  return typeof id === 'string' && REQUEST_ID_RULE.test(id);
}

/** Frames a signed task. `sign` is the requester identity's signing function. */
export function encodeTask(task: string, payload: string, signerKey: Uint8Array, sign: (message: Uint8Array) => Uint8Array): Buffer {
  const signature = Buffer.from(sign(taskSigningBytes(task, payload)));
  return frameJson(JSON.stringify({ type: 'task', task, payload, signer: Buffer.from(signerKey).toString('base64url'), signature: signature.toString('base64url') }));
}

export function encodeTaskMessage(message: TaskMessage | TaskResultMessage): Buffer {
  return frameJson(JSON.stringify(message));
}

function validateTask(m: Record<string, unknown>): TaskMessage | null {
  if (m.type !== 'task' || typeof m.task !== 'string' || typeof m.payload !== 'string') return null;
  // A missing signer or signature is still a task, refused as unsigned (a clearer answer than "malformed").
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  return { type: 'task', task: m.task, payload: m.payload, signer: text(m.signer), signature: text(m.signature) };
}

function validateResult(m: Record<string, unknown>): TaskResultMessage | null {
  if (m.type !== 'result' || typeof m.id !== 'string' || typeof m.status !== 'string' || m.status.length === 0 || m.status.length > 32) return null;
  return {
    type: 'result',
    id: m.id.slice(0, 64),
    status: m.status,
    ...(typeof m.code === 'string' ? { code: m.code.slice(0, 64) } : {}),
    ...(typeof m.reason === 'string' ? { reason: m.reason.slice(0, 500) } : {}),
    ...('detail' in m ? { detail: m.detail } : {}),
  };
}

export function taskDecoderForWorker(): EventFrameDecoder<TaskMessage> {
  return EventFrameDecoder.withValidator(validateTask);
}

export function taskDecoderForRequester(): EventFrameDecoder<TaskResultMessage> {
  return EventFrameDecoder.withValidator(validateResult);
}

export interface VerifiedTask {
  readonly task: string;
  readonly id: string;
  readonly issuedAt: number;
  /** The payload, parsed: a JSON object holding at least id and issuedAt. */
  readonly body: Record<string, unknown>;
  /** The request exactly as signed, to keep as evidence. */
  readonly signed: { readonly payload: string; readonly signer: string; readonly signature: string };
}

export type TaskCheck = { ok: true; task: VerifiedTask } | { ok: false; code: TaskRefusalCode; reason: string; id: string };

/**
 * Checks a task message from the peer whose identity key is `peerKey` (what the tunnel proved):
 * shape, signature by that very key, then freshness. Capability and replay are the caller's
 * (they need the trust store and durable state). Never throws.
 */
export function verifyTask(message: TaskMessage, peerKey: Uint8Array, now: number): TaskCheck {
  const refuse = (code: TaskRefusalCode, reason: string, id = ''): TaskCheck => ({ ok: false, code, reason, id });
  if (!isValidTaskName(message.task)) return refuse('malformed', 'the task name is not valid');
  if (Buffer.byteLength(message.payload) > MAX_TASK_PAYLOAD) return refuse('malformed', `the payload exceeds ${MAX_TASK_PAYLOAD} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(message.payload);
  } catch {
    body = null;
  }
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  const id = fields !== null && isValidRequestId(fields.id) ? fields.id : '';
  if (message.signer === '' || message.signature === '') return refuse('unsigned', 'the request is not signed', id);
  const signer = Buffer.from(message.signer, 'base64url');
  const signature = Buffer.from(message.signature, 'base64url');
  if (signer.length !== KEY_SIZE || signature.length !== SIGNATURE_SIZE) return refuse('bad_signature', 'the signer key or signature has the wrong length', id);
  // Only the peer's own identity may sign: a request signed by any other key — even a key this
  // node trusts — arriving through this peer's tunnel is someone else's request replayed or forged.
  if (!signer.equals(Buffer.from(peerKey))) return refuse('wrong_signer', "the request is signed by a key that is not the sender's identity", id);
  if (!ed25519Verify(signer, taskSigningBytes(message.task, message.payload), signature)) return refuse('bad_signature', 'the signature does not verify', id);
  if (fields === null) return refuse('malformed', 'the payload is not a JSON object');
  if (id === '') return refuse('malformed', 'the payload has no valid id (8-64 of A-Z a-z 0-9 _ -)');
  const issuedAt = fields.issuedAt;
  if (typeof issuedAt !== 'number' || !Number.isSafeInteger(issuedAt)) return refuse('malformed', 'the payload has no issuedAt time', id);
  if (issuedAt < now - TASK_MAX_AGE_MS) return refuse('stale', `the request was issued ${Math.round((now - issuedAt) / 1000)} s ago (at most ${TASK_MAX_AGE_MS / 1000} s)`, id);
  if (issuedAt > now + TASK_MAX_SKEW_MS) return refuse('stale', `the request is dated ${Math.round((issuedAt - now) / 1000)} s in the future (check both clocks)`, id);
  return { ok: true, task: { task: message.task, id, issuedAt, body: fields, signed: { payload: message.payload, signer: message.signer, signature: message.signature } } };
}
