/** `swarmctl registry serve`: the hostname registry of a swarm, in the foreground. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatEndpoint } from '../../overlay/transport.ts';
import { startRegistry } from '../../overlay/registry-server.ts';
import { intOption, UsageError } from '../args.ts';
import { untilStopSignal, type Verb } from '../context.ts';

/** The registry and the beacon are one server; the beacon is a registry used for NAT traversal only. */
function serveVerb(role: 'registry' | 'beacon'): Verb {
  const isBeacon = role === 'beacon';
  return {
    summary: isBeacon
      ? 'run a beacon alone (NAT type, hole punching, relay) for nodes started with --beacon, until stopped'
      : 'run a registry (hostnames, keys, endpoints) with its beacon (NAT type, hole punching, relay) until stopped',
    spec: {
      options: { listen: { type: 'string' }, db: { type: 'string' }, network: { type: 'string' }, 'beacon-port': { type: 'string' } },
      positionals: [],
      required: 0,
      usage: `swarmctl ${role} serve --listen IP:PORT [--beacon-port N (default PORT+1)] [--db FILE] [--network N]${isBeacon ? '  (the same --network as the registry)' : ''}`,
    },
    async run(ctx) {
      const listen = ctx.args.values.listen;
      if (typeof listen !== 'string') throw new UsageError(`missing --listen for "swarmctl ${role} serve"`, 'for example --listen 127.0.0.1:9000');
      const dbOption = ctx.args.values.db;
      const dbPath =
        typeof dbOption === 'string'
          ? resolve(dbOption)
          : join(typeof ctx.args.values['state-dir'] === 'string' || process.env.SWARM_STATE_DIR ? ctx.stateDir : join(homedir(), '.swarm'), `${role}.db`);
      const network = intOption(ctx.args.values, 'network', 1, 65534, 1);
      const beaconPort = ctx.args.values['beacon-port'] === undefined ? undefined : intOption(ctx.args.values, 'beacon-port', 0, 65535, 0);
      const log = (line: string): void => {
        process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      };
      const server = await startRegistry({ listen, dbPath, network, log, role, ...(beaconPort !== undefined ? { beaconPort } : {}) });
      const beacon = server.beacon ? formatEndpoint(server.beacon) : null;
      const ready = { role, listen: formatEndpoint(server.local), beacon, db: dbPath, network, fingerprint: server.fingerprint, key: server.keyId };
      // A long-running command prints its readiness as one JSON line, so scripts can read it at once.
      if (ctx.printer.json) ctx.printer.out(JSON.stringify(ready));
      else ctx.printer.out(`${role} listening on udp ${ready.listen}, beacon on udp ${beacon} (network ${network}, db ${dbPath}, fingerprint ${server.fingerprint})`);
      await untilStopSignal();
      await server.close();
      return 0;
    },
  };
}

export const registryServe: Verb = serveVerb('registry');
export const beaconServe: Verb = serveVerb('beacon');
