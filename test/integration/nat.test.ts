/**
 * NAT classification through real Linux NATs (network namespaces, iptables MASQUERADE): a node on
 * the internet segment, one behind a cone NAT and one behind a symmetric NAT
 * (`--random-fully`) each register with the registry and ask its beacon what they look like.
 * Needs root (CI runs as root); skipped with the reason otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createNatLab, INTERNET_IP, natLabSkipReason, type NatLab } from '../helpers/nat-lab.ts';
import { BIN, eventually, swarmctl, tempDir } from '../helpers/swarm.ts';
import { callControl, CONTROL_SOCKET } from '../../core/overlay/control.ts';

const skip = natLabSkipReason();
const REGISTRY = `${INTERNET_IP}:9000`;

interface NatInfo {
  listen: string;
  registry: { registered: boolean; observed: string | null };
  nat: { type: string; observed: string | null; checked_at: string | null; beacon: string | null };
}

let lab: NatLab | null = null;
let root = '';
/** The daemons, started in parallel before the tests (each start is a Node process). */
const nodes: Record<'public' | 'cone' | 'symmetric', { dir: string; info: NatInfo }> = {} as never;

/**
 * Starts a daemon in the foreground inside `ns` (one process: the lab kills it on destroy) and
 * waits until it has classified its NAT. The control socket is a file, so the test asks it from
 * the host's namespace.
 */
async function startDaemon(ns: string, hostname: string): Promise<{ dir: string; info: NatInfo }> {
  const dir = join(root, hostname);
  const child = lab!.spawn(ns, [process.execPath, BIN, '--state-dir', dir, 'daemon', 'start', '--foreground', '--hostname', hostname, '--registry', REGISTRY, '--listen', '0.0.0.0:0']);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.resume();
  const info = await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`daemon ${hostname} exited ${child.exitCode}: ${stderr}`);
      const info = (await callControl(join(dir, CONTROL_SOCKET), 'info', {})) as NatInfo;
      return info.nat.checked_at !== null ? info : null;
    },
    15_000,
    `NAT classification of ${hostname} in ${ns}`,
  );
  return { dir, info };
}

before(async () => {
  if (skip) return;
  root = tempDir('swarm-nat-');
  lab = await createNatLab(['cone', 'symmetric']);
  const registry = lab.spawn(lab.internetNs, [process.execPath, BIN, 'registry', 'serve', '--listen', REGISTRY, '--db', join(root, 'registry.db'), '--json']);
  let stderr = '';
  registry.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<{ listen: string; beacon: string }>((resolve, reject) => {
    createInterface({ input: registry.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    registry.once('exit', (code) => reject(new Error(`registry exited ${code}: ${stderr}`)));
  });
  assert.deepEqual(ready.beacon, `${INTERNET_IP}:9001`, 'the beacon defaults to the registry port + 1');
  const lanOf = (kind: string) => lab!.lans.find((l) => l.kind === kind)!.ns;
  [nodes.public, nodes.cone, nodes.symmetric] = await Promise.all([
    startDaemon(lab.internetNs, 'public-node'),
    startDaemon(lanOf('cone'), 'cone-node'),
    startDaemon(lanOf('symmetric'), 'symmetric-node'),
  ]);
});

after(async () => {
  if (skip) return;
  // destroy() kills the daemons and the registry with everything else inside the namespaces.
  await lab?.destroy();
  if (root) rmSync(root, { recursive: true, force: true });
});

test('a node on the internet segment itself reports no NAT', { skip: skip ?? false }, async () => {
  const { info, dir } = nodes.public;
  const port = info.listen.split(':').pop();
  assert.equal(info.nat.type, 'none');
  assert.equal(info.nat.observed, `${INTERNET_IP}:${port}`);
  assert.equal(info.nat.beacon, `${INTERNET_IP}:9001`);
  const text = await swarmctl(['--state-dir', dir, 'info']);
  assert.match(text.stdout, /^nat\s+none \(public address\), seen as 203\.0\.113\.1:\d+ \(checked /m);
});

test('a node behind a cone NAT (MASQUERADE) reports an endpoint-independent mapping at the router public address', { skip: skip ?? false }, async () => {
  const lan = lab!.lans.find((l) => l.kind === 'cone')!;
  const { info } = nodes.cone;
  assert.equal(info.nat.type, 'endpoint-independent');
  assert.match(info.nat.observed ?? '', new RegExp(`^${lan.publicIp.replaceAll('.', '\\.')}:\\d+$`));
  assert.equal(info.registry.observed, info.nat.observed, 'the registry saw the same mapping');
});

test('a node behind a symmetric NAT (MASQUERADE --random-fully) reports symmetric', { skip: skip ?? false }, async () => {
  const lan = lab!.lans.find((l) => l.kind === 'symmetric')!;
  const { info, dir } = nodes.symmetric;
  assert.equal(info.nat.type, 'symmetric');
  assert.match(info.nat.observed ?? '', new RegExp(`^${lan.publicIp.replaceAll('.', '\\.')}:\\d+$`));
  const text = await swarmctl(['--state-dir', dir, 'info']);
  assert.match(text.stdout, /^nat\s+symmetric \(address\/port-dependent mapping/m);
});
