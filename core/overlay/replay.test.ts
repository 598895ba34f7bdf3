import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { REPLAY_WINDOW_SIZE, REPLAY_WINDOW_WORDS, ReplayWindow } from './replay.ts';

/**
 * The reference: remember every counter ever accepted, and accept a counter once, if it is newer
 * than the highest or less than REPLAY_WINDOW_SIZE behind it. The ring of bits must behave exactly so.
 */
class ReferenceWindow {
  readonly seen = new Set<number>();
  highest = -1;

  check(counter: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0) return false;
    if (counter > this.highest) return true;
    return this.highest - counter < REPLAY_WINDOW_SIZE && !this.seen.has(counter);
  }

  accept(counter: number): boolean {
    if (!this.check(counter)) return false;
    this.seen.add(counter);
    this.highest = Math.max(this.highest, counter);
    return true;
  }
}

function acceptAll(window: ReplayWindow, counters: Iterable<number>): void {
  for (const c of counters) assert.equal(window.accept(c), true, `counter ${c} should be accepted`);
}

test('the window holds 2,016 counters behind the highest (64 words of 32 bits, one word of slack)', () => {
  assert.equal(REPLAY_WINDOW_WORDS, 64);
  assert.equal(REPLAY_WINDOW_SIZE, 2016);
});

test('a fresh window accepts counter 0 and reports no highest yet', () => {
  const w = new ReplayWindow();
  assert.equal(w.highest, -1);
  assert.equal(w.check(0), true);
  assert.equal(w.accept(0), true);
  assert.equal(w.highest, 0);
  assert.equal(w.accept(0), false);
});

test('accepts counters in order, each exactly once', () => {
  const w = new ReplayWindow();
  for (let c = 0; c < 5000; c++) {
    assert.equal(w.accept(c), true, `first ${c}`);
    assert.equal(w.accept(c), false, `second ${c}`);
  }
  assert.equal(w.highest, 4999);
});

test('accepts counters out of order within the window, and refuses each duplicate', () => {
  const w = new ReplayWindow();
  acceptAll(w, [10, 3, 7, 0, 9, 1]);
  for (const c of [10, 3, 7, 0, 9, 1]) assert.equal(w.accept(c), false, `duplicate ${c}`);
  acceptAll(w, [2, 4, 5, 6, 8]);
  assert.equal(w.highest, 10);
});

test('check answers without recording', () => {
  const w = new ReplayWindow();
  acceptAll(w, [100]);
  assert.equal(w.check(50), true);
  assert.equal(w.check(50), true);
  assert.equal(w.check(101), true);
  assert.equal(w.highest, 100);
  assert.equal(w.accept(50), true);
  assert.equal(w.check(50), false);
});

test('the edge of the window: REPLAY_WINDOW_SIZE - 1 behind is accepted, REPLAY_WINDOW_SIZE behind is too old', () => {
  const top = 10_000;
  const w = new ReplayWindow();
  acceptAll(w, [top]);
  assert.equal(w.check(top - REPLAY_WINDOW_SIZE), false);
  assert.equal(w.accept(top - REPLAY_WINDOW_SIZE), false);
  assert.equal(w.accept(top - REPLAY_WINDOW_SIZE + 1), true);
  assert.equal(w.accept(0), false);
  // Every counter inside the window was never seen, so every one is accepted once.
  for (let c = top - REPLAY_WINDOW_SIZE + 2; c < top; c++) assert.equal(w.accept(c), true, `counter ${c}`);
  for (let c = top - REPLAY_WINDOW_SIZE + 1; c <= top; c++) assert.equal(w.accept(c), false, `replay of ${c}`);
});

test('a jump beyond the window: old counters become too old, unseen counters in the new window are accepted', () => {
  const w = new ReplayWindow();
  acceptAll(w, [0, 1, 2, 3, 5, 40, 41]);
  const jump = 41 + REPLAY_WINDOW_SIZE + 100;
  acceptAll(w, [jump]);
  for (const c of [0, 1, 2, 3, 4, 5, 40, 41, 42]) assert.equal(w.accept(c), false, `counter ${c} is too old after the jump`);
  // The ring slots the old counters used now stand for new counters, which were never seen.
  for (let c = jump - REPLAY_WINDOW_SIZE + 1; c < jump; c++) assert.equal(w.accept(c), true, `counter ${c} in the new window`);
  assert.equal(w.accept(jump), false);
});

test('a jump of exactly one ring lap does not mistake stale bits for replays', () => {
  // Counters c and c + 2048 share a ring bit: the slide must clear what the previous lap left.
  const ring = REPLAY_WINDOW_WORDS * 32;
  for (const start of [0, 31, 32, 1000, 2047, 2048, 5000]) {
    const w = new ReplayWindow();
    for (let c = 0; c <= start; c++) w.accept(c); // fill the previous lap
    acceptAll(w, [start + ring]);
    assert.equal(w.accept(start), false, 'the old one is too old');
    // Every other counter in the new window was never seen, though its bit was set a lap ago.
    for (let c = start + ring - REPLAY_WINDOW_SIZE + 1; c < start + ring; c++) {
      assert.equal(w.accept(c), true, `start ${start}: counter ${c}`);
    }
  }
});

test('a jump shorter than the window keeps the bits still inside it', () => {
  const w = new ReplayWindow();
  acceptAll(w, [0, 100, 1000, 1500]);
  acceptAll(w, [2100]); // 0 and 100 fall out of the window (2100 - 2016 = 84), 1000 and 1500 stay
  assert.equal(w.accept(0), false);
  assert.equal(w.accept(100), false, '100 is still in the window and was seen');
  assert.equal(w.accept(1000), false);
  assert.equal(w.accept(1500), false);
  assert.equal(w.accept(85), true);
  assert.equal(w.accept(84), false, 'exactly REPLAY_WINDOW_SIZE behind');
  assert.equal(w.accept(101), true);
  assert.equal(w.accept(2099), true);
});

test('refuses negative, fractional, NaN, infinite and unsafe counters', () => {
  const w = new ReplayWindow();
  for (const c of [-1, -0.5, 0.5, Number.NaN, Infinity, -Infinity, 2 ** 53]) {
    assert.equal(w.check(c), false, String(c));
    assert.equal(w.accept(c), false, String(c));
  }
  assert.equal(w.highest, -1);
});

test('large counters (beyond 32 bits, up to 2^53 - 1) work like small ones', () => {
  const base = 2 ** 52 + 12345;
  const w = new ReplayWindow();
  acceptAll(w, [base, base + 31, base + 32, base - 1]);
  assert.equal(w.accept(base), false);
  assert.equal(w.accept(base + 32), false);
  acceptAll(w, [Number.MAX_SAFE_INTEGER]);
  assert.equal(w.accept(base), false);
  assert.equal(w.accept(Number.MAX_SAFE_INTEGER - 1), true);
  assert.equal(w.accept(Number.MAX_SAFE_INTEGER), false);
});

/** A step relative to the current highest, so runs explore the window's edges and laps. */
type Step =
  | { kind: 'next'; ahead: number }
  | { kind: 'jump'; ahead: number }
  | { kind: 'behind'; by: number }
  | { kind: 'absolute'; counter: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('next' as const), ahead: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('jump' as const), ahead: fc.integer({ min: 1, max: 6000 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('behind' as const),
      by: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: REPLAY_WINDOW_SIZE - 40, max: REPLAY_WINDOW_SIZE + 40 }), fc.integer({ min: 0, max: 2100 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('absolute' as const), counter: fc.integer({ min: 0, max: 20_000 }) }) },
);

test('model: the ring of bits agrees with a Set-based reference on random sequences', () => {
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 400 }), (steps) => {
      const ring = new ReplayWindow();
      const model = new ReferenceWindow();
      for (const s of steps) {
        const base = Math.max(model.highest, 0);
        const counter =
          s.kind === 'next' || s.kind === 'jump' ? base + s.ahead : s.kind === 'behind' ? Math.max(0, base - s.by) : s.counter;
        assert.equal(ring.check(counter), model.check(counter), `check(${counter}) with highest ${model.highest}`);
        assert.equal(ring.accept(counter), model.accept(counter), `accept(${counter}) with highest ${model.highest}`);
        assert.equal(ring.highest, model.highest);
      }
      // Finally every counter around the window agrees too.
      const top = Math.max(model.highest, 0);
      for (let c = Math.max(0, top - REPLAY_WINDOW_SIZE - 40); c <= top + 5; c++) {
        assert.equal(ring.check(c), model.check(c), `final check(${c}) with highest ${model.highest}`);
      }
    }),
    { numRuns: 300 },
  );
});
