import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeOptionArea, encodeStreamPayload, NO_OPTIONS, OPTION_ACK_REQUEST, OPTION_SACK, OPTION_ZERO_WINDOW } from './stream-options.ts';

test('an empty payload has no options and no data; a leading 0 means data follows at once', () => {
  const empty = decodeOptionArea(Buffer.alloc(0));
  assert.ok(empty.ok);
  assert.deepEqual(empty.value, { options: NO_OPTIONS, dataOffset: 0 });
  const data = decodeOptionArea(Buffer.from([0, 0x68, 0x69]));
  assert.ok(data.ok);
  assert.equal(data.value.dataOffset, 1);
  assert.equal(data.value.options, NO_OPTIONS);
});

test('known answer: SACK block, zero window and ACK request, then data', () => {
  const payload = encodeStreamPayload({ sack: [{ start: 1, end: 0x100 }], zeroWindow: true, ackRequest: true }, Buffer.from('hi'));
  assert.equal(payload.toString('hex'), '0e' + '0108' + '00000001' + '00000100' + '0200' + '0300' + '6869');
  const decoded = decodeOptionArea(payload);
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.value.options, { sack: [{ start: 1, end: 0x100 }], zeroWindow: true, ackRequest: true });
  assert.equal(payload.subarray(decoded.value.dataOffset).toString(), 'hi');
});

test('no options and no data encode to an empty payload (a bare ACK)', () => {
  assert.equal(encodeStreamPayload(NO_OPTIONS).length, 0);
});

test('SACK blocks round-trip, sequence numbers near the 32-bit wrap included', () => {
  const sack = [
    { start: 0xfffffff0, end: 0x10 },
    { start: 7, end: 9 },
  ];
  const decoded = decodeOptionArea(encodeStreamPayload({ sack, zeroWindow: false, ackRequest: false }));
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.value.options.sack, sack);
});

test('unknown option kinds are skipped, so options can be added later', () => {
  const payload = Buffer.from([6, 0x7f, 2, 0xaa, 0xbb, OPTION_ACK_REQUEST, 0, 0x21]);
  const decoded = decodeOptionArea(payload);
  assert.ok(decoded.ok);
  assert.equal(decoded.value.options.ackRequest, true);
  assert.equal(decoded.value.dataOffset, 7);
});

test('malformed option areas are typed errors', () => {
  const cases: [number[], string][] = [
    [[5, OPTION_ZERO_WINDOW, 0], 'option_area_length'],
    [[1, OPTION_ZERO_WINDOW], 'option_truncated'],
    [[2, OPTION_SACK, 8], 'option_truncated'],
    [[6, OPTION_SACK, 4, 0, 0, 0, 1], 'option_sack_length'],
    [[2, OPTION_SACK, 0], 'option_sack_length'],
  ];
  for (const [bytes, code] of cases) {
    const decoded = decodeOptionArea(Buffer.from(bytes));
    assert.ok(!decoded.ok, `${bytes.join(',')} must be refused`);
    assert.equal(decoded.error.code, code);
  }
});

test('decoding is total: no input makes it throw, and a decoded data offset is inside the payload', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const decoded = decodeOptionArea(bytes);
      if (decoded.ok) assert.ok(decoded.value.dataOffset <= bytes.length);
    }),
    { numRuns: 2000 },
  );
});
