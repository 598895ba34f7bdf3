/**
 * The console API over a WebSocket to `swarmctl console --web` (loopback). One socket carries
 * numbered calls and their answers plus pushed events; when it drops, the client reconnects
 * with backoff and the service starts every connection with a fresh `snapshot` event, so the
 * stores never have to replay what they missed.
 *
 * No DOM types here: the socket is created by an injected factory, so the message handling is
 * unit tested in Node with a fake socket.
 */
import { ConsoleCallError } from '../../../core/console/api.ts';
import type { ConsoleApi, ConsoleErrorBody, ConsoleEvent, ConsoleMethod, ConsoleMethods } from '../../../core/console/api.ts';
import { INITIAL_CONNECTION_STATE, type ConnectionSource, type ConnectionState, type ConsoleTransport } from './connection.ts';

/** What the client needs of a WebSocket; the browser adapter is in select-transport.ts. */
export interface ConsoleSocket {
  isOpen(): boolean;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface ConsoleSocketHandlers {
  onOpen(): void;
  onMessage(data: unknown): void;
  /** Also after a failed attempt to connect (browsers follow every `error` with a `close`). */
  onClose(): void;
}

export interface ReconnectTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export interface WebConsoleClientOptions {
  url: string;
  protocols: string[];
  createSocket: (url: string, protocols: string[], handlers: ConsoleSocketHandlers) => ConsoleSocket;
  timers?: ReconnectTimers;
}

export interface WebConsoleClient extends ConsoleTransport {
  /** Stops reconnecting and closes the socket (tests, page teardown). */
  close(): void;
}

/**
 * First retry after 250 ms so a restarted service is picked up almost at once, doubling to a
 * 5 s ceiling so a service that is gone for good costs one attempt every few seconds.
 */
export const RECONNECT_FIRST_DELAY_MS = 250;
export const RECONNECT_MAX_DELAY_MS = 5_000;

export function reconnectDelayMs(failedAttempts: number): number {
  return Math.min(RECONNECT_FIRST_DELAY_MS * 2 ** Math.max(0, failedAttempts - 1), RECONNECT_MAX_DELAY_MS);
}

export const DISCONNECTED_ERROR: ConsoleErrorBody = {
  code: 'disconnected',
  message: 'the connection to the console service was lost before it answered',
  hint: 'the console is reconnecting; the action may or may not have been applied, so check the lists once the connection is back',
};

export const NOT_CONNECTED_ERROR: ConsoleErrorBody = {
  code: 'disconnected',
  message: 'not connected to the console service',
  hint: 'the console is reconnecting; try again once the "connection lost" banner is gone',
};

const defaultTimers: ReconnectTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

interface InFlightCall {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

interface QueuedCall extends InFlightCall {
  method: ConsoleMethod;
  params: unknown;
}

type ServerMessage =
  | { kind: 'event'; event: ConsoleEvent }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; error: ConsoleErrorBody }
  | { kind: 'unknown'; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Classifies one text frame from the service; never throws, whatever the bytes. */
export function parseServerMessage(data: unknown): ServerMessage {
  if (typeof data !== 'string') return { kind: 'unknown', reason: 'a binary frame' };
  let frame: unknown;
  try {
    frame = JSON.parse(data);
  } catch {
    return { kind: 'unknown', reason: 'a frame that is not JSON' };
  }
  if (!isRecord(frame)) return { kind: 'unknown', reason: 'a frame that is not a JSON object' };
  if (isRecord(frame.event) && typeof frame.event.type === 'string') return { kind: 'event', event: frame.event as unknown as ConsoleEvent };
  if (typeof frame.id !== 'number') return { kind: 'unknown', reason: 'a frame with neither "event" nor a numeric "id"' };
  if (frame.ok === true) return { kind: 'result', id: frame.id, result: frame.result };
  if (frame.ok === false) {
    const error = isRecord(frame.error) ? frame.error : {};
    return {
      kind: 'error',
      id: frame.id,
      error: {
        code: typeof error.code === 'string' ? error.code : 'unknown_error',
        message: typeof error.message === 'string' ? error.message : 'the console service reported an error without a message',
        hint: typeof error.hint === 'string' ? error.hint : '',
      },
    };
  }
  return { kind: 'unknown', reason: 'an answer without "ok"' };
}

export function createWebConsoleClient(options: WebConsoleClientOptions): WebConsoleClient {
  const timers = options.timers ?? defaultTimers;
  const eventListeners = new Set<(event: ConsoleEvent) => void>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  const inFlight = new Map<number, InFlightCall>();
  // Calls made before the first connection is up wait for it (the page asks for a snapshot
  // while still connecting); calls made during an outage fail at once instead, so an
  // analyst's click is never silently parked.
  let waitingForFirstConnection: QueuedCall[] = [];
  let nextRequestId = 1;
  let socket: ConsoleSocket | null = null;
  let reconnectTimer: unknown = null;
  let closedByUs = false;
  let everConnected = false;
  let serviceHasSpoken = false;
  let connection: ConnectionState = INITIAL_CONNECTION_STATE;

  function setConnection(next: ConnectionState): void {
    connection = next;
    for (const listener of [...connectionListeners]) listener(next);
  }

  function emitEvent(event: ConsoleEvent): void {
    for (const listener of [...eventListeners]) {
      try {
        listener(event);
      } catch (error) {
        // One broken listener must not starve the others of events.
        console.error('console event listener failed', error);
      }
    }
  }

  function send(id: number, method: ConsoleMethod, params: unknown, call: InFlightCall): void {
    inFlight.set(id, call);
    socket?.send(JSON.stringify({ id, method, params }));
  }

  function handleMessage(data: unknown): void {
    const message = parseServerMessage(data);
    if (message.kind === 'unknown') {
      console.warn(`console service sent ${message.reason}; ignored`);
      return;
    }
    if (!serviceHasSpoken) {
      serviceHasSpoken = true;
      everConnected = true;
      setConnection({ phase: 'open', failedAttempts: 0, nextAttemptAt: null });
    }
    if (message.kind === 'event') {
      emitEvent(message.event);
      return;
    }
    const call = inFlight.get(message.id);
    if (!call) return; // an answer to a call we already failed when the socket dropped
    inFlight.delete(message.id);
    if (message.kind === 'result') call.resolve(message.result);
    else call.reject(new ConsoleCallError(message.error));
  }

  function handleClose(): void {
    socket = null;
    for (const call of inFlight.values()) call.reject(new ConsoleCallError(DISCONNECTED_ERROR));
    inFlight.clear();
    if (closedByUs) return;
    const failedAttempts = serviceHasSpoken ? 1 : connection.failedAttempts + 1;
    const delay = reconnectDelayMs(failedAttempts);
    setConnection({ phase: everConnected ? 'reconnecting' : 'connecting', failedAttempts, nextAttemptAt: timers.now() + delay });
    serviceHasSpoken = false;
    reconnectTimer = timers.setTimeout(() => {
      reconnectTimer = null;
      setConnection({ ...connection, nextAttemptAt: null });
      connect();
    }, delay);
  }

  function connect(): void {
    let opened: ConsoleSocket | null = null;
    // Events of a socket we already gave up on (closed by us) must not touch the current one.
    const isCurrent = () => opened !== null && socket === opened;
    const handlers: ConsoleSocketHandlers = {
      onOpen() {
        if (!isCurrent()) return;
        // The connection counts as up only once the service says something (its snapshot comes
        // first), not on `open`: a server that accepts and drops at once must keep the backoff growing.
        const queued = waitingForFirstConnection;
        waitingForFirstConnection = [];
        for (const call of queued) send(nextRequestId++, call.method, call.params, call);
      },
      onMessage(data) {
        if (isCurrent()) handleMessage(data);
      },
      onClose() {
        if (isCurrent()) handleClose();
      },
    };
    try {
      opened = options.createSocket(options.url, options.protocols, handlers);
    } catch (error) {
      // The constructor throws only for a malformed URL or subprotocol: retrying cannot help.
      const reason = error instanceof Error ? error.message : String(error);
      const failure = new ConsoleCallError({ code: 'bad_console_url', message: `cannot open the console connection: ${reason}`, hint: 'open the URL printed by `swarmctl console --web` again' });
      for (const call of waitingForFirstConnection) call.reject(failure);
      waitingForFirstConnection = [];
      closedByUs = true;
      return;
    }
    socket = opened;
  }

  const api: ConsoleApi = {
    call<M extends ConsoleMethod>(method: M, params: ConsoleMethods[M]['params']): Promise<ConsoleMethods[M]['result']> {
      return new Promise<ConsoleMethods[M]['result']>((resolve, reject) => {
        const call: InFlightCall = { resolve: resolve as (result: unknown) => void, reject };
        if (closedByUs) reject(new ConsoleCallError({ code: 'closed', message: 'the console connection was closed', hint: 'reload the page' }));
        else if (socket?.isOpen()) send(nextRequestId++, method, params, call);
        else if (!everConnected) waitingForFirstConnection.push({ ...call, method, params });
        else reject(new ConsoleCallError(NOT_CONNECTED_ERROR));
      });
    },
    subscribe(listener) {
      eventListeners.add(listener);
      return () => {
        eventListeners.delete(listener);
      };
    },
  };

  const connectionSource: ConnectionSource = {
    current: () => connection,
    subscribe(listener) {
      connectionListeners.add(listener);
      return () => {
        connectionListeners.delete(listener);
      };
    },
  };

  connect();

  return {
    api,
    connection: connectionSource,
    close() {
      closedByUs = true;
      if (reconnectTimer != null) timers.clearTimeout(reconnectTimer);
      reconnectTimer = null;
      const current = socket;
      socket = null;
      current?.close(1000, 'console closed');
      for (const call of inFlight.values()) call.reject(new ConsoleCallError(DISCONNECTED_ERROR));
      inFlight.clear();
      for (const call of waitingForFirstConnection) call.reject(new ConsoleCallError(DISCONNECTED_ERROR));
      waitingForFirstConnection = [];
    },
  };
}
