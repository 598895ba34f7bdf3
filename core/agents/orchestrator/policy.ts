/**
 * The orchestrator's policy: how anomalies correlate, when an incident earns a mitigation
 * proposal, how long a repeat offender's block lasts, and which proposals (if any) may be approved
 * without a person. Written by people (console settings, a file), so `parsePolicy` is total and
 * strict: every problem is reported, unknown fields are errors (a misspelt `minSeverty` must not
 * silently leave the default in force), and auto-approval exists only where a rule names it.
 */
import { SEVERITIES, type Severity } from '../monitor/detect/anomaly.ts';
import { parseDuration, type DurationInput } from './duration.ts';
import { DEFAULT_IPV6_CORRELATION_PREFIX } from './source-key.ts';

export interface ProposalThresholds {
  /** A rule's anomalies at this severity or worse make an incident worth a proposal. */
  readonly minSeverity: Severity;
  /** Fewer attempts than this across the incident: no proposal yet. */
  readonly minCount: number;
  /** Per-rule override of minSeverity; `never`: this rule alone never leads to a proposal. */
  readonly rules: Readonly<Record<string, Severity | 'never'>>;
}

/** fail2ban's bantime.increment: base × factor^(earlier bans), at most max. */
export interface Escalation {
  readonly baseTtlSeconds: number;
  readonly factor: number;
  readonly maxTtlSeconds: number;
  /** Bans older than this no longer count (fail2ban: dbpurgeage). */
  readonly forgetAfterMs: number;
}

/** A proposal matching this is approved by the system, and the approval audited. */
export interface AutoApproveRule {
  /** An exact rule name from the monitors' rules (no wildcards). */
  readonly rule: string;
  /** That rule's anomalies in the incident reached this severity. */
  readonly minSeverity: Severity;
  /** The suggested TTL is at most this; longer (an escalated repeat offender) needs a person. */
  readonly maxTtlSeconds: number;
}

export interface OrchestratorPolicy {
  /** Anomalies of one source whose activity is at most this far apart (event time) share an incident. */
  readonly correlationWindowMs: number;
  /** An incident closes once all its anomalies are closed and nothing arrived for this long (console clock). */
  readonly closeAfterQuietMs: number;
  /** ... or once nothing arrived for this long at all, open anomalies or not (a monitor that went away). */
  readonly staleAfterMs: number;
  /** IPv6 sources correlate by this prefix (source-key.ts says why /64). */
  readonly ipv6CorrelationPrefix: number;
  readonly thresholds: ProposalThresholds;
  readonly escalation: Escalation;
  /** The longest TTL an analyst may approve (edits beyond it are refused). */
  readonly maxApprovedTtlSeconds: number;
  /** Empty by default: nothing is approved without a person. */
  readonly autoApprove: readonly AutoApproveRule[];
}

/** What a person writes: durations as text, everything optional but autoApprove's fields. */
export interface PolicyInput {
  correlationWindow?: DurationInput;
  closeAfterQuiet?: DurationInput;
  staleAfter?: DurationInput;
  ipv6CorrelationPrefix?: number;
  thresholds?: { minSeverity?: Severity; minCount?: number; rules?: Record<string, Severity | 'never'> };
  escalation?: { baseTtl?: DurationInput; factor?: number; maxTtl?: DurationInput; forgetAfter?: DurationInput };
  maxApprovedTtl?: DurationInput;
  autoApprove?: Array<{ rule: string; minSeverity: Severity; maxTtl: DurationInput }>;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Defaults, chosen for sshd-style brute force against internet-facing hosts:
 * - 15 min correlation window: the built-in rules' cooldowns are up to 10 min, so one attacker's
 *   consecutive episodes land in one incident; a source back after a quarter hour is a new one.
 * - proposals from `high` up: the built-in brute-force rule (high) and success-after-failures
 *   (critical) propose; enumeration (medium) and scans (low) are shown but ask for no decision.
 * - escalation 1h, ×2, at most 1 week, forgetting bans after 30 days (fail2ban's increment
 *   formula with bantime = 1h and a maxtime).
 */
export const DEFAULT_POLICY: OrchestratorPolicy = {
  correlationWindowMs: 15 * MINUTE,
  closeAfterQuietMs: 15 * MINUTE,
  staleAfterMs: DAY,
  ipv6CorrelationPrefix: DEFAULT_IPV6_CORRELATION_PREFIX,
  thresholds: { minSeverity: 'high', minCount: 1, rules: {} },
  escalation: { baseTtlSeconds: 3_600, factor: 2, maxTtlSeconds: 7 * 86_400, forgetAfterMs: 30 * DAY },
  maxApprovedTtlSeconds: 30 * 86_400,
  autoApprove: [],
};

export type PolicyParse = { readonly ok: true; readonly policy: OrchestratorPolicy } | { readonly ok: false; readonly errors: string[] };

const RULE_NAME = /^[A-Za-z0-9._-]{1,100}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

/** A policy from what a person wrote (undefined/null: the defaults). Never throws. */
export function parsePolicy(input: unknown): PolicyParse {
  if (input === undefined || input === null) return { ok: true, policy: DEFAULT_POLICY };
  const errors: string[] = [];
  if (!isPlainObject(input)) return { ok: false, errors: ['policy: must be an object'] };
  const unknownKeys = (where: string, raw: Record<string, unknown>, allowed: readonly string[]): void => {
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) errors.push(`${where}: unknown field "${key}" (fields: ${allowed.join(', ')})`);
    }
  };
  const durationMs = (where: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    const parsed = parseDuration(value);
    if (!parsed.ok) {
      errors.push(`${where}: ${parsed.why}`);
      return fallback;
    }
    return parsed.seconds * 1000;
  };
  const durationSeconds = (where: string, value: unknown, fallback: number): number => Math.round(durationMs(where, value, fallback * 1000) / 1000);
  const severity = (where: string, value: unknown, fallback: Severity): Severity => {
    if (value === undefined) return fallback;
    if (isSeverity(value)) return value;
    errors.push(`${where}: ${JSON.stringify(value)} is not one of ${SEVERITIES.join(', ')}`);
    return fallback;
  };

  unknownKeys('policy', input, ['correlationWindow', 'closeAfterQuiet', 'staleAfter', 'ipv6CorrelationPrefix', 'thresholds', 'escalation', 'maxApprovedTtl', 'autoApprove']);
  const d = DEFAULT_POLICY;
  const correlationWindowMs = durationMs('policy.correlationWindow', input.correlationWindow, d.correlationWindowMs);
  const closeAfterQuietMs = durationMs('policy.closeAfterQuiet', input.closeAfterQuiet, d.closeAfterQuietMs);
  const staleAfterMs = durationMs('policy.staleAfter', input.staleAfter, d.staleAfterMs);
  if (staleAfterMs < closeAfterQuietMs) errors.push('policy.staleAfter: must be at least closeAfterQuiet');
  let ipv6CorrelationPrefix = d.ipv6CorrelationPrefix;
  if (input.ipv6CorrelationPrefix !== undefined) {
    const p = input.ipv6CorrelationPrefix;
    if (typeof p === 'number' && Number.isInteger(p) && p >= 32 && p <= 128) ipv6CorrelationPrefix = p;
    else errors.push(`policy.ipv6CorrelationPrefix: must be a whole number 32-128, got ${JSON.stringify(p)}`);
  }

  let thresholds = d.thresholds;
  if (input.thresholds !== undefined) {
    const t = input.thresholds;
    if (!isPlainObject(t)) errors.push('policy.thresholds: must be an object');
    else {
      unknownKeys('policy.thresholds', t, ['minSeverity', 'minCount', 'rules']);
      let minCount = d.thresholds.minCount;
      if (t.minCount !== undefined) {
        if (typeof t.minCount === 'number' && Number.isSafeInteger(t.minCount) && t.minCount >= 1) minCount = t.minCount;
        else errors.push(`policy.thresholds.minCount: must be a whole number >= 1, got ${JSON.stringify(t.minCount)}`);
      }
      const rules: Record<string, Severity | 'never'> = {};
      if (t.rules !== undefined) {
        if (!isPlainObject(t.rules)) errors.push('policy.thresholds.rules: must map rule names to a severity or "never"');
        else {
          for (const [rule, value] of Object.entries(t.rules)) {
            if (!RULE_NAME.test(rule)) errors.push(`policy.thresholds.rules: ${JSON.stringify(rule)} is not a rule name`);
            else if (value === 'never' || isSeverity(value)) rules[rule] = value;
            else errors.push(`policy.thresholds.rules.${rule}: ${JSON.stringify(value)} is not one of ${SEVERITIES.join(', ')}, never`);
          }
        }
      }
      thresholds = { minSeverity: severity('policy.thresholds.minSeverity', t.minSeverity, d.thresholds.minSeverity), minCount, rules };
    }
  }

  let escalation = d.escalation;
  if (input.escalation !== undefined) {
    const e = input.escalation;
    if (!isPlainObject(e)) errors.push('policy.escalation: must be an object');
    else {
      unknownKeys('policy.escalation', e, ['baseTtl', 'factor', 'maxTtl', 'forgetAfter']);
      let factor = d.escalation.factor;
      if (e.factor !== undefined) {
        if (typeof e.factor === 'number' && Number.isFinite(e.factor) && e.factor >= 1 && e.factor <= 100) factor = e.factor;
        else errors.push(`policy.escalation.factor: must be a number from 1 to 100, got ${JSON.stringify(e.factor)}`);
      }
      const baseTtlSeconds = durationSeconds('policy.escalation.baseTtl', e.baseTtl, d.escalation.baseTtlSeconds);
      const maxTtlSeconds = durationSeconds('policy.escalation.maxTtl', e.maxTtl, d.escalation.maxTtlSeconds);
      if (maxTtlSeconds < baseTtlSeconds) errors.push('policy.escalation.maxTtl: must be at least baseTtl');
      escalation = { baseTtlSeconds, factor, maxTtlSeconds, forgetAfterMs: durationMs('policy.escalation.forgetAfter', e.forgetAfter, d.escalation.forgetAfterMs) };
    }
  }
  const maxApprovedTtlSeconds = durationSeconds('policy.maxApprovedTtl', input.maxApprovedTtl, d.maxApprovedTtlSeconds);
  if (maxApprovedTtlSeconds < escalation.maxTtlSeconds) errors.push('policy.maxApprovedTtl: must be at least escalation.maxTtl (proposals up to it must be approvable)');

  const autoApprove: AutoApproveRule[] = [];
  if (input.autoApprove !== undefined) {
    if (!Array.isArray(input.autoApprove)) errors.push('policy.autoApprove: must be a list of { rule, minSeverity, maxTtl }');
    else {
      input.autoApprove.forEach((raw: unknown, i) => {
        const where = `policy.autoApprove[${i}]`;
        if (!isPlainObject(raw)) {
          errors.push(`${where}: must be an object { rule, minSeverity, maxTtl }`);
          return;
        }
        unknownKeys(where, raw, ['rule', 'minSeverity', 'maxTtl']);
        // Every field is required: an action taken without a person must be spelled out in full.
        if (typeof raw.rule !== 'string' || !RULE_NAME.test(raw.rule)) {
          errors.push(`${where}.rule: required, an exact rule name (letters, digits, . _ -; no wildcards), got ${JSON.stringify(raw.rule)}`);
          return;
        }
        if (raw.minSeverity === undefined) errors.push(`${where}.minSeverity: required (${SEVERITIES.join(', ')})`);
        if (raw.maxTtl === undefined) errors.push(`${where}.maxTtl: required, e.g. "1h"`);
        if (raw.minSeverity === undefined || raw.maxTtl === undefined) return;
        const maxTtlSeconds = durationSeconds(`${where}.maxTtl`, raw.maxTtl, 0);
        const minSeverity = severity(`${where}.minSeverity`, raw.minSeverity, 'critical');
        if (maxTtlSeconds > 0) autoApprove.push({ rule: raw.rule, minSeverity, maxTtlSeconds });
      });
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    policy: { correlationWindowMs, closeAfterQuietMs, staleAfterMs, ipv6CorrelationPrefix, thresholds, escalation, maxApprovedTtlSeconds, autoApprove },
  };
}
