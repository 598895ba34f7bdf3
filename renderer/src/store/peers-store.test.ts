import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleCallError } from '../../../core/console/api.ts';
import { createFakeConsoleApi } from '../testing/fake-console-api.ts';
import { peerRow } from '../testing/fixtures.ts';
import { createPeersStore, samePeerRow, selectRevokeActivity, selectVisiblePeerKeys } from './peers-store.ts';

describe('peers store', () => {
  it('does not notify subscribers when an update changes nothing', () => {
    const store = createPeersStore(createFakeConsoleApi().api);
    const alpha = peerRow('alpha');
    store.getState().replaceAll([alpha]);
    let notified = 0;
    store.subscribe(() => notified++);
    store.getState().replaceAll([{ ...alpha }]);
    store.getState().applyChanges([{ ...alpha, capabilities: [...alpha.capabilities] }], ['key-unknown']);
    assert.equal(notified, 0);
  });

  it('compares every field of a row, including capability lists', () => {
    const alpha = peerRow('alpha');
    assert.equal(samePeerRow(alpha, { ...alpha, capabilities: ['events.subscribe'] }), true);
    assert.equal(samePeerRow(alpha, { ...alpha, capabilities: ['events.subscribe', 'data.exchange'] }), false);
    assert.equal(samePeerRow(alpha, { ...alpha, lastSeen: '2025-11-25T09:00:05.000Z' }), false);
  });

  it('keeps 1,000 rows in hostname order and touches only the changed one', () => {
    const store = createPeersStore(createFakeConsoleApi().api);
    const rows = Array.from({ length: 1000 }, (_, index) => peerRow(`host-${String(999 - index).padStart(4, '0')}`));
    store.getState().replaceAll(rows);
    const before = store.getState();
    assert.equal(before.orderedKeys[0], 'key-host-0000');
    assert.equal(before.orderedKeys[999], 'key-host-0999');

    const changed = { ...rows[500]!, rttMs: 42 };
    store.getState().applyChanges([changed], []);
    const after = store.getState();
    assert.equal(after.orderedKeys, before.orderedKeys);
    const replaced = Object.keys(after.byKey).filter((key) => after.byKey[key] !== before.byKey[key]);
    assert.deepEqual(replaced, [changed.key]);
  });

  it('re-sorts when a peer is renamed', () => {
    const store = createPeersStore(createFakeConsoleApi().api);
    store.getState().replaceAll([peerRow('alpha'), peerRow('beta')]);
    store.getState().applyChanges([{ ...peerRow('alpha'), hostname: 'zulu' }], []);
    assert.deepEqual(store.getState().orderedKeys, ['key-beta', 'key-alpha']);
  });

  it('filters by hostname, address, trust and fingerprint digits', () => {
    const store = createPeersStore(createFakeConsoleApi().api);
    store.getState().replaceAll([
      peerRow('gcp-log-monitor', { fingerprint: 'AAAA-BBBB-CCCC' }),
      peerRow('fw-executor', { trust: 'rejected', address: '1:0001.0000.00FF' }),
    ]);
    const visible = (filter: string) => selectVisiblePeerKeys(filter)(store.getState());
    assert.equal(visible(''), store.getState().orderedKeys);
    assert.deepEqual(visible('monitor'), ['key-gcp-log-monitor']);
    assert.deepEqual(visible('rejected'), ['key-fw-executor']);
    assert.deepEqual(visible('00ff'), ['key-fw-executor']);
    assert.deepEqual(visible('bbbbcccc'), ['key-gcp-log-monitor']);
  });

  it('revokes by peer key and records a failure on that peer', async () => {
    let fail = false;
    const fake = createFakeConsoleApi({
      revoke: async (params) => {
        if (fail) throw new ConsoleCallError({ code: 'trust_not_trusted', message: 'alpha is not trusted', hint: 'nothing to revoke' });
        return { revoked: params.peer };
      },
    });
    const store = createPeersStore(fake.api);
    assert.equal(await store.getState().revoke('key-alpha', 'decommissioned'), true);
    assert.deepEqual(fake.calls, [{ method: 'revoke', params: { peer: 'key-alpha', reason: 'decommissioned' } }]);
    fail = true;
    assert.equal(await store.getState().revoke('key-alpha', ''), false);
    assert.deepEqual(selectRevokeActivity('key-alpha')(store.getState()), {
      busy: false,
      error: { code: 'trust_not_trusted', message: 'alpha is not trusted', hint: 'nothing to revoke' },
    });
  });
});
