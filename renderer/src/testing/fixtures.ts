/** Console data for unit tests, shaped like what the service sends. */
import type { ConsoleSnapshot, FeedItemRow, IdentityView, OutgoingRequestView, PeerRow, PendingRequestView } from '../../../core/console/api.ts';

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
