/**
 * The executor's policy: which mitigation orders it carries out. An order that passed the
 * analyst, the signature and the capability check can still be wrong (a typo, a /8, the
 * executor's own address, the registry every node needs), and a firewall change on a production
 * host is the one action in this system that can lock everybody out. So the executor decides
 * again, locally, with rules the analyst's console cannot change:
 *
 * - action `block` or `unblock`; the target parses as an address or CIDR (cidr.ts);
 * - block TTL within [60 s, maxTtlSeconds] (default 24 h): every block ends on its own, and a
 *   TTL under a minute is more likely a unit mistake (ms for s) than a decision;
 * - never `0.0.0.0/0` or `::/0`, nor anything wider than /16 (IPv4) or /48 (IPv6) by default:
 *   a wide block is the classic self-inflicted outage;
 * - never anything overlapping the executor's own addresses, the registry/beacon, trusted
 *   peers' endpoints (asked for at each check, since they change) or the configured allowlist;
 * - never private, CGNAT, loopback, link-local, multicast, reserved or unspecified space unless
 *   configured (special-ranges.ts; documentation ranges are blockable, see there);
 * - at most maxActiveEntries blocks at once (default 10,000): the set stays small enough to
 *   list, reconcile and reason about, and a runaway orchestrator cannot fill kernel memory.
 *
 * `unblock` only ever loosens the executor's own blocks, so it is checked for shape and target
 * syntax only: an allowlisted or private target cannot be blocked, but removing it is harmless.
 *
 * Freshness and signatures are the task wire's (core/overlay/task-wire.ts); replays and overlaps
 * with active blocks need the decision store and are the executor's.
 */
import { fail, ok, type DecodeError, type Result } from '../../overlay/result.ts';
import { cidrsOverlap, cidrIntersection, cidrContains, parseCidr, quoteInput, type Cidr, type IpFamily } from './cidr.ts';
import { checkOrderShape, type MitigationAction, type MitigationOrder } from './mitigation-order.ts';
import { PRIVATE_CATEGORIES, SPECIAL_RANGES } from './special-ranges.ts';

export const MIN_TTL_SECONDS = 60;
export const DEFAULT_MAX_TTL_SECONDS = 24 * 3600;
/**
 * The longest TTL any backend can hold: ipset stores per-entry timeouts in seconds up to
 * 2,147,483 (about 24.8 days), and a configuration above it would fail at the firewall, late.
 */
export const TTL_CEILING_SECONDS = 2_147_483;
export const DEFAULT_MIN_PREFIX_LENGTH: Readonly<Record<IpFamily, number>> = { 4: 16, 6: 48 };
export const DEFAULT_MAX_ACTIVE_ENTRIES = 10_000;
/** Far above any sane deployment; a typo such as 1e9 would let the sets exhaust kernel memory. */
const MAX_ACTIVE_ENTRIES_CEILING = 1_000_000;

export interface PolicyConfig {
  /** Longest block (default 24 h, at most TTL_CEILING_SECONDS). */
  readonly maxTtlSeconds?: number;
  /** Widest IPv4 block as a prefix length (default 16: nothing wider than a /16). */
  readonly minPrefixLength4?: number;
  /** Widest IPv6 block as a prefix length (default 48). */
  readonly minPrefixLength6?: number;
  /** Addresses and CIDRs never blocked, in addition to the executor's protected addresses. */
  readonly allowlist?: readonly string[];
  /** Permit private (RFC 1918, ULA, local NAT64) and CGNAT targets. */
  readonly allowPrivate?: boolean;
  /** Special-purpose ranges (or parts of them) that may be blocked anyway, e.g. `10.20.0.0/16`. */
  readonly permittedRanges?: readonly string[];
  /** Most blocks active at once (default 10,000). */
  readonly maxActiveEntries?: number;
  /**
   * TEST ONLY: lowers the one-minute TTL floor so a test can watch a block expire in seconds.
   * Never set it in a deployment; the daemon does not expose it.
   */
  readonly testOnlyMinTtlSeconds?: number;
}

/** A validated configuration plus the live source of protected addresses. */
export interface MitigationPolicy {
  readonly minTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly minPrefixLength: Readonly<Record<IpFamily, number>>;
  readonly allowlist: readonly Cidr[];
  readonly allowPrivate: boolean;
  readonly permittedRanges: readonly Cidr[];
  readonly maxActiveEntries: number;
  /**
   * The executor's own addresses, the registry/beacon and trusted peers' endpoints, as current
   * now. Entries may be addresses, CIDRs, `IP:port` or `[IPv6]:port`.
   */
  readonly protectedAddresses: () => readonly string[];
}

export type PolicyConfigError = DecodeError<'invalid_policy'>;

export type RefusalCode =
  | 'invalid_order'
  | 'invalid_cidr'
  | 'invalid_ttl'
  | 'ttl_too_short'
  | 'ttl_too_long'
  | 'default_route'
  | 'prefix_too_wide'
  | 'protected_address'
  | 'protected_address_unknown'
  | 'allowlisted'
  | 'special_range'
  | 'too_many_entries'
  // Decided by the executor with its store:
  | 'replayed_request'
  | 'overlaps_active_block';

export interface Refusal {
  readonly code: RefusalCode;
  readonly reason: string;
}

export interface CheckedMitigation {
  readonly order: MitigationOrder;
  readonly action: MitigationAction;
  readonly cidr: Cidr;
  /** Whole seconds; 0 for unblock. */
  readonly ttlSeconds: number;
}

export interface PolicyContext {
  /** Blocks active now. */
  readonly activeEntries: number;
  /** The order renews a block already active for exactly this CIDR (it adds no entry). */
  readonly refreshesActiveEntry: boolean;
}

function isIntegerIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

function parseList(name: string, list: readonly string[] | undefined, hostBits: 'refuse' | 'clear'): Result<Cidr[], PolicyConfigError> {
  if (list === undefined) return ok([]);
  if (!Array.isArray(list)) return fail('invalid_policy', `${name} must be a list of addresses or CIDRs`);
  const out: Cidr[] = [];
  for (const entry of list) {
    const parsed = parseCidr(entry, { hostBits });
    if (!parsed.ok) return fail('invalid_policy', `${name}: ${parsed.error.message}`);
    out.push(parsed.value);
  }
  return ok(out);
}

/**
 * Validates a configuration, filling in defaults. Allowlist entries may have host bits set (an
 * interface address such as `10.0.0.5/24` protects its subnet: erring wide is the safe side);
 * permitted ranges loosen the policy, so they must be exact networks.
 */
export function resolvePolicy(config: PolicyConfig, protectedAddresses: () => readonly string[]): Result<MitigationPolicy, PolicyConfigError> {
  const maxTtl = config.maxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS;
  const minTtl = config.testOnlyMinTtlSeconds ?? MIN_TTL_SECONDS;
  if (!isIntegerIn(minTtl, 1, MIN_TTL_SECONDS)) return fail('invalid_policy', `testOnlyMinTtlSeconds must be a whole number of seconds from 1 to ${MIN_TTL_SECONDS}`);
  if (!isIntegerIn(maxTtl, minTtl, TTL_CEILING_SECONDS)) {
    return fail('invalid_policy', `maxTtlSeconds must be a whole number of seconds from ${minTtl} to ${TTL_CEILING_SECONDS} (ipset's longest timeout)`);
  }
  const min4 = config.minPrefixLength4 ?? DEFAULT_MIN_PREFIX_LENGTH[4];
  const min6 = config.minPrefixLength6 ?? DEFAULT_MIN_PREFIX_LENGTH[6];
  if (!isIntegerIn(min4, 1, 32)) return fail('invalid_policy', 'minPrefixLength4 must be 1-32 (0 would allow blocking the whole IPv4 Internet)');
  if (!isIntegerIn(min6, 1, 128)) return fail('invalid_policy', 'minPrefixLength6 must be 1-128 (0 would allow blocking the whole IPv6 Internet)');
  const maxEntries = config.maxActiveEntries ?? DEFAULT_MAX_ACTIVE_ENTRIES;
  if (!isIntegerIn(maxEntries, 1, MAX_ACTIVE_ENTRIES_CEILING)) return fail('invalid_policy', `maxActiveEntries must be 1-${MAX_ACTIVE_ENTRIES_CEILING}`);
  if (config.allowPrivate !== undefined && typeof config.allowPrivate !== 'boolean') return fail('invalid_policy', 'allowPrivate must be true or false');
  const allowlist = parseList('allowlist', config.allowlist, 'clear');
  if (!allowlist.ok) return allowlist;
  const permitted = parseList('permittedRanges', config.permittedRanges, 'refuse');
  if (!permitted.ok) return permitted;
  return ok({
    minTtlSeconds: minTtl,
    maxTtlSeconds: maxTtl,
    minPrefixLength: { 4: min4, 6: min6 },
    allowlist: allowlist.value,
    allowPrivate: config.allowPrivate ?? false,
    permittedRanges: permitted.value,
    maxActiveEntries: maxEntries,
    protectedAddresses,
  });
}

/**
 * Reads a protected address as the daemon knows it: an address, a CIDR (host bits allowed: an
 * interface address protects its subnet), `IP:port` or `[IPv6]:port` (an endpoint). Null if
 * it is none of these.
 */
export function parseProtectedAddress(text: string): Cidr | null {
  let host = text;
  const bracketed = /^\[([^\]]+)\]:\d{1,5}$/.exec(text);
  if (bracketed !== null) host = bracketed[1] as string;
  else if (/^[0-9.]+:\d{1,5}$/.test(text)) host = text.slice(0, text.lastIndexOf(':'));
  const parsed = parseCidr(host, { hostBits: 'clear' });
  return parsed.ok ? parsed.value : null;
}

function refuse(code: RefusalCode, reason: string): { ok: false; error: Refusal } {
  return { ok: false, error: { code, reason } };
}

/**
 * The target rules alone (width, protected, allowlist, special ranges): what must hold for as
 * long as a block is in place, so the executor re-checks active blocks against them when it
 * reconciles (a peer trusted after the block was set must not stay blocked).
 */
export function checkTarget(cidr: Cidr, policy: MitigationPolicy): Refusal | null {
  if (cidr.prefix === 0) {
    return { code: 'default_route', reason: `${cidr.text} is every IPv${cidr.family} address: blocking it would cut this host off` };
  }
  const widest = policy.minPrefixLength[cidr.family];
  if (cidr.prefix < widest) {
    return { code: 'prefix_too_wide', reason: `${cidr.text} is wider than /${widest}, the widest IPv${cidr.family} block this executor accepts` };
  }
  let protectedList: readonly string[];
  try {
    protectedList = policy.protectedAddresses();
  } catch (err) {
    return { code: 'protected_address_unknown', reason: `cannot tell which addresses must never be blocked (${(err as Error).message}); refusing every block until it can` };
  }
  for (const text of protectedList) {
    const protectedCidr = parseProtectedAddress(text);
    if (protectedCidr === null) {
      return { code: 'protected_address_unknown', reason: `protected address ${quoteInput(String(text))} is not an address; refusing every block until the executor's configuration is fixed` };
    }
    if (cidrsOverlap(cidr, protectedCidr)) {
      return { code: 'protected_address', reason: `${cidr.text} covers ${protectedCidr.text}, an address of this executor, the registry or a trusted peer` };
    }
  }
  for (const allowed of policy.allowlist) {
    if (cidrsOverlap(cidr, allowed)) return { code: 'allowlisted', reason: `${cidr.text} overlaps the allowlisted ${allowed.text}` };
  }
  for (const range of SPECIAL_RANGES) {
    const shared = cidrIntersection(cidr, range.cidr);
    if (shared === null) continue;
    if (policy.allowPrivate && PRIVATE_CATEGORIES.has(range.category)) continue;
    if (policy.permittedRanges.some((p) => cidrContains(p, shared))) continue;
    const hint = PRIVATE_CATEGORIES.has(range.category) ? 'set allowPrivate or list it in permittedRanges' : 'list it in permittedRanges';
    return { code: 'special_range', reason: `${cidr.text} is in ${range.cidr.text}, ${range.name}; blocking it needs explicit configuration (${hint})` };
  }
  return null;
}

/**
 * Decides whether an order may be carried out. Total: any input gives the checked mitigation or
 * a refusal with a machine code and a reason a person can act on.
 */
export function checkMitigation(
  input: unknown,
  policy: MitigationPolicy,
  context: PolicyContext = { activeEntries: 0, refreshesActiveEntry: false },
): Result<CheckedMitigation, Refusal> {
  const shape = checkOrderShape(input);
  if (!shape.ok) return refuse('invalid_order', shape.error.message);
  const order = shape.value;
  const parsed = parseCidr(order.cidr);
  if (!parsed.ok) return refuse('invalid_cidr', parsed.error.message);
  const cidr = parsed.value;
  if (order.action === 'unblock') return ok({ order, action: 'unblock', cidr, ttlSeconds: 0 });

  const ttl = order.ttlSeconds;
  if (!Number.isSafeInteger(ttl)) return refuse('invalid_ttl', `TTL ${ttl} is not a whole number of seconds`);
  if (ttl < policy.minTtlSeconds) return refuse('ttl_too_short', `TTL ${ttl} s is shorter than the minimum of ${policy.minTtlSeconds} s`);
  if (ttl > policy.maxTtlSeconds) return refuse('ttl_too_long', `TTL ${ttl} s is longer than the maximum of ${policy.maxTtlSeconds} s (blocks must end on their own)`);

  const targetRefusal = checkTarget(cidr, policy);
  if (targetRefusal !== null) return { ok: false, error: targetRefusal };

  if (!context.refreshesActiveEntry && context.activeEntries >= policy.maxActiveEntries) {
    return refuse('too_many_entries', `${context.activeEntries} blocks are active, the most this executor keeps (${policy.maxActiveEntries}); let some expire or revoke them`);
  }
  return ok({ order, action: 'block', cidr, ttlSeconds: ttl });
}
