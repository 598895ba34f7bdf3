import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimdCongestion } from './congestion.ts';

test('slow start: the window grows by one segment per segment acknowledged (doubling per round trip)', () => {
  const cc = new AimdCongestion(10, 1000);
  assert.ok(cc.inSlowStart);
  cc.onAck(10, true);
  assert.equal(cc.cwnd, 20);
  cc.onAck(20, true);
  assert.equal(cc.cwnd, 40);
});

test('congestion avoidance: one segment more per window acknowledged', () => {
  const cc = new AimdCongestion(10, 1000);
  cc.onLoss(40); // ssthresh = cwnd = 20
  assert.equal(cc.cwnd, 20);
  assert.ok(!cc.inSlowStart);
  cc.onAck(19, true);
  assert.equal(cc.cwnd, 20);
  cc.onAck(1, true);
  assert.equal(cc.cwnd, 21);
  cc.onAck(21, true);
  assert.equal(cc.cwnd, 22);
});

test('slow start stops at ssthresh and the rest of the ACK counts toward avoidance', () => {
  const cc = new AimdCongestion(10, 1000);
  cc.onTimeout(24); // ssthresh 12, cwnd 1
  cc.onAck(1, true);
  cc.onAck(2, true);
  cc.onAck(4, true);
  assert.equal(cc.cwnd, 8);
  cc.onAck(8, true); // 4 to reach 12, then 4 credits toward 13
  assert.equal(cc.cwnd, 12);
  cc.onAck(8, true);
  assert.equal(cc.cwnd, 13);
});

test('multiplicative decrease: a loss halves the flight; a timeout drops to one segment', () => {
  const cc = new AimdCongestion(10, 1000);
  cc.onAck(90, true);
  cc.onLoss(100);
  assert.equal(cc.ssthresh, 50);
  assert.equal(cc.cwnd, 50);
  cc.onTimeout(50);
  assert.equal(cc.ssthresh, 25);
  assert.equal(cc.cwnd, 1);
  cc.onLoss(1);
  assert.equal(cc.ssthresh, 2, 'never below two segments');
});

test('the window does not grow while the sender is not using it, nor past its ceiling', () => {
  const cc = new AimdCongestion(10, 64);
  cc.onAck(10, false);
  assert.equal(cc.cwnd, 10);
  cc.onAck(1000, true);
  assert.equal(cc.cwnd, 64);
});

test('random (non-congestive) loss: the window shrinks by 15 % and slow start goes on; a random timeout halves', () => {
  const cc = new AimdCongestion(10, 1000);
  cc.onAck(90, true); // slow start to 100
  cc.onRandomLoss();
  assert.equal(cc.cwnd, 85);
  assert.ok(cc.inSlowStart, 'still probing upwards');
  assert.equal(cc.ssthresh, 1000);
  cc.onLoss(85); // a congestion loss sets ssthresh
  assert.equal(cc.ssthresh, 42);
  cc.onRandomLoss();
  assert.equal(cc.cwnd, 35);
  assert.equal(cc.ssthresh, 70, 'slow start again, to twice the window');
  cc.onRandomTimeout();
  assert.equal(cc.cwnd, 17);
  const small = new AimdCongestion(3, 1000);
  small.onRandomLoss();
  assert.equal(small.cwnd, 3, 'a small window is not cut below four segments (or what it was)');
});
