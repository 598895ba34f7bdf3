/**
 * The registry: hostnames, identity keys, addresses and endpoints of the nodes of one swarm.
 *
 * Private by default: anyone registered may learn a node's hostname, address and keys, but its
 * endpoints (where to send packets) are disclosed only to peers the node says it trusts, to
 * anyone if the node registered as public, and for a trust handshake, which is rate-limited per
 * requester so the registry cannot be used to map the swarm.
 */
import { addressKey, formatAddress, isReservedNodeId, parseAddress, type Address } from './address.ts';
import { sha256 } from './crypto.ts';
import { SwarmError } from './errors.ts';
import { isValidHostname, HOSTNAME_RULE } from './hostname.ts';
import { TokenBuckets } from './rate-limit.ts';
import { basename, dirname } from 'node:path';
import { fingerprintOf, loadOrCreateIdentity, type NodeIdentity } from './identity.ts';
import type { NatType } from './nat-type.ts';
import { verifyStaticCertificate } from './noise.ts';
import { decodeProbe, encodeAnswer, MSG_BEACON_PROBE } from './beacon-protocol.ts';
import { encodePunchNotice, MSG_RELAY_DELIVER, MSG_RELAY_SEND, relayAddress } from './relay-protocol.ts';
import {
  decodeRequest,
  encodeResponse,
  MSG_REGISTRY_REQUEST,
  REGISTRY_FRESHNESS_MS,
  trustTag,
  type LookupBody,
  type PublicRecord,
  type PunchBody,
  type RegisterBody,
  type RequestBody,
  type ResponseBody,
} from './registry-protocol.ts';
import { REGISTRY_ONLINE_WINDOW_MS } from './timers.ts';
import { endpointKey, formatEndpoint, parseEndpoint, UdpPacketConn, type Endpoint, type PacketConn } from './transport.ts';
import { RegistryStore, type NodeRecord } from '../store/registry-store.ts';

/** Requests accepted per source IP: a burst, then a steady rate. */
const REQUEST_BURST_PER_SOURCE = 200;
const REQUEST_RATE_PER_SOURCE = 100; // per second
/** Endpoint disclosures for handshakes, per requesting key, per minute. */
const HANDSHAKE_LOOKUPS_PER_MINUTE = 30;
/**
 * Relayed packets per sending node: a burst, then a steady rate (about 24 MB/s of 1,200-byte
 * frames). The relay is the fallback path of a few sessions, not a bulk carrier for the swarm.
 */
const RELAY_BURST_PER_SOURCE = 4096;
const RELAY_RATE_PER_SOURCE = 20_000;

export interface RegistryStats {
  requests: number;
  invalid: number;
  rateLimited: number;
  replayed: number;
  registrations: number;
  lookups: number;
  beaconProbes: number;
  punches: number;
  relayed: number;
  relayedBytes: number;
  /** Relay packets dropped: unknown sender or destination, or over the sender's rate. */
  relayDropped: number;
}

export interface RegistryServerOptions {
  conn: PacketConn;
  /**
   * The beacon's second UDP port. Beacon probes are answered on both ports: a node compares the
   * two answers to tell an endpoint-independent NAT from a symmetric one (see nat-type.ts).
   */
  beaconConn?: PacketConn;
  store: RegistryStore;
  identity: NodeIdentity;
  network: number;
  now?: () => number;
  log?: (line: string) => void;
}

export class RegistryServer {
  readonly stats: RegistryStats = {
    requests: 0,
    invalid: 0,
    rateLimited: 0,
    replayed: 0,
    registrations: 0,
    lookups: 0,
    beaconProbes: 0,
    punches: 0,
    relayed: 0,
    relayedBytes: 0,
    relayDropped: 0,
  };
  readonly #conn: PacketConn;
  readonly #beaconConn: PacketConn | null;
  readonly #store: RegistryStore;
  readonly #identity: NodeIdentity;
  readonly #network: number;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #sources = new TokenBuckets(REQUEST_BURST_PER_SOURCE, REQUEST_RATE_PER_SOURCE, 100_000);
  readonly #handshakeLookups = new TokenBuckets(HANDSHAKE_LOOKUPS_PER_MINUTE, HANDSHAKE_LOOKUPS_PER_MINUTE / 60, 100_000);
  readonly #relayRate = new TokenBuckets(RELAY_BURST_PER_SOURCE, RELAY_RATE_PER_SOURCE, 100_000);
  /**
   * The relay's routing table, kept in memory (it is consulted per packet): a registered node's
   * overlay address → the endpoint its registrations come from, and back. Rebuilt from the
   * database at start, so relayed sessions survive a registry restart.
   */
  readonly #routes = new Map<string, Endpoint>();
  readonly #senders = new Map<string, Address>();
  /** Each node's NAT as its latest registration said (a hint for peers, not persisted). */
  readonly #natOf = new Map<string, NatType>();
  #seenNonces = new Map<string, number>();
  #sweep: NodeJS.Timeout;

  constructor(options: RegistryServerOptions) {
    this.#conn = options.conn;
    this.#beaconConn = options.beaconConn ?? null;
    this.#store = options.store;
    this.#identity = options.identity;
    this.#network = options.network;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    for (const r of this.#store.online()) {
      const observed = r.endpoints[0] ? parseEndpoint(r.endpoints[0]) : null;
      if (observed) this.#route(r, observed);
    }
    this.#conn.onPacket((data, from) => {
      if (data[0] === MSG_RELAY_SEND) this.#relay(data, from);
      else if (data[0] === MSG_BEACON_PROBE) this.#answerProbe(this.#conn, data, from);
      else this.#handle(data, from);
    });
    const beaconConn = this.#beaconConn;
    beaconConn?.onPacket((data, from) => this.#answerProbe(beaconConn, data, from));
    this.#sweep = setInterval(() => {
      this.#forgetOldNonces();
      this.#logTraversal();
    }, 60_000);
    this.#sweep.unref();
  }

  get local(): Endpoint {
    return this.#conn.local;
  }

  /** The beacon's UDP endpoint, or null when it runs without one. */
  get beacon(): Endpoint | null {
    return this.#beaconConn?.local ?? null;
  }

  get keyId(): string {
    return this.#identity.publicKey.toString('base64url');
  }

  get fingerprint(): string {
    return this.#identity.fingerprint;
  }

  get network(): number {
    return this.#network;
  }

  #lastLogged = { relayed: 0, relayedBytes: 0, relayDropped: 0, punches: 0 };

  /** Once a minute, what the relay and the punch coordinator did (if anything). */
  #logTraversal(): void {
    const now = this.stats;
    const was = this.#lastLogged;
    if (now.relayed === was.relayed && now.relayDropped === was.relayDropped && now.punches === was.punches) return;
    const mb = ((now.relayedBytes - was.relayedBytes) / 1e6).toFixed(1);
    this.#log(`registry: last minute: relayed ${now.relayed - was.relayed} frames (${mb} MB), dropped ${now.relayDropped - was.relayDropped}; ${now.punches - was.punches} punches coordinated`);
    this.#lastLogged = { relayed: now.relayed, relayedBytes: now.relayedBytes, relayDropped: now.relayDropped, punches: now.punches };
  }

  #forgetOldNonces(): void {
    const cutoff = this.#now() - 2 * REGISTRY_FRESHNESS_MS;
    for (const [nonce, at] of this.#seenNonces) if (at < cutoff) this.#seenNonces.delete(nonce);
  }

  /**
   * "What is my address": answers with the endpoint the probe came from, signed, never larger
   * than the probe (no amplification), rate-limited with the registry requests of that source.
   */
  #answerProbe(conn: PacketConn, data: Buffer, from: Endpoint): void {
    const probe = decodeProbe(data);
    if (!probe.ok) {
      this.stats.invalid++;
      return;
    }
    if (!this.#sources.take(from.host, this.#now())) {
      this.stats.rateLimited++;
      return;
    }
    this.stats.beaconProbes++;
    conn.send(encodeAnswer(this.#identity, probe.value, from), from);
  }

  /** Records where a node's packets come from (its NAT mapping towards us). */
  #route(address: Address, observed: Endpoint): void {
    this.#unroute(address);
    this.#routes.set(addressKey(address), observed);
    this.#senders.set(endpointKey(observed), { network: address.network, node: address.node });
  }

  #unroute(address: Address): void {
    const key = addressKey(address);
    const old = this.#routes.get(key);
    if (old) this.#senders.delete(endpointKey(old));
    this.#routes.delete(key);
  }

  /**
   * Forwards one tunnel frame between two registered nodes. The sender is whoever registers from
   * this endpoint; the header is rewritten in place to name it, and the frame (ciphertext the relay
   * cannot read) goes to the destination's registered endpoint, byte for byte the same size.
   */
  #relay(data: Buffer, from: Endpoint): void {
    const src = this.#senders.get(endpointKey(from));
    const dst = src ? relayAddress(data) : null;
    const to = dst ? this.#routes.get(addressKey(dst)) : undefined;
    if (!src || !to || !this.#relayRate.take(endpointKey(from), this.#now())) {
      this.stats.relayDropped++;
      return;
    }
    data[0] = MSG_RELAY_DELIVER;
    data.writeUInt16BE(src.network, 1);
    data.writeUInt32BE(src.node, 3);
    this.stats.relayed++;
    this.stats.relayedBytes += data.length;
    this.#conn.send(data, to);
  }

  #handle(data: Buffer, from: Endpoint): void {
    if (data[0] !== MSG_REGISTRY_REQUEST) {
      this.stats.invalid++;
      return;
    }
    const now = this.#now();
    if (!this.#sources.take(from.host, now)) {
      this.stats.rateLimited++;
      return;
    }
    const decoded = decodeRequest(data);
    if (!decoded.ok) {
      // No answer to junk: answering would make the registry an amplifier.
      this.stats.invalid++;
      return;
    }
    const req = decoded.value;
    this.stats.requests++;
    if (Math.abs(now - req.ts) > REGISTRY_FRESHNESS_MS) {
      const skew = Math.round((req.ts - now) / 1000);
      this.#reply(from, req, { ok: false, error: { code: 'stale', message: `request timestamp is ${skew} s off the registry's clock; check the node's clock (NTP)` } });
      return;
    }
    const nonceKey = `${req.key}/${req.nonce}`;
    if (this.#seenNonces.has(nonceKey)) {
      this.stats.replayed++;
      return;
    }
    this.#seenNonces.set(nonceKey, now);
    let answer: Omit<ResponseBody, 're' | 'registry_key'>;
    try {
      answer = this.#dispatch(req, from, now);
    } catch (err) {
      this.#log(`registry: ${req.op} from ${formatEndpoint(from)} failed: ${(err as Error).message}`);
      answer = { ok: false, error: { code: 'internal', message: 'the registry could not complete the request; see its log' } };
    }
    this.#reply(from, req, answer);
  }

  #reply(to: Endpoint, req: RequestBody, answer: Omit<ResponseBody, 're' | 'registry_key'>): void {
    this.#conn.send(encodeResponse(this.#identity, { re: req.nonce, registry_key: this.keyId, ...answer }), to);
  }

  #dispatch(req: RequestBody, from: Endpoint, now: number): Omit<ResponseBody, 're' | 'registry_key'> {
    switch (req.op) {
      case 'register':
        return this.#register(req, from, now);
      case 'lookup':
        return this.#lookup(req, now);
      case 'punch':
        return this.#punch(req, from, now);
      case 'unregister': {
        const record = this.#store.byKey(req.key);
        if (record) this.#unroute(record);
        this.#store.setOffline(req.key);
        return { ok: true };
      }
    }
  }

  #assignNodeId(key: string): number {
    // Start from a hash of the key so a node keeps its address even if the registry is rebuilt,
    // then probe past reserved IDs and collisions.
    let node = sha256(Buffer.from('swarm-soc node id\0'), Buffer.from(key, 'base64url')).readUInt32BE(0);
    while (isReservedNodeId(node) || this.#store.nodeIdTaken(this.#network, node)) node = (node + 1) >>> 0;
    return node;
  }

  #register(req: RegisterBody & { key: string }, from: Endpoint, now: number): Omit<ResponseBody, 're' | 'registry_key'> {
    if (!isValidHostname(req.hostname)) return { ok: false, error: { code: 'invalid', message: HOSTNAME_RULE } };
    const identityKey = Buffer.from(req.key, 'base64url');
    if (!verifyStaticCertificate(identityKey, Buffer.from(req.static_public, 'base64'), Buffer.from(req.static_sig, 'base64'))) {
      return { ok: false, error: { code: 'invalid', message: 'the static key is not signed by the identity key' } };
    }
    const observed = formatEndpoint(from);
    const endpoints = [observed];
    for (const e of req.endpoints) {
      const parsed = parseEndpoint(e);
      // At most 8 in a record (what clients accept): the observed one first.
      if (parsed && !endpoints.includes(formatEndpoint(parsed)) && endpoints.length < 8) endpoints.push(formatEndpoint(parsed));
    }
    return this.#store.transaction(() => {
      const holder = this.#store.byHostname(req.hostname);
      if (holder && holder.key !== req.key) {
        return {
          ok: false,
          error: {
            code: 'hostname_taken',
            message: `hostname ${req.hostname} belongs to another key (fingerprint ${fingerprintOf(Buffer.from(holder.key, 'base64url'))})`,
          },
        };
      }
      const existing = this.#store.byKey(req.key);
      if (existing && existing.hostname !== req.hostname) this.#store.rename(req.key, req.hostname);
      const record: NodeRecord = {
        key: req.key,
        hostname: req.hostname,
        network: existing?.network ?? this.#network,
        node: existing?.node ?? this.#assignNodeId(req.key),
        staticPublic: req.static_public,
        staticSig: req.static_sig,
        endpoints,
        trusted: req.trusted,
        public: req.public,
        registeredAt: existing?.registeredAt ?? new Date(now).toISOString(),
        lastSeen: now,
        online: true,
      };
      this.#store.upsert(record);
      this.#route(record, from);
      if (req.nat) this.#natOf.set(req.key, req.nat);
      if (!existing) this.#log(`registry: registered ${req.hostname} as ${formatAddress(record)} from ${observed}`);
      this.stats.registrations++;
      return { ok: true, address: formatAddress(record), observed, ...(this.#beaconConn ? { beacon_port: this.#beaconConn.local.port } : {}) };
    });
  }

  #find(target: string): NodeRecord | null {
    const address = parseAddress(target);
    if (address.ok) return this.#store.byAddress(address.value.network, address.value.node);
    if (/^[A-Za-z0-9_-]{43}$/.test(target)) {
      const byKey = this.#store.byKey(target);
      if (byKey) return byKey;
    }
    return this.#store.byHostname(target);
  }

  #lookup(req: LookupBody & { key: string }, now: number): Omit<ResponseBody, 're' | 'registry_key'> {
    this.stats.lookups++;
    if (!this.#store.byKey(req.key)) {
      return { ok: false, error: { code: 'not_registered', message: 'register with this registry before looking up nodes' } };
    }
    const target = this.#find(req.target);
    if (!target) return { ok: false, error: { code: 'not_found', message: `no node named ${req.target} is registered` } };
    const disclosed = this.#disclose(target, req.key, req.purpose === 'handshake', now);
    if (!disclosed.ok) return disclosed;
    return { ok: true, record: disclosed.record };
  }

  /**
   * A node's public record for `requester`, with its endpoints when the node is public, trusts
   * the requester, or (`forHandshake`) within the requester's rate of handshake disclosures.
   */
  #disclose(target: NodeRecord, requester: string, forHandshake: boolean, now: number): { ok: true; record: PublicRecord } | { ok: false; error: { code: string; message: string } } {
    const record: PublicRecord = {
      hostname: target.hostname,
      address: formatAddress(target),
      key: target.key,
      static_public: target.staticPublic,
      static_sig: target.staticSig,
      online: target.online && now - target.lastSeen < REGISTRY_ONLINE_WINDOW_MS,
      last_seen: target.lastSeen,
    };
    let disclose = target.public || target.key === requester || target.trusted.includes(trustTag(requester));
    if (!disclose && forHandshake) {
      if (!this.#handshakeLookups.take(requester, now)) {
        return { ok: false, error: { code: 'rate_limited', message: 'too many handshake lookups; try again in a minute' } };
      }
      disclose = true;
    }
    if (disclose) {
      record.endpoints = target.endpoints;
      const nat = this.#natOf.get(target.key);
      if (nat) record.nat = nat;
    }
    return { ok: true, record };
  }

  /**
   * Hole punching: tells `target` (at the endpoint its registrations come from, which its NAT
   * lets us reach) to send punch packets to the requester. Disclosure rules are those of a
   * handshake lookup: the target learns the requester's endpoints, the requester the target's.
   */
  #punch(req: PunchBody & { key: string }, from: Endpoint, now: number): Omit<ResponseBody, 're' | 'registry_key'> {
    const requester = this.#store.byKey(req.key);
    if (!requester) return { ok: false, error: { code: 'not_registered', message: 'register with this registry before asking for a punch' } };
    const target = this.#find(req.target);
    if (!target || !target.online) return { ok: false, error: { code: 'not_found', message: `no node named ${req.target} is online here` } };
    const disclosed = this.#disclose(target, req.key, true, now);
    if (!disclosed.ok) return disclosed;
    const to = this.#routes.get(addressKey(target));
    if (!to) return { ok: false, error: { code: 'not_found', message: `${target.hostname} has not registered since the registry started` } };
    // Only where the request came from: endpoints a node merely declares could name anyone, and
    // the target would then spray punch packets at a victim on the requester's behalf.
    const endpoints = [formatEndpoint(from)];
    this.#conn.send(encodePunchNotice(this.#identity, { op: 'punch', key: req.key, address: formatAddress(requester), endpoints, token: req.token, ts: now }), to);
    this.stats.punches++;
    return { ok: true, record: disclosed.record };
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    await this.#conn.close();
    await this.#beaconConn?.close();
  }
}

export interface StartRegistryOptions {
  listen: string; // ip:port
  /** The beacon's UDP port on the same IP: default the registry port + 1 (0 with port 0: any free port). */
  beaconPort?: number;
  dbPath: string;
  network: number;
  log?: (line: string) => void;
  /** What the server is run as (log lines say so): a registry, or a separate beacon. */
  role?: 'registry' | 'beacon';
}

/** Opens the registry's database and identity (beside the database) and binds its UDP port. */
export async function startRegistry(options: StartRegistryOptions): Promise<RegistryServer> {
  const listen = parseEndpoint(options.listen);
  if (!listen) throw new RegistryStartError('bad_argument', `--listen "${options.listen}" is not IP:PORT`, 'for example 127.0.0.1:9000 or 0.0.0.0:9000');
  if (!Number.isInteger(options.network) || options.network < 1 || options.network > 0xfffe) {
    throw new RegistryStartError('bad_argument', `network ${options.network} is out of range`, 'use a network ID from 1 to 65534');
  }
  const identity = loadOrCreateIdentity(dirname(options.dbPath), `${basename(options.dbPath)}.identity.json`);
  if (!identity.ok) throw new RegistryStartError(identity.error.code, identity.error.message, 'fix the file and start again');
  const store = RegistryStore.open(options.dbPath);
  const beaconPort = options.beaconPort ?? (listen.port === 0 ? 0 : listen.port + 1);
  if (!Number.isInteger(beaconPort) || beaconPort < 0 || beaconPort > 65535 || (beaconPort !== 0 && beaconPort === listen.port)) {
    store.close();
    throw new RegistryStartError('bad_argument', `beacon port ${beaconPort} is not usable`, 'give --beacon-port a free UDP port other than the registry port');
  }
  let conn: UdpPacketConn;
  try {
    conn = await UdpPacketConn.bind(listen.host, listen.port);
  } catch (err) {
    store.close();
    const e = err as { code?: string; message: string };
    throw new RegistryStartError('port_in_use', e.message, e.code === 'EADDRINUSE' ? 'is another registry running? pick another --listen port' : 'check --listen');
  }
  let beaconConn: UdpPacketConn;
  try {
    beaconConn = await UdpPacketConn.bind(listen.host, beaconPort);
  } catch (err) {
    await conn.close();
    store.close();
    const e = err as { code?: string; message: string };
    throw new RegistryStartError('port_in_use', `beacon: ${e.message}`, e.code === 'EADDRINUSE' ? 'pick another --beacon-port (default: the registry port + 1)' : 'check --beacon-port');
  }
  const given = options.log;
  const log = given && options.role === 'beacon' ? (line: string) => given(line.replace(/^registry: /, 'beacon: ')) : given;
  const server = new RegistryServer({ conn, beaconConn, store, identity: identity.value.identity, network: options.network, ...(log ? { log } : {}) });
  const close = server.close.bind(server);
  server.close = async () => {
    await close();
    store.close();
  };
  return server;
}

export class RegistryStartError extends SwarmError {}
