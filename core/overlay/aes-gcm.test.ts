/**
 * The two AES-256-GCM backends of the packet path: the native one (native/aes_gcm.c, built by
 * `npm run build`) and node:crypto. Both must give the McGrew-Viega / NIST SP 800-38D answers and
 * agree byte for byte with each other and with @noble/ciphers on random inputs.
 *
 * Without a build the native tests skip with a message; in CI (CI=true) a missing native module
 * fails, because the overlay's throughput target depends on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { gcm as nobleGcm } from '@noble/ciphers/aes.js';
import { aesGcmBackend, createOpener, createSealer, type AesGcmBackend } from './aes-gcm.ts';

const hex = (s: string) => Buffer.from(s, 'hex');
const TAG = 16;

const nativeStatus = aesGcmBackend();
const nativeSkip = nativeStatus.backend === 'openssl-native' ? false : `native AES-GCM not in use: ${nativeStatus.reason}`;
const backends: { name: AesGcmBackend; skip: string | false }[] = [
  { name: 'openssl-native', skip: nativeSkip },
  { name: 'node-crypto', skip: false },
];

test('in CI the native AES-GCM module is built and passes its self-test', { skip: process.env.CI ? false : 'only enforced in CI' }, () => {
  assert.deepEqual(nativeStatus, { backend: 'openssl-native', reason: null });
});

// McGrew & Viega, appendix B, the 256-bit-key test cases 14 and 16 (16 has associated data).
const GCM_KEY = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const VECTORS = [
  { name: 'test case 14', key: '00'.repeat(32), iv: '00'.repeat(12), aad: '', pt: '00'.repeat(16), ct: 'cea7403d4d606b6e074ec5d3baf39d18', tag: 'd0d1c8a799996bf0265b98b5d48ab919' },
  {
    name: 'test case 16',
    key: GCM_KEY,
    iv: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    pt: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    ct: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
] as const;

function seal(backend: AesGcmBackend, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pieces: readonly Uint8Array[]): Buffer {
  const frame = Buffer.alloc(aad.length + pieces.reduce((n, p) => n + p.length, 0) + TAG);
  frame.set(aad);
  createSealer(key, backend).sealInto(frame, aad.length, nonce, pieces);
  return frame;
}

function open(backend: AesGcmBackend, key: Uint8Array, nonce: Uint8Array, frame: Buffer, aadLength: number): Buffer | null {
  const out = Buffer.alloc(frame.length - aadLength - TAG);
  return createOpener(key, backend).openInto(frame, aadLength, nonce, out) ? out : null;
}

for (const { name, skip } of backends) {
  for (const v of VECTORS) {
    test(`${name}: AES-256-GCM ${v.name} gives aad || ciphertext || tag, split across pieces too, and opens`, { skip }, () => {
      const pt = hex(v.pt);
      const expected = v.aad + v.ct + v.tag;
      assert.equal(seal(name, hex(v.key), hex(v.iv), hex(v.aad), [pt]).toString('hex'), expected);
      assert.equal(seal(name, hex(v.key), hex(v.iv), hex(v.aad), [pt.subarray(0, 7), pt.subarray(7)]).toString('hex'), expected);
      assert.equal(open(name, hex(v.key), hex(v.iv), hex(expected), v.aad.length / 2)?.toString('hex'), v.pt);
    });
  }

  test(`${name}: flipping any single bit of the frame (aad, ciphertext or tag) makes it fail to open`, { skip }, () => {
    const v = VECTORS[1];
    const frame = hex(v.aad + v.ct + v.tag);
    const aadLength = v.aad.length / 2;
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const flipped = Buffer.from(frame);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(open(name, hex(v.key), hex(v.iv), flipped, aadLength), null, `bit ${bit} flipped still opened`);
    }
  });

  test(`${name}: a sealer keeps its key schedule across packets: each nonce still gives the one right answer`, { skip }, () => {
    const key = Buffer.alloc(32, 7);
    const sealer = createSealer(key, name);
    const payload = Buffer.alloc(1200, 0xab);
    for (let counter = 0; counter < 50; counter++) {
      const nonce = Buffer.alloc(12);
      nonce.writeUInt32BE(counter, 8);
      const frame = Buffer.alloc(13 + payload.length + TAG);
      frame[0] = counter;
      sealer.sealInto(frame, 13, nonce, [payload]);
      assert.deepEqual(frame.subarray(13), Buffer.from(nobleGcm(key, nonce, frame.subarray(0, 13)).encrypt(payload)));
    }
  });
}

test('native and node:crypto agree byte for byte with each other and with @noble on random packets', { skip: nativeSkip }, () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 12, maxLength: 12 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.array(fc.uint8Array({ maxLength: 1500 }), { minLength: 1, maxLength: 4 }),
      (key, nonce, aad, pieces) => {
        const native = seal('openssl-native', key, nonce, aad, pieces);
        const fallback = seal('node-crypto', key, nonce, aad, pieces);
        assert.deepEqual(native, fallback);
        const joined = Buffer.concat(pieces);
        assert.deepEqual(native.subarray(aad.length), Buffer.from(nobleGcm(key, nonce, aad).encrypt(joined)));
        assert.deepEqual(open('openssl-native', key, nonce, fallback, aad.length), joined);
        assert.deepEqual(open('node-crypto', key, nonce, native, aad.length), joined);
      },
    ),
    { numRuns: 300 },
  );
});

test('native open zeroes its output when the tag does not verify (no unauthenticated plaintext leaks)', { skip: nativeSkip }, () => {
  const key = Buffer.alloc(32, 1);
  const nonce = Buffer.alloc(12, 2);
  const frame = seal('openssl-native', key, nonce, Buffer.alloc(13), [Buffer.alloc(64, 0x77)]);
  frame[20]! ^= 0x80;
  const out = Buffer.alloc(64, 0x55);
  assert.equal(createOpener(key, 'openssl-native').openInto(frame, 13, nonce, out), false);
  assert.deepEqual(out, Buffer.alloc(64));
});

test('native seal refuses a frame whose length does not fit aad + pieces + tag, and wrong-sized keys and nonces', { skip: nativeSkip }, () => {
  const sealer = createSealer(Buffer.alloc(32), 'openssl-native');
  assert.throws(() => sealer.sealInto(Buffer.alloc(13 + 10 + TAG - 1), 13, Buffer.alloc(12), [Buffer.alloc(10)]), /frame length/);
  assert.throws(() => sealer.sealInto(Buffer.alloc(13 + 10 + TAG), 13, Buffer.alloc(8), [Buffer.alloc(10)]), /nonce/);
  assert.throws(() => createSealer(Buffer.alloc(16), 'openssl-native'), /32 bytes/);
});

test('SWARM_NATIVE_AEAD=0 makes a process use node:crypto and say why', () => {
  const script = "import('./core/overlay/aes-gcm.ts').then((m) => console.log(JSON.stringify(m.aesGcmBackend())))";
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url),
    env: { ...process.env, SWARM_NATIVE_AEAD: '0' },
    encoding: 'utf8',
  });
  assert.deepEqual(JSON.parse(output), { backend: 'node-crypto', reason: 'disabled by SWARM_NATIVE_AEAD=0' });
});
