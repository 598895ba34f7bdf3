/**
 * What the executor is asked to do and what it answers: the types the task handler (port 1003)
 * and the CLI share with the executor, and a total check of an order's shape.
 *
 * The signed task wire has already verified who sent the order, their capability and its
 * freshness; this shape check still runs because the executor is also driven by the CLI and by
 * tests, and because a string that reaches SQLite and the audit log should be bounded.
 */
import { randomUUID } from 'node:crypto';
import { fail, ok, type DecodeError, type Result } from '../../overlay/result.ts';
import { quoteInput } from './cidr.ts';

export type MitigationAction = 'block' | 'unblock';

export interface MitigationRequester {
  /** Key fingerprint of the node that signed the order. */
  readonly fingerprint: string;
  readonly hostname: string;
}

export interface MitigationOrder {
  /** Unique per order: the executor refuses an id it has seen before (replay). */
  readonly requestId: string;
  readonly incidentId: string | null;
  readonly action: MitigationAction;
  /** An address or CIDR, as the analyst approved it (canonicalised by the executor). */
  readonly cidr: string;
  /** How long a block lasts; ignored for `unblock`. */
  readonly ttlSeconds: number;
  /** The analyst's justification, kept with the decision and in the audit log. */
  readonly reason: string;
  readonly requester: MitigationRequester;
  /** When the order was signed (ms since the epoch). */
  readonly issuedAt: number;
}

export type ExecutionStatus = 'applied' | 'refused' | 'failed' | 'revoked' | 'expired';

export interface ExecutionResult {
  readonly requestId: string;
  readonly status: ExecutionStatus;
  /** Canonical CIDR, or the text as received when it did not parse. */
  readonly cidr: string;
  /** Machine-readable refusal or failure code. */
  readonly code?: string;
  /** What happened, for a person. */
  readonly reason?: string;
  /** When the block ends on its own (ms since the epoch), for applied blocks. */
  readonly expiresAt?: number;
}

/**
 * Request and incident ids: letters, digits, `_ - . :` (as in UUIDs or `incident:42`), up to
 * 128, starting with a letter or digit so an id never reads as a command-line option where it is
 * printed or passed on. Nothing that needs quoting anywhere. The task wire admits
 * `[A-Za-z0-9_-]{8,64}`, which may start with `_` or `-`: requesters mint ids with
 * `newRequestId()`, which both accept.
 */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const MAX_REASON_LENGTH = 1_000;
const MAX_REQUESTER_FIELD_LENGTH = 200;
/**
 * Control characters and line breaks would let a reason forge extra lines in logs and terminal
 * output (the daemon log prints results one per line): a justification is one line of text.
 */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f\u2028\u2029]/;

export type OrderShapeError = DecodeError<'invalid_order'>;

/**
 * A fresh request id every executor accepts: a UUID (hex and dashes, starting with a hex digit).
 * Random base64url would start with "_" or "-" one time in 32, which isValidOrderId refuses.
 */
export function newRequestId(): string {
  return randomUUID();
}

export function isValidOrderId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

function isBoundedText(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max && !CONTROL_CHARACTERS.test(v);
}

/**
 * Checks that an order has the right fields and types (not whether it is allowed: that is the
 * policy's job). Total: any value gives the order back or an `invalid_order` error.
 */
export function checkOrderShape(input: unknown): Result<MitigationOrder, OrderShapeError> {
  const bad = (what: string) => fail('invalid_order' as const, `malformed mitigation order: ${what}`);
  if (typeof input !== 'object' || input === null) return bad('not an object');
  const o = input as Record<string, unknown>;
  if (!isValidOrderId(o.requestId)) return bad(`request id ${typeof o.requestId === 'string' ? quoteInput(o.requestId) : 'missing'} must be 1-128 letters, digits, "_", "-", ".", ":"`);
  if (!(o.incidentId === null || isValidOrderId(o.incidentId))) return bad('incident id must be null or 1-128 letters, digits, "_", "-", ".", ":"');
  if (o.action !== 'block' && o.action !== 'unblock') return bad(`action must be "block" or "unblock", not ${quoteInput(String(o.action))}`);
  if (typeof o.cidr !== 'string') return bad('cidr must be text');
  if (typeof o.ttlSeconds !== 'number' || !Number.isFinite(o.ttlSeconds)) return bad('ttlSeconds must be a number of seconds');
  if (!isBoundedText(o.reason, MAX_REASON_LENGTH)) return bad(`reason must be text of at most ${MAX_REASON_LENGTH} characters on one line, without control characters`);
  const r = o.requester as Record<string, unknown> | null | undefined;
  if (typeof r !== 'object' || r === null) return bad('requester is missing');
  if (!isBoundedText(r.fingerprint, MAX_REQUESTER_FIELD_LENGTH) || r.fingerprint === '') return bad('requester fingerprint must be non-empty text');
  if (!isBoundedText(r.hostname, MAX_REQUESTER_FIELD_LENGTH) || r.hostname === '') return bad('requester hostname must be non-empty text');
  if (typeof o.issuedAt !== 'number' || !Number.isSafeInteger(o.issuedAt) || o.issuedAt < 0) return bad('issuedAt must be a time in ms since the epoch');
  return ok({
    requestId: o.requestId,
    incidentId: o.incidentId,
    action: o.action,
    cidr: o.cidr,
    ttlSeconds: o.ttlSeconds,
    reason: o.reason,
    requester: { fingerprint: r.fingerprint, hostname: r.hostname },
    issuedAt: o.issuedAt,
  });
}
