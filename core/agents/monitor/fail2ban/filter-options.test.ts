import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readFilterOptions, type FilterOptions } from './filter-options.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'f2b-options-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function options(path: string, vars: Record<string, string> = {}): FilterOptions {
  const result = readFilterOptions(path, vars);
  assert.ok(result.ok, result.ok ? '' : `${result.error.code}: ${result.error.message}`);
  return result.options;
}

function value(opts: FilterOptions, key: string): string | null {
  const expansion = opts.expand(key);
  if (expansion === null) return null;
  assert.ok(expansion.ok, expansion.ok ? '' : expansion.error.message);
  return expansion.value;
}

test('%(name)s reads the same section, then [DEFAULT]; %% is a literal percent', () => {
  const path = write(
    'interp.conf',
    ['[DEFAULT]', '_daemon = sshd', '__pid = \\[\\d+\\]', '[Definition]', 'pre = %(_daemon)s%(__pid)s:', 'failregex = ^%(pre)s fail from <HOST>', 'datepattern = %%Y-%%m-%%d'].join('\n'),
  );
  const opts = options(path);
  assert.equal(value(opts, 'failregex'), '^sshd\\[\\d+\\]: fail from <HOST>');
  assert.equal(value(opts, 'datepattern'), '%Y-%m-%d');
});

test('%(section/name)s and %(default/name)s reach other sections', () => {
  const path = write('cross.conf', ['[DEFAULT]', 'x = from-default', '[lt_file]', 'prefix = file-prefix', '[Definition]', 'x = own', 'a = %(lt_file/prefix)s %(default/x)s %(x)s'].join('\n'));
  assert.equal(value(options(path), 'a'), 'file-prefix from-default own');
});

test('includes: before is read first, after last, both relative to the including file', () => {
  write('sub/common.conf', '[INCLUDES]\nafter = common.local\n[DEFAULT]\n_daemon = \\S*\nwho = common\n');
  write('sub/late.conf', '[Definition]\nlate = yes\nwho = late\n');
  const path = write('sub/f.conf', '[INCLUDES]\nbefore = common.conf\nafter = late.conf\n[DEFAULT]\n_daemon = mydaemon\n[Definition]\nwho = filter\nfailregex = <_daemon> %(who)s\n');
  const opts = options(path);
  assert.equal(value(opts, 'failregex'), 'mydaemon late', 'the filter overrides common.conf; late.conf (after) overrides the filter');
  assert.equal(value(opts, 'late'), 'yes');
  assert.deepEqual(opts.files, [join(dir, 'sub/common.conf'), join(dir, 'sub/f.conf'), join(dir, 'sub/late.conf')], 'a missing common.local is skipped silently');
});

test('a .local beside the filter overrides it, and %(known/x)s extends the earlier value', () => {
  write('ext.local', '[Definition]\nfailregex = %(known/failregex)s\n            ^local <HOST>\nignoreregex = ^noise\n');
  const path = write('ext.conf', '[Definition]\nfailregex = ^stock <HOST>\nignoreregex =\n');
  const opts = options(path);
  assert.equal(value(opts, 'failregex'), '^stock <HOST>\n^local <HOST>');
  assert.equal(value(opts, 'ignoreregex'), '^noise');
});

test('[Init] overrides [Definition]; caller options override both', () => {
  const path = write('layers.conf', '[Definition]\nmode = normal\nport = 22\nfailregex = <mode> <port>\n[Init]\nport = 2222\n');
  assert.equal(value(options(path), 'failregex'), 'normal 2222');
  assert.equal(value(options(path, { mode: 'aggressive', port: '22%' }), 'failregex'), 'aggressive 22%', 'caller values are literal, % included');
});

test('<tag> substitution works innermost first (<mdre-<mode>>), across sections and with <known/x>', () => {
  const path = write(
    'tags.conf',
    [
      '[DEFAULT]',
      'logtype = file',
      '__prefix_line = <lt_<logtype>/__prefix_line>',
      '[lt_file]',
      '__prefix_line = FILE-PREFIX',
      '[Definition]',
      'mode = normal',
      'mdre-normal = ^normal <HOST>',
      'mdre-aggressive = ^aggr <HOST>',
      '                  <mdre-normal>',
      'failregex = <__prefix_line> <mdre-<mode>>',
      'bad = <known/bad> more',
      '[Init]',
      'bad = base',
    ].join('\n'),
  );
  assert.equal(value(options(path), 'failregex'), 'FILE-PREFIX ^normal <HOST>');
  assert.equal(value(options(path, { mode: 'aggressive' }), 'failregex'), 'FILE-PREFIX ^aggr <HOST>\n^normal <HOST>');
  assert.equal(value(options(path, { bad: 'extra|<known/bad>' }), 'bad'), 'extra|base');
});

test('regex tags and Python group syntax are never taken for options', () => {
  const path = write('regex.conf', '[Definition]\nHOST = wrong\nuser = wrong\nfailregex = ^(?P<user>\\S+) from <HOST> <F-USER>x</F-USER> (?P=user)\n');
  assert.equal(value(options(path), 'failregex'), '^(?P<user>\\S+) from <HOST> <F-USER>x</F-USER> (?P=user)');
});

test('loops are reported, not followed: includes, interpolation, tags', () => {
  write('loop-a.conf', '[INCLUDES]\nbefore = loop-b.conf\n[Definition]\nfailregex = x\n');
  write('loop-b.conf', '[INCLUDES]\nbefore = loop-a.conf\n');
  const include = readFilterOptions(join(dir, 'loop-a.conf'));
  assert.equal(include.ok, false);
  if (!include.ok) {
    assert.equal(include.error.code, 'include_loop');
    assert.match(include.error.message, /loop-a\.conf -> .*loop-b\.conf -> .*loop-a\.conf/);
  }
  const interp = options(write('loop-i.conf', '[Definition]\na = %(b)s\nb = %(a)s\n')).expand('a');
  assert.ok(interp !== null && !interp.ok);
  if (interp !== null && !interp.ok) {
    assert.equal(interp.error.code, 'interpolation');
    assert.match(interp.error.message, /loop/);
    assert.equal(interp.error.line, 3);
  }
  const tags = options(write('loop-t.conf', '[Definition]\na = <b>\nb = x<a>\n')).expand('a');
  assert.ok(tags !== null && !tags.ok);
  if (tags !== null && !tags.ok) {
    assert.equal(tags.error.code, 'tag_substitution');
    assert.match(tags.error.message, /tag loop: <a> -> <b> -> <a>/);
  }
});

test('errors name the file and line: a missing include, an undefined %(name)s, a stray %', () => {
  const missing = readFilterOptions(write('miss.conf', '[INCLUDES]\nbefore = nowhere.conf\n[Definition]\nfailregex = x\n'));
  assert.equal(missing.ok, false);
  if (!missing.ok) {
    assert.equal(missing.error.code, 'include_missing');
    assert.equal(missing.error.file, join(dir, 'miss.conf'));
    assert.equal(missing.error.line, 2);
    assert.match(missing.error.message, /nowhere\.conf/);
  }
  const undefinedRef = options(write('undef.conf', '[Definition]\n\nfailregex = ^%(nothing)s\n')).expand('failregex');
  assert.ok(undefinedRef !== null && !undefinedRef.ok);
  if (undefinedRef !== null && !undefinedRef.ok) {
    assert.equal(undefinedRef.error.line, 3);
    assert.match(undefinedRef.error.message, /%\(nothing\)s, which is not defined/);
  }
  const stray = options(write('stray.conf', '[Definition]\ndatepattern = %Y\n')).expand('datepattern');
  assert.ok(stray !== null && !stray.ok);
  if (stray !== null && !stray.ok) assert.match(stray.error.message, /write %% for a literal percent/);
  const unreadable = readFilterOptions(join(dir, 'does-not-exist.conf'));
  assert.equal(unreadable.ok, false);
  if (!unreadable.ok) assert.equal(unreadable.error.code, 'file_unreadable');
  const syntax = readFilterOptions(write('syntax.conf', '[Definition]\nfailregex = x\nnot a pair\n'));
  assert.equal(syntax.ok, false);
  if (!syntax.ok) {
    assert.equal(syntax.error.code, 'ini_syntax');
    assert.equal(syntax.error.line, 3);
  }
});

test('an absent option is null, not an error', () => {
  assert.equal(options(write('absent.conf', '[Definition]\nfailregex = x\n')).expand('prefregex'), null);
});
