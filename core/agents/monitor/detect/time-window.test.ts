// The sliding windows agree with a naive list of every attempt, and stay small.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeyedTimeWindow, TimeWindowCount } from './time-window.ts';

const steps = fc.array(fc.record({ dt: fc.integer({ min: 0, max: 400 }), count: fc.integer({ min: 1, max: 5 }), key: fc.integer({ min: 0, max: 6 }) }), { maxLength: 300, size: 'max' });

test('TimeWindowCount sums exactly the attempts at most windowMs old', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), steps, (windowMs, list) => {
      const window = new TimeWindowCount(windowMs);
      const all: { time: number; count: number }[] = [];
      let now = 0;
      for (const { dt, count } of list) {
        now += dt;
        const before = window.sum;
        const forgotten = window.advance(now);
        const expected = all.filter((entry) => now - entry.time <= windowMs).reduce((sum, entry) => sum + entry.count, 0);
        assert.equal(window.sum, expected);
        assert.equal(before - forgotten, expected);
        window.add(now, count);
        all.push({ time: now, count });
      }
    }),
  );
});

test('dropRedundant keeps "at least N in the window" exact with at most N entries', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 8 }), steps, (windowMs, atLeast, list) => {
      const window = new TimeWindowCount(windowMs);
      const all: { time: number; count: number }[] = [];
      let now = 0;
      for (const { dt, count } of list) {
        now += dt;
        window.advance(now);
        const expected = all.filter((entry) => now - entry.time <= windowMs).reduce((sum, entry) => sum + entry.count, 0);
        assert.equal(window.sum >= atLeast, expected >= atLeast);
        window.add(now, count);
        window.dropRedundant(atLeast);
        assert.ok(window.entries <= atLeast);
        all.push({ time: now, count });
      }
    }),
  );
});

test('KeyedTimeWindow counts distinct keys seen within the window, and their attempts', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), steps, (windowMs, list) => {
      const window = new KeyedTimeWindow<number>(windowMs);
      const lastSeen = new Map<number, number>();
      const counts = new Map<number, number>();
      let now = 0;
      for (const { dt, count, key } of list) {
        now += dt;
        window.advance(now);
        for (const [k, time] of lastSeen) {
          if (now - time > windowMs) {
            lastSeen.delete(k);
            counts.delete(k);
          }
        }
        assert.equal(window.size, lastSeen.size);
        assert.equal(window.sum, [...counts.values()].reduce((a, b) => a + b, 0));
        window.add(key, now, count);
        lastSeen.set(key, now);
        counts.set(key, (counts.get(key) ?? 0) + count);
      }
    }),
  );
});
