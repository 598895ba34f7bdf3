/**
 * A firewall executor that dies at the worst moment, for test/executor-crash.test.ts:
 *
 *   node crash-child.ts DB_PATH NETNS REQUEST_ID CIDR afterAccepted|afterApplied
 *
 * opens an executor (nftables, in NETNS) on DB_PATH, executes one block and, at the chosen
 * fault-injection hook, kills itself with SIGKILL: no exit handler, no finally, no flush to disk
 * beyond what SQLite committed — what a power cut or the OOM killer leaves behind.
 */
import { FirewallExecutor } from '../executor.ts';
import { NftablesBackend } from '../nftables-backend.ts';

const [dbPath, netns, requestId, cidr, hook] = process.argv.slice(2) as [string, string, string, string, string];
if (hook !== 'afterAccepted' && hook !== 'afterApplied') throw new Error(`unknown hook ${hook}`);

const die = (): Promise<void> => {
  process.kill(process.pid, 'SIGKILL');
  return new Promise(() => {});
};

const executor = await FirewallExecutor.open({
  dbPath,
  backend: new NftablesBackend({ netns }),
  policy: {},
  protectedAddresses: () => [],
  testHooks: { [hook]: die },
});
await executor.execute({
  requestId,
  incidentId: 'incident-crash',
  action: 'block',
  cidr,
  ttlSeconds: 600,
  reason: 'crash test',
  requester: { fingerprint: 'ABCD-EF01-2345-6789-ABCD-EF01-2345-6789', hostname: 'test-console' },
  issuedAt: Date.now(),
});
console.error('crash-child: the hook did not kill the process');
process.exit(3);
