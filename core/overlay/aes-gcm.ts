/**
 * AES-256-GCM contexts for the transport's packet path, per tunnel key and direction.
 *
 * Two backends, byte-identical (proven by aes-gcm.test.ts):
 *   openssl-native  native/aes_gcm.c: the key schedule is kept per key and a packet is sealed in
 *                   one call into a frame the caller allocated; the fast path.
 *   node-crypto     createCipheriv per packet; always available (Electron, no compiler, Windows).
 *
 * The native module is used only if it was built (`npm run build`), loads, and passes a
 * known-answer test against node:crypto at first use; anything else falls back, silently for the
 * packet path and visibly in `aesGcmBackend()` (shown by `swarmctl info`). SWARM_NATIVE_AEAD=0
 * forces the fallback.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const AES_GCM_KEY_SIZE = 32;
export const AES_GCM_NONCE_SIZE = 12;
export const AES_GCM_TAG_SIZE = 16;

export type AesGcmBackend = 'openssl-native' | 'node-crypto';

/** Seals into `frame`: frame = aad (first aadLength bytes, already written) || ciphertext of the pieces || tag. */
export interface AesGcmSealer {
  sealInto(frame: Uint8Array, aadLength: number, nonce: Uint8Array, pieces: readonly Uint8Array[]): void;
}

/** Opens frame = aad || ciphertext || tag into `out` (ciphertext length); false if it does not authenticate. */
export interface AesGcmOpener {
  openInto(frame: Uint8Array, aadLength: number, nonce: Uint8Array, out: Uint8Array): boolean;
}

interface NativeAesGcm {
  create(key: Uint8Array, encrypt: boolean): object;
  seal(context: object, frame: Uint8Array, aadLength: number, nonce: Uint8Array, ...pieces: Uint8Array[]): void;
  open(context: object, frame: Uint8Array, aadLength: number, nonce: Uint8Array, out: Uint8Array): boolean;
}

/** At most this many pieces per seal (the native side's limit; the overlay uses two). */
export const MAX_SEAL_PIECES = 4;

const NATIVE_MODULE_URL = new URL('../../dist/native/aes_gcm.node', import.meta.url);

let native: NativeAesGcm | null | undefined;
let nativeProblem: string | null = null;

function loadNative(): NativeAesGcm | null {
  if (native !== undefined) return native;
  native = null;
  if (process.env.SWARM_NATIVE_AEAD === '0') {
    nativeProblem = 'disabled by SWARM_NATIVE_AEAD=0';
    return null;
  }
  try {
    const path = fileURLToPath(NATIVE_MODULE_URL);
    if (!existsSync(path)) {
      nativeProblem = 'not built (npm run build)';
      return null;
    }
    const candidate = createRequire(import.meta.url)(path) as NativeAesGcm;
    const problem = selfTest(candidate);
    if (problem) {
      nativeProblem = problem;
      return null;
    }
    native = candidate;
  } catch (err) {
    // Electron (BoringSSL, no exported OpenSSL symbols) lands here: the fallback is correct.
    nativeProblem = `could not load: ${(err as Error).message.split('\n')[0]}`;
  }
  return native;
}

/**
 * Known answer against node:crypto before the native module may carry a single packet: an
 * incompatible OpenSSL or a broken build must degrade to the slow path, never to wrong bytes.
 */
function selfTest(candidate: NativeAesGcm): string | null {
  const key = Buffer.alloc(AES_GCM_KEY_SIZE, 0x42);
  const nonce = Buffer.from('000000000102030405060708', 'hex');
  const aad = Buffer.from('0300000001000000000000002a', 'hex');
  const pieces = [Buffer.alloc(34, 0x11), Buffer.alloc(1200, 0x5a)];
  const expected = nodeCryptoSeal(key, nonce, aad, pieces);
  const frame = Buffer.alloc(expected.length);
  aad.copy(frame);
  candidate.seal(candidate.create(key, true), frame, aad.length, nonce, ...pieces);
  if (!frame.equals(expected)) return 'failed its known-answer test against node:crypto';
  const out = Buffer.alloc(frame.length - aad.length - AES_GCM_TAG_SIZE);
  const opener = candidate.create(key, false);
  if (!candidate.open(opener, frame, aad.length, nonce, out) || !out.equals(Buffer.concat(pieces))) return 'could not open its own frame';
  frame[frame.length - 1]! ^= 1;
  if (candidate.open(opener, frame, aad.length, nonce, out)) return 'accepted a forged tag';
  return null;
}

function nodeCryptoSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pieces: readonly Uint8Array[]): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: AES_GCM_TAG_SIZE });
  cipher.setAAD(aad);
  const parts = [Buffer.from(aad.buffer, aad.byteOffset, aad.byteLength)];
  for (const piece of pieces) parts.push(cipher.update(piece));
  parts.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(parts);
}

/** Which backend the packet path uses in this process, and why not the native one if not. */
export function aesGcmBackend(): { backend: AesGcmBackend; reason: string | null } {
  return loadNative() ? { backend: 'openssl-native', reason: null } : { backend: 'node-crypto', reason: nativeProblem };
}

function checkKey(key: Uint8Array): void {
  if (key.length !== AES_GCM_KEY_SIZE) throw new RangeError(`AES-256-GCM key must be ${AES_GCM_KEY_SIZE} bytes`);
}

export function createSealer(key: Uint8Array, backend: AesGcmBackend = aesGcmBackend().backend): AesGcmSealer {
  checkKey(key);
  const lib = backend === 'openssl-native' ? loadNative() : null;
  if (backend === 'openssl-native' && !lib) throw new Error(`native AES-GCM unavailable: ${nativeProblem}`);
  if (lib) {
    const context = lib.create(key, true);
    return {
      sealInto(frame, aadLength, nonce, pieces) {
        // Spelled out per count: a spread call would allocate an array per packet.
        switch (pieces.length) {
          case 1:
            return lib.seal(context, frame, aadLength, nonce, pieces[0]!);
          case 2:
            return lib.seal(context, frame, aadLength, nonce, pieces[0]!, pieces[1]!);
          default:
            return lib.seal(context, frame, aadLength, nonce, ...pieces);
        }
      },
    };
  }
  const ownKey = Buffer.from(key);
  return {
    sealInto(frame, aadLength, nonce, pieces) {
      const cipher = createCipheriv('aes-256-gcm', ownKey, nonce, { authTagLength: AES_GCM_TAG_SIZE });
      cipher.setAAD(frame.subarray(0, aadLength));
      let at = aadLength;
      for (const piece of pieces) {
        const out = cipher.update(piece);
        frame.set(out, at);
        at += out.length;
      }
      const tail = cipher.final();
      frame.set(tail, at);
      at += tail.length;
      const tag = cipher.getAuthTag();
      if (at + tag.length !== frame.length) throw new RangeError('frame length must be aadLength + the pieces + 16');
      frame.set(tag, at);
    },
  };
}

export function createOpener(key: Uint8Array, backend: AesGcmBackend = aesGcmBackend().backend): AesGcmOpener {
  checkKey(key);
  const lib = backend === 'openssl-native' ? loadNative() : null;
  if (backend === 'openssl-native' && !lib) throw new Error(`native AES-GCM unavailable: ${nativeProblem}`);
  if (lib) {
    const context = lib.create(key, false);
    return { openInto: (frame, aadLength, nonce, out) => lib.open(context, frame, aadLength, nonce, out) };
  }
  const ownKey = Buffer.from(key);
  return {
    openInto(frame, aadLength, nonce, out) {
      if (frame.length < aadLength + AES_GCM_TAG_SIZE || out.length !== frame.length - aadLength - AES_GCM_TAG_SIZE) return false;
      try {
        const decipher = createDecipheriv('aes-256-gcm', ownKey, nonce, { authTagLength: AES_GCM_TAG_SIZE });
        decipher.setAAD(frame.subarray(0, aadLength));
        decipher.setAuthTag(frame.subarray(frame.length - AES_GCM_TAG_SIZE));
        const head = decipher.update(frame.subarray(aadLength, frame.length - AES_GCM_TAG_SIZE));
        decipher.final();
        out.set(head);
        return true;
      } catch {
        return false;
      }
    },
  };
}
