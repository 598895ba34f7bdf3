/**
 * A bad path between two NATed peers: 10 % and then 30 % loss in each direction, 100 ms delay with
 * 10 ms jitter, and a quarter of the packets reordered (they skip the delay and overtake the
 * rest), on everything one router forwards. A 20 MB stream must arrive complete and in order
 * (SHA-256 compared), and datagrams must degrade gracefully: the share that gets through follows
 * the loss, the session stays up, nothing errors.
 *
 * The impairment is the lab's netem stand-in (test/helpers/impair): the CI kernel has no netem.
 * Needs root, iptables, cc and libnetfilter-queue-dev; skipped with the reason otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createNatLab, natLabSkipReason, type NatLab } from '../helpers/nat-lab.ts';
import { impairLan, impairSkipReason } from '../helpers/impair/impair.ts';
import { lanPlace, LabPeer, startLabPeer, startLabRegistry, trustLabPeers } from '../helpers/lab-swarm.ts';
import { tempDir } from '../helpers/swarm.ts';

const skip = natLabSkipReason() ?? impairSkipReason();
const MB20 = 20 * 1000 * 1000;

let lab: NatLab | null = null;
let root = '';
let a: LabPeer;
let b: LabPeer;

before(async () => {
  if (skip) return;
  root = tempDir('swarm-natimp-');
  lab = await createNatLab(['cone', 'cone']);
  await startLabRegistry(lab, root);
  [a, b] = await Promise.all([startLabPeer(lab, root, lanPlace(lab.lans[0]!), 'cone-a'), startLabPeer(lab, root, lanPlace(lab.lans[1]!), 'cone-b')]);
  await trustLabPeers(a, b);
});

after(async () => {
  if (skip) return;
  await lab?.destroy();
  if (root) rmSync(root, { recursive: true, force: true });
});

for (const loss of [0.1, 0.3]) {
  test(`${loss * 100} % loss, 100 ms delay, reordering: a 20 MB stream arrives intact and in order; datagrams degrade gracefully`, { skip: skip ?? false }, async (t) => {
    const impaired = await impairLan(lab!, lab!.lans[0]!, { loss, delayMs: 100, jitterMs: 10, reorder: 0.25, seed: loss * 100 });
    try {
      const id = `impaired-${loss}`;
      a.send('cone-b', MB20, id);
      const sent = await a.next((e) => e.event === 'sent' && e.id === id, 'the end of the 20 MB transfer', 240_000);
      const received = await b.next((e) => e.event === 'received' && e.from === 'cone-a' && e.bytes === MB20, 'the 20 MB', 60_000);
      assert.equal(received.sha256, sent.sha256, 'complete and in order');
      t.diagnostic(`20 MB in ${Math.round(sent.ms ?? 0)} ms (${((MB20 / ((sent.ms ?? 1) / 1000)) / 1e6).toFixed(2)} MB/s) over ${sent.path}`);
      // Datagrams: a ping and its reply each cross the impaired router, so about (1 - loss)^2 of
      // them come back. The session must survive it (no error, the peer still reachable).
      const ping = await a.json<{ sent: number; received: number }>('ping', 'cone-b', '-c', '40', '-i', '0.01', '-W', '0.5');
      const share = ping.received / ping.sent;
      const expected = (1 - loss) ** 2;
      t.diagnostic(`datagrams: ${ping.received}/${ping.sent} round trips (expected about ${Math.round(expected * 100)} %)`);
      assert.ok(Math.abs(share - expected) < 0.3, `${Math.round(share * 100)} % of round trips, expected about ${Math.round(expected * 100)} %`);
      const row = await a.peer('cone-b');
      assert.equal(row.session, true);
    } finally {
      t.diagnostic(await impaired.stop());
    }
  });
}
