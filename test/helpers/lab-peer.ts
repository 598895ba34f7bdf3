/**
 * A daemon for the NAT lab that can also move bulk data: the real Daemon (registry, trust,
 * control socket, NAT traversal) in this process, plus a stream sink and source on port 1001 so a
 * test can send megabytes across NATs and compare checksums. Run inside a lab namespace:
 *
 *   node test/helpers/lab-peer.ts STATE_DIR HOSTNAME REGISTRY [LIMITS_JSON [BEACON]]
 *
 * Prints one JSON object per line on stdout: {"event":"up",...} once registered and classified,
 * then {"event":"received",...} for each stream that ends, and the answers to commands. Takes one
 * JSON command per line on stdin:
 *
 *   {"op":"send","id":"x","target":"HOSTNAME","bytes":N}   a stream of N bytes of marker text
 *   {"op":"reset","id":"x","target":"HOSTNAME"}            forget the tunnel session to HOSTNAME
 *                                                          (answers {"event":"reset",...})
 *   {"op":"ttfb","id":"x","target":"HOSTNAME"}             time to first byte from nothing: forget
 *                                                          the session, ping once (handshake, punch
 *                                                          or relay fallback, one round trip) and
 *                                                          answer {"event":"ttfb","id","ms","ok","path",
 *                                                          "punch_requests"}
 *
 * The data is lines of `SWARM-LAB-PLAINTEXT <n>`, so a capture of the relay can be searched for
 * the marker: it must never be there.
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Daemon } from '../../core/overlay/daemon.ts';
import { pingPeer } from '../../core/overlay/ping.ts';
import type { OverlayStream } from '../../core/overlay/stream.ts';

export const LAB_PLAINTEXT_MARKER = 'SWARM-LAB-PLAINTEXT';
const PORT = 1001;

const [stateDir, hostname, registry, limitsJson, beacon] = process.argv.slice(2);

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** `bytes` of marker lines, in chunks of about 64 KiB. */
function* payload(bytes: number): Generator<Buffer> {
  let n = 0;
  let left = bytes;
  while (left > 0) {
    const lines: string[] = [];
    let size = 0;
    while (size < 64 * 1024) {
      const line = `${LAB_PLAINTEXT_MARKER} ${n++}\n`;
      lines.push(line);
      size += line.length;
    }
    const chunk = Buffer.from(lines.join('')).subarray(0, Math.min(left, size));
    left -= chunk.length;
    yield chunk;
  }
}

async function send(daemon: Daemon, id: string, target: string, bytes: number): Promise<void> {
  const peer = daemon.trust.trusted().find((p) => p.hostname === target);
  if (!peer) throw new Error(`${target} is not a trusted peer`);
  const started = performance.now();
  const stream: OverlayStream = await daemon.node.connectStream(peer.peerKey, PORT);
  const connectedMs = performance.now() - started;
  const hash = createHash('sha256');
  for (const chunk of payload(bytes)) {
    hash.update(chunk);
    if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
  }
  stream.end();
  await new Promise<void>((resolve, reject) => {
    stream.once('close', (err: Error | null) => (err ? reject(err) : resolve()));
  });
  emit({ event: 'sent', id, bytes, sha256: hash.digest('hex'), connect_ms: connectedMs, ms: performance.now() - started, path: daemon.node.peer(peer.peerKey)?.path ?? null });
}

function trustedKey(daemon: Daemon, target: string): string {
  const peer = daemon.trust.trusted().find((p) => p.hostname === target);
  if (!peer) throw new Error(`${target} is not a trusted peer`);
  return peer.peerKey;
}

/** A reply to one ping later than this counts as a failure (the ping gives up then). */
const TTFB_TIMEOUT_MS = 5000;

/**
 * From no session at all to the first byte of a reply: the session is forgotten on this side (the
 * caller resets the other side and the NAT state first), then one ping brings the tunnel up on
 * whatever path works and makes one round trip on it.
 */
async function ttfb(daemon: Daemon, id: string, target: string): Promise<void> {
  const peerKey = trustedKey(daemon, target);
  daemon.node.closeSession(peerKey);
  const punchRequests = daemon.node.stats.punchRequests;
  const started = performance.now();
  const [reply] = await pingPeer(daemon.node, peerKey, { count: 1, intervalMs: 0, timeoutMs: TTFB_TIMEOUT_MS });
  const ms = performance.now() - started;
  const ok = reply !== undefined && reply.rttMs !== null;
  // Punches asked for meanwhile: the peer keeps punching for a while after, which the caller may
  // have to wait out before the next measurement starts from nothing.
  const punched = daemon.node.stats.punchRequests - punchRequests;
  emit({ event: 'ttfb', id, ms, ok, path: daemon.node.peer(peerKey)?.path ?? null, punch_requests: punched, ...(reply?.error ? { error: reply.error } : {}) });
}

const daemon = await Daemon.start({
  stateDir: stateDir!,
  hostname: hostname!,
  registry: registry!,
  listen: '0.0.0.0:0',
  keepaliveMs: 1000,
  ...(limitsJson ? { limits: JSON.parse(limitsJson) } : {}),
  ...(beacon ? { beacon } : {}),
  log: (line) => process.stderr.write(`${line}\n`),
});
daemon.node.listenStream(PORT, (stream) => {
  const hash = createHash('sha256');
  let bytes = 0;
  let reported = 0;
  const started = performance.now();
  stream.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
    // Progress every MiB, so a test can inject a fault mid-stream.
    if (bytes - reported >= 1024 * 1024) {
      reported = bytes;
      emit({ event: 'progress', from: stream.peer.hostname, bytes });
    }
  });
  stream.once('end', () => {
    stream.end();
    emit({ event: 'received', from: stream.peer.hostname, bytes, sha256: hash.digest('hex'), ms: performance.now() - started });
  });
});
// Up once the NAT is classified (the test wants to know what it is behind).
for (;;) {
  if (daemon.natStatus().checkedAt !== null) break;
  await new Promise((r) => setTimeout(r, 20));
}
const info = daemon.info();
emit({ event: 'up', hostname, nat: daemon.natStatus().type, address: info.address, listen: info.listen });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let cmd: { op?: string; id?: string; target?: string; bytes?: number };
  try {
    cmd = JSON.parse(line);
  } catch {
    emit({ event: 'error', message: `not JSON: ${line}` });
    return;
  }
  if (cmd.op === 'send' && typeof cmd.target === 'string' && typeof cmd.bytes === 'number') {
    send(daemon, cmd.id ?? '', cmd.target, cmd.bytes).catch((err: Error) => emit({ event: 'error', id: cmd.id, message: err.message }));
  } else if (cmd.op === 'ttfb' && typeof cmd.target === 'string') {
    ttfb(daemon, cmd.id ?? '', cmd.target).catch((err: Error) => emit({ event: 'error', id: cmd.id, message: err.message }));
  } else if (cmd.op === 'reset' && typeof cmd.target === 'string') {
    try {
      daemon.node.closeSession(trustedKey(daemon, cmd.target));
      emit({ event: 'reset', id: cmd.id, target: cmd.target });
    } catch (err) {
      emit({ event: 'error', id: cmd.id, message: (err as Error).message });
    }
  } else {
    emit({ event: 'error', message: `unknown command: ${line}` });
  }
});
lines.on('close', () => void daemon.stop().then(() => process.exit(0)));
process.on('SIGTERM', () => void daemon.stop().then(() => process.exit(0)));
