import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFixture } from './parse-test-support.ts';

test('kernel netfilter LOG lines in fixtures/netfilter.log yield what their annotations say', () => {
  const events = checkFixture('netfilter.log');
  assert.ok(events.every((e) => e.kind === 'firewall_drop' && e.program === 'kernel'));
  const icmp = events.find((e) => e.sourceIp === '198.51.100.13');
  assert.equal(icmp?.destPort, undefined, 'ICMP has no destination port');
});
