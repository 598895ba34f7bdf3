/**
 * NAT traversal through real Linux NATs: three LANs behind router namespaces (two cone NATs,
 * iptables MASQUERADE; one symmetric, MASQUERADE --random-fully) and the registry/beacon/relay on
 * the "internet" segment. Each LAN runs a real daemon (test/helpers/lab-peer.ts: the Daemon plus a
 * stream sink) and trust is asked and approved through swarmctl, as an operator would.
 *
 * - two cone NATs: the punch opens a direct path;
 * - a symmetric NAT: the session comes up through the relay, and a capture of everything the relay
 *   received and sent never contains the plaintext that crossed it;
 * - a router that forgets its mappings (conntrack -F) mid-stream: the stream completes intact;
 * - the registry restarts: nodes re-register, keep their trust, and still reach each other.
 *
 * Needs root, iptables, tcpdump and conntrack (CI installs them); skipped with the reason otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createNatLab, natLabSkipReason, type NatLab } from '../helpers/nat-lab.ts';
import { lanPlace, LabPeer, startLabPeer, startLabRegistry, trustLabPeers } from '../helpers/lab-swarm.ts';
import { eventually, tempDir } from '../helpers/swarm.ts';

const MARKER = 'SWARM-LAB-PLAINTEXT';

function toolMissing(): string | null {
  for (const tool of ['tcpdump', 'conntrack']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install ${tool})`;
  }
  return null;
}
const skip = natLabSkipReason() ?? toolMissing();

let lab: NatLab | null = null;
let root = '';
let registry: ChildProcess | null = null;
const peers: Record<'a' | 'a2' | 'b' | 'c', LabPeer> = {} as never;

before(async () => {
  if (skip) return;
  root = tempDir('swarm-natx-');
  lab = await createNatLab(['cone', 'cone', 'symmetric'], { hostsPerLan: 2 });
  registry = (await startLabRegistry(lab, root)).process;
  [peers.a, peers.a2, peers.b, peers.c] = await Promise.all([
    startLabPeer(lab, root, lanPlace(lab.lans[0]!), 'cone-a'),
    startLabPeer(lab, root, lanPlace(lab.lans[0]!, 1), 'cone-a2'),
    startLabPeer(lab, root, lanPlace(lab.lans[1]!), 'cone-b'),
    startLabPeer(lab, root, lanPlace(lab.lans[2]!), 'sym-c'),
  ]);
});

after(async () => {
  if (skip) return;
  await lab?.destroy();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('the lab peers see their NATs: two cones and a symmetric one', { skip: skip ?? false }, () => {
  assert.equal(peers.a.nat, 'endpoint-independent');
  assert.equal(peers.b.nat, 'endpoint-independent');
  assert.equal(peers.c.nat, 'symmetric');
});

test('two peers behind cone NATs: the trust handshake and traffic run on a punched direct path', { skip: skip ?? false }, async () => {
  await trustLabPeers(peers.a, peers.b);
  const ping = await peers.a.json<{ replies: Array<{ rttMs: number | null }> }>('ping', 'cone-b', '-c', '3', '-i', '0.2');
  assert.ok(ping.replies.every((r) => r.rttMs !== null), JSON.stringify(ping));
  const atA = await peers.a.peer('cone-b');
  const atB = await peers.b.peer('cone-a');
  assert.equal(atA.path, 'direct');
  assert.equal(atB.path, 'direct');
  assert.ok(typeof atA.rtt_ms === 'number' && atA.rtt_ms > 0);
  const text = await peers.a.cli('peers');
  assert.match(text.stdout, /cone-b .*\bdirect\b/);
});

test('two peers behind the same NAT (which does not hairpin) reach each other directly on their LAN', { skip: skip ?? false }, async () => {
  await trustLabPeers(peers.a2, peers.a);
  const ping = await peers.a2.json<{ received: number }>('ping', 'cone-a', '-c', '2', '-i', '0.1');
  assert.equal(ping.received, 2);
  const row = await peers.a2.peer('cone-a');
  assert.equal(row.path, 'direct');
  assert.match(row.endpoint ?? '', /^10\.1\.0\.2:\d+$/, 'the LAN address the peer offered as a candidate');
});

test('a peer behind a symmetric NAT: the session comes up through the relay, which never sees the plaintext', { skip: skip ?? false }, async () => {
  await trustLabPeers(peers.c, peers.a);
  assert.equal((await peers.c.peer('cone-a')).path, 'relay');
  assert.equal((await peers.a.peer('sym-c')).path, 'relay');
  // Capture everything the registry/relay receives and sends while 2 MB of marker text cross it.
  const pcap = join(root, 'relay.pcap');
  const capture = lab!.spawn(lab!.internetNs, ['tcpdump', '-i', 'any', '-U', '-n', '-w', pcap, 'udp', 'port', '9000']);
  let captureLog = '';
  await new Promise<void>((resolve, reject) => {
    capture.stderr!.on('data', (d: Buffer) => {
      captureLog += d.toString();
      if (captureLog.includes('listening on')) resolve();
    });
    capture.once('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${captureLog}`)));
  });
  peers.c.send('cone-a', 2 * 1024 * 1024, 'relay-1');
  const sent = await peers.c.next((e) => e.event === 'sent' && e.id === 'relay-1', 'the relayed transfer');
  const received = await peers.a.next((e) => e.event === 'received' && e.from === 'sym-c', 'the relayed data');
  capture.kill('SIGINT');
  await new Promise((r) => capture.once('exit', r));
  assert.equal(received.sha256, sent.sha256, 'complete and in order');
  assert.equal(sent.path, 'relay');
  const captured = readFileSync(pcap);
  assert.ok(captured.length > 2 * 1024 * 1024, `the capture holds the relayed traffic (${captured.length} bytes)`);
  assert.equal(captured.indexOf(MARKER), -1, 'the plaintext never crossed the relay');
});

test('a NAT router drops its mappings mid-stream and comes back on other ports: the stream completes intact, the peers follow', { skip: skip ?? false }, async () => {
  const bytes = 8 * 1024 * 1024;
  const lan = lab!.lans[0]!;
  const before = await peers.b.peer('cone-a');
  peers.a.send('cone-b', bytes, 'flush-1');
  await peers.b.next((e) => e.event === 'progress' && e.from === 'cone-a' && (e.bytes ?? 0) >= 2 * 1024 * 1024, 'the first 2 MiB');
  // As after a router restart: every mapping forgotten, new ones from another port range, so
  // cone-a's public endpoint changes under the running stream.
  const remapped = await lab!.exec(lan.routerNs, ['iptables', '-t', 'nat', '-R', 'POSTROUTING', '1', '-o', lan.wanIf, '-p', 'udp', '-j', 'MASQUERADE', '--to-ports', '20000-20999']);
  assert.equal(remapped.code, 0, remapped.stderr);
  const flushed = await lab!.exec(lan.routerNs, ['conntrack', '-F']);
  assert.equal(flushed.code, 0, flushed.stderr);
  const sent = await peers.a.next((e) => e.event === 'sent' && e.id === 'flush-1', 'the end of the transfer', 90_000);
  const received = await peers.b.next((e) => e.event === 'received' && e.from === 'cone-a' && e.bytes === bytes, 'all the data', 90_000);
  assert.equal(received.sha256, sent.sha256, 'complete and in order');
  const lost = async (p: LabPeer) => (await p.json<{ stats: { node: { pathsLost: number } } }>('info')).stats.node.pathsLost;
  assert.ok((await lost(peers.a)) + (await lost(peers.b)) >= 1, 'the dead path was noticed (by one side or both)');
  // cone-b follows cone-a to its new public port, and they are direct again (a new punch).
  const after = await eventually(
    async () => {
      const row = await peers.b.peer('cone-a');
      const port = Number(row.endpoint?.split(':').pop());
      return row.path === 'direct' && port >= 20000 && port <= 20999 ? row : null;
    },
    30_000,
    'cone-b direct to cone-a at its new mapping',
  );
  assert.notEqual(after.endpoint, before.endpoint);
});

test('the registry restarts: nodes re-register, keep their trust, and still reach each other', { skip: skip ?? false }, async () => {
  const trustBefore = await peers.a.json<{ trusted: Array<{ hostname: string }> }>('trust');
  registry!.kill('SIGTERM');
  await new Promise((r) => registry!.once('exit', r));
  const restartedAt = Date.now();
  registry = (await startLabRegistry(lab!, root)).process;
  for (const p of [peers.a, peers.b, peers.c]) {
    await eventually(
      async () => {
        const info = await p.json<{ registry: { registered: boolean; last_ok_at: string | null } }>('info');
        return info.registry.registered && Date.parse(info.registry.last_ok_at ?? '') > restartedAt;
      },
      15_000,
      `${p.hostname} re-registers`,
    );
  }
  const trustAfter = await peers.a.json<{ trusted: Array<{ hostname: string }> }>('trust');
  assert.deepEqual(trustAfter.trusted.map((t) => t.hostname).sort(), trustBefore.trusted.map((t) => t.hostname).sort());
  for (const [from, to] of [
    [peers.a, 'cone-b'],
    [peers.c, 'cone-a'],
  ] as const) {
    const ping = await from.json<{ replies: Array<{ rttMs: number | null }> }>('ping', to, '-c', '2', '-i', '0.2');
    assert.ok(ping.replies.some((r) => r.rttMs !== null), `${from.hostname} → ${to}: ${JSON.stringify(ping)}`);
  }
});
