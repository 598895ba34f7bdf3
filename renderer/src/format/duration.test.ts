import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRemaining, formatTtl, joinTtl, parseRemaining, splitTtl } from './duration.ts';

describe('duration formatting', () => {
  it('says a TTL in its two largest units', () => {
    assert.equal(formatTtl(45), '45 s');
    assert.equal(formatTtl(900), '15 min');
    assert.equal(formatTtl(3600), '1 h');
    assert.equal(formatTtl(9000), '2 h 30 min');
    assert.equal(formatTtl(7 * 86_400), '7 d');
    assert.equal(formatTtl(86_400 + 12 * 3600 + 59), '1 d 12 h');
    assert.equal(formatTtl(86_400 + 30), '1 d', 'a zero unit in between is not padded with a smaller one');
    assert.equal(formatTtl(-1), '—');
  });

  it('shows the time left as a clock that changes every second, and nothing once it is up', () => {
    assert.equal(formatRemaining(3_600_000), '1:00:00');
    assert.equal(formatRemaining(3_599_000), '0:59:59');
    assert.equal(formatRemaining(400), '0:00:01', 'a block that still stands never shows zero');
    assert.equal(formatRemaining(2 * 86_400_000 + 3 * 3_600_000 + 15 * 60_000 + 42_000), '2 d 03:15:42');
    assert.equal(formatRemaining(0), null);
    assert.equal(formatRemaining(-5), null);
  });

  it('reads a countdown back as seconds', () => {
    assert.equal(parseRemaining('0:59:59'), 3599);
    assert.equal(parseRemaining('2 d 03:15:42'), 2 * 86_400 + 3 * 3600 + 15 * 60 + 42);
    assert.equal(parseRemaining('expiring'), null);
  });

  it('splits a TTL into the largest whole unit for the edit form, and joins it back', () => {
    assert.deepEqual(splitTtl(7200), { amount: 2, unit: 'hours' });
    assert.deepEqual(splitTtl(5400), { amount: 90, unit: 'minutes' });
    assert.deepEqual(splitTtl(14 * 86_400), { amount: 14, unit: 'days' });
    assert.equal(joinTtl('2', 'hours'), 7200);
    assert.equal(joinTtl(' 90 ', 'minutes'), 5400);
    assert.equal(joinTtl('1.5', 'hours'), null);
    assert.equal(joinTtl('0', 'days'), null);
    assert.equal(joinTtl('', 'days'), null);
  });
});
