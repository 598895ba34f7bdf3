/**
 * What the orchestrator shows and hands out: plain JSON-serializable objects (they cross IPC to
 * the renderer and go into the audit log), built from the stored rows.
 */
import type { Severity } from '../monitor/detect/anomaly.ts';
import { rulesBySeverity, type IncidentEvidence, type IncidentState } from './incidents.ts';
import type { EnrichmentRecord, StoredIncident, StoredMember, StoredProposal } from './incident-store.ts';
import type { MitigationAction, MitigationResult, ProposalStatus } from './proposals.ts';

export interface IncidentView {
  /** `incident-<n>`. */
  readonly id: string;
  readonly state: IncidentState;
  /** The correlation key: `A.B.C.D/32`, `NET::/64`, or `host:NAME`. */
  readonly sourceKey: string;
  /** False for a source known only by host name: no block can be proposed. */
  readonly blockable: boolean;
  readonly sources: readonly string[];
  readonly sourcesTotal: number;
  /** The worst severity of its anomalies. */
  readonly severity: Severity;
  /** Rules that fired, worst first, each with its worst severity here. */
  readonly rules: ReadonlyArray<{ readonly rule: string; readonly severity: Severity }>;
  readonly agents: readonly string[];
  readonly agentsTotal: number;
  readonly mitre: readonly string[];
  /** Attempts: the sum of the anomalies' counts. */
  readonly count: number;
  readonly anomalies: number;
  readonly openAnomalies: number;
  /** Event time (the monitors' clocks), epoch ms. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Attacker-chosen text: show it as text. */
  readonly users: readonly string[];
  readonly usersTotal: number;
  /** The earliest and latest lines (bounded), oldest first. Attacker-influenced text. */
  readonly evidence: readonly IncidentEvidence[];
  /** Lines the anomalies reported in all (a line cited by two rules counts twice). */
  readonly evidenceReported: number;
  /** Console clock, epoch ms. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly closedAt: number | null;
  /** The latest proposal for it, if any. */
  readonly proposalId: string | null;
  readonly proposalStatus: ProposalStatus | null;
}

/** One anomaly of an incident, for the incident's detail pane. */
export interface IncidentAnomalyView {
  readonly agent: string;
  readonly anomalyId: string;
  readonly rule: string;
  readonly severity: Severity;
  readonly mitre: string;
  readonly sourceIp: string;
  readonly state: 'open' | 'closed';
  readonly revision: number;
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly summary: string;
  readonly receivedAt: number;
}

export interface ProposalView {
  /** `proposal-<n>`. */
  readonly id: string;
  readonly incidentId: string;
  readonly status: ProposalStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly action: MitigationAction;
  /** What the rules suggest; an approval may have changed it (see `approved`). */
  readonly cidr: string;
  readonly ttlSeconds: number;
  /** Executors known when it was proposed. */
  readonly targets: readonly string[];
  readonly reason: string;
  readonly severity: Severity;
  readonly triggerRules: readonly string[];
  readonly sourceKey: string;
  /** Earlier bans of this source that set the TTL (escalation); 0 on a first offence. */
  readonly previousBans: number;
  readonly decision: {
    readonly kind: 'approved' | 'rejected';
    readonly by: string;
    readonly at: number;
    readonly reason: string | null;
    readonly auto: boolean;
    readonly policyRule: { readonly rule: string; readonly minSeverity: Severity; readonly maxTtlSeconds: number } | null;
    readonly edited: { readonly cidr?: string; readonly ttlSeconds?: number; readonly targets?: readonly string[] } | null;
  } | null;
  /** The terms sent, once approved. */
  readonly approved: { readonly requestId: string; readonly cidr: string; readonly ttlSeconds: number; readonly targets: readonly string[]; readonly at: number } | null;
  /** Each executor's latest result. */
  readonly results: ReadonlyArray<{ readonly target: string; readonly result: MitigationResult; readonly at: number; readonly detail: string | null; readonly expiresAt: number | null }>;
  /** LLM text for the analyst (display only; status `off` when enrichment is not configured). */
  readonly enrichment: EnrichmentRecord;
}

/** What the console signs and submits to each target executor after an approval. */
export interface ApprovedMitigation {
  readonly requestId: string;
  readonly proposalId: string;
  readonly incidentId: string;
  readonly action: MitigationAction;
  readonly cidr: string;
  readonly ttlSeconds: number;
  readonly reason: string;
  readonly targets: readonly string[];
  readonly approvedBy: string;
  readonly approvedAt: number;
  /** True when an auto-approval policy rule approved it, not a person. */
  readonly auto: boolean;
}

/** An audit-log entry to append (core/store/audit-log.ts `append(actor, action, subject, details)`). */
export interface AuditRecord {
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Record<string, unknown>;
}

export type AuditCallback = (actor: string, action: string, subject: string, details: Record<string, unknown>) => void;

/** Everything that changed, as it happened; `ingest`, `sweep` and the decision calls return or emit these. */
export type IncidentChange =
  | { readonly type: 'incident'; readonly event: 'opened' | 'updated' | 'reopened' | 'closed'; readonly incident: IncidentView }
  | { readonly type: 'proposal'; readonly event: 'created' | 'updated' | 'approved' | 'rejected' | 'result' | 'enrichment_started' | 'enriched' | 'enrichment_failed'; readonly proposal: ProposalView }
  | { readonly type: 'auto_approved'; readonly proposal: ProposalView; readonly mitigation: ApprovedMitigation; readonly audit: AuditRecord };

/*
 * Ids are `incident-N` and `proposal-N`: readable, and within the task wire's id alphabet and
 * length ([A-Za-z0-9_-], 8-64 characters), so an incident id travels with its mitigation as is.
 */
export function incidentId(seq: number): string {
  return `incident-${seq}`;
}

export function proposalId(seq: number): string {
  return `proposal-${seq}`;
}

/** The number in `incident-12` / `proposal-7`, or null. */
export function seqOfId(prefix: 'incident' | 'proposal', id: unknown): number | null {
  if (typeof id !== 'string') return null;
  const match = /^([a-z]+)-(\d{1,15})$/.exec(id.trim());
  if (!match || match[1] !== prefix) return null;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

export function incidentView(i: StoredIncident, proposalStatus: ProposalStatus | null): IncidentView {
  return {
    id: incidentId(i.seq),
    state: i.state,
    sourceKey: i.sourceKey,
    blockable: i.family !== null,
    sources: [...i.sources],
    sourcesTotal: i.sourcesTotal,
    severity: i.maxSeverity,
    rules: rulesBySeverity(i.rules),
    agents: [...i.agents],
    agentsTotal: i.agentsTotal,
    mitre: [...i.mitre],
    count: i.count,
    anomalies: i.anomalies,
    openAnomalies: i.openAnomalies,
    firstSeen: i.firstSeen,
    lastSeen: i.lastSeen,
    users: [...i.users],
    usersTotal: i.usersTotal,
    evidence: i.evidence.map((e) => ({ ...e })),
    evidenceReported: i.evidenceReported,
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
    closedAt: i.closedAt,
    proposalId: i.latestProposal === null ? null : proposalId(i.latestProposal),
    proposalStatus,
  };
}

export function incidentAnomalyView(m: StoredMember): IncidentAnomalyView {
  return {
    agent: m.agent,
    anomalyId: m.anomalyId,
    rule: m.rule,
    severity: m.severity,
    mitre: m.mitre,
    sourceIp: m.sourceIp,
    state: m.state,
    revision: m.revision,
    count: m.count,
    firstSeen: m.firstSeen,
    lastSeen: m.lastSeen,
    summary: m.summary,
    receivedAt: m.receivedAt,
  };
}

export function proposalView(p: StoredProposal): ProposalView {
  const d = p.decision;
  return {
    id: proposalId(p.seq),
    incidentId: incidentId(p.incidentSeq),
    status: p.status,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
    action: p.action,
    cidr: p.cidr,
    ttlSeconds: p.ttlSeconds,
    targets: [...p.targets],
    reason: p.reason,
    severity: p.severity,
    triggerRules: [...p.triggerRules],
    sourceKey: p.sourceKey,
    previousBans: p.previousBans,
    decision: d === null ? null : { kind: d.kind, by: d.by, at: d.at, reason: d.reason, auto: d.autoRule !== null, policyRule: d.autoRule, edited: d.edited },
    approved: p.approved === null ? null : { ...p.approved, targets: [...p.approved.targets] },
    results: Object.entries(p.results)
      .map(([target, r]) => ({ target, result: r.result, at: r.at, detail: r.detail, expiresAt: r.expiresAt }))
      .sort((a, b) => (a.target < b.target ? -1 : 1)),
    enrichment: { ...p.enrichment },
  };
}
