/**
 * The console API: the one typed contract between the console service (main process or
 * loopback web server) and the renderer. It is pure data and pure functions — no Node, no DOM —
 * so the renderer may import it, and every call that crosses a process or network boundary is
 * validated here with `parseConsoleCall` before the service acts on it.
 *
 * Wire (WebSocket text frames or Electron IPC, JSON):
 *   client → service  { id, method, params }                      (a ConsoleRequest)
 *   service → client  { id, ok: true, result } | { id, ok: false, error }   (a ConsoleResponse)
 *   service → client  { event }                                    (a pushed ConsoleEvent)
 */

/** Capabilities a trust grant can carry; equal to the overlay's list (a unit test checks). */
export const CONSOLE_CAPABILITIES = ['events.subscribe', 'events.publish', 'mitigation.request', 'data.exchange'] as const;
export type ConsoleCapability = (typeof CONSOLE_CAPABILITIES)[number];

export const CAPABILITY_LABELS: Record<ConsoleCapability, string> = {
  'events.subscribe': 'subscribe to our event stream',
  'events.publish': 'publish events (anomalies) to us',
  'mitigation.request': 'send us mitigation requests',
  'data.exchange': 'exchange data',
};

/** Longest justification / reason the overlay carries (bytes of UTF-8), mirrored for the UI. */
export const MAX_JUSTIFICATION_BYTES = 600;
export const MAX_REASON_BYTES = 300;

export interface RegistryView {
  /** ip:port of the registry this node registers with, or null when none is configured. */
  endpoint: string | null;
  connected: boolean;
  lastOkAt: string | null;
  lastError: string | null;
}

export interface IdentityView {
  hostname: string;
  address: string;
  fingerprint: string;
  publicKey: string;
  listen: string;
  startedAt: string;
  registry: RegistryView;
  /** Packets dropped because their sender is not trusted (the default-deny gate). */
  droppedUntrusted: number;
}

export type TrustState = 'trusted' | 'pending-incoming' | 'pending-outgoing' | 'rejected' | 'untrusted';

export interface PeerRow {
  /** base64url Ed25519 public key: the stable id of a peer. */
  key: string;
  hostname: string;
  address: string;
  fingerprint: string;
  trust: TrustState;
  /** What we granted the peer. */
  capabilities: string[];
  /** What the peer granted us. */
  capabilitiesReceived: string[];
  online: boolean;
  lastSeen: string | null;
  rttMs: number | null;
  since: string | null;
}

export interface PendingRequestView {
  id: string;
  key: string;
  hostname: string;
  address: string;
  fingerprint: string;
  justification: string;
  wantCaps: string[];
  offerCaps: string[];
  receivedAt: string;
}

export type OutgoingStatus = 'sending' | 'pending' | 'approved' | 'rejected';

export interface OutgoingRequestView {
  id: string;
  key: string;
  hostname: string;
  address: string;
  fingerprint: string;
  justification: string;
  status: OutgoingStatus;
  reason: string | null;
  sentAt: string;
  decidedAt: string | null;
}

export interface ConsoleSettings {
  /** Registry HOST:PORT, or null when the console has none yet. */
  registry: string | null;
  hostname: string;
  /** True when this console runs the local lab (registry + agents on loopback). */
  lab: boolean;
}

/**
 * `running`: the node is up. `unconfigured`: no registry yet (see Settings). `error`: the node
 * could not start; `statusMessage` says why and how to fix it.
 */
export type ConsoleStatus = 'running' | 'unconfigured' | 'error';

export interface ConsoleSnapshot {
  status: ConsoleStatus;
  statusMessage: string | null;
  identity: IdentityView | null;
  peers: PeerRow[];
  pending: PendingRequestView[];
  outgoing: OutgoingRequestView[];
  settings: ConsoleSettings;
}

export interface ConsoleNotification {
  id: string;
  level: 'info' | 'warning' | 'error';
  title: string;
  body: string;
  at: string;
}

export type ConsoleEvent =
  | { type: 'snapshot'; snapshot: ConsoleSnapshot }
  | { type: 'identity'; identity: IdentityView | null; status: ConsoleStatus; statusMessage: string | null; settings: ConsoleSettings }
  /** Rows that changed or appeared (by key), and keys that are gone. */
  | { type: 'peers'; upsert: PeerRow[]; remove: string[] }
  | { type: 'requests'; pending: PendingRequestView[]; outgoing: OutgoingRequestView[] }
  | { type: 'notification'; notification: ConsoleNotification };

export interface HandshakeResultView {
  status: 'trusted' | 'pending' | 'rejected' | 'sending';
  hostname: string;
  reason: string | null;
}

/** Every method: its params and its result. */
export interface ConsoleMethods {
  snapshot: { params: Record<string, never>; result: ConsoleSnapshot };
  /** Grants exactly `capabilities`; an empty list is basic trust (ping, echo) only. */
  approve: { params: { peer: string; capabilities: ConsoleCapability[] }; result: PeerRow };
  reject: { params: { peer: string; reason: string }; result: { rejected: string } };
  revoke: { params: { peer: string; reason: string }; result: { revoked: string } };
  handshake: { params: { target: string; justification: string; want: ConsoleCapability[]; offer: ConsoleCapability[] }; result: HandshakeResultView };
  saveSettings: { params: { registry: string; hostname: string }; result: ConsoleSettings };
}

export type ConsoleMethod = keyof ConsoleMethods;
export const CONSOLE_METHODS: readonly ConsoleMethod[] = ['snapshot', 'approve', 'reject', 'revoke', 'handshake', 'saveSettings'];

export type ConsoleCall = { [M in ConsoleMethod]: { method: M; params: ConsoleMethods[M]['params'] } }[ConsoleMethod];

export interface ConsoleRequest {
  id: number;
  method: string;
  params?: unknown;
}

export interface ConsoleErrorBody {
  code: string;
  message: string;
  hint: string;
}

export type ConsoleResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: ConsoleErrorBody };

export interface ConsoleServerMessageEvent {
  event: ConsoleEvent;
}

/** What both transports give the renderer. The Electron preload rejects with a plain
 * ConsoleErrorBody (an Error would lose code and hint crossing the context bridge); the renderer
 * wraps it in ConsoleCallError. */
export interface ConsoleApi {
  call<M extends ConsoleMethod>(method: M, params: ConsoleMethods[M]['params']): Promise<ConsoleMethods[M]['result']>;
  /** Receives every pushed event; returns an unsubscribe function. */
  subscribe(listener: (event: ConsoleEvent) => void): () => void;
}

/** An error a call failed with, as the renderer sees it. */
export class ConsoleCallError extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(body: ConsoleErrorBody) {
    super(body.message);
    this.name = 'ConsoleCallError';
    this.code = body.code;
    this.hint = body.hint;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation at the boundary. Total functions: any input gives a call or a typed error.

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ConsoleErrorBody };

const MAX_TARGET_LENGTH = 200;
const HOSTNAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const HOST_PORT_PATTERN = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function bad(message: string, hint: string): { ok: false; error: ConsoleErrorBody } {
  return { ok: false, error: { code: 'bad_request', message, hint } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

function checkKeys(method: string, params: Record<string, unknown>, allowed: readonly string[]): Parsed<null> {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) return bad(`${method}: unknown parameter "${key}"`, `${method} takes ${allowed.length ? allowed.join(', ') : 'no parameters'}`);
  }
  return { ok: true, value: null };
}

function requiredText(method: string, params: Record<string, unknown>, name: string, maxLength: number): Parsed<string> {
  const value = params[name];
  if (typeof value !== 'string' || value.trim().length === 0) return bad(`${method}: "${name}" is required`, `give ${name} as a non-empty string`);
  if (value.length > maxLength) return bad(`${method}: "${name}" is longer than ${maxLength} characters`, `shorten ${name}`);
  return { ok: true, value: value.trim() };
}

function optionalText(method: string, params: Record<string, unknown>, name: string, maxBytes: number): Parsed<string> {
  const value = params[name] ?? '';
  if (typeof value !== 'string') return bad(`${method}: "${name}" must be a string`, `give ${name} as text`);
  if (utf8Length(value) > maxBytes) return bad(`${method}: "${name}" is longer than ${maxBytes} bytes`, `shorten ${name} to ${maxBytes} bytes`);
  return { ok: true, value };
}

function capabilityList(method: string, params: Record<string, unknown>, name: string): Parsed<ConsoleCapability[]> {
  const value = params[name] ?? [];
  if (!Array.isArray(value)) return bad(`${method}: "${name}" must be a list of capabilities`, `choose from ${CONSOLE_CAPABILITIES.join(', ')}`);
  const out: ConsoleCapability[] = [];
  for (const item of value) {
    if (typeof item !== 'string' || !(CONSOLE_CAPABILITIES as readonly string[]).includes(item)) {
      return bad(`${method}: unknown capability ${JSON.stringify(item)}`, `choose from ${CONSOLE_CAPABILITIES.join(', ')}`);
    }
    if (!out.includes(item as ConsoleCapability)) out.push(item as ConsoleCapability);
  }
  return { ok: true, value: out };
}

/** Validates one request from a transport; the result is safe to hand to the service. */
export function parseConsoleCall(method: unknown, rawParams: unknown): Parsed<ConsoleCall> {
  if (typeof method !== 'string' || !(CONSOLE_METHODS as readonly string[]).includes(method)) {
    return { ok: false, error: { code: 'unknown_method', message: `unknown method ${JSON.stringify(method)}`, hint: `methods: ${CONSOLE_METHODS.join(', ')}` } };
  }
  const params = rawParams ?? {};
  if (!isPlainObject(params)) return bad(`${method}: params must be an object`, 'send params as a JSON object');
  switch (method as ConsoleMethod) {
    case 'snapshot': {
      const keys = checkKeys(method, params, []);
      return keys.ok ? { ok: true, value: { method: 'snapshot', params: {} } } : keys;
    }
    case 'approve': {
      const keys = checkKeys(method, params, ['peer', 'capabilities']);
      if (!keys.ok) return keys;
      const peer = requiredText(method, params, 'peer', MAX_TARGET_LENGTH);
      if (!peer.ok) return peer;
      const capabilities = capabilityList(method, params, 'capabilities');
      if (!capabilities.ok) return capabilities;
      return { ok: true, value: { method: 'approve', params: { peer: peer.value, capabilities: capabilities.value } } };
    }
    case 'reject':
    case 'revoke': {
      const keys = checkKeys(method, params, ['peer', 'reason']);
      if (!keys.ok) return keys;
      const peer = requiredText(method, params, 'peer', MAX_TARGET_LENGTH);
      if (!peer.ok) return peer;
      const reason = optionalText(method, params, 'reason', MAX_REASON_BYTES);
      if (!reason.ok) return reason;
      return { ok: true, value: { method, params: { peer: peer.value, reason: reason.value } } as ConsoleCall };
    }
    case 'handshake': {
      const keys = checkKeys(method, params, ['target', 'justification', 'want', 'offer']);
      if (!keys.ok) return keys;
      const target = requiredText(method, params, 'target', MAX_TARGET_LENGTH);
      if (!target.ok) return target;
      const justification = requiredText(method, params, 'justification', MAX_JUSTIFICATION_BYTES);
      if (!justification.ok) return justification;
      if (utf8Length(justification.value) > MAX_JUSTIFICATION_BYTES) return bad(`handshake: "justification" is longer than ${MAX_JUSTIFICATION_BYTES} bytes`, 'shorten the justification');
      const want = capabilityList(method, params, 'want');
      if (!want.ok) return want;
      const offer = capabilityList(method, params, 'offer');
      if (!offer.ok) return offer;
      return { ok: true, value: { method: 'handshake', params: { target: target.value, justification: justification.value, want: want.value, offer: offer.value } } };
    }
    case 'saveSettings': {
      const keys = checkKeys(method, params, ['registry', 'hostname']);
      if (!keys.ok) return keys;
      const registry = requiredText(method, params, 'registry', MAX_TARGET_LENGTH);
      if (!registry.ok) return registry;
      const port = HOST_PORT_PATTERN.exec(registry.value);
      if (!port || Number(port[1]) < 1 || Number(port[1]) > 65535) return bad(`saveSettings: registry "${registry.value}" is not HOST:PORT`, 'for example 203.0.113.10:9000');
      const hostname = requiredText(method, params, 'hostname', 63);
      if (!hostname.ok) return hostname;
      if (!HOSTNAME_PATTERN.test(hostname.value)) return bad(`saveSettings: "${hostname.value}" is not a valid hostname`, 'use lowercase letters, digits and dashes (1-63), e.g. soc-console');
      return { ok: true, value: { method: 'saveSettings', params: { registry: registry.value, hostname: hostname.value } } };
    }
  }
}

/** Validates one raw frame from a client (already JSON-parsed). */
export function parseConsoleRequest(frame: unknown): Parsed<{ id: number; call: ConsoleCall }> & { id?: number } {
  if (!isPlainObject(frame)) return bad('a request must be a JSON object', 'send {"id":1,"method":"snapshot","params":{}}');
  const id = frame.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return bad('a request needs a numeric "id"', 'number each request 0, 1, 2, …');
  const call = parseConsoleCall(frame.method, frame.params);
  if (!call.ok) return { ...call, id };
  return { ok: true, value: { id, call: call.value }, id };
}
