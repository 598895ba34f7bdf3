/**
 * A firewall backend: the one thing the executor changes in the kernel. Three implementations:
 * nftables (a table of its own with two sets), iptables + ipset (two sets and one DROP rule per
 * chain), and dry-run (memory only, for the lab and for hosts where the executor may not touch
 * the firewall).
 *
 * Contract every backend keeps, because the executor and its reconciliation rely on it:
 * - Only canonical CIDRs from cidr.ts reach a backend, never raw text.
 * - `block` is idempotent and refreshes: blocking an entry already present sets its timeout to
 *   the new TTL. The kernel removes each entry when its timeout runs out, even if the executor
 *   is dead by then: a block must never outlive its TTL because a process crashed.
 * - `unblock` of an entry that is not there succeeds (it may just have expired).
 * - `list` reads back what is really in the firewall, with each entry's remaining timeout.
 * - `flush` removes what the backend created (its table, sets and rules) and nothing else.
 * - A backend with `netns` runs every command inside that network namespace
 *   (`ip netns exec NAME ...`): how tests and the lab stay off the host's own firewall.
 */
import { SwarmError } from '../../overlay/errors.ts';
import type { Cidr } from './cidr.ts';

export interface FirewallBlock {
  readonly cidr: Cidr;
  /** Whole seconds, at least 1. */
  readonly ttlSeconds: number;
}

export interface FirewallEntry {
  readonly cidr: Cidr;
  /** Seconds until the kernel drops the entry; null if it has no timeout (not one of ours). */
  readonly remainingSeconds: number | null;
}

export type FirewallBackendKind = 'nftables' | 'iptables' | 'dry-run';

export type BackendErrorCode =
  /** A binary, the namespace or a kernel feature is missing. */
  | 'backend_unavailable'
  /** Not root / no CAP_NET_ADMIN. */
  | 'backend_permission'
  /** A command ran and failed. */
  | 'backend_command_failed'
  /** A command printed something this code cannot read. */
  | 'backend_output';

export class BackendError extends SwarmError<BackendErrorCode> {}

export interface FirewallBackend {
  readonly kind: FirewallBackendKind;
  /** One line for logs and `swarmctl info`: what it changes and where. */
  describe(): string;
  /** Checks the tools are there and creates the table/sets/rules if missing. Idempotent. */
  setup(): Promise<void>;
  /** Adds or refreshes entries, all in one transaction where the backend has them. */
  block(blocks: readonly FirewallBlock[]): Promise<void>;
  /** Removes entries; missing ones are fine. */
  unblock(cidrs: readonly Cidr[]): Promise<void>;
  /** What is in the firewall now (nothing if the backend's table/sets do not exist). */
  list(): Promise<FirewallEntry[]>;
  /** Removes everything the backend created; `removed` counts the entries that were in it. */
  flush(): Promise<{ removed: number }>;
}
