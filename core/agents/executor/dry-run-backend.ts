/**
 * Dry-run backend: keeps the entries it would have written, in memory, and expires them on the
 * same clock as the executor, so the lab, the console demo and unit tests exercise the whole
 * decision path (policy, store, expiry, reconciliation) on a machine where nobody may touch the
 * firewall. `operations` records what a real backend would have done, for display.
 *
 * Memory only on purpose: after a restart the "firewall" is empty, which is exactly a reboot of
 * a real host, and the executor's reconciliation re-adds what is still due.
 */
import type { Cidr } from './cidr.ts';
import type { FirewallBackend, FirewallBlock, FirewallEntry } from './backend.ts';

/** Operations kept for display; older ones are dropped so a long-running lab stays small. */
const OPERATIONS_KEPT = 1_000;

export interface DryRunBackendOptions {
  /** Clock (ms since the epoch); the executor's, so expiry agrees in tests with a fake clock. */
  readonly now?: () => number;
}

export class DryRunBackend implements FirewallBackend {
  readonly kind = 'dry-run' as const;
  readonly operations: string[] = [];
  readonly #entries = new Map<string, { cidr: Cidr; expiresAt: number }>();
  readonly #now: () => number;

  constructor(options: DryRunBackendOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  describe(): string {
    return 'dry-run: nothing is written to the firewall; blocks are kept in memory';
  }

  #record(operation: string): void {
    this.operations.push(operation);
    if (this.operations.length > OPERATIONS_KEPT) this.operations.splice(0, this.operations.length - OPERATIONS_KEPT);
  }

  #dropExpired(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  async setup(): Promise<void> {
    this.#record('setup');
  }

  async block(blocks: readonly FirewallBlock[]): Promise<void> {
    const now = this.#now();
    for (const b of blocks) {
      this.#entries.set(b.cidr.text, { cidr: b.cidr, expiresAt: now + b.ttlSeconds * 1000 });
      this.#record(`block ${b.cidr.text} timeout ${b.ttlSeconds}s`);
    }
  }

  async unblock(cidrs: readonly Cidr[]): Promise<void> {
    for (const c of cidrs) {
      this.#entries.delete(c.text);
      this.#record(`unblock ${c.text}`);
    }
  }

  async list(): Promise<FirewallEntry[]> {
    this.#dropExpired();
    const now = this.#now();
    return [...this.#entries.values()].map((e) => ({ cidr: e.cidr, remainingSeconds: Math.max(0, Math.floor((e.expiresAt - now) / 1000)) }));
  }

  async flush(): Promise<{ removed: number }> {
    this.#dropExpired();
    const removed = this.#entries.size;
    this.#entries.clear();
    this.#record('flush');
    return { removed };
  }
}
