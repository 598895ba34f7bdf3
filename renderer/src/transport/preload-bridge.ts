/**
 * The Electron preload's `window.swarmConsole`, adapted to ConsoleApi. The preload rejects a
 * failed call with a plain { code, message, hint } object, because Electron's context bridge
 * drops the custom properties of an Error; here it becomes a ConsoleCallError again, so the
 * stores treat both transports alike.
 */
import { ConsoleCallError, type ConsoleApi, type ConsoleErrorBody, type ConsoleMethod, type ConsoleMethods } from '../../../core/console/api.ts';

function isErrorBody(value: unknown): value is ConsoleErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const body = value as Record<string, unknown>;
  return typeof body.code === 'string' && typeof body.message === 'string';
}

/** Whatever the bridge rejected with, as a ConsoleCallError with a message an analyst can act on. */
export function toConsoleCallError(reason: unknown): ConsoleCallError {
  if (reason instanceof ConsoleCallError) return reason;
  if (isErrorBody(reason)) return new ConsoleCallError({ code: reason.code, message: reason.message, hint: typeof reason.hint === 'string' ? reason.hint : '' });
  const message = reason instanceof Error ? reason.message : String(reason);
  return new ConsoleCallError({ code: 'ipc_failed', message: `the console service could not be asked: ${message}`, hint: 'restart Swarm SOC; if it persists, see the console log' });
}

export function adaptPreloadBridge(bridge: ConsoleApi): ConsoleApi {
  return {
    call<M extends ConsoleMethod>(method: M, params: ConsoleMethods[M]['params']): Promise<ConsoleMethods[M]['result']> {
      return bridge.call(method, params).catch((reason: unknown) => {
        throw toConsoleCallError(reason);
      });
    },
    subscribe: (listener) => bridge.subscribe(listener),
  };
}
