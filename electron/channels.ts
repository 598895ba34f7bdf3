/**
 * The two IPC channels between the preload bridge and the main process. Shared by main.ts and
 * preload.ts so a rename cannot leave one side listening on a channel nobody sends to.
 *
 *   renderer → main   invoke(CALL_CHANNEL, method, params) → IpcCallResult   (request/response)
 *   main → renderer   send(EVENT_CHANNEL, ConsoleEvent)                      (pushed events)
 */
import type { ConsoleErrorBody } from '../core/console/api.ts';

export const CALL_CHANNEL = 'swarm-console:call';
export const EVENT_CHANNEL = 'swarm-console:event';

/**
 * What the main process answers a call with. It never throws across IPC: Electron would turn a
 * thrown error into a bare "Error invoking remote method" string and the renderer would lose the
 * code and hint it needs to tell the analyst what to do.
 */
export type IpcCallResult = { ok: true; result: unknown } | { ok: false; error: ConsoleErrorBody };
