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
import type { NatType } from './nat-type.ts';
import { keyId } from './identity.ts';
import { TransportKeypair, transportReceiverIndex } from './keypair.ts';
import {
  decodePunch,
  encodePunch,
  MSG_RELAY_DELIVER,
  MSG_RELAY_SEND,
  MSG_PUNCH,
  newPunchToken,
  RELAY_HEADER_SIZE,
  relayAddress,
  relayHeader,
} from './relay-protocol.ts';
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
import { endpointKey, endpointsEqual, formatEndpoint, parseEndpoint, type Endpoint, type PacketConn } from './transport.ts';
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
/** A punch token is good for this long after it was asked for. */
const PUNCH_TOKEN_TTL_MS = 10_000;
/** When a punch notice arrives: send punch packets at these offsets (a first one may meet a closed NAT). */
const PUNCH_SCHEDULE_MS = [0, 100, 300, 700];

const SENT: Promise<void> = Promise.resolve();

/** RTTs are kept to 0.01 ms (what `peers` and the console show). */
function setRtt(peer: { rttMs: number | null }, ms: number): void {
  peer.rttMs = Math.round(ms * 100) / 100;
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.');
}

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
  /** The peer's NAT as it told the registry: behind a symmetric one, only the relay works. */
  readonly nat?: NatType;
}

export interface TrustGate {
  isTrusted(peerKeyId: string): boolean;
}

/** How packets to a peer travel: straight to its endpoint, or through the registry's relay. */
export type PeerPath = 'direct' | 'relay';

/** Why a node asks the registry for a punch (the daemon re-registers first when recovering). */
export type PunchReason = 'connect' | 'recover' | 'upgrade';

/**
 * NAT traversal services the node gets from its registry (the daemon wires them): a punch
 * request returns the peer's current contact if the registry gave one.
 */
export interface Traversal {
  requestPunch(peerKeyId: string, tokenHex: string, reason: PunchReason): Promise<PeerContact | null>;
}

export interface PeerView {
  readonly keyId: string;
  readonly identityKey: Buffer;
  readonly staticPublic: Buffer | null;
  readonly staticSignature: Buffer | null;
  readonly address: Address | null;
  readonly hostname: string | null;
  readonly endpoint: Endpoint | null;
  /** The path of a live session, null without one. */
  readonly path: PeerPath | null;
  /** Round-trip time last measured (handshake or path probe), in ms. */
  readonly rttMs: number | null;
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
  relayedIn: number;
  relayedOut: number;
  punchesSent: number;
  punchesReceived: number;
  punchRequests: number;
  pathChanges: number;
  pathsLost: number;
}

interface HandshakeInFlight {
  /** Null until the first initiation could be built (we may still be resolving the peer). */
  state: InitiatorState | null;
  startedAt: number;
  attempt: number;
  timer: NodeJS.Timeout | null;
  /** The last initiation sent, and when (performance.now(), for the RTT). */
  message: Buffer | null;
  sentAt: number;
  /** Sends the latest initiation through the relay once relayAfterMs have passed unanswered. */
  relayTimer: NodeJS.Timeout | null;
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
  /** Packets go through the relay (the session came up there, or the direct path was lost). */
  viaRelay = false;
  /** The peer's NAT, if the registry told us. */
  nat: NatType | null = null;
  /** `0x17 | address`: prepended to frames sent through the relay. */
  relayHeader: Buffer | null = null;
  /** Last authenticated packet that came straight from the peer (not relayed). */
  lastDirectAt = 0;
  rttMs: number | null = null;
  /** The path probe in flight: its sequence number and when it left (performance.now()). */
  probeSeq = 0;
  probeSentAt = 0;
  lastProbeAt = 0;
  /** First packet we sent since the last one we received (0: everything answered). */
  unansweredSince = 0;
  /** When the path was last declared lost (recovery runs at most once per pathLostMs). */
  lostAt = 0;
  /** Next attempt to turn a relayed session direct, and the delay after it. */
  upgradeAt = 0;
  upgradeDelay = 0;
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

  get path(): PeerPath | null {
    if (this.current === null) return null;
    return this.viaRelay ? 'relay' : this.endpoint ? 'direct' : null;
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
    relayedIn: 0,
    relayedOut: 0,
    punchesSent: 0,
    punchesReceived: 0,
    punchRequests: 0,
    pathChanges: 0,
    pathsLost: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamSegmentsIn: 0,
    streamsRefused: 0,
    streamResetsSent: 0,
    streamsDroppedUntrusted: 0,
  };
  /**
   * Emits 'session' (PeerView), 'unreachable' (PeerView), 'dropped-untrusted' (PeerView, port),
   * 'path' (PeerView: its path changed) and 'path-lost' (PeerView: recovery started).
   */
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
  #underlayHandlers = new Map<number, UnderlayHandler[]>();
  #streams: StreamTable;
  #clock = new TimestampClock();
  #handshakeRate = new TokenBuckets(HANDSHAKE_BURST_PER_SOURCE, HANDSHAKE_RATE_PER_SOURCE);
  #tick: NodeJS.Timeout;
  #closed = false;
  /** The registry's relay (and punch coordinator), once the daemon knows it. */
  #relay: Endpoint | null = null;
  #traversal: Traversal | null = null;
  #symmetricNat = false;
  /** Punch tokens we asked for (hex) → the peer and when the token lapses. */
  #punchTokens = new Map<string, { peer: Peer; expires: number }>();
  #probeId = randomBytes(4).readUInt32BE(0);
  #probePort: number;

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
    // Path management is tick-driven: tick at least twice per suspect interval (tests shrink it).
    this.#tick = setInterval(() => this.#onTick(), Math.max(20, Math.min(TICK_MS, this.#limits.pathSuspectMs / 2)));
    this.#tick.unref();
    this.bindDatagram(PORT_PING, (payload, ctx) => {
      if (payload[0] === PING_REQUEST) this.#reply(ctx, Buffer.concat([PING_REPLY_TYPE, payload.subarray(1)]));
    });
    // Echo answers only clients on ephemeral ports, so two services can never echo at each other forever.
    this.bindDatagram(PORT_ECHO, (payload, ctx) => {
      if (ctx.srcPort >= EPHEMERAL_PORT_MIN) this.#reply(ctx, payload);
    });
    this.#probePort = this.bindEphemeral((payload, ctx) => this.#onProbeReply(payload, ctx));
  }

  // ---- NAT traversal -------------------------------------------------------------------------

  /**
   * Where the registry's relay is (the registry endpoint) and how to ask it for punches. Relayed
   * frames are accepted only from this endpoint.
   */
  setTraversal(relay: Endpoint | null, traversal: Traversal | null): void {
    this.#relay = relay;
    this.#traversal = traversal;
  }

  /** Behind a symmetric NAT a punch cannot work: handshakes go through the relay at once. */
  setSymmetricNat(symmetric: boolean): void {
    this.#symmetricNat = symmetric;
  }

  /**
   * A peer asked (through a verified registry notice) that we punch towards it: a few small
   * packets to each of its endpoints open our NAT to it while its handshake comes our way.
   */
  punchTowards(endpoints: readonly string[], tokenHex: string): void {
    if (this.#closed || !/^[0-9a-f]{32}$/.test(tokenHex)) return;
    // The registry names one endpoint (where the request came from); never spray more than two.
    const targets = endpoints.slice(0, 2).map((e) => parseEndpoint(e)).filter((e): e is Endpoint => e !== null);
    if (targets.length === 0) return;
    const packet = encodePunch(Buffer.from(tokenHex, 'hex'));
    for (const delay of PUNCH_SCHEDULE_MS) {
      const send = () => {
        for (const t of targets) {
          this.conn.send(packet, t);
          this.stats.punchesSent++;
        }
      };
      if (delay === 0) send();
      else setTimeout(() => !this.#closed && send(), delay).unref();
    }
  }

  #requestPunch(peer: Peer, reason: PunchReason): void {
    const traversal = this.#traversal;
    if (!traversal || !peer.address || this.#closed) return;
    const token = newPunchToken().toString('hex');
    this.#punchTokens.set(token, { peer, expires: this.#now() + PUNCH_TOKEN_TTL_MS });
    this.stats.punchRequests++;
    traversal.requestPunch(peer.keyId, token, reason).then(
      (contact) => {
        if (!contact || !contact.identityKey.equals(peer.identityKey)) return;
        this.addContact(contact);
        // Behind a symmetric NAT the punch cannot work: no need to wait for relayAfterMs.
        if (contact.nat === 'symmetric' && peer.handshake?.message) this.#relayInitiation(peer);
      },
      () => {}, // best effort: the handshake retries, the relay remains
    );
  }

  /** A punch packet answering one of our requests: the peer's NAT is open towards us from `from`. */
  #receivePunch(data: Buffer, from: Endpoint): void {
    const token = decodePunch(data);
    const entry = token ? this.#punchTokens.get(token) : undefined;
    if (!entry || entry.expires < this.#now()) {
      this.stats.junk++;
      return;
    }
    this.stats.punchesReceived++;
    const peer = entry.peer;
    if (!peer.endpoints.some((e) => endpointsEqual(e, from))) peer.endpoints = [from, ...peer.endpoints].slice(0, 8);
    const hs = peer.handshake;
    if (hs?.message) {
      this.conn.send(hs.message, from);
      return;
    }
    // A session is up (relayed, or a direct path being recovered): prove the direct path with an
    // authenticated keepalive; the peer switches to it on receipt and answers the same way.
    this.#keepaliveTo(peer, from, this.#now());
  }

  /** An authenticated empty frame straight to `to`, whatever the peer's current path. */
  #keepaliveTo(peer: Peer, to: Endpoint, now: number): void {
    const frame = peer.current?.seal(Buffer.alloc(0), now);
    if (frame) this.conn.send(frame, to);
  }

  /** Relayed frames come only from our relay; they carry the sender's overlay address. */
  #receiveRelayed(data: Buffer, from: Endpoint): void {
    const src = this.#relay && endpointsEqual(from, this.#relay) ? relayAddress(data) : null;
    if (!src) {
      this.stats.junk++;
      return;
    }
    this.stats.relayedIn++;
    const inner = data.subarray(RELAY_HEADER_SIZE);
    switch (inner[0]) {
      case MSG_TRANSPORT:
        return this.#receiveTransport(inner, from, src);
      case MSG_INITIATION:
        return this.#receiveInitiation(inner, from, src);
      case MSG_RESPONSE:
        return this.#receiveResponse(inner, from, src);
      default:
        this.stats.junk++;
    }
  }

  /**
   * Notes the path an authenticated packet took. A direct packet always wins (it proves the
   * direct path works both ways: the NATs let it in, so they let our answers out); a relayed one
   * moves us to the relay only if nothing came directly for a while (packets in flight on the
   * old path must not make us flap).
   */
  #notePath(peer: Peer, from: Endpoint, relayed: Address | null, now: number): void {
    if (relayed === null) {
      peer.lastDirectAt = now;
      if (!peer.viaRelay && peer.endpoint !== null && endpointsEqual(peer.endpoint, from)) return;
      const upgraded = peer.viaRelay;
      peer.endpoint = from;
      peer.viaRelay = false;
      this.#pathChanged(peer);
      // Tell the peer at once, on the path that just worked, so it upgrades too.
      if (upgraded) this.#sendKeepalive(peer);
      return;
    }
    if (!peer.viaRelay && now - peer.lastDirectAt > this.#limits.pathSuspectMs) this.#moveToRelay(peer, now);
  }

  /** Sends through the relay from now on, and schedules the first attempt to become direct again. */
  #moveToRelay(peer: Peer, now: number): void {
    peer.viaRelay = true;
    peer.upgradeDelay = this.#limits.upgradeRetryMs;
    peer.upgradeAt = now + peer.upgradeDelay;
    this.#pathChanged(peer);
  }

  #pathChanged(peer: Peer): void {
    this.stats.pathChanges++;
    this.events.emit('path', peer);
  }

  #canRelay(peer: Peer): boolean {
    return this.#relay !== null && peer.relayHeader !== null;
  }

  /** Sends a tunnel frame on the peer's current path. */
  #transmit(peer: Peer, frame: Buffer, now: number): void {
    if (peer.unansweredSince === 0) peer.unansweredSince = now;
    if (peer.viaRelay) this.#sendViaRelay(peer, frame);
    else if (peer.endpoint) this.conn.send(frame, peer.endpoint);
  }

  /** One tunnel message to the peer through the relay (`0x17 | its address | message`). */
  #sendViaRelay(peer: Peer, message: Buffer): void {
    if (!this.#relay || !peer.relayHeader) return;
    this.conn.send([peer.relayHeader, message], this.#relay);
    this.stats.relayedOut++;
  }

  #hasPath(peer: Peer): boolean {
    return peer.viaRelay ? this.#canRelay(peer) : peer.endpoint !== null;
  }

  /** Path probe: an overlay ping from our probe port; the reply gives the RTT. */
  #sendProbe(peer: Peer, now: number): void {
    if (!peer.address || !this.#trust.isTrusted(peer.keyId)) return;
    peer.lastProbeAt = now;
    peer.probeSeq = (peer.probeSeq + 1) >>> 0;
    peer.probeSentAt = performance.now();
    const payload = Buffer.allocUnsafe(9);
    payload[0] = PING_REQUEST;
    payload.writeUInt32BE(this.#probeId, 1);
    payload.writeUInt32BE(peer.probeSeq, 5);
    this.sendDatagram(peer.keyId, PORT_PING, payload, this.#probePort).catch(() => {});
  }

  #onProbeReply(payload: Buffer, ctx: DatagramContext): void {
    if (payload.length !== 9 || payload[0] !== PING_REPLY || payload.readUInt32BE(1) !== this.#probeId) return;
    const peer = this.#peers.get(ctx.peer.keyId);
    if (peer && payload.readUInt32BE(5) === peer.probeSeq && peer.probeSentAt > 0) {
      setRtt(peer, performance.now() - peer.probeSentAt);
      peer.probeSentAt = 0;
    }
  }

  /** Records an RTT measured elsewhere (swarmctl ping). */
  noteRtt(peerKeyId: string, rttMs: number): void {
    const peer = this.#peers.get(peerKeyId);
    if (peer) setRtt(peer, rttMs);
  }

  /**
   * Per tick, for each trusted peer with a session: probe its path every pathProbeMs (RTT, NAT
   * mappings); when we send into silence, probe at once, and past pathLostMs start recovery (a
   * new punch, the relay meanwhile); when relayed, try now and then to become direct again.
   */
  #managePath(peer: Peer, now: number): void {
    if (!peer.current || !this.#trust.isTrusted(peer.keyId)) return;
    // How long we have been sending without hearing anything back (an idle peer is not silent).
    const silence = peer.unansweredSince > 0 ? now - peer.unansweredSince : 0;
    const sendingIntoSilence = silence >= this.#limits.pathSuspectMs;
    if (sendingIntoSilence && silence >= this.#limits.pathLostMs && now - peer.lostAt >= this.#limits.pathLostMs) {
      this.#recoverPath(peer, now);
    } else if (sendingIntoSilence || now - peer.lastProbeAt >= this.#limits.pathProbeMs) {
      this.#sendProbe(peer, now);
    }
    if (peer.viaRelay && peer.upgradeAt > 0 && now >= peer.upgradeAt) {
      peer.upgradeDelay = Math.min(peer.upgradeDelay * 2 || this.#limits.upgradeRetryMs, this.#limits.upgradeRetryMs * 8);
      peer.upgradeAt = now + peer.upgradeDelay;
      this.#tryDirect(peer, 'upgrade');
    }
  }

  /** Authenticated keepalives straight to every endpoint we know, and a punch from the other side. */
  #tryDirect(peer: Peer, reason: PunchReason): void {
    const now = this.#now();
    const seen = new Set<string>();
    for (const e of peer.endpoint ? [peer.endpoint, ...peer.endpoints] : peer.endpoints) {
      const key = endpointKey(e);
      if (seen.has(key)) continue;
      seen.add(key);
      this.#keepaliveTo(peer, e, now);
    }
    this.#requestPunch(peer, reason);
  }

  #recoverPath(peer: Peer, now: number): void {
    peer.lostAt = now;
    this.stats.pathsLost++;
    this.events.emit('path-lost', peer);
    if (!peer.viaRelay && this.#canRelay(peer)) this.#moveToRelay(peer, now);
    // Relayed and the relay went quiet (it restarted, or our NAT's mapping towards it changed):
    // recovery re-registers, which gives the relay our new mapping. Either way, authenticated
    // keepalives go straight to the peer: if they get through, it answers directly and we follow.
    this.#tryDirect(peer, 'recover');
    this.#sendProbe(peer, now);
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
    // Several clients may share a type (a registry and a separate beacon both answer 0x11): each
    // handler checks where a datagram came from.
    const list = this.#underlayHandlers.get(type);
    if (list) list.push(handler);
    else this.#underlayHandlers.set(type, [handler]);
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
    if (contact.nat) peer.nat = contact.nat;
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
    // The next session starts its path afresh: no silence carried over, no relay preference.
    peer.unansweredSince = peer.lastProbeAt = peer.lostAt = peer.upgradeAt = 0;
    peer.viaRelay = false;
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
    if (kp && this.#hasPath(peer) && kp.isUsable(now)) {
      const frame = kp.sealFrame(plaintext, now);
      if (frame) {
        this.#transmit(peer, frame, now);
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
    peer.handshake = { state: null, startedAt: this.#now(), attempt: 0, timer: null, message: null, sentAt: 0, relayTimer: null };
    this.#sendInitiation(peer);
  }

  #sendInitiation(peer: Peer): void {
    const hs = peer.handshake;
    if (!hs) return;
    if (!peer.staticPublic || (!peer.endpoint && !this.#canRelay(peer))) {
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
    hs.message = created.value.message;
    hs.sentAt = performance.now();
    // Try the endpoint that worked last, then every other candidate the registry gave us.
    const current = peer.endpoint;
    const targets = current ? [current, ...peer.endpoints.filter((e) => !endpointsEqual(e, current))] : peer.endpoints;
    for (const target of targets) this.conn.send(created.value.message, target);
    // The peer may be behind a NAT that only opens if it sends to us first: ask the registry to
    // have it punch, with the first initiation of a new session (unless the peer is on this very
    // machine), and again every few attempts. A rekey of a working session needs none.
    const firstContact = hs.attempt === 0 && peer.current === null && !targets.every((e) => isLoopback(e.host));
    if (firstContact || hs.attempt % 4 === 1) this.#requestPunch(peer, 'connect');
    // Still nothing (or no direct path can work from behind a symmetric NAT): the relay too.
    // A relayed session becomes direct later if a punch succeeds.
    const elapsed = this.#now() - hs.startedAt;
    if (this.#canRelay(peer)) {
      if (this.#symmetricNat || peer.nat === 'symmetric' || elapsed >= this.#limits.relayAfterMs || targets.length === 0) this.#relayInitiation(peer);
      else if (hs.relayTimer === null) {
        // On time, not at whichever retry comes after relayAfterMs (retries back off).
        hs.relayTimer = setTimeout(() => {
          if (peer.handshake === hs) this.#relayInitiation(peer);
        }, this.#limits.relayAfterMs - elapsed);
        hs.relayTimer.unref();
      }
    }
    this.#scheduleRetry(peer);
  }

  #relayInitiation(peer: Peer): void {
    const message = peer.handshake?.message;
    if (message) this.#sendViaRelay(peer, message);
  }

  #clearHandshakeTimers(hs: HandshakeInFlight): void {
    if (hs.timer) clearTimeout(hs.timer);
    if (hs.relayTimer) clearTimeout(hs.relayTimer);
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
      this.#clearHandshakeTimers(hs);
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
      case MSG_RELAY_DELIVER:
        return this.#receiveRelayed(data, from);
      case MSG_PUNCH:
        return this.#receivePunch(data, from);
      default: {
        const handlers = this.#underlayHandlers.get(data[0]!);
        if (handlers) for (const handler of handlers) handler(data, from);
        else this.stats.junk++;
      }
    }
  }

  #receiveInitiation(data: Buffer, from: Endpoint, relayed: Address | null = null): void {
    if (data.length !== INITIATION_SIZE) {
      this.stats.junk++;
      return;
    }
    if (!this.#handshakeRate.take(relayed ? `relay/${addressKey(relayed)}` : from.host, this.#now())) {
      this.stats.handshakesRateLimited++;
      return;
    }
    const consumed = consumeInitiation(this.staticIdentity, data);
    if (!consumed.ok) {
      this.stats.handshakesInvalid++;
      return;
    }
    const init = consumed.value;
    // Through the relay, the address the relay vouches for must be the one the initiator signed.
    if (init.identityPublic.equals(this.identity.publicKey) || (relayed && !addressEquals(relayed, { network: init.network, node: init.node }))) {
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
    const now = this.#now();
    this.#notePath(peer, from, relayed, now);
    const keypair = new TransportKeypair(response.value.keys, localIndex, init.senderIndex, false, this.#limits, now);
    this.#indices.set(localIndex, { kind: 'keypair', peer, keypair });
    if (peer.next) this.#indices.delete(peer.next.localIndex);
    peer.next = keypair;
    peer.lastReceivedAt = now;
    // A relayed initiation came from our relay (#receiveRelayed checked): answer the same way.
    if (relayed) this.#sendViaRelay(peer, response.value.message);
    else this.conn.send(response.value.message, from);
    this.stats.handshakesCompleted++;
  }

  #receiveResponse(data: Buffer, from: Endpoint, relayed: Address | null = null): void {
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
    this.#clearHandshakeTimers(hs);
    peer.handshake = null;
    const now = this.#now();
    if (!relayed) peer.lastDirectAt = 0; // the candidate that answered becomes the path
    this.#notePath(peer, from, relayed, now);
    setRtt(peer, performance.now() - hs.sentAt);
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
    if (!kp || !this.#hasPath(peer)) return;
    const frame = kp.seal(Buffer.alloc(0), now);
    if (frame) {
      this.#transmit(peer, frame, now);
      peer.lastSentAt = now;
    }
  }

  #receiveTransport(data: Buffer, from: Endpoint, relayed: Address | null = null): void {
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
    peer.unansweredSince = 0;
    // An authenticated packet from a new source means the peer roamed (new NAT mapping, new
    // network): follow it, as WireGuard does. Relayed packets follow the rules of #notePath.
    if (relayed !== null || peer.viaRelay || !peer.endpoint || !endpointsEqual(peer.endpoint, from)) this.#notePath(peer, from, relayed, now);
    else peer.lastDirectAt = now;
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
    peer.relayHeader = relayHeader(MSG_RELAY_SEND, address);
    this.#peersByAddress.set(addressKey(address), peer);
  }

  #countUntrustedPeers(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (!this.#trust.isTrusted(p.keyId)) n++;
    return n;
  }

  #onTick(): void {
    const now = this.#now();
    for (const [token, entry] of this.#punchTokens) if (entry.expires < now) this.#punchTokens.delete(token);
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
      this.#managePath(peer, now);
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
