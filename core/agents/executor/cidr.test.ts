import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { cidrContains, cidrIntersection, cidrsOverlap, compareCidrs, formatAddress, MAX_CIDR_TEXT_LENGTH, parseCidr, supernetsOf, type Cidr } from './cidr.ts';

function parsed(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(`${text}: ${r.error.message}`);
  return r.value;
}

function refusal(input: unknown): string {
  const r = parseCidr(input);
  assert.equal(r.ok, false, `${String(input).slice(0, 60)} should be refused`);
  return r.ok ? '' : r.error.code;
}

test('addresses become host routes and CIDRs come out in one canonical form', () => {
  const cases: Array<[string, string]> = [
    ['198.51.100.7', '198.51.100.7/32'],
    ['198.51.100.0/24', '198.51.100.0/24'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['255.255.255.255', '255.255.255.255/32'],
    ['2001:db8::/48', '2001:db8::/48'],
    ['2001:DB8:0000:0:0:0:0:1', '2001:db8::1/128'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'], // RFC 5952: the first of two equal zero runs
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3/128'], // ...unless a later run is longer
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1/128'], // a single zero group is never shortened
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0/128'],
    ['::', '::/128'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    ['64:ff9b::198.51.100.7', '64:ff9b::c633:6407/128'],
    ['fe80::/10', 'fe80::/10'],
  ];
  for (const [input, canonical] of cases) assert.equal(parsed(input).text, canonical, input);
  assert.equal(parsed('198.51.100.7').prefix, 32);
  assert.equal(parsed('2001:db8::1').family, 6);
});

test('an IPv4-mapped IPv6 address is the IPv4 address', () => {
  assert.equal(parsed('::ffff:198.51.100.7').text, '198.51.100.7/32');
  assert.equal(parsed('::FFFF:c633:6407').text, '198.51.100.7/32');
  assert.equal(parsed('::ffff:198.51.100.0/120').text, '198.51.100.0/24');
  assert.equal(parsed('::ffff:0.0.0.0/96').text, '0.0.0.0/0');
  assert.equal(parsed('::ffff:198.51.100.7').family, 4);
  // Wider than /96 is not only IPv4 space: it stays IPv6 (and here has host bits set).
  assert.equal(refusal('::ffff:0:0/95'), 'cidr_host_bits');
});

test('hostile and malformed input is refused with a typed error, never an exception', () => {
  const cases: Array<[unknown, string]> = [
    ['1.2.3.4/33', 'cidr_bad_prefix'],
    ['1.2.3', 'cidr_bad_ipv4'],
    ['::g', 'cidr_bad_character'],
    ['1.2.3.4/24; rm -rf /', 'cidr_bad_character'],
    ['1.2.3.4/32; rm -rf /', 'cidr_bad_character'],
    ['$(reboot)', 'cidr_bad_character'],
    ['010.1.2.3', 'cidr_bad_ipv4'],
    ['1.2.3.04', 'cidr_bad_ipv4'],
    ['1.2.3.4/024', 'cidr_bad_prefix'],
    ['1.2.3.4/', 'cidr_bad_prefix'],
    ['1.2.3.4/1/2', 'cidr_bad_prefix'],
    ['/24', 'cidr_bad_ipv4'],
    ['1.2.3.256', 'cidr_bad_ipv4'],
    ['1.2.3.4.5', 'cidr_bad_ipv4'],
    ['1..2.3', 'cidr_bad_ipv4'],
    ['', 'cidr_empty'],
    [' 1.2.3.4', 'cidr_bad_character'],
    ['1.2.3.4 ', 'cidr_bad_character'],
    ['1.2.3.4\n', 'cidr_bad_character'],
    ['1.2.3.4\u0000', 'cidr_bad_character'],
    ['１.2.3.4', 'cidr_bad_character'], // a full-width digit
    ['-1.2.3.4', 'cidr_bad_character'],
    ['+1.2.3.4', 'cidr_bad_character'],
    ['0x7f.0.0.1', 'cidr_bad_character'],
    ['1e2.0.0.1', 'cidr_bad_ipv4'],
    ['2001:db8::/129', 'cidr_bad_prefix'],
    ['1::2::3', 'cidr_bad_ipv6'],
    [':::', 'cidr_bad_ipv6'],
    [':1::', 'cidr_bad_ipv6'],
    ['1:2:3:4:5:6:7:8:9', 'cidr_bad_ipv6'],
    ['1:2:3:4:5:6:7', 'cidr_bad_ipv6'],
    ['1:2:3:4:5:6:7:8::', 'cidr_bad_ipv6'],
    ['12345::', 'cidr_bad_ipv6'],
    ['1.2.3.4::', 'cidr_bad_ipv6'],
    ['::1.2.3.4:5', 'cidr_bad_ipv6'],
    ['fe80::1%eth0', 'cidr_bad_character'],
    ['[::1]', 'cidr_bad_character'],
    ['198.51.100.7/24', 'cidr_host_bits'],
    ['2001:db8::1/48', 'cidr_host_bits'],
    ['1'.repeat(MAX_CIDR_TEXT_LENGTH + 1), 'cidr_too_long'],
    ['a'.repeat(10_000_000), 'cidr_too_long'],
    [null, 'cidr_not_text'],
    [undefined, 'cidr_not_text'],
    [3232235777, 'cidr_not_text'],
    [{ toString: () => '1.2.3.4' }, 'cidr_not_text'],
  ];
  for (const [input, code] of cases) assert.equal(refusal(input), code, JSON.stringify(String(input).slice(0, 40)));
});

test('a host-bits refusal names both readings, and hostBits: clear masks instead', () => {
  const r = parseCidr('198.51.100.7/24');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.match(r.error.message, /198\.51\.100\.0\/24/);
    assert.match(r.error.message, /198\.51\.100\.7\/32/);
  }
  const cleared = parseCidr('10.0.0.5/24', { hostBits: 'clear' });
  assert.equal(cleared.ok && cleared.value.text, '10.0.0.0/24');
});

test('error messages never echo more than a bounded piece of the input', () => {
  const r = parseCidr(`1.2.3.4${' '.repeat(50)}`);
  assert.equal(r.ok, false);
  if (!r.ok) assert.ok(r.error.message.length < 200);
  const long = parseCidr('9'.repeat(1_000_000));
  if (!long.ok) assert.ok(long.error.message.length < 200);
});

test('containment and overlap', () => {
  const net24 = parsed('198.51.100.0/24');
  const host = parsed('198.51.100.7');
  const other = parsed('203.0.113.7');
  const v6 = parsed('2001:db8::/32');
  assert.equal(cidrContains(net24, host), true);
  assert.equal(cidrContains(host, net24), false);
  assert.equal(cidrsOverlap(host, net24), true);
  assert.equal(cidrsOverlap(net24, other), false);
  assert.equal(cidrContains(parsed('0.0.0.0/0'), other), true);
  assert.equal(cidrContains(parsed('::/0'), other), false, 'families never overlap');
  assert.equal(cidrContains(v6, parsed('2001:db8:ffff::1')), true);
  assert.equal(cidrContains(v6, parsed('2001:db9::1')), false);
  assert.equal(cidrIntersection(net24, host)?.text, '198.51.100.7/32');
  assert.equal(cidrIntersection(net24, other), null);
  const supernets = supernetsOf(host).map((c) => c.text);
  assert.equal(supernets.length, 32);
  assert.deepEqual([supernets[0], supernets[24], supernets[31]], ['0.0.0.0/0', '198.51.100.0/24', '198.51.100.6/31']);
  assert.deepEqual(supernetsOf(parsed('2001:db8::/32')).slice(-1).map((c) => c.text), ['2001:db8::/31']);
  assert.ok(supernetsOf(host).every((s) => cidrContains(s, host) && s.text !== host.text));
  assert.deepEqual(
    ['2001:db8::/32', '198.51.100.7', '198.51.100.0/24', '10.0.0.0/8'].map(parsed).sort(compareCidrs).map((c) => c.text),
    ['10.0.0.0/8', '198.51.100.0/24', '198.51.100.7/32', '2001:db8::/32'],
  );
});

// --- properties -------------------------------------------------------------------------------

const prefix4 = fc.integer({ min: 0, max: 32 });
const prefix6 = fc.integer({ min: 0, max: 128 });
const address4 = fc.bigInt({ min: 0n, max: 2n ** 32n - 1n });
const address6 = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n });
const mask = (bits: number, prefix: number) => (prefix === 0 ? 0n : ((2n ** BigInt(bits) - 1n) >> BigInt(bits - prefix)) << BigInt(bits - prefix));
const isMapped = (v: bigint) => v >> 32n === 0xffffn;

/** Every address written the long way: no `::`, leading zeros kept, uppercase. */
function longForm6(value: bigint): string {
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16).padStart(4, '0').toUpperCase());
  return groups.join(':');
}

test('property: any IPv4 network survives format → parse unchanged, and its text is a fixed point', () => {
  fc.assert(
    fc.property(address4, prefix4, (value, prefix) => {
      const network = value & mask(32, prefix);
      const text = `${formatAddress(4, network)}/${prefix}`;
      const c = parsed(text);
      assert.equal(c.network, network);
      assert.equal(c.prefix, prefix);
      assert.equal(c.text, text);
      assert.equal(isIP(formatAddress(4, network)), 4);
    }),
    { numRuns: 2000 },
  );
});

test('property: any IPv6 network parses the same from its long and short forms; the short form matches WHATWG URL serialisation', () => {
  fc.assert(
    fc.property(address6, prefix6, (value, prefix) => {
      const network = value & mask(128, prefix);
      fc.pre(!(prefix >= 96 && isMapped(network)));
      const fromLong = parsed(`${longForm6(network)}/${prefix}`);
      const fromShort = parsed(fromLong.text);
      assert.deepEqual(fromShort, fromLong);
      assert.equal(fromLong.network, network);
      // Node's URL parser compresses IPv6 per the WHATWG spec (= RFC 5952 for non-mapped addresses).
      const short = fromLong.text.slice(0, fromLong.text.lastIndexOf('/'));
      assert.equal(new URL(`http://[${short}]/`).hostname, `[${short}]`);
    }),
    { numRuns: 2000 },
  );
});

test('property: host bits are refused, never silently masked', () => {
  fc.assert(
    fc.property(address4, fc.integer({ min: 0, max: 31 }), (value, prefix) => {
      fc.pre((value & mask(32, prefix)) !== value);
      assert.equal(refusal(`${formatAddress(4, value)}/${prefix}`), 'cidr_host_bits');
    }),
  );
});

test('property: the parser is total on arbitrary text and agrees with node:net on what is an address', () => {
  const near = fc.stringMatching(/^[0-9a-fA-F:.]{0,45}$/);
  const anything = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 40 }), near, fc.stringMatching(/^[0-9./:; a-z$()|&-]{0,70}$/));
  fc.assert(
    fc.property(anything, (text) => {
      const r = parseCidr(text);
      if (!r.ok) {
        assert.equal(typeof r.error.code, 'string');
        assert.ok(r.error.message.length < 300);
        return;
      }
      assert.match(r.value.text, /^[0-9a-f.:]+\/\d{1,3}$/, 'only canonical characters ever leave the parser');
      assert.equal(parsed(r.value.text).text, r.value.text, 'canonical text is a fixed point');
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(near, (text) => {
      assert.equal(parseCidr(text).ok, isIP(text) !== 0, text);
    }),
    { numRuns: 5000 },
  );
});

test('property: mutated valid addresses are parsed exactly when node:net accepts them', () => {
  const valid = fc.oneof(
    address4.map((v) => formatAddress(4, v)),
    address6.map((v) => formatAddress(6, v)),
    address6.map(longForm6),
  );
  const mutated = fc.tuple(valid, fc.nat(), fc.constantFrom('', '0', ':', '.', '::', 'f', '1', '00')).map(([text, at, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
  });
  fc.assert(
    fc.property(mutated, (text) => {
      assert.equal(parseCidr(text).ok, isIP(text) !== 0, text);
    }),
    { numRuns: 5000 },
  );
});

test('property: containment is reflexive and transitive, overlap symmetric, and agrees with address ranges', () => {
  const cidr4 = fc.tuple(address4, prefix4).map(([v, p]) => parsed(`${formatAddress(4, v & mask(32, p))}/${p}`));
  fc.assert(
    fc.property(cidr4, cidr4, cidr4, (a, b, c) => {
      assert.equal(cidrContains(a, a), true);
      assert.equal(cidrsOverlap(a, b), cidrsOverlap(b, a));
      if (cidrContains(a, b) && cidrContains(b, c)) assert.equal(cidrContains(a, c), true);
      const range = (x: Cidr) => [x.network, x.network + 2n ** BigInt(32 - x.prefix) - 1n] as const;
      const [a0, a1] = range(a);
      const [b0, b1] = range(b);
      assert.equal(cidrsOverlap(a, b), a0 <= b1 && b0 <= a1, `${a.text} vs ${b.text}`);
      assert.equal(cidrContains(a, b), a0 <= b0 && b1 <= a1, `${a.text} ⊇ ${b.text}`);
    }),
    { numRuns: 3000 },
  );
});
