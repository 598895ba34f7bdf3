/**
 * A real crash between the executor's decision and the firewall: a child process executes a block
 * and SIGKILLs itself at a fault-injection hook (test/crash-child.ts); the test then opens an
 * executor on the same database and namespace, and the reconciliation at open must report the
 * interrupted decision and leave the firewall and the store in agreement — checked with real
 * traffic. Needs root, iproute2 and nftables; skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { DecisionStore } from '../decision-store.ts';
import { FirewallExecutor } from '../executor.ts';
import { NftablesBackend } from '../nftables-backend.ts';
import { ATTACKER, createLab, netnsSkipReason, type Lab } from './netns-lab.ts';

const skip = netnsSkipReason(['nft']);
if (skip !== null) console.log(`# executor crash tests skipped: ${skip}`);
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

function runChild(args: readonly string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('firewall executor killed between decision and firewall', { skip: skip ?? false }, () => {
  let lab: Lab;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'executor-crash-'));
    lab = await createLab();
  });

  after(async () => {
    await lab?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  for (const hook of ['afterAccepted', 'afterApplied'] as const) {
    test(`SIGKILL ${hook === 'afterAccepted' ? 'after "accepted" was stored, before the firewall changed' : 'after the firewall changed, before "applied" was stored'}: the next start finishes it`, async () => {
      const dbPath = join(dir, `${hook}.db`);
      const requestId = `crash-${hook}-${process.pid}`;
      const died = await runChild([dbPath, lab.executorNs, requestId, ATTACKER.v4, hook]);
      assert.equal(died.signal, 'SIGKILL', `the child should have been killed at ${hook}: ${died.stderr}`);

      // What the crash left: the decision stuck in "accepted"; the entry there only if the firewall had changed.
      const store = DecisionStore.open(dbPath);
      assert.equal(store.get(requestId)?.state, 'accepted');
      store.close();
      const backend = new NftablesBackend({ netns: lab.executorNs });
      assert.deepEqual((await backend.list()).map((e) => e.cidr.text), hook === 'afterAccepted' ? [] : [`${ATTACKER.v4}/32`]);
      assert.equal(await lab.reaches(ATTACKER.v4), hook === 'afterAccepted', 'traffic matches the firewall state the crash left');

      const executor = await FirewallExecutor.open({ dbPath, backend, policy: {}, protectedAddresses: () => [] });
      try {
        assert.deepEqual(executor.startupReport.resumed, [{ requestId, cidr: `${ATTACKER.v4}/32`, outcome: 'applied' }]);
        // Store and firewall agree: one active decision, one entry, same CIDR, and the attacker is dropped.
        const entries = await backend.list();
        assert.deepEqual(entries.map((e) => e.cidr.text), executor.active().map((d) => d.cidr));
        assert.equal(executor.decision(requestId)?.state, 'applied');
        assert.ok(Math.abs((entries[0]?.remainingSeconds ?? 0) - (executor.active()[0]?.remainingSeconds ?? 0)) <= 5);
        assert.equal(await lab.reaches(ATTACKER.v4, 300), false, 'the block is in force');
        assert.deepEqual((await executor.reconcile()).resumed, [], 'nothing left to finish');
      } finally {
        await executor.flush();
        await executor.close();
      }
    });
  }
});
