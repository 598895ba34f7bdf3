/**
 * The machines this runs on have journalctl but no running systemd, so their journal is empty.
 * These tests stand a small executable in for journalctl: it prints journal entries in
 * `journalctl --output=json` form from testdata/journal-sshd.jsonl (written by hand after the
 * format: systemd.journal-fields(7), journalctl(1)), honours --after-cursor, --lines=0 and
 * --no-tail, keeps running under --follow as journalctl does, and records its arguments.
 * One test runs the real journalctl on the empty journal, to check that it accepts our arguments.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { journalctlArgs, openJournaldSource, parseJournalMatch, type JournaldSource, type JournaldSourceOptions } from './journald-source.ts';
import { SourceError } from './log-source.ts';
import { OffsetStore } from './offset-store.ts';
import { BatchCollector } from './source-test-support.ts';

const RECORDED = new URL('./testdata/journal-sshd.jsonl', import.meta.url).pathname;
const ENTRIES = readFileSync(RECORDED, 'utf8').split('\n').filter((l) => l !== '');

/** The syslog-style lines the recorded entries give (entry 4 is not UTF-8 and is skipped). */
const EXPECTED = [
  '2024-01-02T03:04:05.123456+00:00 web-1 sshd[21873]: Failed password for invalid user admin from 203.0.113.7 port 51234 ssh2',
  '2024-01-02T03:04:06.123473+00:00 web-1 sshd[21875]: Invalid user oracle from 203.0.113.7 port 51240',
  '2024-01-02T03:04:07.123490+00:00 web-1 sshd-session[21877]: Connection closed by authenticating user root 203.0.113.7 port 51250 [preauth]',
  '2024-01-02T03:04:09.123524+00:00 web-1 sshd[21881]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.23  user=röot \x1b[0m',
  '2024-01-02T03:04:10.123541+00:00 web-1 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.100.9 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=4242 DF PROTO=TCP SPT=40000 DPT=23 WINDOW=64240 RES=0x00 SYN URGP=0',
  '2024-01-02T03:04:11.123558+00:00 web-1 sshd[21883]: error: maximum authentication attempts exceeded for root from 203.0.113.7 port 51260 ssh2 [preauth]',
  '2024-01-02T03:04:11.123558+00:00 web-1 sshd[21883]: Disconnecting authenticating user root 203.0.113.7 port 51260: Too many authentication failures [preauth]',
  '2024-01-02T03:04:12.123575+00:00 web-1 sshd[21885]: Accepted publickey for deploy from 192.0.2.44 port 50022 ssh2: ED25519 SHA256:Xq3m8FvG1c7kQm0yV2Jt5w',
];

let dir: string;
let fakeJournalctl: string;
let argsLog: string;
const cleanup: Array<JournaldSource | OffsetStore> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journald-source-'));
  fakeJournalctl = join(dir, 'journalctl');
  argsLog = join(dir, 'args.jsonl');
  writeFileSync(
    fakeJournalctl,
    `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(argsLog)}, JSON.stringify(args) + '\\n');
const entries = fs.readFileSync(${JSON.stringify(RECORDED)}, 'utf8').split('\\n').filter(Boolean);
let start = 0;
const at = args.indexOf('--after-cursor');
if (at >= 0) {
  const i = entries.findIndex((e) => JSON.parse(e).__CURSOR === args[at + 1]);
  if (i < 0) { process.stderr.write('Failed to seek to cursor: Invalid argument\\n'); process.exit(1); }
  start = i + 1;
} else if (args.includes('--lines=0')) {
  start = entries.length;
}
process.stdout.write(entries.slice(start).map((e) => e + '\\n').join(''));
if (args.includes('--follow')) setInterval(() => {}, 1 << 30);
`,
  );
  chmodSync(fakeJournalctl, 0o755);
});

afterEach(async () => {
  for (const thing of cleanup.splice(0)) {
    if (thing instanceof OffsetStore) thing.close();
    else await thing.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

function journald(options: JournaldSourceOptions): JournaldSource {
  const source = openJournaldSource({ journalctlPath: fakeJournalctl, ...options });
  cleanup.push(source);
  return source;
}

function recordedArgs(): string[][] {
  return readFileSync(argsLog, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as string[]);
}

test('journal entries become syslog-style ISO 8601 lines; byte-array messages are decoded, undecodable ones skipped with a warning', async () => {
  const source = journald({ match: 'sshd,sshd-session,kernel', from: 'start' });
  const collector = new BatchCollector(source);
  await collector.untilLineCount(EXPECTED.length);
  assert.deepEqual(collector.texts(), EXPECTED);
  assert.deepEqual(
    collector.lines.map((l) => l.line),
    [1, 2, 3, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(
    collector.warnings.map((w) => [w.reason, w.line]),
    [['invalid_utf8', 4]],
  );
  assert.equal(source.skipped.invalid_utf8, 1);
  // An argument array, never a shell string: identifiers as separate arguments.
  assert.deepEqual(recordedArgs(), [
    ['--follow', '--output=json', '--no-pager', '--all', '--identifier', 'sshd', '--identifier', 'sshd-session', '--identifier', 'kernel', '--no-tail'],
  ]);
});

test('restart resumes after the saved cursor: acknowledged lines are not read again, the others are', async () => {
  const offsets = OffsetStore.open(join(dir, 'monitor.db'));
  cleanup.push(offsets);
  const first = journald({ match: 'sshd', from: 'start', offsets });
  const collector = new BatchCollector(first);
  await collector.untilLineCount(EXPECTED.length);
  // Processed up to the third line (entry 3), then stopped: the rest was read but never acknowledged.
  const batch = collector.batches.find((b) => b.lines.some((l) => l.line === 3))!;
  first.ack(batch.checkpointAfter(batch.lines.findIndex((l) => l.line === 3)));
  await first.close();

  const second = journald({ match: 'sshd', from: 'start', offsets });
  const resumed = new BatchCollector(second);
  await resumed.untilLineCount(EXPECTED.length - 3);
  assert.deepEqual(resumed.texts(), EXPECTED.slice(3));
  assert.equal(resumed.lines[0]!.line, 5, 'numbering goes on from the checkpoint');
  const cursor3 = (JSON.parse(ENTRIES[2]!) as { __CURSOR: string }).__CURSOR;
  assert.deepEqual(recordedArgs()[1], ['--follow', '--output=json', '--no-pager', '--all', '--identifier', 'sshd', '--after-cursor', cursor3]);
});

test('acknowledging the first line of a two-line entry resumes at that entry, so its second line is not lost', async () => {
  const offsets = OffsetStore.open(join(dir, 'monitor.db'));
  cleanup.push(offsets);
  const first = journald({ match: 'sshd', from: 'start', offsets });
  const collector = new BatchCollector(first);
  await collector.untilLineCount(EXPECTED.length);
  const batch = collector.batches.find((b) => b.lines.some((l) => l.text.includes('maximum authentication attempts')))!;
  first.ack(batch.checkpointAfter(batch.lines.findIndex((l) => l.text.includes('maximum authentication attempts'))));
  await first.close();
  const resumed = new BatchCollector(journald({ match: 'sshd', from: 'start', offsets }));
  await resumed.untilLineCount(3);
  assert.deepEqual(resumed.texts(), EXPECTED.slice(5));
});

test('a cursor journalctl refuses is dropped with a checkpoint_stale warning, and reading starts as configured', async () => {
  const offsets = OffsetStore.open(join(dir, 'monitor.db'));
  cleanup.push(offsets);
  offsets.save('journald:sshd', { kind: 'journald', cursor: 's=damaged', line: 7 });
  const collector = new BatchCollector(journald({ match: 'sshd', from: 'start', offsets }));
  await collector.untilLineCount(EXPECTED.length);
  assert.deepEqual(collector.texts(), EXPECTED);
  assert.ok(collector.warnings.some((w) => w.reason === 'checkpoint_stale' && /Failed to seek to cursor/.test(w.message)));
});

test('from: end (the default) asks journalctl for new entries only; a unit name is passed as --unit', async () => {
  const collector = new BatchCollector(journald({ match: 'ssh.service', follow: false }));
  await collector.done;
  assert.equal(collector.error, null);
  assert.equal(collector.lines.length, 0);
  assert.deepEqual(recordedArgs(), [['--output=json', '--no-pager', '--all', '--unit', 'ssh.service', '--lines=0']]);
});

test('without --follow the source ends when journalctl does', async () => {
  const collector = new BatchCollector(journald({ match: '', from: 'start', follow: false }));
  await collector.done;
  assert.equal(collector.error, null);
  assert.equal(collector.lines.length, EXPECTED.length);
  assert.deepEqual(recordedArgs(), [['--output=json', '--no-pager', '--all', '--no-tail']]);
});

test('a missing journalctl is reported in one line with a hint', async () => {
  const source = openJournaldSource({ match: 'sshd', journalctlPath: join(dir, 'no-such-journalctl') });
  cleanup.push(source);
  await assert.rejects(source.next(), (err: unknown) => {
    assert.ok(err instanceof SourceError);
    assert.equal(err.code, 'journalctl_missing');
    assert.equal(err.message, `journald:sshd: journalctl not found (${join(dir, 'no-such-journalctl')})`);
    assert.match(err.hint, /file:\/var\/log\/auth\.log/);
    return true;
  });
});

test('journalctl failing says so with its own message, after the entries it printed', async () => {
  const failing = join(dir, 'failing-journalctl');
  writeFileSync(failing, `#!/bin/sh\nhead -n 2 ${JSON.stringify(RECORDED)}\necho "Failed to get journal access: Permission denied" >&2\nexit 1\n`);
  chmodSync(failing, 0o755);
  const collector = new BatchCollector(journald({ match: 'sshd', journalctlPath: failing }));
  await collector.done;
  assert.deepEqual(collector.texts(), EXPECTED.slice(0, 2));
  assert.ok(collector.error instanceof SourceError);
  assert.equal(collector.error.code, 'journalctl_failed');
  assert.equal(collector.error.message, 'journald:sshd: journalctl exited with code 1: Failed to get journal access: Permission denied');
});

test('match names that journalctl could read as options are refused; units and identifiers are told apart', () => {
  assert.deepEqual(parseJournalMatch('sshd, ssh.service,postfix/smtpd'), [{ identifier: 'sshd' }, { unit: 'ssh.service' }, { identifier: 'postfix/smtpd' }]);
  for (const bad of ['-f', 'sshd,--output=cat', 'a b']) {
    const result = parseJournalMatch(bad);
    assert.ok(result instanceof SourceError && result.code === 'bad_source_spec', bad);
  }
});

test('the real journalctl accepts the arguments (on this machine its journal is empty)', (t) => {
  let version: string;
  try {
    version = execFileSync('journalctl', ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
  } catch {
    t.skip('journalctl is not installed here');
    return;
  }
  t.diagnostic(version);
  const cursor = 's=0123456789abcdef0123456789abcdef;i=1a;b=0123456789abcdef0123456789abcdef;m=5f;t=5f5e1000;x=12ab';
  for (const args of [
    journalctlArgs([{ identifier: 'sshd' }, { unit: 'ssh.service' }], null, 'end', false),
    journalctlArgs([{ identifier: 'sshd' }], null, 'start', false),
    journalctlArgs([{ identifier: 'sshd' }], cursor, 'start', false),
  ]) {
    // Exits non-zero with "unrecognized option" (or similar) if an argument is wrong.
    execFileSync('journalctl', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  }
});
