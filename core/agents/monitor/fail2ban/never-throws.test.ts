/**
 * Property tests: the parsers of this folder are total. Filter files and log lines come from outside
 * (a downloaded filter, an attacker-controlled log line), so whatever they contain, we answer with a
 * result or a typed error, never an exception.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { compileDatePattern, createDateDetector } from './date-detector.ts';
import { parseIni } from './ini-file.ts';
import { loadFail2banFilter } from './load-filter.ts';
import { translatePythonRegex } from './python-regex.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'f2b-fuzz-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tokens(list: readonly string[], maxLength: number): fc.Arbitrary<string> {
  return fc.array(fc.oneof(fc.constantFrom(...list), fc.string({ maxLength: 3 })), { maxLength }).map((parts) => parts.join(''));
}

const REGEX_TOKENS = [
  '(', ')', '(?:', '(?P<a>', '(?P<b>', '(?P=a)', '(?(a)', '(?(1)', '|', '*', '+', '?', '*?', '++', '{2,3}', '{,2}', '{', '}',
  '[', ']', '[^', '-', '\\', '\\d', '\\s', '\\A', '\\Z', '\\1', '\\x4', '\\u00e9', '(?i)', '(?i:', '(?-i:', '(?x)', '(?#c)',
  '(?=', '(?!', '(?<=', '(?<!', '(?>', '^', '$', '.', 'a', 'B', ' ', '#', '\n', '<HOST>', '<F-USER>', '</F-USER>', '%',
];

const INI_TOKENS = [
  '[Definition]\n', '[Init]\n', '[DEFAULT]\n', '[INCLUDES]\n', '[', ']', 'failregex = ', 'prefregex = ', 'ignoreregex = ',
  'datepattern = ', 'maxlines = ', 'mode = ', 'before = ', 'after = ', 'self.conf', 'other.conf', 'x.local', '\n', '\n    ',
  '    ', '# c\n', '; c\n', ' ; c', '%(a)s', '%(known/failregex)s', '%(Init/mode)s', '%%', '%', '%Y', '%(', '<a>',
  '<mode>', '<mdre-<mode>>', '<known/a>', 'a = ', 'a = <a>', 'b = %(a)s', 'mdre-normal = ^x <HOST>', '<HOST>', '<F-MLFID>',
  '</F-MLFID>', '<F-CONTENT>.+</F-CONTENT>', '<F-NOFAIL>', '</F-NOFAIL>', '<SKIPLINES>', '{^LN-BEG}', '{DATE}', '(', ')',
  '\\', '^', '$', '.*', '=', ':',
];

const VALUE_TOKENS = [...REGEX_TOKENS, '%(a)s', '%(b)s', '%(known/failregex)s', '%(Init/mode)s', '%(default/a)s', '%%', '<a>', '<b>', '<mode>', '<mdre-<mode>>', '<known/a>', '<F-MLFID>', '</F-MLFID>', '<F-CONTENT>', '</F-CONTENT>', '<F-NOFAIL>', '</F-NOFAIL>', '<F-ALT_USER>', '</F-ALT_USER>', '<F-ID>', '</F-ID>', '<ADDR>', '<SUBNET>', '<SKIPLINES>', '{^LN-BEG}', '{DATE}', '%%Y', '%%b %%d', 'self.conf', 'other.conf', 'x.local'];
const KEYS = ['failregex', 'prefregex', 'ignoreregex', 'datepattern', 'maxlines', 'mode', 'a', 'b', 'mdre-normal', 'before', 'after', '_daemon'];
const SECTIONS = ['Definition', 'Init', 'DEFAULT', 'INCLUDES', 'lt_file'];

/** Mostly well-formed filter files (so the loader gets past the INI syntax), sometimes raw token soup. */
const STRUCTURED_FILE = fc
    .array(
      fc.record({
        section: fc.constantFrom(...SECTIONS),
        entries: fc.array(fc.record({ key: fc.constantFrom(...KEYS), lines: fc.array(tokens(VALUE_TOKENS, 6), { minLength: 1, maxLength: 3 }) }), { maxLength: 5 }),
      }),
      { maxLength: 4 },
    )
    .map((sections) =>
      sections
        .map(({ section, entries }) => [`[${section}]`, ...entries.map(({ key, lines }) => `${key} = ${lines.map((l) => l.replaceAll('\n', ' ')).join('\n    ')}`)].join('\n'))
        .join('\n'),
    );
const FAILREGEX_LINE = fc.tuple(tokens(VALUE_TOKENS, 5), fc.constantFrom(' <HOST>', ' <ADDR>$', ' <F-ID>\\S+</F-ID>', '')).map(([body, tail]) => `^${body.replaceAll('\n', ' ')}${tail}`);
const FILTER_FILE = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.array(FAILREGEX_LINE, { minLength: 1, maxLength: 3 }), STRUCTURED_FILE).map(([regexes, rest]) => `[Definition]\nfailregex = ${regexes.join('\n    ')}\n${rest}`) },
  { weight: 1, arbitrary: STRUCTURED_FILE },
  { weight: 1, arbitrary: tokens(INI_TOKENS, 30) },
);

const LINES = fc.array(
  tokens(['Jan  5 01:31:41 ', '2005-01-02T03:04:05Z ', 'srv sshd[1]: ', 'x from 192.0.2.1', ' ', '::ffff:1.2.3.4', '[', ']', '@4000', '\t'], 8),
  { maxLength: 5 },
);

test('parseIni returns a document or a line-numbered error for any text', () => {
  fc.assert(
    fc.property(tokens(INI_TOKENS, 40), (text) => {
      const result = parseIni(text);
      if (!result.ok) assert.ok(result.error.line >= 1 && result.error.message.length > 0);
    }),
    { numRuns: 500 },
  );
});

test('translatePythonRegex returns a RegExp source the engine accepts, or an error, for any pattern', () => {
  fc.assert(
    fc.property(tokens(REGEX_TOKENS, 16), fc.string({ maxLength: 10 }), (pattern, input) => {
      const result = translatePythonRegex(pattern, { repeatableNamePrefix: 'f2b_' });
      if (!result.ok) {
        assert.ok(result.error.position >= 0 && result.error.position <= pattern.length, `position ${result.error.position}`);
        return;
      }
      new RegExp(result.regex.source, result.regex.flags).exec(input);
    }),
    { numRuns: 1000 },
  );
});

test('compileDatePattern and its detector never throw', () => {
  fc.assert(
    fc.property(tokens(['%Y', '%m', '%d', '%H', '%M', '%S', '%f', '%z', '%b', '%Ex', '%', '{^LN-BEG}', '{DATE}', '{NONE}', '{UNB}', 'Epoch', 'TAI64N', '^', '(', ')', '\n', '-', ' '], 8), LINES, (pattern, lines) => {
      const result = compileDatePattern(pattern);
      if (!result.ok) return;
      const detector = createDateDetector(result.patterns);
      for (const line of lines) {
        const match = detector.detect(line, 0);
        if (match !== null) assert.ok(match.start >= 0 && match.end <= line.length && match.start <= match.end);
      }
    }),
    { numRuns: 300 },
  );
});

test('loadFail2banFilter answers with a filter or a "filter <path>: ..." error for any file, and its parsers never throw', () => {
  let counter = 0;
  fc.assert(
    fc.property(FILTER_FILE, FILTER_FILE, LINES, (filterText, otherText, lines) => {
      const case_ = join(dir, `case${counter++}`);
      const path = `${case_}-self.conf`;
      writeFileSync(path, filterText.replaceAll('self.conf', `case${counter - 1}-self.conf`));
      writeFileSync(join(dir, 'other.conf'), otherText);
      const result = loadFail2banFilter(path, { mode: 'normal' });
      if (!result.ok) {
        assert.ok(result.error.message.startsWith(`filter ${path}: `), result.error.message);
        return;
      }
      const parser = result.filter.createParser({ referenceTime: 0 });
      lines.forEach((line, index) => {
        for (const event of parser.push(line, index + 1)) assert.equal(event.kind, 'auth_failure');
      });
      parser.flush();
    }),
    { numRuns: 300 },
  );
});
