import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSyslogHeader, type SyslogHeader } from './syslog.ts';

const REFERENCE = new Date(2024, 5, 15, 12, 0, 0).getTime(); // 15 June 2024, local noon

function header(text: string, referenceTime = REFERENCE): SyslogHeader {
  const h = parseSyslogHeader(text, { referenceTime });
  if (h === null) assert.fail(`expected a header in: ${text}`);
  return h;
}

test('RFC 3164 with a two-digit day, a padded one-digit day and an unpadded one', () => {
  const two = header('Jun 14 10:00:01 web1 sshd[2001]: Failed password');
  assert.deepEqual(two, { time: new Date(2024, 5, 14, 10, 0, 1).getTime(), hostname: 'web1', program: 'sshd', pid: '2001', message: 'Failed password', format: 'rfc3164' });
  assert.equal(header('Jun  4 10:00:02 web1 sshd[1]: x').time, new Date(2024, 5, 4, 10, 0, 2).getTime());
  assert.equal(header('Jun 4 10:00:02 web1 sshd[1]: x').time, new Date(2024, 5, 4, 10, 0, 2).getTime());
});

test('RFC 3164 as sent on the wire, with its PRI, and with a fraction of a second', () => {
  const h = header('<34>Oct 11 22:14:15 mymachine su: \'su root\' failed for lonvick on /dev/pts/8');
  assert.equal(h.program, 'su');
  assert.equal(h.hostname, 'mymachine');
  assert.equal(h.message, "'su root' failed for lonvick on /dev/pts/8");
  assert.equal(header('Jun 14 10:00:01.250 web1 sshd[1]: x').time, new Date(2024, 5, 14, 10, 0, 1, 250).getTime());
});

test('the hostname may be absent when the program token shows it is', () => {
  assert.deepEqual(pick(header('Jun 14 10:00:04 sshd[2004]: Failed password')), [null, 'sshd', '2004', 'Failed password']);
  assert.deepEqual(pick(header('Jan 29 09:33:58 pop3-login: Info: Aborted login')), [null, 'pop3-login', null, 'Info: Aborted login']);
  assert.deepEqual(pick(header('Mar  3 00:17:22 [sshd]: User root from 192.0.2.1 not allowed')), [null, 'sshd', null, 'User root from 192.0.2.1 not allowed']);
  assert.deepEqual(pick(header('Jun 25 23:53:34 [sshd] User root from 192.0.2.1 not allowed')), [null, 'sshd', null, 'User root from 192.0.2.1 not allowed']);
});

test('program names keep everything but the pid', () => {
  const programs = [
    ['Jun 14 10:00:00 h sshd-session[12]: m', 'sshd-session', '12'],
    ['Jun 14 10:00:00 h sshd(pam_unix)[12]: m', 'sshd(pam_unix)', '12'],
    ['Jun 14 10:00:00 h postfix/submission/smtpd[12]: m', 'postfix/submission/smtpd', '12'],
    ['Jun 14 10:00:00 h auth-worker(304): m', 'auth-worker(304)', null],
    ['Jun 14 10:00:00 h kernel: [123.456] DROP IN=eth0', 'kernel', null],
    ['Jun 14 10:00:00 h httpd/backend1[22034]: m', 'httpd/backend1', '22034'],
  ] as const;
  for (const [text, program, pid] of programs) {
    const h = header(text);
    assert.equal(h.program, program, text);
    assert.equal(h.pid, pid, text);
  }
});

test('RFC 5424 with nil values, structured data (escapes and brackets inside values) and a BOM', () => {
  const h = header('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \uFEFFAn application event');
  assert.deepEqual(h, {
    time: Date.UTC(2003, 9, 11, 22, 14, 15, 3),
    hostname: 'mymachine.example.com',
    program: 'evntslog',
    pid: null,
    message: 'An application event',
    format: 'rfc5424',
  });
  const escaped = header('<38>1 2019-07-08T17:40:17.954167-04:00 host sshd 55555 - [timeQuality tzKnown="1"][x@1 test="[brackets] and \\"quotes\\" \\]"] Failed unknown');
  assert.equal(escaped.message, 'Failed unknown');
  assert.equal(escaped.pid, '55555');
  assert.equal(escaped.time, Date.UTC(2019, 6, 8, 21, 40, 17, 954));
  const nil = header('<34>1 2024-01-02T03:04:05Z - - - - -');
  assert.deepEqual([nil.hostname, nil.program, nil.pid, nil.message], [null, '', null, '']);
});

test('ISO 8601 stamps: T or space, with a zone (Z, ±hh:mm, ±hhmm) or local time without one', () => {
  assert.equal(header('2024-01-02T03:04:05.123456+00:00 host sshd[1]: m').time, Date.UTC(2024, 0, 2, 3, 4, 5, 123));
  assert.equal(header('2024-01-02T03:04:05Z host sshd[1]: m').time, Date.UTC(2024, 0, 2, 3, 4, 5));
  assert.equal(header('2024-01-02T03:04:05+0130 host sshd[1]: m').time, Date.UTC(2024, 0, 2, 1, 34, 5));
  assert.equal(header('2024-01-02T03:04:05-05:00 host sshd[1]: m').time, Date.UTC(2024, 0, 2, 8, 4, 5));
  assert.equal(header('2024-01-02 03:04:05 host sshd[1]: m').time, new Date(2024, 0, 2, 3, 4, 5).getTime());
  assert.equal(header('2024-01-02T03:04:05,5 host sshd[1]: m').time, new Date(2024, 0, 2, 3, 4, 5, 500).getTime());
  assert.deepEqual(pick(header('2013-08-11 03:56:40 auth-worker(default): Info: pam(u,192.0.2.1)')), [null, 'auth-worker(default)', null, 'Info: pam(u,192.0.2.1)']);
});

test("multilog's TAI64N label (2^62 + 10 + Unix seconds)", () => {
  const h = header('@400000004c91b044077a9e94 imap-login: Info: Aborted login');
  assert.equal(h.time, (0x4c91b044 - 10) * 1000 + 125);
  assert.equal(h.program, 'imap-login');
  assert.equal(h.format, 'tai64n');
});

test('year inference: the latest year that puts the stamp at most a day after the reference', () => {
  const newYearsEve = new Date(2024, 11, 31, 23, 0, 0).getTime();
  assert.equal(header('Jan  1 00:30:00 h sshd[1]: m', newYearsEve).time, new Date(2025, 0, 1, 0, 30, 0).getTime(), 'a clock slightly ahead');
  assert.equal(header('Dec 31 22:00:00 h sshd[1]: m', newYearsEve).time, new Date(2024, 11, 31, 22, 0, 0).getTime());
  const newYearsDay = new Date(2025, 0, 1, 1, 0, 0).getTime();
  assert.equal(header('Dec 31 23:59:59 h sshd[1]: m', newYearsDay).time, new Date(2024, 11, 31, 23, 59, 59).getTime());
  assert.equal(header('Jun 16 11:00:00 h sshd[1]: m').time, new Date(2024, 5, 16, 11, 0, 0).getTime(), 'within a day ahead: this year');
  assert.equal(header('Jun 17 13:00:00 h sshd[1]: m').time, new Date(2023, 5, 17, 13, 0, 0).getTime(), 'more than a day ahead: last year');
  assert.equal(header('Feb 29 10:00:00 h sshd[1]: m', new Date(2023, 5, 1).getTime()).time, new Date(2020, 1, 29, 10, 0, 0).getTime(), 'Feb 29: the last leap year');
});

test('a live reference: without referenceTime the stamp is placed against the wall clock', () => {
  const now = new Date();
  const stamp = `${now.toLocaleString('en-US', { month: 'short' })} ${String(now.getDate()).padStart(2, ' ')} 00:00:00`;
  assert.equal(parseSyslogHeader(`${stamp} h sshd[1]: m`)?.time, new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime());
});

test('lines that are not syslog give null', () => {
  const notSyslog = [
    '',
    'Jun 14',
    'Foo 14 10:00:01 web1 sshd[1]: m',
    'Jun 32 10:00:01 web1 sshd[1]: m',
    'Jun 14 25:00:01 web1 sshd[1]: m',
    'Feb 30 10:00:01 web1 sshd[1]: m',
    'Jun 14 10:00:01 web1 just some words',
    'Jun 14 10:00:01',
    '2024-13-02T03:04:05Z host sshd[1]: m',
    '2024/01/02 03:04:05 [error] 1#0: *1 open() failed',
    '12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] "GET / HTTP/1.1" 404 47',
    '[Tue Jul 22 06:48:30 2008] [error] [client 198.51.100.86] File does not exist: /var/www/x',
    '<34>1 2024-01-02T03:04:05Z host app - - [unterminated sd',
    '@400000004c91b0440',
    '<999999>Jun 14 10:00:01 web1 sshd[1]: m',
  ];
  for (const text of notSyslog) assert.equal(parseSyslogHeader(text, { referenceTime: REFERENCE }), null, JSON.stringify(text));
});

function pick(h: SyslogHeader): [string | null, string, string | null, string] {
  return [h.hostname, h.program, h.pid, h.message];
}
