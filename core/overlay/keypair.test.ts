import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gcm as nobleGcm } from '@noble/ciphers/aes.js';
import { generateIdentity, type NodeIdentity } from './identity.ts';
import { consumeInitiation, consumeResponse, createInitiation, createResponse, MSG_TRANSPORT, TimestampClock, type StaticIdentity, type TransportKeys } from './noise.ts';
import { TRANSPORT_HEADER_SIZE, TRANSPORT_OVERHEAD, TransportKeypair, transportReceiverIndex, type OpenResult } from './keypair.ts';
import { DEFAULT_TUNNEL_LIMITS, type TunnelLimits } from './timers.ts';
import { AEAD_TAG_SIZE } from './crypto.ts';

const REASONS = new Set(['short', 'expired', 'counter_limit', 'replay', 'auth']);
const T0 = 1_700_000_000_000;
const INITIATOR_INDEX = 0x0000abcd;
const RESPONDER_INDEX = 0x12345678;

function staticOf(id: NodeIdentity, node: number): StaticIdentity {
  return { identityPublic: id.publicKey, staticKey: id.staticKey, staticSignature: id.staticSignature, network: 1, node };
}

const alice = staticOf(generateIdentity(), 10);
const bob = staticOf(generateIdentity(), 11);
const clock = new TimestampClock();

/** A real handshake between alice (initiator) and bob, as the node runs it. */
function handshakeKeys(): { initiator: TransportKeys; responder: TransportKeys } {
  const init = createInitiation(alice, bob.staticKey.publicKey, INITIATOR_INDEX, clock.next());
  assert.ok(init.ok);
  const consumed = consumeInitiation(bob, init.value.message);
  assert.ok(consumed.ok);
  const response = createResponse(consumed.value, RESPONDER_INDEX);
  assert.ok(response.ok);
  const keys = consumeResponse(init.value.state, response.value.message);
  assert.ok(keys.ok);
  return { initiator: keys.value, responder: response.value.keys };
}

function pair(limits: Partial<TunnelLimits> = {}, now = T0) {
  const all = { ...DEFAULT_TUNNEL_LIMITS, ...limits };
  const keys = handshakeKeys();
  return {
    keys,
    initiator: new TransportKeypair(keys.initiator, INITIATOR_INDEX, RESPONDER_INDEX, true, all, now),
    responder: new TransportKeypair(keys.responder, RESPONDER_INDEX, INITIATOR_INDEX, false, all, now),
  };
}

function sealOk(kp: TransportKeypair, plaintext: Uint8Array, now = T0): Buffer {
  const frame = kp.seal(plaintext, now);
  assert.ok(frame, 'seal returned null');
  return frame;
}

function openOk(kp: TransportKeypair, frame: Buffer, now = T0): { plaintext: Buffer; counter: number } {
  const r = kp.open(frame, now);
  if (!r.ok) assert.fail(`expected the frame to open, got ${r.reason}`);
  return r;
}

function reasonOf(r: OpenResult): string {
  if (r.ok) assert.fail('expected the frame to be refused');
  assert.ok(REASONS.has(r.reason), r.reason);
  return r.reason;
}

test('frames sealed by one side open on the other, in both directions', () => {
  const { initiator, responder } = pair();
  const hello = Buffer.from('SYN to 1:0001.0000.000B:1000');
  assert.deepEqual(openOk(responder, sealOk(initiator, hello)).plaintext, hello);
  const reply = Buffer.from('SYN|ACK');
  assert.deepEqual(openOk(initiator, sealOk(responder, reply)).plaintext, reply);
  assert.deepEqual(openOk(responder, sealOk(initiator, Buffer.alloc(0))).plaintext, Buffer.alloc(0)); // keepalive
  assert.equal(initiator.isInitiator, true);
  assert.equal(responder.isInitiator, false);
  assert.equal(initiator.createdAt, T0);
});

test('the frame layout: type 3, the receiver index, a 64-bit counter, then ciphertext and tag', () => {
  const { initiator, responder } = pair();
  const plaintext = Buffer.from('twelve bytes');
  for (let counter = 0; counter < 3; counter++) {
    const frame = sealOk(initiator, plaintext);
    assert.equal(frame.length, TRANSPORT_OVERHEAD + plaintext.length);
    assert.equal(frame[0], MSG_TRANSPORT);
    assert.equal(frame.readUInt32BE(1), RESPONDER_INDEX);
    assert.equal(transportReceiverIndex(frame), RESPONDER_INDEX);
    assert.equal(frame.readBigUInt64BE(5), BigInt(counter));
    assert.equal(openOk(responder, frame).counter, counter);
  }
  assert.equal(initiator.sendCounter, 3);
  assert.equal(TRANSPORT_HEADER_SIZE, 13);
  assert.equal(TRANSPORT_OVERHEAD, 13 + AEAD_TAG_SIZE);
  assert.equal(transportReceiverIndex(Buffer.alloc(TRANSPORT_OVERHEAD - 1)), -1);
});

test('cross: a frame is AES-256-GCM (nonce 4 zero bytes || counter, the 13-byte header as AAD), checked with @noble', () => {
  const { keys, initiator } = pair();
  for (let i = 0; i < 3; i++) {
    const plaintext = Buffer.from(`packet ${i}`);
    const frame = sealOk(initiator, plaintext);
    const header = frame.subarray(0, TRANSPORT_HEADER_SIZE);
    const nonce = Buffer.concat([Buffer.alloc(4), frame.subarray(5, 13)]);
    const opened = nobleGcm(keys.responder.receiveKey, nonce, header).decrypt(frame.subarray(TRANSPORT_HEADER_SIZE));
    assert.deepEqual(Buffer.from(opened), plaintext);
  }
});

test('sealFrame seals pieces into one frame that opens as their concatenation, identical to sealing them joined', () => {
  const header = Buffer.from('34-byte overlay header stand-in..');
  const payload = Buffer.from('the payload, sealed without copying it next to the header');
  const a = pair();
  const frame = a.initiator.sealFrame([header, payload], T0);
  assert.ok(frame);
  assert.equal(frame.length, TRANSPORT_HEADER_SIZE + header.length + payload.length + AEAD_TAG_SIZE);
  assert.deepEqual(openOk(a.responder, frame).plaintext, Buffer.concat([header, payload]));
  // A second key pair over the same keys starts at the same counter: sealing the joined bytes must give the same frame.
  const twin = new TransportKeypair(a.keys.initiator, INITIATOR_INDEX, RESPONDER_INDEX, true, DEFAULT_TUNNEL_LIMITS, T0);
  assert.deepEqual(sealOk(twin, Buffer.concat([header, payload])), frame);
});

test('the same plaintext never gives the same frame twice (the counter is the nonce)', () => {
  const { initiator } = pair();
  const a = sealOk(initiator, Buffer.from('same'));
  const b = sealOk(initiator, Buffer.from('same'));
  assert.notDeepEqual(a.subarray(TRANSPORT_HEADER_SIZE), b.subarray(TRANSPORT_HEADER_SIZE));
});

test('a replayed frame is refused with reason replay; frames out of order are still accepted once', () => {
  const { initiator, responder } = pair();
  const frames = [0, 1, 2, 3].map((i) => sealOk(initiator, Buffer.from(`frame ${i}`)));
  openOk(responder, frames[2]!);
  assert.equal(reasonOf(responder.open(frames[2]!, T0)), 'replay');
  openOk(responder, frames[0]!);
  openOk(responder, frames[3]!);
  openOk(responder, frames[1]!);
  for (const frame of frames) assert.equal(reasonOf(responder.open(frame, T0)), 'replay');
});

test('a side cannot open its own frames: each direction has its own key', () => {
  const { initiator } = pair();
  assert.equal(reasonOf(initiator.open(sealOk(initiator, Buffer.from('echo')), T0)), 'auth');
});

test('keys from another handshake cannot open the frame', () => {
  const first = pair();
  const second = pair();
  assert.equal(reasonOf(second.responder.open(sealOk(first.initiator, Buffer.from('x')), T0)), 'auth');
});

test('every single-bit flip of a transport frame is refused, and the genuine frame still opens afterwards', () => {
  const { initiator, responder } = pair();
  const frame = sealOk(initiator, Buffer.from('mitigation.request: block 203.0.113.7'));
  for (let bit = 0; bit < frame.length * 8; bit++) {
    const flipped = Buffer.from(frame);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    const reason = reasonOf(responder.open(flipped, T0));
    assert.ok(reason === 'auth' || reason === 'counter_limit', `bit ${bit}: ${reason}`);
  }
  // None of the forgeries burned counter 0.
  assert.deepEqual(openOk(responder, frame).plaintext, Buffer.from('mitigation.request: block 203.0.113.7'));
});

test('a forged frame does not burn its counter: the genuine frame with that counter still opens', () => {
  const { initiator, responder } = pair();
  const frames = [0, 1, 2, 3, 4, 5].map((i) => sealOk(initiator, Buffer.from(`frame ${i}`)));
  const forged = Buffer.from(frames[5]!);
  forged.fill(0x41, TRANSPORT_HEADER_SIZE);
  assert.equal(reasonOf(responder.open(forged, T0)), 'auth');
  assert.equal(openOk(responder, frames[5]!).counter, 5);
});

test('frames shorter than header plus tag are refused as short', () => {
  const { initiator, responder } = pair();
  const frame = sealOk(initiator, Buffer.alloc(0));
  assert.equal(frame.length, TRANSPORT_OVERHEAD);
  for (let cut = 0; cut < TRANSPORT_OVERHEAD; cut++) assert.equal(reasonOf(responder.open(frame.subarray(0, cut), T0)), 'short');
  openOk(responder, frame);
});

test('after rejectAfterMessages frames, seal returns null and the keys are no longer usable', () => {
  const { initiator } = pair({ rejectAfterMessages: 3 });
  for (let i = 0; i < 3; i++) {
    assert.equal(initiator.isUsable(T0), true);
    sealOk(initiator, Buffer.from('x'));
  }
  assert.equal(initiator.sendCounter, 3);
  assert.equal(initiator.isUsable(T0), false);
  assert.equal(initiator.seal(Buffer.from('x'), T0), null);
  assert.equal(initiator.sealFrame([Buffer.from('x')], T0), null);
  assert.equal(initiator.sendCounter, 3, 'a refused seal does not consume a counter');
});

test('a receiver refuses counters at or beyond rejectAfterMessages with counter_limit', () => {
  const keys = handshakeKeys();
  const sender = new TransportKeypair(keys.initiator, INITIATOR_INDEX, RESPONDER_INDEX, true, DEFAULT_TUNNEL_LIMITS, T0);
  const strict = { ...DEFAULT_TUNNEL_LIMITS, rejectAfterMessages: 3 };
  const receiver = new TransportKeypair(keys.responder, RESPONDER_INDEX, INITIATOR_INDEX, false, strict, T0);
  const frames = [0, 1, 2, 3, 4].map((i) => sealOk(sender, Buffer.from(`frame ${i}`)));
  for (const i of [0, 1, 2]) openOk(receiver, frames[i]!);
  assert.equal(reasonOf(receiver.open(frames[3]!, T0)), 'counter_limit');
  assert.equal(reasonOf(receiver.open(frames[4]!, T0)), 'counter_limit');
});

test('wantsRekey turns true after rekeyAfterMessages frames, before the hard limit', () => {
  const { initiator } = pair({ rekeyAfterMessages: 2, rejectAfterMessages: 4 });
  assert.equal(initiator.wantsRekey(T0), false);
  sealOk(initiator, Buffer.from('1'));
  assert.equal(initiator.wantsRekey(T0), false);
  sealOk(initiator, Buffer.from('2'));
  assert.equal(initiator.wantsRekey(T0), true);
  assert.equal(initiator.isUsable(T0), true, 'a soft limit: still usable');
  sealOk(initiator, Buffer.from('3'));
});

test('wantsRekey turns true once the keys are rekeyAfterMs old', () => {
  const { initiator } = pair({ rekeyAfterMs: 1000, rejectAfterMs: 5000 });
  assert.equal(initiator.wantsRekey(T0 + 999), false);
  assert.equal(initiator.wantsRekey(T0 + 1000), true);
  assert.equal(initiator.isUsable(T0 + 1000), true);
  sealOk(initiator, Buffer.from('still fine'), T0 + 1000);
});

test('keys expire rejectAfterMs after they were made: seal gives null and open answers expired', () => {
  const { initiator, responder } = pair({ rekeyAfterMs: 1000, rejectAfterMs: 5000 });
  const early = sealOk(initiator, Buffer.from('early'), T0 + 4999);
  const late = sealOk(initiator, Buffer.from('late'), T0 + 4999);
  assert.equal(initiator.isUsable(T0 + 4999), true);
  assert.equal(initiator.isUsable(T0 + 5000), false);
  assert.equal(initiator.seal(Buffer.from('too late'), T0 + 5000), null);
  openOk(responder, early, T0 + 4999);
  assert.equal(reasonOf(responder.open(late, T0 + 5000)), 'expired');
  assert.equal(reasonOf(responder.open(late, T0 + 60_000)), 'expired');
});

test('the default limits: rekey after 120 s, unusable after 180 s', () => {
  const { initiator } = pair();
  assert.equal(initiator.wantsRekey(T0 + 119_999), false);
  assert.equal(initiator.wantsRekey(T0 + 120_000), true);
  assert.equal(initiator.isUsable(T0 + 179_999), true);
  assert.equal(initiator.isUsable(T0 + 180_000), false);
});

test('fuzz: open never throws on arbitrary bytes and opens none of them', () => {
  const { responder } = pair();
  const check = (bytes: Uint8Array) => void reasonOf(responder.open(Buffer.from(bytes), T0));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), check), { numRuns: 500 });
  // Frames with a plausible header (type, our index, a small counter) reach the AEAD.
  const plausible = fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.uint8Array({ minLength: AEAD_TAG_SIZE, maxLength: 100 })).map(([counter, body]) => {
    const header = Buffer.alloc(TRANSPORT_HEADER_SIZE);
    header[0] = MSG_TRANSPORT;
    header.writeUInt32BE(RESPONDER_INDEX, 1);
    header.writeBigUInt64BE(BigInt(counter), 5);
    return Buffer.concat([header, body]);
  });
  fc.assert(fc.property(plausible, (frame) => assert.equal(reasonOf(responder.open(frame, T0)), 'auth')), { numRuns: 300 });
  // None of that disturbed the real traffic.
  const { initiator, responder: fresh } = pair();
  openOk(fresh, sealOk(initiator, Buffer.from('after the fuzz')));
});

test('random traffic with loss, reordering and duplicates: each frame is delivered at most once, intact', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 80 }),
      (payloads, deliveries) => {
        const { initiator, responder } = pair();
        const frames = payloads.map((p) => sealOk(initiator, p));
        const delivered = new Set<number>();
        for (const pick of deliveries) {
          const i = pick % frames.length;
          const r = responder.open(frames[i]!, T0);
          if (delivered.has(i)) {
            assert.equal(reasonOf(r), 'replay');
          } else {
            assert.ok(r.ok);
            assert.equal(r.counter, i);
            assert.deepEqual(r.plaintext, Buffer.from(payloads[i]!));
            delivered.add(i);
          }
        }
      },
    ),
    { numRuns: 40 },
  );
});
