/**
 * `swarmctl console`: the analyst's console. In Electron when its binary is installed, otherwise
 * (or with --web) served on 127.0.0.1 to any browser, behind a random access token.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConsoleService } from '../../console/service.ts';
import { startConsoleWebServer } from '../../console/web-server.ts';
import { findElectronBinary } from '../../../electron/binary.ts';
import { untilStopSignal, type Verb } from '../context.ts';
import { UsageError } from '../args.ts';

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RENDERER_DIR = fileURLToPath(new URL('../../../dist/renderer/', import.meta.url));
const ELECTRON_MAIN = fileURLToPath(new URL('../../../dist/electron/main.cjs', import.meta.url));

export const consoleVerb: Verb = {
  summary: 'open the SOC console (Electron, or --web for a browser on 127.0.0.1)',
  spec: {
    options: {
      web: { type: 'boolean' },
      port: { type: 'string' },
      lab: { type: 'boolean' },
      'no-lab': { type: 'boolean' },
      registry: { type: 'string' },
      hostname: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    },
    positionals: [],
    required: 0,
    usage: 'swarmctl console [--web] [--port N] [--lab | --no-lab] [--registry HOST:PORT] [--hostname NAME] [--verbose]',
  },
  async run(ctx) {
    const v = ctx.args.values;
    const p = ctx.printer;
    if (v.lab && v['no-lab']) throw new UsageError('--lab and --no-lab contradict each other', 'give one of them');
    const lab = v.lab ? 'always' : v['no-lab'] ? 'never' : 'auto';
    let port = 0;
    if (typeof v.port === 'string') {
      port = Number(v.port);
      if (!/^\d{1,5}$/.test(v.port) || port > 65535) throw new UsageError(`--port "${v.port}" is not a port number`, 'give 1-65535, or 0 for a free port');
    }
    const verbose = Boolean(v.verbose);
    const log = (line: string): void => {
      if (verbose) process.stderr.write(`${new Date().toISOString()} ${line}\n`);
    };

    if (!v.web) {
      const electron = findElectronBinary(PACKAGE_ROOT);
      if ('path' in electron && existsSync(ELECTRON_MAIN)) {
        const args = [
          ELECTRON_MAIN,
          '--state-dir',
          ctx.stateDir,
          ...(lab === 'always' ? ['--lab'] : lab === 'never' ? ['--no-lab'] : []),
          ...(typeof v.registry === 'string' ? ['--registry', v.registry] : []),
          ...(typeof v.hostname === 'string' ? ['--hostname', v.hostname] : []),
        ];
        const child = spawn(electron.path, args, { stdio: 'inherit' });
        return await new Promise<number>((done) => {
          child.once('error', (err) => {
            p.err(`swarmctl: error: cannot start Electron (${err.message}) — run: npx swarmctl console --web`);
            done(1);
          });
          child.once('exit', (code) => done(code ?? 1));
        });
      }
      const why = 'missing' in electron ? electron.missing : `${ELECTRON_MAIN} is not built (npm run build)`;
      p.err(`Electron is not available (${why}); running the console in web mode instead.`);
    }

    const service = await ConsoleService.start({
      stateDir: ctx.stateDir,
      lab,
      ...(typeof v.registry === 'string' ? { registry: v.registry } : {}),
      ...(typeof v.hostname === 'string' ? { hostname: v.hostname } : {}),
      log,
    });
    let web;
    try {
      web = await startConsoleWebServer({ service, staticDir: RENDERER_DIR, port, log });
    } catch (err) {
      await service.close();
      throw err;
    }
    const snap = service.snapshot();
    if (p.json) {
      p.out(JSON.stringify({ url: web.url, port: web.port, state_dir: ctx.stateDir, status: snap.status, status_message: snap.statusMessage, identity: snap.identity, settings: snap.settings }));
    } else {
      p.out(web.url);
      if (snap.identity) p.out(`console node ${snap.identity.hostname} ${snap.identity.address} fingerprint ${snap.identity.fingerprint}`);
      if (snap.settings.lab) p.out(`local lab: registry ${snap.settings.registry}, agents gcp-log-monitor and aws-firewall-executor (state in ${ctx.stateDir}/lab)`);
      if (snap.statusMessage) p.out(`note: ${snap.statusMessage}`);
      if (!existsSync(RENDERER_DIR)) p.out('note: the UI is not built yet; run: npm run build');
      p.out(`the CLI acts on the same node: swarmctl --state-dir ${ctx.stateDir} pending`);
      p.out('Ctrl-C stops the console.');
    }
    await untilStopSignal();
    await web.close();
    await service.close();
    return 0;
  },
};
