import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLocalTime, formatRelativeTime, formatTimestamp } from './time.ts';

// Local-time constructors, so the tests pass in any time zone.
const now = new Date(2025, 10, 25, 14, 5, 31);

describe('time formatting', () => {
  it('shows the clock for today and the date for other days', () => {
    assert.equal(formatLocalTime(new Date(2025, 10, 25, 14, 2, 31), now), '14:02:31');
    assert.equal(formatLocalTime(new Date(2025, 10, 24, 9, 0, 5), now), '2025-11-24 09:00:05');
  });

  it('says how long ago, in the largest whole unit', () => {
    const ago = (ms: number) => formatRelativeTime(new Date(now.getTime() - ms), now);
    assert.equal(ago(2_000), 'just now');
    assert.equal(ago(-3_000), 'just now');
    assert.equal(ago(12_000), '12 s ago');
    assert.equal(ago(3 * 60_000 + 59_000), '3 min ago');
    assert.equal(ago(2 * 3_600_000), '2 h ago');
    assert.equal(ago(4 * 86_400_000), '4 d ago');
    assert.equal(ago(-90_000), 'in 1 min');
  });

  it('joins local and relative, and refuses text that is not a time', () => {
    assert.equal(formatTimestamp(new Date(2025, 10, 25, 14, 2, 31).toISOString(), now), '14:02:31 · 3 min ago');
    assert.equal(formatTimestamp('yesterday', now), null);
  });
});
