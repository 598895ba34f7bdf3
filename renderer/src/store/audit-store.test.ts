import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIT_PAGE_DEFAULT_LIMIT, type AuditLogView } from '../../../core/console/api.ts';
import { createFakeConsoleApi, deferred, serviceError, settle } from '../testing/fake-console-api.ts';
import { auditLogView, auditRow } from '../testing/fixtures.ts';
import { AUDIT_PAGE_STEP, createAuditStore } from './audit-store.ts';

describe('audit store', () => {
  it('reads the log when the view opens, and on audit pushes only while it is open', async () => {
    let entries = 2;
    const fake = createFakeConsoleApi({ auditLog: async () => auditLogView(Array.from({ length: entries }, (_, i) => auditRow(entries - i))) });
    const store = createAuditStore(fake.api);
    store.getState().applyAuditEvent();
    assert.equal(fake.calls.length, 0, 'a closed view reads nothing');
    store.getState().openView();
    assert.equal(store.getState().phase, 'loading');
    await settle();
    assert.deepEqual(fake.calls.map((c) => c.params), [{ limit: AUDIT_PAGE_DEFAULT_LIMIT }]);
    assert.equal(store.getState().log?.verify.ok, true);
    assert.deepEqual(store.getState().log?.entries.map((e) => e.seq), [2, 1]);

    entries = 3;
    store.getState().applyAuditEvent();
    assert.equal(store.getState().refreshing, true);
    await settle();
    assert.deepEqual(store.getState().log?.entries.map((e) => e.seq), [3, 2, 1]);

    store.getState().closeView();
    store.getState().applyAuditEvent();
    await settle();
    assert.equal(fake.calls.length, 2);
  });

  it('coalesces a burst of pushes into the read in flight and one more after it', async () => {
    const answers: Array<ReturnType<typeof deferred<AuditLogView>>> = [];
    const fake = createFakeConsoleApi({
      auditLog: () => {
        const answer = deferred<AuditLogView>();
        answers.push(answer);
        return answer.promise;
      },
    });
    const store = createAuditStore(fake.api);
    store.getState().openView();
    for (let i = 0; i < 10; i++) store.getState().applyAuditEvent();
    assert.equal(answers.length, 1);
    answers[0]!.resolve(auditLogView([auditRow(1)]));
    await settle();
    assert.equal(answers.length, 2, 'one more read sees everything the burst wrote');
    answers[1]!.resolve(auditLogView([auditRow(11), auditRow(1)]));
    await settle();
    assert.equal(answers.length, 2);
    assert.equal(store.getState().log?.entries.length, 2);
  });

  it('keeps a broken chain as the service reports it', async () => {
    const broken = auditLogView([auditRow(3), auditRow(2), auditRow(1)], { verify: { ok: false, entries: 3, brokenAt: 2, problem: 'hash does not match the entry' } });
    const fake = createFakeConsoleApi({ auditLog: async () => broken });
    const store = createAuditStore(fake.api);
    store.getState().openView();
    await settle();
    assert.deepEqual(store.getState().log?.verify, { ok: false, entries: 3, brokenAt: 2, problem: 'hash does not match the entry' });
  });

  it('says why the log could not be read, and keeps a log on screen when a later read fails', async () => {
    let fail = true;
    const fake = createFakeConsoleApi({
      auditLog: async () => {
        if (fail) throw serviceError('audit_unavailable', 'swarm.db is locked', 'try again in a moment');
        return auditLogView([auditRow(1)]);
      },
    });
    const store = createAuditStore(fake.api);
    store.getState().openView();
    await settle();
    assert.equal(store.getState().phase, 'error');
    assert.equal(store.getState().error?.message, 'swarm.db is locked');
    fail = false;
    await store.getState().refresh();
    assert.equal(store.getState().phase, 'ready');
    fail = true;
    await store.getState().refresh();
    assert.equal(store.getState().phase, 'ready');
    assert.equal(store.getState().log?.entries.length, 1);
    assert.equal(store.getState().error?.hint, 'try again in a moment');
  });

  it('reads older entries on "show more", and re-reads after a reconnect while open', async () => {
    const fake = createFakeConsoleApi({ auditLog: async ({ limit }) => auditLogView([auditRow(1)], { total: 1000 + limit }) });
    const store = createAuditStore(fake.api);
    store.getState().connectionRestored();
    assert.equal(fake.calls.length, 0);
    store.getState().openView();
    await settle();
    await store.getState().showMore();
    assert.deepEqual(fake.calls.at(-1)?.params, { limit: AUDIT_PAGE_DEFAULT_LIMIT + AUDIT_PAGE_STEP });
    store.getState().connectionRestored();
    await settle();
    assert.equal(fake.calls.length, 3);
  });
});
