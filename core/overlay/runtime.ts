/**
 * Process-wide tuning for a process that carries overlay traffic.
 *
 * Every packet allocates a few small native buffers (cipher output, frame). V8 frees those on a
 * background thread ("concurrent ArrayBuffer sweeping") that takes the same allocator lock as
 * the main thread; at 100k packets/s the two fight over it and AES-GCM via node:crypto drops from
 * ~3 µs to ~9 µs per 1,200-byte packet (measured on a 2-vCPU VM, see bench/README.md). Sweeping
 * on the main thread costs far less than the contention.
 */
import { setFlagsFromString } from 'node:v8';

let tuned = false;

export function tunePacketRuntime(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
}
