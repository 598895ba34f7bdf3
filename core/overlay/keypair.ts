/**
 * One direction-pair of transport keys from a finished handshake, and the transport frame:
 *
 *   0      type (3)
 *   1-4    receiver index (the key pair's index at the receiver)
 *   5-12   counter (u64, big-endian; the AEAD nonce is 4 zero bytes || counter)
 *   13-    AES-256-GCM ciphertext of the overlay packet, then the 16-byte tag
 *
 * The 13-byte frame header is the AEAD's associated data, so flipping any bit anywhere in the
 * frame makes it fail authentication.
 */
import { createOpener, createSealer, type AesGcmOpener, type AesGcmSealer } from './aes-gcm.ts';
import { AEAD_TAG_SIZE } from './crypto.ts';
import { MSG_TRANSPORT, type TransportKeys } from './noise.ts';
import { ReplayWindow } from './replay.ts';
import type { TunnelLimits } from './timers.ts';

export const TRANSPORT_HEADER_SIZE = 13;
export const TRANSPORT_OVERHEAD = TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE;

export type OpenResult =
  | { ok: true; plaintext: Buffer; counter: number }
  | { ok: false; reason: 'short' | 'expired' | 'counter_limit' | 'replay' | 'auth' };

export class TransportKeypair {
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly isInitiator: boolean;
  readonly createdAt: number;
  readonly #sealer: AesGcmSealer;
  readonly #opener: AesGcmOpener;
  readonly #replay = new ReplayWindow();
  // Both AES-GCM backends copy the IV, so one scratch nonce per direction is enough.
  readonly #sendNonce = Buffer.alloc(12);
  readonly #receiveNonce = Buffer.alloc(12);
  #sendCounter = 0;
  #limits: TunnelLimits;

  constructor(keys: TransportKeys, localIndex: number, remoteIndex: number, isInitiator: boolean, limits: TunnelLimits, now: number) {
    this.#sealer = createSealer(keys.sendKey);
    this.#opener = createOpener(keys.receiveKey);
    this.localIndex = localIndex;
    this.remoteIndex = remoteIndex;
    this.isInitiator = isInitiator;
    this.#limits = limits;
    this.createdAt = now;
  }

  get sendCounter(): number {
    return this.#sendCounter;
  }

  /** Usable for sending and receiving at all (hard limits). */
  isUsable(now: number): boolean {
    return now - this.createdAt < this.#limits.rejectAfterMs && this.#sendCounter < this.#limits.rejectAfterMessages;
  }

  /** Old or busy enough that a fresh handshake should start (soft limits). */
  wantsRekey(now: number): boolean {
    return now - this.createdAt >= this.#limits.rekeyAfterMs || this.#sendCounter >= this.#limits.rekeyAfterMessages;
  }

  /** Encrypts an overlay packet into a transport frame, or null if the keys are spent. */
  seal(plaintext: Uint8Array, now: number): Buffer | null {
    return this.sealFrame([plaintext], now);
  }

  /**
   * Encrypts a packet given as consecutive pieces (header, payload) straight into one frame
   * buffer: on the packet path this saves joining the payload to its header first.
   */
  sealFrame(plaintext: readonly Uint8Array[], now: number): Buffer | null {
    if (!this.isUsable(now)) return null;
    let length = TRANSPORT_OVERHEAD;
    for (const piece of plaintext) length += piece.length;
    const counter = this.#sendCounter++;
    // Pooled allocation: every byte is written below (header, ciphertext, tag).
    const frame = Buffer.allocUnsafe(length);
    frame[0] = MSG_TRANSPORT;
    frame.writeUInt32BE(this.remoteIndex, 1);
    frame.writeUInt32BE(Math.floor(counter / 2 ** 32), 5);
    frame.writeUInt32BE(counter >>> 0, 9);
    const nonce = this.#sendNonce;
    frame.copy(nonce, 4, 5, 13);
    this.#sealer.sealInto(frame, TRANSPORT_HEADER_SIZE, nonce, plaintext);
    return frame;
  }

  /** Decrypts a transport frame addressed to this key pair. Never throws. */
  open(frame: Buffer, now: number): OpenResult {
    if (frame.length < TRANSPORT_OVERHEAD) return { ok: false, reason: 'short' };
    if (now - this.createdAt >= this.#limits.rejectAfterMs) return { ok: false, reason: 'expired' };
    const high = frame.readUInt32BE(5);
    const counter = high * 2 ** 32 + frame.readUInt32BE(9);
    if (counter >= this.#limits.rejectAfterMessages) return { ok: false, reason: 'counter_limit' };
    if (!this.#replay.check(counter)) return { ok: false, reason: 'replay' };
    const nonce = this.#receiveNonce;
    frame.copy(nonce, 4, 5, 13);
    const plaintext = Buffer.allocUnsafe(frame.length - TRANSPORT_OVERHEAD);
    if (!this.#opener.openInto(frame, TRANSPORT_HEADER_SIZE, nonce, plaintext)) return { ok: false, reason: 'auth' };
    // Record the counter only once the frame proved authentic, so forgeries cannot burn counters.
    if (!this.#replay.accept(counter)) return { ok: false, reason: 'replay' };
    return { ok: true, plaintext, counter };
  }
}

/** The receiver index of a transport frame, or -1 if the frame is too short to carry one. */
export function transportReceiverIndex(frame: Buffer): number {
  return frame.length >= TRANSPORT_OVERHEAD ? frame.readUInt32BE(1) : -1;
}
