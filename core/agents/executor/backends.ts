/**
 * Picks a firewall backend by the name an operator types (`--executor nftables|iptables|dry-run`)
 * and checks, before the daemon announces itself, that its tools are installed: an executor that
 * cannot enforce should fail at start with an install hint, not at the first approved block.
 */
import { BackendError, type FirewallBackend } from './backend.ts';
import { CommandRunner } from './command-runner.ts';
import { DryRunBackend } from './dry-run-backend.ts';
import { IptablesBackend } from './iptables-backend.ts';
import { NftablesBackend } from './nftables-backend.ts';

export const BACKEND_NAMES = ['nftables', 'iptables', 'dry-run'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The tools each backend runs (the Debian packages: nftables; iptables and ipset; iproute2 for netns). */
const TOOLS: Record<BackendName, readonly string[]> = { nftables: ['nft'], iptables: ['iptables', 'ip6tables', 'ipset'], 'dry-run': [] };

export interface CreateBackendOptions {
  /** Run every firewall command inside this network namespace. */
  readonly netns?: string;
  /** The policy's maxActiveEntries (iptables: the ipsets' maxelem). */
  readonly maxEntries?: number;
  /** Clock for the dry-run backend's expiry. */
  readonly now?: () => number;
}

export function isBackendName(name: unknown): name is BackendName {
  return typeof name === 'string' && (BACKEND_NAMES as readonly string[]).includes(name);
}

/** Creates the backend; throws BackendError (message + install hint) when its tools are missing. */
export async function createBackend(name: BackendName, options: CreateBackendOptions = {}): Promise<FirewallBackend> {
  if (!isBackendName(name)) throw new BackendError('backend_unavailable', `unknown firewall backend ${JSON.stringify(name)}`, `use one of ${BACKEND_NAMES.join(', ')}`);
  if (name === 'dry-run') return new DryRunBackend(options.now === undefined ? {} : { now: options.now });
  new CommandRunner(options.netns).require(TOOLS[name]);
  if (name === 'nftables') return new NftablesBackend(options.netns === undefined ? {} : { netns: options.netns });
  return new IptablesBackend({ ...(options.netns === undefined ? {} : { netns: options.netns }), ...(options.maxEntries === undefined ? {} : { maxElements: options.maxEntries }) });
}
