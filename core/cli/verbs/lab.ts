/** `swarmctl lab`: a registry and three nodes on loopback, until Ctrl-C. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LAB_CONSOLE, startLab } from '../../agents/lab.ts';
import { formatAddress } from '../../overlay/address.ts';
import { formatEndpoint } from '../../overlay/transport.ts';
import { untilStopSignal, type Verb } from '../context.ts';

export const lab: Verb = {
  summary: 'run a local lab swarm on loopback: a registry, the console node and two agents',
  spec: {
    options: { dir: { type: 'string' }, fresh: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } },
    positionals: [],
    required: 0,
    usage: 'swarmctl lab [--dir DIR] [--fresh] [--verbose]',
  },
  async run(ctx) {
    const dir = typeof ctx.args.values.dir === 'string' ? resolve(ctx.args.values.dir) : join(process.env.SWARM_STATE_DIR ? resolve(process.env.SWARM_STATE_DIR) : join(homedir(), '.swarm'), 'lab');
    const verbose = Boolean(ctx.args.values.verbose);
    const log = (line: string): void => {
      if (verbose) process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    };
    const p = ctx.printer;
    const labSwarm = await startLab({ root: dir, fresh: Boolean(ctx.args.values.fresh), log });
    const consoleDir = join(dir, LAB_CONSOLE);
    const nodes = [labSwarm.console, ...labSwarm.agents].map((d) => ({
      hostname: d.hostname,
      address: formatAddress(d.node.address),
      fingerprint: d.identity.fingerprint,
      listen: formatEndpoint(d.node.conn.local),
      state_dir: d.stateDir,
    }));
    if (p.json) {
      p.out(JSON.stringify({ registry: formatEndpoint(labSwarm.registry.local), root: dir, nodes }));
    } else {
      p.out(`lab swarm running (registry udp ${formatEndpoint(labSwarm.registry.local)}, state in ${dir})`);
      for (const n of nodes) p.out(`  ${n.hostname.padEnd(26)} ${n.address}  ${n.fingerprint}  udp ${n.listen}`);
      p.out('');
      p.out('The agents have asked the console node for trust. In another terminal:');
      p.out(`  export SWARM_STATE_DIR=${consoleDir}`);
      p.out('  npx swarmctl pending                                    # who asks, why, and their fingerprints');
      p.out('  npx swarmctl approve gcp-log-monitor --cap events.publish');
      p.out('  npx swarmctl ping gcp-log-monitor -c 3');
      p.out('  npx swarmctl reject aws-firewall-executor "not today"');
      p.out('Ctrl-C stops the lab (state is kept; --fresh starts over).');
    }
    await untilStopSignal();
    await labSwarm.stop();
    return 0;
  },
};
