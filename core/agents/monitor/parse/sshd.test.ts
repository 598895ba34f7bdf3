import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFailure, type SecurityEvent } from '../event.ts';
import { createLineParser } from './line-parser.ts';
import { checkFixture } from './parse-test-support.ts';

const REFERENCE = Date.parse('2024-06-15T12:00:00Z');

function run(lines: readonly string[]): SecurityEvent[][] {
  const parser = createLineParser({ referenceTime: REFERENCE });
  const perLine = lines.map((text, i) => parser.push(text, i + 1));
  perLine.push(parser.flush());
  return perLine;
}

const failures = (events: readonly SecurityEvent[]): SecurityEvent[] => events.filter((e) => isFailure(e.kind));

test('every OpenSSH form in fixtures/sshd.log yields what its annotation says', () => {
  const events = checkFixture('sshd.log');
  // Nothing is left held at the end: every connection in the fixture reached its outcome.
  assert.ok(events.every((e) => e.sourceIp !== null), 'every event names its client');
});

test('a PAM failure and the Failed password line for the same attempt count once', () => {
  const perLine = run([
    'Jun 14 10:04:00 web1 sshd[40]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.40  user=root',
    'Jun 14 10:04:02 web1 sshd[40]: Failed password for root from 198.51.100.40 port 40040 ssh2',
    'Jun 14 10:04:09 web1 sshd[40]: Connection closed by authenticating user root 198.51.100.40 port 40040 [preauth]',
  ]);
  assert.equal(perLine.flat().filter((e) => isFailure(e.kind)).length, 1);
  assert.equal(failures(perLine[1] ?? []).length, 1);
});

test('a PAM failure without its Failed line is released when the connection ends', () => {
  const perLine = run([
    'Jun 14 10:04:00 web1 sshd[41]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.41  user=root',
    'Jun 14 10:04:09 web1 sshd[41]: Connection closed by authenticating user root 198.51.100.41 port 40041 [preauth]',
  ]);
  assert.deepEqual(perLine[0], []);
  const released = failures(perLine[1] ?? []);
  assert.equal(released.length, 1, 'one failure: the PAM attempt; the disconnect adds nothing');
  assert.equal(released[0]?.kind, 'auth_failure');
  assert.equal(released[0]?.line, 1, 'the event points at the line that logged the attempt');
});

test('held failures are released at the end of the input', () => {
  const perLine = run(['Jun 14 10:04:00 web1 sshd[42]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.42  user=root']);
  assert.deepEqual(perLine[0], []);
  assert.deepEqual(
    perLine[1]?.map((e) => [e.kind, e.sourceIp, e.user, e.line]),
    [['auth_failure', '198.51.100.42', 'root', 1]],
  );
});

test('the same pid on two hosts is two connections', () => {
  const perLine = run([
    'Jun 14 10:05:00 alpha sshd[50]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.50  user=root',
    'Jun 14 10:05:01 beta sshd[50]: Accepted password for root from 192.0.2.51 port 1 ssh2',
  ]);
  assert.deepEqual(perLine[1]?.map((e) => e.kind), ['auth_success'], "beta's success does not forgive alpha's failure");
  assert.deepEqual(perLine[2]?.map((e) => [e.kind, e.sourceIp]), [['auth_failure', '198.51.100.50']]);
});

test('a reused pid starts a new connection after the old one closed', () => {
  const perLine = run([
    'Jun 14 10:06:00 web1 sshd[60]: Connection closed by 198.51.100.60 port 1 [preauth]',
    'Jun 14 10:06:30 web1 sshd[60]: Connection closed by 198.51.100.61 port 2 [preauth]',
  ]);
  assert.deepEqual(perLine[0]?.map((e) => e.sourceIp), ['198.51.100.60']);
  assert.deepEqual(perLine[1]?.map((e) => e.sourceIp), ['198.51.100.61']);
});

test('an injected address in the user name or in the details does not move the attempt', () => {
  const perLine = run([
    'Jun 14 10:07:00 web1 sshd[70]: Failed password for invalid user x from 203.0.113.66 port 1 ssh2 from 198.51.100.70 port 2 ssh2',
    'Jun 14 10:07:01 web1 sshd[71]: Failed password for invalid user x from 198.51.100.71 port 2 ssh2: from 203.0.113.66 port 1 ssh2',
    'Jun 14 10:07:02 web1 sshd[72]: Invalid user x from 203.0.113.66 from 198.51.100.72 port 3',
    'Jun 14 10:07:03 web1 sshd[73]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser=a rhost=203.0.113.66 rhost=198.51.100.73  user=root rhost=203.0.113.67',
  ]);
  assert.deepEqual(perLine[0]?.map((e) => e.sourceIp), ['198.51.100.70']);
  assert.deepEqual(perLine[1]?.map((e) => e.sourceIp), ['198.51.100.71']);
  assert.deepEqual(perLine[2]?.map((e) => e.sourceIp), ['198.51.100.72']);
  assert.deepEqual(perLine[4]?.map((e) => e.sourceIp), ['198.51.100.73']);
});

test('CRLF line endings are stripped before parsing and from the evidence', () => {
  const perLine = run(['Jun 14 10:08:00 web1 sshd[80]: Failed password for root from 198.51.100.80 port 1 ssh2\r']);
  assert.equal(perLine[0]?.[0]?.sourceIp, '198.51.100.80');
  assert.equal(perLine[0]?.[0]?.text.endsWith('ssh2'), true);
});

test('year inference: a December line read on the 2nd of January belongs to last year', () => {
  const parser = createLineParser({ referenceTime: new Date(2025, 0, 2, 12).getTime() });
  const [event] = parser.push('Dec 31 23:59:58 web1 sshd[90]: Failed password for root from 198.51.100.90 port 1 ssh2', 1);
  assert.equal(event?.time, new Date(2024, 11, 31, 23, 59, 58).getTime());
});
