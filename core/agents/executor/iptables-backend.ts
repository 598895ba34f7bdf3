/**
 * iptables + ipset backend, for hosts whose firewall is managed with iptables: two ipsets,
 *
 *   swarm_soc4  hash:net family inet  timeout 0     (timeout 0 = no default; each entry has its own)
 *   swarm_soc6  hash:net family inet6 timeout 0
 *
 * and one rule per chain, inserted first so it drops before any accept rule:
 *
 *   iptables  -I INPUT 1   -m set --match-set swarm_soc4 src -m comment --comment swarm-soc-executor -j DROP
 *   iptables  -I FORWARD 1 ... the same; ip6tables with swarm_soc6.
 *
 * Why sets and not one rule per address: rules are matched one after another, sets by hash, and
 * every `iptables` call rewrites the whole table (bench/executor.bench.ts measures the
 * difference); a set entry also carries its own timeout, so the kernel ends each block itself.
 *
 * Entries change through `ipset restore -exist` (one process per batch; `-exist` makes `add`
 * refresh the timeout of an existing entry and `del` of a missing one a no-op), with stdin built
 * only from canonical CIDRs. ipset restore is not transactional: a failure midway leaves the
 * lines before it applied, which reconciliation then sees and repairs. `flush` deletes exactly
 * our rules (matched by their full specification, comment included) and destroys our two sets.
 */
import type { Cidr, IpFamily } from './cidr.ts';
import { parseCidr } from './cidr.ts';
import { BackendError, type FirewallBackend, type FirewallBlock, type FirewallEntry } from './backend.ts';
import { CommandRunner, commandError } from './command-runner.ts';

export const IPSET_NAME_PREFIX = 'swarm_soc';
/** Identifies our rules for people reading `iptables -S`, and for our own -C/-D matching. */
const RULE_COMMENT = 'swarm-soc-executor';
const CHAINS = ['INPUT', 'FORWARD'] as const;
const TOOL_OF: Record<IpFamily, string> = { 4: 'iptables', 6: 'ip6tables' };
const FAMILY_OF: Record<IpFamily, string> = { 4: 'inet', 6: 'inet6' };
/** Seconds to wait for the xtables lock held by another iptables process, instead of failing. */
const XTABLES_LOCK_WAIT = '10';
/** ipset's default maxelem; raised when the policy allows more entries. */
const DEFAULT_MAX_ELEMENTS = 65_536;
const PREFIX_NAME = /^[a-z][a-z0-9_]{0,25}$/;
const SET_MISSING = /does not exist/;
/** What iptables says when -C names a set that is not there (e.g. a second flush). */
const SET_MISSING_FOR_RULE = /Set \S+ doesn't exist/;

export interface IptablesBackendOptions {
  /** Run every command inside this network namespace (`ip netns exec NAME ...`). */
  readonly netns?: string;
  /** Set name prefix (default `swarm_soc`: sets `swarm_soc4` and `swarm_soc6`). */
  readonly setPrefix?: string;
  /** At least the policy's maxActiveEntries (ipset refuses entries beyond its maxelem). */
  readonly maxElements?: number;
}

/** The `ipset restore` text for a batch of adds (refreshing timeouts of existing entries). */
export function ipsetBlockScript(setPrefix: string, blocks: readonly FirewallBlock[]): string {
  return blocks.map((b) => `add ${setPrefix}${b.cidr.family} ${b.cidr.text} timeout ${b.ttlSeconds}\n`).join('');
}

export function ipsetUnblockScript(setPrefix: string, cidrs: readonly Cidr[]): string {
  return cidrs.map((c) => `del ${setPrefix}${c.family} ${c.text}\n`).join('');
}

/** Reads the `add SET ENTRY [timeout N]` lines of `ipset save SET`. */
export function parseIpsetSave(text: string): FirewallEntry[] {
  const entries: FirewallEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^add \S+ (\S+)(?: timeout (\d+))?/.exec(line);
    if (m === null) continue;
    const cidr = parseCidr(m[1]);
    if (!cidr.ok) continue;
    entries.push({ cidr: cidr.value, remainingSeconds: m[2] === undefined ? null : Number(m[2]) });
  }
  return entries;
}

export class IptablesBackend implements FirewallBackend {
  readonly kind = 'iptables' as const;
  readonly setPrefix: string;
  readonly #maxElements: number;
  readonly #runner: CommandRunner;
  #ready = false;

  constructor(options: IptablesBackendOptions = {}) {
    const prefix = options.setPrefix ?? IPSET_NAME_PREFIX;
    if (!PREFIX_NAME.test(prefix)) throw new BackendError('backend_unavailable', `${JSON.stringify(prefix)} is not a usable ipset name prefix`, 'use lowercase letters, digits and "_"');
    this.setPrefix = prefix;
    this.#maxElements = Math.max(DEFAULT_MAX_ELEMENTS, options.maxElements ?? 0);
    this.#runner = new CommandRunner(options.netns);
  }

  describe(): string {
    return `iptables + ipset: sets ${this.#set(4)}/${this.#set(6)}, DROP rules first in INPUT and FORWARD, in ${this.#runner.where()}`;
  }

  #set(family: IpFamily): string {
    return `${this.setPrefix}${family}`;
  }

  #ruleSpec(family: IpFamily): string[] {
    return ['-m', 'set', '--match-set', this.#set(family), 'src', '-m', 'comment', '--comment', RULE_COMMENT, '-j', 'DROP'];
  }

  async #ruleExists(family: IpFamily, chain: string): Promise<boolean> {
    const check = await this.#runner.run(TOOL_OF[family], ['-w', XTABLES_LOCK_WAIT, '-C', chain, ...this.#ruleSpec(family)]);
    if (check.code === 0) return true;
    // Without our set there can be no rule using it (iptables refuses to add one): absent.
    if (SET_MISSING_FOR_RULE.test(check.stderr)) return false;
    // -C exits 1 when the rule is absent; anything else (permissions, missing module) is an error.
    if (check.code === 1 && !/Permission denied|not permitted|must be root/i.test(check.stderr)) return false;
    throw commandError(TOOL_OF[family], ['-C', chain], check, this.#runner.netns);
  }

  async setup(): Promise<void> {
    this.#runner.require(['ipset', 'iptables', 'ip6tables']);
    for (const family of [4, 6] as const) {
      await this.#runner.runChecked('ipset', ['create', this.#set(family), 'hash:net', 'family', FAMILY_OF[family], 'timeout', '0', 'maxelem', String(this.#maxElements), '-exist']);
      for (const chain of CHAINS) {
        if (await this.#ruleExists(family, chain)) continue;
        await this.#runner.runChecked(TOOL_OF[family], ['-w', XTABLES_LOCK_WAIT, '-I', chain, '1', ...this.#ruleSpec(family)]);
      }
    }
    this.#ready = true;
  }

  async block(blocks: readonly FirewallBlock[]): Promise<void> {
    if (blocks.length === 0) return;
    if (!this.#ready) await this.setup();
    const script = ipsetBlockScript(this.setPrefix, blocks);
    const first = await this.#runner.run('ipset', ['restore', '-exist'], script);
    if (first.code === 0) return;
    // Our set was destroyed behind our back: recreate sets and rules and try once more.
    if (!SET_MISSING.test(first.stderr)) throw commandError('ipset', ['restore'], first, this.#runner.netns);
    await this.setup();
    await this.#runner.runChecked('ipset', ['restore', '-exist'], script);
  }

  async unblock(cidrs: readonly Cidr[]): Promise<void> {
    if (cidrs.length === 0) return;
    const result = await this.#runner.run('ipset', ['restore', '-exist'], ipsetUnblockScript(this.setPrefix, cidrs));
    // No set, nothing to remove.
    if (result.code !== 0 && !SET_MISSING.test(result.stderr)) throw commandError('ipset', ['restore'], result, this.#runner.netns);
  }

  async list(): Promise<FirewallEntry[]> {
    const entries: FirewallEntry[] = [];
    for (const family of [4, 6] as const) {
      const result = await this.#runner.run('ipset', ['save', this.#set(family)]);
      if (result.code !== 0) {
        if (SET_MISSING.test(result.stderr)) continue;
        throw commandError('ipset', ['save'], result, this.#runner.netns);
      }
      entries.push(...parseIpsetSave(result.stdout));
    }
    return entries;
  }

  async flush(): Promise<{ removed: number }> {
    this.#runner.require(['ipset', 'iptables', 'ip6tables']);
    this.#ready = false;
    const entries = await this.list();
    for (const family of [4, 6] as const) {
      // The rules go first: the kernel refuses to destroy a set a rule still refers to.
      for (const chain of CHAINS) {
        while (await this.#ruleExists(family, chain)) {
          await this.#runner.runChecked(TOOL_OF[family], ['-w', XTABLES_LOCK_WAIT, '-D', chain, ...this.#ruleSpec(family)]);
        }
      }
      const destroy = await this.#runner.run('ipset', ['destroy', this.#set(family)]);
      if (destroy.code !== 0 && !SET_MISSING.test(destroy.stderr)) throw commandError('ipset', ['destroy'], destroy, this.#runner.netns);
    }
    return { removed: entries.length };
  }
}
