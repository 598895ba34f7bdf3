/**
 * The preload bridge without Electron: preload.ts is bundled as build.ts does it, with
 * `require('electron')` answered by a fake contextBridge and ipcRenderer, and the test plays the
 * page (calling window.swarmConsole) and the main process (answering invoke, sending events).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import type { ConsoleEvent } from '../core/console/api.ts';
import { CALL_CHANNEL, EVENT_CHANNEL } from './channels.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

class FakeIpcRenderer extends EventEmitter {
  readonly invocations: { channel: string; args: unknown[] }[] = [];
  answer: (method: unknown, params: unknown) => Promise<unknown> = async () => ({ ok: true, result: null });

  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invocations.push({ channel, args });
    // Electron structured-clones the arguments; so does this fake.
    try {
      structuredClone(args);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.answer(args[0], args[1]);
  }
}

/** Values made inside the preload's context have that context's prototypes; compare as data. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

let ipc: FakeIpcRenderer;
const exposed = new Map<string, unknown>();
let api: { call(method: unknown, params?: unknown): Promise<unknown>; subscribe(listener: unknown): () => void };

before(async () => {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['electron/preload.ts'],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'cjs',
    target: 'chrome140',
    external: ['electron'],
    logLevel: 'error',
  });
  const code = result.outputFiles[0]?.text;
  assert.ok(code, 'preload bundled');
  ipc = new FakeIpcRenderer();
  const electron = {
    ipcRenderer: ipc,
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => exposed.set(key, value) },
  };
  // A sandboxed preload's world: a require that knows only 'electron'.
  const module = { exports: {} };
  runInNewContext(code, {
    module,
    exports: module.exports,
    require: (name: string) => {
      if (name === 'electron') return electron;
      throw new Error(`a sandboxed preload cannot require ${name}`);
    },
  });
  api = exposed.get('swarmConsole') as typeof api;
});

describe('preload bridge', () => {
  test('exposes exactly window.swarmConsole with call and subscribe, nothing of Electron', () => {
    assert.deepEqual([...exposed.keys()], ['swarmConsole']);
    assert.deepEqual(Object.keys(api).sort(), ['call', 'subscribe']);
    assert.ok(!(Object.values(api) as unknown[]).includes(ipc));
  });

  test('call invokes the call channel with method and params and resolves the result', async () => {
    ipc.answer = async (method, params) => ({ ok: true, result: { echoed: method, params } });
    assert.deepEqual(await api.call('approve', { peer: 'gcp-log-monitor', capabilities: ['events.publish'] }), {
      echoed: 'approve',
      params: { peer: 'gcp-log-monitor', capabilities: ['events.publish'] },
    });
    assert.deepEqual(ipc.invocations.at(-1), { channel: CALL_CHANNEL, args: ['approve', { peer: 'gcp-log-monitor', capabilities: ['events.publish'] }] });
    await api.call('snapshot');
    assert.deepEqual(plain(ipc.invocations.at(-1)?.args), ['snapshot', {}], 'missing params become {}');
  });

  test('a refused call rejects with the plain {code, message, hint} body', async () => {
    const body = { code: 'unknown_peer', message: 'no peer "x"', hint: 'check the hostname' };
    ipc.answer = async () => ({ ok: false, error: body });
    await assert.rejects(api.call('approve', { peer: 'x', capabilities: [] }), (error: unknown) => {
      assert.deepEqual(plain(error), body);
      return true;
    });
  });

  test('params that cannot cross IPC reject with a body, not a bare Error', async () => {
    await assert.rejects(api.call('approve', { peer: () => 'x' }), (error: unknown) => {
      const body = error as Record<string, string>;
      assert.equal(body.code, 'ipc_failed');
      assert.match(body.message ?? '', /approve: the call did not reach the console service/);
      assert.ok(body.hint);
      return true;
    });
  });

  test('an answer of the wrong shape rejects with a body', async () => {
    ipc.answer = async () => 'surprise';
    await assert.rejects(api.call('snapshot', {}), (error: unknown) => (error as { code: string }).code === 'ipc_failed');
    ipc.answer = async () => ({ ok: false, error: { code: 1 } });
    await assert.rejects(api.call('snapshot', {}), (error: unknown) => (error as { code: string }).code === 'ipc_failed');
  });

  test('subscribe forwards only the event payload and unsubscribes once', () => {
    const received: unknown[][] = [];
    const unsubscribe = api.subscribe((...args: unknown[]) => received.push(args));
    const event: ConsoleEvent = { type: 'peers', upsert: [], remove: ['k1'] };
    ipc.emit(EVENT_CHANNEL, { sender: ipc, senderId: 0 }, event);
    assert.deepEqual(received, [[event]], 'the IPC event object (and its sender) never reaches the page');
    unsubscribe();
    unsubscribe();
    ipc.emit(EVENT_CHANNEL, { sender: ipc }, event);
    assert.equal(received.length, 1);
    assert.equal(ipc.listenerCount(EVENT_CHANNEL), 0);
  });

  test('subscribe needs a function', () => {
    assert.throws(() => api.subscribe('not a function'), /needs a listener function/);
  });
});
