import { callControl } from '../overlay/control.ts';
import { daemonPaths, readAdminToken } from '../overlay/daemon.ts';
import type { ParsedArgs, VerbSpec } from './args.ts';
import type { Printer } from './output.ts';

export interface Context {
  verb: string;
  stateDir: string;
  printer: Printer;
  args: ParsedArgs;
}

export interface Verb {
  summary: string;
  spec: VerbSpec;
  run(ctx: Context): Promise<number>;
}

/** Calls the daemon of this state directory; `admin` calls carry the admin token. */
export async function callDaemon(
  ctx: Context,
  method: string,
  params: Record<string, unknown> = {},
  options: { admin?: boolean; onProgress?: (event: unknown) => void } = {},
): Promise<unknown> {
  const paths = daemonPaths(ctx.stateDir);
  const token = options.admin ? readAdminToken(ctx.stateDir) ?? '' : undefined;
  return callControl(paths.socket, method, params, {
    ...(token !== undefined ? { token } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/** Resolves on the first Ctrl-C or SIGTERM, so a long-running verb can shut down cleanly. */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
