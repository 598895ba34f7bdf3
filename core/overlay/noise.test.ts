import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateIdentity, type NodeIdentity } from './identity.ts';
import { ed25519FromSeed, ed25519Sign, KEY_SIZE, x25519Generate } from './crypto.ts';
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  INITIATION_SIZE,
  MSG_INITIATION,
  MSG_RESPONSE,
  MSG_TRANSPORT,
  RESPONSE_SIZE,
  responseIndices,
  staticCertificateMessage,
  TimestampClock,
  timestampMs,
  verifyStaticCertificate,
  type HandshakeErrorCode,
  type Initiation,
  type InitiatorState,
  type StaticIdentity,
  type TransportKeys,
} from './noise.ts';

const HANDSHAKE_CODES = new Set<string>(['handshake_length', 'handshake_type', 'handshake_key', 'handshake_decrypt', 'handshake_certificate']);

function staticOf(id: NodeIdentity, network: number, node: number): StaticIdentity {
  return { identityPublic: id.publicKey, staticKey: id.staticKey, staticSignature: id.staticSignature, network, node };
}

const alice = generateIdentity();
const bob = generateIdentity();
const carol = generateIdentity();
const ALICE = staticOf(alice, 1, 0xf2910004);
const BOB = staticOf(bob, 1, 0x00000042);
const CAROL = staticOf(carol, 1, 0x00000043);
const clock = new TimestampClock();

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }, what: string): T {
  if (!r.ok) assert.fail(`${what} failed: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function refusal(r: { ok: true } | { ok: false; error: { code: string; message: string } }, what: string): HandshakeErrorCode {
  if (r.ok) assert.fail(`${what} was accepted`);
  assert.ok(HANDSHAKE_CODES.has(r.error.code), `${what}: unknown code ${r.error.code}`);
  assert.ok(r.error.message.length > 0);
  return r.error.code as HandshakeErrorCode;
}

interface Handshake {
  initiation: Buffer;
  state: InitiatorState;
  consumed: Initiation;
  response: Buffer;
  responderKeys: TransportKeys;
  initiatorKeys: TransportKeys;
  timestamp: Buffer;
}

function handshake(initiator: StaticIdentity, responder: StaticIdentity, initiatorIndex = 0x11223344, responderIndex = 0x55667788): Handshake {
  const timestamp = clock.next();
  const created = unwrap(createInitiation(initiator, responder.staticKey.publicKey, initiatorIndex, timestamp), 'createInitiation');
  const consumed = unwrap(consumeInitiation(responder, created.message), 'consumeInitiation');
  const response = unwrap(createResponse(consumed, responderIndex), 'createResponse');
  const initiatorKeys = unwrap(consumeResponse(created.state, response.message), 'consumeResponse');
  return {
    initiation: created.message,
    state: created.state,
    consumed,
    response: response.message,
    responderKeys: response.keys,
    initiatorKeys,
    timestamp,
  };
}

function flipBit(bytes: Buffer, bit: number): Buffer {
  const flipped = Buffer.from(bytes);
  flipped[bit >> 3]! ^= 1 << (bit & 7);
  return flipped;
}

test('a full handshake gives both sides matching keys: initiator send = responder receive, and back', () => {
  const h = handshake(ALICE, BOB);
  assert.equal(h.initiatorKeys.sendKey.length, 32);
  assert.equal(h.initiatorKeys.receiveKey.length, 32);
  assert.deepEqual(h.initiatorKeys.sendKey, h.responderKeys.receiveKey);
  assert.deepEqual(h.initiatorKeys.receiveKey, h.responderKeys.sendKey);
  assert.notDeepEqual(h.initiatorKeys.sendKey, h.initiatorKeys.receiveKey);
});

test('the responder learns who initiated: identity, static key and certificate, address, timestamp, index', () => {
  const h = handshake(ALICE, BOB, 0xcafebabe);
  assert.deepEqual(h.consumed.identityPublic, alice.publicKey);
  assert.deepEqual(h.consumed.staticPublic, alice.staticKey.publicKey);
  assert.deepEqual(h.consumed.staticSignature, alice.staticSignature);
  assert.equal(h.consumed.network, 1);
  assert.equal(h.consumed.node, 0xf2910004);
  assert.deepEqual(h.consumed.timestamp, h.timestamp);
  assert.equal(h.consumed.senderIndex, 0xcafebabe);
  assert.equal(h.consumed.ephemeralPublic.length, KEY_SIZE);
});

test('messages have the documented sizes, types and indices', () => {
  const h = handshake(ALICE, BOB, 7, 9);
  assert.equal(h.initiation.length, INITIATION_SIZE);
  assert.equal(h.response.length, RESPONSE_SIZE);
  assert.equal(INITIATION_SIZE, 1 + 4 + 32 + (32 + 16) + (32 + 64 + 6 + 12 + 16));
  assert.equal(RESPONSE_SIZE, 1 + 4 + 4 + 32 + 16);
  assert.equal(h.initiation[0], MSG_INITIATION);
  assert.equal(h.initiation.readUInt32BE(1), 7);
  assert.equal(h.response[0], MSG_RESPONSE);
  assert.deepEqual([MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT], [1, 2, 3]);
  assert.deepEqual(unwrap(responseIndices(h.response), 'responseIndices'), { senderIndex: 9, receiverIndex: 7 });
});

test('the initiator identity and static key travel encrypted: they do not appear in the initiation', () => {
  const h = handshake(ALICE, BOB);
  for (const secretish of [alice.publicKey, alice.staticKey.publicKey, alice.staticSignature.subarray(0, 16)]) {
    assert.equal(h.initiation.indexOf(secretish), -1);
  }
});

test('every handshake uses fresh ephemeral keys: the same two nodes never get the same transport keys twice', () => {
  const first = handshake(ALICE, BOB);
  const second = handshake(ALICE, BOB);
  assert.notDeepEqual(first.initiatorKeys.sendKey, second.initiatorKeys.sendKey);
  assert.notDeepEqual(first.initiatorKeys.receiveKey, second.initiatorKeys.receiveKey);
  assert.notDeepEqual(first.initiation.subarray(5, 37), second.initiation.subarray(5, 37));
});

test('either side may initiate', () => {
  const h = handshake(BOB, ALICE);
  assert.deepEqual(h.consumed.identityPublic, bob.publicKey);
  assert.deepEqual(h.initiatorKeys.sendKey, h.responderKeys.receiveKey);
});

test('an initiation meant for another responder does not decrypt', () => {
  const created = unwrap(createInitiation(ALICE, bob.staticKey.publicKey, 1, clock.next()), 'createInitiation');
  assert.equal(refusal(consumeInitiation(CAROL, created.message), 'initiation for bob consumed by carol'), 'handshake_decrypt');
});

test('a response from a different responder key does not complete the handshake', () => {
  // Alice believes she talks to bob; carol answers an initiation she cannot read with one of her own making.
  const toBob = unwrap(createInitiation(ALICE, bob.staticKey.publicKey, 1, clock.next()), 'createInitiation');
  const toCarol = unwrap(createInitiation(ALICE, carol.staticKey.publicKey, 1, clock.next()), 'createInitiation');
  const carolSide = unwrap(consumeInitiation(CAROL, toCarol.message), 'consumeInitiation');
  const carolResponse = unwrap(createResponse(carolSide, 2), 'createResponse');
  assert.equal(refusal(consumeResponse(toBob.state, carolResponse.message), 'carol answering for bob'), 'handshake_decrypt');
});

test('a response to an earlier handshake does not complete a later one, even with the same index', () => {
  const first = unwrap(createInitiation(ALICE, bob.staticKey.publicKey, 5, clock.next()), 'first');
  const second = unwrap(createInitiation(ALICE, bob.staticKey.publicKey, 5, clock.next()), 'second');
  const response = unwrap(createResponse(unwrap(consumeInitiation(BOB, first.message), 'consume'), 6), 'respond');
  assert.equal(refusal(consumeResponse(second.state, response.message), 'stale response'), 'handshake_decrypt');
  unwrap(consumeResponse(first.state, response.message), 'the right state');
});

test('a response addressed to another handshake index is refused with handshake_type', () => {
  const h = handshake(ALICE, BOB, 100, 200);
  const other = unwrap(createInitiation(ALICE, bob.staticKey.publicKey, 101, clock.next()), 'createInitiation');
  assert.equal(refusal(consumeResponse(other.state, h.response), 'response for index 100'), 'handshake_type');
});

test('createInitiation refuses an invalid responder key and a timestamp of the wrong size', () => {
  const zero = Buffer.alloc(32);
  assert.equal(refusal(createInitiation(ALICE, zero, 1, clock.next()), 'all-zero static key'), 'handshake_key');
  assert.equal(refusal(createInitiation(ALICE, Buffer.alloc(31, 1), 1, clock.next()), 'short static key'), 'handshake_key');
  assert.equal(refusal(createInitiation(ALICE, bob.staticKey.publicKey, 1, Buffer.alloc(11)), 'short timestamp'), 'handshake_length');
  assert.equal(refusal(createInitiation(ALICE, bob.staticKey.publicKey, 1, Buffer.alloc(13)), 'long timestamp'), 'handshake_length');
});

test('a low-order ephemeral key in an initiation or a response is refused with handshake_key', () => {
  const h = handshake(ALICE, BOB);
  const badInitiation = Buffer.from(h.initiation);
  badInitiation.fill(0, 5, 5 + KEY_SIZE);
  assert.equal(refusal(consumeInitiation(BOB, badInitiation), 'zero ephemeral'), 'handshake_key');
  const fresh = unwrap(createInitiation(ALICE, bob.staticKey.publicKey, 3, clock.next()), 'createInitiation');
  const response = unwrap(createResponse(unwrap(consumeInitiation(BOB, fresh.message), 'consume'), 4), 'respond').message;
  const badResponse = Buffer.from(response);
  badResponse.fill(0, 9, 9 + KEY_SIZE);
  assert.equal(refusal(consumeResponse(fresh.state, badResponse), 'zero ephemeral in response'), 'handshake_key');
});

test('every single-bit flip of an initiation is refused', () => {
  const h = handshake(ALICE, BOB);
  for (let bit = 0; bit < INITIATION_SIZE * 8; bit++) {
    const flipped = flipBit(h.initiation, bit);
    const code = refusal(consumeInitiation(BOB, flipped), `initiation bit ${bit}`);
    if (bit < 8) assert.equal(code, 'handshake_type', `bit ${bit}`);
  }
  unwrap(consumeInitiation(BOB, h.initiation), 'the untouched initiation');
});

test('every single-bit flip of a response is refused', () => {
  const created = unwrap(createInitiation(ALICE, bob.staticKey.publicKey, 0x01020304, clock.next()), 'createInitiation');
  const response = unwrap(createResponse(unwrap(consumeInitiation(BOB, created.message), 'consume'), 0x0a0b0c0d), 'respond').message;
  for (let bit = 0; bit < RESPONSE_SIZE * 8; bit++) {
    const code = refusal(consumeResponse(created.state, flipBit(response, bit)), `response bit ${bit}`);
    if (bit < 8) assert.equal(code, 'handshake_type', `bit ${bit}`);
  }
  // The flips did not disturb the initiator's state: the genuine response still completes.
  unwrap(consumeResponse(created.state, response), 'the untouched response');
});

test('a static certificate signed by a different identity is refused with handshake_certificate', () => {
  const mallory = generateIdentity();
  const forgeries: Array<[string, StaticIdentity]> = [
    // Mallory claims alice's identity, with her own static key, certified by herself.
    [
      "mallory's static key under alice's identity",
      { ...ALICE, staticKey: mallory.staticKey, staticSignature: mallory.sign(staticCertificateMessage(mallory.staticKey.publicKey)) },
    ],
    // Mallory signs alice's static key: right key, wrong signer.
    ["alice's static key signed by mallory", { ...ALICE, staticSignature: mallory.sign(staticCertificateMessage(alice.staticKey.publicKey)) }],
    // Alice's identity signing a different static key than the one used.
    [
      'a certificate for another static key',
      { ...ALICE, staticSignature: alice.sign(staticCertificateMessage(x25519Generate().publicKey)) },
    ],
    // A signature over the raw key, without the domain-separation context.
    ['a signature without the context', { ...ALICE, staticSignature: alice.sign(alice.staticKey.publicKey) }],
    ['an all-zero signature', { ...ALICE, staticSignature: Buffer.alloc(64) }],
  ];
  for (const [what, forged] of forgeries) {
    const created = unwrap(createInitiation(forged, bob.staticKey.publicKey, 1, clock.next()), what);
    assert.equal(refusal(consumeInitiation(BOB, created.message), what), 'handshake_certificate', what);
  }
});

test('verifyStaticCertificate: true only for the identity that signed this static key', () => {
  assert.equal(verifyStaticCertificate(alice.publicKey, alice.staticKey.publicKey, alice.staticSignature), true);
  assert.equal(verifyStaticCertificate(bob.publicKey, alice.staticKey.publicKey, alice.staticSignature), false);
  assert.equal(verifyStaticCertificate(alice.publicKey, bob.staticKey.publicKey, alice.staticSignature), false);
  assert.equal(verifyStaticCertificate(alice.publicKey, alice.staticKey.publicKey, bob.staticSignature), false);
  assert.equal(verifyStaticCertificate(alice.publicKey, alice.staticKey.publicKey.subarray(0, 31), alice.staticSignature), false);
  assert.equal(verifyStaticCertificate(alice.publicKey, alice.staticKey.publicKey, alice.staticSignature.subarray(1)), false);
  // The certificate is an Ed25519 signature over the context string and the key.
  const seed = Buffer.alloc(32, 3);
  const id = ed25519FromSeed(seed);
  const staticKey = x25519Generate().publicKey;
  const signature = ed25519Sign(id.privateKey, staticCertificateMessage(staticKey));
  assert.equal(verifyStaticCertificate(id.publicKey, staticKey, signature), true);
  assert.deepEqual(staticCertificateMessage(staticKey), Buffer.concat([Buffer.from('swarm-soc static key v1\0'), staticKey]));
});

const arbitraryBytes = fc.uint8Array({ maxLength: 300 });
/** Bytes of the right size and type, so fuzzing reaches the key agreement and decryption. */
function sized(size: number, type: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: size, maxLength: size }).map((b) => {
    b[0] = type;
    return b;
  });
}

test('fuzz: consumeInitiation never throws on arbitrary bytes, and refuses them', () => {
  const check = (bytes: Uint8Array) => {
    refusal(consumeInitiation(BOB, bytes), 'random initiation');
  };
  fc.assert(fc.property(arbitraryBytes, check), { numRuns: 300 });
  fc.assert(fc.property(sized(INITIATION_SIZE, MSG_INITIATION), check), { numRuns: 300 });
});

test('fuzz: responseIndices never throws, and reads the indices of anything of the right shape', () => {
  fc.assert(
    fc.property(arbitraryBytes, (bytes) => {
      const r = responseIndices(bytes);
      if (bytes.length === RESPONSE_SIZE && bytes[0] === MSG_RESPONSE) {
        const view = Buffer.from(bytes);
        assert.deepEqual(unwrap(r, 'responseIndices'), { senderIndex: view.readUInt32BE(1), receiverIndex: view.readUInt32BE(5) });
      } else {
        assert.equal(refusal(r, 'random response'), bytes.length === RESPONSE_SIZE ? 'handshake_type' : 'handshake_length');
      }
    }),
    { numRuns: 500 },
  );
  fc.assert(fc.property(sized(RESPONSE_SIZE, MSG_RESPONSE), (b) => assert.ok(responseIndices(b).ok)), { numRuns: 100 });
});

test('fuzz: consumeResponse never throws on arbitrary bytes, and refuses them', () => {
  const created = unwrap(createInitiation(ALICE, bob.staticKey.publicKey, 0x01020304, clock.next()), 'createInitiation');
  fc.assert(fc.property(arbitraryBytes, (b) => void refusal(consumeResponse(created.state, b), 'random response')), { numRuns: 300 });
  // Right size, type and receiver index: the refusal must come from the key agreement or the AEAD.
  const aimed = sized(RESPONSE_SIZE, MSG_RESPONSE).map((b) => {
    Buffer.from(b.buffer, b.byteOffset, b.byteLength).writeUInt32BE(0x01020304, 5);
    return b;
  });
  fc.assert(
    fc.property(aimed, (b) => {
      const code = refusal(consumeResponse(created.state, b), 'aimed random response');
      assert.ok(code === 'handshake_decrypt' || code === 'handshake_key', code);
    }),
    { numRuns: 300 },
  );
});

test('TimestampClock: strictly increasing, even when the clock stands still or goes back', () => {
  const c = new TimestampClock();
  const stamps = [c.next(1000), c.next(1000), c.next(1000), c.next(999), c.next(0), c.next(1001), c.next(1001)];
  for (let i = 1; i < stamps.length; i++) {
    assert.equal(stamps[i]!.length, 12);
    assert.ok(Buffer.compare(stamps[i]!, stamps[i - 1]!) > 0, `stamp ${i} is not after stamp ${i - 1}`);
  }
  assert.equal(timestampMs(stamps[0]!), 1000);
  assert.equal(timestampMs(stamps[4]!), 1000, 'a clock going back does not move the timestamp back');
  assert.equal(timestampMs(stamps[5]!), 1001);
});

test('TimestampClock: milliseconds beyond 32 bits survive the round trip', () => {
  const c = new TimestampClock();
  const now = 1_767_225_600_123; // 2026, well beyond 2^32 ms
  assert.equal(timestampMs(c.next(now)), now);
  assert.equal(timestampMs(c.next(2 ** 41 + 5)), 2 ** 41 + 5);
  assert.ok(Math.abs(timestampMs(new TimestampClock().next()) - Date.now()) < 60_000);
});

test('TimestampClock: any sequence of integer clock readings gives strictly increasing timestamps', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 45 }), { minLength: 2, maxLength: 60 }), (nows) => {
      const c = new TimestampClock();
      let previous = c.next(nows[0]);
      let highest = nows[0]!;
      for (const now of nows.slice(1)) {
        const stamp = c.next(now);
        assert.ok(Buffer.compare(stamp, previous) > 0);
        highest = Math.max(highest, now);
        assert.equal(timestampMs(stamp), highest);
        previous = stamp;
      }
    }),
    { numRuns: 200 },
  );
});
