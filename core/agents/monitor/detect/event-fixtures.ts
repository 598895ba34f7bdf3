/**
 * Events and rules for the detector tests: events are written as "second t, from ip, kind",
 * rules as the YAML a user would write (so tests go through the real rules loader).
 */
import assert from 'node:assert/strict';
import type { EventKind, SecurityEvent } from '../event.ts';
import type { AnomalyUpdate } from './anomaly.ts';
import type { DetectorEngine } from './engine.ts';
import { parseRules } from './rules.ts';
import type { DetectionRule } from './rules.ts';

/** 2024-03-01T00:00:00Z: event times in tests are seconds after this. */
export const T0 = Date.UTC(2024, 2, 1);

let nextLine = 1;

export interface EventFields {
  readonly ip?: string | null;
  readonly user?: string | null;
  readonly kind?: EventKind;
  readonly program?: string;
  readonly count?: number;
  readonly port?: number;
}

/** An event at `seconds` after T0 (default: an sshd auth_failure for root from 203.0.113.5). */
export function at(seconds: number, fields: EventFields = {}): SecurityEvent {
  const line = nextLine++;
  const kind = fields.kind ?? 'auth_failure';
  const ip = fields.ip === undefined ? '203.0.113.5' : fields.ip;
  const user = fields.user === undefined ? 'root' : fields.user;
  return {
    time: T0 + Math.round(seconds * 1000),
    sourceIp: ip,
    user,
    kind,
    program: fields.program ?? (kind === 'firewall_drop' ? 'kernel' : kind === 'web_bot_search' ? 'nginx' : 'sshd'),
    line,
    text: `line ${line}: ${kind} ${user ?? '-'} from ${ip ?? '-'}`,
    count: fields.count ?? 1,
    ...(fields.port !== undefined ? { destPort: fields.port } : {}),
  };
}

/** Only the rules in `yaml` (builtin_rules: false); fails the test if the YAML is invalid. */
export function rulesFrom(yaml: string): DetectionRule[] {
  const result = parseRules(`builtin_rules: false\n${yaml}`, 'test-rules.yaml');
  if (!result.ok) assert.fail(`test rules are invalid:\n${result.errors.join('\n')}`);
  return [...result.rules];
}

/** Pushes every event (then flushes, unless told not to) and returns all updates in order. */
export function run(engine: DetectorEngine, events: readonly SecurityEvent[], { flush = true } = {}): AnomalyUpdate[] {
  const out: AnomalyUpdate[] = [];
  for (const event of events) out.push(...engine.push(event));
  if (flush) out.push(...engine.flush());
  return out;
}

export function opened(updates: readonly AnomalyUpdate[]): AnomalyUpdate[] {
  return updates.filter((update) => update.type === 'opened');
}
