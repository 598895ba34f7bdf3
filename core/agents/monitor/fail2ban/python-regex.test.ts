import assert from 'node:assert/strict';
import { test } from 'node:test';
import { translatePythonRegex, type TranslatedRegex } from './python-regex.ts';

function translated(pattern: string, options: Parameters<typeof translatePythonRegex>[1] = {}): TranslatedRegex {
  const result = translatePythonRegex(pattern, options);
  assert.ok(result.ok, result.ok ? '' : `${pattern}: ${result.error.message} at ${result.error.position}`);
  return result.regex;
}

/** Python's re.search(pattern, input): [whole match, ...the pattern's own groups] or null. */
function search(pattern: string, input: string): Array<string | null> | null {
  const regex = translated(pattern);
  const match = new RegExp(regex.source, regex.flags).exec(input);
  if (match === null) return null;
  return [match[0], ...regex.groups.map((g) => match[g.jsIndex] ?? null)];
}

// Expected values are what CPython 3.11's re.search returns for the same pattern and input.
const SEMANTICS: Array<[string, string, Array<string | null> | null]> = [
  ['(?P<x>a)(?P=x)', 'baab', ['aa', 'a']],
  ['(?P<x>a)(?P=x)', 'ab', null],
  ['(a)(b)\\2\\1', 'abba', ['abba', 'a', 'b']],
  ['(?i)abc', 'xaBCy', ['aBC']],
  ['(?i:a[b-d])e', 'ADe', ['ADe']],
  ['(?i:a[b-d])e', 'ADE', null],
  ['\\Aab\\Z', 'ab', ['ab']],
  ['\\Aab\\Z', 'ab\n', null],
  ['ab$', 'ab\n', ['ab']],
  ['ab$', 'ab\nc', null],
  ['(?m)^b$', 'a\nb\nc', ['b']],
  ['a{,2}b', 'aaab', ['aab']],
  ['a{x}', 'a{x}', ['a{x}']],
  ['a{2,3}?', 'aaaa', ['aa']],
  ['(?>a+)b', 'aaab', ['aaab']],
  ['(?>a+)a', 'aaaa', null],
  ['a++a', 'aaaa', null],
  ['(?s)a.b', 'a\nb', ['a\nb']],
  ['a.b', 'a\nb', null],
  ['a.b', 'a\rb', ['a\rb']],
  ['[]a]+', ']a]x', [']a]']],
  ['[^]a]+', 'xy]', ['xy']],
  ['\\141\\x41', 'aA', ['aA']],
  ['(?x) a b # comment\n c', 'abc', ['abc']],
  ['(?#comment)x', 'x', ['x']],
  ['[\\w.-]+@', 'a.b-c@', ['a.b-c@']],
  ['(a)?(?(1)b|c)$', 'ab', ['ab', 'a']],
  ['(a)?(?(1)b|c)$', 'ac', ['c', null]],
  ['(a)?(?(1)b|c)$', 'b', null],
  // sshd.conf's "Failed <method> for [invalid user ]<user> from <host>" with two conditionals
  [
    '(?P<inv>invalid user )?(?P<user>(?P<plain>\\S+)|(?(inv)(?:(?! from ).)*?|[^:]+)) from (?P<host>\\S+)(?(plain): |(?:(?:(?! from ).)*)$)',
    'invalid user a b from 1.2.3.4',
    ['invalid user a b from 1.2.3.4', 'invalid user ', 'a b', null, '1.2.3.4'],
  ],
  [
    '(?P<inv>invalid user )?(?P<user>(?P<plain>\\S+)|(?(inv)(?:(?! from ).)*?|[^:]+)) from (?P<host>\\S+)(?(plain): |(?:(?:(?! from ).)*)$)',
    'ro ot from 1.2.3.4 port 1',
    ['ro ot from 1.2.3.4 port 1', null, 'ro ot', null, '1.2.3.4'],
  ],
];

test('translated patterns match what Python matches, with the same groups', () => {
  for (const [pattern, input, expected] of SEMANTICS) {
    assert.deepEqual(search(pattern, input), expected, `re.search(${JSON.stringify(pattern)}, ${JSON.stringify(input)})`);
  }
});

test('named groups keep their names; numbering of the pattern groups survives helper groups', () => {
  const regex = translated('(?P<cond>x)?(?(cond)y|z)(?>(?P<after>w))(\\d)');
  assert.deepEqual(
    regex.groups.map((g) => g.name),
    ['cond', 'after', null],
  );
  const match = new RegExp(regex.source, regex.flags).exec('xyw7');
  assert.ok(match !== null);
  assert.deepEqual(
    regex.groups.map((g) => match[g.jsIndex]),
    ['x', 'w', '7'],
  );
});

test('an inline flag inside a group applies to the rest of that group only (as fail2ban reads postfix.conf)', () => {
  assert.deepEqual(search('SASL ((?i)LOGIN|PLAIN) failed', 'SASL login failed'), ['SASL login failed', 'login']);
  assert.deepEqual(search('SASL ((?i)LOGIN|PLAIN) failed', 'SASL plain failed'), ['SASL plain failed', 'plain']);
  assert.equal(search('SASL ((?i)LOGIN|PLAIN) failed', 'SASL login FAILED'), null);
});

test('repeatable names: a tag group used twice is renamed, a filter author group twice is an error', () => {
  const regex = translated('(?P<f2b_ip4>a)|(?P<f2b_ip4>b)', { repeatableNamePrefix: 'f2b_' });
  assert.deepEqual(
    regex.groups.map((g) => g.name),
    ['f2b_ip4', 'f2b_ip4__dup2'],
  );
  const duplicate = translatePythonRegex('(?P<x>a)|(?P<x>b)');
  assert.equal(duplicate.ok, false);
});

test('what cannot be translated is an error with the offending position', () => {
  const cases: Array<[string, RegExp, number]> = [
    ['ab\\q', /bad escape \\q/, 2],
    ['(ab', /missing \), unterminated subpattern/, 0],
    ['ab)', /unbalanced parenthesis/, 2],
    ['x(?P=nope)', /unknown group name 'nope'/, 5],
    ['x(?i)y', /global flags not at the start/, 1],
    ['(a)(?i:\\1)', /no JavaScript equivalent/, 7],
    ['(?L)x', /locale flag/, 0],
    ['\\N{DASH}', /named Unicode escapes/, 0],
    ['*a', /nothing to repeat/, 0],
    ['a**', /multiple repeat/, 2],
    ['[z-a]', /bad character range/, 2],
    ['[abc', /unterminated character set/, 0],
    ['(a)(?(2)b)', /invalid group reference 2/, 6],
    ['(?(1)a|b|c)', /invalid group reference|more than two branches/, 3],
    ['a{3,2}', /min repeat greater than max repeat/, 1],
    ['(?Q)', /unknown extension/, 0],
  ];
  for (const [pattern, message, position] of cases) {
    const result = translatePythonRegex(pattern);
    assert.equal(result.ok, false, pattern);
    if (!result.ok) {
      assert.match(result.error.message, message, pattern);
      assert.equal(result.error.position, position, `position for ${pattern}`);
    }
  }
});

test('literal JavaScript-special characters are escaped; the result never needs the u flag', () => {
  const regex = translated('a/b{c}\\-\\]');
  assert.equal(regex.flags, '');
  assert.ok(new RegExp(regex.source, 'u').test('a/b{c}-]'), 'valid and equivalent even in unicode mode');
});
