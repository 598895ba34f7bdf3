/**
 * A node's permanent identity: an Ed25519 key pair created on first start and kept in the state
 * directory (mode 0600). The tunnel's static X25519 key is derived from the same seed, and bound
 * to the identity by a signature (see noise.ts), so there is exactly one secret to protect.
 *
 * An identity is never overwritten: creating one uses an exclusive link, and a file that is
 * corrupt or readable by others stops the node with a message saying what to do, because
 * silently minting a new key would break every trust relationship the node has.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import {
  ed25519FromSeed,
  ed25519Sign,
  hkdfSha256,
  KEY_SIZE,
  randomBytes,
  sha256,
  x25519FromSecret,
  type X25519KeyPair,
} from './crypto.ts';
import { staticCertificateMessage } from './noise.ts';
import { fail, ok, type DecodeError, type Result } from './result.ts';

export const IDENTITY_FILE = 'identity.json';
const FORMAT = 'swarm-soc-identity';
const STATIC_KEY_SALT = Buffer.from('swarm-soc static x25519 v1');

export interface NodeIdentity {
  readonly publicKey: Buffer;
  readonly signingKey: KeyObject;
  readonly staticKey: X25519KeyPair;
  readonly staticSignature: Buffer;
  readonly fingerprint: string;
  readonly createdAt: string;
  sign(message: Uint8Array): Buffer;
}

export type IdentityErrorCode = 'identity_corrupt' | 'identity_permissions' | 'identity_io';
export type IdentityError = DecodeError<IdentityErrorCode>;

/**
 * A fingerprint a person can read aloud and compare: the first 128 bits of SHA-256 of the
 * Ed25519 public key, as eight groups of four hex digits.
 */
export function fingerprintOf(publicKey: Uint8Array): string {
  const hex = sha256(publicKey).subarray(0, 16).toString('hex').toUpperCase();
  return (hex.match(/.{4}/g) as string[]).join('-');
}

/** A stable text form of an identity key, used as the primary key for peers everywhere. */
export function keyId(publicKey: Uint8Array): string {
  return Buffer.from(publicKey).toString('base64url');
}

export function identityFromSeed(seed: Uint8Array, createdAt = new Date().toISOString()): NodeIdentity {
  const { privateKey, publicKey } = ed25519FromSeed(seed);
  const staticKey = x25519FromSecret(hkdfSha256(seed, STATIC_KEY_SALT, 'x25519', KEY_SIZE));
  const staticSignature = ed25519Sign(privateKey, staticCertificateMessage(staticKey.publicKey));
  return {
    publicKey,
    signingKey: privateKey,
    staticKey,
    staticSignature,
    fingerprint: fingerprintOf(publicKey),
    createdAt,
    sign: (message) => ed25519Sign(privateKey, message),
  };
}

export function generateIdentity(): NodeIdentity {
  return identityFromSeed(randomBytes(KEY_SIZE));
}

interface IdentityFile {
  format: string;
  version: number;
  ed25519_seed: string;
  ed25519_public: string;
  created_at: string;
}

function parseIdentityFile(path: string, text: string): Result<NodeIdentity, IdentityError> {
  const corrupt = (why: string) =>
    fail(
      'identity_corrupt',
      `identity file ${path} is corrupt (${why}); restore it from a backup, or move it aside to create a new identity (peers will have to trust the new key)`,
    );
  let data: Partial<IdentityFile>;
  try {
    data = JSON.parse(text) as Partial<IdentityFile>;
  } catch {
    return corrupt('not valid JSON');
  }
  if (typeof data !== 'object' || data === null || data.format !== FORMAT) return corrupt('not a swarm identity');
  if (data.version !== 1) return corrupt(`unsupported version ${String(data.version)}`);
  if (typeof data.ed25519_seed !== 'string' || typeof data.ed25519_public !== 'string') return corrupt('missing keys');
  const seed = Buffer.from(data.ed25519_seed, 'base64');
  if (seed.length !== KEY_SIZE) return corrupt('the private key has the wrong length');
  const identity = identityFromSeed(seed, typeof data.created_at === 'string' ? data.created_at : '');
  if (identity.publicKey.toString('base64') !== data.ed25519_public) {
    return corrupt('the public key does not match the private key');
  }
  return ok(identity);
}

function ensureStateDir(stateDir: string): Result<void, IdentityError> {
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    return ok(undefined);
  } catch (err) {
    return fail('identity_io', `cannot create state directory ${stateDir}: ${(err as Error).message}`);
  }
}

/**
 * Loads the identity in `stateDir`, creating it if there is none. Never overwrites a file.
 */
export function loadOrCreateIdentity(
  stateDir: string,
  fileName = IDENTITY_FILE,
): Result<{ identity: NodeIdentity; created: boolean }, IdentityError> {
  const path = join(stateDir, fileName);
  let mode: number | null = null;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      return fail('identity_io', `cannot read identity file ${path}: ${(err as Error).message}`);
    }
  }
  if (mode !== null) {
    if ((mode & 0o077) !== 0) {
      const octal = (mode & 0o777).toString(8).padStart(4, '0');
      return fail(
        'identity_permissions',
        `identity file ${path} is readable by others (mode ${octal}); run: chmod 600 ${path}`,
      );
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      return fail('identity_io', `cannot read identity file ${path}: ${(err as Error).message}`);
    }
    const parsed = parseIdentityFile(path, text);
    return parsed.ok ? ok({ identity: parsed.value, created: false }) : parsed;
  }

  const dir = ensureStateDir(stateDir);
  if (!dir.ok) return dir;
  const identity = generateIdentity();
  const seed = exportSeed(identity);
  const body: IdentityFile = {
    format: FORMAT,
    version: 1,
    ed25519_seed: seed.toString('base64'),
    ed25519_public: identity.publicKey.toString('base64'),
    created_at: identity.createdAt,
  };
  // Write a private temporary file, then link it into place: link() fails if the identity
  // appeared meanwhile (another process won the race), and a crash never leaves a half file.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, JSON.stringify(body, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateIdentity(stateDir, fileName);
      throw err;
    }
  } catch (err) {
    return fail('identity_io', `cannot write identity file ${path}: ${(err as Error).message}`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
  return ok({ identity, created: true });
}

function exportSeed(identity: NodeIdentity): Buffer {
  // PKCS#8 DER for Ed25519 ends with the 32-byte seed.
  const der = identity.signingKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(der.subarray(der.length - KEY_SIZE));
}
