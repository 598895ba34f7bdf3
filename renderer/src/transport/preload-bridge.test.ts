import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleCallError } from '../../../core/console/api.ts';
import { createFakeConsoleApi } from '../testing/fake-console-api.ts';
import { adaptPreloadBridge, toConsoleCallError } from './preload-bridge.ts';

describe('preload bridge adapter', () => {
  it('turns the plain error body the preload rejects with into a ConsoleCallError', async () => {
    const bridge = createFakeConsoleApi({ approve: () => Promise.reject({ code: 'trust_no_request', message: 'no pending trust request from x', hint: 'list them with: swarmctl pending' }) });
    await assert.rejects(adaptPreloadBridge(bridge.api).call('approve', { peer: 'x', capabilities: [] }), (error: unknown) => {
      assert.ok(error instanceof ConsoleCallError);
      assert.equal(error.code, 'trust_no_request');
      assert.equal(error.hint, 'list them with: swarmctl pending');
      return true;
    });
  });

  it('passes results and events through', async () => {
    const bridge = createFakeConsoleApi({ reject: async () => ({ rejected: 'x' }) });
    const api = adaptPreloadBridge(bridge.api);
    assert.deepEqual(await api.call('reject', { peer: 'x', reason: '' }), { rejected: 'x' });
    const seen: string[] = [];
    const stop = api.subscribe((event) => seen.push(event.type));
    bridge.push({ type: 'peers', upsert: [], remove: [] });
    stop();
    bridge.push({ type: 'peers', upsert: [], remove: [] });
    assert.deepEqual(seen, ['peers']);
  });

  it('explains anything else it is rejected with', () => {
    const error = toConsoleCallError(new Error('Error invoking remote method'));
    assert.equal(error.code, 'ipc_failed');
    assert.match(error.message, /Error invoking remote method/);
  });
});
