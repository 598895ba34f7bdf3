/**
 * The local lab: a registry and three nodes on loopback, so a newcomer sees a working swarm at
 * once: a log monitor replaying a realistic sshd log, and a dry-run firewall executor. The console node (local-threat-orchestrator) receives trust requests from a log monitor
 * and a firewall executor, exactly as it would from real agents on edge servers.
 *
 * State lives under one directory (default ~/.swarm/lab), so trust decisions survive restarts.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from '../overlay/daemon.ts';
import { startRegistry, type RegistryServer } from '../overlay/registry-server.ts';
import { formatEndpoint } from '../overlay/transport.ts';
import { builtInRules } from './monitor/detect/rules.ts';
import { startSshdReplay } from './monitor/lab-replay.ts';
import { MonitorRole } from './monitor/monitor-role.ts';
import { ExecutorRole } from './executor/executor-role.ts';

export const LAB_CONSOLE = 'local-threat-orchestrator';
/** The lab monitor's log, under its state directory; the replay appends to it. */
export const LAB_AUTH_LOG = 'auth.log';

export const LAB_AGENTS = [
  {
    hostname: 'gcp-log-monitor',
    justification: 'log monitor on the GCP edge: streams SSH brute-force and scan anomalies to the SOC console',
    offer: ['events.subscribe'],
    want: ['events.publish'],
  },
  {
    hostname: 'aws-firewall-executor',
    justification: 'firewall executor on the AWS edge: applies analyst-approved block rules and reports results',
    offer: ['mitigation.request', 'events.subscribe'],
    want: ['events.publish'],
  },
] as const;

export interface Lab {
  root: string;
  registry: RegistryServer;
  console: Daemon;
  agents: Daemon[];
  stop(): Promise<void>;
}

export interface LabOptions {
  root: string;
  fresh?: boolean;
  log?: (line: string) => void;
}

/** The lab's registry: loopback only, state kept under `root/registry`. */
export async function startLabRegistry(root: string, log: (line: string) => void = () => {}): Promise<RegistryServer> {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  return startRegistry({ listen: '127.0.0.1:0', dbPath: join(root, 'registry', 'registry.db'), network: 1, log });
}

/**
 * Starts the lab agents under `root` and has each ask `consoleHostname` for trust, once: an
 * agent that already asked (or is trusted) does not ask again after a restart.
 */
export async function startLabAgents(options: { root: string; registry: string; consoleHostname: string; consoleKey: string; log?: (line: string) => void }): Promise<Daemon[]> {
  const log = options.log ?? (() => {});
  const agents: Daemon[] = [];
  try {
    for (const agent of LAB_AGENTS) {
      const daemon = await Daemon.start({
        stateDir: join(options.root, agent.hostname),
        hostname: agent.hostname,
        registry: options.registry,
        listen: '127.0.0.1:0',
        log: (l) => log(`${agent.hostname}: ${l}`),
      });
      agents.push(daemon);
      if (agent.hostname === 'gcp-log-monitor') attachLabMonitor(daemon, join(options.root, agent.hostname, LAB_AUTH_LOG), log);
      // The lab's executor records decisions without touching any firewall (dry-run).
      if (agent.hostname === 'aws-firewall-executor') await ExecutorRole.start({ daemon, backend: 'dry-run', policy: {}, log: (l) => log(`aws-firewall-executor: ${l}`) });
      const alreadyAsked =
        daemon.trust.isTrusted(options.consoleKey) || daemon.trust.pending().outgoing.some((r) => r.peerKey === options.consoleKey && r.status !== 'approved');
      if (!alreadyAsked) {
        await daemon.trust.requestTrust(options.consoleHostname, agent.justification, { want: [...agent.want], offer: [...agent.offer] });
      }
    }
    return agents;
  } catch (err) {
    for (const d of agents.reverse()) await d.stop();
    throw err;
  }
}

/**
 * The lab monitor role: follows its auth.log (from the start, resuming at its saved offset after
 * a restart) with the built-in rules, while the replay appends a realistic sshd log to it.
 */
function attachLabMonitor(daemon: Daemon, authLog: string, log: (line: string) => void): void {
  const replay = startSshdReplay({ path: authLog });
  const role = new MonitorRole({ daemon, specs: [authLog], rules: builtInRules(), from: 'start', log: (l) => log(`gcp-log-monitor: ${l}`) });
  daemon.onStop(async () => {
    replay.stop();
    await role.close();
  });
  daemon.addInfo('monitor', () => role.stats());
}

export async function startLab(options: LabOptions): Promise<Lab> {
  const log = options.log ?? (() => {});
  if (options.fresh) rmSync(options.root, { recursive: true, force: true });
  const registry = await startLabRegistry(options.root, log);
  const registryText = formatEndpoint(registry.local);
  let consoleNode: Daemon | null = null;
  try {
    consoleNode = await Daemon.start({
      stateDir: join(options.root, LAB_CONSOLE),
      hostname: LAB_CONSOLE,
      registry: registryText,
      listen: '127.0.0.1:0',
      log: (l) => log(`${LAB_CONSOLE}: ${l}`),
    });
    const agents = await startLabAgents({ root: options.root, registry: registryText, consoleHostname: LAB_CONSOLE, consoleKey: consoleNode.identity.publicKey.toString('base64url'), log });
    const node = consoleNode;
    const stop = async () => {
      for (const d of [...agents].reverse()) await d.stop();
      await node.stop();
      await registry.close();
    };
    return { root: options.root, registry, console: consoleNode, agents, stop };
  } catch (err) {
    await consoleNode?.stop();
    await registry.close();
    throw err;
  }
}
