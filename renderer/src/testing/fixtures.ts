/** Console data for unit tests, shaped like what the service sends. */
import type {
  AuditLogView,
  AuditRow,
  ConsoleSnapshot,
  DecisionRow,
  FeedItemRow,
  IdentityView,
  IncidentRow,
  OutgoingRequestView,
  PeerRow,
  PendingRequestView,
  ProposalRow,
} from '../../../core/console/api.ts';

export function peerRow(hostname: string, overrides: Partial<PeerRow> = {}): PeerRow {
  return {
    key: `key-${hostname}`,
    hostname,
    address: '1:0001.0000.0002',
    fingerprint: 'AB12-CD34-EF56-7890',
    trust: 'trusted',
    capabilities: ['events.subscribe'],
    capabilitiesReceived: ['events.publish'],
    online: true,
    lastSeen: '2025-11-25T09:00:00.000Z',
    rttMs: 1.5,
    path: 'direct',
    since: '2025-11-24T09:00:00.000Z',
    ...overrides,
  };
}

export function pendingRequest(id: string, hostname: string, overrides: Partial<PendingRequestView> = {}): PendingRequestView {
  return {
    id,
    key: `key-${hostname}`,
    hostname,
    address: '1:0001.0000.0009',
    fingerprint: '9F00-1122-3344-5566',
    justification: 'stream anomalies from the edge',
    wantCaps: ['events.publish'],
    offerCaps: ['events.subscribe'],
    receivedAt: '2025-11-25T09:01:00.000Z',
    ...overrides,
  };
}

export function outgoingRequest(id: string, hostname: string, overrides: Partial<OutgoingRequestView> = {}): OutgoingRequestView {
  return {
    id,
    key: `key-${hostname}`,
    hostname,
    address: '1:0001.0000.0010',
    fingerprint: '7777-8888-9999-AAAA',
    justification: 'subscribe to your events',
    status: 'pending',
    reason: null,
    sentAt: '2025-11-25T09:02:00.000Z',
    decidedAt: null,
    ...overrides,
  };
}

export const identity: IdentityView = {
  hostname: 'soc-console',
  address: '1:0001.0000.0001',
  fingerprint: '0123-4567-89AB-CDEF',
  publicKey: 'pk',
  listen: '0.0.0.0:4000',
  startedAt: '2025-11-25T08:00:00.000Z',
  registry: { endpoint: '127.0.0.1:9000', connected: true, lastOkAt: '2025-11-25T09:00:00.000Z', lastError: null },
  droppedUntrusted: 3,
};

export function snapshot(overrides: Partial<ConsoleSnapshot> = {}): ConsoleSnapshot {
  return {
    status: 'running',
    statusMessage: null,
    identity,
    peers: [],
    pending: [],
    outgoing: [],
    settings: { registry: '127.0.0.1:9000', hostname: 'soc-console', lab: true },
    ...overrides,
  };
}

export function feedRow(seq: number, overrides: Partial<FeedItemRow> = {}): FeedItemRow {
  return {
    seq,
    agentKey: 'key-edge',
    agentHostname: 'gcp-log-monitor',
    id: `anomaly-${seq}`,
    rule: 'sshd-brute-force',
    detector: 'leaky-bucket',
    sourceIp: '203.0.113.7',
    count: 5,
    firstSeen: Date.UTC(2025, 10, 25, 10, 0, 0),
    lastSeen: Date.UTC(2025, 10, 25, 10, 0, 30),
    severity: 'high',
    mitre: 'T1110.001',
    summary: `5 failed SSH logins (${seq})`,
    users: ['root'],
    usersTotal: 1,
    evidenceCount: 1,
    receivedAt: Date.UTC(2025, 10, 25, 10, 0, 31),
    updatedAt: Date.UTC(2025, 10, 25, 10, 0, 31),
    ...overrides,
  };
}

export const INCIDENT_AT = Date.UTC(2025, 10, 25, 10, 0, 0);

export function incidentRow(id: string, overrides: Partial<IncidentRow> = {}): IncidentRow {
  return {
    id,
    state: 'proposed',
    sourceKey: '198.51.100.23/32',
    blockable: true,
    sources: ['198.51.100.23'],
    sourcesTotal: 1,
    severity: 'high',
    rules: [{ rule: 'sshd-brute-force', severity: 'high' }],
    agents: ['gcp-log-monitor'],
    agentsTotal: 1,
    mitre: ['T1110.001'],
    count: 14,
    anomalies: 1,
    openAnomalies: 1,
    firstSeen: INCIDENT_AT,
    lastSeen: INCIDENT_AT + 30_000,
    users: ['root'],
    usersTotal: 1,
    evidence: [{ agent: 'gcp-log-monitor', rule: 'sshd-brute-force', line: 12, text: 'sshd[20001]: Failed password for root from 198.51.100.23 port 40022 ssh2' }],
    evidenceReported: 14,
    createdAt: INCIDENT_AT + 31_000,
    updatedAt: INCIDENT_AT + 31_000,
    closedAt: null,
    proposalId: `proposal-${id.replace(/^incident-/, '')}`,
    proposalStatus: 'pending',
    ...overrides,
  };
}

export function proposalRow(id: string, incidentId: string, overrides: Partial<ProposalRow> = {}): ProposalRow {
  return {
    id,
    incidentId,
    status: 'pending',
    createdAt: INCIDENT_AT + 31_000,
    updatedAt: INCIDENT_AT + 31_000,
    action: 'block',
    cidr: '198.51.100.23/32',
    ttlSeconds: 3600,
    targets: ['aws-firewall-executor'],
    reason: 'sshd-brute-force (high) from 198.51.100.23',
    severity: 'high',
    triggerRules: ['sshd-brute-force'],
    sourceKey: '198.51.100.23/32',
    previousBans: 0,
    decision: null,
    approved: null,
    results: [],
    enrichment: { status: 'off', summary: null, rationale: null, model: null, error: null, at: null },
    ...overrides,
  };
}

export function decisionRow(executor: string, requestId: string, overrides: Partial<DecisionRow> = {}): DecisionRow {
  return {
    executor,
    requestId,
    incidentId: 'incident-1',
    action: 'block',
    cidr: '198.51.100.23/32',
    state: 'applied',
    code: null,
    detail: null,
    reason: 'sshd-brute-force (high) from 198.51.100.23',
    requestedBy: 'local-threat-orchestrator',
    ttlSeconds: 3600,
    appliedAt: INCIDENT_AT + 60_000,
    expiresAt: INCIDENT_AT + 60_000 + 3_600_000,
    updatedAt: INCIDENT_AT + 60_000,
    ...overrides,
  };
}

export function auditRow(seq: number, overrides: Partial<AuditRow> = {}): AuditRow {
  return {
    seq,
    at: new Date(INCIDENT_AT + seq * 1000).toISOString(),
    node: '0123-4567-89AB-CDEF',
    actor: 'analyst',
    action: 'mitigation.approved',
    subject: '198.51.100.23/32',
    details: { proposalId: 'proposal-1', ttlSeconds: 3600 },
    hash: `${seq.toString(16).padStart(4, '0')}${'ab'.repeat(30)}`,
    ...overrides,
  };
}

export function auditLogView(entries: AuditRow[], overrides: Partial<AuditLogView> = {}): AuditLogView {
  return {
    entries,
    total: entries.length,
    verify: { ok: true, entries: entries.length, brokenAt: null, problem: null },
    node: { hostname: 'soc-console', fingerprint: '0123-4567-89AB-CDEF' },
    ...overrides,
  };
}
