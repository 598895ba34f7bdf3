/**
 * The client address a log line names, in one spelling per address so that detectors can count by
 * it: IPv4 dotted quads as written, IPv6 in the RFC 5952 form (lower case, no leading zeros, the
 * longest run of zero groups as `::`), IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address it
 * carries. A log that gives only a hostname (sshd with UseDNS, `example.com`) yields the hostname
 * as written; so does a dotted quad with leading zeros (`192.030.0.6`), which some parsers read
 * as octal: we refuse to guess which address it is.
 *
 * Total: anything that is neither an address nor a hostname is null.
 */
import { formatIpv6Groups } from '../../ipv6-text.ts';

/** Longest DNS name (RFC 1035): anything longer is not a hostname but junk or an injection. */
const MAX_HOSTNAME_LENGTH = 253;

/** `token` as a canonical address or hostname, or null when it is neither. */
export function normaliseAddress(token: string): string | null {
  let text = token;
  if (text.length > 1 && text.charCodeAt(0) === 0x5b /* [ */ && text.charCodeAt(text.length - 1) === 0x5d /* ] */) {
    text = text.slice(1, -1);
  }
  if (text.length === 0 || text.length > MAX_HOSTNAME_LENGTH) return null;
  // Regular expressions run as native code from the first call: this is on the path of every line.
  if (IPV4.test(text)) return text;
  if (text.includes(':')) return cachedIpv6(text);
  const quad = DOTTED_NUMBERS.exec(text);
  if (quad !== null) return quad.slice(1).every((part) => Number(part) <= 255) ? text : null; // padded: kept as written
  return HOSTNAME.test(text) && LETTER.test(text) ? text : null;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** A canonical dotted quad: four parts 0–255 without leading zeros. */
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
/** Four numbers, maybe with leading zeros (`192.030.0.6`). */
const DOTTED_NUMBERS = /^(\d{1,4})\.(\d{1,4})\.(\d{1,4})\.(\d{1,4})$/;
/** Letters, digits, dots, hyphens and underscores, as DNS names in logs are written. */
const HOSTNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** A hostname has a letter somewhere; all digits and dots (`1.2.3`) is no address we can name. */
const LETTER = /[A-Za-z]/;

/** True when `text` is a canonical dotted-quad IPv4 address. */
export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

/** IPv6 spellings already worked out: attackers' addresses repeat line after line. A pure memo, bounded. */
const ipv6Spellings = new Map<string, string | null>();
const MAX_REMEMBERED_IPV6 = 4096;

function cachedIpv6(text: string): string | null {
  let canonical = ipv6Spellings.get(text);
  if (canonical === undefined) {
    canonical = canonicalIpv6(text);
    if (ipv6Spellings.size >= MAX_REMEMBERED_IPV6) ipv6Spellings.clear();
    ipv6Spellings.set(text, canonical);
  }
  return canonical;
}

/** RFC 5952 spelling of an IPv6 address (IPv4-mapped ones as IPv4), or null when `text` is not one. */
export function canonicalIpv6(text: string): string | null {
  let body = text;
  const zone = body.indexOf('%');
  if (zone >= 0) body = body.slice(0, zone); // a link-local zone names our interface, not the client
  if (body.length < 2 || body.length > 45) return null;
  const groups = ipv6Groups(body);
  if (groups === null) return null;
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return formatIpv6Groups(groups);
}

/** The eight 16-bit groups of an IPv6 address (with an optional trailing dotted IPv4), or null. */
function ipv6Groups(body: string): number[] | null {
  const doubleColon = body.indexOf('::');
  if (doubleColon >= 0 && body.indexOf('::', doubleColon + 1) >= 0) return null;
  const head = doubleColon >= 0 ? body.slice(0, doubleColon) : body;
  const tail = doubleColon >= 0 ? body.slice(doubleColon + 2) : '';
  const headGroups = head === '' ? [] : parseGroups(head, doubleColon < 0);
  const tailGroups = tail === '' ? [] : parseGroups(tail, true);
  if (headGroups === null || tailGroups === null) return null;
  if (doubleColon < 0) return headGroups.length === 8 ? headGroups : null;
  const missing = 8 - headGroups.length - tailGroups.length;
  if (missing < 1) return null;
  return [...headGroups, ...new Array<number>(missing).fill(0), ...tailGroups];
}

function parseGroups(part: string, mayEndInIpv4: boolean): number[] | null {
  const pieces = part.split(':');
  const groups: number[] = [];
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k] ?? '';
    if (k === pieces.length - 1 && mayEndInIpv4 && piece.includes('.')) {
      if (!isIpv4(piece)) return null;
      const octets = piece.split('.').map(Number);
      groups.push((octets[0] ?? 0) * 256 + (octets[1] ?? 0), (octets[2] ?? 0) * 256 + (octets[3] ?? 0));
      continue;
    }
    if (piece.length === 0 || piece.length > 4) return null;
    let value = 0;
    for (let i = 0; i < piece.length; i++) {
      const digit = hexDigit(piece.charCodeAt(i));
      if (digit < 0) return null;
      value = value * 16 + digit;
    }
    groups.push(value);
  }
  return groups.length <= 8 ? groups : null;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

