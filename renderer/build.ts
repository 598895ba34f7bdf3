/**
 * Builds the console UI into dist/renderer: one script (app.js), one stylesheet (app.css), their
 * source maps and index.html. Run by Node's type stripping, so erasable TypeScript only.
 *
 *   node renderer/build.ts            production build
 *   node renderer/build.ts --watch    rebuild on change (still minified: what ships is what you see)
 */
import { watch as watchFile } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const rendererDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(rendererDir, '..');
const outDir = join(repoRoot, 'dist', 'renderer');
const watch = process.argv.includes('--watch');

const options: esbuild.BuildOptions = {
  absWorkingDir: repoRoot,
  entryPoints: { app: join(rendererDir, 'src', 'main.tsx') },
  outdir: outDir,
  bundle: true,
  // A classic script (IIFE), not ESM: Electron loads the page from file://, where module scripts are refused.
  format: 'iife',
  platform: 'browser',
  // Electron 45 ships Chromium 142; the web console targets current Chromium-based browsers.
  target: 'chrome120',
  minify: true,
  sourcemap: 'linked',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'linked',
  metafile: true,
  logLevel: 'silent',
  charset: 'utf8',
};

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

/** One line: where it went, how big, how long. Source maps are not counted: they are not loaded. */
function summary(result: esbuild.BuildResult, startedAt: number): string {
  const outputs = Object.entries(result.metafile?.outputs ?? {}).filter(([path]) => !path.endsWith('.map') && !path.endsWith('.LEGAL.txt'));
  const parts = outputs.map(([path, output]) => `${relative(outDir, resolve(repoRoot, path))} ${formatBytes(output.bytes)}`);
  return `renderer: built ${relative(repoRoot, outDir)}/ (${parts.join(', ')}) in ${Math.round(performance.now() - startedAt)} ms`;
}

/** The first error as file:line:column: text, which editors and CI logs turn into a link. */
function describeFailure(error: unknown): string {
  const errors = (error as { errors?: esbuild.Message[] }).errors;
  const first = errors?.[0];
  if (!first) return error instanceof Error ? error.message : String(error);
  const where = first.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
  return `${where}${first.text}${more}`;
}

async function copyHtml(): Promise<void> {
  await copyFile(join(rendererDir, 'index.html'), join(outDir, 'index.html'));
}

async function buildOnce(): Promise<void> {
  const startedAt = performance.now();
  // Start clean so files of a removed entry or an older build cannot be served by mistake.
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await esbuild.build(options);
  await copyHtml();
  console.log(summary(result, startedAt));
}

async function buildAndWatch(): Promise<void> {
  await mkdir(outDir, { recursive: true });
  let startedAt = performance.now();
  const context = await esbuild.context({
    ...options,
    plugins: [
      {
        name: 'report-and-copy-html',
        setup(build) {
          build.onStart(() => {
            startedAt = performance.now();
          });
          build.onEnd(async (result) => {
            if (result.errors.length > 0) {
              console.error(`renderer: build failed: ${describeFailure(result)}`);
              return;
            }
            await copyHtml();
            console.log(summary(result, startedAt));
          });
        },
      },
    ],
  });
  await context.watch();
  // esbuild watches what it bundles; index.html is copied, so it needs its own watcher.
  watchFile(join(rendererDir, 'index.html'), () => {
    copyHtml().then(
      () => console.log('renderer: copied index.html'),
      (error: unknown) => console.error(`renderer: cannot copy index.html: ${error instanceof Error ? error.message : String(error)}`),
    );
  });
  console.log('renderer: watching renderer/ for changes (Ctrl-C stops)');
}

try {
  if (watch) await buildAndWatch();
  else await buildOnce();
} catch (error) {
  console.error(`renderer: build failed: ${describeFailure(error)}`);
  process.exitCode = 1;
}
