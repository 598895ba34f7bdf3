/**
 * Builds the Electron shell with esbuild (run by `npm run build` after the renderer):
 *
 *   electron/main.ts    → dist/electron/main.cjs     Node 22 (Electron 45's), CommonJS, core bundled in
 *   electron/preload.ts → dist/electron/preload.cjs  sandboxed preload: one CommonJS file, only 'electron'
 *
 * Why CommonJS for main, although Electron 45 can load an ESM main: the sandboxed preload must be
 * CommonJS anyway; CJS gives __dirname inside app.asar without extra plumbing; and package.json
 * already names dist/electron/main.cjs. `import.meta.url` (ESM-only) is defined as the bundle's own
 * file URL, so code that resolves paths relative to its *source* file would point at dist/electron/
 * instead: the build lists any bundled module that uses import.meta so a reviewer can check it.
 *
 * Everything main needs from core/ is bundled in, so a package needs no core/** and no node_modules.
 * node:sqlite and the other node: built-ins stay external (Electron 45 ships Node 22 with sqlite).
 */
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'dist', 'electron');
/** Electron 45 runs Node 22 and a Chromium newer than 140: targets no syntax it lacks. */
const NODE_TARGET = 'node22';
const CHROME_TARGET = 'chrome140';

const mainOptions: BuildOptions = {
  absWorkingDir: ROOT,
  entryPoints: ['electron/main.ts'],
  outfile: join(OUT_DIR, 'main.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: NODE_TARGET,
  external: ['electron'],
  sourcemap: 'linked',
  banner: { js: "const __swarm_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  define: {
    'import.meta.url': '__swarm_import_meta_url',
    'import.meta.dirname': '__dirname',
    'import.meta.filename': '__filename',
  },
  metafile: true,
  logLevel: 'warning',
};

/**
 * The preload runs in a sandboxed renderer whose `require` knows only 'electron' (and a few
 * polyfills). Platform "browser" makes esbuild refuse any Node built-in at build time instead of
 * the preload failing at run time; the output is still CommonJS so `require('electron')` works.
 */
const preloadOptions: BuildOptions = {
  absWorkingDir: ROOT,
  entryPoints: ['electron/preload.ts'],
  outfile: join(OUT_DIR, 'preload.cjs'),
  bundle: true,
  platform: 'browser',
  format: 'cjs',
  target: CHROME_TARGET,
  external: ['electron'],
  metafile: true,
  logLevel: 'warning',
};

/** Bundled source files (outside node_modules) that use import.meta; see the header comment. */
function modulesUsingImportMeta(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs).filter((input) => {
    if (input.includes('node_modules') || input.startsWith('electron/')) return false;
    try {
      return /\bimport\.meta\b/.test(readFileSync(join(ROOT, input), 'utf8'));
    } catch {
      return false;
    }
  });
}

/** A sandboxed preload may require 'electron' only; anything else throws when the window opens. */
function checkPreloadRequires(): string[] {
  const code = readFileSync(join(OUT_DIR, 'preload.cjs'), 'utf8');
  const required = [...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? '');
  return required.filter((name) => name !== 'electron');
}

async function buildOne(name: string, options: BuildOptions): Promise<Metafile | null> {
  try {
    const result = await build(options);
    const out = relative(ROOT, String(options.outfile));
    const bytes = result.metafile ? (Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.cjs'))?.[1].bytes ?? 0) : 0;
    console.log(`electron build: ${name} → ${out} (${Math.round(bytes / 1024)} KiB)`);
    return result.metafile ?? null;
  } catch (err) {
    // esbuild already printed the located errors (logLevel warning).
    console.error(`electron build: ${name} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    return null;
  }
}

const [mainMeta, preloadMeta] = await Promise.all([buildOne('main', mainOptions), buildOne('preload', preloadOptions)]);
let failed = mainMeta === null || preloadMeta === null;

if (preloadMeta !== null) {
  const extra = checkPreloadRequires();
  if (extra.length > 0) {
    console.error(`electron build: preload.cjs requires ${extra.join(', ')}; a sandboxed preload may require only 'electron'`);
    failed = true;
  }
}
if (mainMeta !== null) {
  const metaUsers = modulesUsingImportMeta(mainMeta);
  if (metaUsers.length > 0) {
    console.warn(`electron build: these bundled modules use import.meta, which now refers to dist/electron/main.cjs: ${metaUsers.join(', ')}`);
  }
}
if (failed) process.exit(1);
