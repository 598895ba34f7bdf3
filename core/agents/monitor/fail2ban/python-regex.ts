/**
 * Translates a Python `re` pattern (the dialect fail2ban filters are written in) into a JavaScript
 * RegExp source with the same meaning, or says precisely why it cannot.
 *
 * The pattern is parsed into a small syntax tree and re-emitted, rather than rewritten with string
 * replacements, because several constructs only translate with knowledge of their surroundings:
 * a conditional `(?(name)yes|no)` needs a marker after the group it tests, an inline `(?i)` inside a
 * group applies to the rest of that group only, and numbered back-references shift when the
 * translation adds helper groups.
 *
 * Known, accepted differences: `\d`, `\w`, `\s` and `\b` follow JavaScript's ASCII definitions
 * (Python's are Unicode-aware); a group inside a repeated group keeps its last value in Python but is
 * reset on each iteration in JavaScript (this only matters for back-references and conditionals that
 * refer into a repetition from outside it).
 */

/** Group names a caller may use more than once in one pattern (Python would refuse); later copies are renamed `name__dupN`. */
export const DUPLICATE_NAME_SEPARATOR = '__dup';

export interface TranslateOptions {
  /** Names starting with this prefix may repeat (fail2ban tags such as `<HOST>` used twice). */
  readonly repeatableNamePrefix?: string;
}

export interface PythonGroup {
  /** 1-based index of the group in the translated JavaScript RegExp. */
  readonly jsIndex: number;
  /** The group's name in the translated RegExp (possibly renamed, see DUPLICATE_NAME_SEPARATOR), or null. */
  readonly name: string | null;
}

export interface TranslatedRegex {
  readonly source: string;
  readonly flags: string;
  /** The pattern's own capturing groups, in Python's numbering order (helper groups excluded). */
  readonly groups: readonly PythonGroup[];
}

export interface TranslateError {
  readonly message: string;
  /** 0-based offset in the Python pattern where the problem was found. */
  readonly position: number;
}

export type TranslateResult = { readonly ok: true; readonly regex: TranslatedRegex } | { readonly ok: false; readonly error: TranslateError };

/* ------------------------------------------------------------------------------------------------ */
/* Syntax tree                                                                                      */

interface ScopeFlags {
  ignoreCase: boolean;
  dotAll: boolean;
  multiline: boolean;
  verbose: boolean;
}

type ClassItem = { kind: 'char'; cp: number } | { kind: 'range'; from: number; to: number } | { kind: 'escape'; letter: string };

type Node =
  | { type: 'seq'; items: Node[] }
  | { type: 'alt'; branches: Node[] }
  | { type: 'char'; cp: number; fold: boolean }
  | { type: 'any'; dotAll: boolean }
  | { type: 'class'; negated: boolean; items: ClassItem[]; fold: boolean; position: number }
  | { type: 'escapeClass'; letter: string }
  | { type: 'lineStart'; multiline: boolean }
  | { type: 'lineEnd'; multiline: boolean }
  | { type: 'inputStart' }
  | { type: 'inputEnd' }
  | { type: 'wordBoundary'; negated: boolean }
  | { type: 'group'; kind: GroupKind; body: Node; pyIndex: number; name: string | null }
  | { type: 'backref'; pyIndex: number; fold: boolean; position: number }
  | { type: 'cond'; pyIndex: number; yes: Node; no: Node }
  | { type: 'repeat'; body: Node; min: number; max: number; lazy: boolean; possessive: boolean };

type GroupKind = 'capture' | 'noncapture' | 'lookahead' | 'negLookahead' | 'lookbehind' | 'negLookbehind' | 'atomic';

class PatternError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.position = position;
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* Parser                                                                                           */

// Python refuses repeat counts above this (sre's MAXREPEAT is larger, but 65535 is the documented bound for {m,n}).
const MAX_REPEAT_COUNT = 65535;
// Deeply nested groups are not a real filter; the bound keeps recursion from exhausting the stack on hostile input.
const MAX_NESTING_DEPTH = 200;

const ESCAPE_CLASS_LETTERS = new Set(['d', 'D', 'w', 'W', 's', 'S']);
const SIMPLE_CHAR_ESCAPES: Readonly<Record<string, number>> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };

interface Parser {
  readonly src: string;
  pos: number;
  groupCount: number;
  readonly names: Map<string, number>;
  readonly openGroups: Set<number>;
  readonly closedGroups: Set<number>;
  readonly globalFlags: ScopeFlags;
  readonly repeatablePrefix: string | null;
  depth: number;
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function isOctal(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '7';
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function peekCodePoint(p: Parser): number {
  return p.src.codePointAt(p.pos) ?? 0;
}

function takeCodePoint(p: Parser): number {
  const cp = peekCodePoint(p);
  p.pos += cp > 0xffff ? 2 : 1;
  return cp;
}

function skipVerbose(p: Parser, scope: ScopeFlags): void {
  if (!scope.verbose) return;
  for (;;) {
    const ch = p.src[p.pos];
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v') {
      p.pos++;
    } else if (ch === '#') {
      while (p.pos < p.src.length && p.src[p.pos] !== '\n') p.pos++;
    } else {
      return;
    }
  }
}

function parseFlagLetters(p: Parser, letters: string, start: number, into: ScopeFlags, value: boolean): void {
  for (const letter of letters) {
    switch (letter) {
      case 'i':
        into.ignoreCase = value;
        break;
      case 's':
        into.dotAll = value;
        break;
      case 'm':
        into.multiline = value;
        break;
      case 'x':
        into.verbose = value;
        break;
      case 'a':
      case 'u':
        // ASCII / Unicode matching: JavaScript classes are ASCII already; nothing to translate.
        break;
      case 'L':
        throw new PatternError('the locale flag (?L) has no JavaScript equivalent', start);
      default:
        throw new PatternError(`unknown inline flag '${letter}'`, start);
    }
  }
}

function parseAlternation(p: Parser, scope: ScopeFlags, atTopLevel: boolean): Node {
  const branches: Node[] = [parseSequence(p, scope, atTopLevel)];
  while (p.src[p.pos] === '|') {
    p.pos++;
    branches.push(parseSequence(p, scope, false));
  }
  return branches.length === 1 ? (branches[0] as Node) : { type: 'alt', branches };
}

function parseSequence(p: Parser, scope: ScopeFlags, atTopLevelStart: boolean): Node {
  const items: Node[] = [];
  let atStart = atTopLevelStart;
  for (;;) {
    skipVerbose(p, scope);
    const ch = p.src[p.pos];
    if (ch === undefined || ch === '|' || ch === ')') break;
    const start = p.pos;
    // Inline flags `(?imsx)`: at the very start they are global; inside a group fail2ban (and older
    // Python) lets them govern the rest of that group; anywhere else Python 3.11 refuses them.
    const inline = /^\(\?([aiLmsux]+)\)/.exec(p.src.slice(p.pos, p.pos + 12));
    if (inline !== null) {
      const letters = inline[1] as string;
      if (atStart) {
        parseFlagLetters(p, letters, start, p.globalFlags, true);
        parseFlagLetters(p, letters, start, scope, true);
      } else if (p.depth > 0) {
        parseFlagLetters(p, letters, start, scope, true);
      } else {
        throw new PatternError('global flags not at the start of the expression', start);
      }
      p.pos += inline[0].length;
      continue;
    }
    atStart = false;
    const atom = parseAtom(p, scope);
    if (atom === null) continue;
    items.push(parseQuantifiers(p, scope, atom, start));
  }
  return items.length === 1 ? (items[0] as Node) : { type: 'seq', items };
}

function parseQuantifiers(p: Parser, scope: ScopeFlags, atom: Node, atomStart: number): Node {
  let node = atom;
  let repeated = false;
  for (;;) {
    skipVerbose(p, scope);
    const ch = p.src[p.pos];
    let min: number;
    let max: number;
    const at = p.pos;
    if (ch === '*') {
      min = 0;
      max = Infinity;
      p.pos++;
    } else if (ch === '+') {
      min = 1;
      max = Infinity;
      p.pos++;
    } else if (ch === '?') {
      min = 0;
      max = 1;
      p.pos++;
    } else if (ch === '{') {
      const braces = /^\{(\d*)(?:(,)(\d*))?\}/.exec(p.src.slice(p.pos, p.pos + 32));
      // Python reads `{` that does not start a valid count as a literal brace.
      if (braces === null || (braces[1] === '' && braces[2] === undefined)) return node;
      min = braces[1] === '' ? 0 : Number(braces[1]);
      max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3]);
      if (min > MAX_REPEAT_COUNT || (max !== Infinity && max > MAX_REPEAT_COUNT)) {
        throw new PatternError('the repetition number is too large', at);
      }
      if (max < min) throw new PatternError('min repeat greater than max repeat', at);
      p.pos += braces[0].length;
    } else {
      return node;
    }
    if (repeated) throw new PatternError('multiple repeat', at);
    if (!canRepeat(node)) throw new PatternError('nothing to repeat', atomStart);
    let lazy = false;
    let possessive = false;
    if (p.src[p.pos] === '?') {
      lazy = true;
      p.pos++;
    } else if (p.src[p.pos] === '+') {
      possessive = true;
      p.pos++;
    }
    node = { type: 'repeat', body: node, min, max, lazy, possessive };
    repeated = true;
  }
}

function canRepeat(node: Node): boolean {
  switch (node.type) {
    case 'lineStart':
    case 'lineEnd':
    case 'inputStart':
    case 'inputEnd':
    case 'wordBoundary':
      // Python accepts `^*` but it is meaningless; refuse rather than guess.
      return false;
    case 'group':
      return node.kind === 'capture' || node.kind === 'noncapture' || node.kind === 'atomic';
    default:
      return true;
  }
}

function parseAtom(p: Parser, scope: ScopeFlags): Node | null {
  const start = p.pos;
  const ch = p.src[p.pos] as string;
  switch (ch) {
    case '(':
      return parseGroup(p, scope);
    case '[':
      return parseClass(p, scope);
    case '.':
      p.pos++;
      return { type: 'any', dotAll: scope.dotAll };
    case '^':
      p.pos++;
      return { type: 'lineStart', multiline: scope.multiline };
    case '$':
      p.pos++;
      return { type: 'lineEnd', multiline: scope.multiline };
    case '\\':
      return parseEscape(p, scope);
    case '*':
    case '+':
    case '?':
      throw new PatternError('nothing to repeat', start);
    case '{': {
      // A brace that forms a valid count right after nothing is an error in Python as well.
      if (/^\{\d*,?\d*\}/.test(p.src.slice(p.pos, p.pos + 32)) && p.src[p.pos + 1] !== '}') {
        throw new PatternError('nothing to repeat', start);
      }
      p.pos++;
      return { type: 'char', cp: 0x7b, fold: false };
    }
    default: {
      const cp = takeCodePoint(p);
      return { type: 'char', cp, fold: scope.ignoreCase && !p.globalFlags.ignoreCase };
    }
  }
}

function parseGroupName(p: Parser, terminator: string, what: string): string {
  const start = p.pos;
  const end = p.src.indexOf(terminator, p.pos);
  if (end < 0) throw new PatternError(`missing ${terminator}, unterminated ${what}`, start);
  const name = p.src.slice(p.pos, end);
  p.pos = end + 1;
  return name;
}

function parseGroup(p: Parser, outerScope: ScopeFlags): Node {
  const start = p.pos;
  p.pos++; // (
  if (p.depth >= MAX_NESTING_DEPTH) throw new PatternError('groups nested too deeply', start);
  let kind: GroupKind = 'capture';
  let name: string | null = null;
  const scope: ScopeFlags = { ...outerScope };
  if (p.src[p.pos] === '?') {
    p.pos++;
    const next = p.src[p.pos];
    if (next === ':') {
      kind = 'noncapture';
      p.pos++;
    } else if (next === '=') {
      kind = 'lookahead';
      p.pos++;
    } else if (next === '!') {
      kind = 'negLookahead';
      p.pos++;
    } else if (next === '>') {
      kind = 'atomic';
      p.pos++;
    } else if (next === '<' && p.src[p.pos + 1] === '=') {
      kind = 'lookbehind';
      p.pos += 2;
    } else if (next === '<' && p.src[p.pos + 1] === '!') {
      kind = 'negLookbehind';
      p.pos += 2;
    } else if (next === '#') {
      const end = p.src.indexOf(')', p.pos);
      if (end < 0) throw new PatternError('missing ), unterminated comment', start);
      p.pos = end + 1;
      return { type: 'seq', items: [] };
    } else if (next === 'P' && p.src[p.pos + 1] === '<') {
      p.pos += 2;
      const nameAt = p.pos;
      name = parseGroupName(p, '>', 'name');
      if (!IDENTIFIER.test(name)) throw new PatternError(`bad character in group name '${name}'`, nameAt);
      const repeatable = p.repeatablePrefix !== null && name.startsWith(p.repeatablePrefix);
      if (p.names.has(name) && !repeatable) throw new PatternError(`redefinition of group name '${name}'`, nameAt);
    } else if (next === 'P' && p.src[p.pos + 1] === '=') {
      p.pos += 2;
      const nameAt = p.pos;
      const refName = parseGroupName(p, ')', 'group reference');
      const index = p.names.get(refName);
      if (index === undefined) throw new PatternError(`unknown group name '${refName}'`, nameAt);
      if (p.openGroups.has(index)) throw new PatternError('cannot refer to an open group', nameAt);
      return { type: 'backref', pyIndex: index, fold: scope.ignoreCase && !p.globalFlags.ignoreCase, position: start };
    } else if (next === '(') {
      return parseConditional(p, outerScope, start);
    } else {
      // Scoped flags `(?i:...)`, `(?-i:...)`, `(?i-s:...)`.
      const scoped = /^([aiLmsux]*)(?:-([imsx]+))?:/.exec(p.src.slice(p.pos, p.pos + 16));
      if (scoped === null || (scoped[1] === '' && scoped[2] === undefined)) {
        throw new PatternError(`unknown extension ?${next ?? ''}`, start);
      }
      parseFlagLetters(p, scoped[1] as string, start, scope, true);
      if (scoped[2] !== undefined) parseFlagLetters(p, scoped[2], start, scope, false);
      if (!scope.ignoreCase && p.globalFlags.ignoreCase) {
        throw new PatternError('turning case-insensitivity off inside a pattern (?-i:...) has no JavaScript equivalent', start);
      }
      p.pos += scoped[0].length;
      kind = 'noncapture';
    }
  }
  let pyIndex = 0;
  if (kind === 'capture') {
    pyIndex = ++p.groupCount;
    // A repeated name keeps pointing at its first group for back-references.
    if (name !== null && !p.names.has(name)) p.names.set(name, pyIndex);
    p.openGroups.add(pyIndex);
  }
  p.depth++;
  const body = parseAlternation(p, scope, false);
  p.depth--;
  if (p.src[p.pos] !== ')') throw new PatternError('missing ), unterminated subpattern', start);
  p.pos++;
  if (kind === 'capture') {
    p.openGroups.delete(pyIndex);
    p.closedGroups.add(pyIndex);
  }
  return { type: 'group', kind, body, pyIndex, name };
}

function parseConditional(p: Parser, scope: ScopeFlags, start: number): Node {
  p.pos++; // the '(' of the condition
  const refAt = p.pos;
  const ref = parseGroupName(p, ')', 'group reference');
  let pyIndex: number;
  if (/^\d+$/.test(ref)) {
    pyIndex = Number(ref);
    if (pyIndex === 0 || pyIndex > p.groupCount) throw new PatternError(`invalid group reference ${ref}`, refAt);
  } else {
    const found = p.names.get(ref);
    if (found === undefined) throw new PatternError(`unknown group name '${ref}'`, refAt);
    pyIndex = found;
  }
  p.depth++;
  const yes = parseSequence(p, scope, false);
  let no: Node = { type: 'seq', items: [] };
  if (p.src[p.pos] === '|') {
    p.pos++;
    no = parseSequence(p, scope, false);
    if (p.src[p.pos] === '|') throw new PatternError('conditional backref with more than two branches', p.pos);
  }
  p.depth--;
  if (p.src[p.pos] !== ')') throw new PatternError('missing ), unterminated subpattern', start);
  p.pos++;
  return { type: 'cond', pyIndex, yes, no };
}

function parseCharEscapeCode(p: Parser, letter: string, start: number): number | null {
  const hexOf = (digits: number): number => {
    const hex = p.src.slice(p.pos, p.pos + digits);
    if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) {
      throw new PatternError(`incomplete escape \\${letter}${hex}`, start);
    }
    p.pos += digits;
    return parseInt(hex, 16);
  };
  const simple = SIMPLE_CHAR_ESCAPES[letter];
  if (simple !== undefined) return simple;
  if (letter === 'x') return hexOf(2);
  if (letter === 'u') return hexOf(4);
  if (letter === 'U') {
    const cp = hexOf(8);
    if (cp > 0x10ffff) throw new PatternError(`bad escape \\U (code point out of range)`, start);
    return cp;
  }
  if (letter === 'N') throw new PatternError('named Unicode escapes \\N{...} are not supported', start);
  return null;
}

function parseEscape(p: Parser, scope: ScopeFlags): Node {
  const start = p.pos;
  p.pos++; // backslash
  if (p.pos >= p.src.length) throw new PatternError('bad escape (end of pattern)', start);
  const letter = p.src[p.pos] as string;
  p.pos++;
  const fold = scope.ignoreCase && !p.globalFlags.ignoreCase;
  if (ESCAPE_CLASS_LETTERS.has(letter)) return { type: 'escapeClass', letter };
  if (letter === 'A') return { type: 'inputStart' };
  if (letter === 'Z') return { type: 'inputEnd' };
  if (letter === 'b') return { type: 'wordBoundary', negated: false };
  if (letter === 'B') return { type: 'wordBoundary', negated: true };
  if (letter === '0') {
    let value = 0;
    let digits = 0;
    while (digits < 2 && isOctal(p.src[p.pos])) {
      value = value * 8 + Number(p.src[p.pos]);
      p.pos++;
      digits++;
    }
    return { type: 'char', cp: value, fold: false };
  }
  if (isDigit(letter)) {
    // Three octal digits are a character; otherwise one or two digits are a group reference.
    if (isOctal(letter) && isOctal(p.src[p.pos]) && isOctal(p.src[p.pos + 1])) {
      const value = parseInt(letter + p.src.slice(p.pos, p.pos + 2), 8);
      if (value > 0o377) throw new PatternError(`octal escape value \\${letter}${p.src.slice(p.pos, p.pos + 2)} outside of range 0-0o377`, start);
      p.pos += 2;
      return { type: 'char', cp: value, fold: false };
    }
    let digits = letter;
    if (isDigit(p.src[p.pos])) {
      digits += p.src[p.pos];
      p.pos++;
    }
    const index = Number(digits);
    if (!p.closedGroups.has(index)) {
      throw new PatternError(p.openGroups.has(index) ? 'cannot refer to an open group' : `invalid group reference ${index}`, start);
    }
    return { type: 'backref', pyIndex: index, fold, position: start };
  }
  const code = parseCharEscapeCode(p, letter, start);
  if (code !== null) return { type: 'char', cp: code, fold };
  if (/[A-Za-z]/.test(letter)) throw new PatternError(`bad escape \\${letter}`, start);
  p.pos--;
  const cp = takeCodePoint(p);
  return { type: 'char', cp, fold };
}

function parseClassChar(p: Parser, start: number): ClassItem {
  if (p.src[p.pos] !== '\\') return { kind: 'char', cp: takeCodePoint(p) };
  const escAt = p.pos;
  p.pos++;
  if (p.pos >= p.src.length) throw new PatternError('unterminated character set', start);
  const letter = p.src[p.pos] as string;
  p.pos++;
  if (ESCAPE_CLASS_LETTERS.has(letter)) return { kind: 'escape', letter };
  if (letter === 'b') return { kind: 'char', cp: 8 };
  if (isOctal(letter)) {
    let value = Number(letter);
    let digits = 1;
    while (digits < 3 && isOctal(p.src[p.pos])) {
      value = value * 8 + Number(p.src[p.pos]);
      p.pos++;
      digits++;
    }
    if (value > 0o377) throw new PatternError('octal escape value outside of range 0-0o377', escAt);
    return { kind: 'char', cp: value };
  }
  const code = parseCharEscapeCode(p, letter, escAt);
  if (code !== null) return { kind: 'char', cp: code };
  if (/[A-Za-z0-9]/.test(letter)) throw new PatternError(`bad escape \\${letter}`, escAt);
  p.pos--;
  return { kind: 'char', cp: takeCodePoint(p) };
}

function parseClass(p: Parser, scope: ScopeFlags): Node {
  const start = p.pos;
  p.pos++; // [
  let negated = false;
  if (p.src[p.pos] === '^') {
    negated = true;
    p.pos++;
  }
  const items: ClassItem[] = [];
  let first = true;
  for (;;) {
    if (p.pos >= p.src.length) throw new PatternError('unterminated character set', start);
    if (p.src[p.pos] === ']' && !first) {
      p.pos++;
      break;
    }
    first = false;
    const item = parseClassChar(p, start);
    if (p.src[p.pos] === '-' && p.src[p.pos + 1] !== ']' && p.pos + 1 < p.src.length) {
      const rangeAt = p.pos;
      p.pos++;
      const end = parseClassChar(p, start);
      if (item.kind !== 'char' || end.kind !== 'char') throw new PatternError('bad character range', rangeAt);
      if (end.cp < item.cp) throw new PatternError('bad character range', rangeAt);
      items.push({ kind: 'range', from: item.cp, to: end.cp });
    } else {
      items.push(item);
    }
  }
  return { type: 'class', negated, items, fold: scope.ignoreCase && !p.globalFlags.ignoreCase, position: start };
}

/* ------------------------------------------------------------------------------------------------ */
/* Emitter                                                                                          */

interface Emitter {
  nextJsIndex: number;
  readonly pyToJs: Map<number, number>;
  readonly pyToName: Map<number, string>;
  readonly conditionTargets: Set<number>;
  readonly usedNames: Set<string>;
  readonly repeatablePrefix: string | null;
  readonly groups: PythonGroup[];
  helperCount: number;
}

// Whole-input anchors, spelled so they never depend on JavaScript's `m` flag.
const AT_INPUT_START = '(?<![\\s\\S])';
const AT_INPUT_END = '(?![\\s\\S])';

function conditionMarkerName(pyIndex: number): string {
  return `__cond${pyIndex}`;
}

/**
 * JavaScript cannot ask "did group N take part in the match so far?". We make it answerable: when
 * the group closes, a look-behind that reaches back to the start of the input captures the whole
 * input into a marker group. Later, "the marker equals the whole input" is true only if the group
 * took part (a back-reference to a group that did not take part matches the empty string, which
 * equals the whole input only when the input is empty).
 */
function conditionMarker(pyIndex: number): string {
  return `(?<=${AT_INPUT_START}(?=(?<${conditionMarkerName(pyIndex)}>[\\s\\S]*))[\\s\\S]*)`;
}

function conditionTest(pyIndex: number, participated: boolean): string {
  const inner = `${AT_INPUT_START}(?=\\k<${conditionMarkerName(pyIndex)}>${AT_INPUT_END})[\\s\\S]*`;
  return participated ? `(?<=${inner})` : `(?<!${inner})`;
}

const JS_SYNTAX_CHARS = new Set(['\\', '^', '$', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

function escapeCodeUnit(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

function emitLiteral(cp: number): string {
  if (cp > 0xffff) {
    // Without the `u` flag an astral character is two code units; group them so a quantifier applies to both.
    const s = String.fromCodePoint(cp);
    return `(?:${escapeCodeUnit(s.charCodeAt(0))}${escapeCodeUnit(s.charCodeAt(1))})`;
  }
  const ch = String.fromCharCode(cp);
  if (JS_SYNTAX_CHARS.has(ch)) return `\\${ch}`;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0x2028 || cp === 0x2029) {
    return escapeCodeUnit(cp);
  }
  return ch;
}

function emitClassChar(cp: number, position: number): string {
  if (cp > 0xffff) throw new PatternError('a character outside the Basic Multilingual Plane inside [...] is not supported', position);
  const ch = String.fromCharCode(cp);
  if (ch === '\\' || ch === ']' || ch === '[' || ch === '^' || ch === '-') return `\\${ch}`;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0x2028 || cp === 0x2029) {
    return escapeCodeUnit(cp);
  }
  return ch;
}

function otherCase(cp: number): number | null {
  if (cp > 0xffff) return null;
  const ch = String.fromCharCode(cp);
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  if (lower !== ch && lower.length === 1) return lower.charCodeAt(0);
  if (upper !== ch && upper.length === 1) return upper.charCodeAt(0);
  return null;
}

/** Adds the other-case counterparts of ASCII letters inside a range; refuses non-ASCII letters (no faithful fold). */
function foldRange(from: number, to: number, position: number): ClassItem[] {
  const extra: ClassItem[] = [];
  const overlap = (lo: number, hi: number, shift: number): void => {
    const a = Math.max(from, lo);
    const b = Math.min(to, hi);
    if (a <= b) extra.push({ kind: 'range', from: a + shift, to: b + shift });
  };
  overlap(0x41, 0x5a, 0x20);
  overlap(0x61, 0x7a, -0x20);
  if (to >= 0x80) throw new PatternError('a case-insensitive range of non-ASCII characters is not supported', position);
  return extra;
}

function emitClass(node: Extract<Node, { type: 'class' }>): string {
  let items = node.items;
  if (node.fold) {
    const extra: ClassItem[] = [];
    for (const item of items) {
      if (item.kind === 'char') {
        const other = otherCase(item.cp);
        if (other !== null) extra.push({ kind: 'char', cp: other });
      } else if (item.kind === 'range') {
        extra.push(...foldRange(item.from, item.to, node.position));
      }
    }
    items = [...items, ...extra];
  }
  let body = '';
  for (const item of items) {
    if (item.kind === 'char') body += emitClassChar(item.cp, node.position);
    else if (item.kind === 'range') body += `${emitClassChar(item.from, node.position)}-${emitClassChar(item.to, node.position)}`;
    else body += `\\${item.letter}`;
  }
  // `[]` and `[^]` mean different things in JavaScript (never / anything); an empty Python set cannot occur.
  return `[${node.negated ? '^' : ''}${body}]`;
}

function needsGroupingForQuantifier(node: Node): boolean {
  switch (node.type) {
    case 'char':
      return node.cp > 0xffff; // emitLiteral already groups it
    case 'any':
    case 'class':
    case 'escapeClass':
    case 'backref':
    case 'group':
      return false;
    case 'seq':
      return !(node.items.length === 1 && !needsGroupingForQuantifier(node.items[0] as Node));
    default:
      return true;
  }
}

function emitQuantifier(min: number, max: number): string {
  if (min === 0 && max === Infinity) return '*';
  if (min === 1 && max === Infinity) return '+';
  if (min === 0 && max === 1) return '?';
  if (max === Infinity) return `{${min},}`;
  if (min === max) return `{${min}}`;
  return `{${min},${max}}`;
}

function allocateHelperName(e: Emitter): string {
  e.helperCount++;
  e.nextJsIndex++;
  return `__atomic${e.helperCount}`;
}

/** JavaScript has no atomic groups; a look-ahead captures what the body would match and a back-reference consumes exactly that. */
function emitAtomic(e: Emitter, inner: () => string): string {
  const helper = allocateHelperName(e);
  return `(?=(?<${helper}>${inner()}))\\k<${helper}>`;
}

function chooseJsName(e: Emitter, name: string, position: number): string {
  if (name.startsWith('__cond') || name.startsWith('__atomic')) {
    throw new PatternError(`group name '${name}' is reserved by the translator`, position);
  }
  if (!e.usedNames.has(name)) {
    e.usedNames.add(name);
    return name;
  }
  if (e.repeatablePrefix === null || !name.startsWith(e.repeatablePrefix)) {
    throw new PatternError(`redefinition of group name '${name}'`, position);
  }
  for (let n = 2; ; n++) {
    const candidate = `${name}${DUPLICATE_NAME_SEPARATOR}${n}`;
    if (!e.usedNames.has(candidate)) {
      e.usedNames.add(candidate);
      return candidate;
    }
  }
}

function emit(e: Emitter, node: Node): string {
  switch (node.type) {
    case 'seq':
      return node.items.map((item) => emit(e, item)).join('');
    case 'alt':
      return node.branches.map((branch) => emit(e, branch)).join('|');
    case 'char': {
      const other = node.fold ? otherCase(node.cp) : null;
      return other === null ? emitLiteral(node.cp) : `[${emitClassChar(node.cp, 0)}${emitClassChar(other, 0)}]`;
    }
    case 'any':
      // Python's `.` excludes only `\n`; JavaScript's also excludes `\r`, U+2028 and U+2029.
      return node.dotAll ? '[\\s\\S]' : '[^\\n]';
    case 'class':
      return emitClass(node);
    case 'escapeClass':
      return `\\${node.letter}`;
    case 'lineStart':
      // MULTILINE is emulated rather than mapped to the `m` flag so that it can apply to part of a pattern.
      return node.multiline ? '(?<![^\\n])' : '^';
    case 'lineEnd':
      // Without MULTILINE, Python's `$` also matches just before a newline that ends the input.
      return node.multiline ? '(?![^\\n])' : `(?=\\n?${AT_INPUT_END})`;
    case 'inputStart':
      return AT_INPUT_START;
    case 'inputEnd':
      return AT_INPUT_END;
    case 'wordBoundary':
      return node.negated ? '\\B' : '\\b';
    case 'backref': {
      if (node.fold) {
        throw new PatternError('a case-insensitive back-reference inside (?i:...) has no JavaScript equivalent', node.position);
      }
      const name = e.pyToName.get(node.pyIndex);
      if (name !== undefined) return `\\k<${name}>`;
      const jsIndex = e.pyToJs.get(node.pyIndex) as number;
      // `(?:)` keeps a following digit from being read as part of the group number.
      return `\\${jsIndex}(?:)`;
    }
    case 'cond':
      return `(?:${conditionTest(node.pyIndex, true)}${emit(e, node.yes)}|${conditionTest(node.pyIndex, false)}${emit(e, node.no)})`;
    case 'repeat': {
      const quantifier = emitQuantifier(node.min, node.max);
      const render = (): string => {
        const body = emit(e, node.body);
        return needsGroupingForQuantifier(node.body) ? `(?:${body})${quantifier}` : `${body}${quantifier}`;
      };
      if (node.possessive) return emitAtomic(e, render);
      return `${render()}${node.lazy ? '?' : ''}`;
    }
    case 'group':
      return emitGroup(e, node);
  }
}

function emitGroup(e: Emitter, node: Extract<Node, { type: 'group' }>): string {
  switch (node.kind) {
    case 'capture': {
      e.nextJsIndex++;
      const jsIndex = e.nextJsIndex;
      e.pyToJs.set(node.pyIndex, jsIndex);
      const name = node.name === null ? null : chooseJsName(e, node.name, 0);
      if (name !== null) e.pyToName.set(node.pyIndex, name);
      e.groups.push({ jsIndex, name });
      const body = emit(e, node.body);
      const open = name === null ? '(' : `(?<${name}>`;
      if (!e.conditionTargets.has(node.pyIndex)) return `${open}${body})`;
      e.nextJsIndex++;
      // Grouped so that a quantifier on the group also covers its marker.
      return `(?:${open}${body})${conditionMarker(node.pyIndex)})`;
    }
    case 'noncapture':
      return `(?:${emit(e, node.body)})`;
    case 'lookahead':
      return `(?=${emit(e, node.body)})`;
    case 'negLookahead':
      return `(?!${emit(e, node.body)})`;
    case 'lookbehind':
      return `(?<=${emit(e, node.body)})`;
    case 'negLookbehind':
      return `(?<!${emit(e, node.body)})`;
    case 'atomic':
      return emitAtomic(e, () => emit(e, node.body));
  }
}

function collectConditionTargets(node: Node, into: Set<number>): void {
  switch (node.type) {
    case 'seq':
      for (const item of node.items) collectConditionTargets(item, into);
      return;
    case 'alt':
      for (const branch of node.branches) collectConditionTargets(branch, into);
      return;
    case 'group':
      collectConditionTargets(node.body, into);
      return;
    case 'repeat':
      collectConditionTargets(node.body, into);
      return;
    case 'cond':
      into.add(node.pyIndex);
      collectConditionTargets(node.yes, into);
      collectConditionTargets(node.no, into);
      return;
    default:
      return;
  }
}

/** Translates a Python `re` pattern; never throws. */
export function translatePythonRegex(pattern: string, options: TranslateOptions = {}): TranslateResult {
  const globalFlags: ScopeFlags = { ignoreCase: false, dotAll: false, multiline: false, verbose: false };
  const parser: Parser = {
    src: pattern,
    pos: 0,
    groupCount: 0,
    names: new Map(),
    openGroups: new Set(),
    closedGroups: new Set(),
    globalFlags,
    repeatablePrefix: options.repeatableNamePrefix ?? null,
    depth: 0,
  };
  try {
    const scope: ScopeFlags = { ...globalFlags };
    const tree = parseAlternation(parser, scope, true);
    if (parser.pos < pattern.length) {
      throw new PatternError('unbalanced parenthesis', parser.pos);
    }
    const conditionTargets = new Set<number>();
    collectConditionTargets(tree, conditionTargets);
    const emitter: Emitter = {
      nextJsIndex: 0,
      pyToJs: new Map(),
      pyToName: new Map(),
      conditionTargets,
      usedNames: new Set(),
      repeatablePrefix: options.repeatableNamePrefix ?? null,
      groups: [],
      helperCount: 0,
    };
    // Global `(?s)` and `(?m)` are applied node by node (`.` as `[\s\S]`, anchors around `\n`); `(?x)` was consumed by the parser.
    const source = emit(emitter, tree);
    const flags = globalFlags.ignoreCase ? 'i' : '';
    // Let the engine have the last word: anything we emitted that it refuses is reported, not thrown.
    new RegExp(source, flags);
    return { ok: true, regex: { source, flags, groups: emitter.groups } };
  } catch (err) {
    if (err instanceof PatternError) return { ok: false, error: { message: err.message, position: err.position } };
    if (err instanceof RangeError) {
      return { ok: false, error: { message: 'pattern too deeply nested', position: parser.pos } };
    }
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, error: { message: `the JavaScript engine refused the translation: ${message}`, position: 0 } };
  }
}
