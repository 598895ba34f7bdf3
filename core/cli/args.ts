/**
 * Argument parsing for swarmctl: `swarmctl [global options] VERB [SUBVERB] [args] [options]`.
 * Global options may appear anywhere. Every mistake becomes a UsageError with a hint.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

export class UsageError extends Error {
  readonly code = 'usage';
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

export const GLOBAL_OPTIONS: ParseArgsOptionsConfig = {
  'state-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Verbs that take a subverb. */
const GROUPS = new Set(['daemon', 'registry', 'beacon', 'monitor', 'executor']);

export interface SplitArgs {
  verb: string; // e.g. "ping" or "daemon start"
  rest: string[];
}

/**
 * Finds the verb (and subverb) among the arguments, skipping options and the values of options
 * that take one (`valueOptions`: e.g. "--hostname", "-c"), so `daemon --hostname x start` works.
 */
export function splitVerb(argv: string[], valueOptions: ReadonlySet<string> = new Set(['--state-dir'])): SplitArgs {
  const rest: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--state-dir' || valueOptions.has(a)) {
      rest.push(a);
      if (i + 1 < argv.length) rest.push(argv[++i] as string);
      continue;
    }
    const wantWord = words.length === 0 || (words.length === 1 && GROUPS.has(words[0] as string));
    if (wantWord && !a.startsWith('-')) words.push(a);
    else rest.push(a);
  }
  return { verb: words.join(' '), rest };
}

/** The option spellings that take a value, across the given verbs and the global options. */
export function valueOptionsOf(specs: Iterable<VerbSpec>): Set<string> {
  const out = new Set<string>();
  for (const options of [GLOBAL_OPTIONS, ...[...specs].map((s) => s.options)]) {
    for (const [name, def] of Object.entries(options)) {
      if (def.type !== 'string') continue;
      out.add(`--${name}`);
      if (def.short) out.add(`-${def.short}`);
    }
  }
  return out;
}

export interface VerbSpec {
  options: ParseArgsOptionsConfig;
  /** Names of positional arguments; a trailing "..." takes the rest joined by spaces. */
  positionals: string[];
  required: number;
  usage: string;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseVerbArgs(verb: string, spec: VerbSpec, rest: string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...spec.options }, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/^Unknown option/, 'unknown option').replace(/\s*\n\s*/g, ' ');
    throw new UsageError(`${message} for "swarmctl ${verb}"`, `usage: ${spec.usage}`);
  }
  const positionals = parsed.positionals;
  // `swarmctl VERB --help` prints the usage: it must not first fail for missing arguments.
  if (parsed.values.help) return { values: parsed.values as ParsedArgs['values'], positionals };
  const last = spec.positionals[spec.positionals.length - 1];
  const variadic = last?.endsWith('...') ?? false;
  if (positionals.length < spec.required) {
    const missing = spec.positionals[positionals.length] ?? 'argument';
    throw new UsageError(`missing ${missing.replace('...', '')} for "swarmctl ${verb}"`, `usage: ${spec.usage}`);
  }
  if (!variadic && positionals.length > spec.positionals.length) {
    throw new UsageError(`unexpected argument "${positionals[spec.positionals.length]}" for "swarmctl ${verb}"`, `usage: ${spec.usage}`);
  }
  if (variadic && positionals.length > spec.positionals.length) {
    const head = positionals.slice(0, spec.positionals.length - 1);
    positionals.splice(0, positionals.length, ...head, positionals.slice(spec.positionals.length - 1).join(' '));
  }
  return { values: parsed.values as ParsedArgs['values'], positionals };
}

export function stateDirFrom(values: ParsedArgs['values']): string {
  const fromFlag = values['state-dir'];
  if (typeof fromFlag === 'string' && fromFlag.length > 0) return resolve(fromFlag);
  if (process.env.SWARM_STATE_DIR) return resolve(process.env.SWARM_STATE_DIR);
  return join(homedir(), '.swarm');
}

export function intOption(values: ParsedArgs['values'], name: string, min: number, max: number, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  // Decimal digits only: Number() would also take "", " 5 " and "0x10".
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw) || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`, `got "${String(raw)}"`);
  }
  return n;
}

export function numberOption(values: ParsedArgs['values'], name: string, min: number, max: number, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}`, `got "${String(raw)}"`);
  }
  return n;
}

export function listOption(values: ParsedArgs['values'], name: string): string[] {
  const raw = values[name];
  if (raw === undefined) return [];
  const items = Array.isArray(raw) ? raw : [String(raw)];
  return items.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}
