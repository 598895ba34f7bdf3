import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeMessage, encodeStoredEvents, EventFrameDecoder, MAX_EVENT_FRAME, type PublisherMessage } from './event-wire.ts';

test('messages survive framing whole, byte by byte, and several to a chunk', () => {
  const sent: PublisherMessage[] = [
    { type: 'subscribed', topic: 'anomalies', first: 1, last: 10 },
    { type: 'gap', topic: 'anomalies', from: 1, to: 4 },
    { type: 'events', topic: 'anomalies', items: [{ seq: 5, at: 100, data: { rule: 'ssh-brute-force' } }] },
    { type: 'error', code: 'forbidden', message: 'no events.subscribe' },
  ];
  const bytes = Buffer.concat(sent.map(encodeMessage));
  const whole = EventFrameDecoder.forSubscriber().push(bytes);
  assert.deepEqual(whole, { ok: true, value: sent });
  const decoder = EventFrameDecoder.forSubscriber();
  const got: PublisherMessage[] = [];
  for (const b of bytes) {
    const r = decoder.push(Buffer.of(b));
    assert.ok(r.ok);
    got.push(...r.value);
  }
  assert.deepEqual(got, sent);
  assert.equal(decoder.buffered, 0);
});

test('stored payloads are spliced into an events frame without re-encoding and decode to the same data', () => {
  const frame = encodeStoredEvents('anomalies', [
    { seq: 7, at: 1, payload: JSON.stringify({ a: 'x"y', n: [1, 2] }) },
    { seq: 8, at: 2, payload: 'null' },
  ]);
  const r = EventFrameDecoder.forSubscriber().push(frame);
  assert.deepEqual(r, {
    ok: true,
    value: [
      {
        type: 'events',
        topic: 'anomalies',
        items: [
          { seq: 7, at: 1, data: { a: 'x"y', n: [1, 2] } },
          { seq: 8, at: 2, data: null },
        ],
      },
    ],
  });
});

test('the publisher side accepts only a well-formed subscribe', () => {
  const ok = EventFrameDecoder.forPublisher().push(encodeMessage({ type: 'subscribe', topic: 'anomalies', after: 12 }));
  assert.deepEqual(ok, { ok: true, value: [{ type: 'subscribe', topic: 'anomalies', after: 12 }] });
  for (const bad of [
    { type: 'subscribe', topic: 'Anomalies!', after: 0 },
    { type: 'subscribe', topic: 'anomalies', after: -1 },
    { type: 'subscribe', topic: 'anomalies', after: 1.5 },
    { type: 'subscribed', topic: 'anomalies', first: 1, last: 2 },
  ]) {
    const r = EventFrameDecoder.forPublisher().push(encodeMessage(bad as never));
    assert.equal(r.ok ? 'ok' : r.error.code, 'frame_bad_message', JSON.stringify(bad));
  }
});

test('events that skip or repeat a seq within a frame are refused (no silent loss or duplicates)', () => {
  for (const seqs of [
    [1, 3],
    [2, 2],
    [5, 4],
  ]) {
    const frame = encodeStoredEvents('anomalies', seqs.map((seq) => ({ seq, at: 0, payload: '{}' })));
    const r = EventFrameDecoder.forSubscriber().push(frame);
    assert.equal(r.ok ? 'ok' : r.error.code, 'frame_bad_message', String(seqs));
  }
});

test('an oversized length, a non-JSON body, or a non-object body is an error, and the decoder stays failed', () => {
  const huge = Buffer.alloc(4);
  huge.writeUInt32BE(MAX_EVENT_FRAME + 1);
  const d1 = EventFrameDecoder.forSubscriber();
  assert.equal(d1.push(huge).ok, false);
  assert.equal(d1.push(encodeMessage({ type: 'gap', topic: 'a', from: 1, to: 1 })).ok, false, 'framing is lost after an error');
  const notJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
  assert.deepEqual(EventFrameDecoder.forSubscriber().push(notJson).ok ? null : 'failed', 'failed');
  const array = Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from('[]')]);
  const r = EventFrameDecoder.forSubscriber().push(array);
  assert.equal(r.ok ? 'ok' : r.error.code, 'frame_bad_message');
});

test('fuzz: any bytes, in any chunking, give messages or a typed error, never an exception, and buffer at most one frame', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
      for (const decoder of [EventFrameDecoder.forSubscriber(), EventFrameDecoder.forPublisher()]) {
        for (const c of chunks) {
          const r = decoder.push(c);
          if (!r.ok) assert.match(r.error.code, /^frame_/);
          assert.ok(decoder.buffered <= MAX_EVENT_FRAME + 4);
        }
      }
    }),
    { numRuns: 500 },
  );
});
