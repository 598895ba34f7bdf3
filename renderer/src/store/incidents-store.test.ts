import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApprovalOutcome, IncidentDetailView, IncidentsView, ProposalRow } from '../../../core/console/api.ts';
import { createFakeConsoleApi, deferred, serviceError, settle, type FakeHandlers } from '../testing/fake-console-api.ts';
import { INCIDENT_AT, incidentRow, proposalRow } from '../testing/fixtures.ts';
import { createIncidentsStore, executorOutcomes, selectDecisionActivity, selectPendingProposalCount, type IncidentsPush } from './incidents-store.ts';

function view(overrides: Partial<IncidentsView> = {}): IncidentsView {
  return {
    incidents: [incidentRow('incident-1'), incidentRow('incident-2', { sourceKey: '198.51.100.99/32', lastSeen: INCIDENT_AT + 90_000, proposalId: 'proposal-2' })],
    proposals: [proposalRow('proposal-1', 'incident-1'), proposalRow('proposal-2', 'incident-2', { cidr: '198.51.100.99/32', severity: 'critical' })],
    executors: ['aws-firewall-executor'],
    ...overrides,
  };
}

function push(incidents: IncidentsPush['incidents'], proposals: IncidentsPush['proposals'] = []): IncidentsPush {
  return { type: 'incidents', incidents, proposals };
}

async function activeStore(handlers: FakeHandlers = {}, initial: IncidentsView = view()) {
  const fake = createFakeConsoleApi({ incidents: async () => initial, ...handlers });
  const store = createIncidentsStore(fake.api);
  store.getState().activate();
  await settle();
  return { fake, store };
}

describe('incidents store', () => {
  it('loads only when the view opens, newest activity first, with the executors an edit may target', async () => {
    const fake = createFakeConsoleApi({ incidents: async () => view() });
    const store = createIncidentsStore(fake.api);
    store.getState().applyPush(push([incidentRow('incident-9')]));
    assert.equal(fake.calls.length, 0, 'nothing is read before the view opens');
    assert.deepEqual(store.getState().orderedIds, [], 'pushes before then are not kept (the first read brings everything)');
    store.getState().activate();
    assert.equal(store.getState().phase, 'loading');
    await settle();
    store.getState().activate();
    assert.deepEqual(fake.calls.map((c) => c.method), ['incidents'], 'a second activate does not read again');
    const state = store.getState();
    assert.equal(state.phase, 'ready');
    assert.deepEqual(state.orderedIds, ['incident-2', 'incident-1']);
    assert.deepEqual(state.executors, ['aws-firewall-executor']);
    assert.equal(state.proposals['proposal-2']?.cidr, '198.51.100.99/32');
    assert.equal(selectPendingProposalCount(state), 2);
  });

  it('says why the list could not be read, and reads it again on refresh', async () => {
    let fail = true;
    const { store } = await activeStore({
      incidents: async () => {
        if (fail) throw serviceError('orchestrator_unavailable', 'incidents.db could not be opened: disk I/O error', 'check the disk');
        return view();
      },
    });
    assert.equal(store.getState().phase, 'error');
    assert.equal(store.getState().error?.message, 'incidents.db could not be opened: disk I/O error');
    fail = false;
    await store.getState().refresh();
    assert.equal(store.getState().phase, 'ready');
    assert.equal(store.getState().error, null);
    assert.equal(store.getState().orderedIds.length, 2);
  });

  it('upserts pushed incidents and proposals by id; unchanged rows and an unchanged order keep their objects', async () => {
    const { store } = await activeStore();
    const before = store.getState();
    const first = before.byId['incident-1'];
    store.getState().applyPush(push([{ ...first! }], []));
    assert.equal(store.getState().byId['incident-1'], first, 'an equal copy keeps the held object');
    assert.equal(store.getState().orderedIds, before.orderedIds);

    const grown = incidentRow('incident-1', { count: 30, lastSeen: INCIDENT_AT + 120_000, updatedAt: INCIDENT_AT + 121_000 });
    const fresh = incidentRow('incident-3', { sourceKey: '203.0.113.45/32', lastSeen: INCIDENT_AT + 100_000, proposalId: null, proposalStatus: null, state: 'open' });
    const approved = proposalRow('proposal-2', 'incident-2', { status: 'approved', updatedAt: INCIDENT_AT + 121_000 });
    store.getState().applyPush(push([grown, fresh], [approved]));
    const after = store.getState();
    assert.deepEqual(after.orderedIds, ['incident-1', 'incident-3', 'incident-2']);
    assert.equal(after.byId['incident-1'], grown);
    assert.equal(after.byId['incident-2'], before.byId['incident-2'], 'an untouched row keeps its object');
    assert.equal(after.proposals['proposal-2'], approved);
    assert.equal(after.proposals['proposal-1'], before.proposals['proposal-1']);
  });

  it('never lets an older version replace a newer one (a push that raced a read)', async () => {
    const { store } = await activeStore();
    const applied = proposalRow('proposal-1', 'incident-1', { status: 'applied', updatedAt: INCIDENT_AT + 200_000 });
    store.getState().applyPush(push([], [applied]));
    store.getState().applyPush(push([], [proposalRow('proposal-1', 'incident-1', { status: 'approved', updatedAt: INCIDENT_AT + 150_000 })]));
    assert.equal(store.getState().proposals['proposal-1'], applied);
  });

  it('applies pushes that arrive while a read is in flight on top of its answer', async () => {
    const answer = deferred<IncidentsView>();
    const fake = createFakeConsoleApi({ incidents: () => answer.promise });
    const store = createIncidentsStore(fake.api);
    store.getState().activate();
    const late = incidentRow('incident-7', { lastSeen: INCIDENT_AT + 500_000, proposalId: 'proposal-7' });
    const lateProposal = proposalRow('proposal-7', 'incident-7', { cidr: '192.0.2.7/32' });
    store.getState().applyPush(push([late], [lateProposal]));
    // The read was answered from a state before that push: it lacks incident-7.
    answer.resolve(view());
    await settle();
    assert.deepEqual(store.getState().orderedIds, ['incident-7', 'incident-2', 'incident-1']);
    assert.equal(store.getState().proposals['proposal-7'], lateProposal);
  });

  it('re-reads the list after a reconnect, not on the first snapshot', async () => {
    let reads = 0;
    const { store } = await activeStore({
      incidents: async () => {
        reads++;
        return reads === 1 ? view() : view({ incidents: [...view().incidents, incidentRow('incident-5', { lastSeen: INCIDENT_AT + 999_000 })] });
      },
    });
    store.getState().connectionRestored();
    await settle();
    assert.equal(reads, 1, 'the first snapshot is the connection the page opened with');
    store.getState().connectionRestored();
    assert.equal(store.getState().refreshing, true, 'the list stays on screen while it is re-read');
    assert.equal(store.getState().phase, 'ready');
    await settle();
    assert.equal(reads, 2);
    assert.equal(store.getState().orderedIds[0], 'incident-5');
    assert.equal(store.getState().refreshing, false);
  });

  it('opens an incident with its anomalies and every proposal, and re-reads it when the incident changes', async () => {
    let count = 14;
    const detail = (): IncidentDetailView => ({
      incident: incidentRow('incident-1', { count, updatedAt: INCIDENT_AT + count * 1000 }),
      anomalies: [
        {
          agent: 'gcp-log-monitor',
          anomalyId: 'a-1',
          rule: 'sshd-brute-force',
          severity: 'high',
          mitre: 'T1110.001',
          sourceIp: '198.51.100.23',
          state: 'open',
          revision: count,
          count,
          firstSeen: INCIDENT_AT,
          lastSeen: INCIDENT_AT + 30_000,
          summary: `${count} failed SSH logins for root`,
          receivedAt: INCIDENT_AT + 31_000,
        },
      ],
      proposals: [proposalRow('proposal-0', 'incident-1', { status: 'rejected', createdAt: INCIDENT_AT }), proposalRow('proposal-1', 'incident-1')],
    });
    const { fake, store } = await activeStore({ incidentDetail: async () => detail() });
    const opening = store.getState().select('incident-1');
    assert.equal(store.getState().detail?.phase, 'loading');
    await opening;
    const open = store.getState().detail!;
    assert.equal(open.phase, 'ready');
    assert.equal(open.anomalies[0]?.summary, '14 failed SSH logins for root');
    assert.deepEqual(open.proposalIds, ['proposal-1', 'proposal-0'], 'newest proposal first');
    assert.equal(store.getState().proposals['proposal-0']?.status, 'rejected', 'older proposals are kept for the pane');

    count = 20;
    store.getState().applyPush(push([incidentRow('incident-1', { count: 20, updatedAt: INCIDENT_AT + 20_000 })]));
    await settle();
    assert.equal(store.getState().detail?.anomalies[0]?.summary, '20 failed SSH logins for root');
    assert.deepEqual(
      fake.calls.filter((c) => c.method === 'incidentDetail').map((c) => c.params),
      [{ incidentId: 'incident-1' }, { incidentId: 'incident-1' }],
    );

    // A new proposal for the open incident shows up in its pane.
    store.getState().applyPush(push([], [proposalRow('proposal-3', 'incident-1', { createdAt: INCIDENT_AT + 400_000 })]));
    assert.deepEqual(store.getState().detail?.proposalIds, ['proposal-3', 'proposal-1', 'proposal-0']);

    await store.getState().select(null);
    assert.equal(store.getState().detail, null);
    assert.equal(store.getState().selectedId, null);
  });

  it('shows why an incident could not be opened', async () => {
    const { store } = await activeStore({ incidentDetail: async () => Promise.reject(serviceError('not_found', 'no incident incident-1', 'it may have been pruned')) });
    await store.getState().select('incident-1');
    assert.equal(store.getState().detail?.phase, 'error');
    assert.equal(store.getState().detail?.error?.hint, 'it may have been pruned');
  });

  it('approves as proposed with nulls, keeps each executor answer, and updates the proposal', async () => {
    const approvedProposal = proposalRow('proposal-1', 'incident-1', {
      status: 'applied',
      updatedAt: INCIDENT_AT + 300_000,
      approved: { requestId: 'req-1', cidr: '198.51.100.23/32', ttlSeconds: 3600, targets: ['aws-firewall-executor'], at: INCIDENT_AT + 299_000 },
    });
    const answer = deferred<ApprovalOutcome>();
    const { fake, store } = await activeStore({ approveProposal: () => answer.promise });
    const approving = store.getState().approve('proposal-1', null);
    assert.deepEqual(selectDecisionActivity('proposal-1')(store.getState()), { kind: 'approve', busy: true, error: null });
    assert.equal(await store.getState().approve('proposal-1', null), false, 'a second click while the first runs sends nothing');
    answer.resolve({ proposal: approvedProposal, deliveries: [{ executor: 'aws-firewall-executor', status: 'applied', code: null, reason: null, expiresAt: INCIDENT_AT + 3_899_000 }] });
    assert.equal(await approving, true);
    assert.deepEqual(fake.calls.filter((c) => c.method === 'approveProposal').map((c) => c.params), [{ proposalId: 'proposal-1', cidr: null, ttlSeconds: null, targets: null }]);
    const state = store.getState();
    assert.equal(state.proposals['proposal-1'], approvedProposal);
    assert.equal(state.deliveries['proposal-1']?.[0]?.status, 'applied');
    assert.equal(state.decisionActivity['proposal-1'], undefined);
  });

  it('approves edited: only the fields the analyst changed are sent', async () => {
    const { fake, store } = await activeStore({ approveProposal: async ({ proposalId }) => ({ proposal: proposalRow(proposalId, 'incident-1', { status: 'approved', updatedAt: INCIDENT_AT + 1 }), deliveries: [] }) });
    assert.equal(await store.getState().approve('proposal-1', { ttlSeconds: 7200 }), true);
    assert.equal(await store.getState().approve('proposal-2', { cidr: '198.51.100.0/24', targets: ['aws-firewall-executor', 'gcp-firewall-executor'] }), true);
    assert.deepEqual(
      fake.calls.filter((c) => c.method === 'approveProposal').map((c) => c.params),
      [
        { proposalId: 'proposal-1', cidr: null, ttlSeconds: 7200, targets: null },
        { proposalId: 'proposal-2', cidr: '198.51.100.0/24', ttlSeconds: null, targets: ['aws-firewall-executor', 'gcp-firewall-executor'] },
      ],
    );
  });

  it('keeps a failed approval as an error on the proposal, tagged with where it came from, until cleared', async () => {
    const { store } = await activeStore({
      approveProposal: async () => Promise.reject(serviceError('invalid_edit', 'approveProposal: 198.51.100.1/24 has host bits set', 'use 198.51.100.0/24')),
    });
    assert.equal(await store.getState().approve('proposal-1', { cidr: '198.51.100.1/24' }), false);
    const activity = selectDecisionActivity('proposal-1')(store.getState());
    assert.equal(activity.kind, 'edit');
    assert.equal(activity.busy, false);
    assert.equal(activity.error?.hint, 'use 198.51.100.0/24');
    assert.equal(store.getState().proposals['proposal-1']?.status, 'pending');
    store.getState().clearDecisionOutcome('proposal-1');
    assert.equal(selectDecisionActivity('proposal-1')(store.getState()).error, null);
  });

  it('rejects with the reason and stores the rejected proposal', async () => {
    const { fake, store } = await activeStore({
      rejectProposal: async ({ proposalId, reason }) =>
        proposalRow(proposalId, 'incident-2', { status: 'rejected', updatedAt: INCIDENT_AT + 500_000, decision: { kind: 'rejected', by: 'analyst', at: INCIDENT_AT + 500_000, reason, auto: false, policyRule: null, edited: null } }),
    });
    assert.equal(await store.getState().reject('proposal-2', 'our own red team'), true);
    assert.deepEqual(fake.calls.at(-1), { method: 'rejectProposal', params: { proposalId: 'proposal-2', reason: 'our own red team' } });
    assert.equal(store.getState().proposals['proposal-2']?.status, 'rejected');
    assert.equal(store.getState().proposals['proposal-2']?.decision?.reason, 'our own red team');
  });
});

describe('executor outcomes of an approval', () => {
  const approved: ProposalRow = proposalRow('proposal-1', 'incident-1', {
    status: 'approved',
    approved: { requestId: 'req-1', cidr: '198.51.100.23/32', ttlSeconds: 3600, targets: ['aws-firewall-executor', 'gcp-firewall-executor', 'edge-fw-3'], at: INCIDENT_AT },
  });

  it('shows the answers to the approval call, with a refusal code and reason, and waits for the rest', () => {
    const outcomes = executorOutcomes(approved, [
      { executor: 'aws-firewall-executor', status: 'applied', code: null, reason: null, expiresAt: INCIDENT_AT + 3_600_000 },
      { executor: 'gcp-firewall-executor', status: 'refused', code: 'policy_allowlist', reason: '198.51.100.0/24 is allowlisted', expiresAt: null },
    ]);
    assert.deepEqual(
      outcomes.map((o) => [o.executor, o.status, o.detail]),
      [
        ['aws-firewall-executor', 'applied', null],
        ['gcp-firewall-executor', 'refused', 'policy_allowlist: 198.51.100.0/24 is allowlisted'],
        ['edge-fw-3', 'waiting', null],
      ],
    );
  });

  it('prefers the latest recorded result (it follows the block through revocation), even after a reload', () => {
    const revoked: ProposalRow = {
      ...approved,
      results: [
        { target: 'aws-firewall-executor', result: 'applied', at: INCIDENT_AT + 1000, detail: null, expiresAt: INCIDENT_AT + 3_601_000 },
        { target: 'aws-firewall-executor', result: 'revoked', at: INCIDENT_AT + 5000, detail: 'false positive', expiresAt: null },
        { target: 'edge-fw-3', result: 'failed', at: INCIDENT_AT + 2000, detail: 'nft: command not found', expiresAt: null },
      ],
    };
    const outcomes = executorOutcomes(revoked, undefined);
    assert.deepEqual(
      outcomes.map((o) => [o.executor, o.status, o.detail]),
      [
        ['aws-firewall-executor', 'revoked', 'false positive'],
        ['gcp-firewall-executor', 'waiting', null],
        ['edge-fw-3', 'failed', 'nft: command not found'],
      ],
    );
  });
});
