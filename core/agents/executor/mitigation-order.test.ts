import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidRequestId } from '../../overlay/task-wire.ts';
import { checkOrderShape, isValidOrderId, newRequestId } from './mitigation-order.ts';

test('every new request id passes both the task wire and the executor (no leading "_" or "-")', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const id = newRequestId();
    assert.ok(isValidOrderId(id) && isValidRequestId(id), id);
    seen.add(id);
  }
  assert.equal(seen.size, 2000, 'never repeated');
});

test('an order with an id the executor cannot store is refused by shape, with the reason', () => {
  const order = { requestId: '_starts-with-underscore', incidentId: null, action: 'block', cidr: '198.51.100.7', ttlSeconds: 3600, reason: 'x', requester: { fingerprint: 'AB', hostname: 'c' }, issuedAt: 1 };
  const checked = checkOrderShape(order);
  assert.equal(checked.ok, false);
  assert.match(checked.ok ? '' : checked.error.message, /request id/);
  assert.equal(checkOrderShape({ ...order, requestId: newRequestId() }).ok, true);
});
