/**
 * Finds the Electron executable without ever downloading it.
 *
 * `require('electron')` from plain Node resolves the same path, but when the binary is missing
 * it runs the package's install script, which downloads ~100 MB from GitHub (and hangs or fails
 * on machines without that access). Launchers (`npm start`, the CLI, the e2e spec) call this
 * instead and fall back to web mode with the one-line reason in `missing`.
 *
 * Dependency-free on purpose (node:fs and node:path only): core/cli carries a copy of this logic.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export type ElectronBinary = { path: string } | { missing: string };

/** Executable name inside the dist directory when path.txt is absent (as electron's index.js does). */
function defaultExecutable(platform: NodeJS.Platform): string {
  if (platform === 'win32') return 'electron.exe';
  if (platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron';
  return 'electron';
}

function readPathTxt(electronDir: string): string | null {
  try {
    const text = readFileSync(join(electronDir, 'path.txt'), 'utf8').trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}

function checkExecutable(path: string, platform: NodeJS.Platform): string | null {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    return `${path} does not exist`;
  }
  if (!isFile) return `${path} is not a file`;
  if (platform === 'win32') return null; // Windows has no execute bit
  try {
    accessSync(path, constants.X_OK);
    return null;
  } catch {
    return `${path} is not executable (chmod +x it)`;
  }
}

/**
 * @param packageRoot the directory holding node_modules/electron (the repository root)
 * @param env honours ELECTRON_OVERRIDE_DIST_PATH like electron's own index.js
 */
export function findElectronBinary(packageRoot: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): ElectronBinary {
  const electronDir = join(packageRoot, 'node_modules', 'electron');
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override !== undefined && override !== '') {
    const path = join(override, readPathTxt(electronDir) ?? defaultExecutable(platform));
    const problem = checkExecutable(path, platform);
    return problem === null ? { path } : { missing: `ELECTRON_OVERRIDE_DIST_PATH is set but ${problem}` };
  }
  try {
    statSync(join(electronDir, 'package.json'));
  } catch {
    return { missing: `the electron npm package is not installed in ${packageRoot} (run npm ci)` };
  }
  const relative = readPathTxt(electronDir);
  if (relative === null) {
    return { missing: 'the Electron binary was never downloaded (node_modules/electron/path.txt is missing; run `node node_modules/electron/install.js` where GitHub is reachable, or set ELECTRON_OVERRIDE_DIST_PATH)' };
  }
  const path = join(electronDir, 'dist', relative);
  const problem = checkExecutable(path, platform);
  return problem === null ? { path } : { missing: `the Electron binary is incomplete: ${problem} (reinstall it with \`node node_modules/electron/install.js\`)` };
}
