import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RttEstimator } from './stream-rtt.ts';

const bounds = { initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 60_000 };

test('before any sample the RTO is the initial one (RFC 6298 2.1)', () => {
  const rtt = new RttEstimator(bounds);
  assert.equal(rtt.rto, 1000);
  assert.equal(rtt.srtt, null);
});

test('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4·RTTVAR (RFC 6298 2.2)', () => {
  const rtt = new RttEstimator(bounds);
  rtt.sample(100);
  assert.equal(rtt.srtt, 100);
  assert.equal(rtt.rttvar, 50);
  assert.equal(rtt.rto, 300);
});

test('later samples: RTTVAR = 3/4·RTTVAR + 1/4·|SRTT - R|, SRTT = 7/8·SRTT + 1/8·R (RFC 6298 2.3)', () => {
  const rtt = new RttEstimator(bounds);
  rtt.sample(100);
  rtt.sample(200);
  assert.equal(rtt.rttvar, 62.5);
  assert.equal(rtt.srtt, 112.5);
  assert.equal(rtt.rto, 362.5);
});

test('the RTO is clamped to its floor and ceiling', () => {
  const rtt = new RttEstimator(bounds);
  rtt.sample(1);
  assert.equal(rtt.rto, 200);
  rtt.sample(100_000);
  assert.equal(rtt.rto, 60_000);
});

test('timeouts double the RTO up to the ceiling; a sample or an ACK of new data ends the back-off', () => {
  const rtt = new RttEstimator(bounds);
  rtt.sample(100);
  rtt.backoff();
  assert.equal(rtt.rto, 600);
  for (let i = 0; i < 20; i++) rtt.backoff();
  assert.equal(rtt.rto, 60_000);
  rtt.resetBackoff();
  assert.equal(rtt.rto, 300);
  rtt.backoff();
  rtt.sample(100);
  assert.ok(rtt.rto < 600);
});
