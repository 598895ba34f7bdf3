import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  decodePacket,
  encodeHeader,
  encodePacket,
  FLAG_ACK,
  FLAG_FIN,
  FLAG_RST,
  FLAG_SYN,
  HEADER_SIZE,
  MAX_PAYLOAD,
  PROTO_CONTROL,
  PROTO_DATAGRAM,
  PROTO_STREAM,
  seqAfter,
  type Packet,
  type Protocol,
} from './wire.ts';

const WIRE_CODES = new Set(['wire_short', 'wire_version', 'wire_protocol', 'wire_length', 'wire_checksum', 'wire_field_range']);

/** The example of DESIGN.md / Pilot Protocol v0.5: SYN from 0:0000.0000.0001:49152 to 0:0000.0000.0002:1000. */
const SYN_EXAMPLE: Packet = {
  flags: FLAG_SYN,
  protocol: PROTO_STREAM,
  src: { network: 0, node: 1, port: 49152 },
  dst: { network: 0, node: 2, port: 1000 },
  seq: 0,
  ack: 0,
  window: 512,
  payload: new Uint8Array(0),
};
const SYN_EXAMPLE_BYTES = '11 01 0000 0000 00000001 0000 00000002 C000 03E8 00000000 00000000 0200' + ' 145ED874';

function encodeOk(p: Packet): Buffer {
  const r = encodePacket(p);
  if (!r.ok) assert.fail(`expected the packet to encode, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function decodeOk(bytes: Uint8Array): Packet {
  const r = decodePacket(bytes);
  if (!r.ok) assert.fail(`expected a valid packet, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function decodeError(bytes: Uint8Array): string {
  const r = decodePacket(bytes);
  if (r.ok) assert.fail('expected the packet to be refused');
  assert.ok(WIRE_CODES.has(r.error.code), `unknown error code ${r.error.code}`);
  assert.equal(typeof r.error.message, 'string');
  assert.ok(r.error.message.length > 0);
  return r.error.code;
}

/** Plain values, so deepEqual compares a decoded packet (payload is a Buffer view) with its source. */
function plain(p: Packet) {
  return { ...p, src: { ...p.src }, dst: { ...p.dst }, payload: Buffer.from(p.payload).toString('hex') };
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const socketAddress = fc.record({ network: u16, node: u32, port: u16 });
const packetArb: fc.Arbitrary<Packet> = fc.record({
  flags: fc.integer({ min: 0, max: 0xf }),
  protocol: fc.constantFrom<Protocol>(PROTO_STREAM, PROTO_DATAGRAM, PROTO_CONTROL),
  src: socketAddress,
  dst: socketAddress,
  seq: u32,
  ack: u32,
  window: u16,
  payload: fc.uint8Array({ maxLength: 200 }),
});

test('known answer: the SYN example of the Pilot Protocol spec encodes to the published header and its CRC32', () => {
  const bytes = encodeOk(SYN_EXAMPLE);
  assert.equal(bytes.length, HEADER_SIZE);
  assert.equal(bytes.toString('hex').toUpperCase(), SYN_EXAMPLE_BYTES.replaceAll(' ', ''));
  assert.deepEqual(plain(decodeOk(bytes)), plain(SYN_EXAMPLE));
});

test('encodeHeader gives the same 34 bytes encodePacket starts with, its CRC covering the payload', () => {
  const packet: Packet = { ...SYN_EXAMPLE, flags: FLAG_ACK, payload: Buffer.from('hello overlay') };
  const header = encodeHeader(packet);
  assert.ok(header.ok);
  const whole = encodeOk(packet);
  assert.equal(header.value.length, HEADER_SIZE);
  assert.deepEqual(whole.subarray(0, HEADER_SIZE), header.value);
  assert.deepEqual(whole.subarray(HEADER_SIZE), Buffer.from('hello overlay'));
  // A different payload changes the header's CRC, and nothing else in the header.
  const other = encodeHeader({ ...packet, payload: Buffer.from('hello overlaY') });
  assert.ok(other.ok);
  assert.deepEqual(other.value.subarray(0, 30), header.value.subarray(0, 30));
  assert.notDeepEqual(other.value.subarray(30), header.value.subarray(30));
});

test('the checksum is the IEEE CRC32 of the header with the checksum zeroed, then the payload', () => {
  // node:zlib crc32 is the IEEE polynomial: its check value for "123456789" is 0xCBF43926.
  assert.equal(crc32('123456789'), 0xcbf43926);
  fc.assert(
    fc.property(packetArb, (p) => {
      const bytes = encodeOk(p);
      const zeroed = Buffer.from(bytes);
      zeroed.writeUInt32BE(0, 30);
      assert.equal(bytes.readUInt32BE(30), crc32(zeroed));
    }),
    { numRuns: 100 },
  );
});

test('every field lands at its documented offset, big-endian', () => {
  const p: Packet = {
    flags: FLAG_FIN | FLAG_ACK,
    protocol: PROTO_DATAGRAM,
    src: { network: 0x1234, node: 0x89abcdef, port: 0x0102 },
    dst: { network: 0xfedc, node: 0x01020304, port: 0xfffe },
    seq: 0xdeadbeef,
    ack: 0x7fffffff,
    window: 0xabcd,
    payload: Buffer.from([0xaa, 0xbb, 0xcc]),
  };
  const b = encodeOk(p);
  assert.equal(b[0], 0x16); // version 1, FIN|ACK
  assert.equal(b[1], 0x02);
  assert.equal(b.readUInt16BE(2), 3);
  assert.equal(b.readUInt16BE(4), 0x1234);
  assert.equal(b.readUInt32BE(6), 0x89abcdef);
  assert.equal(b.readUInt16BE(10), 0xfedc);
  assert.equal(b.readUInt32BE(12), 0x01020304);
  assert.equal(b.readUInt16BE(16), 0x0102);
  assert.equal(b.readUInt16BE(18), 0xfffe);
  assert.equal(b.readUInt32BE(20), 0xdeadbeef);
  assert.equal(b.readUInt32BE(24), 0x7fffffff);
  assert.equal(b.readUInt16BE(28), 0xabcd);
  assert.deepEqual(b.subarray(34), Buffer.from([0xaa, 0xbb, 0xcc]));
  assert.deepEqual([FLAG_SYN, FLAG_ACK, FLAG_FIN, FLAG_RST], [1, 2, 4, 8]);
});

test('round trip: decode(encode(p)) is p for random packets', () => {
  fc.assert(
    fc.property(packetArb, (p) => {
      const bytes = encodeOk(p);
      assert.equal(bytes.length, HEADER_SIZE + p.payload.length);
      assert.deepEqual(plain(decodeOk(bytes)), plain(p));
    }),
    { numRuns: 300 },
  );
});

test('a payload of exactly MAX_PAYLOAD bytes round-trips; one more byte is refused', () => {
  const big = Buffer.alloc(MAX_PAYLOAD, 0x5a);
  const bytes = encodeOk({ ...SYN_EXAMPLE, payload: big });
  assert.equal(decodeOk(bytes).payload.length, MAX_PAYLOAD);
  const tooBig = encodePacket({ ...SYN_EXAMPLE, payload: Buffer.alloc(MAX_PAYLOAD + 1) });
  assert.equal(tooBig.ok, false);
  if (!tooBig.ok) assert.equal(tooBig.error.code, 'wire_field_range');
});

test('decodes a packet that sits at an offset inside a larger buffer', () => {
  const bytes = encodeOk({ ...SYN_EXAMPLE, payload: Buffer.from('xyz') });
  const backing = new Uint8Array(bytes.length + 10);
  backing.set(bytes, 7);
  const view = backing.subarray(7, 7 + bytes.length);
  assert.deepEqual(Buffer.from(decodeOk(view).payload), Buffer.from('xyz'));
});

test('every single-bit flip of an encoded packet is refused (CRC32 detects all single-bit errors)', () => {
  const packets = [
    encodeOk(SYN_EXAMPLE),
    encodeOk({ ...SYN_EXAMPLE, protocol: PROTO_CONTROL, flags: FLAG_RST, seq: 77, payload: Buffer.from('a payload of some length') }),
  ];
  for (const bytes of packets) {
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const code = decodeError(flipped);
      // Where the flip lands decides which check catches it first.
      const byte = bit >> 3;
      if (byte === 0 && (bit & 7) >= 4) assert.equal(code, 'wire_version', `bit ${bit}`);
      else if (byte === 2 || byte === 3) assert.equal(code, 'wire_length', `bit ${bit}`);
      else if (byte !== 1) assert.equal(code, 'wire_checksum', `bit ${bit}`);
    }
  }
});

test('every single-bit flip of a random packet is refused', () => {
  fc.assert(
    fc.property(packetArb, fc.nat(), (p, pick) => {
      const bytes = encodeOk(p);
      const bit = pick % (bytes.length * 8);
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      decodeError(flipped);
    }),
    { numRuns: 300 },
  );
});

test('verifyChecksum: false skips only the CRC (for packets already proven by the tunnel AEAD)', () => {
  const bytes = encodeOk({ ...SYN_EXAMPLE, payload: Buffer.from('data') });
  const badCrc = Buffer.from(bytes);
  badCrc[31]! ^= 0xff;
  assert.equal(decodeError(badCrc), 'wire_checksum');
  const unchecked = decodePacket(badCrc, { verifyChecksum: false });
  assert.ok(unchecked.ok);
  assert.deepEqual(Buffer.from(unchecked.value.payload), Buffer.from('data'));
  // The structural checks still apply.
  const badVersion = Buffer.from(bytes);
  badVersion[0] = 0x21;
  assert.equal(decodePacket(badVersion, { verifyChecksum: false }).ok, false);
  assert.equal(decodePacket(bytes.subarray(0, bytes.length - 1), { verifyChecksum: false }).ok, false);
});

test('truncations are refused: wire_short below the header, wire_length inside the payload', () => {
  const bytes = encodeOk({ ...SYN_EXAMPLE, payload: Buffer.from('twelve bytes') });
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.equal(decodeError(bytes.subarray(0, cut)), cut < HEADER_SIZE ? 'wire_short' : 'wire_length', `first ${cut} bytes`);
  }
  // Trailing bytes are refused as well: the length field must match exactly.
  assert.equal(decodeError(Buffer.concat([bytes, Buffer.from([0])])), 'wire_length');
});

test('unknown version and protocol are refused with their own codes', () => {
  const bytes = encodeOk(SYN_EXAMPLE);
  for (const version of [0, 2, 15]) {
    const b = Buffer.from(bytes);
    b[0] = (version << 4) | FLAG_SYN;
    assert.equal(decodeError(b), 'wire_version');
  }
  for (const protocol of [0x00, 0x04, 0xff]) {
    const b = Buffer.from(bytes);
    b[1] = protocol;
    assert.equal(decodeError(b), 'wire_protocol');
  }
});

test('decodePacket refuses a value that is not a byte buffer', () => {
  for (const value of [null, undefined, 'x'.repeat(40), 40, {}, Array.from({ length: 40 }, () => 0)]) {
    assert.equal(decodeError(value as unknown as Uint8Array), 'wire_short');
  }
});

test('fuzz: decodePacket never throws on arbitrary bytes, and whatever it accepts re-encodes to the same bytes', () => {
  const check = (bytes: Uint8Array) => {
    const r = decodePacket(bytes);
    if (r.ok) {
      assert.equal(encodeOk(r.value).toString('hex'), Buffer.from(bytes).toString('hex'));
    } else {
      assert.ok(WIRE_CODES.has(r.error.code), r.error.code);
      assert.equal(typeof r.error.message, 'string');
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), check), { numRuns: 1000 });
  // Bytes that pass the cheap checks (version 1, a known protocol, a matching length), so the
  // fuzzing reaches the CRC and field parsing instead of stopping at byte 0.
  const plausible = fc
    .tuple(fc.integer({ min: 0, max: 15 }), fc.constantFrom(1, 2, 3), fc.uint8Array({ minLength: HEADER_SIZE - 2, maxLength: HEADER_SIZE - 2 }), fc.uint8Array({ maxLength: 60 }))
    .map(([flags, protocol, rest, payload]) => {
      const b = Buffer.concat([Buffer.from([0x10 | flags, protocol]), Buffer.from(rest), Buffer.from(payload)]);
      b.writeUInt16BE(payload.length, 2);
      return b;
    });
  fc.assert(fc.property(plausible, (b) => assert.equal(decodeError(b), 'wire_checksum')), { numRuns: 500 });
  fc.assert(
    fc.property(plausible, (b) => {
      const r = decodePacket(b, { verifyChecksum: false });
      assert.ok(r.ok);
      assert.equal(r.value.payload.length, b.length - HEADER_SIZE);
    }),
    { numRuns: 200 },
  );
});

test('encodePacket refuses out-of-range fields with wire_field_range and a message naming each field', () => {
  const cases: Array<[string, Partial<Packet>]> = [
    ['source network', { src: { network: 0x10000, node: 1, port: 1 } }],
    ['source node', { src: { network: 0, node: 2 ** 32, port: 1 } }],
    ['source port', { src: { network: 0, node: 1, port: -1 } }],
    ['destination network', { dst: { network: 1.5, node: 2, port: 1 } }],
    ['destination node', { dst: { network: 0, node: -1, port: 1 } }],
    ['destination port', { dst: { network: 0, node: 2, port: 65536 } }],
    ['seq', { seq: 2 ** 32 }],
    ['ack', { ack: Number.NaN }],
    ['window', { window: 0x10000 }],
    ['flags', { flags: 0x10 }],
    ['flags', { flags: -1 }],
  ];
  for (const [field, change] of cases) {
    const r = encodePacket({ ...SYN_EXAMPLE, ...change });
    assert.equal(r.ok, false, field);
    if (!r.ok) {
      assert.equal(r.error.code, 'wire_field_range', field);
      assert.ok(r.error.message.includes(field), `"${r.error.message}" should name ${field}`);
    }
    const header = encodeHeader({ ...SYN_EXAMPLE, ...change });
    assert.equal(header.ok, false, field);
  }
  // Several problems at once are all reported.
  const many = encodePacket({ ...SYN_EXAMPLE, seq: -1, window: Infinity });
  assert.ok(!many.ok && many.error.message.includes('seq') && many.error.message.includes('window'));
});

test('encodePacket refuses an unknown protocol with wire_protocol', () => {
  for (const protocol of [0, 4, 0xff, Number.NaN]) {
    const r = encodePacket({ ...SYN_EXAMPLE, protocol: protocol as Protocol });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'wire_protocol');
  }
});

test('fuzz: encodePacket never throws on arbitrary numbers and accepts exactly the in-range ones', () => {
  const anyNumber = fc.oneof(
    fc.integer({ min: -5, max: 2 ** 33 }),
    fc.double(),
    fc.constantFrom(0, 0xffff, 0x10000, 0xffffffff, 2 ** 32, -0, Infinity, -Infinity, Number.NaN),
  );
  const isU = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
  fc.assert(
    fc.property(anyNumber, anyNumber, anyNumber, anyNumber, anyNumber, (network, node, port, seq, flags) => {
      const p: Packet = { ...SYN_EXAMPLE, src: { network, node, port }, seq, flags };
      const r = encodePacket(p);
      const valid = isU(network, 0xffff) && isU(node, 0xffffffff) && isU(port, 0xffff) && isU(seq, 0xffffffff) && isU(flags, 0xf);
      assert.equal(r.ok, valid);
      if (!r.ok) assert.equal(r.error.code, 'wire_field_range');
    }),
    { numRuns: 500 },
  );
});

test('seqAfter: serial-number arithmetic on 32-bit sequence numbers, across the wrap', () => {
  assert.equal(seqAfter(1, 0), true);
  assert.equal(seqAfter(0, 1), false);
  assert.equal(seqAfter(5, 5), false);
  assert.equal(seqAfter(0, 0xffffffff), true); // 0 comes right after 2^32 - 1
  assert.equal(seqAfter(0xffffffff, 0), false);
  assert.equal(seqAfter(10, 0xfffffff0), true);
  assert.equal(seqAfter(0x7fffffff, 0), true); // the farthest "after"
  assert.equal(seqAfter(0x80000000, 0), false); // exactly half way round is not after
  assert.equal(seqAfter(0, 0x80000000), false);
  fc.assert(
    fc.property(u32, fc.integer({ min: 1, max: 0x7fffffff }), (b, d) => {
      const a = (b + d) >>> 0;
      assert.equal(seqAfter(a, b), true);
      assert.equal(seqAfter(b, a), false);
      assert.equal(seqAfter(b, b), false);
    }),
    { numRuns: 300 },
  );
});
