/**
 * The daemon's control socket: newline-delimited JSON over a Unix socket (mode 0600) in the state
 * directory. Calls that change trust (or stop the daemon) must also carry the admin token, read
 * from a 0600 file beside the socket, and compared in constant time.
 *
 *   → {"id":1,"method":"approve","params":{...},"token":"..."}
 *   ← {"id":1,"progress":{...}}            zero or more, for long calls (ping)
 *   ← {"id":1,"ok":true,"result":{...}}    or {"id":1,"ok":false,"error":{"code","message","hint"}}
 */
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { constantTimeEqual, randomBytes } from './crypto.ts';
import { SwarmError } from './errors.ts';

export const CONTROL_SOCKET = 'swarm.sock';
export const ADMIN_TOKEN_FILE = 'admin.token';
/** Unix socket paths are limited to 108 bytes on Linux (104 on macOS). */
export const MAX_SOCKET_PATH = 100;
const MAX_LINE = 1024 * 1024;

export interface ControlErrorBody {
  code: string;
  message: string;
  hint: string;
}

export class ControlError extends SwarmError {}

export type Progress = (event: unknown) => void;

export interface ControlMethod {
  admin: boolean;
  handle(params: Record<string, unknown>, progress: Progress): Promise<unknown> | unknown;
}

/** Loads the admin token, creating it (0600) if missing. */
export function loadOrCreateAdminToken(path: string): string {
  if (existsSync(path)) {
    const mode = statSync(path).mode;
    if ((mode & 0o077) !== 0) {
      throw new ControlError('token_permissions', `admin token ${path} is readable by others`, `run: chmod 600 ${path}`);
    }
    const token = readFileSync(path, 'utf8').trim();
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) {
      throw new ControlError('token_corrupt', `admin token ${path} is corrupt`, `delete ${path} and restart the daemon to create a new one`);
    }
    return token;
  }
  const token = randomBytes(32).toString('base64url');
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, token + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return token;
}

function errorBody(err: unknown): ControlErrorBody {
  const e = err as { code?: unknown; message?: unknown; hint?: unknown };
  if (err instanceof Error && typeof e.code === 'string') {
    return { code: e.code, message: String(e.message), hint: typeof e.hint === 'string' ? e.hint : '' };
  }
  return { code: 'internal', message: err instanceof Error ? err.message : String(err), hint: 'see the daemon log' };
}

export class ControlServer {
  readonly path: string;
  #server: Server;
  #token: string;
  #methods: Map<string, ControlMethod>;
  #sockets = new Set<Socket>();

  private constructor(path: string, token: string, methods: Map<string, ControlMethod>, server: Server) {
    this.path = path;
    this.#token = token;
    this.#methods = methods;
    this.#server = server;
  }

  static async listen(path: string, token: string, methods: Record<string, ControlMethod>): Promise<ControlServer> {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new ControlError('socket_path', `control socket path ${path} is too long for a Unix socket`, 'use a shorter --state-dir');
    }
    // A socket file left by a daemon that was killed: the caller already checked no daemon runs.
    if (existsSync(path)) unlinkSync(path);
    const server = createServer();
    const control = new ControlServer(path, token, new Map(Object.entries(methods)), server);
    server.on('connection', (socket) => control.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Create the socket with no group/other permissions from the start (no window before chmod).
      const previous = process.umask(0o177);
      server.listen(path, () => {
        process.umask(previous);
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    return control;
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_LINE) {
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) void this.#call(socket, line);
      }
    });
  }

  async #call(socket: Socket, line: string): Promise<void> {
    let id: unknown = null;
    const send = (obj: unknown) => {
      if (!socket.destroyed) socket.write(JSON.stringify(obj) + '\n');
    };
    try {
      let req: { id?: unknown; method?: unknown; params?: unknown; token?: unknown };
      try {
        req = JSON.parse(line) as typeof req;
      } catch {
        throw new ControlError('bad_request', 'the request is not JSON', 'update swarmctl');
      }
      id = req.id ?? null;
      if (typeof req.method !== 'string') throw new ControlError('bad_request', 'missing method', 'update swarmctl');
      const method = this.#methods.get(req.method);
      if (!method) throw new ControlError('unknown_method', `the daemon does not know "${req.method}"`, 'the daemon may be older than this swarmctl; restart it');
      if (method.admin) {
        const token = typeof req.token === 'string' ? req.token : '';
        if (!constantTimeEqual(Buffer.from(token), Buffer.from(this.#token))) {
          throw new ControlError('forbidden', `"${req.method}" needs the admin token`, 'run swarmctl as the user that owns the state directory');
        }
      }
      const params = typeof req.params === 'object' && req.params !== null ? (req.params as Record<string, unknown>) : {};
      const result = await method.handle(params, (event) => send({ id, progress: event }));
      send({ id, ok: true, result: result ?? null });
    } catch (err) {
      send({ id, ok: false, error: errorBody(err) });
    }
  }

  register(name: string, method: ControlMethod): void {
    this.#methods.set(name, method);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** A one-call client: connects, sends, streams progress, returns the result or throws ControlError. */
export function callControl(
  path: string,
  method: string,
  params: Record<string, unknown> = {},
  options: { token?: string; onProgress?: Progress; timeoutMs?: number } = {},
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = options.timeoutMs
      ? setTimeout(() => finish(() => reject(new ControlError('timeout', `the daemon did not answer "${method}" in time`, 'see the daemon log'))), options.timeoutMs)
      : null;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      socket.write(JSON.stringify({ id: 1, method, params, token: options.token }) + '\n');
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let msg: { progress?: unknown; ok?: boolean; result?: unknown; error?: ControlErrorBody };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          finish(() => reject(new ControlError('bad_response', 'the daemon sent an unreadable answer', 'restart the daemon')));
          return;
        }
        if (msg.progress !== undefined) options.onProgress?.(msg.progress);
        else if (msg.ok) finish(() => resolve(msg.result));
        else {
          const e = msg.error ?? { code: 'internal', message: 'unknown error', hint: '' };
          finish(() => reject(new ControlError(e.code, e.message, e.hint)));
        }
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const notRunning = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      finish(() =>
        reject(
          notRunning
            ? new ControlError('not_running', 'no daemon is running for this state directory', 'start one with: swarmctl daemon start --hostname NAME --registry HOST:PORT')
            : err.code === 'EACCES'
              ? new ControlError('forbidden', `not allowed to open the control socket ${path}`, 'run swarmctl as the user that owns the state directory')
              : new ControlError('control_io', `cannot talk to the daemon: ${err.message}`, 'see the daemon log'),
        ),
      );
    });
    socket.on('close', () => finish(() => reject(new ControlError('control_io', 'the daemon closed the connection', 'see the daemon log'))));
  });
}
