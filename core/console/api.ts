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
  /** How the live session travels: `direct`, or through the registry's `relay`; null without one. */
  path: 'direct' | 'relay' | null;
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
  | { type: 'notification'; notification: ConsoleNotification }
  /**
   * Feed items stored or changed since the last feed push, at most one push per
   * FEED_PUSH_INTERVAL_MS. `added`: first stored in that window; `updated`: stored before, now with
   * bigger counts or a later lastSeen (the latest version only, coalesced per item). `missed`: items
   * that changed but did not fit in this push (a burst): a client that shows the newest items
   * should re-read the first page. `total`: items the feed holds now.
   */
  | { type: 'feed'; added: FeedItemRow[]; updated: FeedItemRow[]; missed: number; total: number }
  /** Incidents and proposals that changed (upsert by id), as the orchestrator reports them. */
  | { type: 'incidents'; incidents: IncidentRow[]; proposals: ProposalRow[] }
  /** Executor decisions that changed (upsert by executor + requestId). */
  | { type: 'decisions'; upsert: DecisionRow[] }
  /** The audit log grew: re-read it if the Audit view is open. */
  | { type: 'audit'; entries: number };

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
  /** One page of the anomaly feed, newest lastSeen first; pass the previous page's nextCursor for the next. */
  feedPage: { params: { filter: FeedFilter; cursor: string | null; limit: number }; result: FeedPage };
  /** Anomalies per minute (by firstSeen) over [from, to), for the feed chart. */
  feedCounts: { params: { from: number; to: number; filter: FeedFilter }; result: FeedCounts };
  /** Rules and agents the feed has seen (for the filter menus), and how many items it holds. */
  feedFacets: { params: Record<string, never>; result: FeedFacets };
  /** One item with its evidence lines and every user it names (for the detail pane). */
  feedItem: { params: { seq: number }; result: FeedItemDetail };
  /** Incidents (newest first) with their proposals, and the executors a mitigation can go to. */
  incidents: { params: Record<string, never>; result: IncidentsView };
  /** One incident with the anomalies it correlates (for the detail pane). */
  incidentDetail: { params: { incidentId: string }; result: IncidentDetailView };
  /**
   * Approves a pending proposal, possibly edited, then signs one mitigation request per target
   * executor and sends it (port 1003). Resolves once every executor answered (or timed out).
   */
  approveProposal: { params: { proposalId: string; cidr: string | null; ttlSeconds: number | null; targets: string[] | null }; result: ApprovalOutcome };
  rejectProposal: { params: { proposalId: string; reason: string }; result: ProposalRow };
  /** Blocks the executors reported (newest first); active ones carry expiresAt. */
  decisions: { params: Record<string, never>; result: { decisions: DecisionRow[] } };
  /** Asks the executor to lift one block now (a signed unblock request). */
  revokeDecision: { params: { executor: string; requestId: string; reason: string }; result: DecisionRow };
  /** The console node's audit log, newest first, and whether its hash chain verifies. */
  auditLog: { params: { limit: number }; result: AuditLogView };
}

export type ConsoleMethod = keyof ConsoleMethods;
export const CONSOLE_METHODS: readonly ConsoleMethod[] = [
  'snapshot', 'approve', 'reject', 'revoke', 'handshake', 'saveSettings', 'feedPage', 'feedCounts', 'feedFacets', 'feedItem',
  'incidents', 'incidentDetail', 'approveProposal', 'rejectProposal', 'decisions', 'revokeDecision', 'auditLog',
];

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
// The anomaly feed: what monitors detected, stored by the console and shown as a live list.

export const FEED_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type FeedSeverity = (typeof FEED_SEVERITIES)[number];

/** 1 (low) … 4 (critical): "at least high" is a comparison of ranks. */
export function feedSeverityRank(severity: FeedSeverity): number {
  return FEED_SEVERITIES.indexOf(severity) + 1;
}

export interface FeedEvidenceLine {
  /** Line number in the source the monitor read (0 when it cannot tell). */
  line: number;
  text: string;
  /** The file or stream the line came from, when the monitor says. */
  source?: string;
}

/** The monitor an anomaly came from: its overlay key (base64url) and hostname. */
export interface FeedAgent {
  key: string;
  hostname: string;
}

/**
 * One anomaly as a monitor sends it. `id` is stable while the detector merges repeats: the same
 * id again (from the same agent) is an update with bigger counts and a later lastSeen, not a new
 * item. Times are epoch milliseconds on the monitor's clock.
 */
export interface FeedAnomalyInput {
  id: string;
  rule: string;
  detector: string;
  sourceIp: string | null;
  count: number;
  firstSeen: number;
  lastSeen: number;
  severity: FeedSeverity;
  /** ATT&CK technique, e.g. T1110.001; '' when the monitor gave none or an invalid one. */
  mitre: string;
  summary: string;
  users: string[];
  /** Distinct users the detector saw; `users` may list only some of them. */
  usersTotal: number;
  evidence: FeedEvidenceLine[];
}

/** A feed item as lists show it: no evidence (pages and pushes carry hundreds of rows). */
export interface FeedItemRow {
  /** The console's own id of the item: unique, stable, never reused. */
  seq: number;
  agentKey: string;
  agentHostname: string;
  id: string;
  rule: string;
  detector: string;
  sourceIp: string | null;
  count: number;
  firstSeen: number;
  lastSeen: number;
  severity: FeedSeverity;
  mitre: string;
  summary: string;
  /** The first FEED_ROW_USERS users; `usersTotal` says how many there are. */
  users: string[];
  usersTotal: number;
  evidenceCount: number;
  /** When the console first stored the item, and last changed it (console clock, epoch ms). */
  receivedAt: number;
  updatedAt: number;
}

/** The detail pane: the row with every stored user and the evidence lines. */
export interface FeedItemDetail extends FeedItemRow {
  evidence: FeedEvidenceLine[];
}

/**
 * What the analyst narrows the feed to; null means "any". The same filter runs in SQL for pages
 * and counts, and in the page (feedItemMatchesFilter) for pushed items. Text matching is
 * case-insensitive for ASCII letters, over summary, rule and source IP, and on the server also
 * over the evidence lines (rows do not carry them).
 */
export interface FeedFilter {
  /** Exact rule name. */
  rule: string | null;
  severity: FeedSeverity | null;
  /** `atLeast`: this severity or a worse one. */
  severityMatch: 'exact' | 'atLeast';
  /** A whole address (exact) or the start of one (prefix, e.g. "203.0.113." or "2001:db8:"). */
  sourceIp: string | null;
  sourceIpMatch: 'exact' | 'prefix';
  /** Agent key. */
  agent: string | null;
  text: string | null;
}

export const EMPTY_FEED_FILTER: FeedFilter = { rule: null, severity: null, severityMatch: 'exact', sourceIp: null, sourceIpMatch: 'exact', agent: null, text: null };

export interface FeedPage {
  items: FeedItemRow[];
  /** Pass to the next feedPage call; null when this was the last page. */
  nextCursor: string | null;
  /** Items the feed holds (all of them, not only those matching the filter). */
  total: number;
}

export interface FeedCounts {
  /** Start of the first bucket (from, rounded down to a whole minute). */
  from: number;
  bucketMs: number;
  /** Items whose firstSeen falls in each bucket, oldest bucket first. */
  counts: number[];
}

export interface FeedFacets {
  total: number;
  rules: string[];
  agents: FeedAgent[];
}

/** Largest page a client may ask for; bigger asks get this many. */
export const FEED_PAGE_MAX_LIMIT = 500;
export const FEED_PAGE_DEFAULT_LIMIT = 200;
export const FEED_COUNTS_BUCKET_MS = 60_000;
/** A day of minutes: the chart shows an hour; a day keeps the count query bounded. */
export const FEED_COUNTS_MAX_BUCKETS = 24 * 60;
/**
 * Feed pushes go out at most once per interval, so a client gets at most ~10 pushes a second
 * however fast monitors send (5,000 anomalies/s is a busy edge under a spray attack).
 */
export const FEED_PUSH_INTERVAL_MS = 100;
/** Rows per push: a burst beyond this is announced as `missed`, so one push stays well under a megabyte. */
export const FEED_PUSH_MAX_ITEMS = 1000;
/** Users a row carries; the detail pane has all that were stored. */
export const FEED_ROW_USERS = 5;

/**
 * What the console keeps of one anomaly. Anomalies cross the network from monitors that may be
 * compromised or buggy: longer text is clipped, longer lists are cut, and a batch beyond
 * `anomaliesPerBatch` is dropped, so one sender cannot make the console store or ship megabytes.
 */
export const FEED_INPUT_LIMITS = {
  anomaliesPerBatch: 10_000,
  idLength: 128,
  ruleLength: 100,
  detectorLength: 100,
  summaryLength: 500,
  users: 50,
  userLength: 100,
  evidenceLines: 50,
  evidenceTextLength: 2000,
  evidenceSourceLength: 256,
  agentKeyLength: 128,
  /** A monitor's clock ahead of ours by more than this is clipped to our time plus this, so a
   * wrong clock cannot pin its anomalies to the top of the feed forever. */
  clockSkewMs: 5 * 60_000,
} as const;
/** Times before this are a broken clock or a bad field, not an anomaly. */
const EARLIEST_FEED_TIME = Date.UTC(2000, 0, 1);
const MAX_FEED_PROBLEMS = 10;

/** The row a pushed or paged item sorts by: newest lastSeen first, then newest seq. */
export function compareFeedRows(a: Pick<FeedItemRow, 'lastSeen' | 'seq'>, b: Pick<FeedItemRow, 'lastSeen' | 'seq'>): number {
  return b.lastSeen - a.lastSeen || b.seq - a.seq;
}

/** A keyset cursor: "continue after this (lastSeen, seq)". Opaque to clients. */
export function encodeFeedCursor(row: Pick<FeedItemRow, 'lastSeen' | 'seq'>): string {
  return `${row.lastSeen}:${row.seq}`;
}

export function decodeFeedCursor(cursor: string): { lastSeen: number; seq: number } | null {
  const m = /^(\d{1,16}):(\d{1,16})$/.exec(cursor);
  if (!m) return null;
  const lastSeen = Number(m[1]);
  const seq = Number(m[2]);
  return Number.isSafeInteger(lastSeen) && Number.isSafeInteger(seq) ? { lastSeen, seq } : null;
}

/** Lower-cases ASCII letters only, as SQLite's lower() does, so page and server agree. */
export function foldFeedText(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

export function isIPv4(text: string): boolean {
  return /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(text);
}

export function isIPv6(text: string): boolean {
  if (text.length < 2 || text.length > 45) return false;
  let rest = text;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon === -1) return false;
  const tail = rest.slice(lastColon + 1);
  if (tail.includes('.')) {
    // An embedded IPv4 tail (::ffff:203.0.113.5) stands for two groups.
    if (!isIPv4(tail)) return false;
    rest = `${rest.slice(0, lastColon + 1)}0:0`;
  }
  const halves = rest.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const all = [...groups(halves[0] as string), ...(halves.length === 2 ? groups(halves[1] as string) : [])];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? all.length <= 7 : all.length === 8;
}

/** An address as the feed stores it (IPv6 lower-cased), or null when it is not an address. */
export function normalizeFeedIp(text: string): string | null {
  const trimmed = text.trim();
  if (isIPv4(trimmed)) return trimmed;
  if (isIPv6(trimmed)) return trimmed.toLowerCase();
  return null;
}

/** Whether a row passes a filter; text is not matched against evidence here (rows carry none). */
export function feedItemMatchesFilter(row: FeedItemRow, filter: FeedFilter): boolean {
  if (filter.rule !== null && row.rule !== filter.rule) return false;
  if (filter.agent !== null && row.agentKey !== filter.agent) return false;
  if (filter.severity !== null) {
    const rank = feedSeverityRank(row.severity);
    const wanted = feedSeverityRank(filter.severity);
    if (filter.severityMatch === 'atLeast' ? rank < wanted : rank !== wanted) return false;
  }
  if (filter.sourceIp !== null) {
    if (row.sourceIp === null) return false;
    if (filter.sourceIpMatch === 'prefix' ? !row.sourceIp.startsWith(filter.sourceIp) : row.sourceIp !== filter.sourceIp) return false;
  }
  if (filter.text !== null) {
    const needle = foldFeedText(filter.text);
    if (!foldFeedText(row.summary).includes(needle) && !foldFeedText(row.rule).includes(needle) && !(row.sourceIp ?? '').includes(needle)) return false;
  }
  return true;
}

export function isEmptyFeedFilter(filter: FeedFilter): boolean {
  return filter.rule === null && filter.severity === null && filter.sourceIp === null && filter.agent === null && filter.text === null;
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
    case 'feedPage':
      return parseFeedPageParams(params);
    case 'feedCounts':
      return parseFeedCountsParams(params);
    case 'feedFacets': {
      const keys = checkKeys(method, params, []);
      return keys.ok ? { ok: true, value: { method: 'feedFacets', params: {} } } : keys;
    }
    case 'feedItem': {
      const keys = checkKeys(method, params, ['seq']);
      if (!keys.ok) return keys;
      const seq = params.seq;
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return bad('feedItem: "seq" must be a positive integer', 'pass the seq of a row from feedPage or a feed event');
      return { ok: true, value: { method: 'feedItem', params: { seq } } };
    }
    case 'incidents':
    case 'decisions': {
      const keys = checkKeys(method, params, []);
      return keys.ok ? { ok: true, value: { method, params: {} } as ConsoleCall } : keys;
    }
    case 'incidentDetail': {
      const keys = checkKeys(method, params, ['incidentId']);
      if (!keys.ok) return keys;
      const id = requiredText(method, params, 'incidentId', 64);
      return id.ok ? { ok: true, value: { method: 'incidentDetail', params: { incidentId: id.value } } } : id;
    }
    case 'approveProposal':
      return parseApproveProposal(params);
    case 'rejectProposal': {
      const keys = checkKeys(method, params, ['proposalId', 'reason']);
      if (!keys.ok) return keys;
      const id = requiredText(method, params, 'proposalId', 64);
      if (!id.ok) return id;
      const reason = requiredText(method, params, 'reason', MAX_REASON_BYTES);
      if (!reason.ok) return bad('rejectProposal: a reason is required', 'say why, e.g. "known scanner of our own red team"');
      return { ok: true, value: { method: 'rejectProposal', params: { proposalId: id.value, reason: reason.value } } };
    }
    case 'revokeDecision': {
      const keys = checkKeys(method, params, ['executor', 'requestId', 'reason']);
      if (!keys.ok) return keys;
      const executor = requiredText(method, params, 'executor', MAX_TARGET_LENGTH);
      if (!executor.ok) return executor;
      const requestId = requiredText(method, params, 'requestId', 128);
      if (!requestId.ok) return requestId;
      const reason = optionalText(method, params, 'reason', MAX_REASON_BYTES);
      if (!reason.ok) return reason;
      return { ok: true, value: { method: 'revokeDecision', params: { executor: executor.value, requestId: requestId.value, reason: reason.value } } };
    }
    case 'auditLog': {
      const keys = checkKeys(method, params, ['limit']);
      if (!keys.ok) return keys;
      const limit = params.limit ?? AUDIT_PAGE_DEFAULT_LIMIT;
      if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX_LIMIT) return bad(`auditLog: "limit" must be 1-${AUDIT_PAGE_MAX_LIMIT}`, 'ask for fewer entries');
      return { ok: true, value: { method: 'auditLog', params: { limit } } };
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

// ---- the feed at the boundary ----------------------------------------------------------------

// C0/C1 controls and the bidirectional overrides a hostile log line could use to make the
// console show text other than what was logged.
const UNSAFE_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text safe to show on one line, at most `max` UTF-16 units (an ellipsis marks a cut). */
export function cleanFeedText(text: string, max: number): string {
  let clean = text.replace(/[\t\n]/g, ' ').replace(UNSAFE_TEXT, '\uFFFD');
  if (clean.length > max) {
    clean = clean.slice(0, max - 1);
    // Never leave half of a surrogate pair at the cut.
    if (/[\uD800-\uDBFF]$/.test(clean)) clean = clean.slice(0, -1);
    clean += '…';
  }
  return clean;
}

const AGENT_KEY_PATTERN = /^[A-Za-z0-9_-]+$/;
const MITRE_PATTERN = /^T\d{4}(?:\.\d{3})?$/;

export interface FeedIngestParse {
  agent: FeedAgent | null;
  accepted: FeedAnomalyInput[];
  dropped: number;
  /** What was wrong with dropped or clipped input (the first few), for the log. */
  problems: string[];
}

function anomalyTime(value: unknown): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < EARLIEST_FEED_TIME) return null;
  return Math.floor(value);
}

function parseEvidence(value: unknown): FeedEvidenceLine[] {
  if (!Array.isArray(value)) return [];
  const out: FeedEvidenceLine[] = [];
  for (const item of value) {
    if (out.length >= FEED_INPUT_LIMITS.evidenceLines) break;
    if (!isPlainObject(item) || typeof item.text !== 'string') continue;
    const line = typeof item.line === 'number' && Number.isSafeInteger(item.line) && item.line >= 0 ? item.line : 0;
    const evidence: FeedEvidenceLine = { line, text: cleanFeedText(item.text, FEED_INPUT_LIMITS.evidenceTextLength) };
    if (typeof item.source === 'string' && item.source.trim() !== '') evidence.source = cleanFeedText(item.source.trim(), FEED_INPUT_LIMITS.evidenceSourceLength);
    out.push(evidence);
  }
  return out;
}

function parseUsers(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const item of value) {
    if (out.length >= FEED_INPUT_LIMITS.users) break;
    if (typeof item !== 'string' || item === '') continue;
    const user = cleanFeedText(item, FEED_INPUT_LIMITS.userLength);
    if (!out.includes(user)) out.push(user);
  }
  return out;
}

/** One anomaly, or why it was dropped. Clips what can be clipped; drops what cannot be trusted. */
function parseAnomaly(value: unknown, now: number): { ok: true; value: FeedAnomalyInput } | { ok: false; why: string } {
  if (!isPlainObject(value)) return { ok: false, why: 'an anomaly that is not an object' };
  const id = value.id;
  if (typeof id !== 'string' || id.trim() === '' || id.length > FEED_INPUT_LIMITS.idLength) return { ok: false, why: `an anomaly without a usable "id" (1-${FEED_INPUT_LIMITS.idLength} characters)` };
  const label = `anomaly ${JSON.stringify(id.slice(0, 40))}`;
  if (typeof value.rule !== 'string' || value.rule.trim() === '') return { ok: false, why: `${label}: no "rule"` };
  const severity = value.severity;
  if (typeof severity !== 'string' || !(FEED_SEVERITIES as readonly string[]).includes(severity)) return { ok: false, why: `${label}: severity ${JSON.stringify(severity)} is not one of ${FEED_SEVERITIES.join(', ')}` };
  const count = value.count;
  if (typeof count !== 'number' || !Number.isFinite(count) || count < 1) return { ok: false, why: `${label}: "count" must be a positive number` };
  let firstSeen = anomalyTime(value.firstSeen);
  let lastSeen = anomalyTime(value.lastSeen);
  if (firstSeen === null || lastSeen === null) return { ok: false, why: `${label}: firstSeen/lastSeen must be epoch milliseconds after 2000` };
  const latest = now + FEED_INPUT_LIMITS.clockSkewMs;
  lastSeen = Math.min(lastSeen, latest);
  firstSeen = Math.min(firstSeen, lastSeen);
  const users = parseUsers(value.users);
  const usersTotal = typeof value.usersTotal === 'number' && Number.isSafeInteger(value.usersTotal) ? Math.max(value.usersTotal, users.length) : users.length;
  const mitre = typeof value.mitre === 'string' && MITRE_PATTERN.test(value.mitre.trim()) ? value.mitre.trim() : '';
  return {
    ok: true,
    value: {
      id: cleanFeedText(id.trim(), FEED_INPUT_LIMITS.idLength),
      rule: cleanFeedText(value.rule.trim(), FEED_INPUT_LIMITS.ruleLength),
      detector: typeof value.detector === 'string' ? cleanFeedText(value.detector.trim(), FEED_INPUT_LIMITS.detectorLength) : '',
      sourceIp: typeof value.sourceIp === 'string' ? normalizeFeedIp(value.sourceIp) : null,
      count: Math.min(Math.floor(count), Number.MAX_SAFE_INTEGER),
      firstSeen,
      lastSeen,
      severity: severity as FeedSeverity,
      mitre,
      summary: typeof value.summary === 'string' ? cleanFeedText(value.summary.trim(), FEED_INPUT_LIMITS.summaryLength) : '',
      users,
      usersTotal,
      evidence: parseEvidence(value.evidence),
    },
  };
}

/**
 * Validates a batch of anomalies from a monitor (it crossed the network). Total: any input gives
 * a result. Bad anomalies are dropped and counted, over-long fields are clipped, and a bad agent
 * drops the whole batch (it could not be attributed).
 */
export function parseFeedAnomalies(agent: unknown, anomalies: unknown, now: number): FeedIngestParse {
  const problems: string[] = [];
  const note = (why: string): void => {
    if (problems.length < MAX_FEED_PROBLEMS) problems.push(why);
  };
  const total = Array.isArray(anomalies) ? anomalies.length : 0;
  if (!Array.isArray(anomalies)) note('anomalies must be a list');
  let parsedAgent: FeedAgent | null = null;
  if (isPlainObject(agent) && typeof agent.key === 'string' && agent.key.length <= FEED_INPUT_LIMITS.agentKeyLength && AGENT_KEY_PATTERN.test(agent.key)) {
    const hostname = typeof agent.hostname === 'string' && HOSTNAME_PATTERN.test(agent.hostname) ? agent.hostname : '';
    parsedAgent = { key: agent.key, hostname };
  } else {
    note('the sending agent has no valid key: the batch is dropped');
    return { agent: null, accepted: [], dropped: total, problems };
  }
  const accepted: FeedAnomalyInput[] = [];
  let dropped = 0;
  for (const [index, item] of (Array.isArray(anomalies) ? anomalies : []).entries()) {
    if (index >= FEED_INPUT_LIMITS.anomaliesPerBatch) {
      dropped += total - index;
      note(`a batch of ${total} anomalies: only the first ${FEED_INPUT_LIMITS.anomaliesPerBatch} are kept`);
      break;
    }
    const parsed = parseAnomaly(item, now);
    if (parsed.ok) accepted.push(parsed.value);
    else {
      dropped++;
      note(parsed.why);
    }
  }
  return { agent: parsedAgent, accepted, dropped, problems };
}

const FEED_FILTER_KEYS = ['rule', 'severity', 'severityMatch', 'sourceIp', 'sourceIpMatch', 'agent', 'text'] as const;
const MAX_FILTER_TEXT = 200;

function optionalFilterText(method: string, raw: Record<string, unknown>, name: string, max: number): Parsed<string | null> {
  const value = raw[name];
  if (value === undefined || value === null) return { ok: true, value: null };
  if (typeof value !== 'string') return bad(`${method}: filter "${name}" must be a string or null`, `give ${name} as text, or null for any`);
  const trimmed = value.trim();
  if (trimmed.length > max) return bad(`${method}: filter "${name}" is longer than ${max} characters`, `shorten ${name}`);
  return { ok: true, value: trimmed === '' ? null : trimmed };
}

/** A filter from a client; missing fields mean "any". */
export function parseFeedFilter(method: string, raw: unknown): Parsed<FeedFilter> {
  if (raw === undefined || raw === null) return { ok: true, value: { ...EMPTY_FEED_FILTER } };
  if (!isPlainObject(raw)) return bad(`${method}: "filter" must be an object`, `send a filter with any of ${FEED_FILTER_KEYS.join(', ')}`);
  for (const key of Object.keys(raw)) {
    if (!(FEED_FILTER_KEYS as readonly string[]).includes(key)) return bad(`${method}: unknown filter "${key}"`, `filters: ${FEED_FILTER_KEYS.join(', ')}`);
  }
  const rule = optionalFilterText(method, raw, 'rule', FEED_INPUT_LIMITS.ruleLength);
  if (!rule.ok) return rule;
  const agent = optionalFilterText(method, raw, 'agent', FEED_INPUT_LIMITS.agentKeyLength);
  if (!agent.ok) return agent;
  const text = optionalFilterText(method, raw, 'text', MAX_FILTER_TEXT);
  if (!text.ok) return text;
  const severity = raw.severity ?? null;
  if (severity !== null && (typeof severity !== 'string' || !(FEED_SEVERITIES as readonly string[]).includes(severity))) {
    return bad(`${method}: severity ${JSON.stringify(severity)} is not one of ${FEED_SEVERITIES.join(', ')}`, 'use low, medium, high or critical, or null for any');
  }
  const severityMatch = raw.severityMatch ?? 'exact';
  if (severityMatch !== 'exact' && severityMatch !== 'atLeast') return bad(`${method}: severityMatch must be "exact" or "atLeast"`, '"atLeast" includes worse severities');
  const sourceIpMatch = raw.sourceIpMatch ?? 'exact';
  if (sourceIpMatch !== 'exact' && sourceIpMatch !== 'prefix') return bad(`${method}: sourceIpMatch must be "exact" or "prefix"`, '"prefix" matches addresses that start with sourceIp');
  const ipText = optionalFilterText(method, raw, 'sourceIp', 45);
  if (!ipText.ok) return ipText;
  let sourceIp: string | null = null;
  if (ipText.value !== null) {
    if (sourceIpMatch === 'exact') {
      sourceIp = normalizeFeedIp(ipText.value);
      if (sourceIp === null) return bad(`${method}: "${ipText.value}" is not an IP address`, 'give a whole IPv4 or IPv6 address, or use sourceIpMatch "prefix" for the start of one');
    } else {
      if (!/^[0-9A-Fa-f.:]+$/.test(ipText.value)) return bad(`${method}: "${ipText.value}" is not the start of an IP address`, 'use digits, hex letters, dots and colons, e.g. 203.0.113.');
      sourceIp = ipText.value.toLowerCase();
    }
  }
  return {
    ok: true,
    value: { rule: rule.value, severity: severity as FeedSeverity | null, severityMatch, sourceIp, sourceIpMatch, agent: agent.value, text: text.value },
  };
}

function parseFeedPageParams(params: Record<string, unknown>): Parsed<ConsoleCall> {
  const keys = checkKeys('feedPage', params, ['filter', 'cursor', 'limit']);
  if (!keys.ok) return keys;
  const filter = parseFeedFilter('feedPage', params.filter);
  if (!filter.ok) return filter;
  const rawCursor = params.cursor ?? null;
  if (rawCursor !== null && (typeof rawCursor !== 'string' || decodeFeedCursor(rawCursor) === null)) {
    return bad('feedPage: "cursor" is not a cursor this console gave out', 'pass nextCursor from the previous page, or null for the first page');
  }
  const rawLimit = params.limit ?? FEED_PAGE_DEFAULT_LIMIT;
  if (typeof rawLimit !== 'number' || !Number.isSafeInteger(rawLimit) || rawLimit < 1) return bad('feedPage: "limit" must be a positive integer', `ask for 1-${FEED_PAGE_MAX_LIMIT} items`);
  return { ok: true, value: { method: 'feedPage', params: { filter: filter.value, cursor: rawCursor, limit: Math.min(rawLimit, FEED_PAGE_MAX_LIMIT) } } };
}

function parseFeedCountsParams(params: Record<string, unknown>): Parsed<ConsoleCall> {
  const keys = checkKeys('feedCounts', params, ['from', 'to', 'filter']);
  if (!keys.ok) return keys;
  const { from, to } = params;
  if (typeof from !== 'number' || typeof to !== 'number' || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to <= from) {
    return bad('feedCounts: "from" and "to" must be epoch milliseconds with from < to', 'for the last hour: { from: now - 3600000, to: now }');
  }
  const alignedFrom = from - (from % FEED_COUNTS_BUCKET_MS);
  if (Math.ceil((to - alignedFrom) / FEED_COUNTS_BUCKET_MS) > FEED_COUNTS_MAX_BUCKETS) {
    return bad(`feedCounts: the range covers more than ${FEED_COUNTS_MAX_BUCKETS} minutes`, 'ask for at most a day at a time');
  }
  const filter = parseFeedFilter('feedCounts', params.filter);
  if (!filter.ok) return filter;
  return { ok: true, value: { method: 'feedCounts', params: { from, to, filter: filter.value } } };
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

// ---------------------------------------------------------------------------------------------
// Incidents, mitigations and the audit trail. The shapes mirror the orchestrator's views
// (core/agents/orchestrator/views.ts) and the executor's decisions; they are restated here so
// the renderer depends on this file alone. ConsoleService passes the orchestrator's objects
// through, so the compiler checks the two stay compatible.

export const INCIDENT_STATES = ['open', 'proposed', 'mitigated', 'rejected', 'closed'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];
export const PROPOSAL_STATUSES = ['pending', 'approved', 'rejected', 'applied', 'refused', 'failed', 'expired', 'revoked'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];
export type MitigationResultStatus = 'applied' | 'refused' | 'failed' | 'expired' | 'revoked';
export const AUDIT_PAGE_DEFAULT_LIMIT = 200;
export const AUDIT_PAGE_MAX_LIMIT = 5000;
/** A block's TTL an analyst may set when editing a proposal (the executor's own limit still applies). */
export const MITIGATION_TTL_RANGE = { min: 60, max: 30 * 86_400 } as const;

export interface IncidentEvidenceLine {
  readonly agent: string;
  readonly rule: string;
  readonly line: number;
  readonly text: string;
}

export interface IncidentRow {
  readonly id: string;
  readonly state: IncidentState;
  /** `A.B.C.D/32`, `NET::/64`, or `host:NAME`. */
  readonly sourceKey: string;
  /** False for a source known only by host name: no block can be proposed. */
  readonly blockable: boolean;
  readonly sources: readonly string[];
  readonly sourcesTotal: number;
  readonly severity: FeedSeverity;
  readonly rules: ReadonlyArray<{ readonly rule: string; readonly severity: FeedSeverity }>;
  readonly agents: readonly string[];
  readonly agentsTotal: number;
  readonly mitre: readonly string[];
  readonly count: number;
  readonly anomalies: number;
  readonly openAnomalies: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Attacker-chosen text: show it as text. */
  readonly users: readonly string[];
  readonly usersTotal: number;
  readonly evidence: readonly IncidentEvidenceLine[];
  readonly evidenceReported: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly closedAt: number | null;
  readonly proposalId: string | null;
  readonly proposalStatus: ProposalStatus | null;
}

export interface IncidentAnomalyRow {
  readonly agent: string;
  readonly anomalyId: string;
  readonly rule: string;
  readonly severity: FeedSeverity;
  readonly mitre: string;
  readonly sourceIp: string;
  readonly state: 'open' | 'closed';
  readonly revision: number;
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly summary: string;
  readonly receivedAt: number;
}

export interface ProposalRow {
  readonly id: string;
  readonly incidentId: string;
  readonly status: ProposalStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly action: 'block';
  readonly cidr: string;
  readonly ttlSeconds: number;
  readonly targets: readonly string[];
  readonly reason: string;
  readonly severity: FeedSeverity;
  readonly triggerRules: readonly string[];
  readonly sourceKey: string;
  /** Earlier bans of this source (escalation); 0 on a first offence. */
  readonly previousBans: number;
  readonly decision: {
    readonly kind: 'approved' | 'rejected';
    readonly by: string;
    readonly at: number;
    readonly reason: string | null;
    readonly auto: boolean;
    readonly policyRule: { readonly rule: string; readonly minSeverity: FeedSeverity; readonly maxTtlSeconds: number } | null;
    readonly edited: { readonly cidr?: string; readonly ttlSeconds?: number; readonly targets?: readonly string[] } | null;
  } | null;
  readonly approved: { readonly requestId: string; readonly cidr: string; readonly ttlSeconds: number; readonly targets: readonly string[]; readonly at: number } | null;
  readonly results: ReadonlyArray<{ readonly target: string; readonly result: MitigationResultStatus; readonly at: number; readonly detail: string | null; readonly expiresAt: number | null }>;
  /** LLM text for the analyst, display only (`off` when enrichment is not configured). */
  readonly enrichment: { readonly status: 'off' | 'pending' | 'done' | 'failed'; readonly summary: string | null; readonly rationale: string | null; readonly model: string | null; readonly error: string | null; readonly at: number | null };
}

export interface IncidentsView {
  incidents: IncidentRow[];
  proposals: ProposalRow[];
  /** Trusted executors that granted this console mitigation.request (possible targets). */
  executors: string[];
}

export interface IncidentDetailView {
  incident: IncidentRow;
  anomalies: IncidentAnomalyRow[];
  proposals: ProposalRow[];
}

/** One executor's answer to an approval. */
export interface MitigationDelivery {
  executor: string;
  status: string;
  code: string | null;
  reason: string | null;
  expiresAt: number | null;
}

export interface ApprovalOutcome {
  proposal: ProposalRow;
  deliveries: MitigationDelivery[];
}

/** What an executor reported about one request: its block and how it stands. */
export interface DecisionRow {
  readonly executor: string;
  readonly requestId: string;
  readonly incidentId: string | null;
  readonly action: 'block' | 'unblock';
  readonly cidr: string;
  /** `applied` while active; `refused`, `failed`, `expired`, `revoked` when it ended or never began. */
  readonly state: string;
  readonly code: string | null;
  readonly detail: string | null;
  readonly reason: string;
  readonly requestedBy: string;
  readonly ttlSeconds: number;
  readonly appliedAt: number | null;
  readonly expiresAt: number | null;
  /** Console clock when this row last changed. */
  readonly updatedAt: number;
}

export interface AuditRow {
  readonly seq: number;
  readonly at: string;
  /** Fingerprint of the node that wrote it. */
  readonly node: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Record<string, unknown>;
  readonly hash: string;
}

export interface AuditLogView {
  /** Newest first. */
  entries: AuditRow[];
  total: number;
  verify: { ok: boolean; entries: number; brokenAt: number | null; problem: string | null };
  node: { hostname: string; fingerprint: string };
}

function parseApproveProposal(params: Record<string, unknown>): Parsed<ConsoleCall> {
  const method = 'approveProposal';
  const keys = checkKeys(method, params, ['proposalId', 'cidr', 'ttlSeconds', 'targets']);
  if (!keys.ok) return keys;
  const id = requiredText(method, params, 'proposalId', 64);
  if (!id.ok) return id;
  const cidr = params.cidr ?? null;
  if (cidr !== null && (typeof cidr !== 'string' || cidr.trim() === '' || cidr.length > 64)) return bad('approveProposal: "cidr" must be an address or CIDR', 'for example 198.51.100.7/32');
  const ttl = params.ttlSeconds ?? null;
  if (ttl !== null && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < MITIGATION_TTL_RANGE.min || ttl > MITIGATION_TTL_RANGE.max)) {
    return bad(`approveProposal: "ttlSeconds" must be ${MITIGATION_TTL_RANGE.min}-${MITIGATION_TTL_RANGE.max}`, 'a block lasts from one minute to 30 days');
  }
  const targets = params.targets ?? null;
  if (targets !== null && (!Array.isArray(targets) || targets.length === 0 || targets.length > 32 || !targets.every((t) => typeof t === 'string' && t.length > 0 && t.length <= MAX_TARGET_LENGTH))) {
    return bad('approveProposal: "targets" must list 1-32 executor hostnames', 'pick at least one executor');
  }
  return {
    ok: true,
    value: {
      method,
      params: { proposalId: id.value, cidr: typeof cidr === 'string' ? cidr.trim() : null, ttlSeconds: ttl as number | null, targets: targets as string[] | null },
    },
  };
}
