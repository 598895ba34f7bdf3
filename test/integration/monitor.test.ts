/**
 * The log monitor as real processes: `swarmctl monitor scan` on real logs, and an agent daemon
 * started with `--monitor FILE` that streams anomalies over the overlay's event stream to a
 * subscriber it trusts with events.subscribe (and to nobody else).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from '../../core/overlay/daemon.ts';
import { EventSubscription } from '../../core/overlay/event-stream.ts';
import type { EventItem } from '../../core/overlay/event-wire.ts';
import { EventLogStore } from '../../core/store/event-log-store.ts';
import { eventually, Swarm, swarmctl } from '../helpers/swarm.ts';

const FAIL2BAN_SSHD = '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs/sshd';
const M = 'gcp-log-monitor';
const swarm = new Swarm();

before(async () => {
  await swarm.startRegistry();
});

after(() => swarm.close());

function sshdLine(at: Date, pid: number, text: string): string {
  const month = at.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(at.getUTCDate()).padStart(2, ' ');
  const time = at.toISOString().slice(11, 19);
  return `${month} ${day} ${time} edge-1 sshd[${pid}]: ${text}`;
}

test('monitor scan --json prints one event object per recognised line, anomalies, then a summary', { skip: existsSync(FAIL2BAN_SSHD) ? false : 'fail2ban test logs not installed (apt-get install fail2ban)' }, async () => {
  const r = await swarmctl(['monitor', 'scan', FAIL2BAN_SSHD, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const objects = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = objects.at(-1)!;
  assert.equal(summary.type, 'summary');
  const events = objects.filter((o) => o.type === 'event');
  assert.equal(events.length, summary.events);
  assert.ok(events.length > 50);
  for (const e of events) {
    assert.deepEqual(Object.keys(e).slice(0, 7), ['type', 'time', 'source_ip', 'user', 'kind', 'program', 'line']);
    assert.ok(Number.isInteger(e.line) && (e.line as number) >= 1);
  }
  // Line numbers count from 1 and point at a log line (never at an annotation or a blank line);
  // most name the source themselves (sshd may learn the address from a later line of the same
  // connection, and then the event keeps the line of the attempt).
  const fileLines = readFileSync(FAIL2BAN_SSHD, 'utf8').split('\n');
  let naming = 0;
  for (const e of events) {
    const text = fileLines[(e.line as number) - 1] ?? '';
    assert.ok(text !== '' && !text.startsWith('#'), `line ${e.line} is not a log line: ${JSON.stringify(text)}`);
    if (typeof e.source_ip === 'string' && text.includes(e.source_ip)) naming++;
  }
  assert.ok(naming > events.length / 2, `only ${naming} of ${events.length} event lines name their source`);
  assert.ok(objects.some((o) => o.type === 'anomaly' && typeof o.mitre === 'string' && typeof o.severity === 'string'));
});

test('monitor scan: a missing file and a broken rules file are one-line errors with a hint, exit 1', async () => {
  const missing = await swarmctl(['monitor', 'scan', join(swarm.root, 'nope.log')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^swarmctl: error: .*nope\.log.* — /);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  const rules = join(swarm.root, 'rules.yaml');
  writeFileSync(rules, 'rules:\n  - name: ssh-brute\n    detector: brute_force\n    capacity: ten\n');
  const log = join(swarm.root, 'empty.log');
  writeFileSync(log, '');
  const bad = await swarmctl(['monitor', 'scan', log, '--rules', rules]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /rules\.yaml/);
  assert.match(bad.stderr, /capacity/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});

test('an agent daemon with --monitor streams a brute-force anomaly to a subscriber it trusts with events.subscribe', async (t) => {
  const log = join(swarm.root, 'auth.log');
  writeFileSync(log, '');
  await swarm.startDaemon(M, ['--monitor', log, '--monitor-from', 'start']);

  // The subscriber: an in-process node (as the console's is), over real UDP via the registry.
  const subscriberDir = swarm.dir('soc-console');
  const consoleNode = await Daemon.start({ stateDir: subscriberDir, hostname: 'soc-console', registry: `127.0.0.1:${swarm.registry!.port}`, listen: '127.0.0.1:0' });
  t.after(() => consoleNode.stop());
  const cursors = EventLogStore.open(join(subscriberDir, 'events.db'));
  t.after(() => cursors.close());
  await consoleNode.trust.requestTrust(M, 'the SOC console subscribes to anomalies', { want: ['events.subscribe'] });
  await eventually(async () => (await swarm.json<{ incoming: Array<{ hostname: string }> }>(M, 'pending')).incoming.some((r) => r.hostname === 'soc-console'), 10_000, 'the request at the monitor');
  const approved = await swarm.cli(M, 'approve', 'soc-console');
  assert.equal(approved.code, 0, approved.stderr);
  await eventually(async () => consoleNode.trust.trusted().some((r) => r.hostname === M) || null, 10_000, 'trust on the console');
  const monitorKey = consoleNode.trust.trusted().find((r) => r.hostname === M)!.peerKey;

  const received: EventItem[] = [];
  const subscription = new EventSubscription({ node: consoleNode.node, peerKeyId: monitorKey, topic: 'anomalies', store: cursors, onEvents: (items) => void received.push(...items) }).start();
  t.after(() => subscription.close());

  const now = new Date();
  const lines: string[] = [];
  for (let i = 0; i < 30; i++) lines.push(sshdLine(now, 4000 + i, `Failed password for root from 203.0.113.7 port ${40000 + i} ssh2`));
  appendFileSync(log, `${lines.join('\n')}\n`);

  const report = await eventually(
    async () => received.map((it) => it.data as { type: string; anomaly: { rule: string; sourceIp: string; count: number; mitre: string; evidence: unknown[] } }).find((r) => r.anomaly.sourceIp === '203.0.113.7') ?? null,
    15_000,
    'an anomaly report for 203.0.113.7',
  );
  assert.equal(report.type, 'opened');
  assert.match(report.anomaly.mitre, /^T1110/);
  assert.ok(report.anomaly.count >= 5);
  assert.ok(report.anomaly.evidence.length > 0);
  assert.deepEqual(received.map((it) => it.seq), received.map((_, i) => i + 1), 'consecutive seqs from 1');

  // `swarmctl info` on the agent says what the monitor is doing.
  const info = await swarm.json<{ roles: { monitor: { sources: Array<{ name: string; lines: number }>; events: number; reports: number; subscribers: number } } }>(M, 'info');
  const monitor = info.roles.monitor;
  assert.equal(monitor.sources[0]!.name, `file:${log}`);
  assert.ok(monitor.sources[0]!.lines >= 30);
  assert.ok(monitor.events >= 30);
  assert.ok(monitor.reports >= 1);
  assert.equal(monitor.subscribers, 1);
  const text = await swarm.cli(M, 'info');
  assert.match(text.stdout, /log monitor\s+file:.*auth\.log \(\d+ lines\); \d+ events, \d+ anomaly reports, 1 subscriber/);
});

test('a trusted peer without events.subscribe gets no anomalies', async (t) => {
  const outsiderDir = swarm.dir('outsider');
  const outsider = await Daemon.start({ stateDir: outsiderDir, hostname: 'outsider', registry: `127.0.0.1:${swarm.registry!.port}`, listen: '127.0.0.1:0' });
  t.after(() => outsider.stop());
  const cursors = EventLogStore.open(join(outsiderDir, 'events.db'));
  t.after(() => cursors.close());
  await outsider.trust.requestTrust(M, 'just data exchange', { want: ['data.exchange'] });
  await eventually(async () => (await swarm.json<{ incoming: Array<{ hostname: string }> }>(M, 'pending')).incoming.some((r) => r.hostname === 'outsider'), 10_000, 'the request at the monitor');
  assert.equal((await swarm.cli(M, 'approve', 'outsider', '--cap', 'data.exchange')).code, 0);
  await eventually(async () => outsider.trust.trusted().some((r) => r.hostname === M) || null, 10_000, 'trust on the outsider');
  const monitorKey = outsider.trust.trusted().find((r) => r.hostname === M)!.peerKey;
  const received: EventItem[] = [];
  const subscription = new EventSubscription({ node: outsider.node, peerKeyId: monitorKey, topic: 'anomalies', store: cursors, onEvents: (items) => void received.push(...items) }).start();
  t.after(() => subscription.close());
  await eventually(async () => subscription.status.state === 'refused' || null, 10_000, 'the refusal');
  assert.equal(received.length, 0);
});
