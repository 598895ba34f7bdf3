import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reassembly } from './stream-reassembly.ts';

const bytes = (text: string) => Buffer.from(text);

test('out-of-order segments come out in order once the hole is filled', () => {
  const r = new Reassembly();
  assert.ok(r.insert(105, bytes('fghij')));
  assert.ok(r.insert(110, bytes('klm')));
  assert.equal(r.take(100), null, 'the hole at 100 is still open');
  assert.equal(r.bytes, 8);
  // 100-104 arrives in order (the stream delivers it); then the held segments follow.
  assert.equal(r.take(105)?.toString(), 'fghij');
  assert.equal(r.take(110)?.toString(), 'klm');
  assert.equal(r.take(113), null);
  assert.ok(r.isEmpty);
  assert.equal(r.bytes, 0);
});

test('duplicates are refused; overlapping data is trimmed to continue exactly at the next byte', () => {
  const r = new Reassembly();
  assert.ok(r.insert(10, bytes('abcdef')));
  assert.ok(!r.insert(10, bytes('abcdef')), 'same segment twice');
  assert.ok(!r.insert(12, bytes('cd')), 'inside one already held');
  assert.equal(r.take(13)?.toString(), 'def');
  assert.ok(r.insert(20, bytes('xy')));
  assert.equal(r.take(30), null, 'entirely before the next byte: discarded');
  assert.ok(r.isEmpty);
});

test('SACK blocks: contiguous segments merge; the block with the latest arrival comes first', () => {
  const r = new Reassembly();
  r.insert(10, bytes('aa'));
  r.insert(12, bytes('bb'));
  r.insert(20, bytes('cc'));
  r.insert(30, bytes('dd'));
  r.insert(22, bytes('ee')); // latest: extends the block at 20
  assert.deepEqual(r.sackBlocks(16), [
    { start: 20, end: 24 },
    { start: 10, end: 14 },
    { start: 30, end: 32 },
  ]);
  assert.deepEqual(r.sackBlocks(2), [
    { start: 20, end: 24 },
    { start: 10, end: 14 },
  ]);
});

test('sequence numbers wrap at 2^32', () => {
  const r = new Reassembly();
  r.insert(0, bytes('cd'));
  r.insert(0xfffffffe, bytes('ab'));
  assert.deepEqual(r.sackBlocks(4), [{ start: 0xfffffffe, end: 2 }]);
  assert.equal(r.take(0xfffffffe)?.toString(), 'ab');
  assert.equal(r.take(0)?.toString(), 'cd');
});
