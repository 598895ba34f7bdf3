import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scrollTopToReveal, visibleRows } from './virtual-rows.ts';

describe('virtual rows', () => {
  it('render the rows on screen plus the overscan, whatever the length of the list', () => {
    assert.deepEqual(visibleRows(0, 340, 34, 100_000, 5), { start: 0, end: 15 });
    assert.deepEqual(visibleRows(34 * 50_000 + 17, 340, 34, 100_000, 5), { start: 49_995, end: 50_016 });
    assert.deepEqual(visibleRows(34 * 100_000, 340, 34, 100_000, 5), { start: 99_994, end: 100_000 }, 'scrolled past the end (the list shrank)');
    assert.deepEqual(visibleRows(0, 340, 34, 3, 5), { start: 0, end: 3 });
    assert.deepEqual(visibleRows(0, 340, 34, 0, 5), { start: 0, end: 0 });
    assert.deepEqual(visibleRows(-50, 0, 34, 10, 2), { start: 0, end: 3 }, 'a viewport not measured yet still shows a row');
  });

  it('scroll only as far as needed to reveal a row', () => {
    assert.equal(scrollTopToReveal(5, 0, 340, 34), 0, 'already visible');
    assert.equal(scrollTopToReveal(10, 0, 340, 34), 34, 'just below: scroll one row');
    assert.equal(scrollTopToReveal(2, 340, 340, 34), 68, 'above: align it to the top');
    assert.equal(scrollTopToReveal(99_999, 0, 340, 34), 34 * 100_000 - 340);
  });
});
