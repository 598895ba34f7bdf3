import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callControl, ControlError, ControlServer, loadOrCreateAdminToken, MAX_SOCKET_PATH, type ControlMethod } from './control.ts';

const TOKEN = 'A'.repeat(43);

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-ctl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Harness {
  path: string;
  server: ControlServer;
  calls: Array<{ method: string; params: Record<string, unknown> }>;
}

async function serve(t: TestContext, extra: Record<string, ControlMethod> = {}): Promise<Harness> {
  const path = join(tempDir(t), 'swarm.sock');
  const calls: Harness['calls'] = [];
  const methods: Record<string, ControlMethod> = {
    status: { admin: false, handle: (params) => (calls.push({ method: 'status', params }), { up: true }) },
    approve: { admin: true, handle: (params) => (calls.push({ method: 'approve', params }), { approved: params.peer }) },
    ...extra,
  };
  const server = await ControlServer.listen(path, TOKEN, methods);
  t.after(() => server.close());
  return { path, server, calls };
}

function controlError(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ControlError, `expected ControlError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

/** Sends raw lines on one connection and collects `count` answer lines. */
function rawExchange(path: string, payload: string, count: number): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const lines: Array<Record<string, unknown>> = [];
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`got ${lines.length} of ${count} answers`));
    }, 3000);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
        buffer = buffer.slice(nl + 1);
      }
      if (lines.length >= count) {
        clearTimeout(timer);
        socket.destroy();
        resolve(lines);
      }
    });
    socket.on('error', reject);
  });
}

test('the control socket is created with mode 0600 and removed on close', async (t) => {
  const path = join(tempDir(t), 'swarm.sock');
  const server = await ControlServer.listen(path, TOKEN, {});
  try {
    const st = lstatSync(path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  } finally {
    await server.close();
  }
  assert.equal(existsSync(path), false);
});

test('a stale socket file left by a killed daemon is replaced', async (t) => {
  const path = join(tempDir(t), 'swarm.sock');
  writeFileSync(path, 'left over');
  const server = await ControlServer.listen(path, TOKEN, { status: { admin: false, handle: () => 'fresh' } });
  t.after(() => server.close());
  assert.equal(await callControl(path, 'status'), 'fresh');
});

test('a socket path longer than a Unix socket allows is refused with a hint', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x'.repeat(MAX_SOCKET_PATH), 'swarm.sock');
  await assert.rejects(ControlServer.listen(path, TOKEN, {}), (err: unknown) => {
    controlError('socket_path')(err);
    assert.match((err as ControlError).hint, /state-dir/);
    return true;
  });
});

test('ordinary methods need no token', async (t) => {
  const h = await serve(t);
  assert.deepEqual(await callControl(h.path, 'status', { verbose: true }), { up: true });
  assert.deepEqual(h.calls, [{ method: 'status', params: { verbose: true } }]);
});

test('admin methods without the token, or with a wrong one, are forbidden and never run', async (t) => {
  const h = await serve(t);
  for (const token of [undefined, '', 'wrong', TOKEN.slice(1), TOKEN + 'A', 'B'.repeat(43)]) {
    await assert.rejects(callControl(h.path, 'approve', { peer: 'gcp-log-monitor' }, token === undefined ? {} : { token }), (err: unknown) => {
      controlError('forbidden')(err);
      assert.match((err as Error).message, /approve.*admin token/);
      return true;
    });
  }
  assert.deepEqual(h.calls, [], 'the handler was never called');
});

test('a token sent as another type is forbidden', async (t) => {
  const h = await serve(t);
  const [answer] = await rawExchange(h.path, JSON.stringify({ id: 9, method: 'approve', params: {}, token: { toString: TOKEN } }) + '\n', 1);
  assert.equal(answer?.ok, false);
  assert.equal((answer?.error as { code: string }).code, 'forbidden');
  assert.deepEqual(h.calls, []);
});

test('admin methods run with the token', async (t) => {
  const h = await serve(t);
  assert.deepEqual(await callControl(h.path, 'approve', { peer: 'gcp-log-monitor' }, { token: TOKEN }), { approved: 'gcp-log-monitor' });
  assert.deepEqual(h.calls, [{ method: 'approve', params: { peer: 'gcp-log-monitor' } }]);
});

test('progress events stream before the result', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const h = await serve(t, {
    ping: {
      admin: false,
      handle: async (_params, progress) => {
        progress({ seq: 1, rttMs: 0.4 });
        progress({ seq: 2, rttMs: 0.5 });
        await released;
        progress({ seq: 3, rttMs: 0.6 });
        return { replies: 3 };
      },
    },
  });
  const seen: unknown[] = [];
  const call = callControl(h.path, 'ping', {}, {
    onProgress: (e) => {
      seen.push(e);
      if (seen.length === 2) release(); // the first two arrived while the call was still running
    },
  }).then((result) => seen.push({ result }));
  await call;
  assert.deepEqual(seen, [{ seq: 1, rttMs: 0.4 }, { seq: 2, rttMs: 0.5 }, { seq: 3, rttMs: 0.6 }, { result: { replies: 3 } }]);
});

test('an unknown method is refused with unknown_method', async (t) => {
  const h = await serve(t);
  await assert.rejects(callControl(h.path, 'format_disk'), (err: unknown) => {
    controlError('unknown_method')(err);
    assert.match((err as Error).message, /format_disk/);
    assert.ok((err as ControlError).hint.length > 0);
    return true;
  });
});

test('errors thrown by a method reach the caller with their code and hint; others become internal', async (t) => {
  const h = await serve(t, {
    picky: { admin: false, handle: () => { throw new ControlError('bad_argument', 'peer is required', 'see swarmctl --help'); } },
    broken: { admin: false, handle: async () => { throw new Error('disk on fire'); } },
    thrower: { admin: false, handle: () => { throw 'a string'; } },
  });
  await assert.rejects(callControl(h.path, 'picky'), (err: unknown) => {
    controlError('bad_argument')(err);
    assert.equal((err as ControlError).message, 'peer is required');
    assert.equal((err as ControlError).hint, 'see swarmctl --help');
    return true;
  });
  await assert.rejects(callControl(h.path, 'broken'), (err: unknown) => controlError('internal')(err) && /disk on fire/.test((err as Error).message));
  await assert.rejects(callControl(h.path, 'thrower'), controlError('internal'));
});

test('a method that returns nothing answers null', async (t) => {
  const h = await serve(t, { quiet: { admin: false, handle: () => undefined } });
  assert.equal(await callControl(h.path, 'quiet'), null);
});

test('a malformed line gets an error answer and the server keeps serving, on the same connection and others', async (t) => {
  const h = await serve(t);
  const answers = await rawExchange(
    h.path,
    ['{not json', '{"id":2}', '"just a string"', JSON.stringify({ id: 3, method: 'status' })].join('\n') + '\n',
    4,
  );
  const byId = new Map(answers.map((a) => [a.id, a]));
  const errors = answers.filter((a) => a.ok === false);
  assert.equal(errors.length, 3, JSON.stringify(answers));
  for (const e of errors) assert.equal(typeof (e.error as { code: unknown }).code, 'string');
  assert.equal((byId.get(2)?.error as { code: string }).code, 'bad_request');
  assert.deepEqual(byId.get(3), { id: 3, ok: true, result: { up: true } });
  assert.deepEqual(await callControl(h.path, 'status'), { up: true });
});

test('several requests on one connection are each answered with their own id', async (t) => {
  const h = await serve(t);
  const payload = [1, 2, 3].map((id) => JSON.stringify({ id, method: id === 2 ? 'approve' : 'status', params: { peer: 'x' }, token: TOKEN })).join('\n') + '\n';
  const answers = await rawExchange(h.path, payload, 3);
  assert.deepEqual(answers.map((a) => a.id).sort(), [1, 2, 3]);
  assert.deepEqual(answers.find((a) => a.id === 2)?.result, { approved: 'x' });
});

test('methods registered after listen are served', async (t) => {
  const h = await serve(t);
  h.server.register('late', { admin: false, handle: () => 'here' });
  assert.equal(await callControl(h.path, 'late'), 'here');
});

test('callControl to a missing socket says no daemon is running', async (t) => {
  const path = join(tempDir(t), 'swarm.sock');
  await assert.rejects(callControl(path, 'status'), (err: unknown) => {
    controlError('not_running')(err);
    assert.match((err as ControlError).hint, /daemon start/);
    return true;
  });
});

test('callControl to a socket file nobody listens on says no daemon is running', async (t) => {
  // What a killed daemon leaves behind: the path exists, nobody accepts connections on it.
  const path = join(tempDir(t), 'swarm.sock');
  writeFileSync(path, '');
  await assert.rejects(callControl(path, 'status'), controlError('not_running'));
});

test('callControl gives up after its timeout', async (t) => {
  const h = await serve(t, { hang: { admin: false, handle: () => new Promise(() => {}) } });
  await assert.rejects(callControl(h.path, 'hang', {}, { timeoutMs: 50 }), controlError('timeout'));
});

test('loadOrCreateAdminToken creates a 0600 token once and returns the same one after', (t) => {
  const path = join(tempDir(t), 'admin.token');
  const token = loadOrCreateAdminToken(path);
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readFileSync(path, 'utf8').trim(), token);
  assert.equal(loadOrCreateAdminToken(path), token);
});

test('loadOrCreateAdminToken refuses a token file readable by others, and leaves it alone', (t) => {
  const path = join(tempDir(t), 'admin.token');
  const token = loadOrCreateAdminToken(path);
  chmodSync(path, 0o644);
  assert.throws(() => loadOrCreateAdminToken(path), (err: unknown) => {
    controlError('token_permissions')(err);
    assert.ok((err as Error).message.includes(path));
    assert.match((err as ControlError).hint, /chmod 600/);
    return true;
  });
  assert.equal(readFileSync(path, 'utf8').trim(), token);
  chmodSync(path, 0o640);
  assert.throws(() => loadOrCreateAdminToken(path), controlError('token_permissions'));
});

test('loadOrCreateAdminToken refuses a corrupt token instead of replacing it', (t) => {
  const path = join(tempDir(t), 'admin.token');
  writeFileSync(path, 'short\n', { mode: 0o600 });
  assert.throws(() => loadOrCreateAdminToken(path), controlError('token_corrupt'));
  assert.equal(readFileSync(path, 'utf8'), 'short\n');
});
