/**
 * Picks how this page reaches the console service: the Electron preload bridge when the page
 * runs in the desktop app, else the WebSocket of `swarmctl console --web` on this page's host.
 */
import type { ConsoleApi } from '../../../core/console/api.ts';
import { consoleSubprotocols, readAccessTokenFromHash } from './access-token.ts';
import { alwaysOpenConnection, type ConsoleTransport } from './connection.ts';
import { adaptPreloadBridge } from './preload-bridge.ts';
import { createWebConsoleClient, type ConsoleSocket, type ConsoleSocketHandlers } from './web-client.ts';

declare global {
  interface Window {
    /** Exposed by the Electron preload (contextBridge); absent in a browser. Rejects with plain error bodies. */
    swarmConsole?: ConsoleApi;
  }
}

function browserSocket(url: string, protocols: string[], handlers: ConsoleSocketHandlers): ConsoleSocket {
  const socket = new WebSocket(url, protocols);
  socket.onopen = () => handlers.onOpen();
  socket.onmessage = (event) => handlers.onMessage(event.data);
  socket.onclose = () => handlers.onClose();
  return {
    isOpen: () => socket.readyState === WebSocket.OPEN,
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
  };
}

export type TransportSelection = { kind: 'ready'; transport: ConsoleTransport } | { kind: 'missing-token' };

export function selectConsoleTransport(): TransportSelection {
  if (window.swarmConsole) return { kind: 'ready', transport: { api: adaptPreloadBridge(window.swarmConsole), connection: alwaysOpenConnection } };
  const token = readAccessTokenFromHash(window.location.hash);
  if (!token) return { kind: 'missing-token' };
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const client = createWebConsoleClient({
    url: `${scheme}://${window.location.host}/api/ws`,
    protocols: consoleSubprotocols(token),
    createSocket: browserSocket,
  });
  return { kind: 'ready', transport: client };
}
