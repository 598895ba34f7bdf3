import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CAPABILITIES } from '../overlay/trust-messages.ts';
import { MAX_JUSTIFICATION_BYTES as OVERLAY_MAX_JUSTIFICATION, MAX_REASON_BYTES as OVERLAY_MAX_REASON } from '../overlay/trust-messages.ts';
import { CONSOLE_CAPABILITIES, CONSOLE_METHODS, MAX_JUSTIFICATION_BYTES, MAX_REASON_BYTES, parseConsoleCall, parseConsoleRequest } from './api.ts';

test('the console mirrors the overlay capability list and limits', () => {
  assert.deepEqual([...CONSOLE_CAPABILITIES], [...CAPABILITIES]);
  assert.equal(MAX_JUSTIFICATION_BYTES, OVERLAY_MAX_JUSTIFICATION);
  assert.equal(MAX_REASON_BYTES, OVERLAY_MAX_REASON);
});

test('valid calls parse into typed calls with trimmed text and deduplicated capabilities', () => {
  assert.deepEqual(parseConsoleCall('snapshot', undefined), { ok: true, value: { method: 'snapshot', params: {} } });
  assert.deepEqual(parseConsoleCall('approve', { peer: ' gcp-log-monitor ', capabilities: ['events.publish', 'events.publish'] }), {
    ok: true,
    value: { method: 'approve', params: { peer: 'gcp-log-monitor', capabilities: ['events.publish'] } },
  });
  assert.deepEqual(parseConsoleCall('reject', { peer: 'x', reason: 'not today' }), { ok: true, value: { method: 'reject', params: { peer: 'x', reason: 'not today' } } });
  assert.deepEqual(parseConsoleCall('revoke', { peer: 'x' }), { ok: true, value: { method: 'revoke', params: { peer: 'x', reason: '' } } });
  assert.deepEqual(parseConsoleCall('handshake', { target: 'aws-firewall-executor', justification: 'need mitigations', want: ['mitigation.request'] }), {
    ok: true,
    value: { method: 'handshake', params: { target: 'aws-firewall-executor', justification: 'need mitigations', want: ['mitigation.request'], offer: [] } },
  });
  assert.deepEqual(parseConsoleCall('saveSettings', { registry: '10.0.0.5:9000', hostname: 'soc-console' }), {
    ok: true,
    value: { method: 'saveSettings', params: { registry: '10.0.0.5:9000', hostname: 'soc-console' } },
  });
});

test('malformed calls are refused with what was wrong and how to fix it', () => {
  const cases: Array<[unknown, unknown, RegExp]> = [
    ['launchMissiles', {}, /unknown method/],
    [42, {}, /unknown method/],
    ['approve', [], /params must be an object/],
    ['approve', { capabilities: [] }, /"peer" is required/],
    ['approve', { peer: '   ' }, /"peer" is required/],
    ['approve', { peer: 'x', capabilities: 'events.publish' }, /must be a list/],
    ['approve', { peer: 'x', capabilities: ['root.shell'] }, /unknown capability "root.shell"/],
    ['approve', { peer: 'x', extra: 1 }, /unknown parameter "extra"/],
    ['snapshot', { x: 1 }, /unknown parameter "x"/],
    ['reject', { peer: 'x', reason: 7 }, /"reason" must be a string/],
    ['reject', { peer: 'x', reason: 'é'.repeat(MAX_REASON_BYTES) }, /longer than 300 bytes/],
    ['handshake', { target: 'x' }, /"justification" is required/],
    ['handshake', { target: 'x', justification: 'ü'.repeat(400) }, /longer than 600 bytes/],
    ['saveSettings', { registry: 'no-port', hostname: 'a' }, /not HOST:PORT/],
    ['saveSettings', { registry: 'h:70000', hostname: 'a' }, /not HOST:PORT/],
    ['saveSettings', { registry: 'h:9000', hostname: 'Bad_Name' }, /not a valid hostname/],
  ];
  for (const [method, params, message] of cases) {
    const r = parseConsoleCall(method, params);
    assert.equal(r.ok, false, `${String(method)} ${JSON.stringify(params)} should be refused`);
    if (!r.ok) {
      assert.match(r.error.message, message);
      assert.ok(r.error.hint.length > 0, 'every refusal carries a hint');
    }
  }
});

test('request frames need an object with a numeric id; the id is echoed on refusal', () => {
  assert.equal(parseConsoleRequest(null).ok, false);
  assert.equal(parseConsoleRequest({ method: 'snapshot' }).ok, false);
  assert.equal(parseConsoleRequest({ id: -1, method: 'snapshot' }).ok, false);
  const refused = parseConsoleRequest({ id: 7, method: 'nope' });
  assert.equal(refused.ok, false);
  assert.equal(refused.id, 7);
  assert.deepEqual(parseConsoleRequest({ id: 3, method: 'snapshot', params: {} }), { ok: true, value: { id: 3, call: { method: 'snapshot', params: {} } }, id: 3 });
});

test('the validator is total: arbitrary JSON never throws and never yields an unknown method', () => {
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...CONSOLE_METHODS), fc.string()), fc.jsonValue(), (method, params) => {
      const r = parseConsoleCall(method, params);
      if (r.ok) assert.ok(CONSOLE_METHODS.includes(r.value.method));
      else assert.equal(typeof r.error.message, 'string');
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (frame) => {
      parseConsoleRequest(frame);
    }),
    { numRuns: 2000 },
  );
});
