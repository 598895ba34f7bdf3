/**
 * The console service: the console's own overlay node (a Daemon, so `swarmctl` acts on the very
 * same node through its control socket), the optional local lab, and the one API the UI uses.
 * Transports (Electron IPC, the loopback web server) validate calls with api.ts and hand them
 * to `handle`; everything the UI shows arrives as a snapshot followed by pushed events.
 *
 * Push model: trust changes (from the GUI, from the CLI through the control socket, or from
 * peers) are pushed at once; liveness (sessions, last seen, RTT, registry connection) is
 * refreshed every second and only rows that changed are sent. Anomalies from monitors
 * (ingestAnomalies) are stored in the feed database at once and pushed in batches, at most one
 * `feed` event per FEED_PUSH_INTERVAL_MS, each item once per batch in its latest version.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, hostname as osHostname } from 'node:os';
import { join, resolve } from 'node:path';
import { LAB_CONSOLE, startLabAgents, startLabRegistry } from '../agents/lab.ts';
import { formatAddress } from '../overlay/address.ts';
import { Daemon, type PeerSummary } from '../overlay/daemon.ts';
import { SwarmError } from '../overlay/errors.ts';
import { keyId } from '../overlay/identity.ts';
import { isValidHostname } from '../overlay/hostname.ts';
import type { RegistryServer } from '../overlay/registry-server.ts';
import { formatEndpoint } from '../overlay/transport.ts';
import type { TrustEvent } from '../overlay/trust.ts';
import { AnomalyStore, type AnomalyFilter, type StoredAnomalyRow } from '../store/anomaly-store.ts';
import type { IncomingRequest, OutgoingRequest } from '../store/node-store.ts';
import { MitigationDesk } from './mitigation-desk.ts';
import { ANOMALY_TOPIC } from '../agents/monitor/monitor-role.ts';
import { anomalyOfReport, TopicSubscriptions } from './topic-subscriptions.ts';
import { EventLogStore } from '../store/event-log-store.ts';
import {
  compareFeedRows,
  decodeFeedCursor,
  encodeFeedCursor,
  FEED_COUNTS_BUCKET_MS,
  FEED_PUSH_INTERVAL_MS,
  FEED_PUSH_MAX_ITEMS,
  FEED_ROW_USERS,
  parseFeedAnomalies,
  type FeedAgent,
  type FeedFilter,
  type FeedItemRow,
} from './api.ts';
import type {
  ConsoleCall,
  ConsoleErrorBody,
  ConsoleEvent,
  ConsoleMethods,
  ConsoleNotification,
  ConsoleSettings,
  ConsoleSnapshot,
  ConsoleStatus,
  IdentityView,
  OutgoingRequestView,
  PeerRow,
  PendingRequestView,
} from './api.ts';

export const CONSOLE_CONFIG_FILE = 'console.json';
/** The anomaly feed's own database in the state directory (see core/store/anomaly-store.ts for why not swarm.db). */
export const FEED_DB_FILE = 'feed.db';
/** Cursors of the event streams the console follows. */
const CURSORS_DB = 'events.db';
/** Who decides in this console, as the audit log and the executors record it. */
const ANALYST = 'console-analyst';
/** How often liveness (sessions, last seen, registry) is re-read and changes pushed. */
const REFRESH_MS = 1000;
/** A peer counts as online if we heard from it this recently (keepalives come every 15 s). */
const ONLINE_WINDOW_MS = 45_000;

export class ConsoleError extends SwarmError {}

export interface ConsoleServiceOptions {
  stateDir: string;
  /** auto: run the lab on a first start with no configuration, or when the config says so. */
  lab?: 'auto' | 'always' | 'never';
  registry?: string;
  hostname?: string;
  log?: (line: string) => void;
  /** Feed items kept (newest by lastSeen); default DEFAULT_FEED_RETENTION (1,000,000). */
  feedRetention?: number;
}

/** What ingestAnomalies did with a batch, for the subscriber's log. */
export interface FeedIngestResult {
  /** Items created or changed. */
  stored: number;
  /** Valid anomalies that changed nothing (a repeat or an older version of a stored one). */
  unchanged: number;
  /** Anomalies refused by validation, or the whole batch when the feed cannot store it. */
  dropped: number;
  problems: string[];
}

interface ConsoleConfig {
  registry: string | null;
  hostname: string;
  lab: boolean;
}

/** SWARM_STATE_DIR, else ~/.swarm: the console is this machine's node, as the CLI's default. */
export function defaultStateDir(): string {
  return process.env.SWARM_STATE_DIR ? resolve(process.env.SWARM_STATE_DIR) : join(homedir(), '.swarm');
}

/** Turns anything thrown into what a user can act on. */
export function errorBody(err: unknown): ConsoleErrorBody {
  if (err instanceof SwarmError) return { code: err.code, message: err.message, hint: err.hint };
  const e = err as { code?: unknown; message?: unknown; hint?: unknown };
  if (e && typeof e.message === 'string') {
    return { code: typeof e.code === 'string' ? e.code : 'internal', message: e.message, hint: typeof e.hint === 'string' ? e.hint : 'see the console log' };
  }
  return { code: 'internal', message: String(err), hint: 'see the console log' };
}

function defaultHostname(): string {
  const cleaned = osHostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const candidate = cleaned ? `${cleaned}-console` : 'soc-console';
  return isValidHostname(candidate) ? candidate : 'soc-console';
}

function readConfig(stateDir: string): ConsoleConfig | null {
  const path = join(stateDir, CONSOLE_CONFIG_FILE);
  if (!existsSync(path)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new ConsoleError('bad_config', `${path} is not valid JSON`, 'fix it, or delete it to start over with the local lab');
  }
  const c = parsed as Partial<ConsoleConfig>;
  if (typeof c !== 'object' || c === null || typeof c.hostname !== 'string' || !isValidHostname(c.hostname)) {
    throw new ConsoleError('bad_config', `${path} has no valid "hostname"`, 'fix it, or delete it to start over with the local lab');
  }
  return { registry: typeof c.registry === 'string' ? c.registry : null, hostname: c.hostname, lab: c.lab === true };
}

function writeConfig(stateDir: string, config: ConsoleConfig): void {
  const path = join(stateDir, CONSOLE_CONFIG_FILE);
  // Write-then-rename: a crash mid-write leaves the old file, never half a file.
  writeFileSync(`${path}.tmp`, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** What every request view shows of the peer and the request, incoming or outgoing alike. */
function requestFacts(r: IncomingRequest | OutgoingRequest) {
  return { id: r.requestId, key: r.peerKey, hostname: r.hostname, address: r.address, fingerprint: r.fingerprint, justification: r.justification };
}

function pendingView(r: IncomingRequest): PendingRequestView {
  return { ...requestFacts(r), wantCaps: r.wantCaps, offerCaps: r.offerCaps, receivedAt: r.receivedAt };
}

function outgoingView(r: OutgoingRequest): OutgoingRequestView {
  return { ...requestFacts(r), status: r.status, reason: r.reason, sentAt: r.sentAt, decidedAt: r.decidedAt };
}

/** A stored item as lists show it: a few users only (the detail pane has them all). */
function feedRow(row: StoredAnomalyRow): FeedItemRow {
  return { ...row, users: row.users.slice(0, FEED_ROW_USERS) };
}

function storeFilter(filter: FeedFilter): AnomalyFilter {
  return {
    rule: filter.rule,
    severity: filter.severity,
    severityAtLeast: filter.severityMatch === 'atLeast',
    sourceIp: filter.sourceIp,
    sourceIpPrefix: filter.sourceIpMatch === 'prefix',
    agentKey: filter.agent,
    text: filter.text,
  };
}

export class ConsoleService {
  readonly stateDir: string;
  readonly #events = new EventEmitter();
  readonly #log: (line: string) => void;
  #config: ConsoleConfig;
  #daemon: Daemon | null = null;
  #labRegistry: RegistryServer | null = null;
  #labAgents: Daemon[] = [];
  #feedSubscriptions: TopicSubscriptions | null = null;
  /** Cursors of every event stream this console follows (console's events.db). */
  #cursors: EventLogStore | null = null;
  #desk: MitigationDesk | null = null;
  #deskError: ConsoleErrorBody | null = null;
  #status: ConsoleStatus = 'unconfigured';
  #statusMessage: string | null = null;
  /** What the clients were last told, to push only differences. */
  #sentPeers = new Map<string, string>(); // key → JSON of the row as last pushed
  #sentIdentity = '';
  #refreshTimer: NodeJS.Timeout | null = null;
  #pushQueued = false;
  #notificationSeq = 0;
  #closed = false;
  #unsubscribeTrust: (() => void) | null = null;
  #feed: AnomalyStore | null = null;
  /** Why the feed database could not be opened; feed calls fail with it, everything else works. */
  #feedError: ConsoleErrorBody | null = null;
  /** Items changed since the last feed push, by seq: only the latest version of each is sent. */
  #feedPending = new Map<number, { row: FeedItemRow; added: boolean }>();
  #feedTimer: NodeJS.Timeout | null = null;
  #feedLastPushAt = 0;

  private constructor(stateDir: string, config: ConsoleConfig, log: (line: string) => void) {
    this.stateDir = stateDir;
    this.#config = config;
    this.#log = log;
    this.#events.setMaxListeners(0);
  }

  /** Starts the console's node (and lab). Never throws for a node that cannot start: the
   * snapshot then says `error` with the reason, so the GUI can explain and offer Settings. */
  static async start(options: ConsoleServiceOptions): Promise<ConsoleService> {
    const stateDir = resolve(options.stateDir);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const stored = readConfig(stateDir);
    const labMode = options.lab ?? 'auto';
    const lab = labMode === 'always' || (labMode === 'auto' && !options.registry && (stored === null || stored.lab));
    const config: ConsoleConfig = {
      registry: options.registry ?? (lab ? null : (stored?.registry ?? null)),
      hostname: options.hostname ?? (lab ? (stored?.lab ? stored.hostname : LAB_CONSOLE) : (stored?.hostname ?? defaultHostname())),
      lab,
    };
    if (!isValidHostname(config.hostname)) throw new ConsoleError('bad_argument', `"${config.hostname}" is not a valid hostname`, 'use lowercase letters, digits and dashes');
    const service = new ConsoleService(stateDir, config, options.log ?? (() => {}));
    service.#openFeed(options.feedRetention);
    await service.#startNode();
    service.#markSent(service.snapshot());
    // Remember a first start's choice, so the next start behaves the same.
    if (stored === null || options.registry || options.hostname || labMode !== 'auto') writeConfig(stateDir, service.#config);
    service.#refreshTimer = setInterval(() => service.#refresh(), REFRESH_MS);
    service.#refreshTimer.unref();
    return service;
  }

  /** The running node, for in-process callers (tests, the lab). */
  get daemon(): Daemon | null {
    return this.#daemon;
  }

  get labRegistry(): string | null {
    return this.#labRegistry ? formatEndpoint(this.#labRegistry.local) : null;
  }

  get settings(): ConsoleSettings {
    return { registry: this.#effectiveRegistry(), hostname: this.#config.hostname, lab: this.#config.lab };
  }

  #effectiveRegistry(): string | null {
    return this.#config.lab ? this.labRegistry : this.#config.registry;
  }

  async #startNode(): Promise<void> {
    try {
      if (this.#config.lab) {
        this.#labRegistry = await startLabRegistry(join(this.stateDir, 'lab'), (l) => this.#log(`lab registry: ${l}`));
      }
      const registry = this.#effectiveRegistry();
      if (!registry) {
        this.#status = 'unconfigured';
        this.#statusMessage = 'This console is not connected to a registry yet. Open Settings and enter your registry (HOST:PORT).';
        return;
      }
      this.#daemon = await Daemon.start({
        stateDir: this.stateDir,
        hostname: this.#config.hostname,
        registry,
        requireRegistration: false,
        log: (l) => this.#log(l),
      });
      const daemon = this.#daemon;
      const cursors = EventLogStore.open(join(this.stateDir, CURSORS_DB));
      this.#cursors = cursors;
      // Incidents, proposals, executors' decisions and the audit trail.
      let desk: MitigationDesk | null = null;
      try {
        desk = MitigationDesk.open({ daemon, cursors, emit: (event) => this.#emit(event), analyst: ANALYST, log: (l) => this.#log(l) });
      } catch (err) {
        // A bad policy file or a damaged incidents.db must not take trust management and the feed
        // down with it: incident calls say what is wrong, the rest runs.
        this.#deskError = errorBody(err);
        this.#log(`incidents unavailable: ${this.#deskError.message} — ${this.#deskError.hint}`);
      }
      this.#desk = desk;
      // Every trusted monitor that granted us events.subscribe streams its anomalies into the feed
      // (and into the orchestrator, which correlates them into incidents).
      const subscriptions = new TopicSubscriptions({
        daemon,
        topic: ANOMALY_TOPIC,
        cursors,
        publishes: () => true,
        onEvents: (agent, reports) => {
          const result = this.ingestAnomalies(agent, reports.map(anomalyOfReport));
          if (result.problems.length > 0) this.#log(`feed from ${agent.hostname}: ${result.problems.slice(0, 3).join('; ')}`);
          desk?.ingestAnomalyReports(agent, reports);
        },
        log: (l) => this.#log(l),
      });
      this.#feedSubscriptions = subscriptions;
      subscriptions.sync();
      const onTrust = (event: TrustEvent) => {
        this.#onTrustEvent(event);
        subscriptions.sync();
        desk?.sync();
      };
      daemon.trust.events.on('change', onTrust);
      this.#unsubscribeTrust = () => daemon.trust.events.off('change', onTrust);
      this.#status = 'running';
      this.#statusMessage = null;
      if (this.#labRegistry) {
        this.#labAgents = await startLabAgents({
          root: join(this.stateDir, 'lab'),
          registry,
          consoleHostname: this.#config.hostname,
          consoleKey: keyId(daemon.identity.publicKey),
          log: (l) => this.#log(`lab ${l}`),
        });
      }
    } catch (err) {
      const body = errorBody(err);
      this.#status = 'error';
      this.#statusMessage = `${body.message} — ${body.hint}`;
      this.#log(`console node failed to start: ${this.#statusMessage}`);
    }
  }

  #openFeed(retention: number | undefined): void {
    const path = join(this.stateDir, FEED_DB_FILE);
    try {
      this.#feed = AnomalyStore.open(path, retention === undefined ? {} : { retention });
    } catch (err) {
      // A damaged feed must not take trust management down with it: the feed says why, the rest runs.
      this.#feedError = errorBody(err);
      this.#log(`anomaly feed unavailable: ${this.#feedError.message} — ${this.#feedError.hint}`);
    }
  }

  async #stopNode(): Promise<void> {
    this.#unsubscribeTrust?.();
    this.#unsubscribeTrust = null;
    this.#feedSubscriptions?.close();
    this.#feedSubscriptions = null;
    this.#desk?.close();
    this.#desk = null;
    this.#cursors?.close();
    this.#cursors = null;
    for (const agent of this.#labAgents.reverse()) await agent.stop();
    this.#labAgents = [];
    await this.#daemon?.stop();
    this.#daemon = null;
    await this.#labRegistry?.close();
    this.#labRegistry = null;
  }

  onEvent(listener: (event: ConsoleEvent) => void): () => void {
    this.#events.on('event', listener);
    return () => this.#events.off('event', listener);
  }

  #emit(event: ConsoleEvent): void {
    this.#events.emit('event', event);
  }

  // ---- views ---------------------------------------------------------------------------------

  #identity(): IdentityView | null {
    const d = this.#daemon;
    if (!d) return null;
    const r = d.registryStatus();
    return {
      hostname: d.hostname,
      address: formatAddress(d.node.address),
      fingerprint: d.identity.fingerprint,
      publicKey: keyId(d.identity.publicKey),
      listen: formatEndpoint(d.node.conn.local),
      startedAt: new Date(d.startedAt).toISOString(),
      registry: {
        endpoint: r.endpoint,
        connected: r.registered,
        lastOkAt: r.lastOkAt ? new Date(r.lastOkAt).toISOString() : null,
        lastError: r.lastError,
      },
      droppedUntrusted: d.node.stats.droppedUntrusted,
    };
  }

  #peerRow(p: PeerSummary, now: number): PeerRow {
    const lastSeenMs = p.lastSeen ? Date.parse(p.lastSeen) : 0;
    return {
      key: p.key,
      hostname: p.hostname ?? '',
      address: p.address ?? '',
      fingerprint: p.fingerprint,
      trust: p.trust,
      capabilities: p.capabilities,
      capabilitiesReceived: p.capabilitiesReceived,
      online: p.session && now - lastSeenMs < ONLINE_WINDOW_MS,
      lastSeen: p.lastSeen,
      // The node probes every trusted peer's path (RTT, NAT keepalive): see OverlayNode.
      rttMs: p.session ? p.rttMs : null,
      path: p.path,
      since: p.since,
    };
  }

  #peers(): PeerRow[] {
    const d = this.#daemon;
    if (!d) return [];
    const now = Date.now();
    return d.peerSummaries().map((p) => this.#peerRow(p, now));
  }

  #requests(): { pending: PendingRequestView[]; outgoing: OutgoingRequestView[] } {
    const d = this.#daemon;
    if (!d) return { pending: [], outgoing: [] };
    const { incoming, outgoing } = d.trust.pending();
    return { pending: incoming.map(pendingView), outgoing: outgoing.map(outgoingView) };
  }

  /** The whole state, for a client that (re)connects. A pure read: what was pushed to the
   * clients already connected is tracked by the push path alone, so one client's snapshot never
   * hides a change still on its way to another. */
  snapshot(): ConsoleSnapshot {
    return { status: this.#status, statusMessage: this.#statusMessage, identity: this.#identity(), peers: this.#peers(), ...this.#requests(), settings: this.settings };
  }

  // ---- pushes --------------------------------------------------------------------------------

  #identityKey(identity: IdentityView | null): string {
    return JSON.stringify([identity, this.#status, this.#statusMessage, this.settings]);
  }

  /** Records `snapshot` as what every connected client now has. */
  #markSent(snapshot: ConsoleSnapshot): void {
    this.#sentIdentity = this.#identityKey(snapshot.identity);
    this.#sentPeers = new Map(snapshot.peers.map((row) => [row.key, JSON.stringify(row)]));
  }

  /** Pushes identity and peer rows that changed since the last push. */
  #refresh(): void {
    if (this.#closed || this.#events.listenerCount('event') === 0) return;
    const identity = this.#identity();
    const identityKey = this.#identityKey(identity);
    if (identityKey !== this.#sentIdentity) {
      this.#sentIdentity = identityKey;
      this.#emit({ type: 'identity', identity, status: this.#status, statusMessage: this.#statusMessage, settings: this.settings });
    }
    const upsert: PeerRow[] = [];
    const seen = new Set<string>();
    for (const row of this.#peers()) {
      seen.add(row.key);
      const json = JSON.stringify(row);
      if (this.#sentPeers.get(row.key) !== json) {
        this.#sentPeers.set(row.key, json);
        upsert.push(row);
      }
    }
    const remove = [...this.#sentPeers.keys()].filter((k) => !seen.has(k));
    for (const k of remove) this.#sentPeers.delete(k);
    if (upsert.length || remove.length) this.#emit({ type: 'peers', upsert, remove });
  }

  /** Trust changed: requests at once, peer rows right after (coalesced per tick). */
  #onTrustEvent(event: TrustEvent): void {
    if (this.#closed) return;
    if (event.kind === 'request') {
      this.#notify('info', `Trust request from ${event.request.hostname}`, event.request.justification || '(no justification given)');
    } else if (event.kind === 'rejected') {
      this.#notify('warning', `${event.request.hostname} rejected our request`, event.request.reason || '(no reason given)');
    } else if (event.kind === 'revoked' && event.by === 'peer') {
      this.#notify('warning', `${event.hostname} revoked trust`, event.reason || '(no reason given)');
    } else if (event.kind === 'trusted' && event.by !== 'local') {
      this.#notify('info', `${event.peer.hostname} is now trusted`, event.by === 'mutual' ? 'both sides asked: approved automatically' : 'the peer approved our request');
    }
    this.#emit({ type: 'requests', ...this.#requests() });
    if (!this.#pushQueued) {
      this.#pushQueued = true;
      queueMicrotask(() => {
        this.#pushQueued = false;
        this.#refresh();
      });
    }
  }

  #notify(level: ConsoleNotification['level'], title: string, body: string): void {
    this.#emit({ type: 'notification', notification: { id: `n${++this.#notificationSeq}`, level, title, body, at: new Date().toISOString() } });
  }

  // ---- the anomaly feed ----------------------------------------------------------------------

  /**
   * Stores a batch of anomalies from one monitor and queues them for the next feed push. Called
   * by the event-stream subscriber with what arrived over the overlay: everything is validated
   * (parseFeedAnomalies), and nothing here throws — bad input is dropped or clipped and reported
   * in the result. Pass batches as they arrive: each call is one SQLite transaction.
   */
  ingestAnomalies(agent: FeedAgent, anomalies: unknown): FeedIngestResult {
    const parsed = parseFeedAnomalies(agent, anomalies, Date.now());
    const feed = this.#feed;
    if (this.#closed || feed === null || parsed.agent === null) {
      const why = this.#closed ? 'the console is shutting down' : feed === null ? `the feed is unavailable: ${this.#feedError?.message ?? 'not open'}` : null;
      return { stored: 0, unchanged: 0, dropped: parsed.dropped + parsed.accepted.length, problems: why ? [why, ...parsed.problems] : parsed.problems };
    }
    let outcomes;
    try {
      outcomes = feed.upsertBatch(parsed.agent, parsed.accepted);
    } catch (err) {
      // Disk full, database locked for longer than the busy timeout: the batch is lost, the console is not.
      const body = errorBody(err);
      this.#log(`anomaly feed: a batch of ${parsed.accepted.length} from ${parsed.agent.hostname || parsed.agent.key} was not stored: ${body.message}`);
      return { stored: 0, unchanged: 0, dropped: parsed.dropped + parsed.accepted.length, problems: [`not stored: ${body.message}`, ...parsed.problems] };
    }
    // With nobody listening there is nothing to push; a client that connects reads pages.
    if (outcomes.length > 0 && this.#events.listenerCount('event') > 0) {
      for (const { row, created } of outcomes) {
        const earlier = this.#feedPending.get(row.seq);
        this.#feedPending.set(row.seq, { row: feedRow(row), added: created || (earlier?.added ?? false) });
      }
      this.#scheduleFeedPush();
    }
    return { stored: outcomes.length, unchanged: parsed.accepted.length - outcomes.length, dropped: parsed.dropped, problems: parsed.problems };
  }

  /** At most one feed push per FEED_PUSH_INTERVAL_MS; the first change after a quiet spell goes out on the next tick. */
  #scheduleFeedPush(): void {
    if (this.#feedTimer !== null) return;
    const wait = Math.max(0, this.#feedLastPushAt + FEED_PUSH_INTERVAL_MS - Date.now());
    this.#feedTimer = setTimeout(() => {
      this.#feedTimer = null;
      this.#pushFeed();
    }, wait);
  }

  #pushFeed(): void {
    if (this.#closed || this.#feedPending.size === 0) return;
    const changed = [...this.#feedPending.values()].sort((a, b) => compareFeedRows(a.row, b.row));
    this.#feedPending.clear();
    const sent = changed.slice(0, FEED_PUSH_MAX_ITEMS);
    const added: FeedItemRow[] = [];
    const updated: FeedItemRow[] = [];
    for (const entry of sent) (entry.added ? added : updated).push(entry.row);
    this.#feedLastPushAt = Date.now();
    this.#emit({ type: 'feed', added, updated, missed: changed.length - sent.length, total: this.#feed?.total ?? 0 });
  }

  #requireFeed(): AnomalyStore {
    if (this.#feed === null) {
      throw new ConsoleError(
        'feed_unavailable',
        `the anomaly feed is unavailable: ${this.#feedError?.message ?? 'its database is not open'}`,
        this.#feedError?.hint ?? `check ${join(this.stateDir, FEED_DB_FILE)} and restart the console`,
      );
    }
    return this.#feed;
  }

  // ---- commands ------------------------------------------------------------------------------

  #requireDaemon(): Daemon {
    if (!this.#daemon) {
      throw new ConsoleError('not_running', this.#statusMessage ?? 'the console node is not running', 'open Settings and connect to a registry');
    }
    return this.#daemon;
  }

  #requireDesk(): MitigationDesk {
    this.#requireDaemon();
    if (this.#desk === null) {
      const e = this.#deskError;
      throw new ConsoleError(e?.code ?? 'not_running', `incidents are unavailable: ${e?.message ?? 'the console node is not running'}`, e?.hint ?? 'open Settings and connect to a registry');
    }
    return this.#desk;
  }

  /** The mitigation desk, for in-process callers (tests). */
  get desk(): MitigationDesk | null {
    return this.#desk;
  }

  /** Runs one validated call (see parseConsoleCall). Errors carry code, message and hint. */
  async handle(call: ConsoleCall): Promise<ConsoleMethods[ConsoleCall['method']]['result']> {
    switch (call.method) {
      case 'snapshot':
        return this.snapshot();
      case 'approve': {
        const d = this.#requireDaemon();
        const record = d.trust.approve(call.params.peer, call.params.capabilities);
        const summary = d.peerSummaries().find((p) => p.key === record.peerKey);
        if (!summary) throw new ConsoleError('internal', `approved ${record.hostname} but it is not listed`, 'reload the console');
        return this.#peerRow(summary, Date.now());
      }
      case 'reject': {
        const request = this.#requireDaemon().trust.reject(call.params.peer, call.params.reason);
        return { rejected: request.hostname };
      }
      case 'revoke': {
        const record = this.#requireDaemon().trust.untrust(call.params.peer, call.params.reason);
        return { revoked: record.hostname };
      }
      case 'handshake': {
        const p = call.params;
        const result = await this.#requireDaemon().trust.requestTrust(p.target, p.justification, { want: p.want, offer: p.offer });
        return { status: result.status, hostname: result.request?.hostname ?? result.trust?.hostname ?? p.target, reason: result.reason };
      }
      case 'saveSettings':
        return this.#saveSettings(call.params.registry, call.params.hostname);
      case 'feedPage': {
        const feed = this.#requireFeed();
        const { filter, cursor, limit } = call.params;
        const page = feed.page({ ...storeFilter(filter), after: cursor === null ? null : decodeFeedCursor(cursor), limit });
        return { items: page.rows.map(feedRow), nextCursor: page.next ? encodeFeedCursor(page.next) : null, total: feed.total };
      }
      case 'feedCounts': {
        const from = call.params.from - (call.params.from % FEED_COUNTS_BUCKET_MS);
        return { from, bucketMs: FEED_COUNTS_BUCKET_MS, counts: this.#requireFeed().countsPerBucket(from, call.params.to, FEED_COUNTS_BUCKET_MS, storeFilter(call.params.filter)) };
      }
      case 'feedFacets': {
        const feed = this.#requireFeed();
        return { total: feed.total, ...feed.facets() };
      }
      case 'feedItem': {
        const item = this.#requireFeed().get(call.params.seq);
        if (!item) throw new ConsoleError('not_found', `feed item ${call.params.seq} is not stored`, 'it may have been removed by the retention limit; reload the feed');
        return item;
      }
      case 'incidents':
        return this.#requireDesk().incidents();
      case 'incidentDetail':
        return this.#requireDesk().incidentDetail(call.params.incidentId);
      case 'approveProposal': {
        const { proposalId, cidr, ttlSeconds, targets } = call.params;
        return this.#requireDesk().approve(proposalId, { cidr, ttlSeconds, targets });
      }
      case 'rejectProposal':
        return this.#requireDesk().reject(call.params.proposalId, call.params.reason);
      case 'decisions':
        return { decisions: this.#requireDesk().decisions() };
      case 'revokeDecision':
        return this.#requireDesk().revoke(call.params.executor, call.params.requestId, call.params.reason);
      case 'auditLog':
        return this.#requireDesk().audit(call.params.limit);
    }
  }

  async #saveSettings(registry: string, hostname: string): Promise<ConsoleSettings> {
    this.#config = { registry, hostname, lab: false };
    writeConfig(this.stateDir, this.#config);
    this.#log(`settings saved: registry ${registry}, hostname ${hostname}; restarting the node`);
    await this.#stopNode();
    await this.#startNode();
    // The node and its peers changed as a whole: every client gets a fresh snapshot.
    const snapshot = this.snapshot();
    this.#markSent(snapshot);
    this.#emit({ type: 'snapshot', snapshot });
    return this.settings;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    if (this.#feedTimer) clearTimeout(this.#feedTimer);
    this.#feedPending.clear();
    await this.#stopNode();
    this.#feed?.close();
    this.#feed = null;
    this.#events.removeAllListeners();
  }
}
