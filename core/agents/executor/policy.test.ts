import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { cidrsOverlap, formatAddress, parseCidr, type Cidr } from './cidr.ts';
import type { MitigationOrder } from './mitigation-order.ts';
import { checkMitigation, parseProtectedAddress, resolvePolicy, type MitigationPolicy, type PolicyConfig, type PolicyContext } from './policy.ts';
import { SPECIAL_RANGES } from './special-ranges.ts';

function policy(config: PolicyConfig = {}, protectedAddresses: () => readonly string[] = () => []): MitigationPolicy {
  const r = resolvePolicy(config, protectedAddresses);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function order(fields: Partial<MitigationOrder> = {}): MitigationOrder {
  return {
    requestId: 'req-00000001',
    incidentId: 'incident-1',
    action: 'block',
    cidr: '198.51.100.7',
    ttlSeconds: 3600,
    reason: 'ssh brute force from a documentation address',
    requester: { fingerprint: 'ABCD-EF01-2345-6789-ABCD-EF01-2345-6789', hostname: 'local-threat-orchestrator' },
    issuedAt: 1_700_000_000_000,
    ...fields,
  };
}

function verdict(o: unknown, p: MitigationPolicy = policy(), context?: PolicyContext): string {
  const r = checkMitigation(o, p, context);
  return r.ok ? `ok ${r.value.action} ${r.value.cidr.text} ${r.value.ttlSeconds}` : r.error.code;
}

test('a block of a documentation address within the TTL bounds is accepted by default', () => {
  assert.equal(verdict(order()), 'ok block 198.51.100.7/32 3600');
  // The project's tests and lab use the documentation ranges as attackers: they stay blockable.
  for (const cidr of ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/48', '3fff::/48', '2001:db8::7']) {
    assert.match(verdict(order({ cidr })), /^ok block/, cidr);
  }
});

test('TTL must be a whole number of seconds within [60 s, maxTtl]', () => {
  assert.equal(verdict(order({ ttlSeconds: 59 })), 'ttl_too_short');
  assert.equal(verdict(order({ ttlSeconds: 0 })), 'ttl_too_short');
  assert.equal(verdict(order({ ttlSeconds: -5 })), 'ttl_too_short');
  assert.equal(verdict(order({ ttlSeconds: 60 })), 'ok block 198.51.100.7/32 60');
  assert.equal(verdict(order({ ttlSeconds: 86_400 })), 'ok block 198.51.100.7/32 86400');
  assert.equal(verdict(order({ ttlSeconds: 86_401 })), 'ttl_too_long');
  assert.equal(verdict(order({ ttlSeconds: 10 * 365 * 86_400 })), 'ttl_too_long');
  assert.equal(verdict(order({ ttlSeconds: 90.5 })), 'invalid_ttl');
  assert.equal(verdict(order({ ttlSeconds: Number.NaN })), 'invalid_order');
  assert.equal(verdict(order({ ttlSeconds: Number.POSITIVE_INFINITY })), 'invalid_order');
  assert.equal(verdict(order({ ttlSeconds: 7200 }), policy({ maxTtlSeconds: 3600 })), 'ttl_too_long');
  assert.equal(verdict(order({ ttlSeconds: 2 }), policy({ testOnlyMinTtlSeconds: 2 })), 'ok block 198.51.100.7/32 2');
  const r = checkMitigation(order({ ttlSeconds: 86_401 }), policy());
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error.reason, /86401 s is longer than the maximum of 86400 s/);
});

test('the whole Internet and prefixes wider than the configured limit are refused', () => {
  assert.equal(verdict(order({ cidr: '0.0.0.0/0' })), 'default_route');
  assert.equal(verdict(order({ cidr: '::/0' })), 'default_route');
  assert.equal(verdict(order({ cidr: '::ffff:0.0.0.0/96' })), 'default_route');
  assert.equal(verdict(order({ cidr: '203.0.0.0/15' })), 'prefix_too_wide');
  assert.equal(verdict(order({ cidr: '203.0.0.0/16' })), 'ok block 203.0.0.0/16 3600');
  assert.equal(verdict(order({ cidr: '2001:db8::/47' })), 'prefix_too_wide');
  assert.equal(verdict(order({ cidr: '203.0.113.0/24' }), policy({ minPrefixLength4: 28 })), 'prefix_too_wide');
  assert.equal(verdict(order({ cidr: '203.0.113.0/28' }), policy({ minPrefixLength4: 28 })), 'ok block 203.0.113.0/28 3600');
});

test('private, CGNAT, loopback, link-local, multicast, reserved and unspecified targets are refused by default', () => {
  const targets = [
    '10.1.2.3', '172.16.5.4', '192.168.1.1', '100.64.1.1', '127.0.0.1', '169.254.1.1', '224.0.0.1', '239.255.255.250', '240.0.0.1',
    '255.255.255.255', '0.0.0.0', '0.1.2.3', '192.0.0.9', '198.18.0.1', '192.88.99.1', '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1',
    'ff02::1', '100::1', '::ffff:10.0.0.1', '192.168.0.0/16', '64:ff9b:1::1',
  ];
  for (const cidr of targets) assert.equal(verdict(order({ cidr })), 'special_range', cidr);
  // A public block that merely contains a reserved one is refused too: it would block the reserved range.
  assert.equal(verdict(order({ cidr: '192.0.0.0/16' })), 'special_range');
  const r = checkMitigation(order({ cidr: '10.1.2.3' }), policy());
  if (!r.ok) assert.match(r.error.reason, /10\.0\.0\.0\/8, private network \(RFC 1918\).*allowPrivate/);
  const loop = checkMitigation(order({ cidr: '::1' }), policy());
  if (!loop.ok) assert.match(loop.error.reason, /::1\/128, loopback/, 'the narrowest range is named');
});

test('allowPrivate permits private and CGNAT space only; permittedRanges permits exactly what it lists', () => {
  const p = policy({ allowPrivate: true });
  for (const cidr of ['10.1.2.3', '172.16.5.4', '192.168.1.1', '100.64.1.1', 'fd12::1']) assert.match(verdict(order({ cidr }), p), /^ok block/, cidr);
  for (const cidr of ['127.0.0.1', '169.254.1.1', '224.0.0.1', 'fe80::1', '::1']) assert.equal(verdict(order({ cidr }), p), 'special_range', cidr);

  const listed = policy({ permittedRanges: ['10.20.0.0/16', '169.254.7.0/24'] });
  assert.equal(verdict(order({ cidr: '10.20.1.1' }), listed), 'ok block 10.20.1.1/32 3600');
  assert.equal(verdict(order({ cidr: '10.20.0.0/16' }), listed), 'ok block 10.20.0.0/16 3600');
  assert.equal(verdict(order({ cidr: '10.21.1.1' }), listed), 'special_range');
  assert.equal(verdict(order({ cidr: '169.254.7.7' }), listed), 'ok block 169.254.7.7/32 3600');
});

test('allowlisted and protected addresses are never blocked, nor anything overlapping them', () => {
  let protectedNow = ['198.51.100.1', '203.0.113.5:9000', '[2001:db8::5]:4000', '192.0.2.0/28'];
  const p = policy({ allowlist: ['203.0.113.128/25', '2001:db8:aaaa::/48'] }, () => protectedNow);
  assert.equal(verdict(order({ cidr: '198.51.100.1' }), p), 'protected_address');
  assert.equal(verdict(order({ cidr: '198.51.100.0/24' }), p), 'protected_address');
  assert.equal(verdict(order({ cidr: '203.0.113.5' }), p), 'protected_address');
  assert.equal(verdict(order({ cidr: '2001:db8::5' }), p), 'protected_address');
  assert.equal(verdict(order({ cidr: '192.0.2.3' }), p), 'protected_address');
  assert.equal(verdict(order({ cidr: '::ffff:198.51.100.1' }), p), 'protected_address', 'a mapped address is the IPv4 address');
  assert.equal(verdict(order({ cidr: '203.0.113.200' }), p), 'allowlisted');
  assert.equal(verdict(order({ cidr: '203.0.0.0/16' }), p), 'protected_address');
  assert.equal(verdict(order({ cidr: '2001:db8:aaaa:1::/64' }), p), 'allowlisted');
  assert.equal(verdict(order({ cidr: '198.51.100.7' }), p), 'ok block 198.51.100.7/32 3600');
  // Asked for at every check: a peer trusted a moment ago is protected now.
  protectedNow = [...protectedNow, '198.51.100.7:5000'];
  assert.equal(verdict(order({ cidr: '198.51.100.7' }), p), 'protected_address');
});

test('when the protected addresses cannot be read, every block is refused (fail closed)', () => {
  const broken = policy({}, () => {
    throw new Error('trust store closed');
  });
  assert.equal(verdict(order(), broken), 'protected_address_unknown');
  const hostname = policy({}, () => ['registry.example.org:9000']);
  assert.equal(verdict(order(), hostname), 'protected_address_unknown');
  assert.equal(parseProtectedAddress('registry.example.org:9000'), null);
  assert.equal(parseProtectedAddress('10.0.0.5/24')?.text, '10.0.0.0/24');
  assert.equal(parseProtectedAddress('[::1]:9000')?.text, '::1/128');
  assert.equal(parseProtectedAddress('0.0.0.0:0')?.text, '0.0.0.0/32');
});

test('the number of active entries is bounded; renewing an active entry does not count', () => {
  const p = policy({ maxActiveEntries: 2 });
  assert.match(verdict(order(), p, { activeEntries: 1, refreshesActiveEntry: false }), /^ok/);
  assert.equal(verdict(order(), p, { activeEntries: 2, refreshesActiveEntry: false }), 'too_many_entries');
  assert.match(verdict(order(), p, { activeEntries: 2, refreshesActiveEntry: true }), /^ok/);
});

test('unblock is checked for shape and target syntax only (removing a block can only loosen)', () => {
  const p = policy({ allowlist: ['203.0.113.0/24'] }, () => ['198.51.100.1']);
  assert.equal(verdict(order({ action: 'unblock', cidr: '203.0.113.9', ttlSeconds: 0 }), p), 'ok unblock 203.0.113.9/32 0');
  assert.equal(verdict(order({ action: 'unblock', cidr: '10.0.0.1', ttlSeconds: 0 }), p), 'ok unblock 10.0.0.1/32 0');
  assert.equal(verdict(order({ action: 'unblock', cidr: '1.2.3.4/33', ttlSeconds: 0 }), p), 'invalid_cidr');
});

test('malformed orders are refused as invalid_order with what was wrong', () => {
  const bad: unknown[] = [
    null,
    'block 1.2.3.4',
    { ...order(), requestId: '' },
    { ...order(), requestId: 'has space' },
    { ...order(), requestId: 'x'.repeat(200) },
    { ...order(), incidentId: 'a;b' },
    { ...order(), action: 'drop' },
    { ...order(), cidr: 3232235777 },
    { ...order(), ttlSeconds: '3600' },
    { ...order(), reason: 'line one\nforged audit line' },
    { ...order(), reason: 'r'.repeat(5000) },
    { ...order(), requester: null },
    { ...order(), requester: { fingerprint: '', hostname: 'x' } },
    { ...order(), issuedAt: -1 },
    { ...order(), issuedAt: 1.5 },
  ];
  for (const [i, o] of bad.entries()) assert.equal(verdict(o), 'invalid_order', `case ${i}`);
  const r = checkMitigation({ ...order(), action: 'drop' }, policy());
  if (!r.ok) assert.match(r.error.reason, /action must be "block" or "unblock"/);
});

test('hostile targets are refused with the parser\'s reason', () => {
  for (const cidr of ['1.2.3.4/33', '1.2.3', '::g', '1.2.3.4/32; rm -rf /', '', ' 198.51.100.7', '198.51.100.7/24', 'x'.repeat(100_000)]) {
    assert.equal(verdict(order({ cidr })), 'invalid_cidr', cidr.slice(0, 30));
  }
});

test('invalid configurations are refused at resolve time with the setting named', () => {
  const bad: Array<[PolicyConfig, RegExp]> = [
    [{ maxTtlSeconds: 0 }, /maxTtlSeconds/],
    [{ maxTtlSeconds: 30 }, /maxTtlSeconds/],
    [{ maxTtlSeconds: 3_000_000 }, /maxTtlSeconds.*2147483/],
    [{ minPrefixLength4: 0 }, /minPrefixLength4/],
    [{ minPrefixLength6: 129 }, /minPrefixLength6/],
    [{ maxActiveEntries: 0 }, /maxActiveEntries/],
    [{ maxActiveEntries: 1e9 }, /maxActiveEntries/],
    [{ allowlist: ['not-an-address'] }, /allowlist/],
    [{ permittedRanges: ['10.0.0.5/8'] }, /permittedRanges.*host bits/],
    [{ testOnlyMinTtlSeconds: 0 }, /testOnlyMinTtlSeconds/],
    [{ testOnlyMinTtlSeconds: 120 }, /testOnlyMinTtlSeconds/],
  ];
  for (const [config, message] of bad) {
    const r = resolvePolicy(config, () => []);
    assert.equal(r.ok, false, JSON.stringify(config));
    if (!r.ok) assert.match(r.error.message, message);
  }
  const ok = resolvePolicy({ allowlist: ['10.0.0.5/24'] }, () => []);
  assert.equal(ok.ok && ok.value.allowlist[0]?.text, '10.0.0.0/24', 'an allowlisted interface address protects its subnet');
});

test('property: checkMitigation is total on arbitrary input', () => {
  const p = policy();
  const field = fc.oneof(fc.anything(), fc.string(), fc.integer(), fc.double(), fc.constant(null));
  const mangled = fc.record({
    requestId: fc.oneof(field, fc.stringMatching(/^[A-Za-z0-9]{1,20}$/)),
    incidentId: field,
    action: fc.oneof(field, fc.constantFrom('block', 'unblock')),
    cidr: fc.oneof(field, fc.stringMatching(/^[0-9a-f:./ ;]{0,50}$/)),
    ttlSeconds: fc.oneof(field, fc.integer({ min: -10, max: 10_000_000 })),
    reason: field,
    requester: fc.oneof(field, fc.record({ fingerprint: field, hostname: field })),
    issuedAt: fc.oneof(field, fc.nat()),
  });
  fc.assert(
    fc.property(fc.oneof(fc.anything(), mangled), (input) => {
      const r = checkMitigation(input, p);
      if (!r.ok) {
        assert.equal(typeof r.error.code, 'string');
        assert.equal(typeof r.error.reason, 'string');
      }
    }),
    { numRuns: 3000 },
  );
});

test('property: an accepted IPv4 block never overlaps a protected, allowlisted or special-purpose range', () => {
  const protectedList = ['198.51.100.1', '8.8.8.8', '203.0.113.5:9000'];
  const allowlist = ['1.1.1.0/24', '9.9.0.0/16'];
  const p = policy({ allowlist, minPrefixLength4: 8 }, () => protectedList);
  const forbidden: Cidr[] = [...protectedList.map((t) => parseProtectedAddress(t) as Cidr), ...allowlist.map((t) => (parseCidr(t) as { value: Cidr }).value), ...SPECIAL_RANGES.map((s) => s.cidr)];
  const cidr4 = fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 32n - 1n }), fc.integer({ min: 0, max: 32 })).map(([v, prefix]) => {
    const mask = prefix === 0 ? 0n : ((2n ** 32n - 1n) >> BigInt(32 - prefix)) << BigInt(32 - prefix);
    return `${formatAddress(4, v & mask)}/${prefix}`;
  });
  fc.assert(
    fc.property(cidr4, (cidr) => {
      const r = checkMitigation(order({ cidr }), p);
      if (!r.ok) return;
      for (const f of forbidden) assert.equal(cidrsOverlap(r.value.cidr, f), false, `${cidr} was accepted but overlaps ${f.text}`);
      assert.ok(r.value.cidr.prefix >= 8);
    }),
    { numRuns: 5000 },
  );
});
