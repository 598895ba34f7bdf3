/**
 * The local lab: a registry and three nodes on loopback, so a newcomer sees a working swarm at
 * once. The console node (local-threat-orchestrator) receives trust requests from a log monitor
 * and a firewall executor, exactly as it would from real agents on edge servers.
 *
 * State lives under one directory (default ~/.swarm/lab), so trust decisions survive restarts.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from '../overlay/daemon.ts';
import { startRegistry, type RegistryServer } from '../overlay/registry-server.ts';
import { formatEndpoint } from '../overlay/transport.ts';

export const LAB_CONSOLE = 'local-threat-orchestrator';
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
    offer: ['mitigation.request'],
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

export async function startLab(options: LabOptions): Promise<Lab> {
  const log = options.log ?? (() => {});
  if (options.fresh) rmSync(options.root, { recursive: true, force: true });
  mkdirSync(options.root, { recursive: true, mode: 0o700 });
  const registry = await startRegistry({ listen: '127.0.0.1:0', dbPath: join(options.root, 'registry', 'registry.db'), network: 1, log });
  const registryText = formatEndpoint(registry.local);
  const started: Daemon[] = [];
  const stopAll = async () => {
    for (const d of started.reverse()) await d.stop();
    await registry.close();
  };
  try {
    const start = async (hostname: string) => {
      const daemon = await Daemon.start({ stateDir: join(options.root, hostname), hostname, registry: registryText, listen: '127.0.0.1:0', log: (l) => log(`${hostname}: ${l}`) });
      started.push(daemon);
      return daemon;
    };
    const consoleNode = await start(LAB_CONSOLE);
    const agents: Daemon[] = [];
    for (const agent of LAB_AGENTS) {
      const daemon = await start(agent.hostname);
      agents.push(daemon);
      const consoleKey = consoleNode.identity.publicKey.toString('base64url');
      const alreadyAsked = daemon.trust.isTrusted(consoleKey) || daemon.trust.pending().outgoing.some((r) => r.peerKey === consoleKey && r.status !== 'approved');
      if (!alreadyAsked) {
        await daemon.trust.requestTrust(LAB_CONSOLE, agent.justification, { want: [...agent.want], offer: [...agent.offer] });
      }
    }
    return { root: options.root, registry, console: consoleNode, agents, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
