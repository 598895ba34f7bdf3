/**
 * The state of the link between this page and the console service, as the UI shows it. The
 * Electron preload is always `open` (IPC does not drop); the WebSocket client moves through
 * all phases.
 */
import type { ConsoleApi } from '../../../core/console/api.ts';

export type ConnectionPhase = 'connecting' | 'open' | 'reconnecting';

export interface ConnectionState {
  /** `connecting`: no answer from the service yet on this page; `reconnecting`: we had one and lost it. */
  phase: ConnectionPhase;
  /** Attempts that failed in a row since the last good connection. */
  failedAttempts: number;
  /** When the next attempt starts (epoch ms) while waiting out the backoff, else null. */
  nextAttemptAt: number | null;
}

export const INITIAL_CONNECTION_STATE: ConnectionState = { phase: 'connecting', failedAttempts: 0, nextAttemptAt: null };
export const OPEN_CONNECTION_STATE: ConnectionState = { phase: 'open', failedAttempts: 0, nextAttemptAt: null };

export interface ConnectionSource {
  current(): ConnectionState;
  /** Calls the listener on every change; returns an unsubscribe function. */
  subscribe(listener: (state: ConnectionState) => void): () => void;
}

/** What the renderer runs on: the typed API and the state of the link that carries it. */
export interface ConsoleTransport {
  api: ConsoleApi;
  connection: ConnectionSource;
}

/** For transports that cannot lose their link (Electron IPC) and for tests. */
export const alwaysOpenConnection: ConnectionSource = {
  current: () => OPEN_CONNECTION_STATE,
  subscribe: () => () => {},
};
