import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_FEED_FILTER } from '../../../core/console/api.ts';
import { severityChoiceOf, sourceIpFilterFromInput } from './feed-filter-input.ts';

describe('feed filter input', () => {
  it('a whole address matches exactly; its start, or an address with *, matches as a prefix', () => {
    assert.deepEqual(sourceIpFilterFromInput(' 203.0.113.7 '), { ok: true, sourceIp: '203.0.113.7', sourceIpMatch: 'exact' });
    assert.deepEqual(sourceIpFilterFromInput('203.0.113.'), { ok: true, sourceIp: '203.0.113.', sourceIpMatch: 'prefix' });
    assert.deepEqual(sourceIpFilterFromInput('203.0.113.7*'), { ok: true, sourceIp: '203.0.113.7', sourceIpMatch: 'prefix' });
    assert.deepEqual(sourceIpFilterFromInput('2001:DB8::1'), { ok: true, sourceIp: '2001:db8::1', sourceIpMatch: 'exact' });
    assert.deepEqual(sourceIpFilterFromInput('2001:DB8:'), { ok: true, sourceIp: '2001:db8:', sourceIpMatch: 'prefix' });
    assert.deepEqual(sourceIpFilterFromInput(''), { ok: true, sourceIp: null, sourceIpMatch: 'exact' });
    for (const bad of ['evil.example', '10.0.0.1/24', '*', "1' OR '1"]) assert.equal(sourceIpFilterFromInput(bad).ok, false, bad);
  });

  it('the severity menu shows the filter it stands for', () => {
    assert.equal(severityChoiceOf(EMPTY_FEED_FILTER), '');
    assert.equal(severityChoiceOf({ ...EMPTY_FEED_FILTER, severity: 'high', severityMatch: 'atLeast' }), 'high+');
    assert.equal(severityChoiceOf({ ...EMPTY_FEED_FILTER, severity: 'high' }), 'high');
    assert.equal(severityChoiceOf({ ...EMPTY_FEED_FILTER, severity: 'critical', severityMatch: 'atLeast' }), 'critical', 'nothing is worse than critical');
    assert.equal(severityChoiceOf({ ...EMPTY_FEED_FILTER, severity: 'low', severityMatch: 'atLeast' }), '', 'not a menu choice');
  });
});
