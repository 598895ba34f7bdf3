import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileDatePattern, createDateDetector, type DateDetector, type DateMatch } from './date-detector.ts';

// Local-time expectations are built with the Date constructor, so the tests hold in any TZ.
const REFERENCE = new Date(2005, 7, 14, 12, 0, 0).getTime(); // 2005-08-14 12:00 local

function detector(datepattern: string | null): DateDetector {
  const compiled = compileDatePattern(datepattern);
  assert.ok(compiled.ok, compiled.ok ? '' : compiled.message);
  return createDateDetector(compiled.patterns);
}

function detect(datepattern: string | null, line: string, reference = REFERENCE): { match: DateMatch; rest: string } {
  const match = detector(datepattern).detect(line, reference);
  assert.ok(match !== null, `no date found in ${JSON.stringify(line)} with ${JSON.stringify(datepattern)}`);
  return { match, rest: line.slice(0, match.start) + line.slice(match.end) };
}

test('syslog dates are local time; the year comes from the reference time', () => {
  const { match, rest } = detect('{^LN-BEG}', 'Jan  5 01:31:41 www sshd[1643]: ROOT LOGIN REFUSED FROM 1.2.3.4');
  assert.equal(match.time, new Date(2005, 0, 5, 1, 31, 41).getTime());
  assert.equal(rest, ' www sshd[1643]: ROOT LOGIN REFUSED FROM 1.2.3.4', 'only the date is cut out; the failregex sees the rest');
});

test('a syslog date more than a day ahead of the reference belongs to the year before', () => {
  assert.equal(detect(null, 'Nov 28 09:16:05 srv sshd[1]: x').match.time, new Date(2004, 10, 28, 9, 16, 5).getTime());
  const newYear = new Date(2006, 0, 1, 0, 5, 0).getTime();
  assert.equal(detect(null, 'Dec 31 23:59:59 srv sshd[1]: x', newYear).match.time, new Date(2005, 11, 31, 23, 59, 59).getTime());
  assert.equal(detect(null, 'Aug 14 12:51:04 srv x', REFERENCE).match.time, new Date(2005, 7, 14, 12, 51, 4).getTime(), 'within the tolerance: this year');
});

test('ISO 8601 with a zone is exact; without a zone it is local', () => {
  assert.equal(detect(null, '2015-04-16T18:02:50.321974+00:00 host sshd[2716]: x').match.time, Date.UTC(2015, 3, 16, 18, 2, 50, 321));
  assert.equal(detect(null, '2019-07-08T17:40:16-04:00 h x').match.time, Date.UTC(2019, 6, 8, 21, 40, 16));
  assert.equal(detect(null, '2013-08-11 03:56:40 auth-worker: x').match.time, new Date(2013, 7, 11, 3, 56, 40).getTime());
});

test('web access log dates inside brackets leave the brackets ([]) for the failregex', () => {
  const line = '12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] "GET /phpMyAdmin HTTP/1.1" 404 47';
  const { match, rest } = detect(null, line);
  assert.equal(match.time, Date.UTC(2015, 0, 20, 18, 53, 28));
  assert.equal(rest, '12.34.56.78 - - [] "GET /phpMyAdmin HTTP/1.1" 404 47');
  const custom = detect('^[^\\[]*\\[({DATE})', line);
  assert.equal(custom.rest, rest, 'a custom pattern with a group cuts out only the group');
});

test('nginx error log, apache error log with year and microseconds, MySQL, day-first', () => {
  assert.equal(detect('{^LN-BEG}', '2012/04/09 11:53:29 [error] 2865#0: x').match.time, new Date(2012, 3, 9, 11, 53, 29).getTime());
  const apache = detect('{^LN-BEG}', '[Sun Sep 14 21:44:43.008606 2014] [authz_core:error] x');
  assert.equal(apache.match.time, new Date(2014, 8, 14, 21, 44, 43, 8).getTime());
  assert.equal(apache.rest, '[] [authz_core:error] x');
  assert.equal(detect(null, '130324  0:04:00 [Warning] Access denied').match.time, new Date(2013, 2, 24, 0, 4, 0).getTime());
  assert.equal(detect('{^LN-BEG}', '11-06-2013 02:09:40 +0300 PROXY').rest, ' +0300 PROXY');
});

test('zone names are read (monit writes [PDT Apr 16 21:05:29])', () => {
  assert.equal(detect('{^LN-BEG}', '[PDT Apr 16 21:05:29] error : x').match.time, Date.UTC(2005, 3, 17, 4, 5, 29));
});

test('Epoch and TAI64N at the start of a line', () => {
  assert.equal(detect('{^LN-BEG}Epoch', '1386434405.123 nsd[1]: x').match.time, 1386434405123);
  assert.equal(detect('{^LN-BEG}TAI64N', '@400000004c91b044077a9e94 imap-login: x').match.time, 0x4c91b044 * 1000 + Math.floor(0x077a9e94 / 1e6));
  assert.equal(detector(null).detect('pid 1386434405 exited', REFERENCE), null, 'a bare number mid-line is not a date');
});

test('custom strptime patterns, including fail2ban extensions', () => {
  assert.equal(detect('^%Y-%m-%d %H:%M:%S', '2005-01-02 03:04:05 x').match.time, new Date(2005, 0, 2, 3, 4, 5).getTime());
  assert.equal(detect('^L %d/%m/%Y - %H:%M:%S', 'L 01/02/2005 - 03:04:05: x').match.time, new Date(2005, 1, 1, 3, 4, 5).getTime());
  assert.equal(detect('^%b %d, %ExY %I:%M:%S %p', 'Jan 23, 2005 9:41:02 PM x').match.time, new Date(2005, 0, 23, 21, 41, 2).getTime());
  const ejabberd = '^(?:=[^=]+={3,} )?(%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?)';
  assert.equal(detect(ejabberd, '=INFO REPORT==== 2013-04-22 06:59:52 ===').rest, '=INFO REPORT====  ===');
});

test('a time of day alone is today, or yesterday when it lies ahead', () => {
  assert.equal(detect('^%H:%M:%S.%f', '11:00:00.123 [x]').match.time, new Date(2005, 7, 14, 11, 0, 0, 123).getTime());
  assert.equal(detect('^%H:%M:%S.%f', '12:57:32.907 [x]').match.time, new Date(2005, 7, 13, 12, 57, 32, 907).getTime());
});

test('{NONE} finds no date; impossible dates are not dates', () => {
  assert.equal(detector('{NONE}').none, true);
  assert.equal(detector('{NONE}').detect('Jan  5 01:31:41 x', REFERENCE), null);
  assert.equal(detector('^%Y-%m-%d').detect('2005-02-30 x', REFERENCE), null);
});

test('a bad datepattern is an error, not an exception', () => {
  const unknown = compileDatePattern('%Q');
  assert.equal(unknown.ok, false);
  if (!unknown.ok) assert.match(unknown.message, /unsupported strptime directive %Q/);
  const broken = compileDatePattern('^(%Y');
  assert.equal(broken.ok, false);
  if (!broken.ok) assert.match(broken.message, /unterminated subpattern/);
});
