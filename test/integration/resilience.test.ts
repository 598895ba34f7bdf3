/**
 * A daemon that is killed, flooded with junk, or loses its registry keeps its identity, trust,
 * pending requests and audit chain, and keeps answering.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, startRegistry, Swarm } from '../helpers/swarm.ts';

const swarm = new Swarm();
const A = 'edge-a';
const B = 'edge-b';
const C = 'edge-c';

interface Info {
  pid: number;
  fingerprint: string;
  address: string;
  listen: string;
  stats: { node: { junk: number; handshakesInvalid: number; transportUnknownIndex: number } };
}

before(async () => {
  await swarm.startRegistry();
  // Short keepalive so re-registration after a registry restart is quick to observe.
  for (const h of [A, B, C]) await swarm.startDaemon(h, ['--keepalive', '1']);
  await swarm.json(A, 'handshake', B, 'a and b exchange events');
  await swarm.json(B, 'approve', A);
  await eventually(async () => (await swarm.json<{ trusted: unknown[] }>(A, 'trust')).trusted.length === 1, 10_000, 'trust on a');
  // A request from C to B stays pending across B's crash.
  await swarm.json(C, 'handshake', B, 'c would like to join');
});

after(() => swarm.close());

test('kill -9 and restart: identity, trust and pending requests are intact and the audit chain verifies', async () => {
  const before = await swarm.json<Info>(B, 'info');
  const trustBefore = await swarm.json<{ trusted: Array<{ hostname: string; capsGranted: string[] }> }>(B, 'trust');
  const pendingBefore = await swarm.json<{ incoming: Array<{ hostname: string; justification: string }> }>(B, 'pending');
  assert.equal(pendingBefore.incoming.length, 1);

  process.kill(before.pid, 'SIGKILL');
  await eventually(async () => {
    try {
      process.kill(before.pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 5000, 'the daemon to die');

  const restarted = await swarm.json<Info>(B, 'daemon', 'start'); // hostname and registry are remembered
  assert.notEqual(restarted.pid, before.pid);
  assert.equal(restarted.fingerprint, before.fingerprint);
  assert.equal(restarted.address, before.address);
  assert.deepEqual(await swarm.json(B, 'trust'), trustBefore);
  const pendingAfter = await swarm.json<{ incoming: Array<{ hostname: string; justification: string }> }>(B, 'pending');
  assert.deepEqual(pendingAfter.incoming.map((r) => [r.hostname, r.justification]), [[C, 'c would like to join']]);
  const audit = await swarm.json<{ verify: { ok: boolean; entries: number } }>(B, 'audit', '--verify');
  assert.equal(audit.verify.ok, true);
  assert.ok(audit.verify.entries >= 3);

  // The restarted daemon listens on a new port; its trusted peer finds it again through the registry.
  const ping = await swarm.json<{ received: number }>(A, 'ping', B, '-c', '2', '-i', '0.05', '-W', '5');
  assert.equal(ping.received, 2);
});

test('10,000 junk datagrams: the daemon stays up, counts them, and still answers ping', async () => {
  const info = await swarm.json<Info>(B, 'info');
  const [host, port] = [info.listen.split(':')[0] as string, Number(info.listen.split(':')[1])];
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const sizes = [0, 1, 13, 29, 57, 215, 216, 500, 1200, 1500];
  const types = [0x01, 0x02, 0x03, 0x10, 0x11, 0xff];
  let sent = 0;
  for (let batch = 0; batch < 100; batch++) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const size = sizes[(batch + i) % sizes.length] as number;
        const junk = randomBytes(size);
        if (size > 0) junk[0] = types[i % types.length] as number;
        return new Promise<void>((r) => socket.send(junk, port, host, () => { sent++; r(); }));
      }),
    );
  }
  socket.close();
  assert.equal(sent, 10_000);
  const ping = await swarm.json<{ received: number }>(A, 'ping', B, '-c', '3', '-i', '0.05');
  assert.equal(ping.received, 3);
  const after = await swarm.json<Info>(B, 'info');
  assert.equal(after.pid, info.pid, 'same daemon process');
  const counted = (s: Info['stats']['node']) => s.junk + s.handshakesInvalid + s.transportUnknownIndex;
  assert.ok(counted(after.stats.node) - counted(info.stats.node) > 1000, 'junk is counted, not processed');
});

test('after the registry restarts with an empty database, daemons register again and are found', async () => {
  const registry = swarm.registry!;
  await registry.stop();
  rmSync(join(registry.dbDir, 'registry.db'), { force: true });
  for (const suffix of ['-wal', '-shm']) rmSync(join(registry.dbDir, `registry.db${suffix}`), { force: true });
  // Same port and same registry identity (kept beside the database), so pinned keys still match.
  swarm.registry = await startRegistry(registry.dbDir, registry.port);
  const found = await eventually(async () => {
    const r = await swarm.cli(A, 'lookup', C, '--json');
    return r.code === 0 ? (JSON.parse(r.stdout) as { hostname: string; online: boolean }) : null;
  }, 15_000, 'c to be registered again');
  assert.equal(found.hostname, C);
  assert.equal(found.online, true);
  const info = await swarm.json<{ registry: { registered: boolean } }>(C, 'info');
  assert.equal(info.registry.registered, true);
});
