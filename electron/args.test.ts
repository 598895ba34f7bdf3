import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseShellArgs } from './args.ts';

const CWD = '/home/analyst';

describe('parseShellArgs', () => {
  test('defaults: lab decided by the service, state dir from SWARM_STATE_DIR or the default', () => {
    assert.deepEqual(parseShellArgs([], CWD), { ok: true, options: { lab: 'auto', stateDir: null, registry: null, hostname: null, help: false } });
  });

  test('--lab and --no-lab', () => {
    assert.deepEqual(parseShellArgs(['--lab'], CWD), { ok: true, options: { lab: 'always', stateDir: null, registry: null, hostname: null, help: false } });
    assert.deepEqual(parseShellArgs(['--no-lab'], CWD), { ok: true, options: { lab: 'never', stateDir: null, registry: null, hostname: null, help: false } });
    assert.deepEqual(parseShellArgs(['--lab', '--lab'], CWD), { ok: true, options: { lab: 'always', stateDir: null, registry: null, hostname: null, help: false } });
  });

  test('refuses --lab together with --no-lab', () => {
    const parsed = parseShellArgs(['--lab', '--no-lab'], CWD);
    assert.equal(parsed.ok, false);
    assert.match(parsed.ok ? '' : parsed.error, /--lab and --no-lab contradict/);
  });

  test('--state-dir DIR and --state-dir=DIR, resolved against the working directory', () => {
    assert.deepEqual(parseShellArgs(['--state-dir', 'lab-state'], CWD), { ok: true, options: { lab: 'auto', stateDir: '/home/analyst/lab-state', registry: null, hostname: null, help: false } });
    assert.deepEqual(parseShellArgs(['--state-dir=/var/lib/swarm'], CWD), { ok: true, options: { lab: 'auto', stateDir: '/var/lib/swarm', registry: null, hostname: null, help: false } });
  });

  test('--state-dir without a directory is an error', () => {
    for (const argv of [['--state-dir'], ['--state-dir='], ['--state-dir', '--lab']]) {
      const parsed = parseShellArgs(argv, CWD);
      assert.equal(parsed.ok, false, argv.join(' '));
      assert.match(parsed.ok ? '' : parsed.error, /--state-dir needs a value/);
    }
  });

  test('--registry and --hostname, as swarmctl console forwards them', () => {
    assert.deepEqual(parseShellArgs(['--no-lab', '--registry', '203.0.113.10:9000', '--hostname=soc-console'], CWD), {
      ok: true,
      options: { lab: 'never', stateDir: null, registry: '203.0.113.10:9000', hostname: 'soc-console', help: false },
    });
    const missing = parseShellArgs(['--registry'], CWD);
    assert.match(missing.ok ? '' : missing.error, /--registry needs a value, e\.g\. --registry 203\.0\.113\.10:9000/);
  });

  test('ignores the app path and the switches Electron, Chromium and Playwright add', () => {
    const argv = ['--inspect=0', '--remote-debugging-port=0', 'dist/electron/main.cjs', '--lab', '--state-dir', '/tmp/e2e-1', '--enable-logging', '--no-sandbox'];
    assert.deepEqual(parseShellArgs(argv, CWD), { ok: true, options: { lab: 'always', stateDir: '/tmp/e2e-1', registry: null, hostname: null, help: false } });
  });

  test('--help', () => {
    assert.deepEqual(parseShellArgs(['--help'], CWD), { ok: true, options: { lab: 'auto', stateDir: null, registry: null, hostname: null, help: true } });
  });
});
