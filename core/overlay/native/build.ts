/**
 * Builds the optional native AES-256-GCM module (aes_gcm.c) into dist/native/aes_gcm.node; run by
 * `npm run build` (so by `npm start` and `npm test`).
 *
 * It is one C file against Node-API (headers from the node-api-headers package) and the OpenSSL
 * inside the Node process, so a C compiler is all it needs: no node-gyp, no Python, no download.
 * Without a compiler, or on a platform this script does not handle, it says so in one line and
 * exits 0: the overlay then seals with node:crypto (correct, about 40 % slower on the packet path).
 * Set SWARM_REQUIRE_NATIVE=1 (CI does) to make a failed build an error instead.
 *
 * Usage: node core/overlay/native/build.ts [--quiet]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const SOURCE = join(HERE, 'aes_gcm.c');
export const NATIVE_MODULE_PATH = join(ROOT, 'dist', 'native', 'aes_gcm.node');

const quiet = process.argv.includes('--quiet');
const required = process.env.SWARM_REQUIRE_NATIVE === '1';

function nodeApiIncludeDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('node-api-headers/package.json')), 'include');
}

/** Compiler flags per platform; null where we do not build (Windows would need node.lib). */
function platformFlags(): string[] | null {
  switch (process.platform) {
    case 'linux':
      return ['-shared', '-fPIC'];
    case 'darwin':
      // napi_* and EVP_* resolve against the node executable when the module is loaded.
      return ['-bundle', '-undefined', 'dynamic_lookup'];
    default:
      return null;
  }
}

async function main(): Promise<number> {
  const flags = platformFlags();
  if (!flags) return skip(`no native build on ${process.platform}`);
  const compiler = process.env.CC ?? 'cc';
  const temporary = `${NATIVE_MODULE_PATH}.${process.pid}.tmp`;
  mkdirSync(dirname(NATIVE_MODULE_PATH), { recursive: true });
  const args = [
    '-O2',
    '-std=c11',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fvisibility=hidden',
    '-fstack-protector-strong',
    '-D_FORTIFY_SOURCE=2',
    ...flags,
    '-I',
    nodeApiIncludeDir(),
    SOURCE,
    '-o',
    temporary,
  ];
  try {
    await promisify(execFile)(compiler, args, { timeout: 120_000 });
  } catch (err) {
    rmSync(temporary, { force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const reason = e.code === 'ENOENT' ? `no C compiler (${compiler}) found: install gcc (Debian: apt-get install gcc libc6-dev)` : (e.stderr?.trim() || e.message).split('\n').slice(0, 5).join('\n');
    return skip(reason);
  }
  // Rename into place so a running daemon never loads a half-written file.
  renameSync(temporary, NATIVE_MODULE_PATH);
  if (!quiet) console.log(`native AES-GCM: built ${NATIVE_MODULE_PATH}`);
  return 0;
}

function skip(reason: string): number {
  const line = `native AES-GCM not built: ${reason}. The overlay will use node:crypto (slower packet path).`;
  if (required) {
    console.error(`${line}\nSWARM_REQUIRE_NATIVE=1 is set, so this is an error.`);
    return 1;
  }
  console.warn(line);
  return 0;
}

process.exitCode = await main();
