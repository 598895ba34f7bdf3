/**
 * Anomaly updates and a ready orchestrator for the tests: anomalies are written as "rule X from
 * IP, n attempts at minute m", the way a monitor would report them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Anomaly, AnomalyUpdate, Severity } from '../monitor/detect/anomaly.ts';
import { Orchestrator, type OrchestratorOptions } from './orchestrator.ts';
import type { AuditRecord, IncidentChange } from './views.ts';

/** 2025-11-25T10:00:00Z: anomaly times in tests are minutes after this. */
export const T0 = Date.UTC(2025, 10, 25, 10, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

export interface AnomalyFields {
  readonly id?: string;
  readonly rule?: string;
  readonly severity?: Severity;
  readonly sourceIp?: string;
  readonly revision?: number;
  readonly count?: number;
  /** Minutes after T0. */
  readonly from?: number;
  readonly to?: number;
  readonly state?: 'open' | 'closed';
  readonly users?: readonly string[];
  readonly evidence?: ReadonlyArray<{ line: number; minute: number; text: string }>;
  readonly mitre?: string;
}

/** An anomaly as the detector engine reports it (default: a high auth-brute-force from 198.51.100.23). */
export function anomaly(fields: AnomalyFields = {}): Anomaly {
  const rule = fields.rule ?? 'auth-brute-force';
  const sourceIp = fields.sourceIp ?? '198.51.100.23';
  const from = T0 + (fields.from ?? 0) * MINUTE;
  const to = T0 + (fields.to ?? fields.from ?? 0) * MINUTE;
  const users = fields.users ?? ['root'];
  const count = fields.count ?? 6;
  return {
    id: fields.id ?? `${rule}/${sourceIp}/${from}/1`,
    rule,
    detector: rule === 'user-enumeration' ? 'user_enumeration' : 'brute_force',
    severity: fields.severity ?? 'high',
    mitre: fields.mitre ?? 'T1110.001',
    sourceIp,
    state: fields.state ?? 'open',
    revision: fields.revision ?? 1,
    count,
    firstSeen: from,
    lastSeen: to,
    detectedAt: from,
    users: { sample: users, total: users.length, totalIsLowerBound: false },
    evidence: (fields.evidence ?? [{ line: 10, minute: fields.from ?? 0, text: `sshd[100]: Failed password for ${users[0] ?? 'root'} from ${sourceIp} port 40000 ssh2` }]).map((e) => ({
      line: e.line,
      time: T0 + e.minute * MINUTE,
      text: e.text,
    })),
    evidenceOmitted: 0,
    summary: `${count} failed logins from ${sourceIp} for ${users.join(', ')}`,
  };
}

export function opened(fields: AnomalyFields = {}): AnomalyUpdate {
  return { type: 'opened', anomaly: anomaly(fields) };
}

export function updated(fields: AnomalyFields = {}): AnomalyUpdate {
  return { type: 'updated', anomaly: anomaly({ revision: 2, ...fields }) };
}

export function closed(fields: AnomalyFields = {}): AnomalyUpdate {
  return { type: 'closed', reason: 'quiet', anomaly: anomaly({ revision: 3, ...fields, state: 'closed' }) };
}

/** A settable clock (epoch ms), starting at T0 + 2 h (anomaly times in tests lie before it). */
export class FakeClock {
  t = T0 + 2 * HOUR;
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface Harness {
  readonly orchestrator: Orchestrator;
  readonly clock: FakeClock;
  readonly dbPath: string;
  readonly audit: AuditRecord[];
  readonly changes: IncidentChange[];
  /** Executors known now (tests may change the list). */
  executors: string[];
  /** Closes and opens the orchestrator again on the same database (a console restart). */
  restart(overrides?: Partial<OrchestratorOptions>): Orchestrator;
}

/** An orchestrator on a fresh database in a temporary directory, removed after the test. */
export function harness(t: TestContext, options: Partial<OrchestratorOptions> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-orchestrator-'));
  const clock = new FakeClock();
  const audit: AuditRecord[] = [];
  const changes: IncidentChange[] = [];
  const h = {
    clock,
    dbPath: join(dir, 'incidents.db'),
    audit,
    changes,
    executors: ['aws-firewall-executor'],
  } as Harness & { orchestrator: Orchestrator };
  const open = (overrides: Partial<OrchestratorOptions> = {}): Orchestrator => {
    const o = Orchestrator.open({
      dbPath: h.dbPath,
      executors: () => h.executors,
      now: clock.now,
      sweepEveryMs: 0,
      audit: (actor, action, subject, details) => audit.push({ actor, action, subject, details }),
      ...options,
      ...overrides,
    });
    o.on('change', (c) => changes.push(c));
    return o;
  };
  h.orchestrator = open();
  h.restart = (overrides) => {
    h.orchestrator.close();
    h.orchestrator = open(overrides);
    return h.orchestrator;
  };
  t.after(() => {
    h.orchestrator.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return h;
}
