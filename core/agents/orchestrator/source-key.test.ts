import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.ts';
import { cidrContains, hostCidr, parseCidr, sourceKeyOf } from './source-key.ts';

test('correlation keys: IPv4 per address, IPv6 per /64, mapped IPv4 as IPv4, host names apart, junk refused', () => {
  const key = (s: string, prefix?: number) => sourceKeyOf(s, prefix)?.key ?? null;
  assert.equal(key('198.51.100.23'), '198.51.100.23/32');
  assert.equal(key(' 198.51.100.23 '), '198.51.100.23/32');
  assert.equal(key('::ffff:198.51.100.23'), '198.51.100.23/32');
  assert.equal(key('2001:DB8:0:0:1::1'), '2001:db8::/64');
  assert.equal(key('2001:db8:5:6:ffff:ffff:ffff:ffff'), '2001:db8:5:6::/64');
  assert.equal(key('[2001:db8:5:6::1]'), '2001:db8:5:6::/64');
  assert.equal(key('fe80::1%eth0'), 'fe80::/64');
  assert.equal(key('2001:db8:5:6::1', 128), '2001:db8:5:6::1/128');
  assert.equal(key('2001:db8:5:6::1', 48), '2001:db8:5::/48');
  assert.equal(key('scanner.Example.net'), 'host:scanner.example.net');
  assert.equal(key('192.030.0.6'), 'host:192.030.0.6', 'a zero-padded quad is ambiguous (octal?): never blocked');
  assert.equal(sourceKeyOf('192.030.0.6')?.family, null);
  assert.equal(key('rm -rf /'), null);
  assert.equal(key(''), null);
  assert.equal(key('1.2.3'), null);
  assert.equal(hostCidr('198.51.100.23'), '198.51.100.23/32');
  assert.equal(hostCidr('2001:db8::1'), '2001:db8::1/128');
});

test('CIDR parsing: canonical text, host blocks for bare addresses, host bits and odd forms refused with the fix', () => {
  const text = (s: string) => {
    const r = parseCidr(s);
    return r.ok ? r.cidr.text : r.why;
  };
  assert.equal(text('198.51.100.23'), '198.51.100.23/32');
  assert.equal(text('198.51.100.0/24'), '198.51.100.0/24');
  assert.equal(text('2001:DB8:0::/32'), '2001:db8::/32');
  assert.equal(text('2001:db8::1'), '2001:db8::1/128');
  assert.equal(text('198.51.100.23/24'), '198.51.100.23/24 has host bits set; did you mean 198.51.100.0/24?');
  assert.equal(text('2001:db8::1/64'), '2001:db8::1/64 has host bits set; did you mean 2001:db8::/64?');
  assert.equal(text('198.51.100.0/33'), 'prefix length "33" must be 0-32');
  assert.equal(text('::ffff:198.51.100.23/128'), '::ffff:198.51.100.23 is an IPv4-mapped address; write the IPv4 address 198.51.100.23 instead');
  assert.equal(text('fe80::1%eth0/128'), 'fe80::1%eth0/128 has an interface zone; give the address without %zone');
  assert.equal(text('010.0.0.1'), '"010.0.0.1" is not an IP address (dotted quads without leading zeros, or IPv6)');
  const net = parseCidr('2001:db8:5:6::/64');
  assert.ok(net.ok);
  assert.ok(cidrContains(net.cidr, '2001:db8:5:6::beef'));
  assert.ok(!cidrContains(net.cidr, '2001:db8:5:7::1'));
  assert.ok(!cidrContains(net.cidr, '198.51.100.23'));
  const v4 = parseCidr('198.51.100.0/24');
  assert.ok(v4.ok && cidrContains(v4.cidr, '198.51.100.200') && !cidrContains(v4.cidr, '198.51.101.1'));
});

test('durations: as people write them, and back', () => {
  const seconds = (v: unknown) => {
    const r = parseDuration(v);
    return r.ok ? r.seconds : r.why;
  };
  assert.equal(seconds('1h'), 3600);
  assert.equal(seconds('1h30m'), 5400);
  assert.equal(seconds('1H 30M'), 5400);
  assert.equal(seconds('2w'), 1_209_600);
  assert.equal(seconds('90'), 90);
  assert.equal(seconds(600), 600);
  assert.equal(seconds(0), 'must be a positive whole number of seconds, got 0');
  assert.equal(seconds('0m'), '"0m" is zero; a duration must be positive');
  assert.equal(seconds('an hour'), '"an hour" is not a duration (write e.g. 90s, 15m, 1h30m, 7d, 2w)');
  assert.equal(seconds('99999w'), '"99999w" is more than 10 years');
  assert.equal(seconds('9'.repeat(400)), `"${'9'.repeat(40)}" is more than 10 years`);
  assert.equal(formatDuration(3600), '1h');
  assert.equal(formatDuration(5400), '1h 30m');
  assert.equal(formatDuration(694_800), '1w 1d 1h');
  assert.equal(formatDuration(45), '45s');
});
