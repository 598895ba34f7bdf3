/**
 * The web transport's access rules, over real HTTP and WebSocket on loopback: the token, the
 * Origin and the Host checks, the request validation, and static files that cannot escape.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { WebSocket } from 'ws';
import { ConsoleService } from './service.ts';
import { startConsoleWebServer, WS_PATH, WS_PROTOCOL, type ConsoleWebServer } from './web-server.ts';

async function server(t: TestContext): Promise<ConsoleWebServer> {
  const root = mkdtempSync(join(tmpdir(), 'swarm-web-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const staticDir = join(root, 'ui') + '/'; // as the CLI passes it: with a trailing slash
  mkdirSync(staticDir);
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(root, 'secret.txt'), 'outside the UI folder');
  // No registry, no lab: the service is unconfigured, which is all these checks need.
  const service = await ConsoleService.start({ stateDir: join(root, 'state'), lab: 'never' });
  t.after(() => service.close());
  const web = await startConsoleWebServer({ service, staticDir });
  t.after(() => web.close());
  return web;
}

function http(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with the socket and its first message, or the refusal status. */
function connect(port: number, protocols: string[], headers: Record<string, string> = {}): Promise<{ ws: WebSocket; first: unknown } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${WS_PATH}`, protocols, { headers });
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('message', (data) => resolve({ ws, first: JSON.parse(data.toString()) }));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))));
}

test('the URL carries the token in its fragment and the server listens on 127.0.0.1 only', async (t) => {
  const web = await server(t);
  assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}$/);
  assert.ok(web.url.endsWith(web.token));
});

test('a WebSocket without the token, or with a wrong one, is refused with 401', async (t) => {
  const web = await server(t);
  assert.deepEqual(await connect(web.port, [WS_PROTOCOL]), { status: 401 });
  assert.deepEqual(await connect(web.port, [WS_PROTOCOL, `token.${'0'.repeat(64)}`]), { status: 401 });
  assert.deepEqual(await connect(web.port, [WS_PROTOCOL, `token.${web.token.slice(0, 10)}`]), { status: 401 });
});

test('a WebSocket from a foreign Origin is refused with 403 even with the token', async (t) => {
  const web = await server(t);
  const r = await connect(web.port, [WS_PROTOCOL, `token.${web.token}`], { Origin: 'http://evil.example' });
  assert.deepEqual(r, { status: 403 });
  const sameHostOtherPort = await connect(web.port, [WS_PROTOCOL, `token.${web.token}`], { Origin: `http://127.0.0.1:${web.port + 1}` });
  assert.deepEqual(sameHostOtherPort, { status: 403 });
});

test('a request for another Host name (DNS rebinding) is refused', async (t) => {
  const web = await server(t);
  const r = await http(web.port, '/', { host: `attacker.example:${web.port}` });
  assert.equal(r.status, 421);
  const ws = await connect(web.port, [WS_PROTOCOL, `token.${web.token}`], { Host: `attacker.example:${web.port}` });
  assert.deepEqual(ws, { status: 421 });
});

test('with the token and the console Origin: a snapshot first, then validated calls', async (t) => {
  const web = await server(t);
  const r = await connect(web.port, [WS_PROTOCOL, `token.${web.token}`], { Origin: `http://127.0.0.1:${web.port}` });
  assert.ok('ws' in r);
  t.after(() => r.ws.close());
  assert.equal(r.ws.protocol, WS_PROTOCOL);
  const first = r.first as { event: { type: string; snapshot: { status: string } } };
  assert.equal(first.event.type, 'snapshot');
  assert.equal(first.event.snapshot.status, 'unconfigured');

  r.ws.send(JSON.stringify({ id: 1, method: 'snapshot', params: {} }));
  const ok = await nextMessage(r.ws);
  assert.equal(ok.id, 1);
  assert.equal(ok.ok, true);

  r.ws.send(JSON.stringify({ id: 2, method: 'approve', params: { peer: 'x', capabilities: ['root.shell'] } }));
  const bad = (await nextMessage(r.ws)) as { id: number; ok: boolean; error: { code: string; message: string; hint: string } };
  assert.deepEqual([bad.id, bad.ok, bad.error.code], [2, false, 'bad_request']);
  assert.match(bad.error.message, /unknown capability/);

  r.ws.send('this is not json');
  const garbage = (await nextMessage(r.ws)) as { ok: boolean; error: { code: string } };
  assert.equal(garbage.ok, false);

  r.ws.send(JSON.stringify({ id: 3, method: 'approve', params: { peer: 'gcp-log-monitor', capabilities: [] } }));
  const refused = (await nextMessage(r.ws)) as { id: number; ok: boolean; error: { code: string; hint: string } };
  assert.deepEqual([refused.id, refused.ok, refused.error.code], [3, false, 'not_running']);
  assert.ok(refused.error.hint.length > 0);
});

test('HTTP API: no token 401, wrong token 401, foreign Origin 403, right token 200', async (t) => {
  const web = await server(t);
  assert.equal((await http(web.port, '/api/snapshot')).status, 401);
  assert.equal((await http(web.port, '/api/snapshot', { authorization: 'Bearer nope' })).status, 401);
  assert.equal((await http(web.port, '/api/snapshot', { authorization: `Bearer ${web.token}`, origin: 'http://evil.example' })).status, 403);
  const ok = await http(web.port, '/api/snapshot', { authorization: `Bearer ${web.token}` });
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body).status, 'unconfigured');
});

test('static files: the UI with a strict CSP; nothing outside its folder; only GET', async (t) => {
  const web = await server(t);
  const index = await http(web.port, '/');
  assert.equal(index.status, 200);
  assert.match(String(index.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
  assert.equal(index.headers['x-frame-options'], 'DENY');
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/missing.js']) {
    const r = await http(web.port, path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /outside the UI folder/);
  }
  assert.equal((await http(web.port, '/', {}, 'POST')).status, 405);
});
