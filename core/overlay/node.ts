/**
 * The overlay node: one UDP socket, one Ed25519 identity, encrypted tunnels to peers, and the
 * port dispatch that enforces default-deny. Everything that arrives is authenticated before it
 * is looked at; everything from a peer that is not trusted is dropped and counted unless it is
 * addressed to the trust-handshake port (444).
 *
 * Per peer the node keeps up to three key pairs, as WireGuard does: `current` (used to send),
 * `previous` (still accepted for packets in flight during a rekey) and `next` (the responder's
 * fresh pair, promoted once the initiator proves it has it by sending on it).
 */
import { EventEmitter } from 'node:events';
import {
  addressEquals,
  addressKey,
  EPHEMERAL_PORT_MAX,
  EPHEMERAL_PORT_MIN,
  PORT_ECHO,
  PORT_PING,
  PORT_TRUST,
  type Address,
} from './address.ts';
import { randomBytes } from './crypto.ts';
import { TokenBuckets } from './rate-limit.ts';
import { tunePacketRuntime } from './runtime.ts';
import type { NodeIdentity } from './identity.ts';
import { keyId } from './identity.ts';
import { TransportKeypair, transportReceiverIndex } from './keypair.ts';
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  INITIATION_SIZE,
  MSG_INITIATION,
  MSG_RESPONSE,
  MSG_TRANSPORT,
  RESPONSE_SIZE,
  responseIndices,
  TimestampClock,
  verifyStaticCertificate,
  type InitiatorState,
  type StaticIdentity,
} from './noise.ts';
import type { StreamLimits } from './stream-limits.ts';
import { StreamError, type OverlayStream } from './stream.ts';
import { StreamTable, type StreamListener, type StreamTableStats } from './stream-table.ts';
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits } from './timers.ts';
import { endpointsEqual, formatEndpoint, type Endpoint, type PacketConn } from './transport.ts';
import { decodePacket, encodeHeader, PROTO_DATAGRAM, PROTO_STREAM, type Packet } from './wire.ts';

/** Largest datagram payload that keeps a frame inside a 1,500-byte Ethernet MTU over IPv6. */
export const MAX_DATAGRAM_PAYLOAD = 1380;
/** Packets held per peer while a handshake is under way; beyond this the oldest are dropped. */
const MAX_QUEUED_PER_PEER = 1024;
/** Peers we hold state for without trusting them (they may only talk to port 444). */
const MAX_UNTRUSTED_PEERS = 1024;
/** Tunnel handshakes accepted per source IP: a burst, then a steady rate. DH costs CPU. */
const HANDSHAKE_BURST_PER_SOURCE = 20;
const HANDSHAKE_RATE_PER_SOURCE = 10; // per second
const TICK_MS = 1000;

const SENT: Promise<void> = Promise.resolve();

/** Ping (port 0) payloads start with a type byte, like ICMP echo: request 8, reply 0. */
export const PING_REQUEST = 8;
export const PING_REPLY = 0;
const PING_REPLY_TYPE = Buffer.from([PING_REPLY]);

export type OverlayErrorCode = 'not_trusted' | 'unreachable' | 'unknown_peer' | 'closed' | 'too_large' | 'bad_peer';

export class OverlayError extends Error {
  readonly code: OverlayErrorCode;
  constructor(code: OverlayErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** How to reach a peer and check who it is: usually from the registry. */
export interface PeerContact {
  readonly identityKey: Buffer;
  readonly staticPublic: Buffer;
  readonly staticSignature: Buffer;
  readonly address: Address;
  readonly endpoints: readonly Endpoint[];
  readonly hostname?: string;
}

export interface TrustGate {
  isTrusted(peerKeyId: string): boolean;
}

export interface PeerView {
  readonly keyId: string;
  readonly identityKey: Buffer;
  readonly staticPublic: Buffer | null;
  readonly staticSignature: Buffer | null;
  readonly address: Address | null;
  readonly hostname: string | null;
  readonly endpoint: Endpoint | null;
  readonly sessionUp: boolean;
  readonly lastReceivedAt: number;
  readonly droppedUntrusted: number;
}

export interface DatagramContext {
  readonly peer: PeerView;
  readonly srcPort: number;
  readonly dstPort: number;
}

export type DatagramHandler = (payload: Buffer, context: DatagramContext) => void;

export interface NodeStats extends StreamTableStats {
  junk: number;
  handshakesCompleted: number;
  handshakesRateLimited: number;
  handshakesInvalid: number;
  handshakesReplayed: number;
  transportAuthFailed: number;
  transportReplayed: number;
  transportUnknownIndex: number;
  droppedUntrusted: number;
  misaddressed: number;
  noListener: number;
  datagramsIn: number;
  datagramsOut: number;
  queueDropped: number;
  streamSegmentsOut: number;
}

interface HandshakeInFlight {
  /** Null until the first initiation could be built (we may still be resolving the peer). */
  state: InitiatorState | null;
  startedAt: number;
  attempt: number;
  timer: NodeJS.Timeout | null;
}

interface Waiter {
  resolve: () => void;
  reject: (err: OverlayError) => void;
}

class Peer implements PeerView {
  readonly keyId: string;
  readonly identityKey: Buffer;
  staticPublic: Buffer | null = null;
  staticSignature: Buffer | null = null;
  address: Address | null = null;
  hostname: string | null = null;
  endpoints: Endpoint[] = [];
  endpoint: Endpoint | null = null;
  current: TransportKeypair | null = null;
  previous: TransportKeypair | null = null;
  next: TransportKeypair | null = null;
  handshake: HandshakeInFlight | null = null;
  lastInitiationTimestamp: Buffer | null = null;
  queue: Buffer[] = [];
  waiters: Waiter[] = [];
  lastReceivedAt = 0;
  lastReceivedDataAt = 0;
  lastSentAt = 0;
  droppedUntrusted = 0;

  constructor(identityKey: Buffer) {
    this.identityKey = identityKey;
    this.keyId = keyId(identityKey);
  }

  get sessionUp(): boolean {
    return this.current !== null;
  }
}

type IndexEntry = { kind: 'handshake'; peer: Peer } | { kind: 'keypair'; peer: Peer; keypair: TransportKeypair };

export type UnderlayHandler = (data: Buffer, from: Endpoint) => void;

export interface OverlayNodeOptions {
  identity: NodeIdentity;
  conn: PacketConn;
  trust: TrustGate;
  address?: Address;
  limits?: Partial<TunnelLimits>;
  /** Asked for a fresh contact when a peer cannot be reached at the endpoints we know. */
  resolvePeer?: (peerKeyId: string) => Promise<PeerContact | null>;
  now?: () => number;
  /** Stream buffers and timers; the defaults suit production (tests shrink the timers). */
  streamLimits?: Partial<StreamLimits>;
}

export class OverlayNode {
  readonly identity: NodeIdentity;
  readonly conn: PacketConn;
  readonly stats: NodeStats = {
    junk: 0,
    handshakesCompleted: 0,
    handshakesRateLimited: 0,
    handshakesInvalid: 0,
    handshakesReplayed: 0,
    transportAuthFailed: 0,
    transportReplayed: 0,
    transportUnknownIndex: 0,
    droppedUntrusted: 0,
    misaddressed: 0,
    noListener: 0,
    datagramsIn: 0,
    datagramsOut: 0,
    queueDropped: 0,
    streamSegmentsOut: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamSegmentsIn: 0,
    streamsRefused: 0,
    streamResetsSent: 0,
    streamsDroppedUntrusted: 0,
  };
  /** Emits 'session' (PeerView), 'unreachable' (PeerView), 'dropped-untrusted' (PeerView, port). */
  readonly events = new EventEmitter();

  #address: Address;
  #trust: TrustGate;
  #limits: TunnelLimits;
  #now: () => number;
  #resolvePeer: ((peerKeyId: string) => Promise<PeerContact | null>) | undefined;
  #peers = new Map<string, Peer>();
  #peersByAddress = new Map<string, Peer>();
  #indices = new Map<number, IndexEntry>();
  #datagramHandlers = new Map<number, DatagramHandler>();
  #underlayHandlers = new Map<number, UnderlayHandler>();
  #streams: StreamTable;
  #clock = new TimestampClock();
  #handshakeRate = new TokenBuckets(HANDSHAKE_BURST_PER_SOURCE, HANDSHAKE_RATE_PER_SOURCE);
  #tick: NodeJS.Timeout;
  #closed = false;

  constructor(options: OverlayNodeOptions) {
    tunePacketRuntime();
    this.identity = options.identity;
    this.conn = options.conn;
    this.#trust = options.trust;
    this.#address = options.address ?? { network: 0, node: 0 };
    this.#limits = { ...DEFAULT_TUNNEL_LIMITS, ...options.limits };
    this.#now = options.now ?? Date.now;
    this.#resolvePeer = options.resolvePeer;
    this.#streams = new StreamTable({
      link: {
        now: () => this.#now(),
        isTrusted: (peerKeyId) => this.#trust.isTrusted(peerKeyId),
        send: (peerKeyId, srcPort, dstPort, flags, seq, ack, window, payload) =>
          this.#sendStreamSegment(peerKeyId, srcPort, dstPort, flags, seq, ack, window, payload),
      },
      ...(options.streamLimits ? { limits: options.streamLimits } : {}),
      maxPacketPayload: MAX_DATAGRAM_PAYLOAD,
      stats: this.stats,
    });
    this.conn.onPacket((data, from) => this.#receive(data, from));
    this.#tick = setInterval(() => this.#onTick(), TICK_MS);
    this.#tick.unref();
    this.bindDatagram(PORT_PING, (payload, ctx) => {
      if (payload[0] === PING_REQUEST) this.#reply(ctx, Buffer.concat([PING_REPLY_TYPE, payload.subarray(1)]));
    });
    // Echo answers only clients on ephemeral ports, so two services can never echo at each other forever.
    this.bindDatagram(PORT_ECHO, (payload, ctx) => {
      if (ctx.srcPort >= EPHEMERAL_PORT_MIN) this.#reply(ctx, payload);
    });
  }

  get address(): Address {
    return this.#address;
  }

  setAddress(address: Address): void {
    this.#address = address;
  }

  get staticIdentity(): StaticIdentity {
    return {
      identityPublic: this.identity.publicKey,
      staticKey: this.identity.staticKey,
      staticSignature: this.identity.staticSignature,
      network: this.#address.network,
      node: this.#address.node,
    };
  }

  // ---- ports -------------------------------------------------------------------------------

  bindDatagram(port: number, handler: DatagramHandler): void {
    this.#datagramHandlers.set(port, handler);
  }

  unbindDatagram(port: number): void {
    this.#datagramHandlers.delete(port);
  }

  /** Binds a handler on a free ephemeral port and returns the port. */
  bindEphemeral(handler: DatagramHandler): number {
    for (let attempt = 0; attempt < 64; attempt++) {
      const port = EPHEMERAL_PORT_MIN + Math.floor(Math.random() * (EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1));
      if (!this.#datagramHandlers.has(port)) {
        this.#datagramHandlers.set(port, handler);
        return port;
      }
    }
    throw new OverlayError('closed', 'no free ephemeral port');
  }

  /** Registers a handler for non-tunnel datagrams whose first byte is `type` (registry, beacon). */
  onUnderlay(type: number, handler: UnderlayHandler): void {
    if (type === MSG_INITIATION || type === MSG_RESPONSE || type === MSG_TRANSPORT) {
      throw new RangeError(`underlay type ${type} is reserved for tunnels`);
    }
    this.#underlayHandlers.set(type, handler);
  }

  sendUnderlay(data: Uint8Array, to: Endpoint): void {
    if (!this.#closed) this.conn.send(data, to);
  }

  // ---- streams (protocol 0x01) ---------------------------------------------------------------

  /**
   * Accepts reliable streams on a port (a separate port space from datagrams). Only trusted
   * peers get through; `onConnection` runs once a stream's handshake completes.
   */
  listenStream(port: number, onConnection: StreamListener): void {
    this.#streams.listen(port, onConnection);
  }

  /** Stops accepting streams on a port; streams already open are not touched. */
  unlistenStream(port: number): void {
    this.#streams.unlisten(port);
  }

  /**
   * Opens a reliable stream to a trusted peer's port, bringing the tunnel up first if needed.
   * Rejects with an OverlayError (unknown peer, not trusted, unreachable) or a StreamError
   * (refused: nothing listens there; timeout).
   */
  async connectStream(peerKeyId: string, port: number): Promise<OverlayStream> {
    const peer = this.#peers.get(peerKeyId);
    if (!peer) throw new OverlayError('unknown_peer', 'no contact known for this peer');
    if (!this.#trust.isTrusted(peerKeyId)) {
      throw new OverlayError('not_trusted', `${peer.hostname ?? 'peer'} is not trusted: complete a trust handshake first`);
    }
    await this.ensureSession(peerKeyId);
    return this.#streams.connect(peer, port);
  }

  /**
   * Closes every stream of a peer at once, without a word to it: call it when trust is revoked.
   * (Segments of an untrusted peer are refused anyway, and its streams close on the next one or
   * within a second; this makes it immediate.) Returns how many streams were closed.
   */
  closeStreams(peerKeyId: string, reason = 'trust was revoked'): number {
    if (this.#streams.countOf(peerKeyId) === 0) return 0; // the common case on the drop path: no error to build
    const peer = this.#peers.get(peerKeyId);
    const name = peer?.hostname ?? peerKeyId.slice(0, 12);
    return this.#streams.closePeer(peerKeyId, new StreamError('not_trusted', `streams to ${name} closed: ${reason}`));
  }

  // ---- peers -------------------------------------------------------------------------------

  /** Records (or refreshes) how to reach a peer. Verifies the static key belongs to the identity. */
  addContact(contact: PeerContact): PeerView {
    if (!verifyStaticCertificate(contact.identityKey, contact.staticPublic, contact.staticSignature)) {
      throw new OverlayError('bad_peer', "the peer's static key is not signed by its identity key");
    }
    const peer = this.#peerFor(contact.identityKey);
    peer.staticPublic = contact.staticPublic;
    peer.staticSignature = contact.staticSignature;
    this.#setPeerAddress(peer, contact.address);
    if (contact.hostname) peer.hostname = contact.hostname;
    if (contact.endpoints.length > 0) {
      peer.endpoints = [...contact.endpoints];
      // Keep an endpoint that authenticated packets came from; take the registry's when we have no
      // working session (first contact, or the peer went quiet and we are handshaking again).
      if (!peer.endpoint || !peer.current || peer.handshake) peer.endpoint = contact.endpoints[0] ?? null;
    }
    return peer;
  }

  peer(peerKeyId: string): PeerView | null {
    return this.#peers.get(peerKeyId) ?? null;
  }

  peerByAddress(address: Address): PeerView | null {
    return this.#peersByAddress.get(addressKey(address)) ?? null;
  }

  peers(): PeerView[] {
    return [...this.#peers.values()];
  }

  /** Forgets a peer's keys (e.g. after revocation); packets already queued for it are dropped. */
  closeSession(peerKeyId: string): void {
    const peer = this.#peers.get(peerKeyId);
    if (!peer) return;
    this.#retireKeypairs(peer);
    this.#failHandshake(peer, new OverlayError('closed', 'session closed'));
  }

  /** Resolves once a tunnel to the peer is up, starting a handshake if needed. */
  ensureSession(peerKeyId: string): Promise<void> {
    const peer = this.#peers.get(peerKeyId);
    if (!peer) return Promise.reject(new OverlayError('unknown_peer', 'no contact known for this peer'));
    if (this.#closed) return Promise.reject(new OverlayError('closed', 'node is closed'));
    if (peer.current && peer.current.isUsable(this.#now())) return Promise.resolve();
    return new Promise((resolve, reject) => {
      peer.waiters.push({ resolve, reject });
      this.#startHandshake(peer);
    });
  }

  // ---- sending -----------------------------------------------------------------------------

  /**
   * Sends a datagram to a peer's port. Default deny applies outbound too: nothing but the trust
   * handshake goes to a peer we do not trust. Resolves once the packet is handed to the socket.
   *
   * Not an async function on purpose: when the tunnel is up (nearly always) the packet goes out
   * synchronously and a shared settled promise is returned, which keeps per-packet overhead low.
   */
  sendDatagram(peerKeyId: string, dstPort: number, payload: Uint8Array, srcPort = dstPort): Promise<void> {
    let sent: boolean;
    try {
      sent = this.#trySendDatagram(peerKeyId, dstPort, payload, srcPort);
    } catch (err) {
      return Promise.reject(err);
    }
    if (sent) return SENT;
    return this.ensureSession(peerKeyId);
  }

  #trySendDatagram(peerKeyId: string, dstPort: number, payload: Uint8Array, srcPort: number): boolean {
    if (payload.length > MAX_DATAGRAM_PAYLOAD) {
      throw new OverlayError('too_large', `datagram of ${payload.length} bytes exceeds ${MAX_DATAGRAM_PAYLOAD}`);
    }
    const peer = this.#peers.get(peerKeyId);
    if (!peer) throw new OverlayError('unknown_peer', 'no contact known for this peer');
    if (dstPort !== PORT_TRUST && !this.#trust.isTrusted(peerKeyId)) {
      throw new OverlayError('not_trusted', `${peer.hostname ?? 'peer'} is not trusted: complete a trust handshake first`);
    }
    if (!peer.address) throw new OverlayError('unknown_peer', 'the peer has no overlay address yet');
    const header = encodeHeader({
      flags: 0,
      protocol: PROTO_DATAGRAM,
      src: { network: this.#address.network, node: this.#address.node, port: srcPort },
      dst: { network: peer.address.network, node: peer.address.node, port: dstPort },
      seq: 0,
      ack: 0,
      window: 0,
      payload,
    });
    if (!header.ok) throw new OverlayError('too_large', header.error.message);
    this.stats.datagramsOut++;
    return this.#sendPlaintext(peer, [header.value, payload]);
  }

  /**
   * Encrypts and sends now if keys are ready; otherwise queues it (copied: the caller may reuse
   * its buffers), starts a handshake and returns false.
   */
  #sendPlaintext(peer: Peer, plaintext: readonly Uint8Array[]): boolean {
    const now = this.#now();
    const kp = peer.current;
    if (kp && peer.endpoint && kp.isUsable(now)) {
      const frame = kp.sealFrame(plaintext, now);
      if (frame) {
        this.conn.send(frame, peer.endpoint);
        peer.lastSentAt = now;
        const stale = peer.lastSentAt - peer.lastReceivedAt > this.#limits.staleSessionMs;
        if (kp.wantsRekey(now) || stale) this.#startHandshake(peer);
        return true;
      }
    }
    if (peer.queue.length >= MAX_QUEUED_PER_PEER) {
      peer.queue.shift();
      this.stats.queueDropped++;
    }
    peer.queue.push(Buffer.concat(plaintext));
    this.#startHandshake(peer);
    return false;
  }

  #flushQueue(peer: Peer): void {
    const queued = peer.queue;
    peer.queue = [];
    for (const plaintext of queued) this.#sendPlaintext(peer, [plaintext]);
    const waiters = peer.waiters;
    peer.waiters = [];
    for (const w of waiters) w.resolve();
  }

  /** The stream table's way out: one segment, encrypted like everything else. */
  #sendStreamSegment(peerKeyId: string, srcPort: number, dstPort: number, flags: number, seq: number, ack: number, window: number, payload: Uint8Array): void {
    const peer = this.#peers.get(peerKeyId);
    if (!peer?.address || this.#closed) return;
    const header = encodeHeader({
      flags,
      protocol: PROTO_STREAM,
      src: { network: this.#address.network, node: this.#address.node, port: srcPort },
      dst: { network: peer.address.network, node: peer.address.node, port: dstPort },
      seq,
      ack,
      window,
      payload,
    });
    if (!header.ok) return; // the stream code only builds valid headers; nothing a peer sends can get here
    this.stats.streamSegmentsOut++;
    this.#sendPlaintext(peer, [header.value, payload]);
  }

  #reply(ctx: DatagramContext, payload: Buffer): void {
    this.sendDatagram(ctx.peer.keyId, ctx.srcPort, payload, ctx.dstPort).catch(() => {});
  }

  // ---- handshakes --------------------------------------------------------------------------

  #allocateIndex(entry: IndexEntry): number {
    for (;;) {
      const index = randomBytes(4).readUInt32BE(0);
      if (index !== 0 && !this.#indices.has(index)) {
        this.#indices.set(index, entry);
        return index;
      }
    }
  }

  #startHandshake(peer: Peer): void {
    if (peer.handshake || this.#closed) return;
    peer.handshake = { state: null, startedAt: this.#now(), attempt: 0, timer: null };
    this.#sendInitiation(peer);
  }

  #sendInitiation(peer: Peer): void {
    const hs = peer.handshake;
    if (!hs) return;
    if (!peer.staticPublic || !peer.endpoint) {
      void this.#refreshContact(peer);
      this.#scheduleRetry(peer);
      return;
    }
    if (hs.state) this.#indices.delete(hs.state.localIndex);
    // Two unanswered attempts: the peer may have restarted on another port or moved. Ask the
    // registry where it is now (the next attempts go to every candidate endpoint).
    if (hs.attempt === 2) void this.#refreshContact(peer);
    const localIndex = this.#allocateIndex({ kind: 'handshake', peer });
    const created = createInitiation(this.staticIdentity, peer.staticPublic, localIndex, this.#clock.next());
    if (!created.ok) {
      this.#indices.delete(localIndex);
      this.#failHandshake(peer, new OverlayError('bad_peer', created.error.message));
      return;
    }
    hs.state = created.value.state;
    // Try the endpoint that worked last, then every other candidate the registry gave us.
    const targets = [peer.endpoint, ...peer.endpoints.filter((e) => !endpointsEqual(e, peer.endpoint as Endpoint))];
    for (const target of targets) this.conn.send(created.value.message, target);
    this.#scheduleRetry(peer);
  }

  #scheduleRetry(peer: Peer): void {
    const hs = peer.handshake;
    if (!hs) return;
    const elapsed = this.#now() - hs.startedAt;
    if (elapsed >= this.#limits.handshakeTimeoutMs) {
      const where = peer.endpoint ? formatEndpoint(peer.endpoint) : 'no known endpoint';
      this.#failHandshake(
        peer,
        new OverlayError('unreachable', `no tunnel handshake answer from ${peer.hostname ?? 'peer'} (${where}) within ${this.#limits.handshakeTimeoutMs} ms`),
      );
      this.events.emit('unreachable', peer);
      return;
    }
    // Back off exponentially with jitter, so two peers retrying do not stay in lockstep.
    const base = Math.min(this.#limits.handshakeRetryMs * 2 ** hs.attempt, 2000);
    const delay = Math.min(base * (0.75 + Math.random() * 0.5), this.#limits.handshakeTimeoutMs - elapsed + 1);
    hs.attempt++;
    hs.timer = setTimeout(() => this.#sendInitiation(peer), delay);
    hs.timer.unref();
  }

  async #refreshContact(peer: Peer): Promise<void> {
    if (!this.#resolvePeer) return;
    try {
      const contact = await this.#resolvePeer(peer.keyId);
      if (contact && contact.identityKey.equals(peer.identityKey)) this.addContact(contact);
    } catch {
      // Resolution is best effort; the handshake retry timer keeps going.
    }
  }

  #failHandshake(peer: Peer, err: OverlayError): void {
    const hs = peer.handshake;
    if (hs) {
      if (hs.timer) clearTimeout(hs.timer);
      if (hs.state) this.#indices.delete(hs.state.localIndex);
      peer.handshake = null;
    }
    if (peer.queue.length > 0) this.stats.queueDropped += peer.queue.length;
    peer.queue = [];
    const waiters = peer.waiters;
    peer.waiters = [];
    for (const w of waiters) w.reject(err);
  }

  #installKeypair(peer: Peer, keypair: TransportKeypair): void {
    if (peer.previous) this.#indices.delete(peer.previous.localIndex);
    peer.previous = peer.current;
    peer.current = keypair;
    this.events.emit('session', peer);
  }

  #retireKeypairs(peer: Peer): void {
    for (const kp of [peer.current, peer.previous, peer.next]) if (kp) this.#indices.delete(kp.localIndex);
    peer.current = peer.previous = peer.next = null;
  }

  // ---- receiving ---------------------------------------------------------------------------

  #receive(data: Buffer, from: Endpoint): void {
    if (this.#closed || data.length === 0) {
      this.stats.junk++;
      return;
    }
    switch (data[0]) {
      case MSG_TRANSPORT:
        return this.#receiveTransport(data, from);
      case MSG_INITIATION:
        return this.#receiveInitiation(data, from);
      case MSG_RESPONSE:
        return this.#receiveResponse(data, from);
      default: {
        const handler = this.#underlayHandlers.get(data[0]!);
        if (handler) handler(data, from);
        else this.stats.junk++;
      }
    }
  }

  #receiveInitiation(data: Buffer, from: Endpoint): void {
    if (data.length !== INITIATION_SIZE) {
      this.stats.junk++;
      return;
    }
    if (!this.#handshakeRate.take(from.host, this.#now())) {
      this.stats.handshakesRateLimited++;
      return;
    }
    const consumed = consumeInitiation(this.staticIdentity, data);
    if (!consumed.ok) {
      this.stats.handshakesInvalid++;
      return;
    }
    const init = consumed.value;
    if (init.identityPublic.equals(this.identity.publicKey)) {
      this.stats.handshakesInvalid++;
      return;
    }
    const id = keyId(init.identityPublic);
    const existing = this.#peers.get(id);
    // A replayed initiation carries an old timestamp: refusing it stops an attacker from making
    // us discard working keys by replaying captured handshakes.
    if (existing?.lastInitiationTimestamp && Buffer.compare(init.timestamp, existing.lastInitiationTimestamp) <= 0) {
      this.stats.handshakesReplayed++;
      return;
    }
    if (!existing && !this.#trust.isTrusted(id) && this.#countUntrustedPeers() >= MAX_UNTRUSTED_PEERS) {
      this.stats.handshakesRateLimited++;
      return;
    }
    const peer = this.#peerFor(init.identityPublic);
    const localIndex = this.#allocateIndex({ kind: 'handshake', peer });
    const response = createResponse(init, localIndex);
    if (!response.ok) {
      this.#indices.delete(localIndex);
      this.stats.handshakesInvalid++;
      return;
    }
    peer.lastInitiationTimestamp = init.timestamp;
    peer.staticPublic = init.staticPublic;
    peer.staticSignature = init.staticSignature;
    this.#setPeerAddress(peer, { network: init.network, node: init.node });
    peer.endpoint = from;
    const keypair = new TransportKeypair(response.value.keys, localIndex, init.senderIndex, false, this.#limits, this.#now());
    this.#indices.set(localIndex, { kind: 'keypair', peer, keypair });
    if (peer.next) this.#indices.delete(peer.next.localIndex);
    peer.next = keypair;
    peer.lastReceivedAt = this.#now();
    this.conn.send(response.value.message, from);
    this.stats.handshakesCompleted++;
  }

  #receiveResponse(data: Buffer, from: Endpoint): void {
    if (data.length !== RESPONSE_SIZE) {
      this.stats.junk++;
      return;
    }
    const indices = responseIndices(data);
    if (!indices.ok) {
      this.stats.handshakesInvalid++;
      return;
    }
    const { senderIndex, receiverIndex } = indices.value;
    const entry = this.#indices.get(receiverIndex);
    const hs = entry?.kind === 'handshake' ? entry.peer.handshake : null;
    if (!entry || !hs?.state || hs.state.localIndex !== receiverIndex) {
      this.stats.handshakesInvalid++;
      return;
    }
    const keys = consumeResponse(hs.state, data);
    if (!keys.ok) {
      this.stats.handshakesInvalid++;
      return;
    }
    const peer = entry.peer;
    if (hs.timer) clearTimeout(hs.timer);
    peer.handshake = null;
    peer.endpoint = from; // the candidate that answered
    const now = this.#now();
    const keypair = new TransportKeypair(keys.value, receiverIndex, senderIndex, true, this.#limits, now);
    this.#indices.set(receiverIndex, { kind: 'keypair', peer, keypair });
    this.#installKeypair(peer, keypair);
    peer.lastReceivedAt = now;
    this.stats.handshakesCompleted++;
    // The responder may not send on these keys until it sees us use them: confirm at once.
    if (peer.queue.length === 0) this.#sendKeepalive(peer);
    this.#flushQueue(peer);
  }

  #sendKeepalive(peer: Peer): void {
    const kp = peer.current;
    const now = this.#now();
    if (!kp || !peer.endpoint) return;
    const frame = kp.seal(Buffer.alloc(0), now);
    if (frame) {
      this.conn.send(frame, peer.endpoint);
      peer.lastSentAt = now;
    }
  }

  #receiveTransport(data: Buffer, from: Endpoint): void {
    const entry = this.#indices.get(transportReceiverIndex(data));
    if (!entry || entry.kind !== 'keypair') {
      this.stats.transportUnknownIndex++;
      return;
    }
    const { peer, keypair } = entry;
    const now = this.#now();
    const opened = keypair.open(data, now);
    if (!opened.ok) {
      if (opened.reason === 'replay') this.stats.transportReplayed++;
      else this.stats.transportAuthFailed++;
      return;
    }
    if (keypair === peer.next) {
      peer.next = null;
      this.#installKeypair(peer, keypair);
      this.#flushQueue(peer);
    }
    peer.lastReceivedAt = now;
    // An authenticated packet from a new source means the peer roamed (new NAT mapping, new
    // network): follow it, as WireGuard does.
    if (!peer.endpoint || !endpointsEqual(peer.endpoint, from)) peer.endpoint = from;
    if (opened.plaintext.length === 0) return; // keepalive
    peer.lastReceivedDataAt = now;
    this.#deliver(peer, opened.plaintext);
  }

  #deliver(peer: Peer, plaintext: Buffer): void {
    const decoded = decodePacket(plaintext, { verifyChecksum: false }); // authenticated by the AEAD tag
    if (!decoded.ok) {
      this.stats.junk++;
      return;
    }
    const packet: Packet = decoded.value;
    // The source must be the peer's own address and the destination ours: a trusted peer
    // cannot speak for another node, and nothing is forwarded.
    if ((peer.address && !addressEquals(packet.src, peer.address)) || !addressEquals(packet.dst, this.#address)) {
      this.stats.misaddressed++;
      return;
    }
    if (packet.dst.port !== PORT_TRUST && !this.#trust.isTrusted(peer.keyId)) {
      this.stats.droppedUntrusted++;
      peer.droppedUntrusted++;
      this.events.emit('dropped-untrusted', peer, packet.dst.port);
      // A stream segment from a peer that lost our trust: its streams end now, not at the next tick.
      if (packet.protocol === PROTO_STREAM) this.closeStreams(peer.keyId);
      return;
    }
    if (packet.protocol === PROTO_STREAM) {
      this.#streams.receive(peer, packet);
      return;
    }
    if (packet.protocol !== PROTO_DATAGRAM) {
      this.stats.noListener++;
      return;
    }
    const handler = this.#datagramHandlers.get(packet.dst.port);
    if (!handler) {
      this.stats.noListener++;
      return;
    }
    this.stats.datagramsIn++;
    // The payload is a view into freshly decrypted memory that nothing else holds: no copy needed.
    handler(packet.payload as Buffer, { peer, srcPort: packet.src.port, dstPort: packet.dst.port });
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  #peerFor(identityKey: Buffer): Peer {
    const id = keyId(identityKey);
    let peer = this.#peers.get(id);
    if (!peer) {
      peer = new Peer(Buffer.from(identityKey));
      this.#peers.set(id, peer);
    }
    return peer;
  }

  #setPeerAddress(peer: Peer, address: Address): void {
    if (peer.address && addressEquals(peer.address, address)) return;
    if (peer.address && this.#peersByAddress.get(addressKey(peer.address)) === peer) {
      this.#peersByAddress.delete(addressKey(peer.address));
    }
    peer.address = address;
    this.#peersByAddress.set(addressKey(address), peer);
  }

  #countUntrustedPeers(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (!this.#trust.isTrusted(p.keyId)) n++;
    return n;
  }

  #onTick(): void {
    const now = this.#now();
    // Trust can be revoked without a packet to notice it on: close such streams within a tick.
    this.#streams.enforceTrust((peerKeyId) => this.#peers.get(peerKeyId) ?? null);
    for (const peer of this.#peers.values()) {
      for (const slot of ['current', 'previous', 'next'] as const) {
        const kp = peer[slot];
        if (kp && !kp.isUsable(now)) {
          this.#indices.delete(kp.localIndex);
          peer[slot] = null;
        }
      }
      // Passive keepalive: if the peer sent us data and we had nothing to say back, tell it we
      // are alive so it can tell a dead session from a quiet one.
      if (peer.current && peer.lastReceivedDataAt > peer.lastSentAt && now - peer.lastReceivedDataAt >= this.#limits.keepaliveMs) {
        this.#sendKeepalive(peer);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#streams.close(); // resets reach the peers before the socket closes
    this.#closed = true;
    clearInterval(this.#tick);
    for (const peer of this.#peers.values()) this.#failHandshake(peer, new OverlayError('closed', 'node is shutting down'));
    await this.conn.close();
  }
}
