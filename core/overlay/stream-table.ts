/**
 * The node's stream demultiplexer: which (peer, local port, remote port) belongs to which
 * stream, which ports listen, and what happens to a segment nobody owns (a reset, as TCP does,
 * so the sender gives up at once instead of retransmitting into silence).
 *
 * Default deny holds here too: a peer that is not trusted may not open or use a stream on any
 * port (444 included), and streams of a peer that loses trust are closed.
 */
import { EPHEMERAL_PORT_MAX, EPHEMERAL_PORT_MIN } from './address.ts';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream-limits.ts';
import { decodeOptionArea, OPTION_AREA_PREFIX } from './stream-options.ts';
import { OverlayStream, StreamError, type StreamControl, type StreamLink, type StreamPeer } from './stream.ts';
import { FLAG_ACK, FLAG_FIN, FLAG_RST, FLAG_SYN, type Packet } from './wire.ts';

export interface StreamTableStats {
  /** Streams we opened that completed their handshake, and streams we accepted. */
  streamsOpened: number;
  streamsAccepted: number;
  streamSegmentsIn: number;
  /** SYNs refused: no listener on the port, or too many streams. */
  streamsRefused: number;
  /** Resets sent for segments that belong to no stream. */
  streamResetsSent: number;
  /** Stream segments from a peer that is not trusted. */
  streamsDroppedUntrusted: number;
}

export type StreamListener = (stream: OverlayStream) => void;

export interface StreamTableOptions {
  link: StreamLink;
  limits?: Partial<StreamLimits>;
  /** Largest payload of one overlay packet; a segment's data is one byte less (the option area). */
  maxPacketPayload: number;
  stats: StreamTableStats;
}

const EMPTY = Buffer.alloc(0);
const LOCAL_PORT_ATTEMPTS = 64;

function isPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 0xffff;
}

export class StreamTable {
  readonly limits: StreamLimits;
  readonly maxSegmentData: number;
  #link: StreamLink;
  #stats: StreamTableStats;
  #listeners = new Map<number, StreamListener>();
  /** Per peer, keyed by localPort * 65536 + remotePort. */
  #byPeer = new Map<string, Map<number, StreamControl>>();
  #count = 0;
  #closed = false;

  constructor(options: StreamTableOptions) {
    this.#link = options.link;
    this.limits = { ...DEFAULT_STREAM_LIMITS, ...options.limits };
    this.maxSegmentData = options.maxPacketPayload - OPTION_AREA_PREFIX;
    this.#stats = options.stats;
  }

  /** Live streams (TIME_WAIT included). */
  get size(): number {
    return this.#count;
  }

  listen(port: number, onConnection: StreamListener): void {
    if (!isPort(port)) throw new RangeError(`stream port ${port} is not in 0-65535`);
    if (this.#listeners.has(port)) throw new StreamError('port_in_use', `a stream listener is already bound to port ${port}`);
    this.#listeners.set(port, onConnection);
  }

  unlisten(port: number): void {
    this.#listeners.delete(port);
  }

  /** Opens a stream to a trusted peer's port; resolves once the handshake completes. */
  async connect(peer: StreamPeer, port: number): Promise<OverlayStream> {
    if (!isPort(port)) throw new RangeError(`stream port ${port} is not in 0-65535`);
    if (this.#closed) throw new StreamError('closed', 'the node is shutting down');
    this.#checkCapacity(peer.keyId);
    const streams = this.#streamsOf(peer.keyId);
    let localPort = -1;
    for (let attempt = 0; attempt < LOCAL_PORT_ATTEMPTS && localPort < 0; attempt++) {
      const candidate = EPHEMERAL_PORT_MIN + Math.floor(Math.random() * (EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1));
      if (!streams.has(candidate * 65536 + port)) localPort = candidate;
    }
    if (localPort < 0) throw new StreamError('too_many_streams', `no free local port for another stream to port ${port}`);
    const control = this.#create(peer, localPort, port, streams);
    await control.connect();
    this.#stats.streamsOpened++;
    return control.stream;
  }

  /** A stream segment from a peer that passed the node's checks (authenticated, addressed to us). */
  receive(peer: StreamPeer, packet: Packet): void {
    this.#stats.streamSegmentsIn++;
    if (!this.#link.isTrusted(peer.keyId)) {
      this.#stats.streamsDroppedUntrusted++;
      if (this.countOf(peer.keyId) > 0) this.closePeer(peer.keyId, this.#revokedError(peer));
      return;
    }
    const key = packet.dst.port * 65536 + packet.src.port;
    const streams = this.#byPeer.get(peer.keyId);
    const existing = streams?.get(key);
    const flags = packet.flags;
    const isSyn = (flags & (FLAG_SYN | FLAG_ACK)) === FLAG_SYN;
    if (existing) {
      // A fresh SYN on ports still lingering in TIME_WAIT starts a new stream (as RFC 6191 allows).
      if (!(isSyn && existing.inTimeWait)) {
        existing.receive(packet);
        return;
      }
      existing.abort(null, false);
    }
    if (flags & FLAG_RST) return; // never answer a reset
    if (isSyn && !this.#closed) {
      const listener = this.#listeners.get(packet.dst.port);
      if (listener && this.#hasCapacity(peer.keyId)) {
        const control = this.#create(peer, packet.dst.port, packet.src.port, this.#streamsOf(peer.keyId), (stream) => {
          this.#stats.streamsAccepted++;
          listener(stream);
        });
        control.accept(packet);
        return;
      }
      this.#stats.streamsRefused++;
    }
    this.#sendReset(peer, packet);
  }

  /** How many streams a peer has (TIME_WAIT included). */
  countOf(peerKeyId: string): number {
    return this.#byPeer.get(peerKeyId)?.size ?? 0;
  }

  /** Closes every stream of a peer at once (trust revoked); no reset is sent to an untrusted peer. */
  closePeer(peerKeyId: string, error: StreamError): number {
    const streams = this.#byPeer.get(peerKeyId);
    if (!streams) return 0;
    const controls = [...streams.values()];
    for (const control of controls) control.abort(error, false);
    return controls.length;
  }

  /** Closes the streams of peers that are no longer trusted (run periodically by the node). */
  enforceTrust(peerName: (peerKeyId: string) => StreamPeer | null): void {
    for (const peerKeyId of [...this.#byPeer.keys()]) {
      if (this.#link.isTrusted(peerKeyId)) continue;
      const peer = peerName(peerKeyId) ?? { keyId: peerKeyId, hostname: null };
      this.closePeer(peerKeyId, this.#revokedError(peer));
    }
  }

  /** Resets every stream (the node is shutting down). */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    for (const streams of [...this.#byPeer.values()]) {
      for (const control of [...streams.values()]) control.abort(new StreamError('closed', 'the node is shutting down'), true);
    }
  }

  #revokedError(peer: StreamPeer): StreamError {
    return new StreamError('not_trusted', `${peer.hostname ?? peer.keyId.slice(0, 12)} is no longer trusted: its streams were closed`);
  }

  #streamsOf(peerKeyId: string): Map<number, StreamControl> {
    let streams = this.#byPeer.get(peerKeyId);
    if (!streams) {
      streams = new Map();
      this.#byPeer.set(peerKeyId, streams);
    }
    return streams;
  }

  #hasCapacity(peerKeyId: string): boolean {
    return this.#count < this.limits.maxStreams && (this.#byPeer.get(peerKeyId)?.size ?? 0) < this.limits.maxStreamsPerPeer;
  }

  #checkCapacity(peerKeyId: string): void {
    if (!this.#hasCapacity(peerKeyId)) {
      throw new StreamError(
        'too_many_streams',
        `too many streams open (${this.#count} in all, ${this.#byPeer.get(peerKeyId)?.size ?? 0} to this peer; limits ${this.limits.maxStreams} and ${this.limits.maxStreamsPerPeer}): close some first`,
      );
    }
  }

  #create(peer: StreamPeer, localPort: number, remotePort: number, streams: Map<number, StreamControl>, onEstablished?: (s: OverlayStream) => void): StreamControl {
    const key = localPort * 65536 + remotePort;
    const stream = new OverlayStream({
      link: this.#link,
      limits: this.limits,
      maxSegmentData: this.maxSegmentData,
      peer,
      localPort,
      remotePort,
      onRelease: (control) => this.#release(peer.keyId, key, control),
      ...(onEstablished ? { onEstablished } : {}),
    });
    streams.set(key, stream.control);
    this.#count++;
    return stream.control;
  }

  #release(peerKeyId: string, key: number, control: StreamControl): void {
    const streams = this.#byPeer.get(peerKeyId);
    if (streams?.get(key) !== control) return;
    streams.delete(key);
    this.#count--;
    if (streams.size === 0) this.#byPeer.delete(peerKeyId);
  }

  /**
   * RFC 793's reset for a segment that belongs to no stream: if it carried an ACK, the reset
   * takes its sequence number from it; otherwise the reset acknowledges the segment, so the
   * sender (a SYN to a closed port) can match it to its attempt.
   */
  #sendReset(peer: StreamPeer, packet: Packet): void {
    this.#stats.streamResetsSent++;
    const srcPort = packet.dst.port;
    const dstPort = packet.src.port;
    if (packet.flags & FLAG_ACK) {
      this.#link.send(peer.keyId, srcPort, dstPort, FLAG_RST, packet.ack, 0, 0, EMPTY);
      return;
    }
    const decoded = decodeOptionArea(packet.payload);
    const dataLength = decoded.ok ? packet.payload.length - decoded.value.dataOffset : 0;
    const length = dataLength + (packet.flags & FLAG_SYN ? 1 : 0) + (packet.flags & FLAG_FIN ? 1 : 0);
    this.#link.send(peer.keyId, srcPort, dstPort, FLAG_RST | FLAG_ACK, 0, (packet.seq + length) >>> 0, 0, EMPTY);
  }
}
