/**
 * IPv4/IPv6 addresses and CIDR blocks as the executor accepts them: a total parser (every input
 * gives a value or a typed error, never an exception), one canonical text form, and containment.
 *
 * Why so strict: the text arrives from the network (a signed order, but signed by a person who
 * may have pasted anything) and ends up in firewall commands. Only a CIDR that went through this
 * parser and came out in canonical form is ever written into a command, so the parser decides
 * what can reach `nft`/`ipset`: digits, hex, dots, colons and one slash, nothing else.
 *
 * Decisions, written down:
 * - A bare address is a host route: `198.51.100.7` is `198.51.100.7/32`, `2001:db8::1` is /128.
 * - Host bits set under the prefix (`198.51.100.7/24`) are REFUSED, not masked: an analyst who
 *   typed that may have meant the single address or the /24, and guessing wrong either blocks
 *   255 innocent hosts or leaves the attacker unblocked. The error names both readings.
 *   (`hostBits: 'clear'` masks instead; only for the executor's own protected addresses, where
 *   an interface address such as `10.0.0.5/24` should protect the whole subnet.)
 * - An IPv4-mapped IPv6 address (`::ffff:198.51.100.7`, `::ffff:198.51.100.0/120`) IS the IPv4
 *   address: it is converted, so allowlists and duplicate checks see one address, not two.
 * - IPv4 octets with leading zeros (`010.1.2.3`) are refused: some tools read them as octal, so
 *   the same text names different hosts in different programs. Prefix lengths likewise (`/024`).
 *   IPv6 groups may have leading zeros (`2001:0db8::`): that is ordinary IPv6 notation.
 * - No whitespace, zone ids (`fe80::1%eth0`), signs or other characters, and no trimming:
 *   the caller sends exactly one CIDR.
 * - Canonical text always carries the prefix and follows RFC 5952 for IPv6 (lowercase, no
 *   leading zeros, the longest run of two or more zero groups shortened to `::`).
 */
import { fail, ok, type DecodeError, type Result } from '../../overlay/result.ts';
import { formatIpv6Groups } from '../ipv6-text.ts';

export type IpFamily = 4 | 6;

export interface Cidr {
  readonly family: IpFamily;
  /** The network address as an unsigned integer of 32 (IPv4) or 128 (IPv6) bits. */
  readonly network: bigint;
  readonly prefix: number;
  /** Canonical text, always with its prefix: `198.51.100.7/32`, `2001:db8::/48`. */
  readonly text: string;
}

export type CidrErrorCode =
  | 'cidr_not_text'
  | 'cidr_empty'
  | 'cidr_too_long'
  | 'cidr_bad_character'
  | 'cidr_bad_ipv4'
  | 'cidr_bad_ipv6'
  | 'cidr_bad_prefix'
  | 'cidr_host_bits';

export type CidrError = DecodeError<CidrErrorCode>;

export interface ParseCidrOptions {
  /** `refuse` (default): host bits under the prefix are an error. `clear`: they are masked off. */
  readonly hostBits?: 'refuse' | 'clear';
}

/**
 * The longest valid text is a fully written IPv6 address with an embedded IPv4 tail and a
 * prefix (`0000:0000:0000:0000:0000:ffff:255.255.255.255/128`, 49 characters); anything longer
 * is refused before it is looked at, so a megabyte of hostile text costs nothing.
 */
export const MAX_CIDR_TEXT_LENGTH = 64;

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };
const ALLOWED_CHARACTER = /^[0-9A-Fa-f.:/]$/;
const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const PREFIX_TEXT = /^(?:0|[1-9][0-9]{0,2})$/;
const IPV4_MAPPED_PREFIX = 0xffffn; // ::ffff:0:0/96, the top 96 bits of a mapped address
const MAPPED_PREFIX_LENGTH = 96;

/** Shows hostile input in an error message without echoing all of it or its control bytes. */
export function quoteInput(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return JSON.stringify(shown);
}

function maskOf(family: IpFamily, prefix: number): bigint {
  const bits = BITS[family];
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/** Groups of one side of a `::` (or of the whole address): each a 16-bit number. */
function parseIpv6Groups(text: string, mayEndWithIpv4: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (part.includes('.')) {
      if (!mayEndWithIpv4 || i !== parts.length - 1) return null;
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      if (!IPV6_GROUP.test(part)) return null;
      groups.push(Number.parseInt(part, 16));
    }
  }
  return groups;
}

function parseIpv6(text: string): bigint | null {
  const gap = text.indexOf('::');
  // `:::` has two overlapping `::`; a second `::` anywhere is ambiguous.
  if (gap !== text.lastIndexOf('::')) return null;
  let groups: number[];
  if (gap < 0) {
    const all = parseIpv6Groups(text, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else {
    const head = parseIpv6Groups(text.slice(0, gap), false);
    const tail = parseIpv6Groups(text.slice(gap + 2), true);
    // `::` stands for at least one zero group.
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** RFC 5952: lowercase, no leading zeros, the first longest run of ≥ 2 zero groups becomes `::`. */
function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  return formatIpv6Groups(groups);
}

export function formatAddress(family: IpFamily, value: bigint): string {
  return family === 4 ? formatIpv4(value) : formatIpv6(value);
}

/** Builds a Cidr from parts already known to be valid (network has no host bits). */
function makeCidr(family: IpFamily, network: bigint, prefix: number): Cidr {
  return { family, network, prefix, text: `${formatAddress(family, network)}/${prefix}` };
}

/**
 * Parses an address or CIDR into canonical form. Total: returns a typed error for any input,
 * including non-strings, and never throws.
 */
export function parseCidr(input: unknown, options: ParseCidrOptions = {}): Result<Cidr, CidrError> {
  if (typeof input !== 'string') return fail('cidr_not_text', `expected an address or CIDR as text, got ${input === null ? 'null' : typeof input}`);
  if (input === '') return fail('cidr_empty', 'the address is empty');
  if (input.length > MAX_CIDR_TEXT_LENGTH) {
    return fail('cidr_too_long', `${quoteInput(input)} is ${input.length} characters; an address or CIDR has at most ${MAX_CIDR_TEXT_LENGTH}`);
  }
  for (const [i, ch] of [...input].entries()) {
    if (!ALLOWED_CHARACTER.test(ch)) {
      return fail('cidr_bad_character', `${quoteInput(input)} has ${JSON.stringify(ch)} at position ${i + 1}; only an address and an optional /prefix are accepted`);
    }
  }
  const slash = input.indexOf('/');
  if (slash !== input.lastIndexOf('/')) return fail('cidr_bad_prefix', `${quoteInput(input)} has more than one "/"`);
  const addressText = slash < 0 ? input : input.slice(0, slash);
  const prefixText = slash < 0 ? null : input.slice(slash + 1);

  let family: IpFamily;
  let value: bigint | null;
  if (addressText.includes(':')) {
    family = 6;
    value = parseIpv6(addressText);
    if (value === null) return fail('cidr_bad_ipv6', `${quoteInput(addressText)} is not an IPv6 address`);
  } else {
    family = 4;
    value = parseIpv4(addressText);
    if (value === null) {
      return fail('cidr_bad_ipv4', `${quoteInput(addressText)} is not an IPv4 address (four decimal octets 0-255, no leading zeros)`);
    }
  }

  const bits = BITS[family];
  let prefix = bits;
  if (prefixText !== null) {
    if (!PREFIX_TEXT.test(prefixText) || Number(prefixText) > bits) {
      return fail('cidr_bad_prefix', `${quoteInput(`/${prefixText}`)} is not a prefix length for IPv${family} (0-${bits}, no leading zeros)`);
    }
    prefix = Number(prefixText);
  }

  const mask = maskOf(family, prefix);
  let network = value & mask;
  if (network !== value && options.hostBits !== 'clear') {
    const asNetwork = makeCidr(family, network, prefix).text;
    const asHost = makeCidr(family, value, bits).text;
    return fail('cidr_host_bits', `${input} has host bits set below /${prefix}: did you mean the network ${asNetwork} or the single address ${asHost}?`);
  }

  if (family === 6 && prefix >= MAPPED_PREFIX_LENGTH && network >> 32n === IPV4_MAPPED_PREFIX) {
    family = 4;
    network &= 0xffffffffn;
    prefix -= MAPPED_PREFIX_LENGTH;
  }
  return ok(makeCidr(family, network, prefix));
}

/** True if every address of `inner` is in `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && (inner.network & maskOf(outer.family, outer.prefix)) === outer.network;
}

/** Two CIDRs share an address exactly when one contains the other. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** The addresses two CIDRs share (the more specific one), or null. */
export function cidrIntersection(a: Cidr, b: Cidr): Cidr | null {
  if (cidrContains(a, b)) return b;
  if (cidrContains(b, a)) return a;
  return null;
}

/** Every strictly wider network that contains `cidr` (its supernets), widest first. */
export function supernetsOf(cidr: Cidr): Cidr[] {
  const out: Cidr[] = [];
  for (let prefix = 0; prefix < cidr.prefix; prefix++) out.push(makeCidr(cidr.family, cidr.network & maskOf(cidr.family, prefix), prefix));
  return out;
}

/** Orders IPv4 before IPv6, then by network, then wider before narrower: stable listings. */
export function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.prefix - b.prefix;
}

/** The single-address CIDR of an address, for callers that hold a parsed value. */
export function hostCidr(family: IpFamily, address: bigint): Cidr {
  return makeCidr(family, address, BITS[family]);
}

export function familyBits(family: IpFamily): number {
  return BITS[family];
}
