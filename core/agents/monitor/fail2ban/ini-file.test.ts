import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIni, type IniDocument } from './ini-file.ts';

function parsed(text: string): IniDocument {
  const result = parseIni(text);
  assert.ok(result.ok, result.ok ? '' : `${result.error.line}: ${result.error.message}`);
  return result.document;
}

function valueOf(document: IniDocument, section: string, key: string): string | undefined {
  return document.sections.filter((s) => s.name === section).flatMap((s) => s.entries).findLast((e) => e.key === key)?.value;
}

test('sections hold key = value and key: value pairs, values trimmed', () => {
  const doc = parsed('[Definition]\nfailregex = ^fail from <HOST>  \n_daemon: sshd\n[Init]\nmode=normal\n');
  assert.deepEqual(
    doc.sections.map((s) => s.name),
    ['Definition', 'Init'],
  );
  assert.equal(valueOf(doc, 'Definition', 'failregex'), '^fail from <HOST>');
  assert.equal(valueOf(doc, 'Definition', '_daemon'), 'sshd');
  assert.equal(valueOf(doc, 'Init', 'mode'), 'normal');
});

test('the key ends at the first = or :, so values keep theirs', () => {
  const doc = parsed('[S]\njournalmatch = _SYSTEMD_UNIT=sshd.service + _COMM=sshd\nre = ^a: b=c\n');
  assert.equal(valueOf(doc, 'S', 'journalmatch'), '_SYSTEMD_UNIT=sshd.service + _COMM=sshd');
  assert.equal(valueOf(doc, 'S', 're'), '^a: b=c');
});

test('indented lines continue a value, one regex per line; comment lines inside are dropped', () => {
  const text = ['[Definition]', 'failregex = ^first <HOST>$', '            ^second <HOST>$', '#           ^commented out', '            ^third <HOST>$', 'ignoreregex ='].join('\n');
  const doc = parsed(text);
  assert.equal(valueOf(doc, 'Definition', 'failregex'), '^first <HOST>$\n^second <HOST>$\n^third <HOST>$');
  assert.equal(valueOf(doc, 'Definition', 'ignoreregex'), '');
  const entry = doc.sections[0]?.entries[0];
  assert.deepEqual(entry?.valueLines, [2, 3, 5], 'each value line keeps its line number');
});

test('a blank line inside a value is kept only if an indented line follows it', () => {
  const doc = parsed('[S]\na = one\n\n    two\n\nb = three\n\n');
  assert.equal(valueOf(doc, 'S', 'a'), 'one\n\ntwo');
  assert.equal(valueOf(doc, 'S', 'b'), 'three');
});

test('comments: # and ; at line start, and " ;" inline; a ; without space before it is data', () => {
  const doc = parsed('# file comment\n; another\n[S]\n  # indented comment\nkey = value ; inline comment\nre = SSH: Server;Ltype: x\n');
  assert.equal(valueOf(doc, 'S', 'key'), 'value');
  assert.equal(valueOf(doc, 'S', 're'), 'SSH: Server;Ltype: x');
});

test('CRLF line endings, a byte-order mark and trailing spaces after a header are accepted', () => {
  const doc = parsed('\ufeff[Definition] \r\nfailregex = ^x\r\n          ^y\r\n');
  assert.equal(doc.sections[0]?.name, 'Definition');
  assert.equal(valueOf(doc, 'Definition', 'failregex'), '^x\n^y');
});

test('a section may appear twice; both keep their entries in order', () => {
  const doc = parsed('[Definition]\na = 1\n[Init]\nb = 2\n[Definition]\na = 3\n');
  assert.equal(valueOf(doc, 'Definition', 'a'), '3');
  assert.equal(doc.sections.length, 3);
});

test('errors name the line: a key before any section, a line without =, a malformed header', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['key = value\n', 1, /before any \[section\]/],
    ['[S]\na = 1\njust words\n', 3, /expected 'key = value'/],
    ['[S]\n[broken\n', 2, /malformed section header/],
    ['[S]\n= no key\n', 2, /expected 'key = value'/],
  ];
  for (const [text, line, message] of cases) {
    const result = parseIni(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) {
      assert.equal(result.error.line, line, text);
      assert.match(result.error.message, message);
    }
  }
});
