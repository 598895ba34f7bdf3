/**
 * The INI dialect fail2ban's configuration files are written in (Python's configparser, as fail2ban
 * configures it): `[section]` headers, `key = value` or `key: value`, values continued on following
 * indented lines, whole-line comments starting with `#` or `;`, and inline comments introduced by
 * ` ;` (a semicolon after whitespace). Interpolation (`%(name)s`) is not done here; see
 * filter-options.ts. Parsing is total: bad input yields an error naming the line, never an exception.
 */

export interface IniEntry {
  readonly key: string;
  /** The value with continuation lines joined by `\n`, each line trimmed, comments removed. */
  readonly value: string;
  /** 1-based line of the `key = value` line. */
  readonly line: number;
  /** 1-based line of each line of the value (same length as `value.split('\n')`). */
  readonly valueLines: readonly number[];
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  readonly entries: readonly IniEntry[];
}

export interface IniDocument {
  /** In file order; a section name may appear more than once (later entries win when merged). */
  readonly sections: readonly IniSection[];
}

export interface IniError {
  readonly message: string;
  readonly line: number;
}

export type IniParseResult = { readonly ok: true; readonly document: IniDocument } | { readonly ok: false; readonly error: IniError };

const SECTION_HEADER = /^\[([^\]]+)\]\s*(?:[#;].*)?$/;
// The key is everything before the first `=` or `:`, as configparser's default option pattern reads it.
const KEY_VALUE = /^([^=:]*?)\s*[=:]\s*(.*)$/;
// configparser treats `;` as an inline comment only after whitespace, so regexes such as `Server;Ltype` survive.
const INLINE_COMMENT = /\s;.*$/;

function isCommentLine(trimmed: string): boolean {
  return trimmed.startsWith('#') || trimmed.startsWith(';');
}

function stripInlineComment(text: string): string {
  return text.replace(INLINE_COMMENT, '').trim();
}

interface OpenEntry {
  key: string;
  lines: string[];
  lineNumbers: number[];
  line: number;
}

interface OpenSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

function closeEntry(section: OpenSection | null, entry: OpenEntry | null): void {
  if (section === null || entry === null) return;
  // Trailing empty continuation lines (blank lines that were followed by nothing indented) are not part of the value.
  const lines = [...entry.lines];
  const lineNumbers = [...entry.lineNumbers];
  while (lines.length > 1 && lines[lines.length - 1] === '') {
    lines.pop();
    lineNumbers.pop();
  }
  section.entries.push({ key: entry.key, value: lines.join('\n'), line: entry.line, valueLines: lineNumbers });
}

/** Parses INI text; never throws. */
export function parseIni(text: string): IniParseResult {
  const sections: IniSection[] = [];
  let section: OpenSection | null = null;
  let entry: OpenEntry | null = null;
  const source = text.startsWith('\ufeff') ? text.slice(1) : text;
  const lines = source.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] as string;
    const lineNumber = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') {
      // A blank line inside a value is kept (configparser does) but only matters if an indented line follows.
      if (entry !== null) {
        entry.lines.push('');
        entry.lineNumbers.push(lineNumber);
      }
      continue;
    }
    if (isCommentLine(trimmed)) continue;
    const indented = /^\s/.test(raw);
    if (indented && entry !== null) {
      entry.lines.push(stripInlineComment(trimmed));
      entry.lineNumbers.push(lineNumber);
      continue;
    }
    // An indented line with no value open (right after a header) is read as an ordinary line.
    closeEntry(section, entry);
    entry = null;
    const header = SECTION_HEADER.exec(trimmed);
    if (header !== null) {
      if (section !== null) sections.push({ name: section.name, line: section.line, entries: section.entries });
      section = { name: (header[1] as string).trim(), line: lineNumber, entries: [] };
      continue;
    }
    if (trimmed.startsWith('[')) {
      return { ok: false, error: { message: `malformed section header '${trimmed}' (expected [name])`, line: lineNumber } };
    }
    const keyValue = KEY_VALUE.exec(trimmed);
    if (keyValue === null || keyValue[1] === '') {
      return { ok: false, error: { message: `expected 'key = value', got '${trimmed}'`, line: lineNumber } };
    }
    if (section === null) {
      return { ok: false, error: { message: `'${keyValue[1]}' is set before any [section] header`, line: lineNumber } };
    }
    entry = { key: keyValue[1] as string, lines: [stripInlineComment(keyValue[2] as string)], lineNumbers: [lineNumber], line: lineNumber };
  }
  closeEntry(section, entry);
  if (section !== null) sections.push({ name: section.name, line: section.line, entries: section.entries });
  return { ok: true, document: { sections } };
}
