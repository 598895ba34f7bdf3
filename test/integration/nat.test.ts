/**
 * NAT classification through real Linux NATs (network namespaces, iptables MASQUERADE): a node on
 * the internet segment, one behind a cone NAT and one behind a symmetric NAT
 * (`--random-fully`) each register with the registry and ask its beacon what they look like.
 * Needs root (CI runs as root); skipped with the reason otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createNatLab, INTERNET_IP, natLabSkipReason, type NatLab } from '../helpers/nat-lab.ts';
import { LAB_REGISTRY as REGISTRY, startLabRegistry } from '../helpers/lab-swarm.ts';
import { BIN, eventually, swarmctl, tempDir } from '../helpers/swarm.ts';
import { callControl, CONTROL_SOCKET } from '../../core/overlay/control.ts';

const run = promisify(execFile);
const skip = natLabSkipReason();

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
async function startDaemon(ns: string, hostname: string, extra: string[] = []): Promise<{ dir: string; info: NatInfo }> {
  const dir = join(root, hostname);
  const child = lab!.spawn(ns, [process.execPath, BIN, '--state-dir', dir, 'daemon', 'start', '--foreground', '--hostname', hostname, '--registry', REGISTRY, '--listen', '0.0.0.0:0', ...extra]);
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
  const ready = await startLabRegistry(lab, root);
  assert.deepEqual(ready.beacon, `${INTERNET_IP}:9001`, 'the beacon defaults to the registry port + 1');
  const lanOf = (kind: string) => lab!.lans.find((l) => l.kind === kind)!.ns;
  [nodes.public, nodes.cone, nodes.symmetric] = await Promise.all([
    startDaemon(lab.internetNs, 'public-node'),
    // A 1 s registry keepalive, to see the re-classification each registration brings.
    startDaemon(lanOf('cone'), 'cone-node', ['--keepalive', '1']),
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
  const first = Date.parse(info.nat.checked_at!);
  const again = await eventually(
    async () => {
      const now = (await callControl(join(nodes.cone.dir, CONTROL_SOCKET), 'info', {})) as NatInfo;
      return Date.parse(now.nat.checked_at ?? '') > first ? now : null;
    },
    5_000,
    're-classification on the next registration',
  );
  assert.equal(again.nat.type, 'endpoint-independent');
  assert.equal(again.nat.observed, info.nat.observed, 'the mapping held');
});

test('the lab removes namespaces a killed run left behind, and only those', { skip: skip ?? false }, async () => {
  // A pid that cannot be alive (above the kernel's pid_max) stands for a run killed mid-test.
  const stale = 'swn-99999999-0-inet';
  const alive = `swn-${process.pid}-77-inet`;
  await run('ip', ['netns', 'add', stale]);
  await run('ip', ['netns', 'add', alive]);
  try {
    const other = await createNatLab([]);
    await other.destroy();
    const { stdout } = await run('ip', ['netns', 'list']);
    assert.doesNotMatch(stdout, new RegExp(`^${stale}\\b`, 'm'));
    assert.match(stdout, new RegExp(`^${alive}\\b`, 'm'), 'a live run keeps its namespaces');
    assert.match(stdout, new RegExp(`^${lab!.internetNs}\\b`, 'm'));
  } finally {
    await run('ip', ['netns', 'del', stale]).catch(() => {});
    await run('ip', ['netns', 'del', alive]).catch(() => {});
  }
});

test('a node behind a symmetric NAT (MASQUERADE --random-fully) reports symmetric', { skip: skip ?? false }, async () => {
  const lan = lab!.lans.find((l) => l.kind === 'symmetric')!;
  const { info, dir } = nodes.symmetric;
  assert.equal(info.nat.type, 'symmetric');
  assert.match(info.nat.observed ?? '', new RegExp(`^${lan.publicIp.replaceAll('.', '\\.')}:\\d+$`));
  const text = await swarmctl(['--state-dir', dir, 'info']);
  assert.match(text.stdout, /^nat\s+symmetric \(address\/port-dependent mapping/m);
});
