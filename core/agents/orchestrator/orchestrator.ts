/**
 * The orchestrator: runs inside the console node, turns the monitors' anomaly updates into
 * incidents, proposes mitigations by rule, records the analyst's decisions and the executors'
 * results, and optionally asks an LLM for a summary an analyst reads. It never sends anything:
 * `approve` returns the mitigation the console signs and submits, and an auto-approval (only by an
 * explicit policy rule) is returned the same way, with its audit record.
 *
 *   const orchestrator = Orchestrator.open({ dbPath: join(stateDir, 'incidents.db'), executors: () => trustedExecutorHostnames() });
 *   orchestrator.on('change', (c) => pushToUi(c));
 *   orchestrator.ingest('gcp-log-monitor', { type: 'opened', anomaly });       // from the event stream
 *   const mitigation = orchestrator.approve('proposal-3', 'admin', { ttl: '6h' }); // sign + send it
 *   orchestrator.markResult(mitigation.requestId, 'applied', { target: 'aws-firewall-executor' });
 *
 * Everything lives in SQLite (incident-store.ts), so a restarted console carries on where it was,
 * ban history (and with it escalation) included. Methods are synchronous except enrichment.
 */
import { randomUUID } from 'node:crypto';
import type { AnomalyUpdate } from '../monitor/detect/anomaly.ts';
import { formatDuration } from './duration.ts';
import { EnrichmentError, IncidentEnricher, type EnrichmentOptions } from './enrichment.ts';
import { IncidentStore, type EnrichmentRecord, type ProposalBody, type StoredIncident, type StoredProposal, type TargetResult } from './incident-store.ts';
import { aggregateOf, cleanText, foldMember, INCIDENT_STATES, memberOfUpdate, withinWindow, type IncidentState } from './incidents.ts';
import { OrchestratorError } from './orchestrator-error.ts';
import { parsePolicy, type AutoApproveRule, type OrchestratorPolicy, type PolicyInput } from './policy.ts';
import {
  approvalTerms,
  approvedStatus,
  banCounts,
  escalatedTtlSeconds,
  holdsIncidentOpen,
  incidentStateOf,
  matchAutoApprove,
  MAX_TARGETS,
  MITIGATION_RESULTS,
  PROPOSAL_STATUSES,
  proposalReason,
  proposalTrigger,
  proposedCidr,
  REASON_MAX_CHARS,
  shouldPropose,
  targetTransition,
  type ApprovalEdits,
  type ApprovalTerms,
  type MitigationResult,
  type ProposalStatus,
  type ProposalTrigger,
} from './proposals.ts';
import { sourceKeyOf } from './source-key.ts';
import {
  incidentAnomalyView,
  incidentId,
  incidentView,
  proposalId,
  proposalView,
  seqOfId,
  type ApprovedMitigation,
  type AuditCallback,
  type AuditRecord,
  type IncidentAnomalyView,
  type IncidentChange,
  type IncidentView,
  type ProposalView,
} from './views.ts';

// The console's one import: the class, and everything its methods take and return.
export type { ApprovedMitigation, AuditCallback, AuditRecord, IncidentAnomalyView, IncidentChange, IncidentView, ProposalView } from './views.ts';
export type { EnrichmentEndpoint, EnrichmentOptions } from './enrichment.ts';
export type { EnrichmentRecord, EnrichmentStatus } from './incident-store.ts';
export type { IncidentEvidence, IncidentState } from './incidents.ts';
export type { AutoApproveRule, OrchestratorPolicy, PolicyInput } from './policy.ts';
export type { ApprovalEdits, MitigationAction, MitigationResult, ProposalStatus } from './proposals.ts';
export { enrichmentOptionsFromEnv } from './enrichment.ts';
export { INCIDENT_STATES } from './incidents.ts';
export { OrchestratorError, type OrchestratorErrorCode } from './orchestrator-error.ts';
export { DEFAULT_POLICY, parsePolicy } from './policy.ts';
export { MITIGATION_RESULTS, PROPOSAL_STATUSES } from './proposals.ts';

export interface OrchestratorOptions {
  /** The incident database, e.g. `<stateDir>/incidents.db`. */
  readonly dbPath: string;
  /** Hostnames of the executors this console may send mitigations to (trusted, with mitigation.request), asked when needed. */
  readonly executors: () => readonly string[];
  /** Policy as a person writes it (policy.ts); the defaults when left out. */
  readonly policy?: PolicyInput;
  /** LLM enrichment; off when left out. */
  readonly enrichment?: EnrichmentOptions | null;
  /** Called with every decision (approved, auto-approved, rejected, executor results) inside its transaction: if it throws, the decision is undone. */
  readonly audit?: AuditCallback;
  /** Epoch ms; tests pass a fake clock. */
  readonly now?: () => number;
  /** How often incidents are closed and lapsed blocks marked expired (default 60 s; 0: only when sweep() is called). */
  readonly sweepEveryMs?: number;
  readonly log?: (line: string) => void;
  /** Where the enrichment API key is read from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface IncidentFilter {
  readonly state?: IncidentState | readonly IncidentState[];
  /** An address or host name: incidents of its correlation key. */
  readonly source?: string;
  /** Default 200, at most 1,000. */
  readonly limit?: number;
}

export interface ProposalFilter {
  readonly status?: ProposalStatus | readonly ProposalStatus[];
  readonly incidentId?: string;
  readonly limit?: number;
}

export interface MarkResultOptions {
  /** The executor reporting; left out: every target of the request. */
  readonly target?: string;
  /** The executor's own words (an error, the policy that refused it). */
  readonly detail?: string;
  /** For `applied`: when the executor says the block ends (epoch ms); default approval TTL from now. */
  readonly expiresAt?: number;
}

export interface OrchestratorStats {
  /** Anomaly updates that changed an incident. */
  readonly ingested: number;
  /** Repeated or older revisions, dropped. */
  readonly stale: number;
  /** Updates that could not be used (no usable source, malformed), dropped. */
  readonly invalid: number;
  readonly lastInvalid: string | null;
  readonly enrichmentsRunning: number;
}

export type ChangeListener = (change: IncidentChange) => void;

type AutoApprovals = Array<{ proposalSeq: number; mitigation: ApprovedMitigation; audit: AuditRecord }>;

const DEFAULT_SWEEP_EVERY_MS = 60_000;
const DEFAULT_LIST_LIMIT = 200;
const MAX_LIST_LIMIT = 1_000;
/** Anomaly summaries given to the LLM with an incident. */
const SUMMARIES_FOR_ENRICHMENT = 5;
const ACTOR_MAX_CHARS = 200;
/** Invalid updates logged one by one up to this many, then one in a thousand: a broken monitor must not flood the log. */
const INVALID_LOGGED_IN_FULL = 10;

function listLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(limit)));
}

function asList<T>(value: T | readonly T[] | undefined): readonly T[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function checkActor(by: unknown, what: string): string {
  if (typeof by !== 'string' || by.trim() === '') throw new OrchestratorError('invalid_input', `${what} needs the name of who decides`, 'pass the analyst (e.g. "admin")');
  return cleanText(by.trim(), ACTOR_MAX_CHARS);
}

export class Orchestrator {
  readonly policy: OrchestratorPolicy;
  readonly #store: IncidentStore;
  readonly #executors: () => readonly string[];
  readonly #audit: AuditCallback | null;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #enricher: IncidentEnricher | null;
  readonly #listeners = new Set<ChangeListener>();
  readonly #enrichments = new Map<number, Promise<ProposalView>>();
  /** Proposals to (re-)enrich once the ingest transaction that created or changed them commits. */
  readonly #enrichAfterCommit = new Set<number>();
  #sweepTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #stats = { ingested: 0, stale: 0, invalid: 0, lastInvalid: null as string | null };

  private constructor(options: OrchestratorOptions, policy: OrchestratorPolicy, store: IncidentStore, enricher: IncidentEnricher | null) {
    this.policy = policy;
    this.#store = store;
    this.#executors = options.executors;
    this.#audit = options.audit ?? null;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => {});
    this.#enricher = enricher;
    const every = options.sweepEveryMs ?? DEFAULT_SWEEP_EVERY_MS;
    if (every > 0) {
      this.#sweepTimer = setInterval(() => {
        try {
          this.sweep();
        } catch (err) {
          this.#log(`orchestrator: sweep failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }, every);
      this.#sweepTimer.unref();
    }
  }

  /**
   * Opens the incident database (creating it) with a checked policy. Throws OrchestratorError
   * (invalid_policy, listing every problem) or StoreError (the database file).
   */
  static open(options: OrchestratorOptions): Orchestrator {
    const parsed = parsePolicy(options.policy);
    if (!parsed.ok) throw new OrchestratorError('invalid_policy', `orchestrator policy: ${parsed.errors.join('; ')}`, 'fix the policy fields named above');
    let enricher: IncidentEnricher | null = null;
    if (options.enrichment) {
      try {
        enricher = IncidentEnricher.create(options.enrichment, options.env ?? process.env);
      } catch (err) {
        throw new OrchestratorError('invalid_policy', err instanceof Error ? err.message : String(err), 'fix the enrichment settings, or leave enrichment off');
      }
    }
    return new Orchestrator(options, parsed.policy, IncidentStore.open(options.dbPath), enricher);
  }

  /** Listens to every change (ingest, decisions, results, enrichment, sweeps). Returns the unsubscribe function. */
  on(event: 'change', listener: ChangeListener): () => void {
    if (event !== 'change') throw new OrchestratorError('invalid_input', `unknown event ${JSON.stringify(event)}`, 'listen to "change"');
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  off(event: 'change', listener: ChangeListener): void {
    if (event === 'change') this.#listeners.delete(listener);
  }

  #emit(changes: readonly IncidentChange[]): void {
    for (const change of changes) {
      for (const listener of this.#listeners) {
        try {
          listener(change);
        } catch (err) {
          // A listener's bug must not undo or hide what was already stored.
          this.#log(`orchestrator: a change listener failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }

  #open(): void {
    if (this.#closed) throw new OrchestratorError('closed', 'the orchestrator is closed', 'open it again');
  }

  // ---- ingestion ----------------------------------------------------------------------------

  /** One anomaly update from the monitor `agent` (its hostname). */
  ingest(agent: string, update: AnomalyUpdate): IncidentChange[] {
    return this.ingestBatch(agent, [update]);
  }

  /**
   * A batch of updates from one monitor, in one transaction. Updates are untrusted input: each
   * is checked, and one that cannot be used is dropped and counted (stats()), never thrown.
   */
  ingestBatch(agent: string, updates: ReadonlyArray<AnomalyUpdate | unknown>): IncidentChange[] {
    this.#open();
    const now = this.#now();
    this.#enrichAfterCommit.clear(); // left over only if an earlier batch rolled back
    const touched = new Map<number, 'opened' | 'updated' | 'reopened'>();
    const created: StoredProposal[] = [];
    const updatedProposals = new Set<number>();
    const autoApproved: AutoApprovals = [];
    this.#store.transaction(() => {
      for (const update of updates) {
        const parsed = memberOfUpdate(agent, update, now, this.policy.ipv6CorrelationPrefix);
        if (!parsed.ok) {
          this.#stats.invalid++;
          this.#stats.lastInvalid = parsed.why;
          if (this.#stats.invalid <= INVALID_LOGGED_IN_FULL || this.#stats.invalid % 1000 === 0) this.#log(`orchestrator: dropped an anomaly update (${this.#stats.invalid} so far): ${parsed.why}`);
          continue;
        }
        const member = parsed.member;
        const existing = this.#store.member(member.agent, member.anomalyId);
        if (existing !== null && member.revision <= existing.revision) {
          this.#stats.stale++;
          continue;
        }
        this.#stats.ingested++;
        let incident: StoredIncident | null = existing === null ? null : this.#store.incident(existing.incidentSeq);
        if (incident === null) {
          // New to us: the most recently active incident of the same source within the window.
          incident = this.#store.openIncidentsFor(member.sourceKey).find((i) => withinWindow(i, member, this.policy.correlationWindowMs)) ?? null;
        }
        if (incident === null) {
          const seq = this.#store.createIncident(aggregateOf(member), 'open', now);
          this.#store.putMember(seq, member, now);
          touched.set(seq, 'opened');
          continue;
        }
        const seq = incident.seq;
        const agg = foldMember(incident, existing, member, {
          hasSource: (ip) => this.#store.memberWithSource(seq, ip),
          hasAgent: (a) => this.#store.memberWithAgent(seq, a),
        });
        this.#store.updateIncidentFacts(seq, agg, now);
        this.#store.putMember(seq, member, now);
        if (incident.closedAt !== null && member.state === 'open') {
          // A monitor that went quiet (and so let the incident close as stale) is reporting again.
          this.#setState(seq, false, incident.latestProposal, now);
          touched.set(seq, 'reopened');
        } else if (!touched.has(seq)) touched.set(seq, 'updated');
      }
      for (const seq of touched.keys()) this.#considerProposal(seq, now, created, updatedProposals, autoApproved);
    });
    const changes: IncidentChange[] = [];
    for (const [seq, event] of touched) {
      const incident = this.#incidentView(seq);
      if (incident) changes.push({ type: 'incident', event, incident });
    }
    for (const p of created) {
      const view = this.#proposalView(p.seq);
      if (view) changes.push({ type: 'proposal', event: 'created', proposal: view });
    }
    const autoSeqs = new Set(autoApproved.map((a) => a.proposalSeq));
    for (const seq of updatedProposals) {
      const view = autoSeqs.has(seq) ? null : this.#proposalView(seq);
      if (view) changes.push({ type: 'proposal', event: 'updated', proposal: view });
    }
    for (const a of autoApproved) {
      const view = this.#proposalView(a.proposalSeq);
      if (view) changes.push({ type: 'auto_approved', proposal: view, mitigation: a.mitigation, audit: a.audit });
    }
    this.#emit(changes);
    if (this.#enricher?.auto) for (const p of created) this.#enrichAfterCommit.add(p.seq);
    for (const seq of this.#enrichAfterCommit) void this.#enrich(seq).catch(() => {});
    this.#enrichAfterCommit.clear();
    return changes;
  }

  /** Raises a proposal for the incident if it qualifies and has none in play; auto-approves it if a policy rule says so. */
  #considerProposal(seq: number, now: number, created: StoredProposal[], updated: Set<number>, autoApproved: AutoApprovals): void {
    const incident = this.#store.incident(seq);
    if (incident === null || incident.closedAt !== null) return;
    const trigger = proposalTrigger(incident, this.policy.thresholds);
    if (trigger === null) return;
    const latest = incident.latestProposal === null ? null : this.#store.proposal(incident.latestProposal);
    if (latest?.status === 'pending') {
      this.#followIncident(latest, incident, trigger, now, updated, autoApproved);
      return;
    }
    if (!shouldPropose(trigger, latest)) return;
    const cidr = proposedCidr(incident);
    if (cidr === null) return;
    const { escalation } = this.policy;
    const previousBans = this.#store.previousBans(incident.sourceKey, now - escalation.forgetAfterMs);
    const ttlSeconds = escalatedTtlSeconds(previousBans, escalation);
    const targets = [...new Set(this.#executors())].slice(0, MAX_TARGETS);
    const body: ProposalBody = {
      action: 'block',
      cidr,
      ttlSeconds,
      targets,
      reason: proposalReason(incident, trigger, ttlSeconds, previousBans),
      severity: trigger.severity,
      triggerRules: trigger.rules,
      previousBans,
      decision: null,
      approved: null,
      results: {},
      enrichment: this.#enricher?.auto ? enrichmentRecord('pending') : enrichmentRecord('off'),
    };
    const proposalSeq = this.#store.createProposal(seq, incident.sourceKey, body, now);
    this.#setState(seq, false, proposalSeq, now);
    const proposal = this.#store.proposal(proposalSeq);
    if (proposal === null) return;
    created.push(proposal);
    this.#autoApprove(proposal, incident, now, autoApproved);
  }

  /**
   * A pending proposal follows its incident until someone decides: a worse severity, more rules,
   * or an IPv6 source hopping inside its /64 update what it says and blocks. Its TTL stays (it
   * depends on the source's history, not on this incident). Auto-approval is checked again.
   */
  #followIncident(proposal: StoredProposal, incident: StoredIncident, trigger: ProposalTrigger, now: number, updated: Set<number>, autoApproved: AutoApprovals): void {
    const cidr = proposedCidr(incident) ?? proposal.cidr;
    const reason = proposalReason(incident, trigger, proposal.ttlSeconds, proposal.previousBans);
    const sameTerms = cidr === proposal.cidr && trigger.severity === proposal.severity && trigger.rules.join('\n') === proposal.triggerRules.join('\n');
    if (sameTerms && reason === proposal.reason) return;
    // What the LLM wrote described the proposal as it was; ask again when the terms changed.
    const enrichAgain = !sameTerms && this.#enricher?.auto === true;
    const body: ProposalBody = { ...proposal, cidr, reason, severity: trigger.severity, triggerRules: trigger.rules, ...(enrichAgain ? { enrichment: enrichmentRecord('pending') } : {}) };
    this.#store.updateProposal(proposal.seq, 'pending', body, now);
    updated.add(proposal.seq);
    if (enrichAgain) this.#enrichAfterCommit.add(proposal.seq);
    const current = this.#store.proposal(proposal.seq);
    if (current && !sameTerms) this.#autoApprove(current, incident, now, autoApproved);
  }

  /** Approves a new or changed proposal as `system` if, and only if, an auto-approval rule matches it. */
  #autoApprove(proposal: StoredProposal, incident: StoredIncident, now: number, autoApproved: AutoApprovals): void {
    const rule = matchAutoApprove(this.policy.autoApprove, incident, proposal.ttlSeconds);
    if (rule === null) return;
    const targets = proposal.targets.length > 0 ? proposal.targets : [...new Set(this.#executors())].slice(0, MAX_TARGETS);
    if (targets.length === 0) {
      this.#log(`orchestrator: ${proposalId(proposal.seq)} matches auto-approval rule ${rule.rule} but no executor is known: left for an analyst`);
      return;
    }
    try {
      // A savepoint: if the audit callback refuses, this approval is undone and the proposal waits for a person.
      const outcome = this.#store.savepoint(() => this.#approve(proposal, 'system', { cidr: proposal.cidr, ttlSeconds: proposal.ttlSeconds, targets, edited: {} }, rule, now));
      autoApproved.push({ proposalSeq: proposal.seq, ...outcome });
    } catch (err) {
      this.#log(`orchestrator: auto-approval of ${proposalId(proposal.seq)} was not recorded (${err instanceof Error ? err.message : String(err)}): left for an analyst`);
    }
  }

  /** Writes an approval, counts the ban, and audits it (the audit call comes last, so its failure rolls everything back). */
  #approve(proposal: StoredProposal, by: string, terms: ApprovalTerms, autoRule: AutoApproveRule | null, now: number): { mitigation: ApprovedMitigation; audit: AuditRecord } {
    const requestId = randomUUID();
    const body: ProposalBody = {
      ...proposal,
      decision: { by, at: now, kind: 'approved', reason: null, autoRule, edited: Object.keys(terms.edited).length ? terms.edited : null },
      approved: { requestId, cidr: terms.cidr, ttlSeconds: terms.ttlSeconds, targets: terms.targets, at: now },
    };
    this.#store.updateProposal(proposal.seq, 'approved', body, now);
    this.#store.recordBan(proposal.sourceKey, now, terms.ttlSeconds, proposal.seq);
    this.#refreshState(proposal.incidentSeq, now);
    const mitigation: ApprovedMitigation = {
      requestId,
      proposalId: proposalId(proposal.seq),
      incidentId: incidentId(proposal.incidentSeq),
      action: proposal.action,
      cidr: terms.cidr,
      ttlSeconds: terms.ttlSeconds,
      reason: proposal.reason,
      targets: [...terms.targets],
      approvedBy: by,
      approvedAt: now,
      auto: autoRule !== null,
    };
    const details: Record<string, unknown> = {
      proposal_id: mitigation.proposalId,
      incident_id: mitigation.incidentId,
      request_id: requestId,
      action: mitigation.action,
      ttl_seconds: terms.ttlSeconds,
      targets: [...terms.targets],
      reason: proposal.reason,
      previous_bans: proposal.previousBans,
    };
    if (Object.keys(terms.edited).length) details.edited = { ...terms.edited, proposed: { cidr: proposal.cidr, ttl_seconds: proposal.ttlSeconds, targets: [...proposal.targets] } };
    if (autoRule) details.policy_rule = { rule: autoRule.rule, min_severity: autoRule.minSeverity, max_ttl_seconds: autoRule.maxTtlSeconds };
    const audit: AuditRecord = { actor: by, action: autoRule ? 'mitigation.auto_approved' : 'mitigation.approved', subject: terms.cidr, details };
    this.#audit?.(audit.actor, audit.action, audit.subject, audit.details);
    return { mitigation, audit };
  }

  /** Stores the incident's state from its latest proposal (and whether it is closed). */
  #setState(seq: number, closed: boolean, latestProposal: number | null, now: number): void {
    const latest = latestProposal === null ? null : this.#store.proposal(latestProposal);
    this.#store.setIncidentState(seq, { state: incidentStateOf(closed, latest?.status ?? null), closedAt: closed ? now : null, latestProposal }, now);
  }

  #refreshState(seq: number, now: number): void {
    const incident = this.#store.incident(seq);
    if (incident === null) return;
    const latest = incident.latestProposal === null ? null : this.#store.proposal(incident.latestProposal);
    const state = incidentStateOf(incident.closedAt !== null, latest?.status ?? null);
    if (state !== incident.state) this.#store.setIncidentState(seq, { state, closedAt: incident.closedAt, latestProposal: incident.latestProposal }, now);
  }

  // ---- queries ------------------------------------------------------------------------------

  #incidentView(seq: number): IncidentView | null {
    const incident = this.#store.incident(seq);
    if (incident === null) return null;
    const latest = incident.latestProposal === null ? null : this.#store.proposal(incident.latestProposal);
    return incidentView(incident, latest?.status ?? null);
  }

  #proposalView(seq: number): ProposalView | null {
    const p = this.#store.proposal(seq);
    return p === null ? null : proposalView(p);
  }

  /** Incidents, most recently updated first. */
  incidents(filter: IncidentFilter = {}): IncidentView[] {
    this.#open();
    const states = asList(filter.state);
    for (const s of states ?? []) {
      if (!(INCIDENT_STATES as readonly string[]).includes(s)) throw new OrchestratorError('invalid_input', `unknown incident state ${JSON.stringify(s)}`, `states: ${INCIDENT_STATES.join(', ')}`);
    }
    let sourceKey: string | undefined;
    if (filter.source !== undefined) {
      const key = sourceKeyOf(filter.source, this.policy.ipv6CorrelationPrefix);
      if (key === null) return [];
      sourceKey = key.key;
    }
    return this.#store
      .listIncidents({ ...(states ? { states } : {}), ...(sourceKey !== undefined ? { sourceKey } : {}), limit: listLimit(filter.limit) })
      .map((i) => incidentView(i, i.latestProposal === null ? null : (this.#store.proposal(i.latestProposal)?.status ?? null)));
  }

  incident(id: string): IncidentView | null {
    this.#open();
    const seq = seqOfId('incident', id);
    return seq === null ? null : this.#incidentView(seq);
  }

  /** An incident's anomalies (latest revision of each), most recently active first. */
  incidentAnomalies(id: string, limit?: number): IncidentAnomalyView[] {
    this.#open();
    const seq = seqOfId('incident', id);
    return seq === null ? [] : this.#store.members(seq, listLimit(limit)).map(incidentAnomalyView);
  }

  /** Proposals, newest first. */
  proposals(filter: ProposalFilter = {}): ProposalView[] {
    this.#open();
    const statuses = asList(filter.status);
    for (const s of statuses ?? []) {
      if (!(PROPOSAL_STATUSES as readonly string[]).includes(s)) throw new OrchestratorError('invalid_input', `unknown proposal status ${JSON.stringify(s)}`, `statuses: ${PROPOSAL_STATUSES.join(', ')}`);
    }
    let incidentSeq: number | undefined;
    if (filter.incidentId !== undefined) {
      const seq = seqOfId('incident', filter.incidentId);
      if (seq === null) return [];
      incidentSeq = seq;
    }
    return this.#store.listProposals({ ...(statuses ? { statuses } : {}), ...(incidentSeq !== undefined ? { incidentSeq } : {}), limit: listLimit(filter.limit) }).map(proposalView);
  }

  proposal(id: string): ProposalView | null {
    this.#open();
    const seq = seqOfId('proposal', id);
    return seq === null ? null : this.#proposalView(seq);
  }

  /** Known executors now (what approvals may target). */
  executors(): string[] {
    return [...new Set(this.#executors())];
  }

  stats(): OrchestratorStats {
    return { ...this.#stats, enrichmentsRunning: this.#enrichments.size };
  }

  // ---- decisions ----------------------------------------------------------------------------

  #pending(id: string): StoredProposal {
    const seq = seqOfId('proposal', id);
    const proposal = seq === null ? null : this.#store.proposal(seq);
    if (proposal === null) throw new OrchestratorError('not_found', `no proposal ${JSON.stringify(String(id).slice(0, 40))}`, 'list proposals to see their ids (proposal-N)');
    if (proposal.status !== 'pending') {
      const by = proposal.decision ? ` by ${proposal.decision.by}` : '';
      throw new OrchestratorError('invalid_transition', `proposal ${proposalId(proposal.seq)} is ${proposal.status}${by}, not pending: only a pending proposal can be approved or rejected`, 'reload the proposals; a decision already made stands');
    }
    return proposal;
  }

  /**
   * Approves a pending proposal, with the analyst's edits (another CIDR, TTL or target set).
   * Returns what the console signs and submits to each target executor.
   */
  approve(id: string, by: string, edits?: ApprovalEdits): ApprovedMitigation {
    this.#open();
    const actor = checkActor(by, 'an approval');
    const now = this.#now();
    const outcome = this.#store.transaction(() => {
      const proposal = this.#pending(id);
      const terms = approvalTerms(proposal, edits, this.executors(), this.policy.maxApprovedTtlSeconds);
      return this.#approve(proposal, actor, terms, null, now);
    });
    const view = this.proposal(outcome.mitigation.proposalId);
    const incident = this.incident(outcome.mitigation.incidentId);
    this.#emit([...(view ? [{ type: 'proposal' as const, event: 'approved' as const, proposal: view }] : []), ...(incident ? [{ type: 'incident' as const, event: 'updated' as const, incident }] : [])]);
    return outcome.mitigation;
  }

  /** Rejects a pending proposal; the reason is kept and audited. */
  reject(id: string, by: string, reason: string): ProposalView {
    this.#open();
    const actor = checkActor(by, 'a rejection');
    if (typeof reason !== 'string' || reason.trim() === '') throw new OrchestratorError('invalid_input', 'a rejection needs a reason', 'say why (e.g. "shared NAT address of a partner")');
    const why = cleanText(reason.trim(), REASON_MAX_CHARS);
    const now = this.#now();
    const seq = this.#store.transaction(() => {
      const proposal = this.#pending(id);
      const body: ProposalBody = { ...proposal, decision: { by: actor, at: now, kind: 'rejected', reason: why, autoRule: null, edited: null } };
      this.#store.updateProposal(proposal.seq, 'rejected', body, now);
      this.#refreshState(proposal.incidentSeq, now);
      this.#audit?.(actor, 'mitigation.rejected', proposal.cidr, { proposal_id: proposalId(proposal.seq), incident_id: incidentId(proposal.incidentSeq), reason: why, ttl_seconds: proposal.ttlSeconds });
      return proposal.seq;
    });
    const view = this.#proposalView(seq);
    if (view === null) throw new OrchestratorError('not_found', `proposal ${id} vanished`, 'reload the proposals');
    const incident = this.incident(view.incidentId);
    this.#emit([{ type: 'proposal', event: 'rejected', proposal: view }, ...(incident ? [{ type: 'incident' as const, event: 'updated' as const, incident }] : [])]);
    return view;
  }

  /**
   * Records an executor's result for an approved mitigation. A repeated report changes nothing;
   * an impossible one (refused after applied, anything after expired) is refused with an error.
   */
  markResult(requestId: string, result: MitigationResult, options: MarkResultOptions = {}): ProposalView {
    this.#open();
    if (!(MITIGATION_RESULTS as readonly string[]).includes(result)) throw new OrchestratorError('invalid_input', `unknown mitigation result ${JSON.stringify(result)}`, `results: ${MITIGATION_RESULTS.join(', ')}`);
    const now = this.#now();
    const detail = typeof options.detail === 'string' && options.detail.trim() !== '' ? cleanText(options.detail.trim(), REASON_MAX_CHARS) : null;
    const changed = this.#store.transaction(() => {
      const proposal = typeof requestId === 'string' ? this.#store.proposalByRequest(requestId) : null;
      if (proposal === null || proposal.approved === null) {
        throw new OrchestratorError('not_found', `no approved mitigation has request id ${JSON.stringify(String(requestId).slice(0, 60))}`, 'results are recorded only for requests this console approved');
      }
      return this.#recordResults(proposal, options.target, result, detail, null, now, options.expiresAt);
    });
    const seq = changed.seq;
    const view = this.#proposalView(seq);
    if (view === null) throw new OrchestratorError('not_found', `request ${requestId} vanished`, 'reload the proposals');
    if (changed.changed) {
      const incident = this.incident(view.incidentId);
      this.#emit([{ type: 'proposal', event: 'result', proposal: view }, ...(incident ? [{ type: 'incident' as const, event: 'updated' as const, incident }] : [])]);
    }
    return view;
  }

  /** Applies one result to one target or all; audits each change (actor: the target, or `system` for inferred expiry). */
  #recordResults(proposal: StoredProposal, target: string | undefined, result: MitigationResult, detail: string | null, actorOverride: string | null, now: number, expiresAt?: number): { seq: number; changed: boolean } {
    const approved = proposal.approved;
    if (approved === null) return { seq: proposal.seq, changed: false };
    let targets: readonly string[];
    if (target !== undefined) {
      if (!approved.targets.includes(target)) {
        throw new OrchestratorError('invalid_input', `${JSON.stringify(String(target).slice(0, 60))} is not a target of request ${approved.requestId}`, `its targets: ${approved.targets.join(', ')}`);
      }
      targets = [target];
    } else targets = approved.targets;
    const results: Record<string, TargetResult> = { ...proposal.results };
    const changedTargets: string[] = [];
    for (const t of targets) {
      const move = targetTransition(results[t]?.result ?? null, result);
      if (move === 'invalid') {
        throw new OrchestratorError('invalid_transition', `request ${approved.requestId} on ${t} is ${results[t]?.result}: it cannot become ${result}`, 'applied blocks can only expire or be revoked; refused, expired and revoked are final');
      }
      if (move === 'change') {
        const until = typeof expiresAt === 'number' && Number.isFinite(expiresAt) && expiresAt > now ? Math.floor(expiresAt) : now + approved.ttlSeconds * 1000;
        results[t] = { result, at: now, detail, expiresAt: result === 'applied' ? until : null };
        changedTargets.push(t);
      }
    }
    if (changedTargets.length === 0) return { seq: proposal.seq, changed: false };
    const status = approvedStatus(approved.targets, Object.fromEntries(Object.entries(results).map(([t, r]) => [t, r.result])));
    this.#store.updateProposal(proposal.seq, status, { ...proposal, results }, now);
    this.#store.setBanCounts(proposal.seq, banCounts(status));
    this.#refreshState(proposal.incidentSeq, now);
    for (const t of changedTargets) {
      this.#audit?.(actorOverride ?? t, `mitigation.${result}`, approved.cidr, {
        proposal_id: proposalId(proposal.seq),
        incident_id: incidentId(proposal.incidentSeq),
        request_id: approved.requestId,
        target: t,
        ...(detail ? { detail } : {}),
      });
    }
    return { seq: proposal.seq, changed: true };
  }

  // ---- time ---------------------------------------------------------------------------------

  /**
   * Closes incidents that went quiet (all anomalies closed and nothing new for closeAfterQuiet,
   * or nothing at all for staleAfter) unless a proposal still waits for a decision, and marks
   * blocks whose TTL ran out as expired where no executor said so. Runs on a timer; callable.
   */
  sweep(): IncidentChange[] {
    this.#open();
    const now = this.#now();
    const closedSeqs: number[] = [];
    const expiredSeqs: number[] = [];
    this.#store.transaction(() => {
      for (const proposal of this.#store.listProposals({ statuses: ['applied'], limit: Number.MAX_SAFE_INTEGER })) {
        const lapsed = Object.entries(proposal.results).filter(([, r]) => r.result === 'applied' && r.expiresAt !== null && r.expiresAt <= now);
        let current = proposal;
        for (const [target] of lapsed) {
          this.#recordResults(current, target, 'expired', `TTL of ${formatDuration(current.approved?.ttlSeconds ?? 0)} elapsed`, 'system', now);
          current = this.#store.proposal(proposal.seq) ?? current;
        }
        if (lapsed.length > 0) expiredSeqs.push(proposal.seq);
      }
      const { closeAfterQuietMs, staleAfterMs } = this.policy;
      for (const incident of this.#store.quietIncidents(now - closeAfterQuietMs)) {
        const latest = incident.latestProposal === null ? null : this.#store.proposal(incident.latestProposal);
        if (holdsIncidentOpen(latest?.status ?? null)) continue;
        if (incident.openAnomalies > 0 && incident.activityAt > now - staleAfterMs) continue;
        this.#setState(incident.seq, true, incident.latestProposal, now);
        closedSeqs.push(incident.seq);
      }
    });
    const changes: IncidentChange[] = [];
    for (const seq of expiredSeqs) {
      const view = this.#proposalView(seq);
      if (view) changes.push({ type: 'proposal', event: 'result', proposal: view });
    }
    for (const seq of closedSeqs) {
      const incident = this.#incidentView(seq);
      if (incident) changes.push({ type: 'incident', event: 'closed', incident });
    }
    this.#emit(changes);
    return changes;
  }

  // ---- enrichment ---------------------------------------------------------------------------

  /**
   * Asks the LLM for the proposal's summary and rationale (again, if it ran before). Resolves
   * with the proposal as stored afterwards, whether the model answered or not (see its
   * enrichment.status and .error); rejects only when enrichment is off or the id is unknown.
   */
  enrich(id: string): Promise<ProposalView> {
    this.#open();
    if (this.#enricher === null) return Promise.reject(new OrchestratorError('invalid_input', 'LLM enrichment is off', 'configure an endpoint (SWARM_LLM_BASE_URL, SWARM_LLM_MODEL) to use it'));
    const seq = seqOfId('proposal', id);
    if (seq === null || this.#store.proposal(seq) === null) return Promise.reject(new OrchestratorError('not_found', `no proposal ${JSON.stringify(String(id).slice(0, 40))}`, 'list proposals to see their ids'));
    return this.#enrich(seq);
  }

  #enrich(seq: number): Promise<ProposalView> {
    const running = this.#enrichments.get(seq);
    if (running) return running;
    const run = this.#runEnrichment(seq).finally(() => this.#enrichments.delete(seq));
    this.#enrichments.set(seq, run);
    return run;
  }

  async #runEnrichment(seq: number): Promise<ProposalView> {
    const enricher = this.#enricher;
    const proposal = this.#store.proposal(seq);
    const incident = proposal === null ? null : this.#incidentView(proposal.incidentSeq);
    if (enricher === null || proposal === null || incident === null) throw new OrchestratorError('not_found', `no proposal ${proposalId(seq)}`, 'list proposals to see their ids');
    if (proposal.enrichment.status !== 'pending') {
      this.#writeEnrichment(seq, enrichmentRecord('pending'));
      const view = this.#proposalView(seq);
      if (view) this.#emit([{ type: 'proposal', event: 'enrichment_started', proposal: view }]);
    }
    const summaries = this.#store.members(proposal.incidentSeq, SUMMARIES_FOR_ENRICHMENT).map((m) => m.summary).filter((s) => s !== '');
    let record: EnrichmentRecord;
    try {
      const text = await enricher.enrich({ incident, proposal: proposalView(proposal), summaries });
      record = { status: 'done', summary: text.summary, rationale: text.rationale, model: text.model, error: null, at: this.#now() };
    } catch (err) {
      const message = err instanceof EnrichmentError ? err.message : `LLM enrichment failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#log(`orchestrator: ${proposalId(seq)}: ${message}`);
      record = { status: 'failed', summary: null, rationale: null, model: enricher.label, error: message, at: this.#now() };
    }
    if (this.#closed) return { ...proposalView(proposal), enrichment: record };
    this.#writeEnrichment(seq, record);
    const view = this.#proposalView(seq);
    if (view === null) throw new OrchestratorError('not_found', `proposal ${proposalId(seq)} vanished`, 'reload the proposals');
    this.#emit([{ type: 'proposal', event: record.status === 'done' ? 'enriched' : 'enrichment_failed', proposal: view }]);
    return view;
  }

  /** Replaces only the enrichment of the proposal as it is now (it may have been decided meanwhile). */
  #writeEnrichment(seq: number, record: EnrichmentRecord): void {
    this.#store.transaction(() => {
      const current = this.#store.proposal(seq);
      if (current) this.#store.updateProposal(seq, current.status, { ...current, enrichment: record }, current.updatedAt);
    });
  }

  /** Resolves when no enrichment is running (tests; a graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#enrichments.size > 0) await Promise.allSettled([...this.#enrichments.values()]);
  }

  /** Stops the sweep timer and closes the database; enrichments still running are dropped. Calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#listeners.clear();
    this.#store.close();
  }
}

function enrichmentRecord(status: 'off' | 'pending'): EnrichmentRecord {
  return { status, summary: null, rationale: null, model: null, error: null, at: null };
}
