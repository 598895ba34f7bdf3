import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DecisionRow } from '../../../core/console/api.ts';
import { createFakeConsoleApi, deferred, serviceError, settle, type FakeHandlers } from '../testing/fake-console-api.ts';
import { decisionRow, INCIDENT_AT } from '../testing/fixtures.ts';
import { createDecisionsStore, decisionKey, isActiveDecision, selectRevokeActivity } from './decisions-store.ts';

const AWS = 'aws-firewall-executor';

function rows(): DecisionRow[] {
  return [
    decisionRow(AWS, 'req-1'),
    decisionRow(AWS, 'req-2', { cidr: '198.51.100.99/32', appliedAt: INCIDENT_AT + 120_000, updatedAt: INCIDENT_AT + 120_000, expiresAt: INCIDENT_AT + 7_320_000 }),
    decisionRow(AWS, 'req-0', { cidr: '203.0.113.45/32', state: 'expired', updatedAt: INCIDENT_AT + 30_000 }),
    decisionRow('gcp-firewall-executor', 'req-1', { state: 'refused', code: 'policy_allowlist', detail: 'allowlisted', appliedAt: null, expiresAt: null }),
  ];
}

async function activeStore(handlers: FakeHandlers = {}, initial: DecisionRow[] = rows()) {
  const fake = createFakeConsoleApi({ decisions: async () => ({ decisions: initial }), ...handlers });
  const store = createDecisionsStore(fake.api);
  store.getState().activate();
  await settle();
  return { fake, store };
}

describe('decisions store', () => {
  it('splits blocks in force (newest first) from ended ones and unblock requests', async () => {
    const { store } = await activeStore({}, [...rows(), decisionRow(AWS, 'req-3', { action: 'unblock', cidr: '198.51.100.7/32', state: 'applied', updatedAt: INCIDENT_AT + 1 })]);
    const state = store.getState();
    assert.equal(state.phase, 'ready');
    assert.deepEqual(state.activeKeys, [`${AWS}/req-2`, `${AWS}/req-1`]);
    assert.deepEqual(state.endedKeys, ['gcp-firewall-executor/req-1', `${AWS}/req-0`, `${AWS}/req-3`]);
    assert.equal(isActiveDecision(decisionRow(AWS, 'x', { state: 'accepted' })), true, 'accepted: the firewall is being changed, the block is coming');
    assert.equal(isActiveDecision(decisionRow(AWS, 'x', { state: 'superseded' })), false);
  });

  it('keys rows by executor and request id: the same request id on two executors is two rows', () => {
    assert.notEqual(decisionKey(decisionRow(AWS, 'req-1')), decisionKey(decisionRow('gcp-firewall-executor', 'req-1')));
  });

  it('upserts pushed rows: a revoked block leaves the active list, untouched rows keep their objects', async () => {
    const { store } = await activeStore();
    const before = store.getState();
    const held = before.byKey[`${AWS}/req-2`];
    store.getState().applyPush({ type: 'decisions', upsert: [decisionRow(AWS, 'req-1', { state: 'revoked', updatedAt: INCIDENT_AT + 600_000 })] });
    const after = store.getState();
    assert.deepEqual(after.activeKeys, [`${AWS}/req-2`]);
    assert.equal(after.endedKeys[0], `${AWS}/req-1`);
    assert.equal(after.byKey[`${AWS}/req-2`], held);

    // An older version (it raced the newer one) does not bring the block back.
    store.getState().applyPush({ type: 'decisions', upsert: [decisionRow(AWS, 'req-1', { state: 'applied', updatedAt: INCIDENT_AT + 60_000 })] });
    assert.equal(store.getState().byKey[`${AWS}/req-1`]?.state, 'revoked');

    // An equal copy changes nothing, not even the key arrays.
    const keys = store.getState().activeKeys;
    store.getState().applyPush({ type: 'decisions', upsert: [{ ...held! }] });
    assert.equal(store.getState().activeKeys, keys);
    assert.equal(store.getState().byKey[`${AWS}/req-2`], held);
  });

  it('ignores pushes until the view opened, and applies those that arrive during the read', async () => {
    const answer = deferred<{ decisions: DecisionRow[] }>();
    const fake = createFakeConsoleApi({ decisions: () => answer.promise });
    const store = createDecisionsStore(fake.api);
    store.getState().applyPush({ type: 'decisions', upsert: [decisionRow(AWS, 'early')] });
    store.getState().activate();
    store.getState().applyPush({ type: 'decisions', upsert: [decisionRow(AWS, 'req-9', { cidr: '192.0.2.9/32', appliedAt: INCIDENT_AT + 900_000, updatedAt: INCIDENT_AT + 900_000 })] });
    answer.resolve({ decisions: rows() });
    await settle();
    assert.deepEqual(store.getState().activeKeys, [`${AWS}/req-9`, `${AWS}/req-2`, `${AWS}/req-1`]);
    assert.equal(store.getState().byKey[`${AWS}/early`], undefined);
  });

  it('re-reads after a reconnect, keeping the list on screen meanwhile', async () => {
    let reads = 0;
    const { store } = await activeStore({
      decisions: async () => {
        reads++;
        return { decisions: reads === 1 ? rows() : rows().map((r) => (r.requestId === 'req-1' && r.executor === AWS ? { ...r, state: 'expired', updatedAt: INCIDENT_AT + 4_000_000 } : r)) };
      },
    });
    store.getState().connectionRestored();
    await settle();
    assert.equal(reads, 1);
    store.getState().connectionRestored();
    assert.equal(store.getState().refreshing, true);
    await settle();
    assert.deepEqual(store.getState().activeKeys, [`${AWS}/req-2`]);
  });

  it('revokes a block with the reason and moves it to the ended list', async () => {
    const answer = deferred<DecisionRow>();
    const { fake, store } = await activeStore({ revokeDecision: () => answer.promise });
    const key = `${AWS}/req-1`;
    const revoking = store.getState().revoke(key, 'false positive: our scanner');
    assert.equal(selectRevokeActivity(key)(store.getState()).busy, true);
    answer.resolve(decisionRow(AWS, 'req-1', { state: 'revoked', updatedAt: INCIDENT_AT + 700_000 }));
    assert.equal(await revoking, true);
    assert.deepEqual(fake.calls.at(-1), { method: 'revokeDecision', params: { executor: AWS, requestId: 'req-1', reason: 'false positive: our scanner' } });
    assert.equal(store.getState().activeKeys.includes(key), false);
    assert.equal(selectRevokeActivity(key)(store.getState()).busy, false);
  });

  it('keeps a failed revoke as an error on that row until cleared', async () => {
    const { store } = await activeStore({
      revokeDecision: async () => Promise.reject(serviceError('executor_unreachable', 'aws-firewall-executor did not answer within 10 s', 'is its daemon running?')),
    });
    const key = `${AWS}/req-1`;
    assert.equal(await store.getState().revoke(key, ''), false);
    assert.equal(selectRevokeActivity(key)(store.getState()).error?.message, 'aws-firewall-executor did not answer within 10 s');
    assert.equal(store.getState().activeKeys.includes(key), true, 'the block still stands');
    store.getState().clearRevokeOutcome(key);
    assert.equal(selectRevokeActivity(key)(store.getState()).error, null);
    assert.equal(await store.getState().revoke('nobody/none', ''), false, 'a row the store does not know is not sent');
  });
});
