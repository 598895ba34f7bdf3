import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { intOption, listOption, numberOption, parseVerbArgs, splitVerb, stateDirFrom, UsageError, type VerbSpec } from './args.ts';

const PING: VerbSpec = {
  options: { count: { type: 'string', short: 'c' }, interval: { type: 'string', short: 'i' } },
  positionals: ['PEER'],
  required: 1,
  usage: 'swarmctl [--state-dir DIR] ping PEER [-c COUNT] [-i INTERVAL_S]',
};

const HANDSHAKE: VerbSpec = {
  options: { want: { type: 'string', multiple: true }, wait: { type: 'string' } },
  positionals: ['PEER', 'JUSTIFICATION...'],
  required: 1,
  usage: 'swarmctl handshake PEER "JUSTIFICATION" [--want CAP]...',
};

const REJECT: VerbSpec = { options: {}, positionals: ['PEER', 'REASON'], required: 1, usage: 'swarmctl reject PEER [REASON]' };

function usageError(messagePattern: RegExp, usage?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    assert.equal(err.code, 'usage');
    assert.match(err.message, messagePattern);
    if (usage) assert.equal(err.hint, `usage: ${usage}`);
    return true;
  };
}

/** Runs `fn` with SWARM_STATE_DIR and HOME set as given, restoring them afterwards. */
function withEnv(t: TestContext, env: { SWARM_STATE_DIR?: string; HOME?: string }): void {
  const saved = { SWARM_STATE_DIR: process.env.SWARM_STATE_DIR, HOME: process.env.HOME };
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  for (const key of ['SWARM_STATE_DIR', 'HOME'] as const) {
    const value = env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

// ---- splitVerb -------------------------------------------------------------------------------

test('splitVerb finds the verb with global options before it, after it, or both', () => {
  assert.deepEqual(splitVerb(['ping', 'gcp-log-monitor']), { verb: 'ping', rest: ['gcp-log-monitor'] });
  assert.deepEqual(splitVerb(['--state-dir', '/tmp/o', 'handshake', 'gcp-log-monitor', 'needs the feed']), {
    verb: 'handshake',
    rest: ['--state-dir', '/tmp/o', 'gcp-log-monitor', 'needs the feed'],
  });
  assert.deepEqual(splitVerb(['pending', '--state-dir', '/tmp/m', '--json']), { verb: 'pending', rest: ['--state-dir', '/tmp/m', '--json'] });
  assert.deepEqual(splitVerb(['--json', 'approve', '--state-dir', '/tmp/m', 'orchestrator']), {
    verb: 'approve',
    rest: ['--json', '--state-dir', '/tmp/m', 'orchestrator'],
  });
  assert.deepEqual(splitVerb(['--state-dir=/tmp/o', 'info']), { verb: 'info', rest: ['--state-dir=/tmp/o'] });
});

test('splitVerb never takes the value of --state-dir for the verb, even when it looks like one', () => {
  assert.deepEqual(splitVerb(['--state-dir', 'ping', 'info']), { verb: 'info', rest: ['--state-dir', 'ping'] });
  assert.deepEqual(splitVerb(['--state-dir', 'daemon', 'daemon', 'status']), { verb: 'daemon status', rest: ['--state-dir', 'daemon'] });
});

test('splitVerb groups daemon and registry with their subverb', () => {
  assert.deepEqual(splitVerb(['daemon', 'start', '--hostname', 'gcp-log-monitor', '--registry', '127.0.0.1:9000']), {
    verb: 'daemon start',
    rest: ['--hostname', 'gcp-log-monitor', '--registry', '127.0.0.1:9000'],
  });
  assert.deepEqual(splitVerb(['--state-dir', '/tmp/o', 'daemon', 'stop']), { verb: 'daemon stop', rest: ['--state-dir', '/tmp/o'] });
  assert.deepEqual(splitVerb(['--json', 'daemon', '--foreground', 'start']), { verb: 'daemon start', rest: ['--json', '--foreground'] });
  assert.deepEqual(splitVerb(['registry', 'serve', '--listen', '127.0.0.1:9000']), { verb: 'registry serve', rest: ['--listen', '127.0.0.1:9000'] });
  // Only groups take a second word: a peer named "start" is a positional of ping.
  assert.deepEqual(splitVerb(['ping', 'start']), { verb: 'ping', rest: ['start'] });
  // A group without its subverb is reported by the caller.
  assert.deepEqual(splitVerb(['daemon']), { verb: 'daemon', rest: [] });
});

test('splitVerb skips the values of options that take one, even before the subverb', () => {
  const values = new Set(['--state-dir', '--hostname', '-c']);
  assert.deepEqual(splitVerb(['daemon', '--hostname', 'x', 'start'], values), { verb: 'daemon start', rest: ['--hostname', 'x'] });
  assert.deepEqual(splitVerb(['-c', '3', 'ping', 'peer'], values), { verb: 'ping', rest: ['-c', '3', 'peer'] });
});

test('splitVerb leaves option values after the verb in place', () => {
  assert.deepEqual(splitVerb(['ping', '-c', '3', 'gcp-log-monitor']), { verb: 'ping', rest: ['-c', '3', 'gcp-log-monitor'] });
  assert.deepEqual(splitVerb([]), { verb: '', rest: [] });
  assert.deepEqual(splitVerb(['--help']), { verb: '', rest: ['--help'] });
});

// ---- parseVerbArgs ---------------------------------------------------------------------------

test('parseVerbArgs takes verb options, global options and positionals in any order', () => {
  const { verb, rest } = splitVerb(['--state-dir', '/tmp/o', 'ping', 'gcp-log-monitor', '-c', '3', '--json', '-i', '0.2']);
  const parsed = parseVerbArgs(verb, PING, rest);
  assert.deepEqual(parsed.positionals, ['gcp-log-monitor']);
  assert.equal(parsed.values.count, '3');
  assert.equal(parsed.values.interval, '0.2');
  assert.equal(parsed.values.json, true);
  assert.equal(parsed.values['state-dir'], '/tmp/o');
  assert.equal(parseVerbArgs('ping', PING, ['--count=5', 'x']).values.count, '5');
});

test('--help needs none of the required arguments (swarmctl ping --help prints the usage)', () => {
  for (const argv of [['-h'], ['--help'], ['--json', '--help']]) {
    const parsed = parseVerbArgs('ping', PING, argv);
    assert.equal(parsed.values.help, true);
    assert.deepEqual(parsed.positionals, []);
  }
  assert.equal(parseVerbArgs('handshake', HANDSHAKE, ['--help']).values.help, true);
  // An unknown option is still reported, help or not.
  assert.throws(() => parseVerbArgs('ping', PING, ['--help', '--bogus']), usageError(/--bogus/));
});

test('an unknown option is a UsageError naming the option, the verb and the usage', () => {
  assert.throws(() => parseVerbArgs('ping', PING, ['gcp-log-monitor', '--bogus']), usageError(/unknown option '--bogus' for "swarmctl ping"/, PING.usage));
  assert.throws(() => parseVerbArgs('ping', PING, ['-z', 'x']), usageError(/unknown option '-z'/, PING.usage));
  // An option of another verb is unknown here.
  assert.throws(() => parseVerbArgs('ping', PING, ['x', '--want', 'events.subscribe']), usageError(/--want/, PING.usage));
});

test('option errors are one line', () => {
  for (const argv of [['--bogus', 'x'], ['x', '-c', '-5'], ['x', '-c']]) {
    assert.throws(() => parseVerbArgs('ping', PING, argv), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.ok(!err.message.includes('\n'), JSON.stringify(err.message));
      assert.ok(!/To specify a positional argument/.test(err.message));
      assert.match(err.message, /for "swarmctl ping"$/);
      return true;
    }, argv.join(' '));
  }
});

test('a string option without its value is a UsageError', () => {
  assert.throws(() => parseVerbArgs('ping', PING, ['x', '-c']), usageError(/-c|count/, PING.usage));
});

test('missing and extra positionals are UsageErrors with the usage', () => {
  assert.throws(() => parseVerbArgs('ping', PING, []), usageError(/missing PEER for "swarmctl ping"/, PING.usage));
  assert.throws(() => parseVerbArgs('ping', PING, ['--json']), usageError(/missing PEER/));
  assert.throws(() => parseVerbArgs('ping', PING, ['a', 'b']), usageError(/unexpected argument "b" for "swarmctl ping"/, PING.usage));
  assert.throws(() => parseVerbArgs('reject', REJECT, ['peer', 'reason', 'extra']), usageError(/unexpected argument "extra"/));
  assert.deepEqual(parseVerbArgs('reject', REJECT, ['peer']).positionals, ['peer'], 'optional positionals may be left out');
  assert.deepEqual(parseVerbArgs('reject', REJECT, ['peer', 'not today']).positionals, ['peer', 'not today']);
});

test('a variadic positional takes the rest of the words, joined by spaces', () => {
  assert.deepEqual(parseVerbArgs('handshake', HANDSHAKE, ['gcp-log-monitor', 'orchestrator', 'needs', 'the', 'feed']).positionals, [
    'gcp-log-monitor',
    'orchestrator needs the feed',
  ]);
  // Quoted (one word) and unquoted give the same result, and options may sit in between.
  assert.deepEqual(parseVerbArgs('handshake', HANDSHAKE, ['gcp-log-monitor', 'orchestrator needs the feed']).positionals, [
    'gcp-log-monitor',
    'orchestrator needs the feed',
  ]);
  const mixed = parseVerbArgs('handshake', HANDSHAKE, ['gcp-log-monitor', 'needs', '--want', 'events.subscribe', 'the', 'feed', '--want', 'data.exchange']);
  assert.deepEqual(mixed.positionals, ['gcp-log-monitor', 'needs the feed']);
  assert.deepEqual(mixed.values.want, ['events.subscribe', 'data.exchange']);
  assert.deepEqual(parseVerbArgs('handshake', HANDSHAKE, ['gcp-log-monitor']).positionals, ['gcp-log-monitor']);
  assert.throws(() => parseVerbArgs('handshake', HANDSHAKE, []), usageError(/missing PEER/));
  // After "--", words that look like options are text.
  assert.deepEqual(parseVerbArgs('handshake', HANDSHAKE, ['peer', '--', '--not-an-option', 'really']).positionals, ['peer', '--not-an-option really']);
});

// ---- option helpers -------------------------------------------------------------------------

test('intOption returns the fallback when absent and the number when within bounds', () => {
  assert.equal(intOption({}, 'count', 1, 100, 4), 4);
  assert.equal(intOption({ count: '1' }, 'count', 1, 100, 4), 1);
  assert.equal(intOption({ count: '100' }, 'count', 1, 100, 4), 100);
  assert.equal(intOption({ wait: '0' }, 'wait', 0, 3600, 0), 0);
});

test('intOption refuses values out of bounds or not whole decimal numbers', () => {
  for (const bad of ['0', '101', '3.5', 'abc', '1e2', '', ' 5 ', '0x10', '-1', 'Infinity']) {
    assert.throws(() => intOption({ count: bad }, 'count', 1, 100, 4), (err: unknown) => {
      usageError(/--count must be a whole number from 1 to 100/)(err);
      assert.equal((err as UsageError).hint, `got "${bad}"`);
      return true;
    }, `"${bad}" was accepted`);
  }
  assert.throws(() => intOption({ count: true }, 'count', 1, 100, 4), usageError(/--count/));
});

test('numberOption accepts fractions within bounds and refuses the rest', () => {
  assert.equal(numberOption({}, 'interval', 0.01, 60, 1), 1);
  assert.equal(numberOption({ interval: '0.2' }, 'interval', 0.01, 60, 1), 0.2);
  for (const bad of ['0', '61', 'fast', 'NaN', 'Infinity']) {
    assert.throws(() => numberOption({ interval: bad }, 'interval', 0.01, 60, 1), usageError(/--interval must be a number from 0.01 to 60/));
  }
});

test('listOption accepts repeated options and comma lists, trimmed, without empties', () => {
  assert.deepEqual(listOption({}, 'cap'), []);
  assert.deepEqual(listOption({ cap: ['events.subscribe', 'events.publish, mitigation.request', ''] }, 'cap'), [
    'events.subscribe',
    'events.publish',
    'mitigation.request',
  ]);
  assert.deepEqual(listOption({ cap: 'a,,b' }, 'cap'), ['a', 'b']);
});

// ---- state directory -------------------------------------------------------------------------

test('stateDirFrom: --state-dir wins over SWARM_STATE_DIR, which wins over ~/.swarm', (t) => {
  withEnv(t, { SWARM_STATE_DIR: '/srv/swarm-env', HOME: '/home/analyst' });
  assert.equal(stateDirFrom({ 'state-dir': '/tmp/o' }), '/tmp/o');
  assert.equal(stateDirFrom({}), '/srv/swarm-env');
  assert.equal(stateDirFrom({ 'state-dir': '' }), '/srv/swarm-env', 'an empty flag does not count');
  delete process.env.SWARM_STATE_DIR;
  assert.equal(stateDirFrom({}), join(homedir(), '.swarm'));
  assert.equal(stateDirFrom({}), '/home/analyst/.swarm');
});

test('stateDirFrom makes relative directories absolute', (t) => {
  withEnv(t, { SWARM_STATE_DIR: 'relative/env', HOME: '/home/analyst' });
  assert.equal(stateDirFrom({ 'state-dir': 'state' }), resolve('state'));
  assert.equal(stateDirFrom({}), resolve('relative/env'));
});

test('the walk-through command lines parse as a user types them', () => {
  const cases: Array<[string[], string, string[], Record<string, unknown>]> = [
    [['--state-dir', '/tmp/o', 'handshake', 'gcp-log-monitor', 'orchestrator needs the anomaly feed'], 'handshake', ['gcp-log-monitor', 'orchestrator needs the anomaly feed'], { 'state-dir': '/tmp/o' }],
    [['--state-dir', '/tmp/o', 'ping', 'gcp-log-monitor', '-c', '3'], 'ping', ['gcp-log-monitor'], { 'state-dir': '/tmp/o', count: '3' }],
  ];
  for (const [argv, verb, positionals, values] of cases) {
    const split = splitVerb(argv);
    assert.equal(split.verb, verb);
    const parsed = parseVerbArgs(split.verb, verb === 'ping' ? PING : HANDSHAKE, split.rest);
    assert.deepEqual(parsed.positionals, positionals);
    for (const [k, v] of Object.entries(values)) assert.equal(parsed.values[k], v);
  }
});
