/**
 * A stand-in for the console service's incident, decision and audit methods, for UI tests that
 * must control exactly what the page is told (a refusal with its reason, a broken hash chain,
 * hostile evidence text). It sits in the page's WebSocket to a real `swarmctl console --web`
 * (Playwright's routeWebSocket): calls of those methods are answered here, as the service frames
 * answers, and everything else (snapshot, trust, feed) goes to the real service untouched.
 *
 * The lab story against the real service is e2e/mitigation.spec.ts; this is the page's side only.
 */
import type { Page, WebSocketRoute } from '@playwright/test';
import type {
  ApprovalOutcome,
  AuditLogView,
  AuditRow,
  ConsoleEvent,
  ConsoleMethod,
  DecisionRow,
  IncidentDetailView,
  IncidentRow,
  IncidentsView,
  MitigationDelivery,
  ProposalRow,
} from '../core/console/api.ts';
import { auditRow, decisionRow, incidentRow, proposalRow } from '../renderer/src/testing/fixtures.ts';

const FAKED: readonly ConsoleMethod[] = ['incidents', 'incidentDetail', 'approveProposal', 'rejectProposal', 'decisions', 'revokeDecision', 'auditLog'];

export interface FakeCall {
  method: ConsoleMethod;
  params: Record<string, unknown>;
}

export interface FakeDeskState {
  incidents: IncidentRow[];
  proposals: ProposalRow[];
  executors: string[];
  decisions: DecisionRow[];
  audit: AuditLogView;
  /** What each executor answers to an approval; executors not listed apply it. */
  answers: Record<string, Omit<MitigationDelivery, 'executor'>>;
  /** Methods that fail with this error instead of answering. */
  failures: Partial<Record<ConsoleMethod, { code: string; message: string; hint: string }>>;
}

export class FakeMitigationDesk {
  readonly calls: FakeCall[] = [];
  readonly state: FakeDeskState;
  #toPage: WebSocketRoute | null = null;

  private constructor(state: FakeDeskState) {
    this.state = state;
  }

  /** Routes the page's console WebSocket through the fake; call before the page opens. */
  static async install(page: Page, state: FakeDeskState): Promise<FakeMitigationDesk> {
    const desk = new FakeMitigationDesk(state);
    await page.routeWebSocket(/\/api\/ws$/, (ws) => {
      const server = ws.connectToServer();
      desk.#toPage = ws;
      ws.onMessage((message) => {
        const request = typeof message === 'string' ? (JSON.parse(message) as { id: number; method: ConsoleMethod; params: Record<string, unknown> }) : null;
        if (!request || !FAKED.includes(request.method)) {
          server.send(message);
          return;
        }
        desk.calls.push({ method: request.method, params: request.params });
        const failure = desk.state.failures[request.method];
        const reply = failure ? { id: request.id, ok: false, error: failure } : { id: request.id, ok: true, result: desk.#answer(request.method, request.params) };
        ws.send(JSON.stringify(reply));
      });
    });
    return desk;
  }

  /** Pushes an event to the page as the service frames it. */
  push(event: ConsoleEvent): void {
    if (!this.#toPage) throw new Error('the page has not opened its WebSocket yet');
    this.#toPage.send(JSON.stringify({ event }));
  }

  callsOf(method: ConsoleMethod): Array<Record<string, unknown>> {
    return this.calls.filter((c) => c.method === method).map((c) => c.params);
  }

  #proposal(id: string): ProposalRow {
    const proposal = this.state.proposals.find((p) => p.id === id);
    if (!proposal) throw new Error(`fake desk: no proposal ${id}`);
    return proposal;
  }

  #replaceProposal(next: ProposalRow): void {
    this.state.proposals = this.state.proposals.map((p) => (p.id === next.id ? next : p));
  }

  #answer(method: ConsoleMethod, params: Record<string, unknown>): unknown {
    const now = Date.now();
    switch (method) {
      case 'incidents':
        return { incidents: this.state.incidents, proposals: this.state.proposals, executors: this.state.executors } satisfies IncidentsView;
      case 'incidentDetail': {
        const incident = this.state.incidents.find((i) => i.id === params.incidentId);
        if (!incident) throw new Error(`fake desk: no incident ${String(params.incidentId)}`);
        return {
          incident,
          anomalies: [
            {
              agent: incident.agents[0] ?? 'gcp-log-monitor',
              anomalyId: `${incident.id}-a1`,
              rule: incident.rules[0]?.rule ?? 'sshd-brute-force',
              severity: incident.severity,
              mitre: incident.mitre[0] ?? '',
              sourceIp: incident.sources[0] ?? '',
              state: 'open',
              revision: 1,
              count: incident.count,
              firstSeen: incident.firstSeen,
              lastSeen: incident.lastSeen,
              summary: `${incident.count} failed SSH logins from ${incident.sources[0] ?? '?'}`,
              receivedAt: incident.lastSeen,
            },
          ],
          proposals: this.state.proposals.filter((p) => p.incidentId === incident.id),
        } satisfies IncidentDetailView;
      }
      case 'approveProposal': {
        const proposal = this.#proposal(String(params.proposalId));
        const cidr = (params.cidr as string | null) ?? proposal.cidr;
        const ttlSeconds = (params.ttlSeconds as number | null) ?? proposal.ttlSeconds;
        const targets = (params.targets as string[] | null) ?? [...proposal.targets];
        const edited: { cidr?: string; ttlSeconds?: number; targets?: string[] } = {};
        if (params.cidr !== null) edited.cidr = cidr;
        if (params.ttlSeconds !== null) edited.ttlSeconds = ttlSeconds;
        if (params.targets !== null) edited.targets = targets;
        const deliveries: MitigationDelivery[] = targets.map((executor) => {
          const answer = this.state.answers[executor] ?? { status: 'applied', code: null, reason: null, expiresAt: now + ttlSeconds * 1000 };
          return { executor, ...answer };
        });
        const next: ProposalRow = {
          ...proposal,
          status: deliveries.some((d) => d.status === 'applied') ? 'applied' : 'refused',
          updatedAt: now,
          decision: { kind: 'approved', by: 'analyst', at: now, reason: null, auto: false, policyRule: null, edited: Object.keys(edited).length > 0 ? edited : null },
          approved: { requestId: `req-${proposal.id}`, cidr, ttlSeconds, targets, at: now },
          results: deliveries.map((d) => ({ target: d.executor, result: d.status as 'applied' | 'refused' | 'failed', at: now, detail: d.reason, expiresAt: d.expiresAt })),
        };
        this.#replaceProposal(next);
        return { proposal: next, deliveries } satisfies ApprovalOutcome;
      }
      case 'rejectProposal': {
        const proposal = this.#proposal(String(params.proposalId));
        const next: ProposalRow = {
          ...proposal,
          status: 'rejected',
          updatedAt: now,
          decision: { kind: 'rejected', by: 'analyst', at: now, reason: String(params.reason), auto: false, policyRule: null, edited: null },
        };
        this.#replaceProposal(next);
        return next;
      }
      case 'decisions':
        return { decisions: this.state.decisions };
      case 'revokeDecision': {
        const row = this.state.decisions.find((d) => d.executor === params.executor && d.requestId === params.requestId);
        if (!row) throw new Error('fake desk: no such decision');
        const next: DecisionRow = { ...row, state: 'revoked', detail: String(params.reason) || null, updatedAt: now };
        this.state.decisions = this.state.decisions.map((d) => (d === row ? next : d));
        return next;
      }
      case 'auditLog':
        return this.state.audit;
      default:
        throw new Error(`fake desk: ${method} is not faked`);
    }
  }
}

// ---- data as the service shapes it (the unit tests' fixtures), timed around now -------------

export function fakeIncident(n: number, source: string, overrides: Partial<IncidentRow> = {}): IncidentRow {
  const now = Date.now();
  return incidentRow(`incident-${n}`, {
    sourceKey: `${source}/32`,
    sources: [source],
    firstSeen: now - 120_000,
    lastSeen: now - 60_000 + n,
    evidence: [{ agent: 'gcp-log-monitor', rule: 'sshd-brute-force', line: 100 + n, text: `sshd[2000${n}]: Failed password for root from ${source} port 40022 ssh2` }],
    createdAt: now - 59_000,
    updatedAt: now - 59_000,
    ...overrides,
  });
}

export function fakeProposal(n: number, source: string, overrides: Partial<ProposalRow> = {}): ProposalRow {
  const now = Date.now();
  return proposalRow(`proposal-${n}`, `incident-${n}`, {
    createdAt: now - 59_000,
    updatedAt: now - 59_000,
    cidr: `${source}/32`,
    reason: `sshd-brute-force (high): 14 attempts from ${source}`,
    sourceKey: `${source}/32`,
    ...overrides,
  });
}

export function fakeDecision(executor: string, requestId: string, cidr: string, overrides: Partial<DecisionRow> = {}): DecisionRow {
  const now = Date.now();
  return decisionRow(executor, requestId, {
    cidr,
    reason: `sshd-brute-force (high) from ${cidr}`,
    requestedBy: 'soc-console',
    appliedAt: now - 10_000,
    expiresAt: now - 10_000 + 3_600_000,
    updatedAt: now - 10_000,
    ...overrides,
  });
}

export function fakeAuditRow(seq: number, action: string, subject: string, details: Record<string, unknown> = {}): AuditRow {
  return auditRow(seq, {
    at: new Date(Date.now() - (100 - seq) * 1000).toISOString(),
    node: 'F00D-CAFE-0000-0001',
    action,
    subject,
    details,
    hash: `${seq.toString(16).padStart(8, '0')}${'9e'.repeat(28)}`,
  });
}
