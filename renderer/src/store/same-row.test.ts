import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rowsOfRead, upsertRows } from './same-row.ts';

interface Row {
  id: string;
  updatedAt: number;
  state: string;
}

const idOf = (row: Row) => row.id;

describe('upsertRows', () => {
  const held: Readonly<Record<string, Row>> = { a: { id: 'a', updatedAt: 10, state: 'open' } };

  it('adds new rows and replaces held ones with newer versions, without touching the held record', () => {
    const next = upsertRows(held, [{ id: 'a', updatedAt: 11, state: 'closed' }, { id: 'b', updatedAt: 1, state: 'open' }], idOf);
    assert.notEqual(next, held);
    assert.deepEqual(next, { a: { id: 'a', updatedAt: 11, state: 'closed' }, b: { id: 'b', updatedAt: 1, state: 'open' } });
    assert.equal(held.a?.state, 'open');
  });

  it('returns the held record itself when a push is older or an equal copy', () => {
    assert.equal(upsertRows(held, [{ id: 'a', updatedAt: 9, state: 'closed' }], idOf), held);
    assert.equal(upsertRows(held, [{ id: 'a', updatedAt: 10, state: 'open' }], idOf), held);
  });
});

describe('rowsOfRead', () => {
  it('keeps a held row that is as new and equal (same object) or newer than the read, and drops rows the read lacks', () => {
    const equal = { id: 'a', updatedAt: 10, state: 'open' };
    const pushedAfterRead = { id: 'b', updatedAt: 20, state: 'closed' };
    const gone = { id: 'c', updatedAt: 5, state: 'open' };
    const next = rowsOfRead({ a: equal, b: pushedAfterRead, c: gone }, [{ ...equal }, { id: 'b', updatedAt: 15, state: 'open' }], idOf);
    assert.equal(next.a, equal);
    assert.equal(next.b, pushedAfterRead);
    assert.equal(next.c, undefined);
  });
});
