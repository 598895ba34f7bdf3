/**
 * Mitigation proposals, the rule-based part: whether an incident earns one, what it blocks and
 * for how long, the approval edits an analyst may make, and the state machine of a proposal from
 * `pending` to the executors' results. Pure functions; orchestrator.ts stores and sequences them.
 *
 *   pending ──approve──▶ approved ──executor results──▶ applied ──▶ expired | revoked
 *      │                     │                                      (per target: see targetTransition)
 *      └──reject──▶ rejected └──▶ refused | failed (no target applied it)
 *
 * Only `pending` can be approved or rejected; every other move is refused with an error that
 * names the current state. Nothing here acts: an approval returns the mitigation the console
 * signs and sends, and an executor's own policy still has the last word.
 */
import type { Severity } from '../monitor/detect/anomaly.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { cleanText, rulesBySeverity, type IncidentAggregate, type IncidentState } from './incidents.ts';
import { OrchestratorError } from './orchestrator-error.ts';
import { severityRank, type AutoApproveRule, type Escalation, type ProposalThresholds } from './policy.ts';
import { hostCidr, parseCidr } from './source-key.ts';

export const PROPOSAL_STATUSES = ['pending', 'approved', 'rejected', 'applied', 'refused', 'failed', 'expired', 'revoked'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

/** What an executor reports about one request. */
export const MITIGATION_RESULTS = ['applied', 'refused', 'failed', 'expired', 'revoked'] as const;
export type MitigationResult = (typeof MITIGATION_RESULTS)[number];

export const MITIGATION_ACTIONS = ['block'] as const;
export type MitigationAction = (typeof MITIGATION_ACTIONS)[number];

/** Longest analyst-written reason kept (a rejection's, a result's detail). */
export const REASON_MAX_CHARS = 500;
/** A proposal's reason travels in the signed order; the executor keeps reasons up to 1,000 characters. */
export const MITIGATION_REASON_MAX_CHARS = 900;
/** Most executors one mitigation may name. */
export const MAX_TARGETS = 64;

/** Why an incident qualifies: its worst qualifying severity and the rules that reached their threshold. */
export interface ProposalTrigger {
  readonly severity: Severity;
  readonly rules: readonly string[];
}

/**
 * Whether the incident is worth a proposal at all: a blockable source, enough attempts, and at
 * least one rule at or above its threshold (`never` rules do not count).
 */
export function proposalTrigger(agg: IncidentAggregate, thresholds: ProposalThresholds): ProposalTrigger | null {
  if (agg.family === null || agg.count < thresholds.minCount) return null;
  const rules: string[] = [];
  let severity: Severity | null = null;
  for (const { rule, severity: ruleSeverity } of rulesBySeverity(agg.rules)) {
    const threshold = thresholds.rules[rule] ?? thresholds.minSeverity;
    if (threshold === 'never' || severityRank(ruleSeverity) < severityRank(threshold)) continue;
    rules.push(rule);
    if (severity === null || severityRank(ruleSeverity) > severityRank(severity)) severity = ruleSeverity;
  }
  return severity === null ? null : { severity, rules };
}

/**
 * Whether a qualifying incident gets a new proposal, given its latest one: none while one is
 * pending or in force; after a rejection (or every executor's refusal) only if the incident got
 * worse than what was turned down; after a failure, expiry or revocation on renewed activity
 * (the caller asks only when an anomaly update arrived).
 */
export function shouldPropose(trigger: ProposalTrigger, latest: { status: ProposalStatus; severity: Severity } | null): boolean {
  if (latest === null) return true;
  switch (latest.status) {
    case 'pending':
    case 'approved':
    case 'applied':
      return false;
    case 'rejected':
    case 'refused':
      return severityRank(trigger.severity) > severityRank(latest.severity);
    case 'failed':
    case 'expired':
    case 'revoked':
      return true;
  }
}

/**
 * fail2ban's bantime.increment: `base × factor^previousBans`, at most `max`.
 * 1h base, factor 2: 1h, 2h, 4h, 8h … up to the cap.
 */
export function escalatedTtlSeconds(previousBans: number, escalation: Escalation): number {
  const ttl = escalation.baseTtlSeconds * escalation.factor ** Math.max(0, previousBans);
  return Number.isFinite(ttl) ? Math.min(escalation.maxTtlSeconds, Math.round(ttl)) : escalation.maxTtlSeconds;
}

/**
 * What to block: the one address (/32, /128) when the incident has one source; for IPv6
 * sources hopping inside their /64, the correlation block itself. Null for a host name.
 */
export function proposedCidr(agg: IncidentAggregate): string | null {
  if (agg.family === null) return null;
  const only = agg.sources[0];
  if (agg.sourcesTotal === 1 && only !== undefined) return hostCidr(only);
  return agg.family === 6 ? agg.sourceKey : only === undefined ? null : hostCidr(only);
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** The rule-based reason shown with a proposal and sent with the mitigation. */
export function proposalReason(agg: IncidentAggregate, trigger: ProposalTrigger, ttlSeconds: number, previousBans: number): string {
  const rules = rulesBySeverity(agg.rules)
    .filter((r) => trigger.rules.includes(r.rule))
    .map((r) => `${r.rule} (${r.severity})`)
    .join(', ');
  const agents = agg.agentsTotal === 1 ? `1 agent (${agg.agents[0] ?? '?'})` : `${agg.agentsTotal} agents`;
  const offense = previousBans === 0 ? 'first ban' : `${ordinal(previousBans + 1)} ban: ${previousBans} earlier`;
  return cleanText(`${rules}: ${agg.count} attempts seen by ${agents}; ${offense}, ${formatDuration(ttlSeconds)}`, MITIGATION_REASON_MAX_CHARS);
}

/** The first auto-approval rule the proposal satisfies, or null (the usual case: a person decides). */
export function matchAutoApprove(rules: readonly AutoApproveRule[], agg: IncidentAggregate, ttlSeconds: number): AutoApproveRule | null {
  for (const rule of rules) {
    const seen = agg.rules[rule.rule];
    if (seen === undefined || severityRank(seen) < severityRank(rule.minSeverity)) continue;
    if (ttlSeconds > rule.maxTtlSeconds) continue;
    return rule;
  }
  return null;
}

/** How an analyst may change a proposal when approving it. */
export interface ApprovalEdits {
  /** Another block, e.g. the /24 around the source. */
  readonly cidr?: string;
  /** Seconds, or a duration text such as `6h`. */
  readonly ttl?: number | string;
  /** Executor hostnames; each must be known now. */
  readonly targets?: readonly string[];
}

export interface ApprovalTerms {
  readonly cidr: string;
  readonly ttlSeconds: number;
  readonly targets: readonly string[];
  /** Only the fields the analyst actually changed, for the record. */
  readonly edited: { cidr?: string; ttlSeconds?: number; targets?: string[] };
}

const EDIT_FIELDS = ['cidr', 'ttl', 'targets'];

/**
 * The terms of an approval: the proposal's, with the analyst's edits checked. Throws
 * OrchestratorError (invalid_input, no_targets) saying what to fix.
 */
export function approvalTerms(
  proposal: { readonly cidr: string; readonly ttlSeconds: number; readonly targets: readonly string[] },
  edits: unknown,
  knownExecutors: readonly string[],
  maxTtlSeconds: number,
): ApprovalTerms {
  const raw: Record<string, unknown> = edits === undefined || edits === null ? {} : (edits as Record<string, unknown>);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new OrchestratorError('invalid_input', 'approval edits must be an object', `give any of ${EDIT_FIELDS.join(', ')}`);
  for (const key of Object.keys(raw)) {
    if (!EDIT_FIELDS.includes(key)) throw new OrchestratorError('invalid_input', `unknown approval edit "${key}"`, `edits: ${EDIT_FIELDS.join(', ')}`);
  }
  const edited: ApprovalTerms['edited'] = {};
  let cidr = proposal.cidr;
  if (raw.cidr !== undefined) {
    const parsed = parseCidr(raw.cidr);
    if (!parsed.ok) throw new OrchestratorError('invalid_input', `cannot approve with block ${JSON.stringify(String(raw.cidr).slice(0, 60))}: ${parsed.why}`, 'give an address or CIDR such as 198.51.100.23/32');
    if (parsed.cidr.prefix === 0) throw new OrchestratorError('invalid_input', `${parsed.cidr.text} would block every address`, 'give a narrower block');
    if (parsed.cidr.text !== cidr) edited.cidr = cidr = parsed.cidr.text;
  }
  let ttlSeconds = proposal.ttlSeconds;
  if (raw.ttl !== undefined) {
    const parsed = parseDuration(raw.ttl);
    if (!parsed.ok) throw new OrchestratorError('invalid_input', `cannot approve with TTL ${JSON.stringify(raw.ttl)}: ${parsed.why}`, 'give seconds or a duration such as 6h');
    if (parsed.seconds > maxTtlSeconds) {
      throw new OrchestratorError('invalid_input', `a TTL of ${formatDuration(parsed.seconds)} is longer than the policy allows (${formatDuration(maxTtlSeconds)})`, 'choose a shorter TTL, or raise maxApprovedTtl in the policy');
    }
    if (parsed.seconds !== ttlSeconds) edited.ttlSeconds = ttlSeconds = parsed.seconds;
  }
  let targets: string[];
  if (raw.targets !== undefined) {
    if (!Array.isArray(raw.targets) || raw.targets.some((t) => typeof t !== 'string')) throw new OrchestratorError('invalid_input', 'targets must be a list of executor hostnames', 'pick executors from the list of known ones');
    targets = [...new Set(raw.targets as string[])];
    if (targets.length === 0) throw new OrchestratorError('no_targets', 'an approval needs at least one target executor', 'pick one or more executors');
    if (targets.length > MAX_TARGETS) throw new OrchestratorError('invalid_input', `at most ${MAX_TARGETS} target executors per mitigation`, 'split it into several approvals');
    const unknown = targets.filter((t) => !knownExecutors.includes(t));
    if (unknown.length > 0) {
      throw new OrchestratorError(
        'invalid_input',
        `${unknown.map((t) => JSON.stringify(t.slice(0, 60))).join(', ')} ${unknown.length === 1 ? 'is not a known executor' : 'are not known executors'}`,
        knownExecutors.length ? `known executors: ${knownExecutors.join(', ')}` : 'no executor is trusted yet: approve an executor\'s trust handshake first',
      );
    }
    const sorted = [...targets].sort();
    const before = [...proposal.targets].sort();
    if (sorted.length !== before.length || sorted.some((t, i) => t !== before[i])) edited.targets = targets;
  } else {
    // The executors the proposal named that are still known; all known ones if none of those is.
    targets = proposal.targets.filter((t) => knownExecutors.includes(t));
    if (targets.length === 0) targets = knownExecutors.slice(0, MAX_TARGETS);
    if (targets.length === 0) throw new OrchestratorError('no_targets', 'no executor to send the mitigation to', 'approve a firewall executor\'s trust handshake (capability mitigation.request), then approve again');
  }
  return { cidr, ttlSeconds, targets, edited };
}

/**
 * One target's result after another: `change`, `same` (a repeated report: nothing to do) or
 * `invalid`. A block that is applied can only expire or be revoked; one that failed may still
 * be applied by a retry or refused; refused, expired and revoked are final.
 */
export function targetTransition(current: MitigationResult | null, next: MitigationResult): 'change' | 'same' | 'invalid' {
  if (current === next) return 'same';
  if (current === null) return 'change';
  if (current === 'applied') return next === 'expired' || next === 'revoked' ? 'change' : 'invalid';
  if (current === 'failed') return next === 'applied' || next === 'refused' ? 'change' : 'invalid';
  return 'invalid';
}

/**
 * An approved proposal's status from its targets' results: `applied` while any target has it in
 * force; once every target reported and none has, the most telling end (revoked, expired,
 * failed, refused); `approved` while some target has not answered and none applied it.
 */
export function approvedStatus(targets: readonly string[], results: Readonly<Record<string, MitigationResult>>): ProposalStatus {
  const reported = targets.map((t) => results[t]).filter((r): r is MitigationResult => r !== undefined);
  if (reported.includes('applied')) return 'applied';
  if (reported.length < targets.length) return 'approved';
  for (const end of ['revoked', 'expired', 'failed', 'refused'] as const) if (reported.includes(end)) return end;
  return 'approved';
}

/** Whether a ban counts toward a source's escalation: approved, unless no executor ever applied it. */
export function banCounts(status: ProposalStatus): boolean {
  return status === 'approved' || status === 'applied' || status === 'expired' || status === 'revoked';
}

/** The incident's state from whether it is closed and its latest proposal's status. */
export function incidentStateOf(closed: boolean, latest: ProposalStatus | null): IncidentState {
  if (closed) return 'closed';
  switch (latest) {
    case null:
      return 'open';
    case 'pending':
      return 'proposed';
    case 'approved':
    case 'applied':
      return 'mitigated';
    case 'rejected':
      return 'rejected';
    case 'refused':
    case 'failed':
    case 'expired':
    case 'revoked':
      return 'open';
  }
}

/** A proposal still waiting for a person or for its executors keeps its incident from closing. */
export function holdsIncidentOpen(status: ProposalStatus | null): boolean {
  return status === 'pending';
}
