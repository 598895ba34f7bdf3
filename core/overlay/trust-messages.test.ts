import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateIdentity, keyId, type NodeIdentity } from './identity.ts';
import { MAX_DATAGRAM_PAYLOAD } from './node.ts';
import {
  CAPABILITIES,
  decodeTrustMessage,
  isCapability,
  MAX_JUSTIFICATION_BYTES,
  MAX_REASON_BYTES,
  newNonce,
  signTrustMessage,
  type TrustMessage,
  type TrustMessageDraft,
} from './trust-messages.ts';
import { isValidHostname } from './hostname.ts';
import { parseAddress } from './address.ts';

const alice = generateIdentity();
const bob = generateIdentity();
const ALICE = keyId(alice.publicKey);
const BOB = keyId(bob.publicKey);
const CODES = new Set(['trust_short', 'trust_too_large', 'trust_json', 'trust_schema', 'trust_signature']);

/** The signing context of trust-messages.ts, restated: tests sign bodies the encoder would never produce. */
const CONTEXT = Buffer.from('swarm-soc trust v1\0');

function signRaw(identity: NodeIdentity, body: unknown): Buffer {
  const json = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return Buffer.concat([identity.sign(Buffer.concat([CONTEXT, json])), json]);
}

const DRAFTS: Record<TrustMessage['type'], TrustMessageDraft> = {
  request: {
    type: 'request',
    to: BOB,
    hostname: 'local-threat-orchestrator',
    address: '1:0001.3A7F.0042',
    justification: 'orchestrator needs the anomaly feed — ticket SOC-1234',
    want: ['events.subscribe'],
    offer: ['events.publish', 'mitigation.request'],
  },
  ack: { type: 'ack', to: BOB, ref: newNonce(), status: 'pending', detail: '' },
  approve: { type: 'approve', to: BOB, ref: newNonce(), caps: ['events.subscribe', 'data.exchange'], hostname: 'gcp-log-monitor', address: '1:0001.0000.0007' },
  reject: { type: 'reject', to: BOB, ref: newNonce(), reason: 'we do not know this orchestrator' },
  revoke: { type: 'revoke', to: BOB, reason: 'decommissioned' },
};

/** A complete, valid body of each type, as plain objects a test can break field by field. */
function validBody(type: TrustMessage['type']): Record<string, unknown> {
  return { ...DRAFTS[type], nonce: newNonce(), from: ALICE, ts: Date.now() };
}

function decodeOk(bytes: Uint8Array): TrustMessage {
  const r = decodeTrustMessage(bytes);
  if (!r.ok) assert.fail(`expected a valid message, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function decodeCode(bytes: Uint8Array): string {
  const r = decodeTrustMessage(bytes);
  assert.equal(r.ok, false, 'expected the message to be refused');
  return r.ok ? '' : r.error.code;
}

test('every message type round-trips through sign and decode', () => {
  for (const [type, draft] of Object.entries(DRAFTS)) {
    const nonce = newNonce();
    const { message, bytes } = signTrustMessage(alice, draft, nonce, 1_700_000_000_000);
    assert.equal(message.type, type);
    assert.equal(message.nonce, nonce);
    assert.equal(message.from, ALICE);
    assert.equal(message.ts, 1_700_000_000_000);
    const decoded = decodeOk(bytes);
    assert.deepEqual(decoded, message);
    assert.deepEqual(decoded, { ...draft, nonce, from: ALICE, ts: 1_700_000_000_000 });
  }
});

test('signTrustMessage draws a fresh 22-character nonce and stamps the current time by default', () => {
  const before = Date.now();
  const a = signTrustMessage(alice, DRAFTS.revoke);
  const b = signTrustMessage(alice, DRAFTS.revoke);
  assert.match(a.message.nonce, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(a.message.nonce, b.message.nonce);
  assert.ok(a.message.ts >= before && a.message.ts <= Date.now());
  assert.equal(decodeOk(a.bytes).nonce, a.message.nonce);
});

test('a retried message keeps its nonce but is re-signed with a fresh timestamp', () => {
  const nonce = newNonce();
  const first = signTrustMessage(alice, DRAFTS.request, nonce, 1000);
  const retry = signTrustMessage(alice, DRAFTS.request, nonce, 2000);
  assert.equal(decodeOk(retry.bytes).nonce, nonce);
  assert.equal(decodeOk(retry.bytes).ts, 2000);
  assert.notDeepEqual(first.bytes, retry.bytes);
});

test('every single-bit flip of every message type is rejected', () => {
  for (const draft of Object.values(DRAFTS)) {
    const { bytes } = signTrustMessage(alice, draft);
    decodeOk(bytes);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const r = decodeTrustMessage(flipped);
      if (r.ok) assert.fail(`${draft.type}: flipping bit ${bit} (byte ${bit >> 3}) was accepted`);
      assert.ok(CODES.has(r.error.code), r.error.code);
    }
  }
});

test('a flipped bit in the signature or the body is reported as a bad signature', () => {
  const { bytes } = signTrustMessage(alice, DRAFTS.reject);
  const sigFlip = Buffer.from(bytes);
  sigFlip[10]! ^= 0x01;
  assert.equal(decodeCode(sigFlip), 'trust_signature');
  // Change a letter of the reason: still valid JSON and schema, so only the signature catches it.
  const text = bytes.subarray(64).toString();
  const bodyFlip = Buffer.concat([bytes.subarray(0, 64), Buffer.from(text.replace('orchestrator', 'orchestratoR'))]);
  assert.equal(decodeCode(bodyFlip), 'trust_signature');
});

test('a message signed by someone other than the key it names is refused', () => {
  const forged = signRaw(bob, validBody('approve')); // claims to be from alice, signed by bob
  assert.equal(decodeCode(forged), 'trust_signature');
});

test('a signature over the body without the context string is refused (no cross-protocol reuse)', () => {
  const body = Buffer.from(JSON.stringify(validBody('revoke')));
  const bytes = Buffer.concat([alice.sign(body), body]);
  assert.equal(decodeCode(bytes), 'trust_signature');
});

test('size limits: too short, too large, and not JSON', () => {
  assert.equal(decodeCode(Buffer.alloc(0)), 'trust_short');
  assert.equal(decodeCode(Buffer.alloc(66)), 'trust_short');
  assert.equal(decodeCode(Buffer.alloc(MAX_DATAGRAM_PAYLOAD + 1, 0x20)), 'trust_too_large');
  assert.equal(decodeCode(Buffer.concat([Buffer.alloc(64), Buffer.from('{"type":')])), 'trust_json');
  assert.equal(decodeCode(Buffer.concat([Buffer.alloc(64), Buffer.from([0xff, 0xfe, 0x00])])), 'trust_json');
  assert.equal(decodeCode(new Uint8Array(200)), 'trust_json');
});

test('non-object JSON bodies are schema errors', () => {
  for (const body of ['[1,2,3]', 'null', '4242', '"request"', 'true', '[{}]']) {
    assert.equal(decodeCode(signRaw(alice, body)), 'trust_schema', body);
  }
});

/** Each case breaks one thing in an otherwise valid, correctly signed message. */
const SCHEMA_CASES: Array<[string, TrustMessage['type'], (o: Record<string, unknown>) => void]> = [
  ['unknown type', 'request', (o) => (o.type = 'hello')],
  ['missing type', 'request', (o) => delete o.type],
  ['type of the wrong kind', 'request', (o) => (o.type = 1)],
  // common fields
  ['missing nonce', 'request', (o) => delete o.nonce],
  ['nonce too short', 'request', (o) => (o.nonce = 'abc')],
  ['nonce too long', 'request', (o) => (o.nonce = 'A'.repeat(23))],
  ['nonce with bad characters', 'request', (o) => (o.nonce = 'A'.repeat(21) + '+')],
  ['nonce not a string', 'request', (o) => (o.nonce = 12345)],
  ['missing from', 'approve', (o) => delete o.from],
  ['from is standard base64, not base64url', 'approve', (o) => (o.from = Buffer.alloc(32, 0xfb).toString('base64'))],
  ['from too short', 'approve', (o) => (o.from = ALICE.slice(1))],
  ['from not a string', 'approve', (o) => (o.from = [ALICE])],
  ['missing to', 'reject', (o) => delete o.to],
  ['to too long', 'reject', (o) => (o.to = BOB + 'A')],
  ['missing ts', 'revoke', (o) => delete o.ts],
  ['ts as a string', 'revoke', (o) => (o.ts = String(Date.now()))],
  ['negative ts', 'revoke', (o) => (o.ts = -1)],
  ['fractional ts', 'revoke', (o) => (o.ts = 1.5)],
  ['ts beyond safe integers', 'revoke', (o) => (o.ts = 2 ** 60)],
  // request
  ['unknown capability in want', 'request', (o) => (o.want = ['events.subscribe', 'root.shell'])],
  ['unknown capability in offer', 'request', (o) => (o.offer = ['firewall.flush'])],
  ['repeated capability', 'request', (o) => (o.want = ['events.subscribe', 'events.subscribe'])],
  ['capability of the wrong case', 'request', (o) => (o.want = ['Events.Subscribe'])],
  ['capabilities not a list', 'request', (o) => (o.want = 'events.subscribe')],
  ['capability not a string', 'request', (o) => (o.offer = [1])],
  ['more capabilities than exist', 'request', (o) => (o.want = [...CAPABILITIES, 'events.subscribe'])],
  ['missing want', 'request', (o) => delete o.want],
  ['missing offer', 'request', (o) => delete o.offer],
  ['hostname with capitals', 'request', (o) => (o.hostname = 'Gcp-Log-Monitor')],
  ['hostname with a dot', 'request', (o) => (o.hostname = 'gcp.log')],
  ['hostname starting with a hyphen', 'request', (o) => (o.hostname = '-monitor')],
  ['hostname too long', 'request', (o) => (o.hostname = 'a'.repeat(64))],
  ['empty hostname', 'request', (o) => (o.hostname = '')],
  ['missing hostname', 'request', (o) => delete o.hostname],
  ['bad address', 'request', (o) => (o.address = '1:0001.XXXX.0001')],
  ['address whose network parts disagree', 'request', (o) => (o.address = '2:0001.0000.0001')],
  ['address not a string', 'request', (o) => (o.address = { network: 1, node: 1 })],
  ['missing justification', 'request', (o) => delete o.justification],
  ['justification not a string', 'request', (o) => (o.justification = ['a'])],
  ['justification one byte over the limit', 'request', (o) => (o.justification = 'j'.repeat(MAX_JUSTIFICATION_BYTES + 1))],
  ['justification over the limit in bytes, not characters', 'request', (o) => (o.justification = 'é'.repeat(MAX_JUSTIFICATION_BYTES / 2 + 1))],
  // ack
  ['ack without ref', 'ack', (o) => delete o.ref],
  ['ack with bad ref', 'ack', (o) => (o.ref = 'not a nonce')],
  ['ack with unknown status', 'ack', (o) => (o.status = 'maybe')],
  ['ack without detail', 'ack', (o) => delete o.detail],
  ['ack detail over the limit', 'ack', (o) => (o.detail = 'd'.repeat(MAX_REASON_BYTES + 1))],
  // approve
  ['approve without ref', 'approve', (o) => delete o.ref],
  ['approve with unknown capability', 'approve', (o) => (o.caps = ['mitigation.request', 'everything'])],
  ['approve with repeated capability', 'approve', (o) => (o.caps = ['data.exchange', 'data.exchange'])],
  ['approve without caps', 'approve', (o) => delete o.caps],
  ['approve with bad hostname', 'approve', (o) => (o.hostname = 'under_score')],
  ['approve with bad address', 'approve', (o) => (o.address = 'somewhere')],
  ['approve without address', 'approve', (o) => delete o.address],
  // reject
  ['reject without ref', 'reject', (o) => delete o.ref],
  ['reject without reason', 'reject', (o) => delete o.reason],
  ['reject reason over the limit', 'reject', (o) => (o.reason = 'r'.repeat(MAX_REASON_BYTES + 1))],
  ['reject reason not a string', 'reject', (o) => (o.reason = null)],
  // revoke
  ['revoke without reason', 'revoke', (o) => delete o.reason],
  ['revoke reason over the limit', 'revoke', (o) => (o.reason = '€'.repeat(101))],
];

for (const [name, type, breakIt] of SCHEMA_CASES) {
  test(`schema: ${name} → trust_schema`, () => {
    const body = validBody(type);
    // The unbroken body is accepted, so the refusal below is about this one change.
    decodeOk(signRaw(alice, body));
    breakIt(body);
    assert.equal(decodeCode(signRaw(alice, body)), 'trust_schema');
  });
}

test('limits are inclusive: a justification of exactly MAX_JUSTIFICATION_BYTES and reasons of MAX_REASON_BYTES are accepted', () => {
  const request = validBody('request');
  request.justification = 'ü'.repeat(MAX_JUSTIFICATION_BYTES / 2); // 2 bytes each
  assert.equal((decodeOk(signRaw(alice, request)) as { justification: string }).justification, request.justification);
  const reject = validBody('reject');
  reject.reason = 'r'.repeat(MAX_REASON_BYTES);
  decodeOk(signRaw(alice, reject));
  const empty = validBody('request');
  empty.justification = '';
  empty.want = [];
  empty.offer = [...CAPABILITIES];
  decodeOk(signRaw(alice, empty));
});

test('unknown extra fields are not carried into the decoded message', () => {
  const body = { ...validBody('approve'), admin: true, __proto__: { polluted: true } };
  const decoded = decodeOk(signRaw(alice, JSON.stringify(body).replace('"admin":true', '"admin":true,"__proto__":{"polluted":true}')));
  assert.equal('admin' in decoded, false);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
});

// ---- fuzzing: the handshake parser is total --------------------------------------------------

function assertRefusedOrValid(bytes: Uint8Array): void {
  const r = decodeTrustMessage(bytes);
  if (!r.ok) {
    assert.ok(CODES.has(r.error.code), `unexpected code ${r.error.code}`);
    assert.equal(typeof r.error.message, 'string');
    return;
  }
  // Anything accepted satisfies every invariant the handler relies on.
  const m = r.value;
  assert.match(m.nonce, /^[A-Za-z0-9_-]{22}$/);
  assert.match(m.from, /^[A-Za-z0-9_-]{43}$/);
  assert.match(m.to, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(Number.isSafeInteger(m.ts) && m.ts >= 0);
  if (m.type === 'request') {
    assert.ok(isValidHostname(m.hostname));
    assert.ok(parseAddress(m.address).ok);
    assert.ok(Buffer.byteLength(m.justification) <= MAX_JUSTIFICATION_BYTES);
    for (const list of [m.want, m.offer]) {
      assert.ok(list.every(isCapability));
      assert.equal(new Set(list).size, list.length);
    }
  }
  if (m.type === 'approve') {
    assert.ok(m.caps.every(isCapability));
    assert.ok(isValidHostname(m.hostname));
  }
}

test('fuzz: arbitrary bytes never throw and are refused with a typed error', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1600 }), (bytes) => {
      const r = decodeTrustMessage(bytes);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && CODES.has(r.error.code));
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: arbitrary JSON after a random 64-byte prefix never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.jsonValue(), (prefix, value) => {
      const bytes = Buffer.concat([prefix, Buffer.from(JSON.stringify(value) ?? 'null')]);
      const r = decodeTrustMessage(bytes);
      assert.equal(r.ok, false, 'a random prefix is never a valid signature');
    }),
    { numRuns: 1500 },
  );
});

test('fuzz: objects shaped like trust messages, with random field values, after a random prefix never throw', () => {
  const fields = fc.record(
    {
      type: fc.oneof(fc.constantFrom('request', 'ack', 'approve', 'reject', 'revoke'), fc.jsonValue()),
      nonce: fc.oneof(fc.constant(newNonce()), fc.jsonValue()),
      from: fc.oneof(fc.constant(ALICE), fc.string()),
      to: fc.oneof(fc.constant(BOB), fc.jsonValue()),
      ts: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
      hostname: fc.oneof(fc.constant('gcp-log-monitor'), fc.string(), fc.jsonValue()),
      address: fc.oneof(fc.constant('1:0001.0000.0007'), fc.string({ maxLength: 40 })),
      justification: fc.oneof(fc.string(), fc.jsonValue()),
      want: fc.oneof(fc.subarray([...CAPABILITIES]), fc.array(fc.jsonValue(), { maxLength: 6 })),
      offer: fc.oneof(fc.subarray([...CAPABILITIES]), fc.jsonValue()),
      caps: fc.oneof(fc.subarray([...CAPABILITIES]), fc.jsonValue()),
      ref: fc.oneof(fc.constant(newNonce()), fc.jsonValue()),
      status: fc.oneof(fc.constantFrom('pending', 'trusted', 'refused', 'done'), fc.jsonValue()),
      detail: fc.oneof(fc.string(), fc.jsonValue()),
      reason: fc.oneof(fc.string(), fc.jsonValue()),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fields, (prefix, body) => {
      assertRefusedOrValid(Buffer.concat([prefix, Buffer.from(JSON.stringify(body))]));
    }),
    { numRuns: 1500 },
  );
});

test('fuzz: correctly signed, structurally valid messages with one field mutated never throw, and whatever passes is well-formed', () => {
  const types = Object.keys(DRAFTS) as Array<TrustMessage['type']>;
  const mutation = fc.record({
    type: fc.constantFrom(...types),
    field: fc.constantFrom('type', 'nonce', 'from', 'to', 'ts', 'hostname', 'address', 'justification', 'want', 'offer', 'caps', 'ref', 'status', 'detail', 'reason', 'extra'),
    action: fc.oneof(
      fc.constant<{ kind: 'delete' }>({ kind: 'delete' }),
      fc.jsonValue().map((value) => ({ kind: 'set' as const, value })),
      fc.string({ unit: 'binary', maxLength: 700 }).map((value) => ({ kind: 'set' as const, value })),
    ),
  });
  fc.assert(
    fc.property(mutation, ({ type, field, action }) => {
      const body = validBody(type);
      if (action.kind === 'delete') delete body[field];
      else body[field] = action.value;
      const bytes = signRaw(alice, body);
      assertRefusedOrValid(bytes);
      // Also with its tail cut off.
      assertRefusedOrValid(bytes.subarray(0, Math.max(0, bytes.length - 3)));
    }),
    { numRuns: 700 },
  );
});

test('fuzz: random bit flips and byte splices of valid messages are always refused', () => {
  const types = Object.keys(DRAFTS) as Array<TrustMessage['type']>;
  fc.assert(
    fc.property(fc.constantFrom(...types), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (type, at, junk) => {
      const { bytes } = signTrustMessage(alice, DRAFTS[type]);
      const pos = at % bytes.length;
      const spliced = Buffer.concat([bytes.subarray(0, pos), Buffer.from(junk), bytes.subarray(pos + junk.length)]);
      if (spliced.equals(bytes)) return;
      assert.equal(decodeTrustMessage(spliced).ok, false);
    }),
    { numRuns: 1000 },
  );
});

test('decodeTrustMessage does not throw on inputs of the wrong type', () => {
  for (const input of [null, undefined, 'a string', 42, {}, [1, 2, 3]]) {
    const r = decodeTrustMessage(input as unknown as Uint8Array);
    assert.equal(r.ok, false);
  }
});
