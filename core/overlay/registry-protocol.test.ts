import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  MAX_REGISTRY_MESSAGE,
  MAX_TRUSTED_TAGS,
  MSG_REGISTRY_REQUEST,
  MSG_REGISTRY_RESPONSE,
  trustTag,
  type LookupBody,
  type PublicRecord,
  type RegisterBody,
  type ResponseBody,
} from './registry-protocol.ts';

const node = generateIdentity();
const other = generateIdentity();
const registry = generateIdentity();
const impostor = generateIdentity();
const NODE = keyId(node.publicKey);
const REGISTRY = keyId(registry.publicKey);
const IMPOSTOR = keyId(impostor.publicKey);
const CODES = new Set(['registry_short', 'registry_json', 'registry_schema', 'registry_signature', 'registry_key_mismatch']);

/** The signing contexts of registry-protocol.ts, restated so tests can sign what the encoder would not. */
const REQUEST_CONTEXT = Buffer.from('swarm-soc registry request v1\0');
const RESPONSE_CONTEXT = Buffer.from('swarm-soc registry response v1\0');

function signedRequest(signer: NodeIdentity, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body));
  return Buffer.concat([Buffer.from([MSG_REGISTRY_REQUEST]), signer.sign(Buffer.concat([REQUEST_CONTEXT, json])), json]);
}

function signedResponse(signer: NodeIdentity, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body));
  return Buffer.concat([Buffer.from([MSG_REGISTRY_RESPONSE]), signer.sign(Buffer.concat([RESPONSE_CONTEXT, json])), json]);
}

const REGISTER: RegisterBody = {
  op: 'register',
  hostname: 'gcp-log-monitor',
  static_public: node.staticKey.publicKey.toString('base64'),
  static_sig: node.staticSignature.toString('base64'),
  endpoints: ['192.0.2.10:7000', '[2001:db8::1]:7000'],
  trusted: [trustTag(keyId(other.publicKey))],
  public: false,
};
const LOOKUP: LookupBody = { op: 'lookup', target: 'aws-firewall-executor', purpose: 'handshake' };

const RECORD: PublicRecord = {
  hostname: 'aws-firewall-executor',
  address: '1:0001.1234.5678',
  key: keyId(other.publicKey),
  static_public: other.staticKey.publicKey.toString('base64'),
  static_sig: other.staticSignature.toString('base64'),
  online: true,
  last_seen: 1_700_000_000_000,
  endpoints: ['198.51.100.7:41000'],
};

function requestBody(op: 'register' | 'lookup' | 'unregister'): Record<string, unknown> {
  const base = op === 'register' ? REGISTER : op === 'lookup' ? LOOKUP : { op };
  return { ...base, key: NODE, nonce: 'AAAAAAAAAAAAAAAAAAAAAA', ts: Date.now() };
}

function refusedWith(result: { ok: boolean; error?: { code: string } }): string {
  assert.equal(result.ok, false, 'expected a refusal');
  return result.error?.code ?? '';
}

function flips(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const f = Buffer.from(bytes);
    f[bit >> 3]! ^= 1 << (bit & 7);
    out.push(f);
  }
  return out;
}

// ---- requests --------------------------------------------------------------------------------

test('register, lookup and unregister requests round-trip, with key, nonce and timestamp added', () => {
  for (const body of [REGISTER, LOOKUP, { op: 'unregister' as const }]) {
    const { nonce, bytes } = encodeRequest(node, body, 1_700_000_000_123);
    assert.equal(bytes[0], MSG_REGISTRY_REQUEST);
    assert.match(nonce, /^[A-Za-z0-9_-]{22}$/);
    const decoded = decodeRequest(bytes);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
    assert.deepEqual(decoded.value, { ...body, key: NODE, nonce, ts: 1_700_000_000_123 });
  }
});

test('punch requests and NAT hints round-trip; a NAT type the protocol does not know is refused', () => {
  const punch = { op: 'punch' as const, target: 'aws-firewall-executor', token: 'ab'.repeat(16) };
  const withNat = { ...REGISTER, nat: 'symmetric' as const };
  for (const body of [punch, withNat]) {
    const { nonce, bytes } = encodeRequest(node, body, 1_700_000_000_123);
    const decoded = decodeRequest(bytes);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
    assert.deepEqual(decoded.value, { ...body, key: NODE, nonce, ts: 1_700_000_000_123 });
  }
  const badNat = decodeRequest(encodeRequest(node, { ...REGISTER, nat: 'full-cone' as never }).bytes);
  assert.equal(badNat.ok, false);
  const badToken = decodeRequest(encodeRequest(node, { ...punch, token: 'not hex' }).bytes);
  assert.equal(badToken.ok, false);
  const record = decodeResponse(signedResponse(registry, { re: 'x', ok: true, registry_key: REGISTRY, record: { ...RECORD, nat: 'endpoint-independent' } }), REGISTRY);
  assert.ok(record.ok && record.value.record?.nat === 'endpoint-independent');
  assert.equal(decodeResponse(signedResponse(registry, { re: 'x', ok: true, registry_key: REGISTRY, record: { ...RECORD, nat: 'weird' } }), REGISTRY).ok, false);
});

test('every request gets a fresh nonce', () => {
  const a = encodeRequest(node, LOOKUP);
  const b = encodeRequest(node, LOOKUP);
  assert.notEqual(a.nonce, b.nonce);
});

test('a request with a broken signature is refused', () => {
  const { bytes } = encodeRequest(node, LOOKUP);
  const broken = Buffer.from(bytes);
  broken[1 + 20]! ^= 0x80;
  assert.equal(refusedWith(decodeRequest(broken)), 'registry_signature');
});

test('a request naming one key but signed by another is refused', () => {
  assert.equal(refusedWith(decodeRequest(signedRequest(impostor, requestBody('register')))), 'registry_signature');
  // And one whose key field was swapped after signing.
  const { bytes } = encodeRequest(node, LOOKUP);
  const swapped = Buffer.from(bytes.toString('latin1').replace(NODE, IMPOSTOR), 'latin1');
  assert.equal(refusedWith(decodeRequest(swapped)), 'registry_signature');
});

test('a request signed with the response context is refused (no cross-use of signatures)', () => {
  const json = Buffer.from(JSON.stringify(requestBody('lookup')));
  const bytes = Buffer.concat([Buffer.from([MSG_REGISTRY_REQUEST]), node.sign(Buffer.concat([RESPONSE_CONTEXT, json])), json]);
  assert.equal(refusedWith(decodeRequest(bytes)), 'registry_signature');
});

test('every single-bit flip of a request is refused', () => {
  for (const body of [REGISTER, LOOKUP]) {
    const { bytes } = encodeRequest(node, body);
    for (const f of flips(bytes)) {
      const r = decodeRequest(f);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && CODES.has(r.error.code));
    }
  }
});

test('framing: wrong type byte, too short, too large, not JSON, not an object', () => {
  const { bytes } = encodeRequest(node, LOOKUP);
  const asResponse = Buffer.from(bytes);
  asResponse[0] = MSG_REGISTRY_RESPONSE;
  assert.equal(refusedWith(decodeRequest(asResponse)), 'registry_short');
  assert.equal(refusedWith(decodeRequest(Buffer.from([MSG_REGISTRY_REQUEST]))), 'registry_short');
  assert.equal(refusedWith(decodeRequest(Buffer.alloc(0))), 'registry_short');
  assert.equal(refusedWith(decodeRequest(Buffer.alloc(MAX_REGISTRY_MESSAGE + 1, MSG_REGISTRY_REQUEST))), 'registry_short');
  const notJson = Buffer.concat([Buffer.from([MSG_REGISTRY_REQUEST]), Buffer.alloc(64), Buffer.from('{op:')]);
  assert.equal(refusedWith(decodeRequest(notJson)), 'registry_json');
  assert.equal(refusedWith(decodeRequest(signedRequest(node, [1, 2, 3]))), 'registry_schema');
});

const REQUEST_SCHEMA: Array<[string, 'register' | 'lookup' | 'unregister', (o: Record<string, unknown>) => void]> = [
  ['missing key', 'lookup', (o) => delete o.key],
  ['key in standard base64', 'lookup', (o) => (o.key = node.publicKey.toString('base64'))],
  ['bad nonce', 'lookup', (o) => (o.nonce = 'short')],
  ['ts as text', 'lookup', (o) => (o.ts = '1700000000000')],
  ['fractional ts', 'unregister', (o) => (o.ts = 0.5)],
  ['unknown op', 'unregister', (o) => (o.op = 'delete_everything')],
  ['hostname too long', 'register', (o) => (o.hostname = 'h'.repeat(64))],
  ['hostname not text', 'register', (o) => (o.hostname = 7)],
  ['static_public not base64 of 32 bytes', 'register', (o) => (o.static_public = Buffer.alloc(31).toString('base64'))],
  ['static_sig not base64 of 64 bytes', 'register', (o) => (o.static_sig = 'AAAA')],
  ['more than 8 endpoints', 'register', (o) => (o.endpoints = Array.from({ length: 9 }, (_, i) => `10.0.0.${i}:1`))],
  ['endpoint too long', 'register', (o) => (o.endpoints = ['1'.repeat(65)])],
  ['endpoints not a list', 'register', (o) => (o.endpoints = '10.0.0.1:1')],
  ['trusted tag not 16 hex digits', 'register', (o) => (o.trusted = ['ABCDEF0123456789'])],
  ['too many trusted tags', 'register', (o) => (o.trusted = Array.from({ length: MAX_TRUSTED_TAGS + 1 }, () => '0123456789abcdef'))],
  ['public not a boolean', 'register', (o) => (o.public = 'yes')],
  ['empty lookup target', 'lookup', (o) => (o.target = '')],
  ['lookup target too long', 'lookup', (o) => (o.target = 't'.repeat(65))],
  ['unknown lookup purpose', 'lookup', (o) => (o.purpose = 'map-the-swarm')],
];

for (const [name, op, breakIt] of REQUEST_SCHEMA) {
  test(`request schema: ${name} → registry_schema`, () => {
    const body = requestBody(op);
    assert.ok(decodeRequest(signedRequest(node, body)).ok, 'the unbroken request is accepted');
    breakIt(body);
    assert.equal(refusedWith(decodeRequest(signedRequest(node, body))), 'registry_schema');
  });
}

test('a registration with the most trusted tags the protocol allows still fits one registry message', () => {
  const { bytes } = encodeRequest(node, { ...REGISTER, trusted: Array.from({ length: MAX_TRUSTED_TAGS }, (_, i) => i.toString(16).padStart(16, '0')) });
  assert.ok(bytes.length <= MAX_REGISTRY_MESSAGE, `${bytes.length} bytes`);
  assert.ok(decodeRequest(bytes).ok);
});

// ---- responses -------------------------------------------------------------------------------

const OK_LOOKUP: ResponseBody = { re: 'AAAAAAAAAAAAAAAAAAAAAA', registry_key: REGISTRY, ok: true, record: RECORD };
const OK_REGISTER: ResponseBody = { re: 'BBBBBBBBBBBBBBBBBBBBBB', registry_key: REGISTRY, ok: true, address: '1:0001.1234.5678', observed: '203.0.113.9:40001' };
const REFUSED: ResponseBody = { re: 'CCCCCCCCCCCCCCCCCCCCCC', registry_key: REGISTRY, ok: false, error: { code: 'hostname_taken', message: 'taken' } };

test('responses round-trip, before pinning and with the right pinned key', () => {
  for (const body of [OK_LOOKUP, OK_REGISTER, REFUSED]) {
    const bytes = encodeResponse(registry, body);
    assert.equal(bytes[0], MSG_REGISTRY_RESPONSE);
    for (const pinned of [null, REGISTRY]) {
      const r = decodeResponse(bytes, pinned);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.deepEqual(r.value, body);
    }
  }
});

test('a lookup record without endpoints (not disclosed) decodes without them', () => {
  const { endpoints: _hidden, ...withoutEndpoints } = RECORD;
  const r = decodeResponse(encodeResponse(registry, { ...OK_LOOKUP, record: withoutEndpoints }), REGISTRY);
  assert.ok(r.ok);
  assert.equal(r.value.record?.endpoints, undefined);
});

test('a response signed by another registry key is refused once a key is pinned', () => {
  const bytes = encodeResponse(impostor, { ...OK_LOOKUP, registry_key: IMPOSTOR });
  assert.equal(refusedWith(decodeResponse(bytes, REGISTRY)), 'registry_key_mismatch');
  // Before pinning, the same bytes are acceptable: trust on first use.
  assert.ok(decodeResponse(bytes, null).ok);
});

test('a response naming the pinned key but signed by another key is refused', () => {
  const forged = signedResponse(impostor, OK_LOOKUP);
  assert.equal(refusedWith(decodeResponse(forged, REGISTRY)), 'registry_signature');
  assert.equal(refusedWith(decodeResponse(forged, null)), 'registry_signature');
});

test('a response with a broken signature is refused', () => {
  const bytes = encodeResponse(registry, OK_REGISTER);
  bytes[5]! ^= 0x04;
  assert.equal(refusedWith(decodeResponse(bytes, REGISTRY)), 'registry_signature');
});

test('a request is not accepted as a response', () => {
  const { bytes } = encodeRequest(registry, LOOKUP);
  assert.equal(refusedWith(decodeResponse(bytes, null)), 'registry_short');
});

test('every single-bit flip of a response is refused, pinned or not', () => {
  const bytes = encodeResponse(registry, OK_LOOKUP);
  for (const f of flips(bytes)) {
    for (const pinned of [REGISTRY, null]) {
      const r = decodeResponse(f, pinned);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && CODES.has(r.error.code));
    }
  }
});

const RESPONSE_SCHEMA: Array<[string, (o: Record<string, unknown>) => void]> = [
  ['missing re', (o) => delete o.re],
  ['ok not a boolean', (o) => (o.ok = 'true')],
  ['missing registry_key', (o) => delete o.registry_key],
  ['error without a message', (o) => (o.error = { code: 'x' })],
  ['error not an object', (o) => (o.error = 'boom')],
  ['error null', (o) => (o.error = null)],
  ['record with a bad key', (o) => (o.record = { ...RECORD, key: 'nope' })],
  ['record with a bad static key', (o) => (o.record = { ...RECORD, static_public: 'AAAA' })],
  ['record with a bad signature field', (o) => (o.record = { ...RECORD, static_sig: 'AAAA' })],
  ['record without online', (o) => (o.record = { ...RECORD, online: undefined })],
  ['record with last_seen as text', (o) => (o.record = { ...RECORD, last_seen: 'yesterday' })],
  ['record with too many endpoints', (o) => (o.record = { ...RECORD, endpoints: Array.from({ length: 9 }, () => '10.0.0.1:1') })],
  ['record not an object', (o) => (o.record = 'aws-firewall-executor')],
];

for (const [name, breakIt] of RESPONSE_SCHEMA) {
  test(`response schema: ${name} → registry_schema`, () => {
    const body = { ...OK_LOOKUP } as Record<string, unknown>;
    assert.ok(decodeResponse(signedResponse(registry, body), REGISTRY).ok);
    breakIt(body);
    assert.equal(refusedWith(decodeResponse(signedResponse(registry, body), REGISTRY)), 'registry_schema');
  });
}

test('trustTag is the first 8 bytes of the key, in hex', () => {
  assert.equal(trustTag(NODE), node.publicKey.subarray(0, 8).toString('hex'));
  assert.match(trustTag(NODE), /^[0-9a-f]{16}$/);
  assert.notEqual(trustTag(NODE), trustTag(REGISTRY));
});

// ---- fuzzing ---------------------------------------------------------------------------------

test('fuzz: decodeRequest and decodeResponse never throw on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom(MSG_REGISTRY_REQUEST, MSG_REGISTRY_RESPONSE, 0x00, 0x04), (bytes, type) => {
      const framed = Buffer.concat([Buffer.from([type]), bytes]);
      for (const input of [bytes, framed]) {
        const req = decodeRequest(input);
        const res = decodeResponse(input, null);
        const pinned = decodeResponse(input, REGISTRY);
        for (const r of [req, res, pinned]) {
          assert.equal(r.ok, false);
          assert.ok(!r.ok && CODES.has(r.error.code));
        }
      }
    }),
    { numRuns: 1500 },
  );
});

test('fuzz: arbitrary JSON behind a valid frame and a random signature never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.jsonValue(), (sig, value) => {
      const json = Buffer.from(JSON.stringify(value) ?? 'null');
      assert.equal(decodeRequest(Buffer.concat([Buffer.from([MSG_REGISTRY_REQUEST]), sig, json])).ok, false);
      assert.equal(decodeResponse(Buffer.concat([Buffer.from([MSG_REGISTRY_RESPONSE]), sig, json]), null).ok, false);
    }),
    { numRuns: 1000 },
  );
});

test('fuzz: correctly signed requests and responses with one field replaced never throw', () => {
  const requestFields = ['op', 'key', 'nonce', 'ts', 'hostname', 'static_public', 'static_sig', 'endpoints', 'trusted', 'public', 'target', 'purpose'];
  const responseFields = ['re', 'registry_key', 'ok', 'error', 'address', 'observed', 'record'];
  fc.assert(
    fc.property(
      fc.constantFrom<'register' | 'lookup' | 'unregister'>('register', 'lookup', 'unregister'),
      fc.constantFrom(...requestFields),
      fc.constantFrom(...responseFields),
      fc.option(fc.jsonValue(), { nil: undefined }),
      (op, reqField, resField, value) => {
        const req = requestBody(op);
        if (value === undefined) delete req[reqField];
        else req[reqField] = value;
        const r1 = decodeRequest(signedRequest(node, req));
        if (r1.ok) assert.equal(r1.value.key, NODE);
        const res = { ...OK_LOOKUP } as Record<string, unknown>;
        if (value === undefined) delete res[resField];
        else res[resField] = value;
        const r2 = decodeResponse(signedResponse(registry, res), REGISTRY);
        if (r2.ok) assert.equal(r2.value.registry_key, REGISTRY);
      },
    ),
    { numRuns: 1000 },
  );
});
