/**
 * The crypto wrappers, pinned three ways:
 *   1. known answers copied from the published specifications (RFC 8032, RFC 7748, RFC 5869,
 *      FIPS 180-2, RFC 4231, the McGrew-Viega GCM specification used by NIST SP 800-38D);
 *   2. cross-tests: for random inputs, node:crypto (what the overlay runs) and @noble (an
 *      independent, audited implementation) produce byte-identical results;
 *   3. hostile input: verification and decryption answer false / null, never throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ed25519 as nobleEd25519, x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { gcm as nobleGcm } from '@noble/ciphers/aes.js';
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  aeadOpen,
  aeadSeal,
  AEAD_TAG_SIZE,
  constantTimeEqual,
  ed25519FromSeed,
  ed25519Sign,
  ed25519Verify,
  hkdfSha256,
  hmacSha256,
  KEY_SIZE,
  randomBytes,
  sha256,
  SIGNATURE_SIZE,
  x25519,
  x25519FromSecret,
  x25519Generate,
} from './crypto.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** The bytes first, first+1, ..., last (RFC 5869 test case 2 writes its inputs this way). */
const byteRange = (first: number, last: number): Buffer => Buffer.from(Array.from({ length: last - first + 1 }, (_, i) => first + i));

/** @noble's X25519, with its refusal of an all-zero result (it throws) turned into null. */
function nobleX25519OrNull(secret: Uint8Array, u: Uint8Array): Uint8Array | null {
  try {
    return nobleX25519.scalarMult(secret, u);
  } catch {
    return null;
  }
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const bytes12 = fc.uint8Array({ minLength: 12, maxLength: 12 });
const message = fc.uint8Array({ maxLength: 300 });

// ---------------------------------------------------------------------------------------------
// Ed25519: RFC 8032 section 7.1 (TEST 1, TEST 2, TEST 3)
// ---------------------------------------------------------------------------------------------

const RFC8032_ED25519 = [
  {
    name: 'TEST 1 (empty message)',
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one-byte message)',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two-byte message)',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
] as const;

for (const v of RFC8032_ED25519) {
  test(`Ed25519 RFC 8032 section 7.1 ${v.name}: public key, signature and verification`, () => {
    const pair = ed25519FromSeed(hex(v.secretKey));
    assert.equal(toHex(pair.publicKey), v.publicKey);
    const signature = ed25519Sign(pair.privateKey, hex(v.message));
    assert.equal(toHex(signature), v.signature);
    assert.equal(ed25519Verify(hex(v.publicKey), hex(v.message), hex(v.signature)), true);
    // The transcription is right too: the independent implementation agrees with the vector.
    assert.equal(toHex(nobleEd25519.getPublicKey(hex(v.secretKey))), v.publicKey);
  });
}

test('Ed25519 verification of the RFC 8032 vectors fails for another message, key or signature', () => {
  const [t1, t2] = RFC8032_ED25519;
  assert.equal(ed25519Verify(hex(t1.publicKey), Buffer.from('x'), hex(t1.signature)), false);
  assert.equal(ed25519Verify(hex(t2.publicKey), hex(t1.message), hex(t1.signature)), false);
  assert.equal(ed25519Verify(hex(t1.publicKey), hex(t2.message), hex(t2.signature)), false);
});

test('ed25519FromSeed refuses a seed that is not 32 bytes', () => {
  assert.throws(() => ed25519FromSeed(new Uint8Array(31)), RangeError);
  assert.throws(() => ed25519FromSeed(new Uint8Array(33)), RangeError);
});

// ---------------------------------------------------------------------------------------------
// X25519: RFC 7748 section 5.2 (scalar multiplication) and section 6.1 (Diffie-Hellman)
// ---------------------------------------------------------------------------------------------

const RFC7748_ALICE_PRIVATE = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
const RFC7748_ALICE_PUBLIC = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const RFC7748_BOB_PRIVATE = '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb';
const RFC7748_BOB_PUBLIC = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const RFC7748_SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

test('X25519 RFC 7748 section 6.1: Alice and Bob derive the published keys and shared secret', () => {
  const alice = x25519FromSecret(hex(RFC7748_ALICE_PRIVATE));
  const bob = x25519FromSecret(hex(RFC7748_BOB_PRIVATE));
  assert.equal(toHex(alice.publicKey), RFC7748_ALICE_PUBLIC);
  assert.equal(toHex(bob.publicKey), RFC7748_BOB_PUBLIC);
  assert.equal(toHex(x25519(alice.privateKey, hex(RFC7748_BOB_PUBLIC)) ?? Buffer.alloc(0)), RFC7748_SHARED);
  assert.equal(toHex(x25519(bob.privateKey, hex(RFC7748_ALICE_PUBLIC)) ?? Buffer.alloc(0)), RFC7748_SHARED);
  assert.equal(toHex(nobleX25519.getSharedSecret(hex(RFC7748_ALICE_PRIVATE), hex(RFC7748_BOB_PUBLIC))), RFC7748_SHARED);
});

const RFC7748_SCALAR_MULT = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    // The input u-coordinate has its top bit set, which X25519 must ignore.
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
] as const;

test('X25519 RFC 7748 section 5.2: both scalar-multiplication vectors', () => {
  for (const v of RFC7748_SCALAR_MULT) {
    const shared = x25519(x25519FromSecret(hex(v.scalar)).privateKey, hex(v.u));
    assert.ok(shared, `vector with scalar ${v.scalar.slice(0, 8)}... returned null`);
    assert.equal(toHex(shared), v.out);
    assert.equal(toHex(nobleX25519.scalarMult(hex(v.scalar), hex(v.u))), v.out);
  }
});

test('X25519 RFC 7748 section 5.2: the iterated test after 1 and 1,000 iterations', () => {
  let k: Uint8Array = Buffer.alloc(32);
  k[0] = 9;
  let u: Uint8Array = Buffer.from(k);
  const after: Record<number, string> = {};
  for (let i = 1; i <= 1000; i++) {
    const out = x25519(x25519FromSecret(k).privateKey, u);
    assert.ok(out, `iteration ${i} returned null`);
    u = k;
    k = out;
    if (i === 1 || i === 1000) after[i] = toHex(k);
  }
  assert.equal(after[1], '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
  assert.equal(after[1000], '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
});

test('x25519FromSecret refuses a secret that is not 32 bytes', () => {
  assert.throws(() => x25519FromSecret(new Uint8Array(16)), RangeError);
});

// ---------------------------------------------------------------------------------------------
// HKDF-SHA256: RFC 5869 appendix A, test cases 1-3
// ---------------------------------------------------------------------------------------------

const RFC5869 = [
  {
    name: 'test case 1 (basic)',
    ikm: hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
    salt: hex('000102030405060708090a0b0c'),
    info: hex('f0f1f2f3f4f5f6f7f8f9'),
    length: 42,
    okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
  {
    name: 'test case 2 (longer inputs and output)',
    ikm: byteRange(0x00, 0x4f),
    salt: byteRange(0x60, 0xaf),
    info: byteRange(0xb0, 0xff),
    length: 82,
    okm:
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' +
      '59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71' +
      'cc30c58179ec3e87c14c01d5c1f3434f1d87',
  },
  {
    name: 'test case 3 (zero-length salt and info)',
    ikm: hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
    salt: Buffer.alloc(0),
    info: Buffer.alloc(0),
    length: 42,
    okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  },
] as const;

for (const v of RFC5869) {
  test(`HKDF-SHA256 RFC 5869 ${v.name}`, () => {
    assert.equal(v.okm.length, v.length * 2); // the vector's own L
    assert.equal(toHex(hkdfSha256(v.ikm, v.salt, v.info, v.length)), v.okm);
    assert.equal(toHex(nobleHkdf(nobleSha256, v.ikm, v.salt, v.info, v.length)), v.okm);
  });
}

test('hkdfSha256 treats a string info as its UTF-8 bytes', () => {
  const ikm = hex('0b0b0b0b');
  assert.deepEqual(hkdfSha256(ikm, Buffer.alloc(0), 'x25519', 32), hkdfSha256(ikm, Buffer.alloc(0), Buffer.from('x25519'), 32));
  assert.notDeepEqual(hkdfSha256(ikm, Buffer.alloc(0), 'x25519', 32), hkdfSha256(ikm, Buffer.alloc(0), 'x25518', 32));
});

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-2 appendix B.1) and HMAC-SHA256 (RFC 4231 test case 2)
// ---------------------------------------------------------------------------------------------

test('SHA-256 of "abc" (FIPS 180-2 appendix B.1), whole and in parts', () => {
  const expected = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  assert.equal(toHex(sha256(Buffer.from('abc'))), expected);
  assert.equal(toHex(sha256(Buffer.from('a'), Buffer.from(''), Buffer.from('bc'))), expected);
});

test('HMAC-SHA256 RFC 4231 test case 2 (key "Jefe"), whole and in parts', () => {
  const expected = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
  assert.equal(toHex(hmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'))), expected);
  assert.equal(toHex(hmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya '), Buffer.from('want for nothing?'))), expected);
});

// ---------------------------------------------------------------------------------------------
// AES-256-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation", appendix B, test cases
// 13-16 (the 256-bit-key cases; the same vectors NIST SP 800-38D validation uses)
// ---------------------------------------------------------------------------------------------

const GCM_KEY = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const GCM_IV = 'cafebabefacedbaddecaf888';
const GCM_PLAINTEXT_64 =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
  '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const GCM_CIPHERTEXT_64 =
  '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
  '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';

const GCM_VECTORS = [
  { name: 'test case 13 (zero key, empty)', key: '00'.repeat(32), iv: '00'.repeat(12), aad: '', pt: '', ct: '', tag: '530f8afbc74536b9a963b4f1c4cb738b' },
  {
    name: 'test case 14 (zero key, one zero block)',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    aad: '',
    pt: '00'.repeat(16),
    ct: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  { name: 'test case 15 (64 bytes, no AAD)', key: GCM_KEY, iv: GCM_IV, aad: '', pt: GCM_PLAINTEXT_64, ct: GCM_CIPHERTEXT_64, tag: 'b094dac5d93471bdec1a502270e3cc6c' },
  {
    name: 'test case 16 (60 bytes, with AAD)',
    key: GCM_KEY,
    iv: GCM_IV,
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    pt: GCM_PLAINTEXT_64.slice(0, 120),
    ct: GCM_CIPHERTEXT_64.slice(0, 120),
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
] as const;

for (const v of GCM_VECTORS) {
  test(`AES-256-GCM ${v.name}: seal gives ciphertext || tag, open gives the plaintext back`, () => {
    const sealed = aeadSeal(hex(v.key), hex(v.iv), hex(v.pt), hex(v.aad));
    assert.equal(toHex(sealed), v.ct + v.tag);
    assert.equal(toHex(aeadOpen(hex(v.key), hex(v.iv), hex(v.ct + v.tag), hex(v.aad)) ?? Buffer.from('null')), v.pt);
    assert.equal(toHex(nobleGcm(hex(v.key), hex(v.iv), hex(v.aad)).encrypt(hex(v.pt))), v.ct + v.tag);
  });
}

test('AES-256-GCM test case 16 does not open with the AAD of test case 15 (none), nor with another IV', () => {
  const v = GCM_VECTORS[3];
  assert.equal(aeadOpen(hex(v.key), hex(v.iv), hex(v.ct + v.tag), Buffer.alloc(0)), null);
  assert.equal(aeadOpen(hex(v.key), Buffer.alloc(12), hex(v.ct + v.tag), hex(v.aad)), null);
});

// ---------------------------------------------------------------------------------------------
// Cross-tests: node:crypto and @noble agree byte for byte on random inputs
// ---------------------------------------------------------------------------------------------

test('cross: Ed25519 public keys and signatures are byte-identical to @noble, and each verifies the other', () => {
  fc.assert(
    fc.property(bytes32, message, (seed, msg) => {
      const pair = ed25519FromSeed(seed);
      assert.equal(toHex(pair.publicKey), toHex(nobleEd25519.getPublicKey(seed)));
      const ours = ed25519Sign(pair.privateKey, msg);
      const theirs = nobleEd25519.sign(msg, seed);
      assert.equal(toHex(ours), toHex(theirs)); // Ed25519 is deterministic
      assert.equal(ed25519Verify(pair.publicKey, msg, theirs), true);
      assert.equal(nobleEd25519.verify(ours, msg, pair.publicKey), true);
    }),
    { numRuns: 60 },
  );
});

test('cross: a signature over a different message is refused by both implementations', () => {
  fc.assert(
    fc.property(bytes32, message, message, (seed, msg, other) => {
      fc.pre(Buffer.compare(Buffer.from(msg), Buffer.from(other)) !== 0);
      const pair = ed25519FromSeed(seed);
      const signature = ed25519Sign(pair.privateKey, msg);
      assert.equal(ed25519Verify(pair.publicKey, other, signature), false);
      assert.equal(nobleEd25519.verify(signature, other, pair.publicKey), false);
    }),
    { numRuns: 40 },
  );
});

test('cross: X25519 public keys and shared secrets are byte-identical to @noble', () => {
  fc.assert(
    fc.property(bytes32, bytes32, (a, b) => {
      const alice = x25519FromSecret(a);
      const bob = x25519FromSecret(b);
      assert.equal(toHex(alice.publicKey), toHex(nobleX25519.getPublicKey(a)));
      const shared = x25519(alice.privateKey, bob.publicKey);
      assert.ok(shared);
      assert.equal(toHex(shared), toHex(nobleX25519.getSharedSecret(a, nobleX25519.getPublicKey(b))));
      assert.equal(toHex(x25519(bob.privateKey, alice.publicKey) ?? Buffer.alloc(0)), toHex(shared));
    }),
    { numRuns: 60 },
  );
});

test('cross: X25519 with an arbitrary peer u-coordinate matches @noble (or is refused as all-zero)', () => {
  fc.assert(
    fc.property(bytes32, bytes32, (secret, peer) => {
      const ours = x25519(x25519FromSecret(secret).privateKey, peer);
      const theirs = nobleX25519OrNull(secret, peer);
      assert.equal(ours === null ? null : toHex(ours), theirs === null ? null : toHex(theirs));
    }),
    { numRuns: 60 },
  );
});

test('cross: HKDF-SHA256 is byte-identical to @noble for random ikm, salt, info and length', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 100 }),
      fc.uint8Array({ maxLength: 100 }),
      fc.uint8Array({ maxLength: 100 }),
      fc.integer({ min: 1, max: 255 * 32 }),
      (ikm, salt, info, length) => {
        const ours = hkdfSha256(ikm, salt, info, length);
        assert.equal(ours.length, length);
        assert.equal(toHex(ours), toHex(nobleHkdf(nobleSha256, ikm, salt, info, length)));
      },
    ),
    { numRuns: 80 },
  );
});

test('cross: SHA-256 and HMAC-SHA256 are byte-identical to @noble', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (key, msg) => {
      assert.equal(toHex(sha256(msg)), toHex(nobleSha256(msg)));
      assert.equal(toHex(hmacSha256(key, msg)), toHex(nobleHmac(nobleSha256, key, msg)));
    }),
    { numRuns: 80 },
  );
});

test('cross: AES-256-GCM seal is byte-identical to @noble gcm, and each opens the other', () => {
  fc.assert(
    fc.property(bytes32, bytes12, fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), (key, nonce, plaintext, aad) => {
      const ours = aeadSeal(key, nonce, plaintext, aad);
      assert.equal(ours.length, plaintext.length + AEAD_TAG_SIZE);
      const theirs = nobleGcm(key, nonce, aad).encrypt(plaintext);
      assert.equal(toHex(ours), toHex(theirs));
      assert.equal(toHex(aeadOpen(key, nonce, theirs, aad) ?? Buffer.from('null')), toHex(plaintext));
      assert.equal(toHex(nobleGcm(key, nonce, aad).decrypt(ours)), toHex(plaintext));
    }),
    { numRuns: 80 },
  );
});

// ---------------------------------------------------------------------------------------------
// Hostile input: false / null, never an exception
// ---------------------------------------------------------------------------------------------

test('ed25519Verify returns false for keys and signatures of the wrong length', () => {
  const pair = ed25519FromSeed(hex(RFC8032_ED25519[0].secretKey));
  const signature = ed25519Sign(pair.privateKey, Buffer.from('m'));
  assert.equal(ed25519Verify(pair.publicKey, Buffer.from('m'), signature), true);
  for (const length of [0, 1, 31, 33, 64]) {
    assert.equal(ed25519Verify(Buffer.alloc(length, 7), Buffer.from('m'), signature), false, `key of ${length} bytes`);
  }
  for (const length of [0, 1, 32, 63, 65, 128]) {
    const wrong = Buffer.concat([signature, signature]).subarray(0, length);
    assert.equal(ed25519Verify(pair.publicKey, Buffer.from('m'), wrong), false, `signature of ${length} bytes`);
  }
});

test('ed25519Verify returns false for values that are not byte arrays at all', () => {
  const pair = ed25519FromSeed(hex(RFC8032_ED25519[0].secretKey));
  const signature = ed25519Sign(pair.privateKey, Buffer.from('m'));
  const junk: unknown[] = [null, undefined, 'a'.repeat(32), 42, {}, Array.from({ length: 32 }, () => 1)];
  for (const value of junk) {
    assert.equal(ed25519Verify(value as Uint8Array, Buffer.from('m'), signature), false);
    assert.equal(ed25519Verify(pair.publicKey, Buffer.from('m'), value as Uint8Array), false);
  }
});

test('ed25519Verify returns false for garbage keys and signatures of the right length', () => {
  // A y-coordinate >= p, and a point that is not on the curve (no square root): both undecodable.
  const notAPoint = [hex('ed' + 'ff'.repeat(30) + '7f'), hex('02' + '00'.repeat(31))];
  const signature = ed25519Sign(ed25519FromSeed(Buffer.alloc(32, 1)).privateKey, Buffer.from('m'));
  for (const key of notAPoint) assert.equal(ed25519Verify(key, Buffer.from('m'), signature), false);
  fc.assert(
    fc.property(bytes32, message, fc.uint8Array({ minLength: 64, maxLength: 64 }), (key, msg, sig) => {
      assert.equal(ed25519Verify(key, msg, sig), false);
    }),
    { numRuns: 200 },
  );
});

test('ed25519Verify refuses every single-bit flip of a signature and of the public key', () => {
  const pair = ed25519FromSeed(hex(RFC8032_ED25519[1].secretKey));
  const msg = hex(RFC8032_ED25519[1].message);
  const signature = ed25519Sign(pair.privateKey, msg);
  for (let bit = 0; bit < SIGNATURE_SIZE * 8; bit++) {
    const flipped = Buffer.from(signature);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(ed25519Verify(pair.publicKey, msg, flipped), false, `signature bit ${bit}`);
  }
  for (let bit = 0; bit < KEY_SIZE * 8; bit++) {
    const flipped = Buffer.from(pair.publicKey);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(ed25519Verify(flipped, msg, signature), false, `public key bit ${bit}`);
  }
});

test('x25519 returns null for low-order points (RFC 7748 section 6.1 all-zero check)', () => {
  const mine = x25519Generate();
  const lowOrder = [
    '00'.repeat(32), // u = 0
    '01' + '00'.repeat(31), // u = 1
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
    'ec' + 'ff'.repeat(30) + '7f', // u = p - 1 (order 2)
    'ed' + 'ff'.repeat(30) + '7f', // u = p, i.e. 0
    '00'.repeat(31) + '80', // u = 0 with the ignored top bit set
  ];
  for (const point of lowOrder) {
    assert.equal(x25519(mine.privateKey, hex(point)), null, point);
    // These really are low-order: the reference implementation refuses them too.
    assert.equal(nobleX25519OrNull(randomBytes(32), hex(point)), null, point);
  }
});

test('x25519 returns null for a peer key of the wrong length or type', () => {
  const mine = x25519Generate();
  for (const length of [0, 31, 33, 64]) assert.equal(x25519(mine.privateKey, Buffer.alloc(length, 9)), null);
  assert.equal(x25519(mine.privateKey, 'x'.repeat(32) as unknown as Uint8Array), null);
  assert.equal(x25519(mine.privateKey, null as unknown as Uint8Array), null);
});

test('x25519Generate gives fresh, working key pairs', () => {
  const a = x25519Generate();
  const b = x25519Generate();
  assert.notDeepEqual(a.publicKey, b.publicKey);
  assert.deepEqual(x25519(a.privateKey, b.publicKey), x25519(b.privateKey, a.publicKey));
});

test('aeadOpen returns null when any single bit of the sealed text, AAD, nonce or key changes', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = Buffer.from('frame header');
  const plaintext = Buffer.from('approve handshake from gcp-log-monitor');
  const sealed = aeadSeal(key, nonce, plaintext, aad);
  assert.deepEqual(aeadOpen(key, nonce, sealed, aad), plaintext);
  const flipEach = (buf: Buffer, open: (flipped: Buffer) => Buffer | null, what: string) => {
    for (let bit = 0; bit < buf.length * 8; bit++) {
      const flipped = Buffer.from(buf);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(open(flipped), null, `${what} bit ${bit}`);
    }
  };
  flipEach(sealed, (s) => aeadOpen(key, nonce, s, aad), 'sealed');
  flipEach(aad, (a) => aeadOpen(key, nonce, sealed, a), 'aad');
  flipEach(nonce, (n) => aeadOpen(key, n, sealed, aad), 'nonce');
  flipEach(key, (k) => aeadOpen(k, nonce, sealed, aad), 'key');
});

test('aeadOpen returns null for truncated, extended, empty or short input and for a bad key or nonce', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const sealed = aeadSeal(key, nonce, Buffer.from('hello'), Buffer.alloc(0));
  for (let cut = 0; cut < sealed.length; cut++) {
    assert.equal(aeadOpen(key, nonce, sealed.subarray(0, cut), Buffer.alloc(0)), null, `first ${cut} bytes`);
  }
  assert.equal(aeadOpen(key, nonce, Buffer.concat([sealed, Buffer.from([0])]), Buffer.alloc(0)), null);
  assert.equal(aeadOpen(key.subarray(0, 16), nonce, sealed, Buffer.alloc(0)), null);
  assert.equal(aeadOpen(key, Buffer.alloc(0), sealed, Buffer.alloc(0)), null);
});

test('aeadOpen never throws on arbitrary input and opens nothing it was not given', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 40 }),
      fc.uint8Array({ minLength: 0, maxLength: 16 }),
      fc.uint8Array({ maxLength: 80 }),
      fc.uint8Array({ maxLength: 20 }),
      (key, nonce, sealed, aad) => {
        assert.equal(aeadOpen(key, nonce, sealed, aad), null);
      },
    ),
    { numRuns: 300 },
  );
});

test('constantTimeEqual: true exactly when the bytes are equal, whatever the lengths', () => {
  assert.equal(constantTimeEqual(Buffer.alloc(0), Buffer.alloc(0)), true);
  assert.equal(constantTimeEqual(Buffer.from('secret'), Buffer.from('secret')), true);
  assert.equal(constantTimeEqual(Buffer.from('secret'), Buffer.from('secreT')), false);
  assert.equal(constantTimeEqual(Buffer.from('secret'), Buffer.from('secret\0')), false); // a prefix is not equal
  assert.equal(constantTimeEqual(Buffer.from(''), Buffer.from('\0')), false);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
      assert.equal(constantTimeEqual(a, b), Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0);
      assert.equal(constantTimeEqual(a, Uint8Array.from(a)), true);
    }),
    { numRuns: 200 },
  );
});

test('randomBytes gives the requested number of distinct bytes', () => {
  const a = randomBytes(32);
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, randomBytes(32));
});
