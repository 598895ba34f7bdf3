import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REORDERING_THRESHOLD, Scoreboard, SentSegment, type AckedRange, type SackedRange } from './stream-scoreboard.ts';

const MSS = 100;

/** n segments of MSS bytes from seq 1000, each sent once at time 0, 1, 2, ... */
function sent(n: number): { board: Scoreboard; segments: SentSegment[] } {
  const board = new Scoreboard();
  const segments: SentSegment[] = [];
  for (let i = 0; i < n; i++) {
    const seq = 1000 + i * MSS;
    const s = new SentSegment(seq, seq + MSS, Buffer.alloc(1 + MSS), MSS, 2);
    board.add(s);
    board.transmitted(s, i);
    segments.push(s);
  }
  return { board, segments };
}

const acked = (): AckedRange => ({ segments: 0, bytes: 0, sampleSentAt: -1 });
const sacked = (): SackedRange => ({ segments: 0, sampleSentAt: -1 });

test('a cumulative ACK removes what it covers and offers a round-trip sample from segments sent once', () => {
  const { board } = sent(5);
  const out = acked();
  board.acknowledge(1250, out); // covers two whole segments, half of the third
  assert.deepEqual(out, { segments: 2, bytes: 200, sampleSentAt: 1 });
  assert.equal(board.length, 3);
  assert.equal(board.pipe, 3);
  assert.equal(board.bytes, 300);
});

test("Karn: no sample when the ACK covers a retransmission or a segment SACKed earlier", () => {
  const { board, segments } = sent(3);
  board.markLost(segments[0]!);
  board.transmitted(segments[0]!, 10);
  const out = acked();
  board.acknowledge(1200, out);
  assert.equal(out.sampleSentAt, -1);
  const second = sent(3);
  second.board.markSacked([{ start: 1100, end: 1200 }], 1000, 1300, sacked());
  second.board.acknowledge(1200, out);
  assert.equal(out.sampleSentAt, -1);
});

test('SACKed segments leave the pipe; a segment is lost once three sent after it were delivered', () => {
  const { board, segments } = sent(6);
  const out = sacked();
  board.markSacked([{ start: 1100, end: 1300 }], 1000, 1600, out);
  assert.deepEqual(out, { segments: 2, sampleSentAt: 2 });
  assert.equal(board.detectLosses(REORDERING_THRESHOLD), 0, 'two delivered after it: maybe reordered');
  board.markSacked([{ start: 1300, end: 1400 }], 1000, 1600, out);
  assert.equal(board.detectLosses(REORDERING_THRESHOLD), 1);
  assert.ok(segments[0]!.lost);
  assert.equal(board.pipe, 2, 'segments 4 and 5 are still in flight');
  assert.equal(board.nextLost(), segments[0]);
  board.transmitted(segments[0]!, 10);
  assert.equal(board.lostCount, 0);
  assert.equal(board.pipe, 3);
});

test('a lost retransmission is noticed without a timeout: later transmissions were delivered', () => {
  const { board, segments } = sent(4);
  board.markSacked([{ start: 1100, end: 1400 }], 1000, 1400, sacked());
  board.detectLosses(REORDERING_THRESHOLD);
  board.transmitted(segments[0]!, 10); // txOrder 5
  for (let i = 0; i < 3; i++) {
    const seq = 1400 + i * MSS;
    const s = new SentSegment(seq, seq + MSS, Buffer.alloc(1 + MSS), MSS, 2);
    board.add(s);
    board.transmitted(s, 11 + i);
  }
  board.markSacked([{ start: 1100, end: 1700 }], 1000, 1700, sacked());
  assert.equal(board.detectLosses(REORDERING_THRESHOLD), 1);
  assert.ok(segments[0]!.lost, 'the retransmission is deemed lost too');
});

test('reordering window: an overtaken segment is not called lost until it is old enough, and the board says when to look again', () => {
  const { board, segments } = sent(6); // sent at 0..5
  board.markSacked([{ start: 1100, end: 1600 }], 1000, 1600, sacked());
  assert.equal(board.detectLosses(REORDERING_THRESHOLD, 50, 100), 0, 'sent 50 ms ago, the window is 100 ms: maybe still on its way');
  assert.equal(board.recheckAt, 100);
  assert.equal(segments[0]!.lost, false);
  assert.equal(board.detectLosses(REORDERING_THRESHOLD, 100, 100), 1, 'no new delivery, but it came of age');
  assert.ok(segments[0]!.lost);
  assert.equal(board.recheckAt, Infinity);
});

test('SACK blocks outside the outstanding range are ignored', () => {
  const { board } = sent(3);
  const out = sacked();
  board.markSacked([{ start: 900, end: 1100 }, { start: 1200, end: 1400 }, { start: 1100, end: 1100 }], 1000, 1300, out);
  assert.equal(out.segments, 0);
  assert.equal(board.sackedCount, 0);
});

test('a timeout deems every unSACKed segment lost and empties the pipe', () => {
  const { board } = sent(4);
  board.markSacked([{ start: 1200, end: 1300 }], 1000, 1400, sacked());
  board.markAllLost();
  assert.equal(board.lostCount, 3);
  assert.equal(board.pipe, 0);
  assert.equal(board.lastUnsacked()?.seq, 1300);
});
