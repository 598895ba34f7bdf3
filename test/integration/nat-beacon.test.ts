/**
 * A separate beacon (`swarmctl beacon serve`): nodes started with --beacon register with it as
 * well as with the registry, and classify their NAT, punch and relay through it; the registry
 * keeps names, keys and trust lookups. In the NAT lab: a node behind a symmetric NAT and one
 * behind a cone NAT reach each other through the beacon's relay.
 * Needs root and iptables; skipped with the reason otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createNatLab, INTERNET_IP, natLabSkipReason, type NatLab } from '../helpers/nat-lab.ts';
import { lanPlace, LabPeer, startLabPeer, startLabRegistry, trustLabPeers } from '../helpers/lab-swarm.ts';
import { tempDir } from '../helpers/swarm.ts';

const skip = natLabSkipReason();
const BEACON = `${INTERNET_IP}:9100`;

let lab: NatLab | null = null;
let root = '';
let sym: LabPeer;
let cone: LabPeer;

interface TraversalInfo {
  traversal: { via: string; relay: string; beacon?: { endpoint: string; registered: boolean } };
  nat: { type: string; beacon: string | null };
}

before(async () => {
  if (skip) return;
  root = tempDir('swarm-natb-');
  lab = await createNatLab(['symmetric', 'cone']);
  await Promise.all([startLabRegistry(lab, root), startLabRegistry(lab, root, 'beacon', BEACON)]);
  [sym, cone] = await Promise.all([
    startLabPeer(lab, root, lanPlace(lab.lans[0]!), 'sym-a', { beacon: BEACON }),
    startLabPeer(lab, root, lanPlace(lab.lans[1]!), 'cone-b', { beacon: BEACON }),
  ]);
});

after(async () => {
  if (skip) return;
  await lab?.destroy();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('nodes started with --beacon classify their NAT and relay through the beacon, not the registry', { skip: skip ?? false }, async () => {
  for (const [peer, nat] of [
    [sym, 'symmetric'],
    [cone, 'endpoint-independent'],
  ] as const) {
    const info = await peer.json<TraversalInfo>('info');
    assert.equal(info.traversal.via, 'beacon');
    assert.equal(info.traversal.relay, BEACON);
    assert.equal(info.traversal.beacon?.registered, true);
    assert.equal(info.nat.beacon, `${INTERNET_IP}:9101`, "the beacon's second port");
    assert.equal(info.nat.type, nat);
  }
  const text = await sym.cli('info');
  assert.match(text.stdout, /^nat traversal\s+punching and relay through the beacon at 203\.0\.113\.1:9100$/m);
  await trustLabPeers(sym, cone);
  const ping = await sym.json<{ received: number }>('ping', 'cone-b', '-c', '2', '-i', '0.1');
  assert.equal(ping.received, 2);
  assert.equal((await sym.peer('cone-b')).path, 'relay');
  assert.equal((await cone.peer('sym-a')).path, 'relay');
  assert.match(sym.stderr, /path: cone-b through the relay 203\.0\.113\.1:9100/);
});
