/**
 * A ConsoleApi for unit tests: it records calls, answers them with per-method handlers, and lets
 * a test push events as the service would. It stands in for the transport, nothing else.
 */
import { ConsoleCallError, type ConsoleApi, type ConsoleEvent, type ConsoleMethod, type ConsoleMethods } from '../../../core/console/api.ts';

export type FakeHandlers = { [M in ConsoleMethod]?: (params: ConsoleMethods[M]['params']) => Promise<ConsoleMethods[M]['result']> };

export interface FakeConsoleApi {
  api: ConsoleApi;
  calls: Array<{ method: ConsoleMethod; params: unknown }>;
  push(event: ConsoleEvent): void;
  listenerCount(): number;
}

export function createFakeConsoleApi(handlers: FakeHandlers = {}): FakeConsoleApi {
  const calls: FakeConsoleApi['calls'] = [];
  const listeners = new Set<(event: ConsoleEvent) => void>();
  const api: ConsoleApi = {
    call(method, params) {
      calls.push({ method, params });
      const handler = handlers[method] as ((params: unknown) => Promise<unknown>) | undefined;
      if (!handler) return Promise.reject(new ConsoleCallError({ code: 'not_faked', message: `the fake has no answer for ${method}`, hint: 'give the test a handler' }));
      return handler(params) as never;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  return {
    api,
    calls,
    push(event) {
      for (const listener of [...listeners]) listener(event);
    },
    listenerCount: () => listeners.size,
  };
}

/** Lets pending promise callbacks (store actions awaiting the fake) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** An answer the test hands out later: lets a test push events while a call is still in flight. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** The error the service answers with (code, message, hint), as the transport rejects it. */
export function serviceError(code: string, message: string, hint = ''): ConsoleCallError {
  return new ConsoleCallError({ code, message, hint });
}
