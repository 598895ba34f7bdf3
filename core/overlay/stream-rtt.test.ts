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

test('the baseline is the lowest SRTT of the last ten seconds: a queue shows above it, a new path replaces it', () => {
  const rtt = new RttEstimator(bounds);
  assert.equal(rtt.baseline, null);
  for (let t = 0; t < 3000; t += 10) rtt.sample(100, t);
  assert.equal(rtt.baseline, 100);
  // A queue builds: SRTT climbs, the baseline stays.
  for (let t = 3000; t < 5000; t += 10) rtt.sample(100 + (t - 3000) / 10, t);
  assert.ok((rtt.srtt ?? 0) > 250);
  assert.equal(rtt.baseline, 100);
  // Reordering: a far-early sample moves SRTT a little, not the baseline to zero.
  rtt.sample(1, 5000);
  assert.ok((rtt.baseline ?? 0) >= 100);
  // A longer path for more than ten seconds becomes the baseline.
  for (let t = 5000; t < 17_000; t += 10) rtt.sample(300, t);
  assert.ok(Math.abs((rtt.baseline ?? 0) - 300) < 1, `${rtt.baseline}`);
});
