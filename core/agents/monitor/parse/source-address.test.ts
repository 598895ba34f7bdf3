import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalIpv6, normaliseAddress } from './source-address.ts';

test('IPv4 addresses are kept as written', () => {
  for (const a of ['192.0.2.1', '0.0.0.0', '255.255.255.255', '10.0.0.40']) assert.equal(normaliseAddress(a), a);
});

test('IPv6 addresses take their RFC 5952 form (known answers from RFC 5952 section 4)', () => {
  const cases: [string, string][] = [
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['::1', '::1'],
    ['::', '::'],
    ['fe80::1%eth0', 'fe80::1'],
    ['[2001:db8::7]', '2001:db8::7'],
    ['aaaa:bbbb:cccc:1234::1:1', 'aaaa:bbbb:cccc:1234::1:1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, canonical] of cases) assert.equal(normaliseAddress(input), canonical, input);
});

test('IPv4-mapped IPv6 addresses are the IPv4 address they carry', () => {
  assert.equal(normaliseAddress('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(normaliseAddress('::FFFF:c000:0201'), '192.0.2.1');
  assert.equal(normaliseAddress('0:0:0:0:0:ffff:198.51.100.7'), '198.51.100.7');
});

test('hostnames are kept, as is a dotted quad with leading zeros (it could be read as octal)', () => {
  assert.equal(normaliseAddress('example.com'), 'example.com');
  assert.equal(normaliseAddress('1234.bbbbbb.com'), '1234.bbbbbb.com');
  assert.equal(normaliseAddress('192.030.0.6'), '192.030.0.6');
});

test('junk is not an address', () => {
  for (const junk of ['', '1.2.3', '256.1.1.1', '1.2.3.4.5', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', 'a:b', '<invalid>', 'x y', '-', '.', '"quoted"', '2001:db8::g']) {
    assert.equal(normaliseAddress(junk), null, JSON.stringify(junk));
  }
  assert.equal(canonicalIpv6('1::2::3'), null);
});

test('canonical IPv6 text is a fixed point and agrees with the URL parser', () => {
  const group = fc.integer({ min: 0, max: 0xffff });
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const text = groups.map((g) => g.toString(16)).join(':');
      const canonical = normaliseAddress(text);
      if (canonical === null) return false;
      if (!(groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)) {
        assert.equal(canonical, new URL(`http://[${text}]/`).hostname.slice(1, -1));
      }
      return normaliseAddress(canonical) === canonical;
    }),
  );
});
