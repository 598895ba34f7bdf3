/**
 * Telling whether a file is the one a checkpoint was taken on. Device + inode say which file a
 * path points to now, but inodes are reused after a delete, and copytruncate copies content to a
 * new inode; so a checkpoint also keeps a hash of the file's first bytes (log lines start with a
 * timestamp, so two different logs virtually never share them).
 */
import { createHash } from 'node:crypto';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FileCheckpoint } from './log-source.ts';

/** Enough to cover a syslog line's timestamp, host and program, which make a log unique. */
export const FINGERPRINT_BYTES = 256;

/** Rotated logs compressed by logrotate have new content (compressed) and cannot be resumed. */
const COMPRESSED_SUFFIX = /\.(gz|bz2|xz|zst|lz4|z|zip)$/i;

export interface Fingerprint {
  readonly hash: string;
  readonly bytes: number;
}

export interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
}

export function identityOf(st: BigIntStats): FileIdentity {
  return { dev: st.dev.toString(), ino: st.ino.toString() };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Hash of the first `bytes` bytes; null if the file has fewer. */
export async function fingerprintOf(handle: FileHandle, bytes: number): Promise<Fingerprint | null> {
  const buf = Buffer.alloc(bytes);
  let got = 0;
  while (got < bytes) {
    const { bytesRead } = await handle.read(buf, got, bytes - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  if (got < bytes) return null;
  return { hash: hashBytes(buf), bytes };
}

export async function statOrNull(path: string): Promise<BigIntStats | null> {
  try {
    return await stat(path, { bigint: true });
  } catch {
    return null;
  }
}

/** The open file holds the checkpoint's content up to its offset: same first bytes, not shorter. */
export async function holdsCheckpoint(handle: FileHandle, checkpoint: FileCheckpoint): Promise<boolean> {
  const st = await handle.stat({ bigint: true });
  if (st.size < BigInt(checkpoint.offset)) return false;
  const fp = await fingerprintOf(handle, checkpoint.fingerprintBytes);
  return fp !== null && fp.hash === checkpoint.fingerprint;
}

export interface RotatedFile {
  readonly path: string;
  readonly handle: FileHandle;
  readonly identity: FileIdentity;
}

/**
 * Looks beside `followedPath` for the file a checkpoint was taken on, under its rotated name
 * (`auth.log.1`, `auth.log-20240102`): first the same device + inode with the same first bytes
 * (rename rotation), then a copy with the same first bytes at least as long as the offset
 * (copytruncate). Compressed rotations are not candidates. null when there is none.
 */
export async function findRotatedFile(followedPath: string, checkpoint: FileCheckpoint): Promise<RotatedFile | null> {
  const dir = dirname(followedPath);
  const base = basename(followedPath);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  const candidates: Array<{ path: string; st: BigIntStats }> = [];
  for (const name of names) {
    if (name === base || !name.startsWith(base) || COMPRESSED_SUFFIX.test(name)) continue;
    const path = join(dir, name);
    const st = await statOrNull(path);
    if (st === null || !st.isFile() || st.size < BigInt(checkpoint.offset)) continue;
    candidates.push({ path, st });
  }
  const wanted: FileIdentity = { dev: checkpoint.dev, ino: checkpoint.ino };
  // Same inode first; then copies, most recently modified first (the newest rotation is the one
  // that held the lines written last).
  candidates.sort((a, b) => {
    const sa = sameIdentity(identityOf(a.st), wanted) ? 1 : 0;
    const sb = sameIdentity(identityOf(b.st), wanted) ? 1 : 0;
    if (sa !== sb) return sb - sa;
    return Number(b.st.mtimeNs - a.st.mtimeNs);
  });
  for (const c of candidates) {
    let handle: FileHandle;
    try {
      handle = await open(c.path, 'r');
    } catch {
      continue;
    }
    if (await holdsCheckpoint(handle, checkpoint)) return { path: c.path, handle, identity: identityOf(await handle.stat({ bigint: true })) };
    await handle.close();
  }
  return null;
}
