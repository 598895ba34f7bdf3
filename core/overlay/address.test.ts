import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  addressEquals,
  addressKey,
  formatAddress,
  formatSocketAddress,
  isReservedNodeId,
  NODE_BEACON,
  NODE_BROADCAST,
  NODE_NAMESERVER,
  NODE_REGISTRY,
  NODE_UNSPECIFIED,
  parseAddress,
  parseSocketAddress,
  type Address,
  type SocketAddress,
} from './address.ts';

const ADDRESS_CODES = new Set(['address_syntax', 'address_range', 'address_network_mismatch']);

function parseOk(text: string): Address {
  const r = parseAddress(text);
  if (!r.ok) assert.fail(`expected "${text}" to parse, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function parseSocketOk(text: string): SocketAddress {
  const r = parseSocketAddress(text);
  if (!r.ok) assert.fail(`expected "${text}" to parse, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function errorOf(r: ReturnType<typeof parseAddress> | ReturnType<typeof parseSocketAddress>): string {
  if (r.ok) assert.fail(`expected a refusal, got ${JSON.stringify(r.value)}`);
  assert.ok(ADDRESS_CODES.has(r.error.code), r.error.code);
  assert.equal(typeof r.error.message, 'string');
  assert.ok(r.error.message.length > 0);
  return r.error.code;
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

test('the examples of the spec parse to the right network and node', () => {
  assert.deepEqual(parseOk('0:0000.0000.0001'), { network: 0, node: 1 });
  assert.deepEqual(parseOk('1:0001.F291.0004'), { network: 1, node: 0xf2910004 });
  assert.deepEqual(parseOk('0:0000.0000.0000'), { network: 0, node: NODE_UNSPECIFIED });
  assert.deepEqual(parseOk('7:0007.FFFF.FFFF'), { network: 7, node: NODE_BROADCAST });
  assert.deepEqual(parseOk('65535:FFFF.0000.0002'), { network: 0xffff, node: 2 });
  assert.deepEqual(parseSocketOk('1:0001.F291.0004:1000'), { network: 1, node: 0xf2910004, port: 1000 });
  assert.deepEqual(parseSocketOk('0:0000.0000.0001:49152'), { network: 0, node: 1, port: 49152 });
  assert.deepEqual(parseSocketOk('0:0000.0000.0002:0'), { network: 0, node: 2, port: 0 });
  assert.deepEqual(parseSocketOk('0:0000.0000.0002:65535'), { network: 0, node: 2, port: 65535 });
});

test('hex digits may be lower case; formatting always gives upper case', () => {
  const a = parseOk('10:000a.f291.00ff');
  assert.deepEqual(a, { network: 10, node: 0xf29100ff });
  assert.equal(formatAddress(a), '10:000A.F291.00FF');
});

test('surrounding whitespace is ignored', () => {
  assert.deepEqual(parseOk('  1:0001.F291.0004\n'), { network: 1, node: 0xf2910004 });
  assert.deepEqual(parseSocketOk(' 1:0001.F291.0004:1000 '), { network: 1, node: 0xf2910004, port: 1000 });
});

test('formatting: the network twice (decimal, then hex), the node as two hex groups, then the port', () => {
  assert.equal(formatAddress({ network: 0, node: 1 }), '0:0000.0000.0001');
  assert.equal(formatAddress({ network: 1, node: 0xf2910004 }), '1:0001.F291.0004');
  assert.equal(formatAddress({ network: 4660, node: 0xffffffff }), '4660:1234.FFFF.FFFF');
  assert.equal(formatSocketAddress({ network: 1, node: 0xf2910004, port: 1000 }), '1:0001.F291.0004:1000');
  assert.equal(formatSocketAddress({ network: 0, node: 2, port: 0 }), '0:0000.0000.0002:0');
});

test('round trip: parse(format(a)) is a, and format(parse(text)) is the canonical text', () => {
  fc.assert(
    fc.property(u16, u32, u16, (network, node, port) => {
      const text = formatAddress({ network, node });
      assert.match(text, /^\d{1,5}:[0-9A-F]{4}\.[0-9A-F]{4}\.[0-9A-F]{4}$/);
      assert.deepEqual(parseOk(text), { network, node });
      assert.equal(formatAddress(parseOk(text.toLowerCase())), text);
      const socket = formatSocketAddress({ network, node, port });
      assert.deepEqual(parseSocketOk(socket), { network, node, port });
      assert.equal(formatSocketAddress(parseSocketOk(socket)), socket);
    }),
    { numRuns: 500 },
  );
});

test('a first hex group that does not repeat the decimal network is refused: address_network_mismatch', () => {
  for (const text of ['1:0002.F291.0004', '0:0001.0000.0001', '10:0010.0000.0001', '65535:FFFE.0000.0001']) {
    const r = parseAddress(text);
    assert.equal(errorOf(r), 'address_network_mismatch', text);
    if (!r.ok) assert.ok(r.error.message.includes('must repeat network'), r.error.message);
  }
  assert.equal(errorOf(parseSocketAddress('1:0002.F291.0004:1000')), 'address_network_mismatch');
  fc.assert(
    fc.property(u16, u16, u32, (network, other, node) => {
      fc.pre(network !== other);
      const text = `${network}:${other.toString(16).padStart(4, '0')}.${formatAddress({ network, node }).slice(-9)}`;
      assert.equal(errorOf(parseAddress(text)), 'address_network_mismatch', text);
    }),
    { numRuns: 200 },
  );
});

test('a network or port beyond 16 bits is refused: address_range', () => {
  assert.equal(errorOf(parseAddress('65536:10000.0000.0001')), 'address_syntax'); // five hex digits
  assert.equal(errorOf(parseAddress('65536:0000.0000.0001')), 'address_range');
  assert.equal(errorOf(parseAddress('99999:FFFF.0000.0001')), 'address_range');
  assert.equal(errorOf(parseSocketAddress('1:0001.F291.0004:65536')), 'address_range');
  assert.equal(errorOf(parseSocketAddress('1:0001.F291.0004:99999')), 'address_range');
  assert.equal(errorOf(parseSocketAddress('65536:0000.0000.0001:80')), 'address_range');
});

test('junk is refused with address_syntax', () => {
  const junk = [
    '',
    ' ',
    ':',
    '1',
    '1:0001.F291',
    '1:0001.F291.0004.0005',
    '1:001.F291.0004',
    '1:00001.F291.0004',
    '1:0001.F29.10004',
    '1:0001:F291:0004',
    '1-0001.F291.0004',
    '-1:0001.F291.0004',
    '+1:0001.F291.0004',
    '1.0:0001.F291.0004',
    '123456:0001.F291.0004',
    'x:0001.F291.0004',
    '1:0001.G291.0004',
    '1:0001.F291.0004 junk',
    '1:0001.F291.0004:1000', // a socket address is not a plain address
    '1:0001.F291.0004\n1:0001.F291.0004',
    '１:0001.F291.0004', // a full-width digit is not a digit here
    '0:0000.0000.0001'.padStart(33, ' ').padEnd(40, 'x'),
  ];
  for (const text of junk) assert.equal(errorOf(parseAddress(text)), 'address_syntax', JSON.stringify(text));
  const socketJunk = [
    '',
    '1:0001.F291.0004',
    '1:0001.F291.0004:',
    '1:0001.F291.0004:-1',
    '1:0001.F291.0004:+1',
    '1:0001.F291.0004:1e3',
    '1:0001.F291.0004:0x10',
    '1:0001.F291.0004:123456',
    '1:0001.F291.0004::1000',
    ':1000',
    'host:1000',
    `1:0001.F291.0004:${'0'.repeat(30)}1`,
  ];
  for (const text of socketJunk) assert.equal(errorOf(parseSocketAddress(text)), 'address_syntax', JSON.stringify(text));
});

test('the error message says what an address looks like', () => {
  const r = parseAddress('not an address');
  assert.ok(!r.ok && r.error.message.includes('1:0001.F291.0004'), r.ok ? '' : r.error.message);
  const s = parseSocketAddress('not a socket');
  assert.ok(!s.ok && s.error.message.includes('N:NNNN.HHHH.LLLL:PORT'), s.ok ? '' : s.error.message);
});

test('fuzz: parseAddress and parseSocketAddress never throw on arbitrary strings', () => {
  const check = (text: string) => {
    for (const r of [parseAddress(text), parseSocketAddress(text)]) {
      if (r.ok) {
        // Whatever is accepted is in range and formats back to a canonical form that parses the same.
        assert.ok(Number.isInteger(r.value.network) && r.value.network >= 0 && r.value.network <= 0xffff);
        assert.ok(Number.isInteger(r.value.node) && r.value.node >= 0 && r.value.node <= 0xffffffff);
        assert.deepEqual(parseOk(formatAddress(r.value)), { network: r.value.network, node: r.value.node });
      } else {
        errorOf(r);
      }
    }
  };
  fc.assert(fc.property(fc.string({ maxLength: 50 }), check), { numRuns: 1000 });
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), check), { numRuns: 300 });
  // Strings built from the characters an address is made of reach deeper into the parser.
  const addressy = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFG:. -'), maxLength: 30 });
  fc.assert(fc.property(addressy, check), { numRuns: 1000 });
});

test('non-string input is refused with address_syntax, never an exception', () => {
  const values: unknown[] = [undefined, null, 0, 1.5, NaN, true, {}, [], ['1:0001.F291.0004'], Symbol('x'), () => '1:0001.F291.0004', 10n];
  for (const value of values) {
    assert.equal(errorOf(parseAddress(value as string)), 'address_syntax');
    assert.equal(errorOf(parseSocketAddress(value as string)), 'address_syntax');
  }
  const objectWithToString = { toString: () => '1:0001.F291.0004' };
  assert.equal(errorOf(parseAddress(objectWithToString as unknown as string)), 'address_syntax');
});

test('reserved node IDs: unspecified, registry, beacon, nameserver and broadcast', () => {
  for (const node of [NODE_UNSPECIFIED, NODE_REGISTRY, NODE_BEACON, NODE_NAMESERVER, NODE_BROADCAST]) {
    assert.equal(isReservedNodeId(node), true, String(node));
  }
  assert.deepEqual([NODE_UNSPECIFIED, NODE_REGISTRY, NODE_BEACON, NODE_NAMESERVER, NODE_BROADCAST], [0, 1, 2, 3, 0xffffffff]);
  for (const node of [4, 5, 0x10000, 0xfffffffe]) assert.equal(isReservedNodeId(node), false, String(node));
});

test('addressEquals and addressKey identify an address by network and node only', () => {
  const a: SocketAddress = { network: 1, node: 0xf2910004, port: 1000 };
  const b: SocketAddress = { network: 1, node: 0xf2910004, port: 2000 };
  assert.equal(addressEquals(a, b), true);
  assert.equal(addressKey(a), addressKey(b));
  assert.equal(addressEquals(a, { network: 2, node: 0xf2910004 }), false);
  assert.equal(addressEquals(a, { network: 1, node: 0xf2910005 }), false);
  fc.assert(
    fc.property(u16, u32, u16, u32, (n1, x1, n2, x2) => {
      const same = n1 === n2 && x1 === x2;
      assert.equal(addressEquals({ network: n1, node: x1 }, { network: n2, node: x2 }), same);
      assert.equal(addressKey({ network: n1, node: x1 }) === addressKey({ network: n2, node: x2 }), same);
    }),
    { numRuns: 200 },
  );
});
