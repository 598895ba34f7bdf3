/**
 * A daemon for the NAT lab that can also move bulk data: the real Daemon (registry, trust,
 * control socket, NAT traversal) in this process, plus a stream sink and source on port 1001 so a
 * test can send megabytes across NATs and compare checksums. Run inside a lab namespace:
 *
 *   node test/helpers/lab-peer.ts STATE_DIR HOSTNAME REGISTRY [LIMITS_JSON]
 *
 * Prints one JSON object per line on stdout: {"event":"up",...} once registered and classified,
 * then {"event":"received",...} for each stream that ends, and the answers to commands. Takes one
 * JSON command per line on stdin:
 *
 *   {"op":"send","id":"x","target":"HOSTNAME","bytes":N}   a stream of N bytes of marker text
 *
 * The data is lines of `SWARM-LAB-PLAINTEXT <n>`, so a capture of the relay can be searched for
 * the marker: it must never be there.
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Daemon } from '../../core/overlay/daemon.ts';
import type { OverlayStream } from '../../core/overlay/stream.ts';

export const LAB_PLAINTEXT_MARKER = 'SWARM-LAB-PLAINTEXT';
const PORT = 1001;

const [stateDir, hostname, registry, limitsJson] = process.argv.slice(2);

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

const daemon = await Daemon.start({
  stateDir: stateDir!,
  hostname: hostname!,
  registry: registry!,
  listen: '0.0.0.0:0',
  keepaliveMs: 1000,
  ...(limitsJson ? { limits: JSON.parse(limitsJson) } : {}),
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
emit({ event: 'up', hostname, nat: daemon.natStatus().type, address: daemon.info().address });

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
  } else {
    emit({ event: 'error', message: `unknown command: ${line}` });
  }
});
lines.on('close', () => void daemon.stop().then(() => process.exit(0)));
process.on('SIGTERM', () => void daemon.stop().then(() => process.exit(0)));
