/**
 * swarmctl: drive a Swarm SOC node from the command line. Verbs mirror pilotctl.
 * Argument parsing and printing only; the work happens in core/overlay (and above).
 */
import { parseVerbArgs, splitVerb, stateDirFrom, UsageError, valueOptionsOf } from './args.ts';
import type { Verb } from './context.ts';
import { printError, stdPrinter } from './output.ts';
import { audit } from './verbs/audit.ts';
import { consoleVerb } from './verbs/console.ts';
import { daemonStart, daemonStatus, daemonStop, info } from './verbs/daemon.ts';
import { lab } from './verbs/lab.ts';
import { monitorRules, monitorScan } from './verbs/monitor.ts';
import { lookup, peers, ping } from './verbs/network.ts';
import { registryServe } from './verbs/registry.ts';
import { approve, handshake, pending, reject, trust, untrust } from './verbs/trust.ts';

export const VERBS: Record<string, Verb> = {
  'registry serve': registryServe,
  'daemon start': daemonStart,
  'daemon stop': daemonStop,
  'daemon status': daemonStatus,
  info,
  handshake,
  pending,
  approve,
  reject,
  untrust,
  trust,
  peers,
  lookup,
  ping,
  audit,
  lab,
  console: consoleVerb,
  'monitor scan': monitorScan,
  'monitor rules': monitorRules,
};

function overview(): string {
  const lines = [
    'swarmctl — drive a Swarm SOC overlay node',
    '',
    'usage: swarmctl [--state-dir DIR] [--json] VERB [ARGS]',
    '',
    'verbs:',
    ...Object.entries(VERBS).map(([name, verb]) => `  ${name.padEnd(16)} ${verb.summary}`),
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
    const { verb, rest } = splitVerb(argv, valueOptionsOf(Object.values(VERBS).map((v) => v.spec)));
    if (verb === '' || verb === 'help') {
      printer.out(overview());
      return verb === '' && !argv.includes('--help') && !argv.includes('-h') ? 2 : 0;
    }
    const command = VERBS[verb];
    if (!command) {
      const group = Object.keys(VERBS).filter((v) => v.startsWith(`${verb} `));
      throw new UsageError(
        group.length ? `"${verb}" needs one of: ${group.map((g) => g.split(' ')[1]).join(', ')}` : `unknown verb "${verb}"`,
        group.length ? `for example: swarmctl ${group[0]}` : 'see: swarmctl help',
      );
    }
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
