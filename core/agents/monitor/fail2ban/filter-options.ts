/**
 * Reads a fail2ban filter file with everything it pulls in, and answers "what is the value of option
 * X" the way fail2ban would:
 *
 * - files: `[INCLUDES] before = ...` is read before the including file and `after = ...` after it,
 *   both relative to the including file's directory; the filter's own `.local` sibling is read last,
 *   so local overrides win. A missing `*.local` include is normal (they are optional by design); any
 *   other missing include is an error.
 * - layers, strongest first: options the caller passes (a jail's `filter = sshd[mode=aggressive]`),
 *   `[Init]`, `[Definition]`, `[DEFAULT]`; within a layer the file read last wins.
 * - `%(name)s` interpolation (also `%(section/name)s`, `%(default/name)s`, and `%(known/name)s`, the
 *   value the option had before the file that redefines it was read), `%%` for a literal percent.
 * - `<name>` tag substitution in filter values, innermost first so that `<mdre-<mode>>` works, with
 *   `<section/name>` and `<known/name>` forms. Tags that name no option (`<HOST>`, `<F-USER>`, ...)
 *   are left for the regex stage.
 *
 * Every recursion is guarded (include cycles, interpolation and tag loops, runaway growth) and every
 * failure is a typed error naming the file and line.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseIni } from './ini-file.ts';

export type FilterConfigErrorCode =
  | 'file_unreadable'
  | 'ini_syntax'
  | 'include_loop'
  | 'include_missing'
  | 'too_many_files'
  | 'interpolation'
  | 'tag_substitution';

export interface FilterConfigError {
  readonly code: FilterConfigErrorCode;
  readonly message: string;
  readonly file: string;
  readonly line: number | null;
}

export interface ConfigDefinition {
  readonly key: string;
  readonly section: string;
  readonly value: string;
  readonly file: string;
  readonly line: number;
  /** Line of each line of the raw value. */
  readonly valueLines: readonly number[];
  /** Position in read order (later definitions override earlier ones in the same layer). */
  readonly order: number;
}

export type Expansion =
  | { readonly ok: true; readonly value: string; readonly definition: ConfigDefinition }
  | { readonly ok: false; readonly error: FilterConfigError };

export interface FilterOptions {
  /** Every file that was read, in read order. */
  readonly files: readonly string[];
  hasSection(name: string): boolean;
  /** The definition that wins for a filter option ([Definition] view), or null when none. */
  definitionOf(key: string): ConfigDefinition | null;
  /** The option's value after `%(...)s` interpolation and `<tag>` substitution; null when the option is not defined. */
  expand(key: string): Expansion | null;
}

// A filter realistically pulls in a handful of files; the bound stops include graphs that fan out.
const MAX_FILES_READ = 64;
// Nested %(...)s references in the shipped filters go about five deep; anything near this bound is a loop.
const MAX_INTERPOLATION_DEPTH = 40;
// Each pass resolves one level of nesting such as <mdre-<mode>>; real filters need three or four.
const MAX_TAG_PASSES = 32;
// Guards against definitions that double in size at each level (a = <b><b>, b = <c><c>, ...).
const MAX_EXPANDED_LENGTH = 1_000_000;

/** Tags the regex stage gives meaning to; an option of the same name must not shadow them. */
const REGEX_TAGS = new Set(['HOST', 'ADDR', 'IP4', 'IP6', 'DNS', 'CIDR', 'SUBNET', 'SKIPLINES']);

const INCLUDES_SECTION = 'INCLUDES';
const DEFAULT_SECTION = 'DEFAULT';
const DEFINITION_SECTION = 'Definition';
const INIT_SECTION = 'Init';
const CALLER_SECTION = '(caller options)';

class ConfigFailure extends Error {
  readonly detail: FilterConfigError;
  constructor(detail: FilterConfigError) {
    super(detail.message);
    this.detail = detail;
  }
}

type SectionStore = Map<string, Map<string, ConfigDefinition[]>>;

interface ReadState {
  readonly sections: SectionStore;
  readonly files: string[];
  order: number;
}

function readText(path: string): { ok: true; text: string } | { ok: false; missing: boolean; reason: string } {
  try {
    return { ok: true, text: readFileSync(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, missing: code === 'ENOENT', reason: code ?? (err instanceof Error ? err.message : String(err)) };
  }
}

function splitFileList(value: string): string[] {
  return value.split(/\s+/).filter((name) => name !== '');
}

function readConfigFile(path: string, state: ReadState, chain: readonly string[], includedFrom: { file: string; line: number } | null): void {
  if (chain.includes(path)) {
    throw new ConfigFailure({
      code: 'include_loop',
      message: `include loop: ${[...chain, path].join(' -> ')}`,
      file: includedFrom?.file ?? path,
      line: includedFrom?.line ?? null,
    });
  }
  if (state.files.length >= MAX_FILES_READ) {
    throw new ConfigFailure({
      code: 'too_many_files',
      message: `more than ${MAX_FILES_READ} files included (is an include graph fanning out?)`,
      file: includedFrom?.file ?? path,
      line: includedFrom?.line ?? null,
    });
  }
  const read = readText(path);
  if (!read.ok) {
    if (includedFrom === null) {
      throw new ConfigFailure({ code: 'file_unreadable', message: `cannot read the filter file (${read.reason})`, file: path, line: null });
    }
    if (read.missing && path.endsWith('.local')) return;
    throw new ConfigFailure({
      code: 'include_missing',
      message: `included file ${path} cannot be read (${read.reason})`,
      file: includedFrom.file,
      line: includedFrom.line,
    });
  }
  const parsed = parseIni(read.text);
  if (!parsed.ok) {
    throw new ConfigFailure({ code: 'ini_syntax', message: parsed.error.message, file: path, line: parsed.error.line });
  }
  const nextChain = [...chain, path];
  const before: Array<{ name: string; line: number }> = [];
  const after: Array<{ name: string; line: number }> = [];
  for (const section of parsed.document.sections) {
    if (section.name !== INCLUDES_SECTION) continue;
    for (const entry of section.entries) {
      const list = entry.key === 'before' ? before : entry.key === 'after' ? after : null;
      if (list === null) continue;
      for (const name of splitFileList(entry.value)) list.push({ name, line: entry.line });
    }
  }
  const directory = dirname(path);
  for (const include of before) {
    readConfigFile(resolve(directory, include.name), state, nextChain, { file: path, line: include.line });
  }
  state.files.push(path);
  for (const section of parsed.document.sections) {
    if (section.name === INCLUDES_SECTION) continue;
    let store = state.sections.get(section.name);
    if (store === undefined) {
      store = new Map();
      state.sections.set(section.name, store);
    }
    for (const entry of section.entries) {
      let list = store.get(entry.key);
      if (list === undefined) {
        list = [];
        store.set(entry.key, list);
      }
      list.push({
        key: entry.key,
        section: section.name,
        value: entry.value,
        file: path,
        line: entry.line,
        valueLines: entry.valueLines,
        order: state.order++,
      });
    }
  }
  for (const include of after) {
    readConfigFile(resolve(directory, include.name), state, nextChain, { file: path, line: include.line });
  }
}

/** Layer rank of a section in the [Definition] view: caller options beat [Init] beat [Definition] beat [DEFAULT]. */
function layerRank(section: string): number {
  switch (section) {
    case CALLER_SECTION:
      return 3;
    case INIT_SECTION:
      return 2;
    case DEFAULT_SECTION:
      return 0;
    default:
      return 1;
  }
}

function isFilterScope(section: string): boolean {
  return section === DEFINITION_SECTION || section === INIT_SECTION || section === CALLER_SECTION;
}

interface Resolver {
  readonly sections: SectionStore;
  readonly callerDefinitions: ReadonlyMap<string, ConfigDefinition>;
}

/** Definitions of `key` visible from `scope`, strongest first. */
function candidates(r: Resolver, scope: string, key: string): ConfigDefinition[] {
  const found: ConfigDefinition[] = [];
  const add = (section: string): void => {
    const list = r.sections.get(section)?.get(key);
    if (list !== undefined) found.push(...list);
  };
  if (isFilterScope(scope)) {
    const caller = r.callerDefinitions.get(key);
    if (caller !== undefined) found.push(caller);
    add(INIT_SECTION);
    add(DEFINITION_SECTION);
  } else if (scope !== DEFAULT_SECTION) {
    add(scope);
  }
  add(DEFAULT_SECTION);
  return found.sort((a, b) => layerRank(b.section) - layerRank(a.section) || b.order - a.order);
}

/** The definition of `key` that was current before `relativeTo` overrode things: `known/key`. */
function knownBefore(r: Resolver, scope: string, key: string, relativeTo: ConfigDefinition): ConfigDefinition | null {
  const rank = layerRank(relativeTo.section);
  for (const candidate of candidates(r, scope, key)) {
    if (candidate === relativeTo) continue;
    const candidateRank = layerRank(candidate.section);
    if (candidateRank < rank || (candidateRank === rank && candidate.order < relativeTo.order)) return candidate;
  }
  return null;
}

function referenceScope(scope: string): string {
  // Values found through the [Definition] view interpolate in that view (configparser interpolates
  // in the section that was asked, also for values inherited from [DEFAULT]).
  return isFilterScope(scope) ? DEFINITION_SECTION : scope;
}

interface Reference {
  readonly definition: ConfigDefinition;
  readonly scope: string;
}

function resolveReference(r: Resolver, name: string, scope: string, current: ConfigDefinition): Reference | null {
  const slash = name.indexOf('/');
  if (slash < 0) {
    const found = candidates(r, scope, name)[0];
    return found === undefined ? null : { definition: found, scope };
  }
  const prefix = name.slice(0, slash);
  const key = name.slice(slash + 1);
  if (prefix === 'known') {
    const found = knownBefore(r, scope, key, current);
    return found === null ? null : { definition: found, scope };
  }
  const section = prefix === 'default' ? DEFAULT_SECTION : prefix;
  const found = candidates(r, section, key)[0];
  return found === undefined ? null : { definition: found, scope: referenceScope(section) };
}

/** Identifies one definition on the interpolation stack (the same key may be defined in several layers). */
function loopKeyOf(definition: ConfigDefinition): string {
  return `[${definition.section}] ${definition.key}@${definition.order}`;
}

function interpolate(r: Resolver, definition: ConfigDefinition, scope: string, stack: readonly string[]): string {
  const value = definition.value;
  if (!value.includes('%')) return value;
  if (stack.length > MAX_INTERPOLATION_DEPTH) {
    throw new ConfigFailure({
      code: 'interpolation',
      message: `interpolation nested more than ${MAX_INTERPOLATION_DEPTH} levels deep: ${stack.join(' -> ')}`,
      file: definition.file,
      line: definition.line,
    });
  }
  let out = '';
  let index = 0;
  while (index < value.length) {
    const percent = value.indexOf('%', index);
    if (percent < 0) {
      out += value.slice(index);
      break;
    }
    out += value.slice(index, percent);
    const next = value[percent + 1];
    if (next === '%') {
      out += '%';
      index = percent + 2;
      continue;
    }
    const close = next === '(' ? value.indexOf(')', percent) : -1;
    if (close < 0 || value[close + 1] !== 's') {
      throw new ConfigFailure({
        code: 'interpolation',
        message: `option '${definition.key}': '%' must be followed by '%' or '(name)s' (near '${value.slice(percent, percent + 12)}'; write %% for a literal percent)`,
        file: definition.file,
        line: definition.line,
      });
    }
    const name = value.slice(percent + 2, close);
    const reference = resolveReference(r, name, scope, definition);
    if (reference === null) {
      if (name.startsWith('known/')) {
        // Extending an option nobody defined before is extending nothing.
        index = close + 2;
        continue;
      }
      throw new ConfigFailure({
        code: 'interpolation',
        message: `option '${definition.key}' refers to %(${name})s, which is not defined in [${scope === CALLER_SECTION ? DEFINITION_SECTION : scope}] or [DEFAULT]`,
        file: definition.file,
        line: definition.line,
      });
    }
    const loopKey = loopKeyOf(reference.definition);
    if (stack.includes(loopKey)) {
      throw new ConfigFailure({
        code: 'interpolation',
        message: `interpolation loop: ${[...stack, loopKey].map((key) => key.slice(0, key.lastIndexOf('@'))).join(' -> ')}`,
        file: definition.file,
        line: definition.line,
      });
    }
    out += interpolate(r, reference.definition, reference.scope, [...stack, loopKey]);
    if (out.length > MAX_EXPANDED_LENGTH) {
      throw new ConfigFailure({ code: 'interpolation', message: `option '${definition.key}' expands beyond ${MAX_EXPANDED_LENGTH} characters`, file: definition.file, line: definition.line });
    }
    index = close + 2;
  }
  return out;
}

function isRegexTag(name: string): boolean {
  return REGEX_TAGS.has(name) || name.startsWith('F-') || name.startsWith('/F-');
}

const TAG = /<([^<>\s]+)>/g;

function substituteTags(r: Resolver, text: string, current: ConfigDefinition, stack: readonly string[]): string {
  let result = text;
  for (let pass = 0; ; pass++) {
    if (pass >= MAX_TAG_PASSES) {
      throw new ConfigFailure({
        code: 'tag_substitution',
        message: `option '${current.key}': <tag> substitution did not settle after ${MAX_TAG_PASSES} passes`,
        file: current.file,
        line: current.line,
      });
    }
    let changed = false;
    result = result.replace(TAG, (whole: string, name: string, offset: number, all: string) => {
      // `(?P<name>...)` is Python regex syntax, not a tag.
      if (isRegexTag(name) || all.slice(Math.max(0, offset - 2), offset) === '?P') return whole;
      const reference = resolveReference(r, name, DEFINITION_SECTION, current);
      // Extending a value nobody defined before extends nothing; any other unknown tag stays as written.
      if (reference === null) {
        if (!name.startsWith('known/')) return whole;
        changed = true;
        return '';
      }
      if (stack.includes(name)) {
        throw new ConfigFailure({
          code: 'tag_substitution',
          message: `tag loop: <${[...stack, name].join('> -> <')}>`,
          file: current.file,
          line: current.line,
        });
      }
      changed = true;
      const interpolated = interpolate(r, reference.definition, reference.scope, [loopKeyOf(reference.definition)]);
      return substituteTags(r, interpolated, reference.definition, [...stack, name]);
    });
    if (result.length > MAX_EXPANDED_LENGTH) {
      throw new ConfigFailure({ code: 'tag_substitution', message: `option '${current.key}' expands beyond ${MAX_EXPANDED_LENGTH} characters`, file: current.file, line: current.line });
    }
    if (!changed) return result;
  }
}

export type ReadFilterOptionsResult = { readonly ok: true; readonly options: FilterOptions } | { readonly ok: false; readonly error: FilterConfigError };

/**
 * Reads the filter at `path` (plus its includes and its `.local` sibling). `callerOptions` play the
 * role of a jail's `filter = name[key=value, ...]` and beat everything the files say. Never throws.
 */
export function readFilterOptions(path: string, callerOptions: Readonly<Record<string, string>> = {}): ReadFilterOptionsResult {
  const state: ReadState = { sections: new Map(), files: [], order: 0 };
  try {
    readConfigFile(path, state, [], null);
    if (path.endsWith('.conf')) {
      const local = `${path.slice(0, -'.conf'.length)}.local`;
      readConfigFile(local, state, [], { file: path, line: 0 });
    }
  } catch (err) {
    if (err instanceof ConfigFailure) return { ok: false, error: err.detail };
    return { ok: false, error: { code: 'file_unreadable', message: err instanceof Error ? err.message : String(err), file: path, line: null } };
  }
  const callerDefinitions = new Map<string, ConfigDefinition>();
  for (const [key, value] of Object.entries(callerOptions)) {
    callerDefinitions.set(key, {
      key,
      section: CALLER_SECTION,
      value: value.replaceAll('%', '%%'),
      file: path,
      line: 0,
      valueLines: [],
      order: Number.MAX_SAFE_INTEGER,
    });
  }
  const resolver: Resolver = { sections: state.sections, callerDefinitions };
  const options: FilterOptions = {
    files: state.files,
    hasSection: (name) => state.sections.has(name),
    definitionOf: (key) => candidates(resolver, DEFINITION_SECTION, key)[0] ?? null,
    expand: (key) => {
      const definition = candidates(resolver, DEFINITION_SECTION, key)[0];
      if (definition === undefined) return null;
      try {
        const interpolated = interpolate(resolver, definition, DEFINITION_SECTION, [loopKeyOf(definition)]);
        return { ok: true, value: substituteTags(resolver, interpolated, definition, [key]), definition };
      } catch (err) {
        if (err instanceof ConfigFailure) return { ok: false, error: err.detail };
        const message = err instanceof RangeError ? 'options nest too deeply' : err instanceof Error ? err.message : String(err);
        return { ok: false, error: { code: 'interpolation', message, file: definition.file, line: definition.line } };
      }
    },
  };
  return { ok: true, options };
}
