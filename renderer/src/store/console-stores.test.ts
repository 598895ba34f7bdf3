import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleCallError } from '../../../core/console/api.ts';
import { createFakeConsoleApi, settle } from '../testing/fake-console-api.ts';
import { auditLogView, auditRow, decisionRow, incidentRow, outgoingRequest, peerRow, pendingRequest, proposalRow, snapshot } from '../testing/fixtures.ts';
import type { ConnectionSource, ConnectionState } from '../transport/connection.ts';
import { createConsoleStores } from './console-stores.ts';

const AT = new Date('2025-11-25T10:00:00.000Z');

function startedStores(initial = snapshot()) {
  const fake = createFakeConsoleApi({ snapshot: async () => initial });
  const stores = createConsoleStores(fake.api, { now: () => AT });
  const stop = stores.start();
  return { fake, stores, stop };
}

describe('console stores', () => {
  it('load the first snapshot into every slice', async () => {
    const alpha = peerRow('alpha');
    const { fake, stores } = startedStores(
      snapshot({ peers: [alpha], pending: [pendingRequest('r1', 'edge-1')], outgoing: [outgoingRequest('o1', 'monitor')], status: 'running' }),
    );
    assert.equal(stores.identity.getState().loaded, false, 'nothing is shown as loaded before the snapshot arrives');
    await settle();
    assert.deepEqual(fake.calls, [{ method: 'snapshot', params: {} }]);
    const identity = stores.identity.getState();
    assert.equal(identity.loaded, true);
    assert.equal(identity.identity?.hostname, 'soc-console');
    assert.equal(identity.settings.lab, true);
    assert.deepEqual(stores.peers.getState().orderedKeys, ['key-alpha']);
    assert.equal(stores.peers.getState().byKey['key-alpha'], alpha);
    assert.deepEqual(stores.handshakes.getState().pending.map((r) => r.id), ['r1']);
    assert.deepEqual(stores.handshakes.getState().outgoing.map((r) => r.id), ['o1']);
  });

  it('apply a pushed snapshot event (what the web service sends first on every connection)', () => {
    const fake = createFakeConsoleApi();
    const stores = createConsoleStores(fake.api, { now: () => AT });
    stores.start();
    fake.push({ type: 'snapshot', snapshot: snapshot({ status: 'unconfigured', statusMessage: 'no registry yet', identity: null, peers: [peerRow('beta')] }) });
    const identity = stores.identity.getState();
    assert.equal(identity.loaded, true);
    assert.equal(identity.status, 'unconfigured');
    assert.equal(identity.statusMessage, 'no registry yet');
    assert.deepEqual(stores.peers.getState().orderedKeys, ['key-beta']);
  });

  it('apply peers upserts and removals, keeping unchanged rows as the same objects', async () => {
    const alpha = peerRow('alpha');
    const beta = peerRow('beta');
    const gamma = peerRow('gamma');
    const { fake, stores } = startedStores(snapshot({ peers: [alpha, beta, gamma] }));
    await settle();
    const keysBefore = stores.peers.getState().orderedKeys;

    const betaOffline = { ...beta, online: false, rttMs: null };
    // The service may resend an unchanged row (a copy, not our object): it must not count as a change.
    fake.push({ type: 'peers', upsert: [betaOffline, { ...alpha }], remove: [] });
    const after = stores.peers.getState();
    assert.equal(after.byKey['key-alpha'], alpha, 'an equal copy keeps the old object');
    assert.equal(after.byKey['key-gamma'], gamma, 'an untouched row keeps its object');
    assert.equal(after.byKey['key-beta'], betaOffline, 'a changed row is replaced');
    assert.equal(after.orderedKeys, keysBefore, 'the order array is the same object when no peer came, went or was renamed');

    fake.push({ type: 'peers', upsert: [peerRow('aardvark')], remove: ['key-gamma'] });
    const final = stores.peers.getState();
    assert.deepEqual(final.orderedKeys, ['key-aardvark', 'key-alpha', 'key-beta']);
    assert.equal(final.byKey['key-gamma'], undefined);
    assert.equal(final.byKey['key-alpha'], alpha);
  });

  it('replace both request lists on a requests event', async () => {
    const { fake, stores } = startedStores(snapshot({ pending: [pendingRequest('r1', 'edge-1')], outgoing: [outgoingRequest('o1', 'monitor')] }));
    await settle();
    const rejected = outgoingRequest('o1', 'monitor', { status: 'rejected', reason: 'unknown team' });
    fake.push({ type: 'requests', pending: [pendingRequest('r2', 'edge-2')], outgoing: [rejected] });
    assert.deepEqual(stores.handshakes.getState().pending.map((r) => r.id), ['r2']);
    assert.deepEqual(stores.handshakes.getState().outgoing, [rejected]);
  });

  it('raise a notification for a new pending request, but not for those in the first snapshot', async () => {
    const { fake, stores } = startedStores(snapshot({ pending: [pendingRequest('r1', 'edge-1')] }));
    await settle();
    assert.deepEqual(stores.notifications.getState().toasts, [], 'requests already waiting at page load are in the list, not toasts');

    fake.push({ type: 'requests', pending: [pendingRequest('r1', 'edge-1'), pendingRequest('r2', 'edge-2', { wantCaps: ['events.publish', 'data.exchange'] })], outgoing: [] });
    const toasts = stores.notifications.getState().toasts;
    assert.equal(toasts.length, 1);
    assert.equal(toasts[0]?.id, 'handshake-request:r2');
    assert.equal(toasts[0]?.title, 'Trust request from edge-2');
    assert.match(toasts[0]?.body ?? '', /events\.publish, data\.exchange/);
    assert.equal(toasts[0]?.at, AT.toISOString());

    fake.push({ type: 'requests', pending: [pendingRequest('r1', 'edge-1'), pendingRequest('r2', 'edge-2')], outgoing: [] });
    assert.equal(stores.notifications.getState().toasts.length, 1, 'a request already known is not announced again');
  });

  it('show notifications the service pushes, once per id, and pass them to the system notifier', () => {
    const fake = createFakeConsoleApi();
    const shown: string[] = [];
    const stores = createConsoleStores(fake.api, { showSystemNotification: (n) => shown.push(n.id) });
    stores.start();
    const notification = { id: 'n1', level: 'error' as const, title: 'Registry unreachable', body: '127.0.0.1:9000 did not answer', at: AT.toISOString() };
    fake.push({ type: 'notification', notification });
    fake.push({ type: 'notification', notification });
    assert.deepEqual(stores.notifications.getState().toasts, [notification]);
    assert.deepEqual(shown, ['n1']);
    stores.notifications.getState().dismiss('n1');
    assert.deepEqual(stores.notifications.getState().toasts, []);
  });

  it('replace the whole state with the snapshot sent after a reconnect', async () => {
    const alpha = peerRow('alpha');
    const { fake, stores } = startedStores(snapshot({ peers: [alpha, peerRow('beta')], pending: [pendingRequest('r1', 'edge-1')] }));
    await settle();
    // While we were disconnected: beta went away, alpha is unchanged, r1 was decided and r2 arrived.
    fake.push({
      type: 'snapshot',
      snapshot: snapshot({ peers: [{ ...alpha }, peerRow('delta')], pending: [pendingRequest('r2', 'edge-2')], status: 'error', statusMessage: 'port 4000 in use' }),
    });
    const peers = stores.peers.getState();
    assert.deepEqual(peers.orderedKeys, ['key-alpha', 'key-delta']);
    assert.equal(peers.byKey['key-alpha'], alpha, 'rows equal to what we had keep their objects, so the table does not redraw them');
    assert.deepEqual(stores.handshakes.getState().pending.map((r) => r.id), ['r2']);
    assert.equal(stores.identity.getState().status, 'error');
    assert.equal(stores.identity.getState().statusMessage, 'port 4000 in use');
    assert.deepEqual(
      stores.notifications.getState().toasts.map((t) => t.id),
      ['handshake-request:r2'],
      'a request that arrived during the outage is news',
    );
  });

  it('route incidents, decisions and audit pushes to their stores, and re-read the open views after a reconnect', async () => {
    const reads: string[] = [];
    const fake = createFakeConsoleApi({
      snapshot: async () => snapshot(),
      incidents: async () => {
        reads.push('incidents');
        return { incidents: [incidentRow('incident-1')], proposals: [proposalRow('proposal-1', 'incident-1')], executors: ['aws-firewall-executor'] };
      },
      decisions: async () => {
        reads.push('decisions');
        return { decisions: [decisionRow('aws-firewall-executor', 'req-1')] };
      },
      auditLog: async () => {
        reads.push('auditLog');
        return auditLogView([auditRow(1)]);
      },
    });
    const stores = createConsoleStores(fake.api, { now: () => AT });
    stores.start();
    fake.push({ type: 'snapshot', snapshot: snapshot() });
    await settle();
    stores.incidents.getState().activate();
    stores.decisions.getState().activate();
    stores.audit.getState().openView();
    await settle();
    assert.deepEqual(reads.sort(), ['auditLog', 'decisions', 'incidents']);

    fake.push({ type: 'incidents', incidents: [incidentRow('incident-2', { lastSeen: Date.UTC(2030, 0, 1) })], proposals: [] });
    fake.push({ type: 'decisions', upsert: [decisionRow('aws-firewall-executor', 'req-1', { state: 'revoked', updatedAt: Date.UTC(2030, 0, 1) })] });
    fake.push({ type: 'audit', entries: 2 });
    await settle();
    assert.deepEqual(stores.incidents.getState().orderedIds, ['incident-2', 'incident-1']);
    assert.deepEqual(stores.decisions.getState().activeKeys, []);
    assert.equal(reads.filter((r) => r === 'auditLog').length, 2, 'the open audit view re-reads the log it was told grew');

    reads.length = 0;
    fake.push({ type: 'snapshot', snapshot: snapshot() });
    await settle();
    assert.deepEqual(reads.sort(), ['auditLog', 'decisions', 'incidents'], 'pushes may have been lost while disconnected');
  });

  it('apply identity events', async () => {
    const { fake, stores } = startedStores();
    await settle();
    fake.push({ type: 'identity', identity: null, status: 'error', statusMessage: 'cannot bind 0.0.0.0:4000', settings: { registry: null, hostname: 'x', lab: false } });
    const state = stores.identity.getState();
    assert.equal(state.identity, null);
    assert.equal(state.status, 'error');
    assert.equal(state.settings.registry, null);
  });

  it('record a failed first load, but not a lost connection (a pushed snapshot follows that)', async () => {
    const failing = createFakeConsoleApi({ snapshot: () => Promise.reject(new ConsoleCallError({ code: 'internal', message: 'store is locked', hint: 'stop the other console' })) });
    const stores = createConsoleStores(failing.api);
    stores.start();
    await settle();
    assert.deepEqual(stores.identity.getState().loadError, { code: 'internal', message: 'store is locked', hint: 'stop the other console' });

    const dropped = createFakeConsoleApi({ snapshot: () => Promise.reject(new ConsoleCallError({ code: 'disconnected', message: 'lost', hint: 'wait' })) });
    const other = createConsoleStores(dropped.api);
    other.start();
    await settle();
    assert.equal(other.identity.getState().loadError, null);
  });

  it('follow the connection state and stop listening when stopped', async () => {
    const listeners = new Set<(state: ConnectionState) => void>();
    let current: ConnectionState = { phase: 'connecting', failedAttempts: 0, nextAttemptAt: null };
    const connection: ConnectionSource = {
      current: () => current,
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const fake = createFakeConsoleApi({ snapshot: async () => snapshot() });
    const stores = createConsoleStores(fake.api, { connection });
    const stop = stores.start();
    assert.equal(stores.identity.getState().connection.phase, 'connecting');
    current = { phase: 'reconnecting', failedAttempts: 2, nextAttemptAt: 123 };
    for (const listener of listeners) listener(current);
    assert.deepEqual(stores.identity.getState().connection, current);
    stop();
    assert.equal(listeners.size, 0);
    assert.equal(fake.listenerCount(), 0);
  });
});
