/**
 * The console service against real parts: a registry and agent daemons on loopback UDP, real
 * SQLite files, and the console node's real control socket (the path the CLI takes).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { callControl } from '../overlay/control.ts';
import { Daemon, daemonPaths, readAdminToken } from '../overlay/daemon.ts';
import { startRegistry } from '../overlay/registry-server.ts';
import { formatEndpoint } from '../overlay/transport.ts';
import type { ConsoleEvent } from './api.ts';
import { CONSOLE_CONFIG_FILE, ConsoleService } from './service.ts';

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
