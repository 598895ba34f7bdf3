/**
 * Preload of the console window. It runs sandboxed (it may require only 'electron') and exposes
 * exactly one object to the page, `window.swarmConsole`, shaped like ConsoleApi:
 *
 *   call(method, params)  → resolves with the result, or REJECTS WITH A PLAIN OBJECT
 *                           { code, message, hint } (a ConsoleErrorBody). Not an Error: the context
 *                           bridge copies an Error's message but drops custom properties, so code
 *                           and hint would be lost. The renderer wraps the body in ConsoleCallError.
 *   subscribe(listener)   → listener receives every pushed ConsoleEvent; returns an unsubscribe
 *                           function.
 *
 * The page never gets ipcRenderer, the IPC event object (its `sender` is ipcRenderer), or any
 * function besides these; only plain data crosses. Validation happens in the main process.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ConsoleApi, ConsoleErrorBody, ConsoleEvent } from '../core/console/api.ts';
import { CALL_CHANNEL, EVENT_CHANNEL } from './channels.ts';

function isErrorBody(value: unknown): value is ConsoleErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const body = value as Record<string, unknown>;
  return typeof body.code === 'string' && typeof body.message === 'string' && typeof body.hint === 'string';
}

function errorBody(code: string, message: string, hint: string): ConsoleErrorBody {
  return { code, message, hint };
}

async function call(method: unknown, params: unknown): Promise<unknown> {
  let reply: unknown;
  try {
    reply = await ipcRenderer.invoke(CALL_CHANNEL, method, params ?? {});
  } catch (err) {
    // Structured clone refused the params (a function, a DOM node, …), or the main process is gone.
    const reason = err instanceof Error ? err.message : String(err);
    return Promise.reject(errorBody('ipc_failed', `${String(method)}: the call did not reach the console service (${reason})`, 'pass plain data as params; if the console was closing, restart it'));
  }
  if (typeof reply === 'object' && reply !== null && 'ok' in reply) {
    const answer = reply as { ok: unknown; result?: unknown; error?: unknown };
    if (answer.ok === true) return answer.result;
    if (answer.ok === false && isErrorBody(answer.error)) {
      return Promise.reject(errorBody(answer.error.code, answer.error.message, answer.error.hint));
    }
  }
  return Promise.reject(errorBody('ipc_failed', `${String(method)}: the console service sent an answer this window does not understand`, 'restart Swarm SOC; if it persists, report it with the console log'));
}

function subscribe(listener: (event: ConsoleEvent) => void): () => void {
  if (typeof listener !== 'function') throw new TypeError('swarmConsole.subscribe needs a listener function');
  // Only the payload reaches the page, never the IpcRendererEvent.
  const forward = (_event: IpcRendererEvent, payload: unknown): void => listener(payload as ConsoleEvent);
  ipcRenderer.on(EVENT_CHANNEL, forward);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    ipcRenderer.removeListener(EVENT_CHANNEL, forward);
  };
}

const swarmConsole: ConsoleApi = {
  call: call as ConsoleApi['call'],
  subscribe,
};

contextBridge.exposeInMainWorld('swarmConsole', swarmConsole);
