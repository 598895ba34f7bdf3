/**
 * The console's web transport: static renderer files and one WebSocket (`/api/ws`) on loopback.
 *
 * Who may talk to it: only a page or tool that holds the random access token, and never a page
 * from another origin. The token travels in the URL fragment (never sent to servers, never in
 * logs) and reaches us as a WebSocket subprotocol `token.<hex>` (browsers cannot set headers on
 * a WebSocket) or, for scripts, as `Authorization: Bearer <hex>`. Host is checked too, so a
 * DNS-rebinding page that resolves its own name to 127.0.0.1 gets nothing.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseConsoleRequest, type ConsoleEvent, type ConsoleResponse } from './api.ts';
import { errorBody, type ConsoleService } from './service.ts';
import { SwarmError } from '../overlay/errors.ts';

export const WS_PATH = '/api/ws';
export const WS_PROTOCOL = 'swarm-console.v1';
const TOKEN_PROTOCOL_PREFIX = 'token.';
/** Largest request frame: calls are small; anything bigger is a mistake or an attack. */
const MAX_FRAME_BYTES = 64 * 1024;
/** A client that stops reading is cut off (it reconnects and gets a fresh snapshot). */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export class WebServerError extends SwarmError {}

export interface ConsoleWebServerOptions {
  service: ConsoleService;
  staticDir: string;
  port?: number;
  /** Fixed token (tests); by default 32 random bytes, new on every start. */
  token?: string;
  log?: (line: string) => void;
}

export interface ConsoleWebServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

function tokenMatches(expected: Buffer, given: string | null | undefined): boolean {
  if (!given) return false;
  // Hash both sides so the comparison is constant-time even when lengths differ.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function tokenFromProtocols(header: string | undefined): string | null {
  for (const p of (header ?? '').split(',')) {
    const t = p.trim();
    if (t.startsWith(TOKEN_PROTOCOL_PREFIX)) return t.slice(TOKEN_PROTOCOL_PREFIX.length);
  }
  return null;
}

function tokenFromAuthorization(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? (m[1] as string) : null;
}

export async function startConsoleWebServer(options: ConsoleWebServerOptions): Promise<ConsoleWebServer> {
  const log = options.log ?? (() => {});
  const token = options.token ?? randomBytes(32).toString('hex');
  const tokenBytes = Buffer.from(token, 'utf8');
  const staticRoot = resolve(options.staticDir); // no trailing separator
  const service = options.service;
  let port = 0;
  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = (): Set<string> => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  /** Host and Origin: a refusal reason, or null when the request may proceed. */
  const refuseByOrigin = (req: IncomingMessage): { status: number; message: string } | null => {
    if (!allowedHosts().has(req.headers.host ?? '')) return { status: 421, message: 'wrong Host header: the console answers only to 127.0.0.1 and localhost' };
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return { status: 403, message: `requests from origin ${origin} are refused` };
    return null;
  };

  const securityHeaders = {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { ...securityHeaders, 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };

  const serveStatic = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = normalize(join(staticRoot, relative));
    if (!file.startsWith(staticRoot + sep) || relative.includes('\0')) {
      sendJson(res, 404, { error: { code: 'not_found', message: 'not found', hint: 'open /' } });
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      if (relative === 'index.html') {
        sendJson(res, 503, { error: { code: 'not_built', message: `the console UI is not built (${file} is missing)`, hint: 'run: npm run build' } });
      } else {
        sendJson(res, 404, { error: { code: 'not_found', message: `${pathname} not found`, hint: 'open /' } });
      }
      return;
    }
    res.writeHead(200, { ...securityHeaders, 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server: Server = createServer((req, res) => {
    const refused = refuseByOrigin(req);
    if (refused) {
      sendJson(res, refused.status, { error: { code: 'forbidden', message: refused.message, hint: 'open the URL printed by swarmctl console --web' } });
      return;
    }
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (pathname.startsWith('/api/')) {
      if (!tokenMatches(tokenBytes, tokenFromAuthorization(req.headers.authorization))) {
        sendJson(res, 401, { error: { code: 'unauthorized', message: 'missing or wrong access token', hint: 'send Authorization: Bearer <token from the console URL>' } });
        return;
      }
      if (req.method === 'GET' && pathname === '/api/snapshot') {
        sendJson(res, 200, service.snapshot());
        return;
      }
      sendJson(res, 404, { error: { code: 'not_found', message: `${req.method} ${pathname} is not an API route`, hint: `use GET /api/snapshot or the WebSocket ${WS_PATH}` } });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: { code: 'method_not_allowed', message: `${req.method} is not allowed`, hint: 'the UI is read with GET' } });
      return;
    }
    serveStatic(req, res, pathname).catch((err) => sendJson(res, 500, { error: errorBody(err) }));
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });

  const refuseUpgrade = (socket: Duplex, status: number, message: string): void => {
    const body = JSON.stringify({ error: { code: status === 401 ? 'unauthorized' : 'forbidden', message } });
    socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 421 ? 'Misdirected Request' : 'Forbidden'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };

  server.on('upgrade', (req, socket, head) => {
    const refused = refuseByOrigin(req);
    if (refused) return refuseUpgrade(socket, refused.status, refused.message);
    if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== WS_PATH) return refuseUpgrade(socket, 403, `no WebSocket at ${req.url}`);
    const given = tokenFromProtocols(req.headers['sec-websocket-protocol'] as string | undefined) ?? tokenFromAuthorization(req.headers.authorization);
    if (!tokenMatches(tokenBytes, given)) {
      log(`refused a WebSocket without a valid token from ${req.socket.remoteAddress}`);
      return refuseUpgrade(socket, 401, 'missing or wrong access token');
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  const attach = (ws: WebSocket): void => {
    const send = (message: ConsoleResponse | { event: ConsoleEvent }): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        ws.close(1013, 'client too slow; reconnect for a fresh snapshot');
        return;
      }
      ws.send(JSON.stringify(message));
    };
    send({ event: { type: 'snapshot', snapshot: service.snapshot() } });
    const unsubscribe = service.onEvent((event) => send({ event }));
    ws.on('close', unsubscribe);
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      let frame: unknown;
      try {
        frame = isBinary ? undefined : JSON.parse(data.toString());
      } catch {
        frame = undefined;
      }
      const parsed = parseConsoleRequest(frame);
      if (!parsed.ok) {
        send({ id: parsed.id ?? -1, ok: false, error: parsed.error });
        return;
      }
      const { id, call } = parsed.value;
      service.handle(call).then(
        (result) => send({ id, ok: true, result }),
        (err) => send({ id, ok: false, error: errorBody(err) }),
      );
    });
  };

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new WebServerError('port_in_use', `port ${options.port} on 127.0.0.1 is in use`, 'pick another with --port N, or --port 0 for a free one')
          : new WebServerError('listen_failed', `cannot listen on 127.0.0.1:${options.port ?? 0}: ${err.message}`, 'check --port'),
      );
    });
    // Loopback only: the console is for the person at this machine.
    server.listen(options.port ?? 0, '127.0.0.1', () => resolvePromise());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
