/**
 * The cryptographic primitives the overlay uses, each a thin wrapper over node:crypto (OpenSSL),
 * which is several times faster than pure-JS implementations on the packet path. Every wrapper is
 * pinned by known-answer tests (RFC 8032, RFC 7748, RFC 5869, NIST GCM) and cross-checked against
 * @noble in the test suite, so the two are interchangeable byte for byte.
 *
 * Functions that check something hostile (signatures, ciphertexts, peer keys) never throw: they
 * return false / null so that a forged packet is dropped and counted, not turned into a crash.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';

export const KEY_SIZE = 32;
export const SIGNATURE_SIZE = 64;
export const AEAD_TAG_SIZE = 16;
export const AEAD_NONCE_SIZE = 12;

// DER prefixes from RFC 8410: PKCS#8 private keys and SubjectPublicKeyInfo for the two curves.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function rawPublic(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - KEY_SIZE));
}

export interface Ed25519KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Buffer; // 32 raw bytes
}

export function ed25519FromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (seed.length !== KEY_SIZE) throw new RangeError('an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: rawPublic(createPublicKey(privateKey)) };
}

export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Buffer {
  return nodeSign(null, message, privateKey);
}

// Public keys are parsed once and reused: verification happens on every trust message.
const ed25519PublicCache = new Map<string, KeyObject | null>();
const PUBLIC_CACHE_LIMIT = 4096;

function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject | null {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_SIZE) return null;
  const id = Buffer.from(publicKey).toString('base64');
  const cached = ed25519PublicCache.get(id);
  if (cached !== undefined) return cached;
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  } catch {
    key = null;
  }
  if (ed25519PublicCache.size >= PUBLIC_CACHE_LIMIT) ed25519PublicCache.clear();
  ed25519PublicCache.set(id, key);
  return key;
}

/** Verifies an Ed25519 signature; false for any malformed key, signature or mismatch. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_SIZE) return false;
  const key = ed25519PublicKeyObject(publicKey);
  if (!key) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

export interface X25519KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Buffer;
}

export function x25519FromSecret(secret: Uint8Array): X25519KeyPair {
  if (secret.length !== KEY_SIZE) throw new RangeError('an X25519 secret is 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, secret]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: rawPublic(createPublicKey(privateKey)) };
}

export function x25519Generate(): X25519KeyPair {
  return x25519FromSecret(randomBytes(KEY_SIZE));
}

const ZERO_KEY = Buffer.alloc(KEY_SIZE);

/**
 * X25519 Diffie-Hellman. Returns null for a malformed peer key or a low-order point (an all-zero
 * shared secret, RFC 7748 section 6.1), which an attacker could use to force a known key.
 */
export function x25519(privateKey: KeyObject, peerPublic: Uint8Array): Buffer | null {
  if (!(peerPublic instanceof Uint8Array) || peerPublic.length !== KEY_SIZE) return null;
  let shared: Buffer;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peerPublic]), format: 'der', type: 'spki' });
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    return null;
  }
  return timingSafeEqual(shared, ZERO_KEY) ? null : shared;
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HKDF-SHA256 (RFC 5869). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, typeof info === 'string' ? Buffer.from(info) : info, length));
}

/** AES-256-GCM encryption: returns ciphertext || 16-byte tag. */
export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_SIZE });
  cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  return Buffer.concat([head, tail, cipher.getAuthTag()]);
}

/** AES-256-GCM decryption: null when the tag does not verify or the input is malformed. */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < AEAD_TAG_SIZE) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_SIZE });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - AEAD_TAG_SIZE));
    const head = decipher.update(sealed.subarray(0, sealed.length - AEAD_TAG_SIZE));
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return null;
  }
}

/** Compares two secrets in time independent of where they differ (lengths are hashed first). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export { randomBytes };
