/**
 * Correlation of anomalies into incidents: the pure part (no database, no clock of its own).
 *
 * An incident is one source's activity as seen by any number of monitors and rules: every
 * anomaly whose source has the same correlation key (source-key.ts) and whose activity lies within
 * the correlation window (event time) of the incident's joins it. Each anomaly — keyed by
 * (agent hostname, anomaly id), since two monitors can produce the same id — belongs to exactly
 * one incident for good; later revisions of it update that incident in place, older or repeated
 * revisions are dropped. Incidents are never merged or split after the fact: an anomaly that
 * arrives late and could belong to two joins the most recently active one.
 *
 * Aggregates are folded in one anomaly revision at a time so that an update costs the same in an
 * incident of five anomalies as in one of fifty thousand: counts by difference, times and
 * severity as running extremes, lists as bounded samples with exact totals.
 *
 * Everything that came from a monitor (user names, evidence lines, summaries, rule names) is
 * attacker-influenced text: it is clipped and stripped of control characters here, shown as text,
 * and never interpreted.
 */
import { SEVERITIES, type AnomalyUpdate, type Severity } from '../monitor/detect/anomaly.ts';
import { isSeverity, severityRank } from './policy.ts';
import { sourceKeyOf } from './source-key.ts';

export const INCIDENT_STATES = ['open', 'proposed', 'mitigated', 'rejected', 'closed'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

/** Bounds on what one anomaly and one incident keep: a flood of made-up user names or giant log lines stays small. */
export const INCIDENT_LIMITS = {
  anomalyIdLength: 200,
  ruleLength: 100,
  agentLength: 253,
  summaryLength: 500,
  userLength: 100,
  usersPerAnomaly: 20,
  evidencePerAnomaly: 12,
  evidenceTextLength: 500,
  /** Incident samples. */
  users: 30,
  sources: 32,
  agents: 64,
  rules: 64,
  mitre: 32,
  /** The incident keeps its earliest and its latest evidence lines, this many of each. */
  evidenceHead: 10,
  evidenceTail: 10,
  /** A monitor's clock ahead of ours by more than this is clipped (as the console's feed does). */
  clockSkewMs: 5 * 60_000,
} as const;

/** One anomaly as the orchestrator keeps it: the latest revision received. */
export interface IncidentMember {
  readonly agent: string;
  readonly anomalyId: string;
  readonly rule: string;
  readonly detector: string;
  readonly severity: Severity;
  readonly mitre: string;
  readonly sourceIp: string;
  readonly sourceKey: string;
  readonly family: 4 | 6 | null;
  readonly revision: number;
  readonly state: 'open' | 'closed';
  readonly count: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly summary: string;
  readonly users: readonly string[];
  readonly usersTotal: number;
  readonly evidence: readonly IncidentEvidence[];
  /** Lines the anomaly reported for its episode (kept + omitted). */
  readonly evidenceReported: number;
}

export interface IncidentEvidence {
  readonly agent: string;
  readonly rule: string;
  readonly line: number;
  readonly time: number;
  readonly text: string;
}

/** The incident's facts, folded from its anomalies (the stored row minus ids and bookkeeping). */
export interface IncidentAggregate {
  readonly sourceKey: string;
  readonly family: 4 | 6 | null;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Attempts: the sum of every anomaly's latest count. */
  readonly count: number;
  readonly anomalies: number;
  readonly openAnomalies: number;
  readonly maxSeverity: Severity;
  readonly sources: readonly string[];
  readonly sourcesTotal: number;
  /** Each rule that fired, with the worst severity its anomalies here had. */
  readonly rules: Readonly<Record<string, Severity>>;
  readonly agents: readonly string[];
  readonly agentsTotal: number;
  readonly mitre: readonly string[];
  readonly users: readonly string[];
  /** A lower bound once the sample is full. */
  readonly usersTotal: number;
  readonly evidence: readonly IncidentEvidence[];
  readonly evidenceReported: number;
}

export type MemberParse = { readonly ok: true; readonly member: IncidentMember } | { readonly ok: false; readonly why: string };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Control characters and line breaks become spaces; text is clipped to `max` characters. */
export function cleanText(value: string, max: number): string {
  const flat = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

const UPDATE_TYPES = ['opened', 'updated', 'closed'] as const;
/** Times before this are a broken clock or a bad field. */
const EARLIEST_TIME = Date.UTC(2000, 0, 1);

/**
 * One anomaly report from `agent` (a monitor's hostname) as a member, or why it cannot be one.
 * Total: the report crossed the network, so nothing about its shape is assumed.
 */
export function memberOfUpdate(agent: string, update: AnomalyUpdate | unknown, now: number, ipv6Prefix: number): MemberParse {
  if (typeof agent !== 'string' || agent.trim() === '' || agent.length > INCIDENT_LIMITS.agentLength) return { ok: false, why: 'the sending agent has no usable hostname' };
  if (!isPlainObject(update) || !(UPDATE_TYPES as readonly unknown[]).includes(update.type)) return { ok: false, why: 'not an anomaly update ({ type: opened|updated|closed, anomaly })' };
  const a = update.anomaly;
  if (!isPlainObject(a)) return { ok: false, why: 'an update without an anomaly' };
  if (typeof a.id !== 'string' || a.id.trim() === '' || a.id.length > INCIDENT_LIMITS.anomalyIdLength) return { ok: false, why: 'an anomaly without a usable id' };
  const label = `anomaly ${JSON.stringify(a.id.slice(0, 60))} from ${agent}`;
  if (typeof a.rule !== 'string' || a.rule.trim() === '') return { ok: false, why: `${label}: no rule` };
  if (!isSeverity(a.severity)) return { ok: false, why: `${label}: severity ${JSON.stringify(a.severity)} is not one of ${SEVERITIES.join(', ')}` };
  if (typeof a.sourceIp !== 'string') return { ok: false, why: `${label}: no source address` };
  const key = sourceKeyOf(a.sourceIp, ipv6Prefix);
  if (key === null) return { ok: false, why: `${label}: source ${JSON.stringify(a.sourceIp.slice(0, 60))} is neither an address nor a host name` };
  const revision = a.revision;
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 1) return { ok: false, why: `${label}: revision must be a whole number >= 1` };
  const count = a.count;
  if (typeof count !== 'number' || !Number.isFinite(count) || count < 1) return { ok: false, why: `${label}: count must be a positive number` };
  if (typeof a.firstSeen !== 'number' || typeof a.lastSeen !== 'number' || !Number.isFinite(a.firstSeen) || !Number.isFinite(a.lastSeen) || a.firstSeen < EARLIEST_TIME || a.lastSeen < EARLIEST_TIME) {
    return { ok: false, why: `${label}: firstSeen/lastSeen must be epoch milliseconds after 2000` };
  }
  const lastSeen = Math.floor(Math.min(a.lastSeen, now + INCIDENT_LIMITS.clockSkewMs));
  const firstSeen = Math.floor(Math.min(a.firstSeen, lastSeen));
  const closed = update.type === 'closed' || a.state === 'closed';
  const rule = cleanText(a.rule.trim(), INCIDENT_LIMITS.ruleLength);
  const agentName = cleanText(agent.trim(), INCIDENT_LIMITS.agentLength);
  // The monitor's { sample, total }, or a plain list (as the console's feed reshapes it).
  const usersField: Record<string, unknown> = Array.isArray(a.users) ? { sample: a.users, total: a.usersTotal } : isPlainObject(a.users) ? a.users : {};
  const users: string[] = [];
  for (const u of Array.isArray(usersField.sample) ? usersField.sample : []) {
    if (users.length >= INCIDENT_LIMITS.usersPerAnomaly) break;
    if (typeof u !== 'string' || u === '') continue;
    const user = cleanText(u, INCIDENT_LIMITS.userLength);
    if (!users.includes(user)) users.push(user);
  }
  const usersTotal = typeof usersField.total === 'number' && Number.isSafeInteger(usersField.total) ? Math.max(usersField.total, users.length) : users.length;
  const evidence: IncidentEvidence[] = [];
  const rawEvidence = Array.isArray(a.evidence) ? a.evidence : [];
  // The first few and the latest few lines: the same shape the monitor sends, cut shorter.
  const half = INCIDENT_LIMITS.evidencePerAnomaly / 2;
  const picked = rawEvidence.length > INCIDENT_LIMITS.evidencePerAnomaly ? [...rawEvidence.slice(0, half), ...rawEvidence.slice(-half)] : rawEvidence;
  for (const e of picked) {
    if (!isPlainObject(e) || typeof e.text !== 'string') continue;
    const line = typeof e.line === 'number' && Number.isSafeInteger(e.line) && e.line >= 0 ? e.line : 0;
    const time = typeof e.time === 'number' && Number.isFinite(e.time) ? Math.floor(e.time) : lastSeen;
    evidence.push({ agent: agentName, rule, line, time, text: cleanText(e.text, INCIDENT_LIMITS.evidenceTextLength) });
  }
  const omitted = typeof a.evidenceOmitted === 'number' && Number.isSafeInteger(a.evidenceOmitted) && a.evidenceOmitted > 0 ? a.evidenceOmitted : 0;
  const mitre = typeof a.mitre === 'string' && /^T\d{4}(?:\.\d{3})?$/.test(a.mitre.trim()) ? a.mitre.trim() : '';
  return {
    ok: true,
    member: {
      agent: agentName,
      anomalyId: cleanText(a.id.trim(), INCIDENT_LIMITS.anomalyIdLength),
      rule,
      detector: typeof a.detector === 'string' ? cleanText(a.detector, INCIDENT_LIMITS.ruleLength) : '',
      severity: a.severity,
      mitre,
      sourceIp: key.source,
      sourceKey: key.key,
      family: key.family,
      revision,
      state: closed ? 'closed' : 'open',
      count: Math.min(Math.floor(count), Number.MAX_SAFE_INTEGER),
      firstSeen,
      lastSeen,
      summary: typeof a.summary === 'string' ? cleanText(a.summary, INCIDENT_LIMITS.summaryLength) : '',
      users,
      usersTotal,
      evidence,
      evidenceReported: Math.min(rawEvidence.length + omitted, Number.MAX_SAFE_INTEGER),
    },
  };
}

/** Whether `member`'s activity lies within `windowMs` (event time) of the incident's. */
export function withinWindow(incident: { firstSeen: number; lastSeen: number }, member: { firstSeen: number; lastSeen: number }, windowMs: number): boolean {
  return member.firstSeen <= incident.lastSeen + windowMs && member.lastSeen >= incident.firstSeen - windowMs;
}

/** An incident made of its first anomaly. */
export function aggregateOf(member: IncidentMember): IncidentAggregate {
  return {
    sourceKey: member.sourceKey,
    family: member.family,
    firstSeen: member.firstSeen,
    lastSeen: member.lastSeen,
    count: member.count,
    anomalies: 1,
    openAnomalies: member.state === 'open' ? 1 : 0,
    maxSeverity: member.severity,
    sources: [member.sourceIp],
    sourcesTotal: 1,
    rules: { [member.rule]: member.severity },
    agents: [member.agent],
    agentsTotal: 1,
    mitre: member.mitre ? [member.mitre] : [],
    users: member.users.slice(0, INCIDENT_LIMITS.users),
    usersTotal: member.usersTotal,
    evidence: mergeEvidence([], member.evidence),
    evidenceReported: member.evidenceReported,
  };
}

/** Whether a value outside a full sample is new to the incident; the store answers with one indexed lookup. */
export interface MembershipLookup {
  hasSource(sourceIp: string): boolean;
  hasAgent(agent: string): boolean;
}

function worse(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** `sample` with `value` added if there is room; `total` counts distinct values exactly. */
function addToSample(sample: readonly string[], total: number, value: string, limit: number, seenBefore: () => boolean): { sample: readonly string[]; total: number } {
  if (sample.includes(value)) return { sample, total };
  if (sample.length < limit) return { sample: [...sample, value], total: total + 1 };
  return { sample, total: seenBefore() ? total : total + 1 };
}

/**
 * The incident after one anomaly revision: `previous` is the revision it replaces (null for an
 * anomaly new to the incident). `lookup` tells whether a source or agent beyond a full sample was
 * seen before, and is asked only for new anomalies (a revision never changes agent or source).
 */
export function foldMember(agg: IncidentAggregate, previous: IncidentMember | null, next: IncidentMember, lookup: MembershipLookup): IncidentAggregate {
  let { sources, sourcesTotal, agents, agentsTotal } = agg;
  if (previous === null) {
    ({ sample: sources, total: sourcesTotal } = addToSample(sources, sourcesTotal, next.sourceIp, INCIDENT_LIMITS.sources, () => lookup.hasSource(next.sourceIp)));
    ({ sample: agents, total: agentsTotal } = addToSample(agents, agentsTotal, next.agent, INCIDENT_LIMITS.agents, () => lookup.hasAgent(next.agent)));
  }
  const rules = { ...agg.rules };
  const ruleSeverity = rules[next.rule];
  if (ruleSeverity !== undefined || Object.keys(rules).length < INCIDENT_LIMITS.rules) rules[next.rule] = ruleSeverity === undefined ? next.severity : worse(ruleSeverity, next.severity);
  const mitre = next.mitre && !agg.mitre.includes(next.mitre) && agg.mitre.length < INCIDENT_LIMITS.mitre ? [...agg.mitre, next.mitre] : agg.mitre;
  let users = agg.users;
  for (const u of next.users) {
    if (users.length >= INCIDENT_LIMITS.users) break;
    if (!users.includes(u)) users = [...users, u];
  }
  const wasOpen = previous?.state === 'open' ? 1 : 0;
  const isOpen = next.state === 'open' ? 1 : 0;
  return {
    ...agg,
    firstSeen: Math.min(agg.firstSeen, next.firstSeen),
    lastSeen: Math.max(agg.lastSeen, next.lastSeen),
    count: agg.count - (previous?.count ?? 0) + next.count,
    anomalies: agg.anomalies + (previous === null ? 1 : 0),
    openAnomalies: agg.openAnomalies - wasOpen + isOpen,
    maxSeverity: worse(agg.maxSeverity, next.severity),
    sources,
    sourcesTotal,
    rules,
    agents,
    agentsTotal,
    mitre,
    users,
    usersTotal: Math.max(agg.usersTotal, next.usersTotal, users.length),
    evidence: mergeEvidence(agg.evidence, next.evidence),
    evidenceReported: agg.evidenceReported - (previous?.evidenceReported ?? 0) + next.evidenceReported,
  };
}

function evidenceOrder(a: IncidentEvidence, b: IncidentEvidence): number {
  return a.time - b.time || (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0) || a.line - b.line || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
}

/**
 * The earliest and the latest lines of everything seen so far, each line once (two rules on one
 * monitor cite the same log line). Exact under repetition: the first k of a union are the first k
 * of (the kept first k) ∪ (the new lines), and likewise for the last k.
 */
export function mergeEvidence(kept: readonly IncidentEvidence[], lines: readonly IncidentEvidence[]): IncidentEvidence[] {
  const seen = new Set<string>();
  const all: IncidentEvidence[] = [];
  for (const e of [...kept, ...lines]) {
    const id = `${e.agent}\u0000${e.line}\u0000${e.time}\u0000${e.text}`;
    if (seen.has(id)) continue;
    seen.add(id);
    all.push(e);
  }
  all.sort(evidenceOrder);
  const { evidenceHead, evidenceTail } = INCIDENT_LIMITS;
  return all.length <= evidenceHead + evidenceTail ? all : [...all.slice(0, evidenceHead), ...all.slice(-evidenceTail)];
}

/** Rules in the incident, worst first, then by name. */
export function rulesBySeverity(rules: Readonly<Record<string, Severity>>): Array<{ rule: string; severity: Severity }> {
  return Object.entries(rules)
    .map(([rule, severity]) => ({ rule, severity }))
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
}
