import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLineParser } from './line-parser.ts';
import { checkFixture } from './parse-test-support.ts';

test('every Postfix and Dovecot form in fixtures/mail.log yields what its annotation says', () => {
  checkFixture('mail.log');
});

test("Dovecot's login verdict counts only the attempts the auth process did not report", () => {
  const parser = createLineParser({ referenceTime: Date.parse('2024-06-15T12:00:00Z') });
  const reported = parser.push('Jun 14 10:05:00 mx dovecot: auth: sql(eve,198.51.100.9,<a>): Password mismatch', 1);
  assert.equal(reported.length, 1);
  const verdict = parser.push('Jun 14 10:05:09 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 9 secs): user=<eve>, method=PLAIN, rip=198.51.100.9, lip=192.0.2.1', 2);
  assert.deepEqual(verdict, [], 'the one attempt was counted by the auth line');
  const later = parser.push('Jun 14 11:00:00 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 9 secs): user=<eve>, method=PLAIN, rip=198.51.100.9, lip=192.0.2.1', 3);
  assert.equal(later[0]?.count, 1, 'an hour later, a new attempt');
});

test('a repeated SASL failure counts as many attempts as rsyslog folded', () => {
  const parser = createLineParser({ referenceTime: Date.parse('2024-06-15T12:00:00Z') });
  const [event] = parser.push('Jun 14 10:00:00 mx postfix/smtpd[1]: message repeated 5 times: [ warning: unknown[198.51.100.8]: SASL LOGIN authentication failed: UGFzc3dvcmQ6]', 1);
  assert.equal(event?.kind, 'auth_failure');
  assert.equal(event?.count, 5);
});
