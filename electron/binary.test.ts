import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findElectronBinary } from './binary.ts';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'swarm-electron-binary-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function installPackage(pathTxt?: string): string {
  const electronDir = join(root, 'node_modules', 'electron');
  mkdirSync(electronDir, { recursive: true });
  writeFileSync(join(electronDir, 'package.json'), '{"name":"electron","version":"45.4.1"}');
  if (pathTxt !== undefined) writeFileSync(join(electronDir, 'path.txt'), pathTxt);
  return electronDir;
}

function writeBinary(path: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, mode);
}

const NO_ENV: NodeJS.ProcessEnv = {};

describe('findElectronBinary', () => {
  test('finds the executable that path.txt names under node_modules/electron/dist', () => {
    const electronDir = installPackage('electron');
    writeBinary(join(electronDir, 'dist', 'electron'), 0o755);
    assert.deepEqual(findElectronBinary(root, NO_ENV, 'linux'), { path: join(electronDir, 'dist', 'electron') });
  });

  test('reports a missing npm package', () => {
    const found = findElectronBinary(root, NO_ENV, 'linux');
    assert.ok('missing' in found);
    assert.match(found.missing, /electron npm package is not installed/);
  });

  test('reports a binary that was never downloaded (no path.txt), without downloading it', () => {
    const electronDir = installPackage();
    const found = findElectronBinary(root, NO_ENV, 'linux');
    assert.ok('missing' in found);
    assert.match(found.missing, /never downloaded.*path\.txt/);
    assert.equal(existsSync(join(electronDir, 'dist')), false, 'nothing was fetched into dist/');
    assert.equal(existsSync(join(electronDir, 'path.txt')), false);
  });

  test('reports path.txt pointing at a file that is not there', () => {
    installPackage('electron');
    const found = findElectronBinary(root, NO_ENV, 'linux');
    assert.ok('missing' in found);
    assert.match(found.missing, /incomplete: .*dist\/electron does not exist/);
  });

  test('reports a binary without the execute bit', () => {
    const electronDir = installPackage('electron');
    writeBinary(join(electronDir, 'dist', 'electron'), 0o644);
    const found = findElectronBinary(root, NO_ENV, 'linux');
    assert.ok('missing' in found);
    assert.match(found.missing, /is not executable/);
  });

  test('on Windows an existing file is enough (no execute bit there)', () => {
    const electronDir = installPackage('electron.exe');
    writeBinary(join(electronDir, 'dist', 'electron.exe'), 0o644);
    assert.deepEqual(findElectronBinary(root, NO_ENV, 'win32'), { path: join(electronDir, 'dist', 'electron.exe') });
  });

  test('is a one-line reason', () => {
    installPackage();
    const found = findElectronBinary(root, NO_ENV, 'linux');
    assert.ok('missing' in found);
    assert.doesNotMatch(found.missing, /\n/);
  });

  describe('ELECTRON_OVERRIDE_DIST_PATH', () => {
    test('wins over node_modules and uses the name in path.txt', () => {
      const electronDir = installPackage('electron');
      writeBinary(join(electronDir, 'dist', 'electron'), 0o755);
      const override = join(root, 'custom-dist');
      writeBinary(join(override, 'electron'), 0o755);
      assert.deepEqual(findElectronBinary(root, { ELECTRON_OVERRIDE_DIST_PATH: override }, 'linux'), { path: join(override, 'electron') });
    });

    test('works without the npm package, with the platform default name', () => {
      const override = join(root, 'mac-dist');
      writeBinary(join(override, 'Electron.app', 'Contents', 'MacOS', 'Electron'), 0o755);
      assert.deepEqual(findElectronBinary(root, { ELECTRON_OVERRIDE_DIST_PATH: override }, 'darwin'), { path: join(override, 'Electron.app', 'Contents', 'MacOS', 'Electron') });
    });

    test('says the override is wrong rather than falling back silently', () => {
      const electronDir = installPackage('electron');
      writeBinary(join(electronDir, 'dist', 'electron'), 0o755);
      const found = findElectronBinary(root, { ELECTRON_OVERRIDE_DIST_PATH: join(root, 'nowhere') }, 'linux');
      assert.ok('missing' in found);
      assert.match(found.missing, /^ELECTRON_OVERRIDE_DIST_PATH is set but .*nowhere\/electron does not exist/);
    });

    test('an empty value counts as unset', () => {
      const electronDir = installPackage('electron');
      writeBinary(join(electronDir, 'dist', 'electron'), 0o755);
      assert.deepEqual(findElectronBinary(root, { ELECTRON_OVERRIDE_DIST_PATH: '' }, 'linux'), { path: join(electronDir, 'dist', 'electron') });
    });
  });

  test('answers for this repository without side effects', () => {
    const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
    const pathTxt = join(repo, 'node_modules', 'electron', 'path.txt');
    const hadPathTxt = existsSync(pathTxt);
    const found = findElectronBinary(repo, NO_ENV);
    assert.ok('path' in found ? existsSync(found.path) : found.missing.length > 0);
    assert.equal(existsSync(pathTxt), hadPathTxt, 'looking did not install anything');
  });
});
