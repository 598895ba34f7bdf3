/**
 * loadFail2banFilter: reads a fail2ban filter (`filter.d/*.conf`, with includes and `.local`
 * overrides), compiles its regexes to JavaScript once, and hands out LineParsers that turn matching
 * log lines into `auth_failure` SecurityEvents. The community's filters run unchanged.
 *
 * Loading never throws: every problem is a typed error whose message names the filter file and,
 * where there is one, the file and line of the offending definition.
 */
import { basename } from 'node:path';
import type { LineParser } from '../event.ts';
import { compileDatePattern } from './date-detector.ts';
import { createFilterLineParser, type CompiledFilter, type CompiledRegex, type FilterParserOptions } from './filter-line-parser.ts';
import { readFilterOptions, type ConfigDefinition, type FilterConfigErrorCode, type FilterOptions } from './filter-options.ts';
import { translatePythonRegex } from './python-regex.ts';
import { expandRegexTags, FIELD_GROUP_PREFIX, fieldOfGroup } from './regex-tags.ts';

export type { FilterParserOptions } from './filter-line-parser.ts';

export interface LoadFilterOptions {
  /** The filter's `mode` (sshd.conf: normal, ddos, extra, aggressive); same as `vars.mode`. */
  readonly mode?: string;
  /** Filter options as a jail would pass them (`filter = sshd[publickey=invalid]`); they beat [Init] and [Definition]. */
  readonly vars?: Readonly<Record<string, string>>;
}

export type Fail2banFilterErrorCode =
  | FilterConfigErrorCode
  | 'no_definition'
  | 'no_failregex'
  | 'regex_untranslatable'
  | 'unsupported'
  | 'bad_datepattern'
  | 'bad_option';

export interface Fail2banFilterError {
  readonly code: Fail2banFilterErrorCode;
  /** Starts with `filter <path>:`; names the defining file and line when known. */
  readonly message: string;
}

export interface Fail2banFilter {
  /** The file name without extension: `sshd`. */
  readonly name: string;
  readonly path: string;
  /** Every file read, in order (includes, the filter, `.local` overrides). */
  readonly files: readonly string[];
  /** The regexes as fail2ban would use them (options substituted, tags such as <HOST> kept). */
  readonly prefregex: string | null;
  readonly failregex: readonly string[];
  readonly ignoreregex: readonly string[];
  readonly datepattern: string | null;
  /** Things the filter asks for that are approximated (for example maxlines > 1). */
  readonly warnings: readonly string[];
  /** A parser for one stream of lines; each call gets independent date and session state. */
  createParser(options?: FilterParserOptions): LineParser;
}

export type LoadFilterResult = { readonly ok: true; readonly filter: Fail2banFilter } | { readonly ok: false; readonly error: Fail2banFilterError };

// Groups named like this in a filter's own regex are fields too (filters written before fail2ban 0.10 used `(?P<host>...)`).
const LEGACY_FIELD_GROUPS = new Set(['host', 'ip4', 'ip6', 'dns', 'fid', 'user']);
const PROGRAM_NAME = /^[A-Za-z][\w./-]*$/;

class LoadFailure extends Error {
  readonly code: Fail2banFilterErrorCode;
  constructor(code: Fail2banFilterErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

function location(file: string, line: number | null): string {
  return line === null || line <= 0 ? file : `${file}:${line}`;
}

function expandOrFail(options: FilterOptions, key: string): { value: string; definition: ConfigDefinition } | null {
  const expansion = options.expand(key);
  if (expansion === null) return null;
  if (!expansion.ok) {
    throw new LoadFailure(expansion.error.code, `${location(expansion.error.file, expansion.error.line)}: ${expansion.error.message}`);
  }
  return expansion;
}

function splitRegexList(value: string): string[] {
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function excerpt(pattern: string, position: number): string {
  const from = Math.max(0, position - 20);
  const to = Math.min(pattern.length, position + 20);
  return `${from > 0 ? '...' : ''}${pattern.slice(from, to)}${to < pattern.length ? '...' : ''}`;
}

/** Where entry `index` of a regex list was written: its own line if the list maps 1:1 onto the file, else the key's line. */
function lineOfEntry(definition: ConfigDefinition, index: number, count: number): number {
  const rawLines = definition.value.split('\n');
  const written = rawLines.map((line, i) => ({ line, at: definition.valueLines[i] })).filter((entry) => entry.line.trim() !== '');
  if (written.length === count) return written[index]?.at ?? definition.line;
  return definition.line;
}

function compileRegex(source: string, what: string, where: string): CompiledRegex {
  const tags = expandRegexTags(source);
  if (!tags.ok) throw new LoadFailure('unsupported', `${where}: ${what} ${tags.message}: ${source}`);
  const translated = translatePythonRegex(tags.pattern, { repeatableNamePrefix: FIELD_GROUP_PREFIX });
  if (!translated.ok) {
    throw new LoadFailure(
      'regex_untranslatable',
      `${where}: ${what} cannot be translated to a JavaScript RegExp: ${translated.error.message} (near "${excerpt(tags.pattern, translated.error.position)}"): ${source}`,
    );
  }
  const fields: Array<readonly [number, string]> = [];
  for (const group of translated.regex.groups) {
    if (group.name === null) continue;
    const field = fieldOfGroup(group.name) ?? (LEGACY_FIELD_GROUPS.has(group.name) ? group.name : null);
    if (field !== null) fields.push([group.jsIndex, field]);
  }
  return { source, regex: new RegExp(translated.regex.source, translated.regex.flags), fields };
}

function compileList(options: FilterOptions, key: string): { sources: string[]; compiled: CompiledRegex[] } {
  const expansion = expandOrFail(options, key);
  if (expansion === null) return { sources: [], compiled: [] };
  const sources = splitRegexList(expansion.value);
  const compiled = sources.map((source, index) =>
    compileRegex(source, `${key} #${index + 1}`, location(expansion.definition.file, lineOfEntry(expansion.definition, index, sources.length))),
  );
  return { sources, compiled };
}

function load(path: string, options: LoadFilterOptions): Fail2banFilter {
  const vars: Record<string, string> = { ...options.vars };
  if (options.mode !== undefined) vars['mode'] = options.mode;
  const read = readFilterOptions(path, vars);
  if (!read.ok) throw new LoadFailure(read.error.code, `${location(read.error.file, read.error.line)}: ${read.error.message}`);
  const config = read.options;
  if (!config.hasSection('Definition')) {
    throw new LoadFailure('no_definition', 'has no [Definition] section (is this a fail2ban filter file?)');
  }
  if (config.definitionOf('failregex') === null) {
    throw new LoadFailure('no_failregex', '[Definition] has no failregex');
  }
  const warnings: string[] = [];
  const fail = compileList(config, 'failregex');
  if (fail.compiled.length === 0) {
    const definition = config.definitionOf('failregex') as ConfigDefinition;
    const modeExpansion = config.expand('mode');
    const mode = vars['mode'] ?? (modeExpansion?.ok === true ? modeExpansion.value : null);
    throw new LoadFailure(
      'no_failregex',
      `${location(definition.file, definition.line)}: failregex is empty after substitution${mode === null ? '' : ` (check the mode option '${mode}')`}`,
    );
  }
  const ignore = compileList(config, 'ignoreregex');
  const pref = expandOrFail(config, 'prefregex');
  let prefregex: CompiledRegex | null = null;
  if (pref !== null && pref.value.trim() !== '') {
    const sources = splitRegexList(pref.value);
    if (sources.length > 1) {
      throw new LoadFailure('unsupported', `${location(pref.definition.file, pref.definition.line)}: prefregex must be a single regex, got ${sources.length} lines`);
    }
    prefregex = compileRegex(sources[0] as string, 'prefregex', location(pref.definition.file, pref.definition.line));
  }

  const maxlines = expandOrFail(config, 'maxlines');
  if (maxlines !== null && maxlines.value.trim() !== '') {
    const count = Number(maxlines.value.trim());
    if (!Number.isInteger(count) || count < 1) {
      throw new LoadFailure('bad_option', `${location(maxlines.definition.file, maxlines.definition.line)}: maxlines must be a positive integer, got '${maxlines.value}'`);
    }
    if (count > 1) {
      const multiLine = fail.sources.find((source) => source.includes('\\n'));
      if (multiLine !== undefined) {
        throw new LoadFailure(
          'unsupported',
          `${location(maxlines.definition.file, maxlines.definition.line)}: maxlines = ${count} with a failregex spanning lines is not supported (the multi-line buffer; <F-MLFID> sessions are): ${multiLine}`,
        );
      }
      warnings.push(`maxlines = ${count}: each line is matched on its own (the multi-line buffer is not supported)`);
    }
  }

  const datepatternExpansion = expandOrFail(config, 'datepattern');
  const datepattern = datepatternExpansion === null || datepatternExpansion.value.trim() === '' ? null : datepatternExpansion.value;
  const dates = compileDatePattern(datepattern);
  if (!dates.ok) {
    const definition = datepatternExpansion?.definition;
    throw new LoadFailure('bad_datepattern', `${definition === undefined ? '' : `${location(definition.file, definition.line)}: `}${dates.message}`);
  }

  const name = basename(path).replace(/\.(conf|local)$/, '');
  const daemon = config.definitionOf('_daemon') === null ? null : expandOrFail(config, '_daemon');
  const defaultProgram = daemon !== null && PROGRAM_NAME.test(daemon.value.trim()) ? daemon.value.trim() : name;
  const compiled: CompiledFilter = {
    name,
    defaultProgram,
    prefregex,
    failregex: fail.compiled,
    ignoreregex: ignore.compiled,
    dates: dates.patterns,
  };
  return {
    name,
    path,
    files: config.files,
    prefregex: prefregex?.source ?? null,
    failregex: fail.sources,
    ignoreregex: ignore.sources,
    datepattern,
    warnings,
    createParser: (parserOptions) => createFilterLineParser(compiled, parserOptions),
  };
}

/** Loads a fail2ban filter file. Never throws. */
export function loadFail2banFilter(path: string, options: LoadFilterOptions = {}): LoadFilterResult {
  try {
    return { ok: true, filter: load(path, options) };
  } catch (err) {
    if (err instanceof LoadFailure) return { ok: false, error: { code: err.code, message: `filter ${path}: ${err.message}` } };
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, error: { code: 'unsupported', message: `filter ${path}: unexpected problem while loading: ${message}` } };
  }
}
