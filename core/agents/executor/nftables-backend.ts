/**
 * nftables backend: a table of our own, `inet swarm_soc`, holding four sets and two chains:
 *
 *   set blocked4      { type ipv4_addr; flags timeout; }            single addresses (hash)
 *   set blocked6      { type ipv6_addr; flags timeout; }
 *   set blocked4_nets { type ipv4_addr; flags interval,timeout; }   prefixes (interval)
 *   set blocked6_nets { type ipv6_addr; flags interval,timeout; }
 *   chain input   { type filter hook input   priority filter - 10; policy accept; ip saddr @blocked4 counter drop; ... }
 *   chain forward { type filter hook forward priority filter - 10; ... the same ... }
 *
 * `timeout` on every set: the kernel removes each entry when its time is up, whether or not the
 * executor is still running.
 *
 * Why hosts and prefixes in separate sets: measured with nft 1.0.6 on a 6.x kernel, refreshing
 * 10,000 entries of an `interval` set (delete + add in one transaction) took 108 s and adding
 * 10,000 to an empty one with the same script 21 s (nft recomputes the set's intervals in user
 * space), against 0.05-0.2 s for a plain hash set. Nearly every block is a single attacker
 * address, so those go to the hash sets, and the interval sets hold the few prefixes.
 *
 * Why a table of our own: nothing else on the host is touched, `flush` is one `delete table`,
 * and other tools (firewalld, iptables-nft, Docker) keep their tables. Why priority filter - 10:
 * in nftables a `drop` in any base chain is final while an `accept` only ends its own chain, so
 * our drop wins whatever order the chains run in; running first merely spares the other chains
 * the work (and their counters) for packets we drop anyway. The policy stays `accept`: this
 * table only ever removes traffic it was told to remove.
 *
 * Changes go through `nft -f -` (one netlink transaction: all or nothing) with text built only
 * from canonical CIDRs. Refreshing an element's timeout: kernels before 6.10 ignore `add` for an
 * element that exists, so a block is written as add (creates it if missing) / delete / add with
 * the new timeout, atomic within the transaction. Interval sets refuse overlapping elements;
 * the executor refuses orders that overlap an active block, so that never reaches this code.
 */
import type { Cidr, IpFamily } from './cidr.ts';
import { parseCidr } from './cidr.ts';
import { BackendError, type FirewallBackend, type FirewallBlock, type FirewallEntry } from './backend.ts';
import { CommandRunner, commandError } from './command-runner.ts';

export const NFT_TABLE = 'swarm_soc';
const HOST_SET: Record<IpFamily, string> = { 4: 'blocked4', 6: 'blocked6' };
const NET_SET: Record<IpFamily, string> = { 4: 'blocked4_nets', 6: 'blocked6_nets' };
const ADDRESS_TYPE: Record<IpFamily, string> = { 4: 'ipv4_addr', 6: 'ipv6_addr' };
const MATCH_OF: Record<IpFamily, string> = { 4: 'ip saddr', 6: 'ip6 saddr' };
const OUR_SETS = new Set([...Object.values(HOST_SET), ...Object.values(NET_SET)]);
const HOST_BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };
const CHAINS = [
  { name: 'input', hook: 'input' },
  { name: 'forward', hook: 'forward' },
] as const;
/** Elements per `add element` line: keeps lines readable in error messages; one transaction anyway. */
const ELEMENTS_PER_LINE = 1_000;
const TABLE_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const MISSING = /No such file or directory|does not exist/;

export interface NftablesBackendOptions {
  /** Run every command inside this network namespace (`ip netns exec NAME nft ...`). */
  readonly netns?: string;
  /** Table name (default `swarm_soc`); tests and benchmarks may use their own. */
  readonly table?: string;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Which of our four sets an entry belongs in: single addresses in the hash sets, prefixes in the interval sets. */
export function nftSetFor(cidr: Cidr): string {
  return cidr.prefix === HOST_BITS[cidr.family] ? HOST_SET[cidr.family] : NET_SET[cidr.family];
}

/** How an entry is written: a bare address in the hash sets (they take no prefix), a CIDR in the interval sets. */
function nftElement(cidr: Cidr): string {
  return cidr.prefix === HOST_BITS[cidr.family] ? cidr.text.slice(0, cidr.text.lastIndexOf('/')) : cidr.text;
}

function bySet<T>(items: readonly T[], cidrOf: (item: T) => Cidr): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const set = nftSetFor(cidrOf(item));
    const list = out.get(set);
    if (list === undefined) out.set(set, [item]);
    else list.push(item);
  }
  return out;
}

/** The `nft -f` text that creates the table, or completes it, without losing set elements. */
export function nftSetupScript(table: string): string {
  const lines = [`add table inet ${table} { comment "swarm-soc firewall executor: analyst-approved blocks that expire on their own"; }`];
  for (const family of [4, 6] as const) {
    lines.push(`add set inet ${table} ${HOST_SET[family]} { type ${ADDRESS_TYPE[family]}; flags timeout; }`);
    lines.push(`add set inet ${table} ${NET_SET[family]} { type ${ADDRESS_TYPE[family]}; flags interval,timeout; }`);
  }
  for (const chain of CHAINS) {
    lines.push(`add chain inet ${table} ${chain.name} { type filter hook ${chain.hook} priority filter - 10; policy accept; }`);
    // Flushed and rewritten in the same transaction: running setup twice never duplicates a rule.
    lines.push(`flush chain inet ${table} ${chain.name}`);
    for (const family of [4, 6] as const) {
      for (const set of [HOST_SET[family], NET_SET[family]]) lines.push(`add rule inet ${table} ${chain.name} ${MATCH_OF[family]} @${set} counter drop`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** add / delete / add: creates or refreshes each element's timeout on every kernel. */
export function nftBlockScript(table: string, blocks: readonly FirewallBlock[]): string {
  const lines: string[] = [];
  for (const [set, members] of bySet(blocks, (b) => b.cidr)) {
    for (const part of chunk(members, ELEMENTS_PER_LINE)) {
      const withTimeout = part.map((b) => `${nftElement(b.cidr)} timeout ${b.ttlSeconds}s`).join(', ');
      const bare = part.map((b) => nftElement(b.cidr)).join(', ');
      lines.push(`add element inet ${table} ${set} { ${withTimeout} }`);
      lines.push(`delete element inet ${table} ${set} { ${bare} }`);
      lines.push(`add element inet ${table} ${set} { ${withTimeout} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function nftUnblockScript(table: string, cidrs: readonly Cidr[]): string {
  const lines: string[] = [];
  for (const [set, members] of bySet(cidrs, (c) => c)) {
    for (const part of chunk(members, ELEMENTS_PER_LINE)) {
      lines.push(`delete element inet ${table} ${set} { ${part.map(nftElement).join(', ')} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Reads the elements of our four sets from `nft -j list table inet T`. An element is a plain
 * address, `{prefix: {addr, len}}`, or either wrapped in `{elem: {val, timeout, expires}}`
 * (timeouts in seconds). Ranges that are not a prefix cannot come from us and are skipped.
 */
export function parseNftTableJson(text: string): FirewallEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new BackendError('backend_output', 'nft -j printed something that is not JSON', 'check the nftables version (needs JSON output, nft ≥ 0.9)');
  }
  const items = (doc as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) throw new BackendError('backend_output', 'nft -j output has no "nftables" list', 'check the nftables version');
  const entries: FirewallEntry[] = [];
  for (const item of items as Array<Record<string, unknown>>) {
    const set = item.set as { name?: unknown; elem?: unknown } | undefined;
    if (set === undefined || typeof set.name !== 'string' || !OUR_SETS.has(set.name) || !Array.isArray(set.elem)) continue;
    for (const raw of set.elem as unknown[]) {
      let value: unknown = raw;
      let remaining: number | null = null;
      if (typeof raw === 'object' && raw !== null && 'elem' in raw) {
        const elem = (raw as { elem: { val?: unknown; expires?: unknown } }).elem;
        value = elem.val;
        if (typeof elem.expires === 'number') remaining = elem.expires;
      }
      let text: string | null = null;
      if (typeof value === 'string') text = value;
      else if (typeof value === 'object' && value !== null && 'prefix' in value) {
        const prefix = (value as { prefix: { addr?: unknown; len?: unknown } }).prefix;
        if (typeof prefix.addr === 'string' && typeof prefix.len === 'number') text = `${prefix.addr}/${prefix.len}`;
      }
      if (text === null) continue;
      const cidr = parseCidr(text);
      if (cidr.ok) entries.push({ cidr: cidr.value, remainingSeconds: remaining });
    }
  }
  return entries;
}

export class NftablesBackend implements FirewallBackend {
  readonly kind = 'nftables' as const;
  readonly table: string;
  readonly #runner: CommandRunner;
  #ready = false;

  constructor(options: NftablesBackendOptions = {}) {
    const table = options.table ?? NFT_TABLE;
    if (!TABLE_NAME.test(table)) throw new BackendError('backend_unavailable', `${JSON.stringify(table)} is not an nftables table name`, 'use lowercase letters, digits and "_"');
    this.table = table;
    this.#runner = new CommandRunner(options.netns);
  }

  describe(): string {
    return `nftables: table inet ${this.table} (sets ${[...OUR_SETS].join(', ')}), in ${this.#runner.where()}`;
  }

  async setup(): Promise<void> {
    this.#runner.require(['nft']);
    await this.#runner.runChecked('nft', ['-f', '-'], nftSetupScript(this.table));
    this.#ready = true;
  }

  async block(blocks: readonly FirewallBlock[]): Promise<void> {
    if (blocks.length === 0) return;
    if (!this.#ready) await this.setup();
    const script = nftBlockScript(this.table, blocks);
    const first = await this.#runner.run('nft', ['-f', '-'], script);
    if (first.code === 0) return;
    // Someone deleted our table or a set since setup: recreate it and try once more.
    if (!MISSING.test(first.stderr)) throw commandError('nft', ['-f', '-'], first, this.#runner.netns);
    await this.setup();
    await this.#runner.runChecked('nft', ['-f', '-'], script);
  }

  async unblock(cidrs: readonly Cidr[]): Promise<void> {
    if (cidrs.length === 0) return;
    // `delete element` of a missing element fails the whole transaction, and entries expire on
    // their own at any moment: delete only what is there, and if one expired in between, look again.
    for (let attempt = 0; ; attempt++) {
      const present = new Set((await this.list()).map((e) => e.cidr.text));
      const targets = cidrs.filter((c) => present.has(c.text));
      if (targets.length === 0) return;
      const result = await this.#runner.run('nft', ['-f', '-'], nftUnblockScript(this.table, targets));
      if (result.code === 0) return;
      if (attempt >= 2 || !MISSING.test(result.stderr)) throw commandError('nft', ['-f', '-'], result, this.#runner.netns);
    }
  }

  async list(): Promise<FirewallEntry[]> {
    const result = await this.#runner.run('nft', ['-j', 'list', 'table', 'inet', this.table]);
    if (result.code !== 0) {
      if (MISSING.test(result.stderr)) return [];
      throw commandError('nft', ['list', 'table'], result, this.#runner.netns);
    }
    return parseNftTableJson(result.stdout);
  }

  async flush(): Promise<{ removed: number }> {
    this.#ready = false;
    const entries = await this.list();
    const result = await this.#runner.run('nft', ['delete', 'table', 'inet', this.table]);
    if (result.code !== 0 && !MISSING.test(result.stderr)) throw commandError('nft', ['delete', 'table'], result, this.#runner.netns);
    return { removed: entries.length };
  }
}
