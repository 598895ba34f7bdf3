/**
 * swarmctl: drive a Swarm SOC node from the command line. Verbs mirror pilotctl.
 * Argument parsing and printing only; the work happens in core/overlay (and above).
 */
import { parseVerbArgs, splitVerb, stateDirFrom, UsageError } from './args.ts';
import type { Verb } from './context.ts';
import { printError, stdPrinter } from './output.ts';
/**
 * Each verb's module is loaded only when that verb runs: `swarmctl monitor scan` need not load the
 * console, the registry server or the WebSocket stack, and start-up time is most of a short
 * command's run time. `swarmctl help` loads them all for their summaries.
 */
export const VERB_LOADERS: Record<string, () => Promise<Verb>> = {
  'registry serve': async () => (await import('./verbs/registry.ts')).registryServe,
  'beacon serve': async () => (await import('./verbs/registry.ts')).beaconServe,
  'daemon start': async () => (await import('./verbs/daemon.ts')).daemonStart,
  'daemon stop': async () => (await import('./verbs/daemon.ts')).daemonStop,
  'daemon status': async () => (await import('./verbs/daemon.ts')).daemonStatus,
  info: async () => (await import('./verbs/daemon.ts')).info,
  handshake: async () => (await import('./verbs/trust.ts')).handshake,
  pending: async () => (await import('./verbs/trust.ts')).pending,
  approve: async () => (await import('./verbs/trust.ts')).approve,
  reject: async () => (await import('./verbs/trust.ts')).reject,
  untrust: async () => (await import('./verbs/trust.ts')).untrust,
  trust: async () => (await import('./verbs/trust.ts')).trust,
  peers: async () => (await import('./verbs/network.ts')).peers,
  lookup: async () => (await import('./verbs/network.ts')).lookup,
  ping: async () => (await import('./verbs/network.ts')).ping,
  audit: async () => (await import('./verbs/audit.ts')).audit,
  lab: async () => (await import('./verbs/lab.ts')).lab,
  console: async () => (await import('./verbs/console.ts')).consoleVerb,
  'monitor scan': async () => (await import('./verbs/monitor.ts')).monitorScan,
  'monitor rules': async () => (await import('./verbs/monitor.ts')).monitorRules,
  mitigate: async () => (await import('./verbs/executor.ts')).mitigate,
  decisions: async () => (await import('./verbs/executor.ts')).decisions,
  'executor flush': async () => (await import('./verbs/executor.ts')).executorFlush,
  'executor revoke': async () => (await import('./verbs/executor.ts')).executorRevoke,
};

/**
 * Every option, of any verb, that takes a value: finding the verb must skip option values
 * (`daemon --hostname x start`) before any verb module is loaded. cli.test.ts checks that this
 * list equals what the verbs' specs declare, so it cannot drift.
 */
export const VALUE_OPTIONS: ReadonlySet<string> = new Set([
  '--allow', '--beacon', '--beacon-port', '--block', '--cap', '--count', '--db', '--dir', '--executor', '--filter', '--hostname', '--incident', '--interval', '--keepalive',
  '--limit', '--listen', '--max-entries', '--max-ttl', '--mode', '--monitor', '--monitor-from', '--netns', '--network', '--offer', '--port',
  '--permit', '--reason', '--registry', '--registry-key', '--rules', '--state-dir', '--timeout', '--ttl', '--unblock', '--wait', '--want',
  '--widest-v4', '--widest-v6',
  '-W', '-c', '-i',
]);

/** All verbs, loaded (for help, and for the test that checks VALUE_OPTIONS). */
export async function loadAllVerbs(): Promise<Record<string, Verb>> {
  const entries = await Promise.all(Object.entries(VERB_LOADERS).map(async ([name, load]) => [name, await load()] as const));
  return Object.fromEntries(entries);
}

async function overview(): Promise<string> {
  const verbs = await loadAllVerbs();
  const lines = [
    'swarmctl — drive a Swarm SOC overlay node',
    '',
    'usage: swarmctl [--state-dir DIR] [--json] VERB [ARGS]',
    '',
    'verbs:',
    ...Object.entries(verbs).map(([name, verb]) => `  ${name.padEnd(16)} ${verb.summary}`),
    '',
    'global options:',
    '  --state-dir DIR  node state (identity, database, control socket); default $SWARM_STATE_DIR or ~/.swarm',
    '  --json           machine-readable output (every verb)',
    '  -h, --help       help for a verb: swarmctl VERB --help',
  ];
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  const printer = stdPrinter(wantsJson);
  try {
    const { verb, rest } = splitVerb(argv, VALUE_OPTIONS);
    if (verb === '' || verb === 'help') {
      printer.out(await overview());
      return verb === '' && !argv.includes('--help') && !argv.includes('-h') ? 2 : 0;
    }
    const load = VERB_LOADERS[verb];
    if (!load) {
      const group = Object.keys(VERB_LOADERS).filter((v) => v.startsWith(`${verb} `));
      throw new UsageError(
        group.length ? `"${verb}" needs one of: ${group.map((g) => g.split(' ')[1]).join(', ')}` : `unknown verb "${verb}"`,
        group.length ? `for example: swarmctl ${group[0]}` : 'see: swarmctl help',
      );
    }
    const command = await load();
    const args = parseVerbArgs(verb, command.spec, rest);
    if (args.values.help) {
      printer.out(`${command.summary}\n\nusage: ${command.spec.usage}`);
      return 0;
    }
    return await command.run({ verb, stateDir: stateDirFrom(args.values), printer, args });
  } catch (err) {
    printError(printer, err);
    return err instanceof UsageError ? 2 : 1;
  }
}
