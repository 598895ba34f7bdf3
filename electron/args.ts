/**
 * Command line of the Electron shell. Pure, so it is unit-tested without Electron.
 *
 *   swarm-soc [--lab | --no-lab] [--state-dir DIR] [--registry HOST:PORT] [--hostname NAME]
 *
 * Anything else on the line is ignored on purpose: Electron's argv also carries the app path in
 * development (`electron dist/electron/main.cjs`) and Chromium/Node switches that launchers add
 * (Playwright passes `--inspect=0 --remote-debugging-port=0`, desktop files pass `%U`).
 */
import { resolve } from 'node:path';

/** `auto`: the service decides (a lab when no registry is configured yet). */
export type LabMode = 'auto' | 'always' | 'never';

export interface ShellOptions {
  lab: LabMode;
  /** Absolute state directory from --state-dir, or null to use SWARM_STATE_DIR / the default. */
  stateDir: string | null;
  /** Registry and hostname for this start (the service validates and remembers them). */
  registry: string | null;
  hostname: string | null;
  help: boolean;
}

export type ParsedShellArgs = { ok: true; options: ShellOptions } | { ok: false; error: string };

export const SHELL_USAGE = [
  'usage: swarm-soc [--lab | --no-lab] [--state-dir DIR] [--registry HOST:PORT] [--hostname NAME]',
  '  --lab                 always start the local lab (registry + demo agents on loopback)',
  '  --no-lab              never start the lab, even when no registry is configured',
  '  --state-dir DIR       keep identity, trust and events in DIR (default: $SWARM_STATE_DIR or ~/.swarm)',
  '  --registry HOST:PORT  register with this registry',
  '  --hostname NAME       this console\'s hostname on the overlay',
].join('\n');

/** `--name VALUE` or `--name=VALUE`: the value, or an error when it is missing. */
function valueOf(argv: readonly string[], i: number, name: string, example: string): { value: string; next: number } | { error: string } {
  const arg = argv[i] ?? '';
  const inline = arg.startsWith(`${name}=`);
  const value = inline ? arg.slice(name.length + 1) : argv[i + 1];
  if (value === undefined || value === '' || value.startsWith('--')) return { error: `${name} needs a value, e.g. ${name} ${example}` };
  return { value, next: inline ? i : i + 1 };
}

export function parseShellArgs(argv: readonly string[], cwd: string = process.cwd()): ParsedShellArgs {
  let lab: LabMode = 'auto';
  let labFlag: string | null = null;
  let stateDir: string | null = null;
  let registry: string | null = null;
  let hostname: string | null = null;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--lab' || arg === '--no-lab') {
      if (labFlag !== null && labFlag !== arg) return { ok: false, error: `${labFlag} and ${arg} contradict each other: give one of them` };
      labFlag = arg;
      lab = arg === '--lab' ? 'always' : 'never';
    } else if (arg === '--state-dir' || arg.startsWith('--state-dir=')) {
      const found = valueOf(argv, i, '--state-dir', '~/.swarm');
      if ('error' in found) return { ok: false, error: found.error };
      stateDir = resolve(cwd, found.value);
      i = found.next;
    } else if (arg === '--registry' || arg.startsWith('--registry=')) {
      const found = valueOf(argv, i, '--registry', '203.0.113.10:9000');
      if ('error' in found) return { ok: false, error: found.error };
      registry = found.value;
      i = found.next;
    } else if (arg === '--hostname' || arg.startsWith('--hostname=')) {
      const found = valueOf(argv, i, '--hostname', 'soc-console');
      if ('error' in found) return { ok: false, error: found.error };
      hostname = found.value;
      i = found.next;
    } else if (arg === '--help' || arg === '-h') {
      help = true;
    }
  }
  return { ok: true, options: { lab, stateDir, registry, hostname, help } };
}
