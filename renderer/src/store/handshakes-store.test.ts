import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleCallError, type PeerRow } from '../../../core/console/api.ts';
import { createFakeConsoleApi, settle } from '../testing/fake-console-api.ts';
import { peerRow, pendingRequest, snapshot } from '../testing/fixtures.ts';
import { createConsoleStores } from './console-stores.ts';
import { selectDecisionActivity } from './handshakes-store.ts';

describe('handshakes store', () => {
  it('approves with the peer key and the chosen capabilities, then shows the new peer', async () => {
    const request = pendingRequest('r1', 'edge-1');
    const approvedRow: PeerRow = peerRow('edge-1', { capabilities: ['events.publish', 'events.subscribe'] });
    let answer: (row: PeerRow) => void = () => {};
    const fake = createFakeConsoleApi({ snapshot: async () => snapshot({ pending: [request] }), approve: () => new Promise((resolve) => (answer = resolve)) });
    const stores = createConsoleStores(fake.api);
    stores.start();
    await settle();

    const approving = stores.handshakes.getState().approve(request, ['events.publish', 'events.subscribe']);
    assert.deepEqual(fake.calls.at(-1), { method: 'approve', params: { peer: 'key-edge-1', capabilities: ['events.publish', 'events.subscribe'] } });
    assert.deepEqual(selectDecisionActivity('r1')(stores.handshakes.getState()), { busy: true, error: null });

    answer(approvedRow);
    assert.equal(await approving, approvedRow);
    assert.deepEqual(selectDecisionActivity('r1')(stores.handshakes.getState()), { busy: false, error: null });
    assert.deepEqual(stores.handshakes.getState().pending, [], 'the decided request leaves the list without waiting for the push');
    assert.equal(stores.peers.getState().byKey['key-edge-1'], approvedRow);
  });

  it('records a failed approve on that request only, with message and hint', async () => {
    const first = pendingRequest('r1', 'edge-1');
    const second = pendingRequest('r2', 'edge-2');
    const fake = createFakeConsoleApi({
      snapshot: async () => snapshot({ pending: [first, second] }),
      approve: () => Promise.reject(new ConsoleCallError({ code: 'trust_no_request', message: 'no pending trust request from edge-1', hint: 'list them with: swarmctl pending' })),
    });
    const stores = createConsoleStores(fake.api);
    stores.start();
    await settle();

    assert.equal(await stores.handshakes.getState().approve(first, []), null);
    const state = stores.handshakes.getState();
    assert.deepEqual(selectDecisionActivity('r1')(state), {
      busy: false,
      error: { code: 'trust_no_request', message: 'no pending trust request from edge-1', hint: 'list them with: swarmctl pending' },
    });
    assert.deepEqual(selectDecisionActivity('r2')(state), { busy: false, error: null });
    assert.deepEqual(state.pending.map((r) => r.id), ['r1', 'r2'], 'a failed approve leaves the request pending');

    state.clearDecisionOutcome('r1');
    assert.deepEqual(selectDecisionActivity('r1')(stores.handshakes.getState()), { busy: false, error: null });
  });

  it('rejects with the peer key and the reason', async () => {
    const request = pendingRequest('r1', 'edge-1');
    const fake = createFakeConsoleApi({ snapshot: async () => snapshot({ pending: [request] }), reject: async () => ({ rejected: 'edge-1' }) });
    const stores = createConsoleStores(fake.api);
    stores.start();
    await settle();
    assert.equal(await stores.handshakes.getState().reject(request, 'not one of ours'), true);
    assert.deepEqual(fake.calls.at(-1), { method: 'reject', params: { peer: 'key-edge-1', reason: 'not one of ours' } });
    assert.deepEqual(stores.handshakes.getState().pending, []);
  });

  it('forgets the error of a request that was decided elsewhere', async () => {
    const request = pendingRequest('r1', 'edge-1');
    const fake = createFakeConsoleApi({
      snapshot: async () => snapshot({ pending: [request] }),
      reject: () => Promise.reject(new ConsoleCallError({ code: 'x', message: 'failed', hint: 'h' })),
    });
    const stores = createConsoleStores(fake.api);
    stores.start();
    await settle();
    await stores.handshakes.getState().reject(request, '');
    assert.ok(stores.handshakes.getState().decisionActivity.r1?.error);
    fake.push({ type: 'requests', pending: [], outgoing: [] });
    assert.deepEqual(stores.handshakes.getState().decisionActivity, {});
  });

  it('sends a trust request and keeps the result or the error for the form', async () => {
    let fail = false;
    const fake = createFakeConsoleApi({
      handshake: async (params) => {
        if (fail) throw new ConsoleCallError({ code: 'registry_not_found', message: `no such peer ${params.target}`, hint: 'check the name with swarmctl lookup' });
        return { status: 'pending', hostname: params.target, reason: null };
      },
    });
    const stores = createConsoleStores(fake.api);
    const input = { target: 'gcp-log-monitor', justification: 'SOC wants your anomalies', want: ['events.subscribe' as const], offer: [] };
    assert.equal(await stores.handshakes.getState().sendTrustRequest(input), true);
    assert.deepEqual(fake.calls.at(-1), { method: 'handshake', params: input });
    assert.deepEqual(stores.handshakes.getState().trustRequest, { busy: false, result: { status: 'pending', hostname: 'gcp-log-monitor', reason: null }, error: null });

    fail = true;
    assert.equal(await stores.handshakes.getState().sendTrustRequest(input), false);
    assert.deepEqual(stores.handshakes.getState().trustRequest, {
      busy: false,
      result: null,
      error: { code: 'registry_not_found', message: 'no such peer gcp-log-monitor', hint: 'check the name with swarmctl lookup' },
    });
  });
});
