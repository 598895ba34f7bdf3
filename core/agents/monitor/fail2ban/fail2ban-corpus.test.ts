/**
 * The real thing: fail2ban's shipped filters (/etc/fail2ban/filter.d) run over fail2ban's own
 * annotated sample logs (Debian package `fail2ban`). For every filter we claim, every line fail2ban
 * matches we match too, with the same host (and time, user and attempt count where annotated), and
 * we report the lines fail2ban does not match that we do (false positives) against a bound.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadFail2banFilter } from './load-filter.ts';
import { checkFilterAgainstSampleLog, type LineVerdict } from './sample-log-check.ts';

// The annotations' times are local times of fail2ban's test suite, which runs in Europe/Berlin.
process.env.TZ = 'Europe/Berlin';

const FILTER_DIRECTORY = '/etc/fail2ban/filter.d';
const LOG_DIRECTORY = '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs';
const corpusPresent = existsSync(join(FILTER_DIRECTORY, 'sshd.conf')) && existsSync(join(LOG_DIRECTORY, 'sshd'));
const MISSING = 'fail2ban is not installed (/etc/fail2ban/filter.d/sshd.conf or its sample logs missing): apt-get install fail2ban to run the corpus test';
const skip = corpusPresent ? false : MISSING;

// Locally a machine without fail2ban skips the corpus; in CI that would hide a regression, so it fails.
test('the fail2ban corpus is installed', { skip: corpusPresent || process.env['CI'] !== undefined ? false : MISSING }, () => {
  assert.ok(corpusPresent, MISSING);
});

/** Filters we claim: all match:true lines found. Upper bound of false positives (match:false lines we report) per filter. */
const CLAIMED: Readonly<Record<string, number>> = Object.fromEntries(
  [
    'sshd', 'nginx-http-auth', 'apache-auth', 'nginx-botsearch', 'apache-botsearch', 'postfix', 'dovecot', 'pam-generic', 'vsftpd',
    '3proxy', 'apache-badbots', 'apache-fakegooglebot', 'apache-modsecurity', 'apache-nohome', 'apache-noscript', 'apache-overflows',
    'apache-pass', 'apache-shellshock', 'assp', 'asterisk', 'bitwarden', 'centreon', 'counter-strike', 'courier-auth', 'courier-smtp',
    'cyrus-imap', 'directadmin', 'domino-smtp', 'dropbear', 'drupal-auth', 'exim', 'exim-spam', 'freeswitch', 'froxlor-auth', 'gitlab',
    'grafana', 'groupoffice', 'gssftpd', 'haproxy-http-auth', 'horde', 'kerio', 'lighttpd-auth', 'monit', 'monitorix', 'mssql-auth',
    'murmur', 'mysqld-auth', 'nagios', 'named-refused', 'nginx-bad-request', 'nginx-limit-req', 'nsd', 'openhab', 'openwebmail',
    'oracleims', 'perdition', 'php-url-fopen', 'phpmyadmin-syslog', 'portsentry', 'proftpd', 'pure-ftpd', 'qmail', 'recidive',
    'roundcube-auth', 'scanlogd', 'screensharingd', 'selinux-ssh', 'sendmail-auth', 'sendmail-reject', 'sieve', 'softethervpn',
    'sogo-auth', 'solid-pop3d', 'squid', 'squirrelmail', 'stunnel', 'suhosin', 'tine20', 'traefik-auth', 'uwimap-auth', 'webmin-auth',
    'wuftpd', 'xinetd-fail', 'znc-adminlog', 'zoneminder',
  ].map((name) => [name, 0]),
);

/** Filters that need fail2ban's multi-line buffer (maxlines > 1 with <SKIPLINES> or \n): refused at load, never run half-right. */
const MULTI_LINE_BUFFER = ['ejabberd-auth', 'guacamole', 'mongodb-auth', 'slapd'];

function describe(verdicts: readonly LineVerdict[]): string {
  return verdicts
    .slice(0, 10)
    .map((v) => {
      const found = v.events.map((e) => `${e.sourceIp ?? '-'}@${new Date(e.time).toISOString()} user=${e.user ?? '-'} count=${e.count}`).join(', ');
      return `  ${v.line.file}:${v.line.line} ${v.optionSet} expected ${JSON.stringify(v.line.annotation)} got [${found}]\n    ${v.line.text}`;
    })
    .join('\n');
}

test('fail2ban sample logs: every claimed filter finds every annotated failure with the annotated host', { skip }, async (t) => {
  let totalFound = 0;
  for (const [name, maxFalsePositives] of Object.entries(CLAIMED)) {
    await t.test(name, () => {
      const report = checkFilterAgainstSampleLog(FILTER_DIRECTORY, LOG_DIRECTORY, name);
      t.diagnostic(
        `${name}: ${report.found.length} failures found, ${report.falsePositives.length} false positives among ${report.falsePositives.length + report.trueNegatives} match:false lines, option sets ${report.optionSets.join(' ')}, ${report.skipped.length} lines skipped`,
      );
      for (const skipped of report.skipped) t.diagnostic(`${name}: skipped ${skipped.line.file}:${skipped.line.line}: ${skipped.reason}`);
      assert.deepEqual(report.loadErrors, [], `${name} must load under every option set of its sample log`);
      assert.ok(report.found.length > 0, `${name}: the sample log has no checked failure`);
      assert.equal(report.missed.length, 0, `${name}: failures fail2ban finds and we do not:\n${describe(report.missed)}`);
      assert.equal(report.wrongTime.length, 0, `${name}: wrong times:\n${describe(report.wrongTime)}`);
      assert.equal(report.wrongUser.length, 0, `${name}: wrong users:\n${describe(report.wrongUser)}`);
      assert.equal(report.wrongAttempts.length, 0, `${name}: wrong attempt counts:\n${describe(report.wrongAttempts)}`);
      assert.ok(
        report.falsePositives.length <= maxFalsePositives,
        `${name}: ${report.falsePositives.length} false positives (bound ${maxFalsePositives}):\n${describe(report.falsePositives)}`,
      );
      totalFound += report.found.length;
    });
  }
  t.diagnostic(`${totalFound} annotated failures found across ${Object.keys(CLAIMED).length} filters`);
});

test('sshd.conf: all modes, multi-line sessions and the journal log format are covered', { skip }, () => {
  const report = checkFilterAgainstSampleLog(FILTER_DIRECTORY, LOG_DIRECTORY, 'sshd');
  for (const optionSet of ['{}', '{"mode":"aggressive"}', '{"mode":"ddos"}', '{"mode":"extra"}']) {
    assert.ok(
      report.found.some((v) => v.optionSet === optionSet),
      `no failure checked under ${optionSet}`,
    );
  }
  assert.ok(report.found.some((v) => v.events.some((e) => e.line !== v.line.line)), 'a failure completed by a later line of its session');
  assert.ok(report.found.some((v) => v.line.file === 'sshd-journal'), 'the journal-format sample (addFILE) is checked');
  assert.ok(report.found.length >= 300, `only ${report.found.length} sshd failures checked`);
});

test('filters that need the multi-line buffer are refused with a clear error', { skip }, () => {
  for (const name of MULTI_LINE_BUFFER) {
    const result = loadFail2banFilter(join(FILTER_DIRECTORY, `${name}.conf`));
    assert.equal(result.ok, false, name);
    if (!result.ok) {
      assert.equal(result.error.code, 'unsupported', name);
      assert.match(result.error.message, /not supported/, name);
      assert.ok(result.error.message.startsWith(`filter ${join(FILTER_DIRECTORY, `${name}.conf`)}: `), result.error.message);
    }
  }
});

test('every shipped filter file either loads or says precisely why not', { skip }, (t) => {
  const refused = new Map<string, string>();
  let loaded = 0;
  for (const file of readdirSync(FILTER_DIRECTORY).filter((f) => f.endsWith('.conf'))) {
    const result = loadFail2banFilter(join(FILTER_DIRECTORY, file));
    if (result.ok) loaded++;
    else refused.set(file, result.error.code);
  }
  t.diagnostic(`${loaded} filters load; refused: ${[...refused].map(([f, c]) => `${f} (${c})`).join(', ')}`);
  for (const [file, code] of refused) {
    // Include-only files (common.conf, apache-common.conf, ...) have no failregex of their own.
    assert.ok(['unsupported', 'no_definition', 'no_failregex', 'interpolation'].includes(code), `${file}: ${code}`);
    if (code === 'interpolation') assert.match(file, /-common\.conf$/, `${file} should load on its own`);
  }
  for (const name of Object.keys(CLAIMED)) assert.ok(!refused.has(`${name}.conf`), `${name}.conf must load with its defaults`);
});
