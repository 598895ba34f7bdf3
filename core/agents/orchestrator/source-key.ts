/**
 * Who an incident is about: the correlation key of an anomaly's source, and the CIDR blocks a
 * proposal or an analyst's edit names.
 *
 * Correlation key (README.md, "Correlation"):
 * - IPv4: the address itself (`198.51.100.23/32`). Grouping a /24 would merge unrelated hosts
 *   behind one provider, a campus or a carrier-grade NAT into one incident, and the block would
 *   hit all of them.
 * - IPv6: the covering /64 (`2001:db8:5:6::/64`, configurable). A /64 is one subscriber's LAN;
 *   a client picks any address in it at will (privacy addresses), so per-address keys would split
 *   one attacker into many incidents and make correlation trivial to evade.
 * - A source the monitor only knows by host name (sshd with UseDNS): `host:NAME`. It correlates
 *   like an address but is never proposed for a block: a name is not an address we can filter.
 *
 * Addresses are compared in one spelling: the monitor's (dotted quads without leading zeros,
 * RFC 5952 IPv6, IPv4-mapped IPv6 as the IPv4 address).
 */
import { canonicalIpv6, isIpv4, normaliseAddress } from '../monitor/parse/source-address.ts';

export const DEFAULT_IPV6_CORRELATION_PREFIX = 64;

export interface SourceKey {
  /** The correlation key: `A.B.C.D/32`, `NET::/64`, or `host:NAME`. */
  readonly key: string;
  /** The source in its canonical spelling (address or host name). */
  readonly source: string;
  /** 4 or 6 for an address; null for a host name (never blocked). */
  readonly family: 4 | 6 | null;
}

/** The key of a source address or host name, or null when it is neither. */
export function sourceKeyOf(sourceIp: string, ipv6Prefix: number = DEFAULT_IPV6_CORRELATION_PREFIX): SourceKey | null {
  const source = normaliseAddress(sourceIp.trim());
  if (source === null) return null;
  if (isIpv4(source)) return { key: `${source}/32`, source, family: 4 };
  if (source.includes(':')) {
    const value = ipv6Value(source);
    if (value === null) return null;
    return { key: `${formatIpv6(maskIpv6(value, ipv6Prefix))}/${ipv6Prefix}`, source, family: 6 };
  }
  // A dotted quad with leading zeros is kept as written by the monitor: some software reads it
  // as octal, so it names no address we could block with confidence. Treat it as a name.
  return { key: `host:${source.toLowerCase()}`, source, family: null };
}

/** The one-address block for a canonical address: `/32` or `/128`. */
export function hostCidr(address: string): string {
  return address.includes(':') ? `${address}/128` : `${address}/32`;
}

export interface Cidr {
  readonly family: 4 | 6;
  /** Canonical text: network address (host bits zero) and prefix length. */
  readonly text: string;
  readonly prefix: number;
  /** The network as a number (IPv4 in 32 bits, IPv6 in 128), for containment checks. */
  readonly network: bigint;
}

export type CidrParse = { readonly ok: true; readonly cidr: Cidr } | { readonly ok: false; readonly why: string };

/**
 * A CIDR block (`198.51.100.23/32`, `2001:db8::/64`); a bare address means its host block.
 * Host bits must be zero: `198.51.100.23/24` is refused with the block it probably meant, since
 * silently widening or narrowing what an analyst typed is how the wrong hosts get blocked.
 */
export function parseCidr(text: unknown): CidrParse {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false, why: 'give the block as an address or CIDR, e.g. 198.51.100.23/32' };
  const trimmed = text.trim();
  if (trimmed.length > 60) return { ok: false, why: 'a CIDR block is at most 60 characters' };
  const slash = trimmed.indexOf('/');
  const addressText = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const prefixText = slash < 0 ? null : trimmed.slice(slash + 1);
  if (addressText.includes('%')) return { ok: false, why: `${trimmed} has an interface zone; give the address without %zone` };
  let family: 4 | 6;
  let value: bigint;
  if (isIpv4(addressText)) {
    family = 4;
    value = ipv4Value(addressText);
  } else if (addressText.includes(':')) {
    const canonical = canonicalIpv6(addressText);
    if (canonical === null) return { ok: false, why: `${JSON.stringify(addressText)} is not an IPv6 address` };
    if (isIpv4(canonical)) return { ok: false, why: `${addressText} is an IPv4-mapped address; write the IPv4 address ${canonical} instead` };
    family = 6;
    value = ipv6Value(canonical) ?? 0n;
  } else {
    return { ok: false, why: `${JSON.stringify(addressText.slice(0, 40))} is not an IP address (dotted quads without leading zeros, or IPv6)` };
  }
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== null) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return { ok: false, why: `prefix length ${JSON.stringify(prefixText)} must be 0-${bits}` };
    prefix = Number(prefixText);
  }
  const network = mask(value, prefix, bits);
  const networkText = family === 4 ? formatIpv4(network) : formatIpv6(network);
  if (network !== value) return { ok: false, why: `${trimmed} has host bits set; did you mean ${networkText}/${prefix}?` };
  return { ok: true, cidr: { family, text: `${networkText}/${prefix}`, prefix, network } };
}

/** True when `address` (canonical) lies inside `cidr`. */
export function cidrContains(cidr: Cidr, address: string): boolean {
  if (cidr.family === 4) return isIpv4(address) && mask(ipv4Value(address), cidr.prefix, 32) === cidr.network;
  const value = address.includes(':') ? ipv6Value(address) : null;
  return value !== null && mask(value, cidr.prefix, 128) === cidr.network;
}

function mask(value: bigint, prefix: number, bits: number): bigint {
  const hostBits = BigInt(bits - prefix);
  return (value >> hostBits) << hostBits;
}

function maskIpv6(value: bigint, prefix: number): bigint {
  return mask(value, prefix, 128);
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** An IPv6 address (any valid spelling) as a 128-bit number, or null. */
function ipv6Value(address: string): bigint | null {
  const canonical = canonicalIpv6(address);
  if (canonical === null || isIpv4(canonical)) return null;
  const [head = '', tail] = canonical.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<string>(zeros).fill('0'), ...tailGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function formatIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return canonicalIpv6(groups.join(':')) ?? groups.join(':');
}
