import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EventKind, SecurityEvent } from '../event.ts';
import { createLineParser, formatOfProgram } from './line-parser.ts';

const KINDS = new Set<EventKind>(['auth_failure', 'invalid_user', 'preauth_disconnect', 'protocol_error', 'auth_success', 'session', 'web_bot_search', 'firewall_drop']);

/** Real lines of every format, as seeds for the structured fuzzing below. */
const SEEDS = [
  'Jun 14 10:00:01 web1 sshd[2001]: Failed password for root from 198.51.100.10 port 40001 ssh2',
  'Jun 14 10:03:01 web1 sshd[2030]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.30',
  'Jun 14 10:08:05 web1 sshd[2085]: Disconnecting: Too many authentication failures for root [preauth]',
  'Jun 14 10:08:05 web1 sshd[2085]: Connection closed by 198.51.100.85 port 40085 [preauth]',
  'Jun 14 10:04:20 web1 sshd[2041]: message repeated 4 times: [ Failed password for root from 198.51.100.41 port 40041 ssh2]',
  '<38>1 2024-06-14T10:12:01.000+02:00 web1 sshd 2131 - [a b="c\\"]"] Failed password for root from 198.51.100.131 port 1 ssh2',
  '2024-06-14T10:12:02.123456+00:00 web1 sshd[2132]: Invalid user admin from 198.51.100.132 port 40132',
  '@400000004c91b044077a9e94 imap-login: Info: Aborted login (auth failed, 1 attempts): user=<m>, method=PLAIN, rip=80.187.101.33',
  'Jun 14 10:00:00 mx postfix/smtpd[3937]: warning: unknown[198.51.100.10]: SASL LOGIN authentication failed: UGFzc3dvcmQ6',
  'Jun 14 10:02:00 mx postfix/smtpd[4010]: NOQUEUE: reject: RCPT from unknown[198.51.100.20]: 550 5.1.1 <a@b>: Recipient address rejected: User unknown; to=<a@b>',
  'Jun 14 10:05:00 mx dovecot: auth-worker(304): pam(dave,198.51.100.50,<s>): pam_authenticate() failed: Authentication failure (password mismatch?)',
  'Jun 14 10:00:00 fw kernel: [1.2] DROP IN=eth0 OUT= SRC=198.51.100.10 DST=192.0.2.1 PROTO=TCP SPT=4 DPT=22',
  '2024/06/14 10:00:01 [error] 1#1: *1 user "bob": password mismatch, client: 198.51.100.11, server: s, request: "GET / HTTP/1.1", host: "h"',
  '[Sat Jul 20 21:39:11.978080 2024] [auth_basic:error] [pid 1] [client 198.51.100.31:51390] AH01617: user u: authentication failure for "/": x',
  '198.51.100.20 - - [14/Jun/2024:10:02:00 +0200] "GET /pma/ HTTP/1.1" 404 47 "-" "-"',
];

function checkEvents(events: readonly SecurityEvent[], maxLine: number): void {
  for (const e of events) {
    assert.ok(KINDS.has(e.kind), `kind ${String(e.kind)}`);
    assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= maxLine, `line ${e.line}`);
    assert.ok(Number.isFinite(e.time), 'time');
    assert.ok(Number.isInteger(e.count) && e.count >= 1, `count ${e.count}`);
    assert.equal(typeof e.text, 'string');
    assert.equal(typeof e.program, 'string');
    assert.ok(e.destPort === undefined || (Number.isInteger(e.destPort) && e.destPort >= 0 && e.destPort <= 65535));
  }
}

test('the program picks the format', () => {
  const cases: [string, ReturnType<typeof formatOfProgram>][] = [
    ['sshd', 'sshd'],
    ['sshd-session', 'sshd'],
    ['sshd(pam_unix)', 'sshd'],
    ['kernel', 'netfilter'],
    ['postfix/smtpd', 'postfix'],
    ['postfix-incoming/smtpd', 'postfix'],
    ['dovecot', 'dovecot'],
    ['imap-login', 'dovecot'],
    ['auth-worker(304)', 'dovecot'],
    ['nginx', 'nginx'],
    ['httpd/backend1', 'apache'],
    ['apache2', 'apache'],
    ['cron', null],
    ['systemd', null],
  ];
  for (const [program, format] of cases) assert.equal(formatOfProgram(program), format, program);
});

test('lines that are not security-relevant yield nothing', () => {
  const parser = createLineParser({ referenceTime: Date.parse('2024-06-15T12:00:00Z') });
  const quiet = [
    'Jun 14 10:00:00 web1 CRON[123]: (root) CMD (run-parts /etc/cron.hourly)',
    'Jun 14 10:00:00 web1 systemd[1]: Started Session 42 of user alice.',
    'Jun 14 10:00:00 web1 sshd[1]: Server listening on :: port 22.',
    'Jun 14 10:00:00 web1 kernel: [1.0] usb 1-1: new high-speed USB device number 2 using xhci_hcd',
    'Jun 14 10:00:00 mx postfix/smtpd[1]: connect from mail.example.org[192.0.2.1]',
    'Jun 14 10:00:00 mx dovecot: imap-login: Login: user=<a>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.2, mpid=1, TLS',
    '192.0.2.1 - - [14/Jun/2024:10:02:00 +0200] "GET / HTTP/1.1" 200 512 "-" "Mozilla/5.0"',
    '2024/06/14 10:00:00 [notice] 1#1: signal process started',
    'plain text that is no log at all',
    '',
    '\r\n',
  ];
  quiet.forEach((text, i) => assert.deepEqual(parser.push(text, i + 1), [], text));
  assert.deepEqual(parser.flush(), []);
});

test('random text never throws, and every event has a line number and a valid kind', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 30 }), (lines) => {
      const parser = createLineParser({ referenceTime: 0 });
      lines.forEach((text, i) => checkEvents(parser.push(text, i + 1), lines.length));
      checkEvents(parser.flush(), lines.length);
    }),
    { numRuns: 300 },
  );
});

test('random bytes decoded as text never throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      const lines = Buffer.from(bytes).toString('latin1').split('\n');
      const parser = createLineParser();
      lines.forEach((text, i) => checkEvents(parser.push(text, i + 1), lines.length));
      checkEvents(parser.flush(), lines.length);
    }),
    { numRuns: 300 },
  );
});

test('real lines cut short, spliced or salted with random text never throw', () => {
  const seed = fc.constantFrom(...SEEDS);
  const mutated = fc.oneof(
    fc.tuple(seed, fc.nat()).map(([s, n]) => s.slice(0, n % (s.length + 1))),
    fc.tuple(seed, fc.nat(), fc.string({ maxLength: 20 })).map(([s, n, x]) => {
      const at = n % (s.length + 1);
      return s.slice(0, at) + x + s.slice(at);
    }),
    fc.tuple(seed, seed, fc.nat()).map(([a, b, n]) => a.slice(0, n % (a.length + 1)) + b.slice(n % (b.length + 1))),
    fc.tuple(seed, fc.nat(), fc.constantFrom(' ', ':', '[', ']', '(', ')', '"', '<', '>', '=', ',', '\r', '\u0000', '\uFEFF', '\uD800')).map(([s, n, c]) => {
      const at = n % (s.length + 1);
      return s.slice(0, at) + c + s.slice(at + 1);
    }),
  );
  fc.assert(
    fc.property(fc.array(mutated, { maxLength: 40 }), (lines) => {
      const parser = createLineParser({ referenceTime: Date.parse('2024-06-15T12:00:00Z') });
      lines.forEach((text, i) => checkEvents(parser.push(text, i + 1), lines.length));
      checkEvents(parser.flush(), lines.length);
    }),
    { numRuns: 2000 },
  );
});

test('a flood of connections that never end keeps memory bounded and gives their failures back', () => {
  const parser = createLineParser({ referenceTime: Date.parse('2024-06-15T12:00:00Z') });
  let released = 0;
  const total = 25_000;
  for (let pid = 1; pid <= total; pid++) {
    const text = `Jun 14 10:00:00 web1 sshd[${pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root`;
    released += parser.push(text, pid).length;
  }
  released += parser.flush().length;
  assert.equal(released, total, 'each held failure comes out exactly once, during the flood or at the end');
});
