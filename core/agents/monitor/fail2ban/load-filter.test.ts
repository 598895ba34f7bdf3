import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SecurityEvent } from '../event.ts';
import { loadFail2banFilter, type Fail2banFilter, type LoadFilterOptions } from './load-filter.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'f2b-load-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const REFERENCE = new Date(2005, 7, 14, 12, 0, 0).getTime();

function write(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function load(path: string, options: LoadFilterOptions = {}): Fail2banFilter {
  const result = loadFail2banFilter(path, options);
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.filter;
}

function loadError(path: string, options: LoadFilterOptions = {}): { code: string; message: string } {
  const result = loadFail2banFilter(path, options);
  assert.equal(result.ok, false, 'expected the load to fail');
  return result.ok ? { code: '', message: '' } : result.error;
}

/** Feeds lines 1..n and returns the events each line produced. */
function run(filter: Fail2banFilter, lines: string[]): SecurityEvent[][] {
  const parser = filter.createParser({ referenceTime: REFERENCE });
  return lines.map((text, index) => parser.push(text, index + 1));
}

// A minimal syslog-style filter in the shape of the shipped ones (prefix shared through [DEFAULT]).
const COMMON = [
  '[DEFAULT]',
  '_daemon = \\S*',
  '__prefix_line = \\s*(?:\\S+\\s+)?(?:<_daemon>(?:\\[\\d+\\])?:\\s+)?',
];

test('a failregex with <HOST> and <F-USER> yields auth_failure events with address, user, program, time and evidence', () => {
  write('common-a.conf', COMMON);
  const path = write('basic.conf', [
    '[INCLUDES]',
    'before = common-a.conf',
    '[DEFAULT]',
    '_daemon = myd',
    '[Definition]',
    'failregex = ^%(__prefix_line)sbad password for <F-USER>\\S+</F-USER> from <HOST>( port \\d+)?$',
    '            ^%(__prefix_line)sunknown client <HOST>$',
    'ignoreregex = from 10\\.0\\.0\\.',
  ]);
  const filter = load(path);
  assert.equal(filter.name, 'basic');
  assert.deepEqual(filter.files, [join(dir, 'common-a.conf'), path]);
  const lines = [
    'Jan  5 01:31:41 srv myd[12]: bad password for root from 192.0.2.7 port 22',
    'Jan  5 01:31:42 srv myd[12]: bad password for root from ::ffff:192.0.2.8',
    'Jan  5 01:31:43 srv myd[12]: unknown client 2001:db8::1',
    'Jan  5 01:31:44 srv myd[12]: unknown client [2001:db8::2]',
    'Jan  5 01:31:45 srv myd[12]: unknown client host.example.com',
    'Jan  5 01:31:46 srv myd[12]: bad password for root from 10.0.0.1',
    'Jan  5 01:31:47 srv other[12]: bad password for root from 192.0.2.9',
    'Jan  5 01:31:48 srv myd[12]: accepted password for root from 192.0.2.7',
  ];
  const events = run(filter, lines);
  assert.deepEqual(events[0], [
    {
      time: new Date(2005, 0, 5, 1, 31, 41).getTime(),
      sourceIp: '192.0.2.7',
      user: 'root',
      kind: 'auth_failure',
      program: 'myd',
      line: 1,
      text: lines[0],
      count: 1,
    },
  ]);
  assert.deepEqual(
    events.map((e) => e.map((x) => x.sourceIp)),
    [['192.0.2.7'], ['192.0.2.8'], ['2001:db8::1'], ['2001:db8::2'], ['host.example.com'], [], [], []],
    'IPv4-mapped shown as IPv4; brackets stripped; ignoreregex, another daemon and non-failures give nothing',
  );
  assert.equal(events[2]?.[0]?.user, null);
});

test('prefregex with <F-CONTENT> is applied first; failregexes see only the content', () => {
  const path = write('pref.conf', [
    '[Definition]',
    'prefregex = ^\\s*\\S+ app\\[\\d+\\]: <F-CONTENT>.+</F-CONTENT>$',
    'failregex = ^login failed for <F-USER>.*?</F-USER> from <ADDR>$',
    '            ^blocked <SUBNET>$',
  ]);
  const events = run(load(path), [
    'Jan  5 01:31:41 host app[1]: login failed for alice from 192.0.2.1',
    'Jan  5 01:31:41 host app[1]: blocked 192.0.2.0/24',
    'Jan  5 01:31:41 host other[1]: login failed for alice from 192.0.2.1',
  ]);
  assert.equal(events[0]?.[0]?.user, 'alice');
  assert.equal(events[1]?.[0]?.sourceIp, '192.0.2.0', 'a subnet is reported by its address');
  assert.deepEqual(events[2], [], 'a line the prefregex rejects is not looked at further');
});

test('<F-ALT_USER> stands in for a missing user; <F-ID> is the identifier when given; <F-NOFAIL> is not a failure', () => {
  const path = write('fields.conf', [
    '[Definition]',
    'failregex = ^pam: ruser=<F-ALT_USER>\\S*</F-ALT_USER> rhost=<HOST>(?: user=<F-USER>\\S*</F-USER>)?$',
    '            ^token <F-ID>\\w+</F-ID> rejected$',
    '            ^<F-NOFAIL>connect</F-NOFAIL> from <HOST>$',
  ]);
  const events = run(load(path), ['pam: ruser=bob rhost=192.0.2.1', 'pam: ruser=bob rhost=192.0.2.1 user=carol', 'token abc123 rejected', 'connect from 192.0.2.1']);
  assert.equal(events[0]?.[0]?.user, 'bob');
  assert.equal(events[1]?.[0]?.user, 'carol');
  assert.equal(events[2]?.[0]?.sourceIp, 'abc123');
  assert.deepEqual(events[3], []);
});

test('sessions (<F-MLFID>): a failure without address waits for the session to name one; <F-MLFFORGET> ends it', () => {
  const path = write('session.conf', [
    '[Definition]',
    'prefregex = ^<F-MLFID>\\s*\\S+ d\\[\\d+\\]: </F-MLFID><F-CONTENT>.+</F-CONTENT>$',
    'failregex = ^too many failures for <F-USER>\\S+</F-USER>$',
    '            ^<F-NOFAIL>connection from</F-NOFAIL> <HOST>$',
    '            ^<F-NOFAIL><F-MLFFORGET>closed</F-MLFFORGET></F-NOFAIL> by <HOST>$',
    '            ^<F-NOFAIL>key rejected</F-NOFAIL> for <F-USER>\\S+</F-USER>$',
  ]);
  const lines = [
    'Jan  5 01:00:00 h d[1]: connection from 192.0.2.1',
    'Jan  5 01:00:01 h d[1]: too many failures for root',
    'Jan  5 01:00:02 h d[2]: too many failures for admin',
    'Jan  5 01:00:03 h d[3]: closed by 192.0.2.3',
    'Jan  5 01:00:04 h d[2]: closed by 192.0.2.2',
    'Jan  5 01:00:05 h d[2]: too many failures for admin',
    'Jan  5 01:00:06 h d[4]: key rejected for git',
    'Jan  5 01:00:07 h d[4]: key rejected for git',
    'Jan  5 01:00:08 h d[4]: connection from 192.0.2.4',
    'Jan  5 01:00:09 h d[4]: too many failures for git',
  ];
  const events = run(load(path), lines);
  assert.deepEqual(events[1]?.map((e) => [e.sourceIp, e.user, e.line]), [['192.0.2.1', 'root', 2]], 'the session knew the address');
  assert.deepEqual(events[2], [], 'session 2 has no address yet: the failure waits');
  assert.deepEqual(events[3], [], 'another session naming an address does not release it');
  assert.deepEqual(
    events[4]?.map((e) => [e.sourceIp, e.user, e.line, e.text]),
    [['192.0.2.2', 'admin', 3, lines[2]]],
    'released with the address, keeping its own line as evidence',
  );
  assert.deepEqual(events[5], [], 'the session was forgotten, so the next failure has no address');
  assert.deepEqual(events[9]?.map((e) => [e.sourceIp, e.count]), [['192.0.2.4', 3]], 'no-failure attempts for a user count with the next failure');
});

test('sessions: a no-failure line becomes a failure once the session tried more than one user', () => {
  const path = write('users.conf', [
    '[Definition]',
    'prefregex = ^<F-MLFID>\\S+ d\\[\\d+\\]: </F-MLFID><F-CONTENT>.+</F-CONTENT>$',
    'failregex = ^<F-NOFAIL>auth failure</F-NOFAIL> user=<F-USER>\\S+</F-USER> rhost=<HOST>$',
    '            ^<F-MLFFORGET><F-MLFGAINED>accepted</F-MLFGAINED></F-MLFFORGET> <F-USER>\\S+</F-USER> from <HOST>$',
  ]);
  const events = run(load(path), [
    'h d[1]: auth failure user=root rhost=192.0.2.1',
    'h d[1]: auth failure user=root rhost=192.0.2.1',
    'h d[1]: accepted root from 192.0.2.1',
    'h d[2]: auth failure user=root rhost=192.0.2.2',
    'h d[2]: auth failure user=admin rhost=192.0.2.2',
    'h d[2]: accepted known from 192.0.2.2',
  ]);
  assert.deepEqual(events.slice(0, 4), [[], [], [], []], 'a user who got in after typos is not an attacker');
  assert.deepEqual(events[4]?.map((e) => [e.sourceIp, e.user, e.count]), [['192.0.2.2', 'admin', 2]]);
  assert.deepEqual(events[5]?.map((e) => [e.user, e.count]), [['known', 1]]);
});

test('the mode option and vars select what a filter matches (sshd.conf style <mdre-<mode>>)', () => {
  const path = write('modes.conf', [
    '[Definition]',
    'mdre-normal =',
    'mdre-aggressive = ^probe from <HOST>$',
    'failregex = ^fail from <HOST>$',
    '            <mdre-<mode>>',
    '            ^%(extra)s from <HOST>$',
    'mode = normal',
    'extra = never',
    '[Init]',
    'extra = denied',
  ]);
  const lines = ['fail from 192.0.2.1', 'probe from 192.0.2.2', 'denied from 192.0.2.3', 'custom from 192.0.2.4'];
  assert.deepEqual(run(load(path), lines).map((e) => e.length), [1, 0, 1, 0]);
  assert.deepEqual(run(load(path, { mode: 'aggressive' }), lines).map((e) => e.length), [1, 1, 1, 0]);
  assert.deepEqual(run(load(path, { vars: { extra: 'custom' } }), lines).map((e) => e.length), [1, 0, 0, 1]);
  assert.deepEqual(load(path, { mode: 'aggressive' }).failregex, ['^fail from <HOST>$', '^probe from <HOST>$', '^denied from <HOST>$']);
});

test('lines without a date take the last date seen; each parser keeps its own state', () => {
  const path = write('nodate.conf', ['[Definition]', 'failregex = fail from <HOST>']);
  const filter = load(path);
  const events = run(filter, ['Jan  5 01:00:00 fail from 192.0.2.1', 'fail from 192.0.2.2']);
  assert.equal(events[1]?.[0]?.time, new Date(2005, 0, 5, 1, 0, 0).getTime());
  const fresh = filter.createParser({ referenceTime: REFERENCE }).push('fail from 192.0.2.3', 1);
  assert.equal(fresh[0]?.time, REFERENCE, 'a new parser has no last date: it uses the reference time');
});

test('load errors say what is wrong and where', () => {
  const noFail = write('nofail.conf', ['[Definition]', 'ignoreregex =']);
  assert.deepEqual(loadError(noFail), { code: 'no_failregex', message: `filter ${noFail}: [Definition] has no failregex` });

  const noDefinition = write('nodef.conf', ['[Init]', 'a = 1']);
  assert.equal(loadError(noDefinition).code, 'no_definition');

  const bad = write('badregex.conf', ['[Definition]', 'failregex = ^ok <HOST>$', '', '            ^bad \\q <HOST>$']);
  const badError = loadError(bad);
  assert.equal(badError.code, 'regex_untranslatable');
  assert.match(badError.message, new RegExp(`^filter ${bad}: ${bad}:4: failregex #2 cannot be translated to a JavaScript RegExp: bad escape \\\\q`));

  const empty = write('empty.conf', ['[Definition]', 'failregex = <mdre-<mode>>', 'mode = normal', 'mdre-normal =']);
  assert.match(loadError(empty).message, /failregex is empty after substitution \(check the mode option 'normal'\)/);

  const skiplines = write('skip.conf', ['[Definition]', 'failregex = ^a<SKIPLINES>b <HOST>', 'maxlines = 2']);
  const skipError = loadError(skiplines);
  assert.equal(skipError.code, 'unsupported');
  assert.match(skipError.message, /<SKIPLINES>.*not supported/);

  const unbalanced = write('unbalanced.conf', ['[Definition]', 'failregex = ^<F-USER>x <HOST>']);
  assert.match(loadError(unbalanced).message, /<F-USER> is never closed/);

  const datepattern = write('date.conf', ['[Definition]', 'failregex = x <HOST>', 'datepattern = %%Q']);
  const dateError = loadError(datepattern);
  assert.equal(dateError.code, 'bad_datepattern');
  assert.match(dateError.message, new RegExp(`${datepattern}:3: datepattern '%Q': unsupported strptime directive %Q`));

  const missing = join(dir, 'missing.conf');
  assert.equal(loadError(missing).code, 'file_unreadable');
});

test('maxlines > 1 without a multi-line regex loads with a warning', () => {
  const path = write('maxlines.conf', ['[Definition]', 'failregex = ^fail <HOST>$', 'maxlines = 5']);
  assert.deepEqual(load(path).warnings, ['maxlines = 5: each line is matched on its own (the multi-line buffer is not supported)']);
});
