/**
 * electron-builder.yml, checked without packaging (packaging needs the Electron binary, which
 * cannot be downloaded here): electron-builder's own loader and schema validation, the targets we
 * promise, the icons (real PNG/ICO files of the right size), and that `files` ships exactly what
 * `npm run build` produces.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

interface TargetConfig {
  target?: (string | { target: string })[] | string;
  icon?: string;
  category?: string;
  maintainer?: string;
  synopsis?: string;
  hardenedRuntime?: boolean;
}

interface BuilderConfig {
  appId?: string;
  productName?: string;
  asar?: boolean;
  directories?: { output?: string; buildResources?: string };
  files?: (string | { filter?: string[] })[];
  linux?: TargetConfig;
  mac?: TargetConfig;
  win?: TargetConfig;
  nsis?: { oneClick?: boolean; perMachine?: boolean };
  electronFuses?: Record<string, boolean>;
}

// electron-builder's own config loading and validation (what `electron-builder --config` runs first).
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
  getConfig(projectDir: string, configPath: string, configFromOptions: null): Promise<BuilderConfig>;
  validateConfiguration(config: BuilderConfig, debugLogger: unknown): Promise<void>;
};
const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };

let config: BuilderConfig;

before(async () => {
  config = await getConfig(ROOT, 'electron-builder.yml', null);
});

function targets(platform: TargetConfig | undefined): string[] {
  const list = platform?.target;
  if (list === undefined) return [];
  return (Array.isArray(list) ? list : [list]).map((t) => (typeof t === 'string' ? t : t.target));
}

function fileGlobs(): string[] {
  return (config.files ?? []).flatMap((entry) => (typeof entry === 'string' ? [entry] : (entry.filter ?? [])));
}

/** The globs used here are `dir/**`, exact paths and `!`-negations of those. */
function globMatches(glob: string, path: string): boolean {
  if (glob.endsWith('/**')) return path.startsWith(`${glob.slice(0, -3)}/`);
  return path === glob || path.startsWith(`${glob}/`);
}

function shipped(path: string): boolean {
  let included = false;
  for (const glob of fileGlobs()) {
    if (glob.startsWith('!')) {
      if (globMatches(glob.slice(1), path)) included = false;
    } else if (globMatches(glob, path)) {
      included = true;
    }
  }
  return included;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  pixels: Buffer | null;
}

/** Reads the IHDR (and, for filter-0 RGBA images, the pixels) of a PNG. */
function readPng(bytes: Buffer): PngInfo {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(bytes.toString('latin1', 12, 16), 'IHDR', 'first chunk is IHDR');
  const info = { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), bitDepth: bytes.readUInt8(24), colorType: bytes.readUInt8(25) };
  const idat: Buffer[] = [];
  for (let offset = 8; offset < bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    if (type === 'IDAT') idat.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = info.width * 4 + 1;
  const unfiltered = info.colorType === 6 && info.bitDepth === 8 && raw.length === stride * info.height && [...Array(info.height).keys()].every((y) => raw[y * stride] === 0);
  return { ...info, pixels: unfiltered ? raw : null };
}

function alphaAt(png: PngInfo, x: number, y: number): number {
  assert.ok(png.pixels, 'pixels readable');
  return png.pixels[y * (png.width * 4 + 1) + 1 + x * 4 + 3] ?? -1;
}

describe('electron-builder.yml', () => {
  test('passes electron-builder\'s own schema validation', async () => {
    await validateConfiguration(config, new DebugLogger(false));
  });

  test('identifies the app and writes packages to dist/packages as asar', () => {
    assert.equal(config.appId, 'io.swarmsoc.console');
    assert.equal(config.productName, 'Swarm SOC');
    assert.equal(config.directories?.output, 'dist/packages');
    assert.equal(config.asar, true);
  });

  test('targets AppImage and deb, dmg, and a per-user NSIS installer', () => {
    assert.deepEqual(targets(config.linux).sort(), ['AppImage', 'deb']);
    assert.ok(config.linux?.category, 'linux category');
    assert.match(config.linux?.maintainer ?? '', /<.+@.+>/, 'deb maintainer with e-mail');
    assert.ok(config.linux?.synopsis, 'deb synopsis');
    assert.deepEqual(targets(config.mac), ['dmg']);
    assert.equal(config.mac?.category, 'public.app-category.developer-tools');
    assert.equal(config.mac?.hardenedRuntime, true);
    assert.deepEqual(targets(config.win), ['nsis']);
    assert.equal(config.nsis?.oneClick, false);
    assert.equal(config.nsis?.perMachine, false);
  });

  test('flips the fuses that would let others run the binary as Node or load other code', () => {
    assert.equal(config.electronFuses?.runAsNode, false);
    assert.equal(config.electronFuses?.enableNodeOptionsEnvironmentVariable, false);
    assert.equal(config.electronFuses?.enableNodeCliInspectArguments, false);
    assert.equal(config.electronFuses?.onlyLoadAppFromAsar, true);
  });

  test('ships what npm run build produces, and no sources or node_modules', () => {
    const main = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string }).main;
    assert.equal(main, 'dist/electron/main.cjs');
    for (const path of [main, 'dist/electron/preload.cjs', 'dist/renderer/index.html', 'dist/renderer/app.js', 'package.json']) {
      assert.ok(shipped(path), `${path} is packaged`);
    }
    for (const path of ['core/console/service.ts', 'electron/main.ts', 'renderer/src/main.tsx', 'node_modules/ws/index.js', 'dist/packages/Swarm SOC.AppImage', 'assets/render-icon.ts']) {
      assert.equal(shipped(path), false, `${path} is not packaged`);
    }
  });

  test('every file of an existing build is packaged', (t) => {
    const built = [...filesUnder('dist/electron'), ...filesUnder('dist/renderer')];
    if (built.length === 0) {
      t.skip('dist/ is not built (npm run build)');
      return;
    }
    for (const path of built) assert.ok(shipped(path), `${path} is packaged`);
  });
});

describe('icons', () => {
  test('Linux and macOS use assets/icon.png: a 512×512 RGBA PNG, shield opaque, corners clear', () => {
    assert.equal(config.linux?.icon, 'assets/icon.png');
    assert.equal(config.mac?.icon, 'assets/icon.png');
    const png = readPng(readFileSync(join(ROOT, 'assets', 'icon.png')));
    assert.deepEqual([png.width, png.height], [512, 512]);
    assert.equal(png.bitDepth, 8);
    assert.equal(png.colorType, 6, 'RGBA');
    assert.equal(alphaAt(png, 256, 256), 255, 'centre of the shield is opaque');
    assert.equal(alphaAt(png, 256, 120), 255, 'shield body is opaque');
    for (const [x, y] of [[0, 0], [511, 0], [0, 511], [511, 511]] as const) assert.equal(alphaAt(png, x, y), 0, `corner ${x},${y} is transparent`);
  });

  test('Windows uses assets/icon.ico: PNG images up to 256 px whose headers match their entries', () => {
    assert.equal(config.win?.icon, 'assets/icon.ico');
    const ico = readFileSync(join(ROOT, 'assets', 'icon.ico'));
    assert.equal(ico.readUInt16LE(0), 0, 'reserved');
    assert.equal(ico.readUInt16LE(2), 1, 'type icon');
    const count = ico.readUInt16LE(4);
    const sizes: number[] = [];
    for (let i = 0; i < count; i++) {
      const entry = 6 + 16 * i;
      const declared = ico.readUInt8(entry) || 256;
      const length = ico.readUInt32LE(entry + 8);
      const offset = ico.readUInt32LE(entry + 12);
      const png = readPng(ico.subarray(offset, offset + length));
      assert.deepEqual([png.width, png.height], [declared, declared], `entry ${i}`);
      sizes.push(declared);
    }
    assert.ok(sizes.includes(256), 'has the 256 px image electron-builder requires');
    assert.ok(sizes.includes(16) && sizes.includes(32), 'has small sizes for title bars and lists');
  });

  test('the SVG source is there', () => {
    assert.match(readFileSync(join(ROOT, 'assets', 'icon.svg'), 'utf8'), /^<svg [^>]*viewBox="0 0 512 512"/);
  });
});
