/**
 * The trust handshake (port 444) and the trust store it feeds.
 *
 *   requester                                   receiver
 *   request {justification, want, offer} ──▶  pending (persisted), analyst notified
 *            ◀── ack pending
 *                                  analyst approves (caps) or rejects (reason)
 *            ◀── approve {caps} | reject {reason}
 *   trust recorded / reason shown ──▶ ack
 *
 * Either side may revoke at any time: the local gate closes before the call returns, and a
 * signed revoke tells the peer, which closes its side on receipt. Two nodes that ask each other
 * approve automatically: each already consented to what it offered.
 *
 * Every message is signed, carries a nonce and a timestamp, and is refused when stale or seen
 * before. Messages that must arrive (request, approve, reject, revoke) go through a persistent
 * outbox and are retried until the peer acknowledges them, across restarts.
 */
import { EventEmitter } from 'node:events';
import { formatAddress, parseAddress, PORT_TRUST } from './address.ts';
import { SwarmError } from './errors.ts';
import { fingerprintOf, keyId, type NodeIdentity } from './identity.ts';
import { TokenBuckets } from './rate-limit.ts';
import { OverlayError, type DatagramContext, type OverlayNode, type PeerContact, type PeerView } from './node.ts';
import { trustTag, type LookupPurpose, type PublicRecord } from './registry-protocol.ts';
import {
  CAPABILITIES,
  decodeTrustMessage,
  isCapability,
  MAX_JUSTIFICATION_BYTES,
  MAX_REASON_BYTES,
  newNonce,
  signTrustMessage,
  type AckStatus,
  type Capability,
  type TrustMessage,
  type TrustMessageDraft,
} from './trust-messages.ts';
import { formatEndpoint, parseEndpoint } from './transport.ts';
import type { IncomingRequest, NodeStore, OutgoingRequest, StoredContact, TrustRecord } from '../store/node-store.ts';

/** Trust messages older or newer than this are refused (clock skew allowance). */
export const TRUST_FRESHNESS_MS = 5 * 60_000;
/** Trust datagrams accepted per peer: a burst, then one every 6 s. */
const TRUST_BURST_PER_SOURCE = 10;
const TRUST_RATE_PER_SOURCE = 1 / 6;
/** Requests waiting for a decision; beyond this new ones are refused so the disk cannot be filled. */
const MAX_PENDING_REQUESTS = 1000;
/** Undelivered trust messages are retried with back-off up to this interval, for this long. */
const OUTBOX_MAX_BACKOFF_MS = 60_000;
const OUTBOX_GIVE_UP_MS = 7 * 24 * 3600_000;

export type TrustErrorCode =
  | 'trust_unknown_peer'
  | 'trust_ambiguous'
  | 'trust_no_request'
  | 'trust_not_trusted'
  | 'trust_bad_input'
  | 'trust_self';

export class TrustError extends SwarmError<TrustErrorCode> {}

export interface TrustStats {
  received: number;
  invalid: number;
  wrongSender: number;
  stale: number;
  replayed: number;
  rateLimited: number;
  delivered: number;
  retries: number;
}

export type TrustEvent =
  | { kind: 'request'; request: IncomingRequest }
  | { kind: 'trusted'; peer: TrustRecord; by: 'local' | 'peer' | 'mutual' }
  | { kind: 'rejected'; request: OutgoingRequest }
  | { kind: 'request-declined'; peerKey: string }
  | { kind: 'revoked'; peerKey: string; hostname: string; by: 'local' | 'peer'; reason: string }
  | { kind: 'outgoing'; request: OutgoingRequest };

export interface RequestTrustResult {
  status: 'trusted' | 'pending' | 'rejected' | 'sending';
  request: OutgoingRequest | null;
  trust: TrustRecord | null;
  reason: string | null;
}

export interface TrustServiceOptions {
  node: OverlayNode;
  store: NodeStore;
  identity: NodeIdentity;
  hostname: string;
  lookup: (target: string, purpose: LookupPurpose) => Promise<PublicRecord>;
  now?: () => number;
}

function contactFromPeer(view: PeerView, hostname: string): StoredContact {
  return {
    peerKey: view.keyId,
    hostname,
    address: view.address ? formatAddress(view.address) : '0:0000.0000.0000',
    fingerprint: fingerprintOf(view.identityKey),
    staticPublic: view.staticPublic?.toString('base64') ?? '',
    staticSig: view.staticSignature?.toString('base64') ?? '',
    endpoints: view.endpoint ? [formatEndpoint(view.endpoint)] : [],
  };
}

export function peerContactFromStored(c: StoredContact): PeerContact | null {
  const address = parseAddress(c.address);
  if (!address.ok || !c.staticPublic || !c.staticSig) return null;
  return {
    identityKey: Buffer.from(c.peerKey, 'base64url'),
    staticPublic: Buffer.from(c.staticPublic, 'base64'),
    staticSignature: Buffer.from(c.staticSig, 'base64'),
    address: address.value,
    endpoints: c.endpoints.map(parseEndpoint).filter((e) => e !== null),
    hostname: c.hostname,
  };
}

export function peerContactFromRecord(r: PublicRecord): PeerContact | null {
  const address = parseAddress(r.address);
  if (!address.ok) return null;
  return {
    identityKey: Buffer.from(r.key, 'base64url'),
    staticPublic: Buffer.from(r.static_public, 'base64'),
    staticSignature: Buffer.from(r.static_sig, 'base64'),
    address: address.value,
    endpoints: (r.endpoints ?? []).map(parseEndpoint).filter((e) => e !== null),
    hostname: r.hostname,
    ...(r.nat ? { nat: r.nat } : {}),
  };
}

function checkCaps(caps: readonly string[]): Capability[] {
  const out: Capability[] = [];
  for (const c of caps) {
    if (!isCapability(c)) {
      throw new TrustError('trust_bad_input', `unknown capability "${c}"`, `capabilities are: ${CAPABILITIES.join(', ')}`);
    }
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

function checkText(text: string, maxBytes: number, what: string): string {
  if (typeof text !== 'string') throw new TrustError('trust_bad_input', `${what} must be text`, `give a ${what}`);
  if (Buffer.byteLength(text) > maxBytes) {
    throw new TrustError('trust_bad_input', `${what} is longer than ${maxBytes} bytes`, `shorten the ${what}`);
  }
  return text;
}

export class TrustService {
  readonly stats: TrustStats = { received: 0, invalid: 0, wrongSender: 0, stale: 0, replayed: 0, rateLimited: 0, delivered: 0, retries: 0 };
  /** Emits 'change' with a TrustEvent. */
  readonly events = new EventEmitter();
  readonly #node: OverlayNode;
  readonly #store: NodeStore;
  readonly #identity: NodeIdentity;
  readonly #hostname: string;
  readonly #lookup: (target: string, purpose: LookupPurpose) => Promise<PublicRecord>;
  readonly #now: () => number;
  readonly #selfKey: string;
  #trusted = new Map<string, Capability[]>();
  #rate = new TokenBuckets(TRUST_BURST_PER_SOURCE, TRUST_RATE_PER_SOURCE);
  #inFlight = new Set<number>();
  #outboxTimer: NodeJS.Timeout | null = null;
  #ackWaiters = new Map<string, Array<(status: AckStatus) => void>>();
  #closed = false;

  constructor(options: TrustServiceOptions) {
    this.#node = options.node;
    this.#store = options.store;
    this.#identity = options.identity;
    this.#hostname = options.hostname;
    this.#lookup = options.lookup;
    this.#now = options.now ?? Date.now;
    this.#selfKey = keyId(options.identity.publicKey);
    for (const t of this.#store.trusted()) {
      this.#trusted.set(t.peerKey, t.capsGranted.filter(isCapability));
      const contact = peerContactFromStored(t);
      if (contact) {
        try {
          this.#node.addContact(contact);
        } catch {
          // A stored contact that no longer verifies is re-learned from the registry on demand.
        }
      }
    }
    this.#node.bindDatagram(PORT_TRUST, (payload, ctx) => this.#receive(payload, ctx));
    this.#scheduleOutbox(0);
  }

  // ---- the gate ----------------------------------------------------------------------------

  isTrusted(peerKeyId: string): boolean {
    return this.#trusted.has(peerKeyId);
  }

  /** What the peer may do on this node. */
  capabilitiesOf(peerKeyId: string): Capability[] {
    return this.#trusted.get(peerKeyId) ?? [];
  }

  /** Tags of trusted keys, for the registry's disclosure rule. */
  /**
   * Tags of the peers that may see our endpoints at the registry. A registration carries at most
   * `limit` of them (one UDP message); past that, the peers heard from most recently win, and
   * the others reach us through the endpoints they kept from earlier sessions.
   */
  trustTags(limit = Number.POSITIVE_INFINITY): string[] {
    if (this.#trusted.size <= limit) return [...this.#trusted.keys()].map(trustTag);
    const recency = (t: TrustRecord): string => t.lastSeen ?? t.since;
    return this.#store
      .trusted()
      .sort((a, b) => (recency(a) < recency(b) ? 1 : recency(a) > recency(b) ? -1 : 0))
      .slice(0, limit)
      .map((t) => trustTag(t.peerKey));
  }

  trusted(): TrustRecord[] {
    return this.#store.trusted();
  }

  /**
   * Opens tunnels to every trusted peer. Called after a (re)start: our old sessions died with the
   * process, and peers would otherwise keep sending on them until their stale-session timer fires.
   */
  connectTrusted(): void {
    for (const peerKey of this.#trusted.keys()) this.#node.ensureSession(peerKey).catch(() => {});
  }

  pending(): { incoming: IncomingRequest[]; outgoing: OutgoingRequest[] } {
    return { incoming: this.#store.incoming(), outgoing: this.#store.outgoing() };
  }

  // ---- finding peers by what a person types --------------------------------------------------

  #matches(c: StoredContact, who: string): boolean {
    const w = who.trim();
    const fp = w.toUpperCase().replace(/[^0-9A-F]/g, '');
    return (
      c.hostname === w ||
      c.peerKey === w ||
      c.address === w ||
      (fp.length >= 8 && c.fingerprint.replace(/-/g, '').startsWith(fp))
    );
  }

  #findOne<T extends StoredContact>(items: T[], who: string, what: string, none: () => TrustError): T {
    const found = items.filter((c) => this.#matches(c, who));
    if (found.length === 0) throw none();
    if (found.length > 1) {
      throw new TrustError(
        'trust_ambiguous',
        `"${who}" matches ${found.length} ${what}: ${found.map((c) => `${c.hostname} (${c.fingerprint})`).join(', ')}`,
        'give the full fingerprint or the address instead',
      );
    }
    return found[0] as T;
  }

  // ---- local decisions (the admin, through the control socket or the console) ---------------

  /** Approves a pending request. `caps` omitted: grant what the requester asked for; an empty
   * list grants basic trust only (ping, echo) — the console's "nothing checked". */
  approve(who: string, caps?: readonly string[]): TrustRecord {
    const request = this.#findOne(this.#store.incoming(), who, 'pending requests', () =>
      new TrustError('trust_no_request', `no pending trust request from ${who}`, 'list them with: swarmctl pending'),
    );
    const granted = caps !== undefined ? checkCaps(caps) : checkCaps(request.wantCaps);
    const now = new Date(this.#now()).toISOString();
    const record: Omit<TrustRecord, 'lastSeen'> = {
      ...request,
      capsGranted: granted,
      capsReceived: request.offerCaps,
      since: now,
      requestId: request.requestId,
    };
    this.#store.transaction(() => {
      this.#store.putTrust(record);
      this.#store.deleteIncoming(request.peerKey);
      this.#store.audit.append('admin', 'trust.approved', request.hostname, {
        peer: request.peerKey,
        fingerprint: request.fingerprint,
        request_id: request.requestId,
        justification: request.justification,
        capabilities: granted,
      });
      this.#enqueue(request.peerKey, { type: 'approve', to: request.peerKey, ref: request.requestId, caps: granted, hostname: this.#hostname, address: formatAddress(this.#node.address) });
    });
    this.#trusted.set(request.peerKey, granted);
    this.#learnContact(request);
    const stored = this.#store.trustOf(request.peerKey) as TrustRecord;
    this.#emit({ kind: 'trusted', peer: stored, by: 'local' });
    return stored;
  }

  reject(who: string, reason: string): IncomingRequest {
    const why = checkText(reason, MAX_REASON_BYTES, 'reason');
    const request = this.#findOne(this.#store.incoming(), who, 'pending requests', () =>
      new TrustError('trust_no_request', `no pending trust request from ${who}`, 'list them with: swarmctl pending'),
    );
    this.#store.transaction(() => {
      this.#store.deleteIncoming(request.peerKey);
      this.#store.audit.append('admin', 'trust.rejected', request.hostname, {
        peer: request.peerKey,
        fingerprint: request.fingerprint,
        request_id: request.requestId,
        reason: why,
      });
      this.#enqueue(request.peerKey, { type: 'reject', to: request.peerKey, ref: request.requestId, reason: why });
    });
    this.#learnContact(request);
    this.#emit({ kind: 'request-declined', peerKey: request.peerKey });
    return request;
  }

  untrust(who: string, reason = ''): TrustRecord {
    const why = checkText(reason, MAX_REASON_BYTES, 'reason');
    const record = this.#findOne(this.#store.trusted(), who, 'trusted peers', () =>
      new TrustError('trust_not_trusted', `${who} is not a trusted peer`, 'list them with: swarmctl trust'),
    );
    // Close the gate first: from here on nothing but port 444 passes, in either direction.
    this.#trusted.delete(record.peerKey);
    this.#store.transaction(() => {
      this.#store.deleteTrust(record.peerKey);
      this.#store.dropOutboxFor(record.peerKey, ['approve']);
      this.#store.audit.append('admin', 'trust.revoked', record.hostname, {
        peer: record.peerKey,
        fingerprint: record.fingerprint,
        reason: why,
      });
      this.#enqueue(record.peerKey, { type: 'revoke', to: record.peerKey, reason: why });
    });
    this.#emit({ kind: 'revoked', peerKey: record.peerKey, hostname: record.hostname, by: 'local', reason: why });
    return record;
  }

  /**
   * Asks a peer for trust. Resolves once the request is acknowledged (or `waitMs` passes);
   * delivery continues in the background either way.
   */
  async requestTrust(
    target: string,
    justification: string,
    options: { want?: readonly string[]; offer?: readonly string[]; waitMs?: number; waitForDecisionMs?: number } = {},
  ): Promise<RequestTrustResult> {
    const why = checkText(justification, MAX_JUSTIFICATION_BYTES, 'justification');
    const want = checkCaps(options.want ?? []);
    const offer = checkCaps(options.offer ?? []);
    const record = await this.#lookup(target, 'handshake');
    if (record.key === this.#selfKey) throw new TrustError('trust_self', `${target} is this node`, 'name another node');
    const contact = peerContactFromRecord(record);
    if (!contact) throw new TrustError('trust_unknown_peer', `the registry returned an unusable record for ${target}`, 'see the registry log');
    try {
      this.#node.addContact(contact);
    } catch (err) {
      throw new TrustError('trust_unknown_peer', `${target}: ${(err as Error).message}`, 'the registry record is not consistent; see the registry log');
    }
    const existing = this.#store.trustOf(record.key);
    if (existing) return { status: 'trusted', request: null, trust: existing, reason: null };

    // They asked us first: our request would be the second of two mutual requests, so approve
    // theirs with what we offer, and we are done.
    const theirs = this.#store.incomingFrom(record.key);
    if (theirs) {
      const trust = this.approve(record.key, offer);
      return { status: 'trusted', request: null, trust, reason: null };
    }

    const stored: StoredContact = {
      peerKey: record.key,
      hostname: record.hostname,
      address: record.address,
      fingerprint: fingerprintOf(contact.identityKey),
      staticPublic: record.static_public,
      staticSig: record.static_sig,
      endpoints: record.endpoints ?? [],
    };
    const requestId = newNonce();
    const request: OutgoingRequest = {
      ...stored,
      requestId,
      justification: why,
      wantCaps: want,
      offerCaps: offer,
      sentAt: new Date(this.#now()).toISOString(),
      status: 'sending',
      reason: null,
      decidedAt: null,
    };
    const acked = this.#waitForAck(requestId, options.waitMs ?? 4000);
    const decided = options.waitForDecisionMs ? this.#waitForDecision(record.key, requestId, options.waitForDecisionMs) : null;
    this.#store.transaction(() => {
      this.#store.putOutgoing(request);
      this.#store.audit.append('admin', 'trust.requested', record.hostname, {
        peer: record.key,
        fingerprint: stored.fingerprint,
        request_id: requestId,
        justification: why,
        want,
        offer,
      });
      this.#enqueue(record.key, {
        type: 'request',
        to: record.key,
        hostname: this.#hostname,
        address: formatAddress(this.#node.address),
        justification: why,
        want,
        offer,
      }, requestId);
    });
    this.#emit({ kind: 'outgoing', request });
    const ackStatus = await acked;
    if (decided) await decided;
    else if (ackStatus === 'trusted' && !this.#store.trustOf(record.key)) {
      // The peer already trusts us (mutual requests crossed, or it kept trust we lost): its
      // approve, which carries our capabilities, is right behind the ack.
      await this.#waitForDecision(record.key, requestId, options.waitMs ?? 4000);
    }
    const now = this.#store.outgoingById(requestId);
    const trust = this.#store.trustOf(record.key);
    const status = trust ? 'trusted' : now?.status === 'rejected' ? 'rejected' : now?.status === 'pending' ? 'pending' : 'sending';
    return { status, request: now, trust, reason: now?.reason ?? null };
  }

  /** Resolves with the peer's ack status, or null if none arrived within `ms`. */
  #waitForAck(nonce: string, ms: number): Promise<AckStatus | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), ms);
      timer.unref();
      const list = this.#ackWaiters.get(nonce) ?? [];
      list.push(done);
      this.#ackWaiters.set(nonce, list);
      function done(status: AckStatus | null): void {
        clearTimeout(timer);
        resolve(status);
      }
    });
  }

  #waitForDecision(peerKey: string, requestId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.events.off('change', onChange);
        resolve();
      };
      const onChange = (e: TrustEvent) => {
        if ((e.kind === 'trusted' && e.peer.peerKey === peerKey) || (e.kind === 'rejected' && e.request.requestId === requestId)) finish();
      };
      const timer = setTimeout(finish, ms);
      timer.unref();
      this.events.on('change', onChange);
    });
  }

  // ---- receiving ---------------------------------------------------------------------------

  #receive(payload: Buffer, ctx: DatagramContext): void {
    this.stats.received++;
    const decoded = decodeTrustMessage(payload);
    if (!decoded.ok) {
      this.stats.invalid++;
      return;
    }
    const msg = decoded.value;
    // The tunnel authenticated the peer; the message must be signed by that same peer and meant
    // for us, so a captured message cannot be replayed through another session or at another node.
    if (msg.from !== ctx.peer.keyId || msg.to !== this.#selfKey) {
      this.stats.wrongSender++;
      return;
    }
    // Acks and messages about an existing relationship are cheap and expected in bursts;
    // everything else from a peer is rate-limited.
    if (msg.type !== 'ack' && !this.#trusted.has(msg.from) && !this.#rate.take(msg.from, this.#now())) {
      this.stats.rateLimited++;
      return;
    }
    const now = this.#now();
    // Acks are exempt: they only settle a message of ours (their ref is our unguessable nonce),
    // and the one that says "your clock is off" must reach the node whose clock is off.
    if (msg.type !== 'ack' && Math.abs(now - msg.ts) > TRUST_FRESHNESS_MS) {
      this.stats.stale++;
      const skew = Math.round((msg.ts - now) / 1000);
      this.#sendAck(msg, 'refused', `message timestamp is ${skew} s off this node's clock; fix the clock (NTP)`);
      return;
    }
    let firstTime: boolean;
    try {
      firstTime = this.#store.rememberNonce(msg.from, msg.nonce, now);
      if (Math.random() < 0.01) this.#store.forgetNoncesBefore(now - 2 * TRUST_FRESHNESS_MS);
    } catch {
      return; // the store is unavailable: drop, the sender retries
    }
    if (!firstTime) {
      // A retry of something we already handled (our ack was lost): answer again, change nothing.
      this.stats.replayed++;
      if (msg.type !== 'ack') this.#sendAck(msg, this.#ackStatusFor(msg), '');
      return;
    }
    try {
      this.#handle(msg, ctx);
    } catch (err) {
      // A message we could not apply (e.g. a request id another peer's pending request already
      // uses) is dropped; the transaction rolled back. Emitting 'error' with no listener would
      // throw out of the packet handler and take the whole daemon down.
      if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
    }
  }

  #ackStatusFor(msg: TrustMessage): AckStatus {
    if (msg.type !== 'request') return 'done';
    if (this.#trusted.has(msg.from)) return 'trusted';
    return this.#store.incomingFrom(msg.from)?.requestId === msg.nonce ? 'pending' : 'done';
  }

  #handle(msg: TrustMessage, ctx: DatagramContext): void {
    const fingerprint = fingerprintOf(ctx.peer.identityKey);
    const actor = `peer:${fingerprint}`;
    switch (msg.type) {
      case 'ack': {
        this.#store.acknowledge(msg.from, msg.ref);
        const outgoing = this.#store.outgoingById(msg.ref);
        if (outgoing && outgoing.peerKey === msg.from && outgoing.status === 'sending') {
          if (msg.status === 'pending') this.#store.setOutgoingStatus(msg.ref, 'pending', null, null);
          if (msg.status === 'refused') {
            this.#store.transaction(() => {
              this.#store.setOutgoingStatus(msg.ref, 'rejected', `refused: ${msg.detail}`, new Date(this.#now()).toISOString());
              this.#store.audit.append(actor, 'trust.request_refused', outgoing.hostname, { request_id: msg.ref, detail: msg.detail });
            });
            this.#emit({ kind: 'rejected', request: this.#store.outgoingById(msg.ref) as OutgoingRequest });
          }
          const updated = this.#store.outgoingById(msg.ref);
          if (updated) this.#emit({ kind: 'outgoing', request: updated });
        }
        this.stats.delivered++;
        const waiters = this.#ackWaiters.get(msg.ref);
        this.#ackWaiters.delete(msg.ref);
        for (const w of waiters ?? []) w(msg.status);
        return;
      }
      case 'request':
        return this.#handleRequest(msg, ctx, actor);
      case 'approve': {
        const outgoing = this.#store.outgoingById(msg.ref);
        const existing = this.#store.trustOf(msg.from);
        // Never let an approval we did not ask for create trust: the request must still be open,
        // or already approved and still trusted (a mutual approve crossing ours). An approve for a
        // request we since revoked or saw rejected must not undo that decision.
        const open = outgoing?.status === 'sending' || outgoing?.status === 'pending';
        if (!outgoing || outgoing.peerKey !== msg.from || !(open || (outgoing.status === 'approved' && existing))) {
          this.#sendAck(msg, 'refused', 'no such request');
          return;
        }
        const record: Omit<TrustRecord, 'lastSeen'> = {
          ...contactFromPeer(ctx.peer, msg.hostname),
          capsGranted: existing?.capsGranted.filter(isCapability) ?? outgoing.offerCaps.filter(isCapability),
          capsReceived: msg.caps,
          since: existing?.since ?? new Date(this.#now()).toISOString(),
          requestId: msg.ref,
        };
        this.#store.transaction(() => {
          this.#store.putTrust(record);
          this.#store.setOutgoingStatus(msg.ref, 'approved', null, new Date(this.#now()).toISOString());
          this.#store.audit.append(actor, 'trust.approved_by_peer', msg.hostname, {
            peer: msg.from,
            fingerprint,
            request_id: msg.ref,
            capabilities_received: msg.caps,
            capabilities_granted: record.capsGranted,
          });
        });
        this.#trusted.set(msg.from, record.capsGranted as Capability[]);
        this.#sendAck(msg, 'done', '');
        this.#emit({ kind: 'trusted', peer: this.#store.trustOf(msg.from) as TrustRecord, by: 'peer' });
        return;
      }
      case 'reject': {
        const outgoing = this.#store.outgoingById(msg.ref);
        if (outgoing && outgoing.peerKey === msg.from && (outgoing.status === 'sending' || outgoing.status === 'pending')) {
          this.#store.transaction(() => {
            this.#store.setOutgoingStatus(msg.ref, 'rejected', msg.reason, new Date(this.#now()).toISOString());
            this.#store.audit.append(actor, 'trust.rejected_by_peer', outgoing.hostname, { peer: msg.from, fingerprint, request_id: msg.ref, reason: msg.reason });
          });
          this.#emit({ kind: 'rejected', request: this.#store.outgoingById(msg.ref) as OutgoingRequest });
        }
        this.#sendAck(msg, 'done', '');
        return;
      }
      case 'revoke': {
        const record = this.#store.trustOf(msg.from);
        if (record) {
          this.#trusted.delete(msg.from);
          this.#store.transaction(() => {
            this.#store.deleteTrust(msg.from);
            this.#store.audit.append(actor, 'trust.revoked_by_peer', record.hostname, { peer: msg.from, fingerprint, reason: msg.reason });
          });
          this.#emit({ kind: 'revoked', peerKey: msg.from, hostname: record.hostname, by: 'peer', reason: msg.reason });
        }
        this.#sendAck(msg, 'done', '');
        return;
      }
    }
  }

  #handleRequest(msg: Extract<TrustMessage, { type: 'request' }>, ctx: DatagramContext, actor: string): void {
    const contact = contactFromPeer(ctx.peer, msg.hostname);
    if (this.#trusted.has(msg.from)) {
      // Already trusted (the requester may have lost its state): confirm with what we granted.
      const existing = this.#store.trustOf(msg.from) as TrustRecord;
      this.#enqueue(msg.from, { type: 'approve', to: msg.from, ref: msg.nonce, caps: existing.capsGranted as Capability[], hostname: this.#hostname, address: formatAddress(this.#node.address) });
      this.#sendAck(msg, 'trusted', '');
      return;
    }
    const ours = this.#store.openOutgoingTo(msg.from);
    if (ours) {
      // Mutual requests: each side already consented to what it offered.
      const record: Omit<TrustRecord, 'lastSeen'> = {
        ...contact,
        capsGranted: ours.offerCaps,
        capsReceived: msg.offer,
        since: new Date(this.#now()).toISOString(),
        requestId: msg.nonce,
      };
      this.#store.transaction(() => {
        this.#store.putTrust(record);
        this.#store.setOutgoingStatus(ours.requestId, 'approved', 'mutual requests', new Date(this.#now()).toISOString());
        this.#store.deleteIncoming(msg.from);
        this.#store.audit.append('system', 'trust.auto_approved', msg.hostname, {
          peer: msg.from,
          fingerprint: contact.fingerprint,
          request_id: msg.nonce,
          our_request_id: ours.requestId,
          reason: 'mutual trust requests',
          capabilities: ours.offerCaps,
        });
        this.#enqueue(msg.from, { type: 'approve', to: msg.from, ref: msg.nonce, caps: ours.offerCaps as Capability[], hostname: this.#hostname, address: formatAddress(this.#node.address) });
      });
      this.#trusted.set(msg.from, ours.offerCaps as Capability[]);
      this.#sendAck(msg, 'trusted', '');
      this.#emit({ kind: 'trusted', peer: this.#store.trustOf(msg.from) as TrustRecord, by: 'mutual' });
      return;
    }
    if (this.#store.countIncoming() >= MAX_PENDING_REQUESTS && !this.#store.incomingFrom(msg.from)) {
      this.#sendAck(msg, 'refused', 'too many pending trust requests on this node; ask its operator to review them');
      return;
    }
    const request: IncomingRequest = {
      ...contact,
      requestId: msg.nonce,
      justification: msg.justification,
      wantCaps: msg.want,
      offerCaps: msg.offer,
      receivedAt: new Date(this.#now()).toISOString(),
    };
    this.#store.transaction(() => {
      this.#store.putIncoming(request);
      this.#store.audit.append(actor, 'trust.request_received', msg.hostname, {
        peer: msg.from,
        fingerprint: contact.fingerprint,
        request_id: msg.nonce,
        justification: msg.justification,
        want: msg.want,
        offer: msg.offer,
      });
    });
    this.#sendAck(msg, 'pending', '');
    this.#emit({ kind: 'request', request });
  }

  #sendAck(msg: TrustMessage, status: AckStatus, detail: string): void {
    const { bytes } = signTrustMessage(this.#identity, { type: 'ack', to: msg.from, ref: msg.nonce, status, detail }, newNonce(), this.#now());
    this.#node.sendDatagram(msg.from, PORT_TRUST, bytes).catch(() => {
      // The sender retries until it hears an ack; nothing to do if this one is lost.
    });
  }

  // ---- the outbox ----------------------------------------------------------------------------

  /** Queues a message for delivery; the delivery pass runs after the current transaction commits. */
  #enqueue(peerKey: string, draft: TrustMessageDraft, nonce = newNonce()): void {
    this.#store.enqueue(peerKey, nonce, draft.type, Buffer.from(JSON.stringify(draft)), this.#now());
    this.#scheduleOutbox(0);
  }

  #scheduleOutbox(delayMs: number): void {
    if (this.#closed) return;
    if (this.#outboxTimer) clearTimeout(this.#outboxTimer);
    this.#outboxTimer = setTimeout(() => void this.#deliverDue(), Math.max(0, delayMs));
    this.#outboxTimer.unref();
  }

  async #deliverDue(): Promise<void> {
    if (this.#closed) return;
    const now = this.#now();
    let due;
    try {
      due = this.#store.dueOutbox(now);
    } catch {
      this.#scheduleOutbox(1000);
      return;
    }
    for (const entry of due) {
      if (this.#inFlight.has(entry.id)) continue;
      if (now - entry.createdAt > OUTBOX_GIVE_UP_MS) {
        this.#store.transaction(() => {
          this.#store.acknowledge(entry.peerKey, entry.nonce);
          this.#store.audit.append('system', 'trust.delivery_abandoned', entry.peerKey, { kind: entry.kind, nonce: entry.nonce });
        });
        continue;
      }
      const backoff = Math.min(1000 * 2 ** entry.attempts, OUTBOX_MAX_BACKOFF_MS);
      this.#store.rescheduleOutbox(entry.id, entry.attempts + 1, now + backoff);
      if (entry.attempts > 0) this.stats.retries++;
      this.#inFlight.add(entry.id);
      void this.#send(entry.peerKey, entry.nonce, entry.message).finally(() => this.#inFlight.delete(entry.id));
    }
    const next = this.#store.nextOutboxAt();
    if (next !== null) this.#scheduleOutbox(next - this.#now());
  }

  async #send(peerKey: string, nonce: string, draftJson: Buffer): Promise<void> {
    let draft: TrustMessageDraft;
    try {
      draft = JSON.parse(draftJson.toString('utf8')) as TrustMessageDraft;
    } catch {
      return;
    }
    if (!this.#node.peer(peerKey)?.endpoint) await this.#refreshContact(peerKey);
    const { bytes } = signTrustMessage(this.#identity, draft, nonce, this.#now());
    try {
      await this.#node.sendDatagram(peerKey, PORT_TRUST, bytes);
    } catch (err) {
      if (err instanceof OverlayError && err.code === 'unreachable') await this.#refreshContact(peerKey);
    }
  }

  async #refreshContact(peerKey: string): Promise<void> {
    try {
      const record = await this.#lookup(peerKey, 'handshake');
      const contact = peerContactFromRecord(record);
      if (contact && record.key === peerKey) this.#node.addContact(contact);
    } catch {
      // Registry down or peer gone: the outbox retries later.
    }
  }

  #learnContact(c: StoredContact): void {
    const contact = peerContactFromStored(c);
    if (!contact) return;
    try {
      this.#node.addContact(contact);
    } catch {
      // unverifiable contact: ignore, the session we have still works
    }
  }

  #emit(event: TrustEvent): void {
    this.events.emit('change', event);
  }

  outboxSize(): number {
    return this.#store.outboxSize();
  }

  close(): void {
    this.#closed = true;
    if (this.#outboxTimer) clearTimeout(this.#outboxTimer);
    this.#node.unbindDatagram(PORT_TRUST);
  }
}
