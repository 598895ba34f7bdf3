/**
 * The console service against real parts: a registry and agent daemons on loopback UDP, real
 * SQLite files, and the console node's real control socket (the path the CLI takes).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { callControl } from '../overlay/control.ts';
import { Daemon, daemonPaths, readAdminToken } from '../overlay/daemon.ts';
import { startRegistry } from '../overlay/registry-server.ts';
import { formatEndpoint } from '../overlay/transport.ts';
import { WebSocket } from 'ws';
import { EMPTY_FEED_FILTER, FEED_PUSH_INTERVAL_MS, FEED_PUSH_MAX_ITEMS, type ConsoleEvent, type FeedItemDetail, type FeedPage } from './api.ts';
import { CONSOLE_CONFIG_FILE, ConsoleService, FEED_DB_FILE } from './service.ts';
import { startConsoleWebServer, WS_PATH, WS_PROTOCOL } from './web-server.ts';

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Collects pushed events; `next` resolves with the first (past or future) event matching. */
function recorder(service: ConsoleService) {
  const events: ConsoleEvent[] = [];
  const waiters: Array<{ match: (e: ConsoleEvent) => boolean; resolve: (e: ConsoleEvent) => void }> = [];
  service.onEvent((e) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    events,
    next(match: (e: ConsoleEvent) => boolean, what: string, timeoutMs = 10_000): Promise<ConsoleEvent> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no event: ${what}`)), timeoutMs);
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
  };
}

async function swarm(t: TestContext) {
  const root = tempDir(t, 'swarm-console-');
  const registry = await startRegistry({ listen: '127.0.0.1:0', dbPath: join(root, 'registry.db'), network: 1 });
  t.after(() => registry.close());
  const registryText = formatEndpoint(registry.local);
  const startAgent = async (hostname: string) => {
    const d = await Daemon.start({ stateDir: join(root, hostname), hostname, registry: registryText, listen: '127.0.0.1:0' });
    t.after(() => d.stop());
    return d;
  };
  const service = await ConsoleService.start({ stateDir: join(root, 'console'), registry: registryText, hostname: 'soc-console', lab: 'never' });
  t.after(() => service.close());
  return { root, registryText, startAgent, service };
}

test('a trust request reaches the console as a pushed event and a notification; approving it trusts the agent on both sides', async (t) => {
  const { startAgent, service } = await swarm(t);
  const snap = service.snapshot();
  assert.equal(snap.status, 'running');
  assert.equal(snap.identity?.hostname, 'soc-console');
  assert.equal(snap.identity?.registry.connected, true);
  assert.deepEqual(snap.pending, []);

  const events = recorder(service);
  const monitor = await startAgent('gcp-log-monitor');
  await monitor.trust.requestTrust('soc-console', 'streams SSH anomalies', { want: ['events.publish'], offer: ['events.subscribe'] });
  const requests = await events.next((e) => e.type === 'requests' && e.pending.length === 1, 'pending request');
  assert.ok(requests.type === 'requests');
  const request = requests.pending[0]!;
  assert.equal(request.hostname, 'gcp-log-monitor');
  assert.equal(request.justification, 'streams SSH anomalies');
  assert.equal(request.fingerprint, monitor.identity.fingerprint);
  assert.deepEqual(request.wantCaps, ['events.publish']);
  const note = await events.next((e) => e.type === 'notification', 'notification');
  assert.ok(note.type === 'notification' && note.notification.title.includes('gcp-log-monitor'));
  await events.next((e) => e.type === 'peers' && e.upsert.some((p) => p.hostname === 'gcp-log-monitor' && p.trust === 'pending-incoming'), 'pending peer row');

  const row = await service.handle({ method: 'approve', params: { peer: request.key, capabilities: ['events.publish'] } });
  assert.equal((row as { trust: string }).trust, 'trusted');
  await events.next((e) => e.type === 'requests' && e.pending.length === 0, 'request gone');
  await events.next((e) => e.type === 'peers' && e.upsert.some((p) => p.hostname === 'gcp-log-monitor' && p.trust === 'trusted' && p.capabilities.includes('events.publish')), 'trusted row');
  // The agent learns it over the overlay.
  const consoleKey = service.snapshot().identity!.publicKey;
  for (let i = 0; i < 200 && !monitor.trust.isTrusted(consoleKey); i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(monitor.trust.isTrusted(consoleKey), true);
});

test('a change made through the control socket (the CLI path) is pushed to the GUI at once', async (t) => {
  const { startAgent, service } = await swarm(t);
  const events = recorder(service);
  const executor = await startAgent('aws-firewall-executor');
  await executor.trust.requestTrust('soc-console', 'applies blocks', {});
  await events.next((e) => e.type === 'requests' && e.pending.length === 1, 'pending request');
  const paths = daemonPaths(service.stateDir);
  await callControl(paths.socket, 'reject', { peer: 'aws-firewall-executor', reason: 'unknown change ticket' }, { token: readAdminToken(service.stateDir)! });
  await events.next((e) => e.type === 'requests' && e.pending.length === 0, 'request gone after CLI reject');
  const executorKey = executor.identity.publicKey.toString('base64url');
  // The requester learns the reason.
  for (let i = 0; i < 200 && executor.trust.pending().outgoing[0]?.status !== 'rejected'; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(executor.trust.pending().outgoing[0]?.reason, 'unknown change ticket');
  assert.ok(!service.snapshot().peers.some((p) => p.key === executorKey && p.trust === 'trusted'));
});

test('revoke from the GUI cuts trust on both sides; bad targets fail with a hint', async (t) => {
  const { startAgent, service } = await swarm(t);
  const events = recorder(service);
  const monitor = await startAgent('gcp-log-monitor');
  await monitor.trust.requestTrust('soc-console', 'feed', { want: ['events.publish'] });
  await events.next((e) => e.type === 'requests' && e.pending.length === 1, 'pending');
  // Nothing checked in the dialog means basic trust only, not "whatever the peer asked for".
  const row = await service.handle({ method: 'approve', params: { peer: 'gcp-log-monitor', capabilities: [] } });
  assert.deepEqual((row as { capabilities: string[] }).capabilities, []);
  const consoleKey = service.snapshot().identity!.publicKey;
  for (let i = 0; i < 200 && !monitor.trust.isTrusted(consoleKey); i++) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual(await service.handle({ method: 'revoke', params: { peer: 'gcp-log-monitor', reason: 'rotated' } }), { revoked: 'gcp-log-monitor' });
  await events.next((e) => e.type === 'peers' && e.upsert.some((p) => p.hostname === 'gcp-log-monitor' && p.trust !== 'trusted'), 'row no longer trusted');
  for (let i = 0; i < 200 && monitor.trust.isTrusted(consoleKey); i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(monitor.trust.isTrusted(consoleKey), false);
  await assert.rejects(service.handle({ method: 'approve', params: { peer: 'nobody-here', capabilities: [] } }), (err: Error & { hint?: string }) => {
    assert.match(err.message, /nobody-here/);
    assert.ok(err.hint);
    return true;
  });
});

test('the GUI handshake form asks a peer for trust and sees the rejection reason', async (t) => {
  const { startAgent, service } = await swarm(t);
  const events = recorder(service);
  const executor = await startAgent('aws-firewall-executor');
  const result = await service.handle({ method: 'handshake', params: { target: 'aws-firewall-executor', justification: 'console needs to send blocks', want: ['mitigation.request'], offer: [] } });
  assert.equal((result as { status: string }).status, 'pending');
  for (let i = 0; i < 200 && executor.trust.pending().incoming.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  executor.trust.reject('soc-console', 'ticket missing');
  const rejected = await events.next((e) => e.type === 'requests' && e.outgoing.some((o) => o.status === 'rejected'), 'rejection');
  assert.ok(rejected.type === 'requests');
  assert.equal(rejected.outgoing[0]?.reason, 'ticket missing');
  const note = await events.next((e) => e.type === 'notification' && e.notification.level === 'warning', 'rejection notification');
  assert.ok(note.type === 'notification' && note.notification.body === 'ticket missing');
});

test('first start with no configuration runs the lab; its agents ask for trust; the choice is remembered', async (t) => {
  const root = tempDir(t, 'swarm-console-lab-');
  const stateDir = join(root, 'console');
  const service = await ConsoleService.start({ stateDir, lab: 'auto' });
  const snap = service.snapshot();
  assert.equal(snap.status, 'running');
  assert.equal(snap.settings.lab, true);
  assert.equal(snap.identity?.hostname, 'local-threat-orchestrator');
  assert.deepEqual(snap.pending.map((p) => p.hostname).sort(), ['aws-firewall-executor', 'gcp-log-monitor']);
  assert.ok(snap.pending.every((p) => p.justification.length > 0));
  await service.close();
  assert.deepEqual(JSON.parse(readFileSync(join(stateDir, CONSOLE_CONFIG_FILE), 'utf8')), { registry: null, hostname: 'local-threat-orchestrator', lab: true });
  // A restart keeps the pending requests and does not ask twice.
  const again = await ConsoleService.start({ stateDir, lab: 'auto' });
  t.after(() => again.close());
  assert.equal(again.snapshot().pending.length, 2);
});

test('no registry and no lab: unconfigured with a clear next step; settings connect it', async (t) => {
  const root = tempDir(t, 'swarm-console-cfg-');
  const registry = await startRegistry({ listen: '127.0.0.1:0', dbPath: join(root, 'registry.db'), network: 1 });
  t.after(() => registry.close());
  const service = await ConsoleService.start({ stateDir: join(root, 'console'), lab: 'never' });
  t.after(() => service.close());
  const snap = service.snapshot();
  assert.equal(snap.status, 'unconfigured');
  assert.match(snap.statusMessage ?? '', /Settings/);
  await assert.rejects(service.handle({ method: 'approve', params: { peer: 'x', capabilities: [] } }), /not connected to a registry/);
  const events = recorder(service);
  const settings = await service.handle({ method: 'saveSettings', params: { registry: formatEndpoint(registry.local), hostname: 'soc-console' } });
  assert.deepEqual(settings, { registry: formatEndpoint(registry.local), hostname: 'soc-console', lab: false });
  const pushed = await events.next((e) => e.type === 'snapshot', 'fresh snapshot');
  assert.ok(pushed.type === 'snapshot' && pushed.snapshot.status === 'running' && pushed.snapshot.identity?.hostname === 'soc-console');
});

test('an unreachable registry does not stop the console: it runs, says so, and keeps trying', async (t) => {
  const root = tempDir(t, 'swarm-console-down-');
  const service = await ConsoleService.start({ stateDir: join(root, 'console'), registry: '127.0.0.1:9', hostname: 'soc-console', lab: 'never' });
  t.after(() => service.close());
  const snap = service.snapshot();
  assert.equal(snap.status, 'running');
  assert.equal(snap.identity?.registry.connected, false);
  assert.ok(snap.identity?.registry.lastError);
});

test('a corrupt console.json is reported with the fix, not a stack trace', async (t) => {
  const root = tempDir(t, 'swarm-console-bad-');
  const stateDir = join(root, 'console');
  await ConsoleService.start({ stateDir, lab: 'never' }).then((s) => s.close());
  writeFileSync(join(stateDir, CONSOLE_CONFIG_FILE), '{ not json');
  await assert.rejects(ConsoleService.start({ stateDir }), (err: Error & { hint?: string }) => {
    assert.match(err.message, /console\.json is not valid JSON/);
    assert.match(err.hint ?? '', /delete it/);
    return true;
  });
  assert.ok(existsSync(join(stateDir, CONSOLE_CONFIG_FILE)), 'the file is left for the user to inspect');
});

test('a snapshot taken for another client does not swallow a change already on its way to this one', async (t) => {
  const { service } = await swarm(t);
  const events = recorder(service);
  // A trusted peer that is never on the wire (no static key, so the node never dials it):
  // nothing about its row changes except what the analyst does to it.
  const key = Buffer.alloc(32, 7).toString('base64url');
  service.daemon!.store.putTrust({
    peerKey: key,
    hostname: 'quiet-sensor',
    address: '1:0001.0000.0777',
    fingerprint: '0707-0707',
    staticPublic: '',
    staticSig: '',
    endpoints: [],
    capsGranted: [],
    capsReceived: [],
    since: new Date().toISOString(),
    requestId: 'r-quiet',
  });
  await events.next((e) => e.type === 'peers' && e.upsert.some((p) => p.key === key && p.trust === 'trusted'), 'the trusted row');
  // Revoke, and before the change is pushed (the push is queued), a second client connects and
  // takes its snapshot: this client must still be told the row is gone.
  const revoked = service.handle({ method: 'revoke', params: { peer: 'quiet-sensor', reason: 'decommissioned' } });
  assert.equal(service.snapshot().peers.some((p) => p.key === key), false);
  await revoked;
  await events.next((e) => e.type === 'peers' && e.remove.includes(key), 'the removal pushed to the first client', 3000);
});

// ---- the anomaly feed ------------------------------------------------------------------------

type FeedEvent = Extract<ConsoleEvent, { type: 'feed' }>;
const MONITOR_AGENT = { key: 'bW9uaXRvci1rZXk', hostname: 'gcp-log-monitor' };
const FEED_T0 = Date.now() - 3_600_000;

function feedAnomaly(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    rule: 'sshd-brute-force',
    detector: 'leaky-bucket',
    sourceIp: '203.0.113.7',
    count: 1,
    firstSeen: FEED_T0,
    lastSeen: FEED_T0,
    severity: 'high',
    mitre: 'T1110.001',
    summary: `failed logins (${id})`,
    users: ['root', 'admin', 'oracle', 'pi', 'ubuntu', 'test', 'git'],
    usersTotal: 7,
    evidence: [
      { line: 1041, text: 'sshd[811]: Failed password for root from 203.0.113.7 port 52144 ssh2', source: '/var/log/auth.log' },
      { line: 1042, text: 'sshd[811]: Failed password for admin from 203.0.113.7 port 52146 ssh2', source: '/var/log/auth.log' },
    ],
    ...overrides,
  };
}

/** The console with no registry (the feed needs none), its web server, and a client on its WebSocket. */
async function feedConsole(t: TestContext, stateDir?: string) {
  const root = tempDir(t, 'swarm-console-feed-');
  const service = await ConsoleService.start({ stateDir: stateDir ?? join(root, 'console'), lab: 'never' });
  t.after(() => service.close());
  const staticDir = join(root, 'ui');
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>console</title>');
  const web = await startConsoleWebServer({ service, staticDir });
  t.after(() => web.close());
  const ws = new WebSocket(`ws://127.0.0.1:${web.port}${WS_PATH}`, [WS_PROTOCOL, `token.${web.token}`]);
  t.after(() => ws.close());
  const pushes: Array<{ at: number; event: FeedEvent }> = [];
  const waiters: Array<() => void> = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('message', () => resolve()); // the snapshot comes first
  });
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { event?: ConsoleEvent };
    if (frame.event?.type !== 'feed') return;
    pushes.push({ at: Date.now(), event: frame.event });
    for (const wake of waiters.splice(0)) wake();
  });
  /** Resolves once the pushes received so far satisfy `done`. */
  const until = (done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { service, pushes, until };
}

test('anomalies at 5,000/s reach a WebSocket client in at most ~10 pushes a second, each item once per push in its latest version', async (t) => {
  const { service, pushes, until } = await feedConsole(t);
  const IDS = 50;
  const TOTAL = 10_000;
  const finalCount = new Map<string, number>();
  let sent = 0;
  // 50 anomalies every 10 ms for two seconds over 50 ids: a detector merging repeats updates each id ~200 times.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const batch = [];
      for (let k = 0; k < 50 && sent < TOTAL; k++, sent++) {
        const id = `spray-${sent % IDS}`;
        const count = Math.floor(sent / IDS) + 1;
        finalCount.set(id, count);
        batch.push(feedAnomaly(id, { count, lastSeen: FEED_T0 + sent }));
      }
      const result = service.ingestAnomalies(MONITOR_AGENT, batch);
      assert.equal(result.stored, batch.length);
      if (sent >= TOTAL) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  const lastPushed = new Map<string, number>();
  const applyPushes = () => {
    for (const { event } of pushes) for (const row of [...event.added, ...event.updated]) lastPushed.set(row.id, row.count);
  };
  await until(() => {
    applyPushes();
    return [...finalCount].every(([id, count]) => lastPushed.get(id) === count);
  }, 'the last version of every anomaly');

  const span = pushes.at(-1)!.at - pushes[0]!.at;
  assert.ok(pushes.length <= Math.ceil(span / FEED_PUSH_INTERVAL_MS) + 3, `${pushes.length} pushes in ${span} ms`);
  for (const [i, { at }] of pushes.entries()) {
    const inOneSecond = pushes.slice(i).filter((p) => p.at - at < 1000).length;
    assert.ok(inOneSecond <= 11, `${inOneSecond} pushes within one second`);
  }
  let rows = 0;
  for (const { event } of pushes) {
    const seqs = [...event.added, ...event.updated].map((r) => r.seq);
    assert.equal(new Set(seqs).size, seqs.length, 'an item appears once per push');
    assert.equal(event.missed, 0);
    rows += seqs.length;
  }
  assert.ok(pushes.every(({ event }) => event.added.length + event.updated.length <= IDS), 'no push carries more rows than there are items');
  assert.ok(rows < TOTAL / 4, `coalescing: ${rows} rows pushed for ${TOTAL} anomalies`);
  const added = pushes.flatMap((p) => p.event.added.map((r) => r.id));
  assert.equal(added.length, IDS, 'each item is announced as added exactly once');
  assert.equal(new Set(added).size, IDS);
  assert.equal(pushes.at(-1)!.event.total, IDS);
  const row = pushes[0]!.event.added[0]!;
  assert.equal(row.agentHostname, 'gcp-log-monitor');
  assert.deepEqual(row.users, ['root', 'admin', 'oracle', 'pi', 'ubuntu'], 'rows carry the first five users');
  assert.equal(row.usersTotal, 7);
  assert.equal('evidence' in row, false, 'rows carry no evidence');
});

test('a burst bigger than one push sends the newest items and says how many it left out', async (t) => {
  const { service, pushes, until } = await feedConsole(t);
  const burst = Array.from({ length: FEED_PUSH_MAX_ITEMS + 250 }, (_, i) => feedAnomaly(`burst-${i}`, { lastSeen: FEED_T0 + i }));
  assert.equal(service.ingestAnomalies(MONITOR_AGENT, burst).stored, burst.length);
  await until(() => pushes.length > 0, 'a feed push');
  const [push] = pushes;
  assert.equal(push!.event.added.length, FEED_PUSH_MAX_ITEMS);
  assert.equal(push!.event.missed, 250);
  assert.equal(push!.event.added[0]!.id, `burst-${burst.length - 1}`, 'newest first');
  assert.equal(push!.event.total, burst.length);
});

test('the feed through the console API: pages, filters, counts, facets and details; it survives a restart', async (t) => {
  const root = tempDir(t, 'swarm-console-feed-api-');
  const stateDir = join(root, 'console');
  const first = await ConsoleService.start({ stateDir, lab: 'never' });
  const ingest = first.ingestAnomalies(MONITOR_AGENT, [
    ...Array.from({ length: 30 }, (_, i) => feedAnomaly(`a${i}`, { lastSeen: FEED_T0 + i * 1000, firstSeen: FEED_T0 + i * 1000, severity: i % 3 ? 'medium' : 'critical' })),
    { id: 'broken' },
  ]);
  assert.deepEqual([ingest.stored, ingest.dropped], [30, 1]);
  assert.match(ingest.problems[0] ?? '', /rule/);
  await first.close();
  assert.ok(existsSync(join(stateDir, FEED_DB_FILE)));

  const service = await ConsoleService.start({ stateDir, lab: 'never' });
  t.after(() => service.close());
  const page1 = (await service.handle({ method: 'feedPage', params: { filter: EMPTY_FEED_FILTER, cursor: null, limit: 20 } })) as FeedPage;
  assert.equal(page1.total, 30);
  assert.equal(page1.items.length, 20);
  assert.equal(page1.items[0]?.id, 'a29', 'newest first');
  const page2 = (await service.handle({ method: 'feedPage', params: { filter: EMPTY_FEED_FILTER, cursor: page1.nextCursor, limit: 20 } })) as FeedPage;
  assert.deepEqual(page2.items.map((r) => r.id), Array.from({ length: 10 }, (_, i) => `a${9 - i}`));
  assert.equal(page2.nextCursor, null);
  const critical = (await service.handle({ method: 'feedPage', params: { filter: { ...EMPTY_FEED_FILTER, severity: 'critical' }, cursor: null, limit: 500 } })) as FeedPage;
  assert.equal(critical.items.length, 10);

  const counts = (await service.handle({ method: 'feedCounts', params: { from: FEED_T0, to: FEED_T0 + 60_000 * 2, filter: EMPTY_FEED_FILTER } })) as { from: number; counts: number[] };
  assert.equal(counts.from % 60_000, 0, 'buckets start on a whole minute');
  assert.equal(counts.counts.reduce((a, b) => a + b, 0), 30);

  assert.deepEqual(await service.handle({ method: 'feedFacets', params: {} }), { total: 30, rules: ['sshd-brute-force'], agents: [MONITOR_AGENT] });
  const detail = (await service.handle({ method: 'feedItem', params: { seq: page1.items[0]!.seq } })) as FeedItemDetail;
  assert.deepEqual(detail.evidence.map((e) => e.line), [1041, 1042]);
  assert.equal(detail.users.length, 7, 'the detail has every stored user');
  await assert.rejects(service.handle({ method: 'feedItem', params: { seq: 99_999 } }), (err: Error & { code?: string; hint?: string }) => err.code === 'not_found' && /retention/.test(err.hint ?? ''));
});

test('a damaged feed database leaves the console running; feed calls say what is wrong and how to fix it', async (t) => {
  const root = tempDir(t, 'swarm-console-feed-bad-');
  const stateDir = join(root, 'console');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, FEED_DB_FILE), 'this is not a database, it is a shopping list');
  const service = await ConsoleService.start({ stateDir, lab: 'never' });
  t.after(() => service.close());
  assert.equal(service.snapshot().status, 'unconfigured', 'trust management is unaffected');
  await assert.rejects(service.handle({ method: 'feedFacets', params: {} }), (err: Error & { code?: string; hint?: string }) => {
    assert.equal(err.code, 'feed_unavailable');
    assert.match(err.message, /feed\.db/);
    assert.match(err.hint ?? '', /move the file aside/);
    return true;
  });
  const result = service.ingestAnomalies(MONITOR_AGENT, [feedAnomaly('x')]);
  assert.deepEqual([result.stored, result.dropped], [0, 1]);
  assert.match(result.problems[0] ?? '', /feed is unavailable/);
  assert.equal(readFileSync(join(stateDir, FEED_DB_FILE), 'utf8'), 'this is not a database, it is a shopping list', 'the file is left as it was');
});
