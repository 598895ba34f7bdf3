/**
 * Special-purpose address ranges the executor refuses to block unless configured to (IANA IPv4
 * and IPv6 Special-Purpose Address Registries, RFC 6890 and successors).
 *
 * Why refuse them: a block on one of these almost always hurts the defender. Private and CGNAT
 * space is usually the organisation's own network (or, behind a NAT, every customer at once);
 * loopback and link-local are the host talking to itself or its neighbours (ARP/ND, DHCP);
 * multicast and the reserved blocks never appear as a real attacker's source address, so an
 * order for them is a mistake or an attempt to disrupt routing protocols.
 *
 * Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32,
 * 3fff::/20) are deliberately NOT here: they never route on the Internet, so blocking them
 * harms nobody, and the project's tests and lab use them as the attackers' addresses.
 *
 * Categories matter for configuration: `allowPrivate: true` permits `private` and `cgnat`
 * (the ranges a real attacker inside a corporate or carrier network has); every other category
 * can only be permitted by listing the CIDR in `permittedRanges`.
 */
import { parseCidr, type Cidr } from './cidr.ts';

export type SpecialRangeCategory = 'unspecified' | 'private' | 'cgnat' | 'loopback' | 'link-local' | 'multicast' | 'reserved';

export interface SpecialRange {
  readonly cidr: Cidr;
  readonly category: SpecialRangeCategory;
  /** What a person recognises it by, for refusal messages. */
  readonly name: string;
}

const TABLE: ReadonlyArray<readonly [string, SpecialRangeCategory, string]> = [
  ['0.0.0.0/8', 'unspecified', '"this network" (RFC 791), including the unspecified address'],
  ['10.0.0.0/8', 'private', 'private network (RFC 1918)'],
  ['100.64.0.0/10', 'cgnat', 'carrier-grade NAT shared space (RFC 6598)'],
  ['127.0.0.0/8', 'loopback', 'loopback (RFC 1122)'],
  ['169.254.0.0/16', 'link-local', 'link-local (RFC 3927)'],
  ['172.16.0.0/12', 'private', 'private network (RFC 1918)'],
  ['192.0.0.0/24', 'reserved', 'IETF protocol assignments (RFC 6890)'],
  ['192.88.99.0/24', 'reserved', 'deprecated 6to4 relay anycast (RFC 7526)'],
  ['192.168.0.0/16', 'private', 'private network (RFC 1918)'],
  ['198.18.0.0/15', 'reserved', 'benchmarking (RFC 2544)'],
  ['224.0.0.0/4', 'multicast', 'multicast (RFC 5771)'],
  ['240.0.0.0/4', 'reserved', 'reserved for future use and limited broadcast (RFC 1112, RFC 919)'],
  ['::/128', 'unspecified', 'the unspecified address (RFC 4291)'],
  ['::1/128', 'loopback', 'loopback (RFC 4291)'],
  ['::/96', 'reserved', 'deprecated IPv4-compatible addresses (RFC 4291)'],
  ['64:ff9b:1::/48', 'private', 'local-use NAT64 (RFC 8215)'],
  ['100::/64', 'reserved', 'discard-only (RFC 6666)'],
  ['2001:2::/48', 'reserved', 'benchmarking (RFC 5180)'],
  ['fc00::/7', 'private', 'unique local addresses (RFC 4193)'],
  ['fe80::/10', 'link-local', 'link-local (RFC 4291)'],
  ['fec0::/10', 'reserved', 'deprecated site-local (RFC 3879)'],
  ['ff00::/8', 'multicast', 'multicast (RFC 4291)'],
];

function build(): readonly SpecialRange[] {
  return TABLE.map(([text, category, name]) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new Error(`special range table: ${parsed.error.message}`);
    return { cidr: parsed.value, category, name };
  });
}

/** Most specific first, so the first overlap found names the narrowest range (::1 before ::/96). */
export const SPECIAL_RANGES: readonly SpecialRange[] = [...build()].sort((a, b) => b.cidr.prefix - a.cidr.prefix);

/** Categories `allowPrivate: true` permits. */
export const PRIVATE_CATEGORIES: ReadonlySet<SpecialRangeCategory> = new Set(['private', 'cgnat']);
