/**
 * Every bad input and broken environment gives one line saying what happened and what to do,
 * a non-zero exit, no stack trace, and loses nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { swarmctl, Swarm, type CliResult } from '../helpers/swarm.ts';

const swarm = new Swarm();
let registry = '';

before(async () => {
  registry = `127.0.0.1:${(await swarm.startRegistry()).port}`;
  await swarm.startDaemon('node-one');
});

after(() => swarm.close());

function assertOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0] as string, /^swarmctl: error: .+ — .+/, 'says what happened and a hint');
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('handshake to an unknown host', async () => {
  assertOneLineError(await swarm.cli('node-one', 'handshake', 'no-such-host', 'hello'), 1, /no node named no-such-host/);
});

test('daemon start with the registry down', async () => {
  const dir = join(swarm.root, 'lonely');
  const r = await swarmctl(['--state-dir', dir, 'daemon', 'start', '--hostname', 'lonely', '--registry', '127.0.0.1:9', '--listen', '127.0.0.1:0']);
  assertOneLineError(r, 1, /registry 127\.0\.0\.1:9 did not answer/);
  // Nothing is left running and the identity was kept for the next try.
  assert.equal((await swarmctl(['--state-dir', dir, 'daemon', 'status'])).code, 3);
  assert.ok(readFileSync(join(dir, 'identity.json'), 'utf8').includes('ed25519_public'));
});

test('daemon start on a UDP port that is in use', async () => {
  const info = await swarm.json<{ listen: string }>('node-one', 'info');
  const r = await swarmctl(['--state-dir', join(swarm.root, 'clash'), 'daemon', 'start', '--hostname', 'clash', '--registry', registry, '--listen', info.listen]);
  assertOneLineError(r, 1, /already in use/);
});

test('a second daemon for the same state directory', async () => {
  const r = await swarmctl(['--state-dir', swarm.dir('node-one'), 'daemon', 'start', '--hostname', 'node-one', '--registry', registry]);
  assertOneLineError(r, 1, /already running/);
});

test('a corrupt identity file is refused and left untouched', async () => {
  const dir = join(swarm.root, 'corrupt-id');
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, 'identity.json'), '{"format":"swarm-soc-identity","version":1,"ed25519_seed":"AAAA"', { mode: 0o600 });
  const before = readFileSync(join(dir, 'identity.json'));
  const r = await swarmctl(['--state-dir', dir, 'daemon', 'start', '--hostname', 'corrupt-id', '--registry', registry, '--foreground']);
  assertOneLineError(r, 1, /identity file .* is corrupt/);
  assert.deepEqual(readFileSync(join(dir, 'identity.json')), before);
});

test('an identity file readable by others is refused', async () => {
  const dir = join(swarm.root, 'loose-id');
  const ok = await swarmctl(['--state-dir', dir, 'daemon', 'start', '--hostname', 'loose-id', '--registry', registry, '--listen', '127.0.0.1:0']);
  assert.equal(ok.code, 0, ok.stderr);
  await swarmctl(['--state-dir', dir, 'daemon', 'stop']);
  chmodSync(join(dir, 'identity.json'), 0o644);
  const r = await swarmctl(['--state-dir', dir, 'daemon', 'start']);
  assertOneLineError(r, 1, /readable by others .*chmod 600/);
});

test('a corrupt database is refused and left untouched', async () => {
  const dir = join(swarm.root, 'corrupt-db');
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, 'swarm.db'), 'this is not a database, it is a shopping list\n'.repeat(100), { mode: 0o600 });
  const before = readFileSync(join(dir, 'swarm.db'));
  const r = await swarmctl(['--state-dir', dir, 'daemon', 'start', '--hostname', 'corrupt-db', '--registry', registry, '--listen', '127.0.0.1:0']);
  assertOneLineError(r, 1, /database .* is corrupt/);
  assert.deepEqual(readFileSync(join(dir, 'swarm.db')), before);
});

test('bad arguments exit 2 with the usage', async () => {
  assertOneLineError(await swarmctl(['ping']), 2, /missing PEER/);
  assertOneLineError(await swarmctl(['ping', 'x', '--bogus']), 2, /unknown option '--bogus'/);
  assertOneLineError(await swarmctl(['ping', 'x', '-c', 'many']), 2, /--count must be a whole number/);
  assertOneLineError(await swarmctl(['frobnicate']), 2, /unknown verb "frobnicate"/);
  assertOneLineError(await swarmctl(['daemon']), 2, /"daemon" needs one of: start, stop, status/);
  assertOneLineError(await swarmctl(['registry', 'serve']), 2, /missing --listen/);
  const dir = join(swarm.root, 'bad-name');
  assertOneLineError(await swarmctl(['--state-dir', dir, 'daemon', 'start', '--hostname', 'Bad_Name', '--registry', registry, '--foreground']), 1, /not a valid hostname/);
  assertOneLineError(await swarmctl(['--state-dir', dir, 'daemon', 'start', '--hostname', 'ok-name', '--registry', 'nowhere', '--foreground']), 1, /not HOST:PORT/);
});

test('approve, reject and untrust name what is missing', async () => {
  assertOneLineError(await swarm.cli('node-one', 'approve', 'nobody'), 1, /no pending trust request from nobody/);
  assertOneLineError(await swarm.cli('node-one', 'reject', 'nobody', 'why'), 1, /no pending trust request from nobody/);
  assertOneLineError(await swarm.cli('node-one', 'untrust', 'nobody'), 1, /nobody is not a trusted peer/);
  assertOneLineError(await swarm.cli('node-one', 'handshake', 'node-one', 'x', '--want', 'root.shell'), 1, /unknown capability "root\.shell"/);
});

test('verbs that need a daemon say how to start one', async () => {
  assertOneLineError(await swarmctl(['--state-dir', join(swarm.root, 'nothing-here'), 'peers']), 1, /no daemon is running .* swarmctl daemon start/);
});

test('--json errors are a JSON document on stdout', async () => {
  const r = await swarm.cli('node-one', 'approve', 'nobody', '--json');
  assert.equal(r.code, 1);
  const body = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string; hint: string } };
  assert.equal(body.ok, false);
  assert.equal(body.error.code, 'trust_no_request');
  assert.ok(body.error.hint.length > 0);
});

test('every read verb speaks --json', async () => {
  for (const verb of [['info'], ['peers'], ['trust'], ['pending'], ['audit'], ['daemon', 'status'], ['lookup', 'node-one']]) {
    const r = await swarm.cli('node-one', ...verb, '--json');
    assert.equal(r.code, 0, `${verb.join(' ')}: ${r.stderr}`);
    assert.doesNotThrow(() => JSON.parse(r.stdout), `${verb.join(' ')} prints JSON`);
  }
});

test('console: bad arguments, a web port in use, a corrupt console.json', async () => {
  const dir = join(swarm.root, 'console-errors');
  assertOneLineError(await swarmctl(['--state-dir', dir, 'console', '--web', '--port', '99999']), 2, /--port "99999" is not a port number/);
  assertOneLineError(await swarmctl(['--state-dir', dir, 'console', '--web', '--lab', '--no-lab']), 2, /contradict/);
  const { createServer } = await import('node:net');
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const port = (busy.address() as { port: number }).port;
  try {
    const r = await swarmctl(['--state-dir', dir, 'console', '--web', '--no-lab', '--port', String(port)]);
    assertOneLineError(r, 1, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
  } finally {
    busy.close();
  }
  writeFileSync(join(dir, 'console.json'), '{"registry": ');
  assertOneLineError(await swarmctl(['--state-dir', dir, 'console', '--web']), 1, /console\.json is not valid JSON/);
  assert.equal(readFileSync(join(dir, 'console.json'), 'utf8'), '{"registry": ', 'left for the user to inspect');
});
