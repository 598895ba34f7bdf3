/**
 * The underlay: something that carries datagrams between endpoints. The node only sees this
 * interface, so tests can run a whole overlay in memory with injected loss, delay and
 * reordering, and real UDP is used where a test is about UDP.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export type PacketHandler = (data: Buffer, from: Endpoint) => void;

/** One datagram, whole or as consecutive pieces (sent with one scatter-gather system call). */
export type Datagram = Uint8Array | readonly Uint8Array[];

export interface PacketConn {
  readonly local: Endpoint;
  send(data: Datagram, to: Endpoint): void;
  onPacket(handler: PacketHandler): void;
  close(): Promise<void>;
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

export function endpointKey(e: Endpoint): string {
  return formatEndpoint(e);
}

/** Parses `ip:port` or `[ipv6]:port`; hostnames are not accepted here (resolve them first). */
export function parseEndpoint(text: string): Endpoint | null {
  if (typeof text !== 'string' || text.length > 64) return null;
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([0-9.]+):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (isIP(host) === 0 || port > 65535) return null;
  return { host, port };
}

export function endpointsEqual(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.host === b.host;
}

export class UdpBindError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Real UDP. Receive and send buffers are enlarged so bursts are not dropped by the kernel. */
export class UdpPacketConn implements PacketConn {
  readonly #socket: Socket;
  readonly local: Endpoint;
  #handlers: PacketHandler[] = [];
  #closed = false;

  private constructor(socket: Socket, local: Endpoint) {
    this.#socket = socket;
    this.local = local;
    socket.on('message', (msg, rinfo) => {
      const from = { host: rinfo.address, port: rinfo.port };
      for (const h of this.#handlers) h(msg, from);
    });
    // ICMP errors on an unconnected UDP socket surface here (e.g. ECONNREFUSED); they are not
    // fatal for a datagram protocol, so swallow them rather than crash the daemon.
    socket.on('error', () => {});
  }

  static bind(host: string, port: number): Promise<UdpPacketConn> {
    const family = isIP(host);
    if (family === 0) {
      return Promise.reject(new UdpBindError('EINVAL', `"${host}" is not an IP address`));
    }
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        socket.close();
        const where = formatEndpoint({ host, port });
        if (err.code === 'EADDRINUSE') reject(new UdpBindError('EADDRINUSE', `UDP port ${where} is already in use`));
        else if (err.code === 'EADDRNOTAVAIL') reject(new UdpBindError('EADDRNOTAVAIL', `${host} is not an address of this machine`));
        else if (err.code === 'EACCES') reject(new UdpBindError('EACCES', `not allowed to bind UDP ${where}`));
        else reject(new UdpBindError(err.code ?? 'EBIND', `cannot bind UDP ${where}: ${err.message}`));
      };
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        try {
          socket.setRecvBufferSize(4 * 1024 * 1024);
          socket.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // The kernel may cap buffer sizes (net.core.rmem_max); the defaults still work.
        }
        const addr = socket.address();
        resolve(new UdpPacketConn(socket, { host: addr.address, port: addr.port }));
      });
    });
  }

  send(data: Datagram, to: Endpoint): void {
    if (this.#closed) return;
    this.#socket.send(data as Uint8Array | Uint8Array[], to.port, to.host);
  }

  onPacket(handler: PacketHandler): void {
    this.#handlers.push(handler);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

export interface LinkConditions {
  /** Probability in [0, 1] that a datagram is dropped. */
  loss?: number;
  /** Fixed one-way delay in milliseconds. */
  delayMs?: number;
  /** Extra random delay in [0, jitterMs), which reorders datagrams. */
  jitterMs?: number;
  /** Deterministic randomness for reproducible tests. */
  random?: () => number;
  /** Fault injection: a datagram this returns false for is dropped (a firewall, a NAT's filter). */
  filter?: (from: Endpoint, to: Endpoint) => boolean;
}

/** An in-memory datagram network for tests: no sockets, optional loss, delay and reordering. */
export class MemoryNetwork {
  #conns = new Map<string, MemoryPacketConn>();
  conditions: LinkConditions;
  delivered = 0;
  dropped = 0;

  constructor(conditions: LinkConditions = {}) {
    this.conditions = conditions;
  }

  attach(local: Endpoint): MemoryPacketConn {
    const key = endpointKey(local);
    if (this.#conns.has(key)) throw new Error(`${key} is already attached`);
    const conn = new MemoryPacketConn(this, local);
    this.#conns.set(key, conn);
    return conn;
  }

  detach(local: Endpoint): void {
    this.#conns.delete(endpointKey(local));
  }

  deliver(data: Datagram, from: Endpoint, to: Endpoint): void {
    const { loss = 0, delayMs = 0, jitterMs = 0, random = Math.random, filter } = this.conditions;
    if ((loss > 0 && random() < loss) || (filter && !filter(from, to))) {
      this.dropped++;
      return;
    }
    const copy = data instanceof Uint8Array ? Buffer.from(data) : Buffer.concat(data);
    const deliverNow = () => {
      const target = this.#conns.get(endpointKey(to));
      if (!target) {
        this.dropped++;
        return;
      }
      this.delivered++;
      target.receive(copy, from);
    };
    const delay = delayMs + (jitterMs > 0 ? random() * jitterMs : 0);
    if (delay > 0) setTimeout(deliverNow, delay);
    else queueMicrotask(deliverNow);
  }
}

export class MemoryPacketConn implements PacketConn {
  readonly local: Endpoint;
  readonly #network: MemoryNetwork;
  #handlers: PacketHandler[] = [];
  #closed = false;

  constructor(network: MemoryNetwork, local: Endpoint) {
    this.#network = network;
    this.local = local;
  }

  send(data: Datagram, to: Endpoint): void {
    if (!this.#closed) this.#network.deliver(data, this.local, to);
  }

  onPacket(handler: PacketHandler): void {
    this.#handlers.push(handler);
  }

  receive(data: Buffer, from: Endpoint): void {
    if (this.#closed) return;
    for (const h of this.#handlers) h(data, from);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#network.detach(this.local);
    return Promise.resolve();
  }
}
