import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { ed25519Verify, KEY_SIZE } from './crypto.ts';
import { verifyStaticCertificate } from './noise.ts';
import { fingerprintOf, generateIdentity, IDENTITY_FILE, identityFromSeed, keyId, loadOrCreateIdentity, type IdentityErrorCode } from './identity.ts';

let dir = '';
let path = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarm-identity-test-'));
  path = join(dir, IDENTITY_FILE);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function loadOk(stateDir = dir) {
  const r = loadOrCreateIdentity(stateDir);
  if (!r.ok) assert.fail(`expected an identity, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function loadError(): { code: IdentityErrorCode; message: string } {
  const r = loadOrCreateIdentity(dir);
  if (r.ok) assert.fail('expected the identity to be refused');
  return r.error;
}

/** Writes an identity file the way a person or another tool might have left it. */
function writeIdentityFile(body: string | object): Buffer {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body, null, 2));
  writeFileSync(path, bytes, { mode: 0o600 });
  chmodSync(path, 0o600);
  return bytes;
}

/** Asserts a refused file is byte-for-byte what it was, and nothing else appeared beside it. */
function assertUntouched(before: Buffer) {
  assert.deepEqual(readFileSync(path), before, 'the identity file was modified');
  assert.deepEqual(readdirSync(dir), [IDENTITY_FILE], 'no other file may appear in the state directory');
}

function validBody() {
  const first = loadOk();
  const body = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  return { first, body };
}

test('the first start creates identity.json with mode 0600 and reports created', () => {
  const { identity, created } = loadOk();
  assert.equal(created, true);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), [IDENTITY_FILE], 'no temporary file is left behind');
  const body = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  assert.equal(body.format, 'swarm-soc-identity');
  assert.equal(body.version, 1);
  assert.equal(body.ed25519_public, identity.publicKey.toString('base64'));
  assert.equal(Buffer.from(body.ed25519_seed as string, 'base64').length, KEY_SIZE);
  assert.equal(body.created_at, identity.createdAt);
});

test('the second start loads the same identity and reports not created', () => {
  const first = loadOk();
  const before = readFileSync(path);
  const second = loadOk();
  assert.equal(second.created, false);
  assert.deepEqual(second.identity.publicKey, first.identity.publicKey);
  assert.deepEqual(second.identity.staticKey.publicKey, first.identity.staticKey.publicKey);
  assert.equal(second.identity.fingerprint, first.identity.fingerprint);
  assert.equal(second.identity.createdAt, first.identity.createdAt);
  assert.deepEqual(readFileSync(path), before, 'loading does not rewrite the file');
});

test('a loaded identity signs: its signatures verify under its public key, and its static key is certified', () => {
  loadOk();
  const { identity } = loadOk();
  const message = Buffer.from('approve gcp-log-monitor');
  assert.equal(ed25519Verify(identity.publicKey, message, identity.sign(message)), true);
  assert.equal(verifyStaticCertificate(identity.publicKey, identity.staticKey.publicKey, identity.staticSignature), true);
});

test('a missing state directory is created (private to the owner)', () => {
  const nested = join(dir, 'state', 'node-a');
  const { created } = loadOk(nested);
  assert.equal(created, true);
  assert.equal(statSync(join(nested, IDENTITY_FILE)).mode & 0o777, 0o600);
  assert.equal(statSync(nested).mode & 0o077, 0, 'the new state directory is not open to others');
});

test('a file readable by others is refused with identity_permissions, and the message says to chmod 600', () => {
  loadOk();
  const before = readFileSync(path);
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    chmodSync(path, mode);
    const error = loadError();
    assert.equal(error.code, 'identity_permissions', `mode ${mode.toString(8)}`);
    assert.ok(error.message.includes(`chmod 600 ${path}`), error.message);
    assert.ok(error.message.includes(`0${mode.toString(8)}`), error.message);
    assertUntouched(before);
  }
  chmodSync(path, 0o600);
  assert.equal(loadOk().created, false);
  chmodSync(path, 0o400); // read-only to the owner is fine too
  assert.equal(loadOk().created, false);
});

test('a file that is not a JSON identity object is identity_corrupt and is never overwritten', () => {
  for (const text of ['{ not json', '', 'null', '[]', '"a string"', '42']) {
    const before = writeIdentityFile(text);
    const error = loadError();
    assert.equal(error.code, 'identity_corrupt', JSON.stringify(text));
    assert.ok(error.message.includes(path), error.message);
    assert.ok(error.message.includes('restore it from a backup'), error.message);
    assertUntouched(before);
    // Asking again changes nothing: the node never mints a replacement identity.
    assert.equal(loadError().code, 'identity_corrupt');
    assertUntouched(before);
  }
});

test('a private key of the wrong length is identity_corrupt and the file is left as it was', () => {
  const { body } = validBody();
  for (const length of [0, 16, 31, 33, 64]) {
    const before = writeIdentityFile({ ...body, ed25519_seed: Buffer.alloc(length, 7).toString('base64') });
    const error = loadError();
    assert.equal(error.code, 'identity_corrupt', `seed of ${length} bytes`);
    assert.ok(error.message.includes('wrong length'), error.message);
    assertUntouched(before);
  }
});

test('a public key that does not match the private key is identity_corrupt and the file is left as it was', () => {
  const { body } = validBody();
  const other = generateIdentity();
  const before = writeIdentityFile({ ...body, ed25519_public: other.publicKey.toString('base64') });
  const error = loadError();
  assert.equal(error.code, 'identity_corrupt');
  assert.ok(error.message.includes('does not match'), error.message);
  assertUntouched(before);
});

test('a wrong format, version or missing key is identity_corrupt and the file is left as it was', () => {
  const { body } = validBody();
  const broken: object[] = [
    { ...body, format: 'something-else' },
    { ...body, format: undefined },
    { ...body, version: 2 },
    { ...body, version: '1' },
    { ...body, ed25519_seed: undefined },
    { ...body, ed25519_public: undefined },
    { ...body, ed25519_seed: 12345 },
  ];
  for (const b of broken) {
    const before = writeIdentityFile(b);
    assert.equal(loadError().code, 'identity_corrupt', JSON.stringify(b));
    assertUntouched(before);
  }
});

test('an identity file restored from its own contents loads the same key (the seed is all there is)', () => {
  const { first, body } = validBody();
  rmSync(path);
  writeIdentityFile(body);
  const again = loadOk();
  assert.equal(again.created, false);
  assert.deepEqual(again.identity.publicKey, first.identity.publicKey);
});

test('identityFromSeed is deterministic: one seed, one identity, one static key', () => {
  const seed = Buffer.alloc(32, 0x42);
  const a = identityFromSeed(seed, '2026-01-01T00:00:00.000Z');
  const b = identityFromSeed(Buffer.from(seed), '2026-01-01T00:00:00.000Z');
  assert.deepEqual(a.publicKey, b.publicKey);
  assert.deepEqual(a.staticKey.publicKey, b.staticKey.publicKey);
  assert.deepEqual(a.staticSignature, b.staticSignature); // Ed25519 signatures are deterministic
  assert.equal(a.fingerprint, fingerprintOf(a.publicKey));
  const c = identityFromSeed(Buffer.alloc(32, 0x43));
  assert.notDeepEqual(c.publicKey, a.publicKey);
  assert.notDeepEqual(c.staticKey.publicKey, a.staticKey.publicKey);
  // The static X25519 key is derived from the seed, not equal to the identity key.
  assert.notDeepEqual(a.staticKey.publicKey, a.publicKey);
});

test('fingerprintOf: eight groups of four upper-case hex digits, the first 128 bits of SHA-256 of the key', () => {
  const pattern = /^[0-9A-F]{4}(-[0-9A-F]{4}){7}$/;
  // Known answer: SHA-256 of 32 zero bytes starts 66687aadf862bd776c8fc18b8e9f8e20.
  assert.equal(fingerprintOf(Buffer.alloc(32)), '6668-7AAD-F862-BD77-6C8F-C18B-8E9F-8E20');
  for (let i = 0; i < 20; i++) {
    const { publicKey, fingerprint } = generateIdentity();
    assert.match(fingerprint, pattern);
    assert.equal(fingerprint, fingerprintOf(publicKey));
    const expected = Buffer.from(nobleSha256(publicKey)).subarray(0, 16).toString('hex').toUpperCase();
    assert.equal(fingerprint.replaceAll('-', ''), expected);
  }
  assert.notEqual(fingerprintOf(generateIdentity().publicKey), fingerprintOf(generateIdentity().publicKey));
});

test('keyId is the base64url form of the public key', () => {
  const { publicKey } = generateIdentity();
  const id = keyId(publicKey);
  assert.match(id, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(Buffer.from(id, 'base64url'), publicKey);
});
