/**
 * The console's mitigation desk: the orchestrator (anomalies → incidents → proposed blocks), the
 * analyst's decisions on them, delivery of approved blocks to executors as signed tasks (port
 * 1003), the executors' results (answers and their "decisions" streams), and the audit trail.
 *
 * Nothing here acts on its own: a block leaves this console only after an analyst approved it,
 * or an auto-approval rule the operator wrote approved it (audited as such). Executors check
 * every request again against their own policy and may refuse it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { enrichmentOptionsFromEnv, MITIGATION_RESULTS, Orchestrator, type PolicyInput, type ApprovedMitigation, type IncidentChange, type ProposalView } from '../agents/orchestrator/orchestrator.ts';
import type { Daemon } from '../overlay/daemon.ts';
import { SwarmError } from '../overlay/errors.ts';
import type { TaskResultMessage } from '../overlay/task-wire.ts';
import { DecisionReportStore, type DecisionReportRow } from '../store/decision-report-store.ts';
import type { EventLogStore } from '../store/event-log-store.ts';
import type {
  ApprovalOutcome,
  AuditLogView,
  ConsoleEvent,
  DecisionRow,
  FeedAgent,
  IncidentDetailView,
  IncidentsView,
  MitigationDelivery,
  ProposalRow,
} from './api.ts';
import { DECISIONS_TOPIC } from '../agents/executor/executor-role.ts';
import { TopicSubscriptions } from './topic-subscriptions.ts';
import { newRequestId } from '../agents/executor/mitigation-order.ts';

export const INCIDENTS_DB = 'incidents.db';
export const MITIGATIONS_DB = 'mitigations.db';
/** The orchestrator's policy (correlation, thresholds, escalation, auto-approval), optional. */
export const POLICY_FILE = 'orchestrator.json';
const MITIGATION_TASK = 'mitigation';
/** Changes are pushed to the UI at most this often (a burst of anomalies updates one incident many times). */
const PUSH_INTERVAL_MS = 100;

export interface MitigationDeskOptions {
  readonly daemon: Daemon;
  readonly cursors: EventLogStore;
  readonly emit: (event: ConsoleEvent) => void;
  /** Who approves in this console (recorded with every decision). */
  readonly analyst: string;
  readonly log?: (line: string) => void;
}

class DeskError extends SwarmError {}

const text = (v: unknown, max: number): string | null => (typeof v === 'string' ? v.slice(0, max) : null);
const time = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null);

/**
 * A report from an executor's "decisions" stream, as a row. Untrusted input (it crossed the
 * network from a peer we trust to run a firewall, not to write our database): every field is
 * checked and bounded; the executor's name comes from the authenticated stream, never the payload.
 */
export function decisionOfReport(executor: string, report: unknown, now: number): DecisionReportRow | null {
  if (typeof report !== 'object' || report === null) return null;
  const r = report as { result?: Record<string, unknown>; decision?: Record<string, unknown> | null };
  const result = r.result;
  if (typeof result !== 'object' || result === null) return null;
  const requestId = text(result.requestId, 128);
  const status = text(result.status, 32);
  if (!requestId || !status) return null;
  const d = typeof r.decision === 'object' && r.decision !== null ? r.decision : {};
  const requester = typeof d.requester === 'object' && d.requester !== null ? (d.requester as Record<string, unknown>) : {};
  return {
    executor,
    requestId,
    incidentId: text(d.incidentId, 128),
    action: d.action === 'unblock' ? 'unblock' : 'block',
    cidr: text(d.cidr, 64) ?? text(result.cidr, 64) ?? '',
    // The decision's own state is the authority (it says `superseded` where a result cannot).
    state: text(d.state, 32) ?? status,
    code: text(d.code, 64) ?? text(result.code, 64),
    detail: text(d.detail, 500) ?? text(result.reason, 500),
    reason: text(d.reason, 1000) ?? '',
    requestedBy: text(requester.hostname, 200) ?? '',
    ttlSeconds: typeof d.ttlSeconds === 'number' && Number.isFinite(d.ttlSeconds) ? Math.max(0, Math.round(d.ttlSeconds)) : 0,
    appliedAt: time(d.appliedAt),
    expiresAt: time(d.expiresAt) ?? time(result.expiresAt),
    updatedAt: now,
  };
}

/** What an executor may report about a request (the orchestrator's result vocabulary). */
const RESULT_STATUSES: ReadonlySet<string> = new Set(MITIGATION_RESULTS);

export class MitigationDesk {
  readonly orchestrator: Orchestrator;
  readonly #o: MitigationDeskOptions;
  readonly #reports: DecisionReportStore;
  readonly #subscriptions: TopicSubscriptions;
  readonly #pendingIncidents = new Map<string, IncidentsView['incidents'][number]>();
  readonly #pendingProposals = new Map<string, ProposalRow>();
  #pushTimer: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(options: MitigationDeskOptions, orchestrator: Orchestrator, reports: DecisionReportStore) {
    this.#o = options;
    this.orchestrator = orchestrator;
    this.#reports = reports;
    this.#subscriptions = new TopicSubscriptions({
      daemon: options.daemon,
      topic: DECISIONS_TOPIC,
      cursors: options.cursors,
      publishes: (record) => record.capsReceived.includes('mitigation.request'),
      onEvents: (agent, data) => this.ingestDecisionReports(agent, data),
      ...(options.log ? { log: options.log } : {}),
    });
    orchestrator.on('change', (change) => this.#onChange(change));
  }

  static open(options: MitigationDeskOptions): MitigationDesk {
    const daemon = options.daemon;
    const audit = daemon.store.audit;
    const enrichment = enrichmentOptionsFromEnv();
    const orchestrator = Orchestrator.open({
      dbPath: join(daemon.stateDir, INCIDENTS_DB),
      policy: readPolicyFile(join(daemon.stateDir, POLICY_FILE)),
      ...(enrichment === null ? {} : { enrichment }),
      executors: () => executorsOf(daemon),
      audit: (actor, action, subject, details) => {
        audit.append(actor, action, subject, details);
      },
      ...(options.log ? { log: options.log } : {}),
    });
    let reports: DecisionReportStore;
    try {
      reports = DecisionReportStore.open(join(daemon.stateDir, MITIGATIONS_DB));
    } catch (err) {
      orchestrator.close();
      throw err;
    }
    const desk = new MitigationDesk(options, orchestrator, reports);
    desk.sync();
    return desk;
  }

  /** Follows the decisions of every trusted executor; call on every trust change. */
  sync(): void {
    this.#subscriptions.sync();
  }

  /** Anomaly reports from a monitor (raw `{ type, anomaly }` events): correlated into incidents. */
  ingestAnomalyReports(agent: FeedAgent, reports: unknown[]): void {
    if (this.#closed) return;
    try {
      this.orchestrator.ingestBatch(agent.hostname || agent.key, reports);
    } catch (err) {
      this.#o.log?.(`incidents: a batch from ${agent.hostname} was not correlated: ${(err as Error).message}`);
    }
  }

  /** Reports from an executor's "decisions" stream. */
  ingestDecisionReports(agent: FeedAgent, reports: unknown[]): void {
    if (this.#closed) return;
    const now = Date.now();
    const changed: DecisionRow[] = [];
    for (const report of reports) {
      const row = decisionOfReport(agent.hostname, report, now);
      if (row === null) continue;
      const stored = this.#reports.upsert(row);
      if (stored !== null) changed.push(stored);
      const status = (report as { result?: { status?: unknown } }).result?.status;
      if (typeof status === 'string' && RESULT_STATUSES.has(status) && row.action === 'block') this.#markResult(row.requestId, status, agent.hostname, row.detail, row.expiresAt);
    }
    if (changed.length > 0) this.#o.emit({ type: 'decisions', upsert: changed });
  }

  incidents(): IncidentsView {
    return { incidents: this.orchestrator.incidents({ limit: 500 }) as IncidentsView['incidents'], proposals: this.orchestrator.proposals({ limit: 500 }) as ProposalRow[], executors: executorsOf(this.#o.daemon) };
  }

  incidentDetail(id: string): IncidentDetailView {
    const incident = this.orchestrator.incident(id);
    if (incident === null) throw new DeskError('not_found', `incident ${id} is not stored`, 'reload the incidents');
    return { incident, anomalies: this.orchestrator.incidentAnomalies(id, 200), proposals: this.orchestrator.proposals({ incidentId: id }) as ProposalRow[] };
  }

  /** Approves (possibly edited) and delivers to every target; resolves once each answered. */
  async approve(proposalId: string, edits: { cidr: string | null; ttlSeconds: number | null; targets: string[] | null }): Promise<ApprovalOutcome> {
    const mitigation = this.orchestrator.approve(proposalId, this.#o.analyst, {
      ...(edits.cidr === null ? {} : { cidr: edits.cidr }),
      ...(edits.ttlSeconds === null ? {} : { ttl: edits.ttlSeconds }),
      ...(edits.targets === null ? {} : { targets: edits.targets }),
    });
    const deliveries = await this.#deliver(mitigation);
    const proposal = this.orchestrator.proposal(proposalId);
    if (proposal === null) throw new DeskError('not_found', `proposal ${proposalId} vanished after its approval`, 'reload the incidents');
    return { proposal: proposal as ProposalRow, deliveries };
  }

  reject(proposalId: string, reason: string): ProposalRow {
    return this.orchestrator.reject(proposalId, this.#o.analyst, reason) as ProposalRow;
  }

  /** Blocks executors reported (not the unblock requests that lifted some of them). */
  decisions(): DecisionRow[] {
    return this.#reports.list().filter((row) => row.action === 'block');
  }

  /** Asks the executor to lift a block now: a signed unblock request of its CIDR. */
  async revoke(executor: string, requestId: string, reason: string): Promise<DecisionRow> {
    const row = this.#reports.get(executor, requestId);
    if (row === null) throw new DeskError('not_found', `${executor} has reported no request ${requestId}`, 'reload the decisions');
    if (row.state !== 'applied') throw new DeskError('not_active', `the block of ${row.cidr} on ${executor} is ${row.state}, not active`, 'only an active block can be revoked');
    const payload = {
      id: newRequestId(),
      issuedAt: Date.now(),
      incidentId: row.incidentId,
      action: 'unblock',
      cidr: row.cidr,
      ttlSeconds: 0,
      reason: reason.trim() || `revoked by ${this.#o.analyst} in the console`,
    };
    const answer = await this.#o.daemon.submitTasks(executor, MITIGATION_TASK, [payload], this.#o.analyst);
    const result = answer.results[0];
    if (result === undefined || result.status !== 'applied') {
      throw new DeskError(result?.code ?? 'failed', `${executor} did not lift ${row.cidr}: ${result?.reason ?? 'no answer'}`, 'see the executor log; the block stays until it expires');
    }
    // The executor also publishes `revoked` for the original request; record it now rather than wait.
    const revoked = this.#reports.upsert({ ...row, state: 'revoked', detail: `unblocked by request ${payload.id}`, updatedAt: Date.now() }) ?? row;
    this.#o.emit({ type: 'decisions', upsert: [revoked] });
    this.#markResult(row.requestId, 'revoked', executor, `unblocked by ${this.#o.analyst}`, null);
    return revoked;
  }

  audit(limit: number): AuditLogView {
    const audit = this.#o.daemon.store.audit;
    const total = audit.count();
    const verdict = audit.verify();
    return {
      entries: audit.list({ afterSeq: Math.max(0, total - limit) }).reverse().map((e) => ({ seq: e.seq, at: e.at, node: e.node, actor: e.actor, action: e.action, subject: e.subject, details: e.details, hash: e.hash })),
      total,
      verify: { ok: verdict.ok, entries: verdict.entries, brokenAt: verdict.ok ? null : (verdict.brokenAt ?? null), problem: verdict.ok ? null : (verdict.problem ?? null) },
      node: { hostname: this.#o.daemon.hostname, fingerprint: this.#o.daemon.identity.fingerprint },
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pushTimer) clearTimeout(this.#pushTimer);
    this.#subscriptions.close();
    this.orchestrator.close();
    this.#reports.close();
  }

  /** Sends one signed request per target executor, records each answer. */
  async #deliver(m: ApprovedMitigation): Promise<MitigationDelivery[]> {
    const payload = { id: m.requestId, issuedAt: Date.now(), incidentId: m.incidentId, action: m.action, cidr: m.cidr, ttlSeconds: m.ttlSeconds, reason: m.reason };
    const actor = m.auto ? 'auto-approval' : m.approvedBy;
    return Promise.all(
      m.targets.map(async (target): Promise<MitigationDelivery> => {
        let result: TaskResultMessage | undefined;
        try {
          result = (await this.#o.daemon.submitTasks(target, MITIGATION_TASK, [payload], actor)).results[0];
        } catch (err) {
          const e = err as { code?: string; message?: string };
          if (!this.#closed) this.#markResult(m.requestId, 'failed', target, e.message ?? String(err), null);
          return { executor: target, status: 'failed', code: e.code ?? 'unreachable', reason: e.message ?? String(err), expiresAt: null };
        }
        if (this.#closed) return { executor: target, status: result?.status ?? 'failed', code: result?.code ?? null, reason: result?.reason ?? 'the console closed before recording the answer', expiresAt: null };
        if (result === undefined) return { executor: target, status: 'failed', code: 'no_result', reason: `${target} gave no result`, expiresAt: null };
        const detail = (result.detail ?? {}) as { cidr?: unknown; expiresAt?: unknown };
        const expiresAt = time(detail.expiresAt);
        const status = RESULT_STATUSES.has(result.status) ? result.status : 'failed';
        const now = Date.now();
        const row = this.#reports.upsert({
          executor: target,
          requestId: m.requestId,
          incidentId: m.incidentId,
          action: 'block',
          cidr: text(detail.cidr, 64) ?? m.cidr,
          state: status,
          code: result.code ?? null,
          detail: result.reason ?? null,
          reason: m.reason,
          requestedBy: this.#o.daemon.hostname,
          ttlSeconds: m.ttlSeconds,
          appliedAt: status === 'applied' ? now : null,
          expiresAt,
          updatedAt: now,
        });
        if (row !== null) this.#o.emit({ type: 'decisions', upsert: [row] });
        this.#markResult(m.requestId, status, target, result.reason ?? null, expiresAt);
        return { executor: target, status: result.status, code: result.code ?? null, reason: result.reason ?? null, expiresAt };
      }),
    );
  }

  #markResult(requestId: string, status: string, target: string, detail: string | null, expiresAt: number | null): void {
    if (this.#closed) return;
    try {
      this.orchestrator.markResult(requestId, status as 'applied', {
        target,
        ...(detail === null ? {} : { detail }),
        ...(expiresAt === null ? {} : { expiresAt }),
      });
    } catch (err) {
      // A result for a request this console did not approve (the CLI's `mitigate`, another
      // console): the decision row is kept, there is no proposal to update.
      const code = (err as { code?: string }).code;
      if (code !== 'not_found') this.#o.log?.(`incidents: result ${status} for ${requestId} from ${target} not recorded: ${(err as Error).message}`);
    }
  }

  #onChange(change: IncidentChange): void {
    if (this.#closed) return;
    if (change.type === 'incident') this.#pendingIncidents.set(change.incident.id, change.incident);
    else this.#pendingProposals.set(change.proposal.id, change.proposal as ProposalRow);
    if (change.type === 'auto_approved') {
      this.#o.log?.(`incidents: ${change.proposal.id} auto-approved by policy rule ${change.proposal.decision?.policyRule?.rule ?? '?'}; delivering`);
      this.#deliver(change.mitigation).catch((err: Error) => this.#o.log?.(`incidents: delivering ${change.proposal.id} failed: ${err.message}`));
    }
    if (this.#pushTimer === null) {
      this.#pushTimer = setTimeout(() => {
        this.#pushTimer = null;
        if (this.#closed) return;
        const incidents = [...this.#pendingIncidents.values()];
        const proposals = [...this.#pendingProposals.values()];
        this.#pendingIncidents.clear();
        this.#pendingProposals.clear();
        this.#o.emit({ type: 'incidents', incidents, proposals });
        this.#o.emit({ type: 'audit', entries: this.#o.daemon.store.audit.count() });
      }, PUSH_INTERVAL_MS);
      this.#pushTimer.unref();
    }
  }
}

/** The policy file's content (checked by the orchestrator), or undefined without one: the defaults. */
function readPolicyFile(path: string): PolicyInput | undefined {
  if (!existsSync(path)) return undefined;
  try {
    // Any shape: the orchestrator's parser checks every field and names each problem.
    return JSON.parse(readFileSync(path, 'utf8')) as PolicyInput;
  } catch (err) {
    throw new DeskError('invalid_policy', `${path} is not valid JSON: ${(err as Error).message}`, 'fix it (see core/agents/orchestrator/README.md), or remove it to use the defaults');
  }
}

/** Trusted peers that granted this console mitigation.request: where blocks can go. */
function executorsOf(daemon: Daemon): string[] {
  return daemon.trust
    .trusted()
    .filter((t) => t.capsReceived.includes('mitigation.request'))
    .map((t) => t.hostname)
    .sort();
}

export type { ProposalView };
