import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsoleNotification } from '../../../core/console/api.ts';
import { pendingRequest } from '../testing/fixtures.ts';
import { createNotificationsStore, MAX_VISIBLE_TOASTS, pendingRequestNotification } from './notifications-store.ts';

const AT = new Date('2025-11-25T10:00:00.000Z');

function serviceNotification(id: string, title: string, body: string): ConsoleNotification {
  return { id, level: 'info', title, body, at: AT.toISOString() };
}

describe('notifications store', () => {
  it('shows the same news once, keeping the more detailed report, whichever came first', () => {
    for (const order of ['service first', 'page first'] as const) {
      const system: string[] = [];
      const store = createNotificationsStore({ showSystemNotification: (n) => system.push(n.id) });
      const fromService = serviceNotification('n1', 'Trust request from edge-1', 'stream anomalies from the edge');
      const fromPage = pendingRequestNotification(pendingRequest('r1', 'edge-1'), AT);
      const [first, second] = order === 'service first' ? [fromService, fromPage] : [fromPage, fromService];
      store.getState().notify(first);
      store.getState().notify(second);
      assert.deepEqual(store.getState().toasts, [fromPage], order);
      assert.equal(system.length, 1, `${order}: one system notification`);
    }
  });

  it('shows a title again once the earlier toast is gone', () => {
    const store = createNotificationsStore();
    store.getState().notify(serviceNotification('n1', 'edge-1 revoked trust', 'host reimaged'));
    store.getState().dismiss('n1');
    store.getState().notify(serviceNotification('n2', 'edge-1 revoked trust', 'host reimaged'));
    assert.deepEqual(store.getState().toasts.map((t) => t.id), ['n2']);
  });

  it(`keeps the newest ${MAX_VISIBLE_TOASTS} toasts`, () => {
    const store = createNotificationsStore();
    for (let i = 1; i <= MAX_VISIBLE_TOASTS + 2; i++) store.getState().notify(serviceNotification(`n${i}`, `event ${i}`, ''));
    assert.deepEqual(
      store.getState().toasts.map((t) => t.id),
      Array.from({ length: MAX_VISIBLE_TOASTS }, (_, i) => `n${i + 3}`),
    );
  });

  it('says who asks, for what, and why, and to verify the fingerprint', () => {
    const toast = pendingRequestNotification(pendingRequest('r9', 'edge-9', { justification: '', wantCaps: [] }), AT);
    assert.equal(toast.id, 'handshake-request:r9');
    assert.equal(toast.title, 'Trust request from edge-9');
    assert.match(toast.body, /asks for basic trust only and gave no justification/);
    assert.match(toast.body, /9F00-1122-3344-5566/);
  });
});
