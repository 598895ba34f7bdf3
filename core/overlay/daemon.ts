/**
 * The agent daemon: one overlay node with its identity, trust store, registry registration and
 * control socket. Agent roles (monitor, executor) plug in on top of this in core/agents.
 *
 * State directory layout (mode 0700):
 *   identity.json  Ed25519 seed (0600)        swarm.db     trust, requests, audit (SQLite, WAL)
 *   admin.token    control-socket token (0600) swarm.sock   control socket (0600)
 *   daemon.pid     the running daemon          daemon.log   log of a background daemon
 */
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { formatAddress, parseAddress, type Address } from './address.ts';
import { aesGcmBackend } from './aes-gcm.ts';
import { ADMIN_TOKEN_FILE, callControl, CONTROL_SOCKET, ControlError, ControlServer, loadOrCreateAdminToken, type ControlMethod } from './control.ts';
import { SwarmError } from './errors.ts';
import { HOSTNAME_RULE, isValidHostname } from './hostname.ts';
import { fingerprintOf, keyId, loadOrCreateIdentity, type NodeIdentity } from './identity.ts';
import { OverlayNode, type PeerPath, type PeerView } from './node.ts';
import { pingPeer } from './ping.ts';
import { RegistryClient, RegistryError } from './registry-client.ts';
import { connectTraversal } from './traversal.ts';
import { BeaconClient, lanCandidates } from './beacon-client.ts';
import type { NatType } from './nat-type.ts';
import { MAX_TRUSTED_TAGS } from './registry-protocol.ts';
import { REGISTRY_KEEPALIVE_MS, type TunnelLimits } from './timers.ts';
import { formatEndpoint, UdpBindError, UdpPacketConn, type Endpoint } from './transport.ts';
import { peerContactFromRecord, TrustError, TrustService } from './trust.ts';
import type { Capability } from './trust-messages.ts';
import { EventPublisher } from './event-stream.ts';
import { submitTasks, TaskWorker, type TaskHandler } from './task-service.ts';
import type { TaskResultMessage } from './task-wire.ts';
import { NodeStore } from '../store/node-store.ts';
import { EventLogStore } from '../store/event-log-store.ts';

export const DATABASE_FILE = 'swarm.db';
/** The event stream's durable log (see publishTopic). */
export const EVENTS_DB = 'events.db';
export const PID_FILE = 'daemon.pid';
export const LOG_FILE = 'daemon.log';

export class DaemonError extends SwarmError {}

export interface DaemonOptions {
  stateDir: string;
  hostname?: string;
  registry?: string;
  listen?: string;
  public?: boolean;
  registryKey?: string;
  /**
   * A separate beacon (`swarmctl beacon serve`, HOST:PORT) for NAT traversal: NAT classification,
   * hole punching and the relay go through it instead of the registry. Every node of the swarm
   * that should reach this one through it must use the same beacon.
   */
  beacon?: string;
  keepaliveMs?: number;
  limits?: Partial<TunnelLimits>;
  log?: (line: string) => void;
  /**
   * When false, start even if the registry does not answer yet and keep retrying in the
   * background (the console does this so an analyst can fix the settings from the GUI).
   * Default true: `daemon start` must not report success while the node is unfindable.
   */
  requireRegistration?: boolean;
}

export type PeerTrustState = 'trusted' | 'pending-incoming' | 'pending-outgoing' | 'rejected' | 'untrusted';

/** One peer as this node knows it: trust, grants both ways and liveness. */
export interface PeerSummary {
  hostname: string | null;
  address: string | null;
  fingerprint: string;
  key: string;
  trust: PeerTrustState;
  capabilities: string[];
  capabilitiesReceived: string[];
  since: string | null;
  session: boolean;
  endpoint: string | null;
  /** The live session's path (`direct`, or through the registry's `relay`), null without one. */
  path: PeerPath | null;
  rttMs: number | null;
  lastSeen: string | null;
  droppedUntrusted: number;
}

/** The NAT this node sits behind, as the registry's beacon last showed it. */
export interface NatStatusView {
  type: NatType;
  /** Our public ip:port as the beacon saw it (null before the first answer). */
  observed: string | null;
  /** When the last classification finished (ms), null before the first. */
  checkedAt: number | null;
  /** The beacon endpoint that was asked, null if the registry runs none. */
  beacon: string | null;
}

export interface RegistryStatusView {
  endpoint: string;
  registered: boolean;
  lastOkAt: number | null;
  lastError: string | null;
  key: string | null;
  observed: string | null;
}

/** Parses `host:port` (host may be a name, an IPv4 address or a bracketed IPv6 address). */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\s]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new DaemonError('bad_argument', `${what} "${text}" is not HOST:PORT`, `for example 127.0.0.1:9000`);
  }
  return { host: m[1] as string, port };
}

export async function resolveEndpoint(text: string, what: string): Promise<Endpoint> {
  const { host, port } = parseHostPort(text, what);
  if (isIP(host)) return { host, port };
  try {
    const { address } = await dnsLookup(host);
    return { host: address, port };
  } catch {
    throw new DaemonError('dns', `cannot resolve ${what} host "${host}"`, 'check the name, or give an IP address');
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed daemon whose parent has not reaped it yet (a detached daemon is reparented, and in a
  // container pid 1 may never reap) still answers kill(0): its state in /proc is Z. It holds no
  // socket and no file, so it is not running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

/** The pid of the daemon running for this state directory, or null. */
export async function runningDaemonPid(stateDir: string): Promise<number | null> {
  const pidPath = join(stateDir, PID_FILE);
  let pid: number;
  try {
    pid = Number(readFileSync(pidPath, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return null;
  try {
    await callControl(join(stateDir, CONTROL_SOCKET), 'status', {}, { timeoutMs: 2000 });
    return pid;
  } catch {
    return null; // a recycled pid, or a daemon that died before opening its socket
  }
}

function takePidFile(stateDir: string): string {
  const pidPath = join(stateDir, PID_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(pidPath, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return pidPath;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(pidPath, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isProcessAlive(pid)) {
        throw new DaemonError('already_running', `a daemon is already running for ${stateDir} (pid ${pid})`, `stop it with: swarmctl --state-dir ${stateDir} daemon stop`);
      }
      unlinkSync(pidPath); // left behind by a daemon that was killed
    }
  }
  throw new DaemonError('already_running', `cannot take the pid file ${pidPath}`, 'is another daemon starting right now?');
}


export class Daemon {
  readonly stateDir: string;
  readonly identity: NodeIdentity;
  readonly store: NodeStore;
  readonly node: OverlayNode;
  readonly trust: TrustService;
  readonly registry: RegistryClient;
  readonly hostname: string;
  readonly startedAt = Date.now();
  readonly #control: ControlServer;
  readonly #pidPath: string;
  readonly #public: boolean;
  readonly #keepaliveMs: number;
  readonly #log: (line: string) => void;
  readonly #registryStatus: RegistryStatusView;
  readonly #beacon: BeaconClient;
  /** The separate beacon's client, or null when the registry does NAT traversal too. */
  readonly #beaconService: RegistryClient | null;
  readonly #beaconStatus: { registered: boolean; lastOkAt: number | null; lastError: string | null; usable: boolean };
  readonly #nat: NatStatusView = { type: 'unknown', observed: null, checkedAt: null, beacon: null };
  #classifying = false;
  #keepaliveTimer: NodeJS.Timeout | null = null;
  #stopping: Promise<void> | null = null;
  readonly #stopped: Promise<void>;
  #stopHooks: Array<() => Promise<void> | void> = [];
  #roleInfo = new Map<string, () => unknown>();
  #eventLog: EventLogStore | null = null;
  #publisher: EventPublisher | null = null;
  readonly #topics = new Set<string>();
  #tasks: TaskWorker | null = null;
  /** Task name → the capability a peer needs to submit it. */
  readonly #taskCapabilities = new Map<string, Capability>();
  #resolveStopped!: () => void;

  private constructor(parts: {
    stateDir: string;
    identity: NodeIdentity;
    store: NodeStore;
    node: OverlayNode;
    trust: TrustService;
    registry: RegistryClient;
    hostname: string;
    control: ControlServer;
    pidPath: string;
    public: boolean;
    keepaliveMs: number;
    log: (line: string) => void;
    beaconService: RegistryClient | null;
  }) {
    this.stateDir = parts.stateDir;
    this.identity = parts.identity;
    this.store = parts.store;
    this.node = parts.node;
    this.trust = parts.trust;
    this.registry = parts.registry;
    this.hostname = parts.hostname;
    this.#control = parts.control;
    this.#pidPath = parts.pidPath;
    this.#public = parts.public;
    this.#keepaliveMs = parts.keepaliveMs;
    this.#log = parts.log;
    this.#registryStatus = {
      endpoint: formatEndpoint(parts.registry.registry),
      registered: false,
      lastOkAt: null,
      lastError: null,
      key: parts.registry.registryKey,
      observed: null,
    };
    this.#beaconService = parts.beaconService;
    this.#beaconStatus = { registered: false, lastOkAt: null, lastError: null, usable: false };
    this.#beacon = new BeaconClient({ node: parts.node, registryKey: () => this.#traversalClient().registryKey });
    this.#stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
  }

  /** Starts a daemon; resolves once it is registered and its control socket is open. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const log = options.log ?? (() => {});
    const stateDir = options.stateDir;
    const identityResult = loadOrCreateIdentity(stateDir);
    if (!identityResult.ok) {
      const e = identityResult.error;
      throw new DaemonError(e.code, e.message, e.code === 'identity_permissions' ? 'fix the permissions and start again' : 'see the message');
    }
    const identity = identityResult.value.identity;
    if (identityResult.value.created) log(`created identity ${identity.fingerprint} in ${stateDir}`);
    const pidPath = takePidFile(stateDir);
    const cleanups: Array<() => unknown> = [() => unlinkSync(pidPath)];
    const cleanup = async () => {
      for (const c of cleanups.reverse()) {
        try {
          await c();
        } catch {
          // keep cleaning up
        }
      }
    };
    try {
      const store = NodeStore.open(join(stateDir, DATABASE_FILE), identity.fingerprint);
      cleanups.push(() => store.close());
      const hostname = options.hostname ?? store.getValue('hostname');
      if (!hostname) throw new DaemonError('bad_argument', 'no hostname given', 'start with --hostname NAME (e.g. gcp-log-monitor)');
      if (!isValidHostname(hostname)) throw new DaemonError('bad_argument', `"${hostname}" is not a valid hostname`, HOSTNAME_RULE);
      const registryText = options.registry ?? store.getValue('registry');
      if (!registryText) throw new DaemonError('bad_argument', 'no registry given', 'start with --registry HOST:PORT');
      const registryEndpoint = await resolveEndpoint(registryText, 'registry');
      const listenText = options.listen ?? store.getValue('listen') ?? '0.0.0.0:0';
      const listen = parseHostPort(listenText, '--listen');
      if (!isIP(listen.host)) throw new DaemonError('bad_argument', `--listen needs an IP address, not "${listen.host}"`, 'for example 0.0.0.0:7000');
      const adminToken = loadOrCreateAdminToken(join(stateDir, ADMIN_TOKEN_FILE));
      let conn: UdpPacketConn;
      try {
        conn = await UdpPacketConn.bind(listen.host, listen.port);
      } catch (err) {
        if (err instanceof UdpBindError) {
          throw new DaemonError(
            'port_in_use',
            err.message,
            err.code === 'EADDRINUSE' ? 'another daemon may be using it; pick another with --listen IP:PORT (port 0 picks a free one)' : 'check --listen',
          );
        }
        throw err;
      }
      cleanups.push(() => conn.close());

      const storedAddress = store.getValue('address');
      const parsedAddress = storedAddress ? parseAddress(storedAddress) : null;
      let trust: TrustService | null = null;
      let registry: RegistryClient | null = null;
      const node = new OverlayNode({
        identity,
        conn,
        trust: { isTrusted: (id) => trust?.isTrusted(id) ?? false },
        limits: options.limits,
        ...(parsedAddress?.ok ? { address: parsedAddress.value } : {}),
        resolvePeer: async (peerKeyId) => {
          if (!registry) return null;
          const record = await registry.lookup(peerKeyId, 'connect');
          return peerContactFromRecord(record);
        },
      });
      cleanups.push(() => node.close());
      const pinned = options.registryKey ?? store.getValue(`registry_key:${registryText}`);
      registry = new RegistryClient({
        node,
        registry: registryEndpoint,
        pinnedKey: pinned,
        onPin: (key) => store.setValue(`registry_key:${registryText}`, key),
      });
      const registryClient = registry;
      let beaconService: RegistryClient | null = null;
      if (options.beacon) {
        const beaconText = options.beacon;
        const beaconEndpoint = await resolveEndpoint(beaconText, 'beacon');
        beaconService = new RegistryClient({
          node,
          registry: beaconEndpoint,
          pinnedKey: store.getValue(`beacon_key:${beaconText}`),
          onPin: (key) => store.setValue(`beacon_key:${beaconText}`, key),
        });
      }
      trust = new TrustService({
        node,
        store,
        identity,
        hostname,
        lookup: (target, purpose) => registryClient.lookup(target, purpose),
      });
      const trustService = trust;
      cleanups.push(() => trustService.close());

      const control = await ControlServer.listen(join(stateDir, CONTROL_SOCKET), adminToken, {});
      cleanups.push(() => control.close());
      const daemon = new Daemon({
        stateDir,
        identity,
        store,
        node,
        trust,
        registry,
        hostname,
        control,
        pidPath,
        public: options.public ?? store.getValue('public') === 'true',
        keepaliveMs: options.keepaliveMs ?? REGISTRY_KEEPALIVE_MS,
        log,
        beaconService,
      });
      daemon.#installMethods(control);
      daemon.#installTraversal();

      let registered = true;
      try {
        await daemon.#register();
      } catch (err) {
        if (options.requireRegistration === false) registered = false;
        else if (err instanceof RegistryError) throw new DaemonError(err.code, err.message, err.hint);
        else throw err;
      }
      store.setValue('hostname', hostname);
      store.setValue('registry', registryText);
      store.setValue('listen', listenText);
      store.setValue('public', String(daemon.#public));
      trust.events.on('change', (event: { kind: string; peerKey?: string }) => {
        daemon.#log(`trust: ${JSON.stringify(event, (k, v) => (k === 'staticPublic' || k === 'staticSig' ? undefined : v))}`);
        // Revocation is effective at once: the gate is already closed, and open streams end now.
        if (event.kind === 'revoked' && event.peerKey) node.closeStreams(event.peerKey, 'trust was revoked');
        // The registry discloses our endpoints only to peers we trust: tell it who they are now.
        if (event.kind === 'trusted' || event.kind === 'revoked') void daemon.#register().catch(() => {});
      });
      daemon.#scheduleKeepalive(registered ? daemon.#keepaliveMs : Math.min(daemon.#keepaliveMs, 2000));
      trust.connectTrusted();
      log(`daemon up: ${hostname} ${formatAddress(node.address)} fingerprint ${identity.fingerprint} listening on ${formatEndpoint(conn.local)}`);
      return daemon;
    } catch (err) {
      await cleanup();
      throw err;
    }
  }

  /**
   * NAT traversal through the registry: punch requests (after re-registering when a path was
   * lost, so the registry and the peer learn our NAT's new mapping) and its relay. Path changes
   * go to the daemon log.
   */
  #installTraversal(): void {
    this.#useTraversal(this.registry);
    const name = (p: PeerView) => p.hostname ?? p.keyId.slice(0, 12);
    // One line per change of a peer's path (the first comes with its session).
    const logged = new Map<string, string>();
    const note = (p: PeerView) => {
      const where = p.path === 'relay' ? `through the relay ${formatEndpoint(this.#traversalClient().registry)}` : p.path === 'direct' && p.endpoint ? `direct at ${formatEndpoint(p.endpoint)}` : null;
      if (where === null || logged.get(p.keyId) === where) return;
      logged.set(p.keyId, where);
      this.#log(`path: ${name(p)} ${where}`);
    };
    this.node.events.on('path', note);
    this.node.events.on('session', note);
    this.node.events.on('path-lost', (p: PeerView) => this.#log(`path: lost ${name(p)} (no answer on the ${p.path ?? 'current'} path); punching again, relay meanwhile`));
  }

  /** Who does NAT traversal for this node: the separate beacon once it proved usable, else the registry. */
  #traversalClient(): RegistryClient {
    return this.#beaconService && this.#beaconStatus.usable ? this.#beaconService : this.registry;
  }

  #useTraversal(client: RegistryClient): void {
    connectTraversal(this.node, client, () => this.#register());
  }

  /** The registration body, the same for the registry and a separate beacon. */
  #registration() {
    return {
      hostname: this.hostname,
      static_public: this.identity.staticKey.publicKey.toString('base64'),
      static_sig: this.identity.staticSignature.toString('base64'),
      // Listening on every interface: offer this machine's LAN addresses as candidates, so two
      // nodes behind the same NAT (which may not hairpin) reach each other directly.
      endpoints: this.node.conn.local.host === '0.0.0.0' || this.node.conn.local.host === '::' ? lanCandidates(this.node.conn.local.port) : [formatEndpoint(this.node.conn.local)],
      trusted: this.trust.trustTags(MAX_TRUSTED_TAGS),
      public: this.#public,
      ...(this.#nat.checkedAt !== null ? { nat: this.#nat.type } : {}),
    };
  }

  /**
   * Registers with the separate beacon too (never fatal: without it, traversal stays with the
   * registry). Its relay routes by the address it assigns, which must be the registry's: both
   * derive it from the key, so they agree when both run with the same --network.
   */
  async #registerWithBeacon(service: RegistryClient): Promise<Endpoint | null> {
    const where = formatEndpoint(service.registry);
    try {
      const result = await service.register(this.#registration());
      const agrees = result.address === formatAddress(this.node.address);
      // On the first answer, and whenever it changes, say which server does traversal and wire it.
      if (agrees !== this.#beaconStatus.usable || this.#beaconStatus.lastOkAt === null) {
        this.#log(
          agrees
            ? `beacon: registered with ${where}; NAT traversal (punching, relay) goes through it`
            : `beacon ${where} assigned ${result.address}, the registry ${formatAddress(this.node.address)}: start both with the same --network; NAT traversal stays with the registry`,
        );
        this.#useTraversal(agrees ? service : this.registry);
      }
      Object.assign(this.#beaconStatus, { registered: true, lastOkAt: Date.now(), lastError: null, usable: agrees });
      return agrees ? result.beacon : null;
    } catch (err) {
      if (this.#beaconStatus.lastError === null) this.#log(`beacon ${where}: ${(err as Error).message}`);
      Object.assign(this.#beaconStatus, { registered: false, lastError: (err as Error).message });
      return null;
    }
  }

  async #register(): Promise<void> {
    try {
      const result = await this.registry.register(this.#registration());
      const address = parseAddress(result.address);
      if (address.ok) this.#setAddress(address.value);
      const wasDown = !this.#registryStatus.registered;
      Object.assign(this.#registryStatus, {
        registered: true,
        lastOkAt: Date.now(),
        lastError: null,
        key: this.registry.registryKey,
        observed: result.observed,
      });
      if (wasDown && this.#registryStatus.lastOkAt) this.#log(`registered with ${this.#registryStatus.endpoint} as ${result.address}`);
      // Re-classified on every registration: a laptop changes networks, a router reboots into
      // another NAT behaviour. In the background: registration must not wait for the beacon.
      const service = this.#beaconService;
      const beacon = service ? await this.#registerWithBeacon(service) : result.beacon;
      if (beacon) void this.#classifyNat(this.#traversalClient().registry, beacon);
      else Object.assign(this.#nat, { type: 'unknown', observed: null, checkedAt: Date.now(), beacon: null });
    } catch (err) {
      if (this.#registryStatus.registered || this.#registryStatus.lastError === null) {
        this.#log(`registry: ${(err as Error).message}`);
      }
      Object.assign(this.#registryStatus, { registered: false, lastError: (err as Error).message });
      throw err;
    }
  }

  async #classifyNat(first: Endpoint, beacon: Endpoint): Promise<void> {
    if (this.#classifying || this.#stopping) return;
    this.#classifying = true;
    try {
      const report = await this.#beacon.classify(first, beacon);
      const before = this.#nat.type;
      Object.assign(this.#nat, { type: report.type, observed: report.observed, checkedAt: Date.now(), beacon: formatEndpoint(beacon) });
      this.node.setSymmetricNat(report.type === 'symmetric');
      if (before !== report.type) this.#log(`nat: ${report.type}${report.observed ? `, seen as ${report.observed}` : ''} (beacon ${formatEndpoint(beacon)})`);
    } finally {
      this.#classifying = false;
    }
  }

  /** The NAT type as last classified (a copy). */
  natStatus(): NatStatusView {
    return { ...this.#nat };
  }

  #setAddress(address: Address): void {
    this.node.setAddress(address);
    this.store.setValue('address', formatAddress(address));
  }

  #scheduleKeepalive(delay: number): void {
    if (this.#stopping) return;
    this.#keepaliveTimer = setTimeout(async () => {
      try {
        await this.#register();
        this.#scheduleKeepalive(this.#keepaliveMs);
      } catch {
        // The registry is down or restarting: retry sooner than the keepalive interval so the
        // node is findable again quickly once it is back.
        this.#scheduleKeepalive(Math.min(this.#keepaliveMs, 2000));
      }
    }, delay);
    this.#keepaliveTimer.unref();
  }

  info(): Record<string, unknown> {
    const incoming = this.store.countIncoming();
    return {
      hostname: this.hostname,
      address: formatAddress(this.node.address),
      fingerprint: this.identity.fingerprint,
      public_key: keyId(this.identity.publicKey),
      listen: formatEndpoint(this.node.conn.local),
      pid: process.pid,
      state_dir: this.stateDir,
      started_at: new Date(this.startedAt).toISOString(),
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      registry: {
        endpoint: this.#registryStatus.endpoint,
        registered: this.#registryStatus.registered,
        last_ok_at: this.#registryStatus.lastOkAt ? new Date(this.#registryStatus.lastOkAt).toISOString() : null,
        last_error: this.#registryStatus.lastError,
        observed: this.#registryStatus.observed,
        key: this.#registryStatus.key,
      },
      traversal: {
        via: this.#traversalClient() === this.registry ? 'registry' : 'beacon',
        relay: formatEndpoint(this.#traversalClient().registry),
        ...(this.#beaconService
          ? {
              beacon: {
                endpoint: formatEndpoint(this.#beaconService.registry),
                registered: this.#beaconStatus.registered,
                last_ok_at: this.#beaconStatus.lastOkAt ? new Date(this.#beaconStatus.lastOkAt).toISOString() : null,
                last_error: this.#beaconStatus.lastError,
              },
            }
          : {}),
      },
      nat: {
        type: this.#nat.type,
        observed: this.#nat.observed,
        checked_at: this.#nat.checkedAt ? new Date(this.#nat.checkedAt).toISOString() : null,
        beacon: this.#nat.beacon,
      },
      trusted_peers: this.trust.trusted().length,
      pending_incoming: incoming,
      outbox: this.trust.outboxSize(),
      dropped_untrusted: this.node.stats.droppedUntrusted,
      packet_cipher: aesGcmBackend(),
      ...(this.#roleInfo.size > 0 ? { roles: Object.fromEntries([...this.#roleInfo].map(([name, describe]) => [name, describe()])) } : {}),
      stats: { node: { ...this.node.stats }, trust: { ...this.trust.stats }, registry: { ...this.registry.stats } },
    };
  }

  /** The registry connection as last seen (a copy). */
  registryStatus(): RegistryStatusView {
    return { ...this.#registryStatus };
  }

  /** Every peer this node knows: trusted, asking, asked, rejected, or only seen on the wire. */
  peerSummaries(): PeerSummary[] {
    const rows = new Map<string, PeerSummary>();
    const base = (c: { peerKey: string; hostname: string; address: string; fingerprint: string; endpoints: string[] }, trust: PeerTrustState): PeerSummary => ({
      hostname: c.hostname,
      address: c.address,
      fingerprint: c.fingerprint,
      key: c.peerKey,
      trust,
      capabilities: [],
      capabilitiesReceived: [],
      since: null,
      session: false,
      endpoint: c.endpoints[0] ?? null,
      path: null,
      rttMs: null,
      lastSeen: null,
      droppedUntrusted: 0,
    });
    for (const t of this.trust.trusted()) {
      rows.set(t.peerKey, { ...base(t, 'trusted'), capabilities: t.capsGranted, capabilitiesReceived: t.capsReceived, since: t.since, lastSeen: t.lastSeen });
    }
    const pending = this.trust.pending();
    for (const p of pending.incoming) if (!rows.has(p.peerKey)) rows.set(p.peerKey, base(p, 'pending-incoming'));
    for (const p of pending.outgoing) {
      if (!rows.has(p.peerKey) && p.status !== 'approved') rows.set(p.peerKey, base(p, p.status === 'rejected' ? 'rejected' : 'pending-outgoing'));
    }
    for (const v of this.node.peers()) {
      const row = rows.get(v.keyId) ?? {
        ...base({ peerKey: v.keyId, hostname: v.hostname ?? '', address: v.address ? formatAddress(v.address) : '', fingerprint: fingerprintOf(v.identityKey), endpoints: [] }, 'untrusted'),
        hostname: v.hostname,
        address: v.address ? formatAddress(v.address) : null,
      };
      rows.set(v.keyId, {
        ...row,
        session: v.sessionUp,
        endpoint: v.endpoint ? formatEndpoint(v.endpoint) : row.endpoint,
        path: v.path,
        rttMs: v.rttMs,
        lastSeen: v.lastReceivedAt ? new Date(v.lastReceivedAt).toISOString() : row.lastSeen,
        droppedUntrusted: v.droppedUntrusted,
      });
    }
    return [...rows.values()];
  }

  #peerRows(): Array<Record<string, unknown>> {
    return this.peerSummaries().map((p) => ({
      hostname: p.hostname,
      address: p.address,
      fingerprint: p.fingerprint,
      key: p.key,
      trust: p.trust,
      capabilities: p.capabilities,
      capabilities_received: p.capabilitiesReceived,
      session: p.session,
      endpoint: p.endpoint,
      path: p.path,
      rtt_ms: p.rttMs,
      last_seen: p.lastSeen,
      dropped_untrusted: p.droppedUntrusted,
    }));
  }

  /** Finds a peer by what a person typed, preferring local knowledge over the registry. */
  async #resolvePeer(target: string): Promise<PeerView> {
    const t = target.trim();
    const fp = t.toUpperCase().replace(/[^0-9A-F]/g, '');
    const local = this.trust
      .trusted()
      .find((p) => p.hostname === t || p.address === t || p.peerKey === t || (fp.length >= 8 && p.fingerprint.replace(/-/g, '').startsWith(fp)));
    if (local) {
      const view = this.node.peer(local.peerKey);
      if (view) return view;
    }
    const record = await this.registry.lookup(t, 'connect');
    const contact = peerContactFromRecord(record);
    if (!contact) throw new DaemonError('bad_record', `the registry returned an unusable record for ${t}`, 'see the registry log');
    if (record.key === keyId(this.identity.publicKey)) throw new DaemonError('self', `${t} is this node`, 'name another node');
    return this.node.addContact(contact);
  }

  #installMethods(control: ControlServer): void {
    const str = (v: unknown, name: string): string => {
      if (typeof v !== 'string' || v.length === 0) throw new ControlError('bad_argument', `${name} is required`, 'see swarmctl --help');
      return v;
    };
    const strList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
    const methods: Record<string, ControlMethod> = {
      status: { admin: false, handle: () => this.info() },
      info: { admin: false, handle: () => this.info() },
      stop: {
        admin: true,
        handle: () => {
          // Answer first, then stop: closing the socket at once could cut the answer off.
          setTimeout(() => void this.stop(), 20).unref();
          return { stopping: true, pid: process.pid };
        },
      },
      peers: { admin: false, handle: () => ({ peers: this.#peerRows() }) },
      trust: { admin: false, handle: () => ({ trusted: this.trust.trusted() }) },
      pending: { admin: false, handle: () => this.trust.pending() },
      handshake: {
        admin: true,
        handle: async (p) => {
          const waitS = typeof p.wait === 'number' ? p.wait : 0;
          return this.trust.requestTrust(str(p.target, 'peer'), typeof p.justification === 'string' ? p.justification : '', {
            want: strList(p.want),
            offer: strList(p.offer),
            waitForDecisionMs: waitS > 0 ? waitS * 1000 : 0,
          });
        },
      },
      approve: {
        admin: true,
        // No --cap on the command line: grant what the requester asked for.
        handle: (p) => ({ trusted: this.trust.approve(str(p.peer, 'peer'), strList(p.caps).length > 0 ? strList(p.caps) : undefined) }),
      },
      reject: { admin: true, handle: (p) => ({ rejected: this.trust.reject(str(p.peer, 'peer'), typeof p.reason === 'string' ? p.reason : '') }) },
      untrust: { admin: true, handle: (p) => ({ revoked: this.trust.untrust(str(p.peer, 'peer'), typeof p.reason === 'string' ? p.reason : '') }) },
      lookup: {
        admin: false,
        handle: async (p) => {
          const record = await this.registry.lookup(str(p.target, 'target'), 'info');
          const trusted = this.trust.isTrusted(record.key);
          return { ...record, fingerprint: fingerprintOf(Buffer.from(record.key, 'base64url')), trusted };
        },
      },
      ping: {
        admin: false,
        handle: async (p, progress) => {
          const view = await this.#resolvePeer(str(p.target, 'target'));
          if (!this.trust.isTrusted(view.keyId)) {
            throw new TrustError('trust_not_trusted', `${view.hostname ?? p.target} is not trusted`, `ask for trust first: swarmctl handshake ${view.hostname ?? p.target} "why"`);
          }
          const count = typeof p.count === 'number' ? p.count : 4;
          const replies = await pingPeer(this.node, view.keyId, {
            count,
            intervalMs: typeof p.interval_ms === 'number' ? p.interval_ms : 1000,
            timeoutMs: typeof p.timeout_ms === 'number' ? p.timeout_ms : 2000,
            onReply: (r) => progress(r),
          });
          return { hostname: view.hostname, address: view.address ? formatAddress(view.address) : null, replies };
        },
      },
      submit_task: {
        // Tasks change things on other nodes (a firewall): only the node's admin may send them.
        admin: true,
        handle: async (p) => {
          const payloads = Array.isArray(p.payloads) ? (p.payloads as unknown[]) : [];
          if (payloads.length === 0 || !payloads.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) {
            throw new ControlError('bad_argument', 'payloads must be a non-empty list of objects', 'see swarmctl mitigate --help');
          }
          return this.submitTasks(str(p.target, 'target'), str(p.task, 'task'), payloads as Record<string, unknown>[], 'admin');
        },
      },
      audit: {
        admin: false,
        handle: (p) => ({
          entries: this.store.audit.list({ limit: typeof p.limit === 'number' ? p.limit : -1 }),
          verify: p.verify ? this.store.audit.verify() : null,
        }),
      },
    };
    for (const [name, method] of Object.entries(methods)) control.register(name, method);
  }

  /** Resolves when the daemon has stopped (by `stop()`, a signal, or the control socket). */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  /**
   * Adds a role's status to `info` (and so to `swarmctl info`) under `roles.<name>`: the overlay
   * knows nothing of logs or firewalls, the roles above it say what they are doing.
   */
  addInfo(name: string, describe: () => unknown): void {
    this.#roleInfo.set(name, describe);
  }

  /**
   * The node's event stream (port 1002), shared by its roles: each role names the topics it
   * publishes. Peers read a topic only if it was named here and this node granted them
   * `events.subscribe` (checked on subscribe and before every batch). Events are kept in
   * `events.db` in the state directory so subscribers resume after restarts.
   */
  publishTopic(topic: string): EventPublisher {
    this.#topics.add(topic);
    if (this.#publisher === null) {
      this.#eventLog = EventLogStore.open(join(this.stateDir, EVENTS_DB));
      const trust = this.trust;
      this.#publisher = new EventPublisher({
        node: this.node,
        store: this.#eventLog,
        mayRead: (peer, name) => this.#topics.has(name) && trust.isTrusted(peer) && trust.capabilitiesOf(peer).includes('events.subscribe'),
        publishes: (name) => this.#topics.has(name),
      });
    }
    return this.#publisher;
  }

  /**
   * Serves a task on port 1003 to trusted peers this node granted `capability`. Requests refused
   * before the handler (unsigned, wrong signer, bad signature, no capability, stale, malformed)
   * are answered with their reason and recorded in the node's audit log.
   */
  serveTask(task: string, capability: Capability, handler: TaskHandler): void {
    if (this.#tasks === null) {
      const trust = this.trust;
      this.#tasks = new TaskWorker({
        node: this.node,
        mayRequest: (peer, name) => {
          const needed = this.#taskCapabilities.get(name);
          return needed !== undefined && trust.isTrusted(peer) && trust.capabilitiesOf(peer).includes(needed);
        },
        onRefused: (peer, refusal) => {
          this.store.audit.append(peer.hostname ?? peer.key, 'task.refused', refusal.id || '(no id)', { task: refusal.task, code: refusal.code, reason: refusal.reason, peer: peer.key });
          this.#log(`task: refused ${refusal.task || 'request'} ${refusal.id} from ${peer.hostname ?? peer.key}: ${refusal.code}: ${refusal.reason}`);
        },
      });
    }
    this.#taskCapabilities.set(task, capability);
    this.#tasks.handle(task, handler);
  }

  /**
   * Signs tasks with this node's identity and submits them to a trusted peer (port 1003) on one
   * stream; resolves with the peer's results in order. Each request and each answer is recorded
   * in this node's audit log (`actor` says who asked: the CLI's admin, the console's analyst).
   */
  async submitTasks(target: string, task: string, payloads: readonly Record<string, unknown>[], actor: string): Promise<{ target: string; address: string | null; results: TaskResultMessage[] }> {
    const view = await this.#resolvePeer(target);
    const name = view.hostname ?? target;
    if (!this.trust.isTrusted(view.keyId)) {
      throw new TrustError('trust_not_trusted', `${name} is not trusted`, `ask for trust first: swarmctl handshake ${name} "why"`);
    }
    const record = this.trust.trusted().find((t) => t.peerKey === view.keyId);
    for (const body of payloads) this.store.audit.append(actor, 'task.submitted', String(body.id), { task, to: name, peer: view.keyId, request: body });
    let results: TaskResultMessage[];
    try {
      results = await submitTasks({ node: this.node, peerKeyId: view.keyId, task, payloads, signerKey: this.identity.publicKey, sign: (m) => this.identity.sign(m) });
    } catch (err) {
      const hint = record && task === 'mitigation' && !record.capsReceived.includes('mitigation.request') ? ` (${name} has not granted this node mitigation.request)` : '';
      for (const body of payloads) this.store.audit.append(actor, 'task.unanswered', String(body.id), { task, to: name, error: (err as Error).message });
      throw new DaemonError('unreachable', `${task} to ${name} failed: ${(err as Error).message}${hint}`, 'check that the peer daemon runs and serves this task (swarmctl peers)');
    }
    for (const r of results) this.store.audit.append(name, `task.${r.status}`, r.id || '(no id)', { task, code: r.code ?? null, reason: r.reason ?? null, detail: r.detail ?? null });
    return { target: name, address: view.address ? formatAddress(view.address) : null, results };
  }

  /** Adds a control-socket method for a role (e.g. `decisions`, `executor.flush`). */
  addControlMethod(name: string, method: ControlMethod): void {
    this.#control.register(name, method);
  }

  /**
   * Runs `hook` when the daemon stops, before the node closes: agent roles (monitor, executor)
   * stop reading and publishing while their streams can still end cleanly. Hooks run in reverse
   * order of registration; one that fails is logged and the others still run.
   */
  onStop(hook: () => Promise<void> | void): void {
    this.#stopHooks.push(hook);
  }

  async stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = (async () => {
      this.#log('daemon stopping');
      for (const hook of this.#stopHooks.reverse()) {
        try {
          await hook();
        } catch (err) {
          this.#log(`stop hook failed: ${(err as Error).message}`);
        }
      }
      this.#tasks?.close();
      this.#publisher?.close();
      this.#eventLog?.close();
      if (this.#keepaliveTimer) clearTimeout(this.#keepaliveTimer);
      const unregister = Promise.all([this.registry.unregister().catch(() => {}), this.#beaconService?.unregister().catch(() => {})]);
      await Promise.race([unregister, new Promise((r) => setTimeout(r, 500))]);
      this.trust.close();
      await this.#control.close();
      await this.node.close();
      this.store.close();
      try {
        unlinkSync(this.#pidPath);
      } catch {
        // already gone
      }
      this.#resolveStopped();
    })();
    return this.#stopping;
  }
}

export function daemonPaths(stateDir: string): { socket: string; token: string; pid: string; log: string; db: string } {
  return {
    socket: join(stateDir, CONTROL_SOCKET),
    token: join(stateDir, ADMIN_TOKEN_FILE),
    pid: join(stateDir, PID_FILE),
    log: join(stateDir, LOG_FILE),
    db: join(stateDir, DATABASE_FILE),
  };
}

export function readAdminToken(stateDir: string): string | null {
  const path = join(stateDir, ADMIN_TOKEN_FILE);
  if (!existsSync(path)) return null;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
