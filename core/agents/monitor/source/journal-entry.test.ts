import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoFromRealtime, parseJournalEntry } from './journal-entry.ts';

const MAX = 64 * 1024;

function entry(fields: Record<string, unknown>): string {
  return JSON.stringify({ __CURSOR: 'c1', __REALTIME_TIMESTAMP: '1704164645123456', _HOSTNAME: 'h', SYSLOG_IDENTIFIER: 'sshd', _PID: '7', ...fields });
}

test('realtime microseconds become RFC 3339 UTC with six fraction digits', () => {
  assert.equal(isoFromRealtime('1704164645123456'), '2024-01-02T03:04:05.123456+00:00');
  assert.equal(isoFromRealtime('0'), '1970-01-01T00:00:00.000000+00:00');
  assert.equal(isoFromRealtime('1704164645000001'), '2024-01-02T03:04:05.000001+00:00');
  for (const bad of ['', '-5', '1.5', 'abc', '99999999999999999999']) assert.equal(isoFromRealtime(bad), null, bad);
});

test('the line keeps host, identifier and pid where syslog has them; no pid, no brackets', () => {
  assert.deepEqual(parseJournalEntry(entry({ MESSAGE: 'hello' }), MAX), {
    ok: true,
    entry: { cursor: 'c1', lines: ['2024-01-02T03:04:05.123456+00:00 h sshd[7]: hello'] },
  });
  const kernel = parseJournalEntry(entry({ SYSLOG_IDENTIFIER: 'kernel', _PID: undefined, MESSAGE: 'x' }), MAX);
  assert.ok(kernel.ok);
  assert.deepEqual(kernel.entry.lines, ['2024-01-02T03:04:05.123456+00:00 h kernel: x']);
  const noIdentifier = parseJournalEntry(entry({ SYSLOG_IDENTIFIER: undefined, _COMM: 'cron', _HOSTNAME: undefined, MESSAGE: 'x' }), MAX);
  assert.ok(noIdentifier.ok);
  assert.deepEqual(noIdentifier.entry.lines, ['2024-01-02T03:04:05.123456+00:00 localhost cron[7]: x']);
});

test('fields given as byte arrays or repeated (arrays of values) are read', () => {
  const bytes = parseJournalEntry(entry({ MESSAGE: [...Buffer.from('ünï')], SYSLOG_IDENTIFIER: ['sshd', 'other'] }), MAX);
  assert.ok(bytes.ok);
  assert.deepEqual(bytes.entry.lines, ['2024-01-02T03:04:05.123456+00:00 h sshd[7]: ünï']);
});

test('bad entries give a typed reason with the cursor when there is one, never an exception', () => {
  const cases: Array<[string, string, string | null]> = [
    ['{', 'bad_entry', null],
    ['[1,2]', 'bad_entry', null],
    [entry({ __REALTIME_TIMESTAMP: 'soon', MESSAGE: 'x' }), 'bad_entry', 'c1'],
    [entry({}), 'bad_entry', 'c1'],
    [entry({ MESSAGE: null }), 'too_long', 'c1'],
    [entry({ MESSAGE: { a: 1 } }), 'bad_entry', 'c1'],
    [entry({ MESSAGE: [0xff, 0x41] }), 'invalid_utf8', 'c1'],
    [entry({ MESSAGE: [0x41, 0x00] }), 'binary', 'c1'],
    [entry({ MESSAGE: 'bell\u0007' }), 'binary', 'c1'],
    [entry({ MESSAGE: 'x'.repeat(MAX) }), 'too_long', 'c1'],
  ];
  for (const [line, reason, cursor] of cases) {
    const result = parseJournalEntry(line, MAX);
    assert.ok(!result.ok, line.slice(0, 60));
    assert.equal(result.problem.reason, reason, line.slice(0, 60));
    assert.equal(result.problem.cursor, cursor);
  }
});
