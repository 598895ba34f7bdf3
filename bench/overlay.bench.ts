/**
 * Overlay benchmark: what the encrypted overlay costs compared with what the machine can do
 * without it, measured in one run on loopback.
 *
 *   1. raw UDP        node:dgram, 1,200-byte payloads, counted at the receiver (the peer)
 *   2. overlay        OverlayNode.sendDatagram of the same payloads to port 1001 over real UDP
 *   3. AEAD           seal/open operations per second on 1,200-byte packets, one core:
 *                     the native packet-path backend (native/aes_gcm.c, a key schedule kept per key) vs
 *                     node:crypto AES-256-GCM vs @noble/ciphers AES-256-GCM and ChaCha20-Poly1305
 *   4. handshake      fresh tunnel handshakes over loopback UDP, p50/p99, against a raw UDP
 *                     round trip of the same message sizes (the floor a handshake cannot beat)
 *
 * Throughput runs put the receiver in a child process and the sender in this one, for raw and
 * encrypted alike, so each side has its own core, as two hosts would, and the sender cannot
 * starve the receiver. The sender loop is shared: a batch of sends, then setImmediate so the
 * event loop keeps breathing (timers, IPC, the socket's own callbacks). Raw and overlay runs
 * alternate over several rounds and the median of each is reported.
 *
 * Usage: node bench/overlay.bench.ts [--json] [--check]
 *   --json   print the results as JSON on stdout instead of the table
 *   --check  exit 1 if a target is missed (a benchmark is never part of the timed test suite)
 * Results are always written to bench/results/overlay.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { PORT_DATA, type Address } from '../core/overlay/address.ts';
import { AES_GCM_TAG_SIZE, aesGcmBackend, createOpener, createSealer } from '../core/overlay/aes-gcm.ts';
import { aeadOpen, aeadSeal, randomBytes } from '../core/overlay/crypto.ts';
import { generateIdentity, keyId } from '../core/overlay/identity.ts';
import { OverlayNode } from '../core/overlay/node.ts';
import { INITIATION_SIZE, RESPONSE_SIZE } from '../core/overlay/noise.ts';
import { UdpPacketConn } from '../core/overlay/transport.ts';
import { bindUdp, fromWireContact, LOOPBACK, nextMessage, ratioOf, round, toWireContact, type WireContact } from './loopback-harness.ts';

/** Payload of every throughput packet and AEAD operation: a full datagram under a 1,280-byte IPv6 path MTU. */
const PAYLOAD_SIZE = 1200;
/** Lets the receiver's JIT, the socket buffers and the tunnel settle before anything is counted. */
const THROUGHPUT_WARMUP_MS = 500;
const THROUGHPUT_WINDOW_MS = 2000;
/**
 * Raw and overlay runs alternate (raw, overlay, overlay, raw, ...) and the median run of each is
 * reported: a shared or throttled machine drifts by tens of percent over a minute, and
 * interleaving makes the drift hit both sides of the ratio alike.
 */
const THROUGHPUT_ROUNDS = 3;
/** Sends per event-loop turn: big enough to amortise setImmediate, small enough that timers and IPC stay prompt. */
const SEND_BATCH = 64;
const AEAD_WARMUP_MS = 200;
const AEAD_WINDOW_MS = 800;
const HANDSHAKE_WARMUP = 20;
const HANDSHAKES = 300;
/** Frame header that keypair.ts uses as associated data (type, receiver index, counter). */
const TRANSPORT_AAD_SIZE = 13;

/** Targets from the overlay performance issue. */
const TARGET_OVERLAY_RATIO = 0.6;
const TARGET_HANDSHAKE_P50_MS = 5;

const SENDER_ADDRESS: Address = { network: 1, node: 0x10 };
const RECEIVER_ADDRESS: Address = { network: 1, node: 0x20 };

type Mode = 'raw' | 'overlay';

/** The next message of `type` from this benchmark's receiver. */
const receiverMessage = <T extends FromReceiver['type']>(child: ChildProcess, type: T) => nextMessage<FromReceiver, T>(child, type);

// ---- receiver (child process) ------------------------------------------------------------


type ToReceiver = { type: 'trust'; keyId: string } | { type: 'start' } | { type: 'stop' } | { type: 'exit' };
type FromReceiver =
  | { type: 'ready'; port: number; contact: WireContact | null }
  | { type: 'trusted' }
  | { type: 'started' }
  | { type: 'result'; packets: number; bytes: number; seconds: number };




async function runReceiver(mode: Mode): Promise<void> {
  const send = (msg: FromReceiver) => process.send?.(msg);
  let packets = 0;
  let bytes = 0;
  let closeSocket: () => Promise<void>;
  let trustedKeyId: string | null = null;

  if (mode === 'raw') {
    const socket = await bindUdp();
    socket.on('message', (msg) => {
      packets++;
      bytes += msg.length;
    });
    closeSocket = () => new Promise((resolve) => socket.close(() => resolve()));
    send({ type: 'ready', port: socket.address().port, contact: null });
  } else {
    const conn = await UdpPacketConn.bind(LOOPBACK, 0);
    const identity = generateIdentity();
    const node = new OverlayNode({
      identity,
      conn,
      trust: { isTrusted: (id) => id === trustedKeyId },
      address: RECEIVER_ADDRESS,
    });
    node.bindDatagram(PORT_DATA, (payload) => {
      packets++;
      bytes += payload.length;
    });
    closeSocket = () => node.close();
    send({ type: 'ready', port: conn.local.port, contact: toWireContact(identity, RECEIVER_ADDRESS, conn.local) });
  }

  let closing: Promise<void> | null = null;
  const close = () => (closing ??= closeSocket());
  let window = { packets: 0, bytes: 0, at: 0n };
  process.on('message', (msg: ToReceiver) => {
    switch (msg.type) {
      case 'trust':
        trustedKeyId = msg.keyId;
        send({ type: 'trusted' });
        break;
      case 'start':
        window = { packets, bytes, at: process.hrtime.bigint() };
        send({ type: 'started' });
        break;
      case 'stop': {
        const seconds = Number(process.hrtime.bigint() - window.at) / 1e9;
        send({ type: 'result', packets: packets - window.packets, bytes: bytes - window.bytes, seconds });
        break;
      }
      case 'exit':
        void close().then(() => process.disconnect());
        break;
    }
  });
  // If the parent dies, do not linger holding a socket.
  process.on('disconnect', () => void close().then(() => process.exit(0)));
}

// ---- throughput (parent) -----------------------------------------------------------------

interface ThroughputResult {
  mode: Mode;
  receivedPackets: number;
  receivedBytes: number;
  receivedSeconds: number;
  receivedPacketsPerSecond: number;
  receivedMBPerSecond: number;
  sentPacketsPerSecond: number;
  /** Share of the packets sent during the window that never reached the receiver's handler. */
  loss: number;
  sendErrors: number;
}


/** Calls `sendOne` in batches, yielding to the event loop between batches, until stopped. */
function startBlast(sendOne: () => void): { readonly sent: number; stop(): void } {
  const state = { sent: 0, running: true };
  const loop = () => {
    if (!state.running) return;
    for (let i = 0; i < SEND_BATCH; i++) sendOne();
    state.sent += SEND_BATCH;
    setImmediate(loop);
  };
  setImmediate(loop);
  return {
    get sent() {
      return state.sent;
    },
    stop() {
      state.running = false;
    },
  };
}

interface ThroughputSummary {
  /** The run with the median received packet rate: its numbers are the ones in the table. */
  median: ThroughputResult;
  runs: ThroughputResult[];
}

function summariseThroughput(runs: ThroughputResult[]): ThroughputSummary {
  const sorted = [...runs].sort((a, b) => a.receivedPacketsPerSecond - b.receivedPacketsPerSecond);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)]!, runs };
}

/** Alternates raw and overlay runs (ABBA order) so slow drift of the machine hits both alike. */
async function measureThroughputRounds(progress: (step: string) => void): Promise<{ raw: ThroughputSummary; overlay: ThroughputSummary; roundRatios: number[] }> {
  const raw: ThroughputResult[] = [];
  const overlay: ThroughputResult[] = [];
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    const order: Mode[] = round % 2 === 0 ? ['raw', 'overlay'] : ['overlay', 'raw'];
    for (const mode of order) {
      progress(`throughput round ${round + 1}/${THROUGHPUT_ROUNDS}: ${mode === 'raw' ? 'raw UDP' : 'encrypted overlay'}`);
      const result = await measureThroughput(mode);
      (mode === 'raw' ? raw : overlay).push(result);
    }
  }
  const roundRatios = raw.map((r, i) => ratioOf(overlay[i]!.receivedPacketsPerSecond, r.receivedPacketsPerSecond));
  return { raw: summariseThroughput(raw), overlay: summariseThroughput(overlay), roundRatios };
}

async function measureThroughput(mode: Mode): Promise<ThroughputResult> {
  const child = fork(fileURLToPath(import.meta.url), ['--receiver', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const ready = await receiverMessage(child, 'ready');
    const payload = randomBytes(PAYLOAD_SIZE);
    let sendErrors = 0;
    let sendOne: () => void;
    let closeSender: () => Promise<void>;

    if (mode === 'raw') {
      const socket = await bindUdp();
      // The same call UdpPacketConn.send makes: unconnected socket, port and host per send.
      sendOne = () => socket.send(payload, ready.port, LOOPBACK);
      closeSender = () => new Promise((resolve) => socket.close(() => resolve()));
    } else {
      if (!ready.contact) throw new Error('the overlay receiver did not send its contact');
      const receiverContact = fromWireContact(ready.contact);
      const receiverKeyId = keyId(receiverContact.identityKey);
      const identity = generateIdentity();
      const conn = await UdpPacketConn.bind(LOOPBACK, 0);
      const node = new OverlayNode({ identity, conn, trust: { isTrusted: (id) => id === receiverKeyId }, address: SENDER_ADDRESS });
      node.addContact(receiverContact);
      const trusted = receiverMessage(child, 'trusted');
      child.send({ type: 'trust', keyId: keyId(identity.publicKey) } satisfies ToReceiver);
      await trusted;
      await node.ensureSession(receiverKeyId);
      const onError = () => {
        sendErrors++;
      };
      // With the session up, sendDatagram encrypts and hands the frame to the socket before its
      // first await, so not awaiting each call still sends in order and at once.
      sendOne = () => void node.sendDatagram(receiverKeyId, PORT_DATA, payload).catch(onError);
      closeSender = () => node.close();
    }

    const blast = startBlast(sendOne);
    await sleep(THROUGHPUT_WARMUP_MS);
    const started = receiverMessage(child, 'started');
    child.send({ type: 'start' } satisfies ToReceiver);
    await started;
    const sentBefore = blast.sent;
    const t0 = performance.now();
    await sleep(THROUGHPUT_WINDOW_MS);
    const result = receiverMessage(child, 'result');
    child.send({ type: 'stop' } satisfies ToReceiver);
    const received = await result;
    const sentSeconds = (performance.now() - t0) / 1000;
    const sentInWindow = blast.sent - sentBefore;
    blast.stop();
    await closeSender();
    child.send({ type: 'exit' } satisfies ToReceiver);
    await exited;

    return {
      mode,
      receivedPackets: received.packets,
      receivedBytes: received.bytes,
      receivedSeconds: round(received.seconds, 3),
      receivedPacketsPerSecond: Math.round(received.packets / received.seconds),
      receivedMBPerSecond: round(received.bytes / received.seconds / 1e6, 1),
      sentPacketsPerSecond: Math.round(sentInWindow / sentSeconds),
      loss: round(Math.max(0, 1 - received.packets / sentInWindow), 3),
      sendErrors,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

// ---- AEAD --------------------------------------------------------------------------------

/** Operations per second of `op` on this thread, after a warm-up that lets the JIT settle. */
function opsPerSecond(op: (i: number) => void): number {
  const CHUNK = 256;
  let i = 0;
  const warmEnd = performance.now() + AEAD_WARMUP_MS;
  while (performance.now() < warmEnd) for (let k = 0; k < CHUNK; k++) op(i++);
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    for (let k = 0; k < CHUNK; k++) op(i++);
    ops += CHUNK;
    t = performance.now();
  } while (t - t0 < AEAD_WINDOW_MS);
  return Math.round(ops / ((t - t0) / 1000));
}

interface AeadResult {
  /** The packet path's native backend (native/aes_gcm.c), sealing into a preallocated frame; null if not built. */
  nativeAesGcmSeal: number | null;
  nativeAesGcmOpen: number | null;
  nodeAesGcmSeal: number;
  nodeAesGcmOpen: number;
  nobleAesGcmSeal: number;
  nobleAesGcmOpen: number;
  nobleChaCha20Poly1305Seal: number;
  nobleChaCha20Poly1305Open: number;
}

function measureAead(): AeadResult {
  const key = randomBytes(32);
  const aad = randomBytes(TRANSPORT_AAD_SIZE);
  const plaintext = randomBytes(PAYLOAD_SIZE);
  // Every seal uses a fresh counter nonce, as the transport does; opens reuse one sealed packet.
  const nonce = Buffer.alloc(12);
  const nextNonce = (i: number) => {
    nonce.writeUInt32BE(i >>> 0, 8);
    return nonce;
  };
  const fixedNonce = randomBytes(12);
  const nodeSealed = aeadSeal(key, fixedNonce, plaintext, aad);
  const nobleGcmSealed = gcm(key, fixedNonce, aad).encrypt(plaintext);
  const chachaSealed = chacha20poly1305(key, fixedNonce, aad).encrypt(plaintext);
  // Byte-identical or the comparison is meaningless (DESIGN.md).
  if (!nodeSealed.equals(Buffer.from(nobleGcmSealed))) throw new Error('node:crypto and @noble/ciphers AES-256-GCM disagree');

  let sink = 0;
  let nativeAesGcmSeal: number | null = null;
  let nativeAesGcmOpen: number | null = null;
  if (aesGcmBackend().backend === 'openssl-native') {
    const sealer = createSealer(key, 'openssl-native');
    const opener = createOpener(key, 'openssl-native');
    const frame = Buffer.alloc(aad.length + plaintext.length + AES_GCM_TAG_SIZE);
    aad.copy(frame);
    sealer.sealInto(frame, aad.length, fixedNonce, [plaintext]);
    if (!frame.subarray(aad.length).equals(nodeSealed)) throw new Error('native and node:crypto AES-256-GCM disagree');
    const sealedFrame = Buffer.from(frame);
    const out = Buffer.alloc(plaintext.length);
    // Same work per op as the transport: a fresh frame buffer per packet, then seal into it.
    nativeAesGcmSeal = opsPerSecond((i) => {
      const f = Buffer.allocUnsafe(frame.length);
      aad.copy(f);
      sealer.sealInto(f, aad.length, nextNonce(i), [plaintext]);
      sink ^= f[20]!;
    });
    nativeAesGcmOpen = opsPerSecond(() => {
      if (!opener.openInto(sealedFrame, aad.length, fixedNonce, out)) throw new Error('native open failed');
      sink ^= out[0]!;
    });
  }
  const result: AeadResult = {
    nativeAesGcmSeal,
    nativeAesGcmOpen,
    nodeAesGcmSeal: opsPerSecond((i) => (sink ^= aeadSeal(key, nextNonce(i), plaintext, aad)[0]!)),
    nodeAesGcmOpen: opsPerSecond(() => (sink ^= aeadOpen(key, fixedNonce, nodeSealed, aad)![0]!)),
    nobleAesGcmSeal: opsPerSecond((i) => (sink ^= gcm(key, nextNonce(i), aad).encrypt(plaintext)[0]!)),
    nobleAesGcmOpen: opsPerSecond(() => (sink ^= gcm(key, fixedNonce, aad).decrypt(nobleGcmSealed)[0]!)),
    nobleChaCha20Poly1305Seal: opsPerSecond((i) => (sink ^= chacha20poly1305(key, nextNonce(i), aad).encrypt(plaintext)[0]!)),
    nobleChaCha20Poly1305Open: opsPerSecond(() => (sink ^= chacha20poly1305(key, fixedNonce, aad).decrypt(chachaSealed)[0]!)),
  };
  if (sink === -1) console.error(sink); // keeps the results observable so no engine can drop the work
  return result;
}

// ---- handshake latency -------------------------------------------------------------------

interface LatencyResult {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

function summarise(samples: number[]): LatencyResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
  return {
    samples: sorted.length,
    p50Ms: round(rank(0.5), 3),
    p99Ms: round(rank(0.99), 3),
    meanMs: round(sorted.reduce((s, x) => s + x, 0) / sorted.length, 3),
    maxMs: round(sorted[sorted.length - 1]!, 3),
  };
}

/**
 * One fresh handshake: new identities, sockets and nodes (so neither the responder's per-source
 * handshake rate limit nor any cached key state carries over), timed from ensureSession to its
 * resolution, i.e. initiation built, sent, consumed, answered and the response consumed.
 */
async function timeOneHandshake(): Promise<number> {
  const idA = generateIdentity();
  const idB = generateIdentity();
  const [connA, connB] = await Promise.all([UdpPacketConn.bind(LOOPBACK, 0), UdpPacketConn.bind(LOOPBACK, 0)]);
  const keyA = keyId(idA.publicKey);
  const keyB = keyId(idB.publicKey);
  const a = new OverlayNode({ identity: idA, conn: connA, trust: { isTrusted: (id) => id === keyB }, address: SENDER_ADDRESS });
  const b = new OverlayNode({ identity: idB, conn: connB, trust: { isTrusted: (id) => id === keyA }, address: RECEIVER_ADDRESS });
  a.addContact({
    identityKey: idB.publicKey,
    staticPublic: idB.staticKey.publicKey,
    staticSignature: idB.staticSignature,
    address: RECEIVER_ADDRESS,
    endpoints: [connB.local],
  });
  try {
    const t0 = performance.now();
    await a.ensureSession(keyB);
    return performance.now() - t0;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** The floor: a raw UDP request/response round trip with the handshake's message sizes. */
async function measureUdpRoundTrip(): Promise<LatencyResult> {
  const [client, server] = await Promise.all([bindUdp(), bindUdp()]);
  const response = Buffer.alloc(RESPONSE_SIZE);
  server.on('message', (_msg, rinfo) => server.send(response, rinfo.port, rinfo.address));
  const request = Buffer.alloc(INITIATION_SIZE);
  const serverPort = server.address().port;
  const samples: number[] = [];
  try {
    for (let i = 0; i < HANDSHAKE_WARMUP + HANDSHAKES; i++) {
      const answered = new Promise<void>((resolve) => client.once('message', () => resolve()));
      const t0 = performance.now();
      client.send(request, serverPort, LOOPBACK);
      await answered;
      if (i >= HANDSHAKE_WARMUP) samples.push(performance.now() - t0);
    }
  } finally {
    await Promise.all([client, server].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
  return summarise(samples);
}

async function measureHandshakes(): Promise<LatencyResult> {
  const samples: number[] = [];
  for (let i = 0; i < HANDSHAKE_WARMUP + HANDSHAKES; i++) {
    const ms = await timeOneHandshake();
    if (i >= HANDSHAKE_WARMUP) samples.push(ms);
  }
  return summarise(samples);
}

// ---- report ------------------------------------------------------------------------------

interface Row {
  metric: string;
  value: number;
  peer: number | null;
  peerName: string | null;
  unit: string;
  /** value / peer; for latency rows too, so >1 means slower than the peer. */
  ratio: number | null;
  /** Lowest and highest ratio over the rounds, where the metric was measured in rounds. */
  ratioRange?: [number, number];
  target: string | null;
  pass: boolean | null;
}



function formatNumber(x: number, unit: string): string {
  const digits = unit === 'ms' ? 3 : unit === 'MB/s' ? 1 : 0;
  return `${x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
}

function markdownTable(rows: Row[]): string {
  const header = ['metric', 'value', 'peer value', 'ratio', 'target', 'pass/fail'];
  const lines = rows.map((r) => [
    r.metric,
    formatNumber(r.value, r.unit),
    r.peer === null ? '—' : `${formatNumber(r.peer, r.unit)} (${r.peerName})`,
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×${r.ratioRange ? ` (${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)})` : ''}`,
    r.target ?? '—',
    r.pass === null ? '—' : r.pass ? 'pass' : '**FAIL**',
  ]);
  const out = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const l of lines) out.push(`| ${l.join(' | ')} |`);
  return out.join('\n');
}

function buildRows(raw: ThroughputResult, overlay: ThroughputResult, roundRatios: number[], aead: AeadResult, handshake: LatencyResult, rtt: LatencyResult): Row[] {
  const pktRatio = ratioOf(overlay.receivedPacketsPerSecond, raw.receivedPacketsPerSecond);
  const mbRatio = ratioOf(overlay.receivedMBPerSecond, raw.receivedMBPerSecond);
  const ratioRange: [number, number] = [Math.min(...roundRatios), Math.max(...roundRatios)];
  return [
    { metric: 'raw UDP received, 1,200 B', value: raw.receivedPacketsPerSecond, peer: null, peerName: null, unit: 'pkt/s', ratio: null, target: null, pass: null },
    { metric: 'raw UDP received, 1,200 B', value: raw.receivedMBPerSecond, peer: null, peerName: null, unit: 'MB/s', ratio: null, target: null, pass: null },
    {
      metric: 'overlay datagrams received, 1,200 B',
      value: overlay.receivedPacketsPerSecond,
      peer: raw.receivedPacketsPerSecond,
      peerName: 'raw UDP',
      unit: 'pkt/s',
      ratio: pktRatio,
      ratioRange,
      target: `≥ ${TARGET_OVERLAY_RATIO.toFixed(2)}× raw`,
      pass: pktRatio >= TARGET_OVERLAY_RATIO,
    },
    {
      metric: 'overlay datagrams received, 1,200 B',
      value: overlay.receivedMBPerSecond,
      peer: raw.receivedMBPerSecond,
      peerName: 'raw UDP',
      unit: 'MB/s',
      ratio: mbRatio,
      ratioRange,
      target: `≥ ${TARGET_OVERLAY_RATIO.toFixed(2)}× raw`,
      pass: mbRatio >= TARGET_OVERLAY_RATIO,
    },
    ...nativeRows(aead),
    {
      metric: 'AES-256-GCM seal, node:crypto',
      value: aead.nodeAesGcmSeal,
      peer: aead.nobleAesGcmSeal,
      peerName: '@noble AES-GCM',
      unit: 'op/s',
      ratio: ratioOf(aead.nodeAesGcmSeal, aead.nobleAesGcmSeal),
      target: '> 1× (node:crypto only if faster)',
      pass: aead.nodeAesGcmSeal > aead.nobleAesGcmSeal,
    },
    {
      metric: 'AES-256-GCM open, node:crypto',
      value: aead.nodeAesGcmOpen,
      peer: aead.nobleAesGcmOpen,
      peerName: '@noble AES-GCM',
      unit: 'op/s',
      ratio: ratioOf(aead.nodeAesGcmOpen, aead.nobleAesGcmOpen),
      target: '> 1× (node:crypto only if faster)',
      pass: aead.nodeAesGcmOpen > aead.nobleAesGcmOpen,
    },
    {
      metric: 'ChaCha20-Poly1305 seal, @noble',
      value: aead.nobleChaCha20Poly1305Seal,
      peer: aead.nodeAesGcmSeal,
      peerName: 'node:crypto AES-GCM',
      unit: 'op/s',
      ratio: ratioOf(aead.nobleChaCha20Poly1305Seal, aead.nodeAesGcmSeal),
      target: null,
      pass: null,
    },
    {
      metric: 'ChaCha20-Poly1305 open, @noble',
      value: aead.nobleChaCha20Poly1305Open,
      peer: aead.nodeAesGcmOpen,
      peerName: 'node:crypto AES-GCM',
      unit: 'op/s',
      ratio: ratioOf(aead.nobleChaCha20Poly1305Open, aead.nodeAesGcmOpen),
      target: null,
      pass: null,
    },
    {
      metric: 'tunnel handshake p50',
      value: handshake.p50Ms,
      peer: rtt.p50Ms,
      peerName: 'UDP round trip',
      unit: 'ms',
      ratio: ratioOf(handshake.p50Ms, rtt.p50Ms),
      target: `< ${TARGET_HANDSHAKE_P50_MS} ms`,
      pass: handshake.p50Ms < TARGET_HANDSHAKE_P50_MS,
    },
    {
      metric: 'tunnel handshake p99',
      value: handshake.p99Ms,
      peer: rtt.p99Ms,
      peerName: 'UDP round trip',
      unit: 'ms',
      ratio: ratioOf(handshake.p99Ms, rtt.p99Ms),
      target: null,
      pass: null,
    },
  ];
}

/** The native backend's rows, against node:crypto measured in the same run (absent if not built). */
function nativeRows(aead: AeadResult): Row[] {
  const rows: Row[] = [];
  for (const [op, value, peer] of [
    ['seal', aead.nativeAesGcmSeal, aead.nodeAesGcmSeal],
    ['open', aead.nativeAesGcmOpen, aead.nodeAesGcmOpen],
  ] as const) {
    if (value === null) continue;
    rows.push({
      metric: `AES-256-GCM ${op}, native (packet path)`,
      value,
      peer,
      peerName: 'node:crypto AES-GCM',
      unit: 'op/s',
      ratio: ratioOf(value, peer),
      target: '> 1× (native only if faster)',
      pass: value > peer,
    });
  }
  return rows;
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const started = performance.now();
  const progress = (step: string) => console.error(`[overlay bench ${((performance.now() - started) / 1000).toFixed(1)} s] ${step}`);

  const throughput = await measureThroughputRounds(progress);
  const raw = throughput.raw.median;
  const overlay = throughput.overlay.median;
  progress('AEAD seal/open on one core');
  const aead = measureAead();
  progress(`raw UDP round trips (${HANDSHAKES})`);
  const rtt = await measureUdpRoundTrip();
  progress(`tunnel handshakes (${HANDSHAKES}, fresh nodes each)`);
  const handshake = await measureHandshakes();
  progress('done');

  const rows = buildRows(raw, overlay, throughput.roundRatios, aead, handshake, rtt);
  const pass = rows.every((r) => r.pass !== false);
  const results = {
    benchmark: 'overlay',
    measuredAt: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      packetPathAead: aesGcmBackend(),
    },
    parameters: {
      payloadBytes: PAYLOAD_SIZE,
      throughputWarmupMs: THROUGHPUT_WARMUP_MS,
      throughputWindowMs: THROUGHPUT_WINDOW_MS,
      throughputRounds: THROUGHPUT_ROUNDS,
      sendBatch: SEND_BATCH,
      arrangement: 'sender in the benchmark process, receiver in a child process, both on 127.0.0.1',
      aeadWindowMs: AEAD_WINDOW_MS,
      handshakes: HANDSHAKES,
    },
    pass,
    rows,
    throughput: {
      packetRatio: ratioOf(overlay.receivedPacketsPerSecond, raw.receivedPacketsPerSecond),
      roundRatios: throughput.roundRatios,
      raw: throughput.raw,
      overlay: throughput.overlay,
    },
    aead,
    handshake,
    udpRoundTrip: rtt,
  };
  const resultsDir = new URL('./results/', import.meta.url);
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = new URL('overlay.json', resultsDir);
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);

  if (args.has('--json')) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    console.log(`\n## Overlay benchmark (${results.environment.cpu}, ${results.environment.cores} cores, Node ${process.version})\n`);
    const backend = results.environment.packetPathAead;
    console.log(`Packet path AES-GCM: ${backend.backend}${backend.reason ? ` (${backend.reason})` : ''}\n`);
    console.log(markdownTable(rows));
    console.log(
      `\nMedian runs, sender side: raw ${raw.sentPacketsPerSecond.toLocaleString('en-US')} pkt/s (loss ${(raw.loss * 100).toFixed(1)} %), ` +
        `overlay ${overlay.sentPacketsPerSecond.toLocaleString('en-US')} pkt/s (loss ${(overlay.loss * 100).toFixed(1)} %, send errors ${overlay.sendErrors}).`,
    );
    console.log(`Results written to ${fileURLToPath(resultsFile)}`);
  }
  if (args.has('--check') && !pass) process.exitCode = 1;
}

if (process.argv[2] === '--receiver') {
  const mode = process.argv[3];
  if (mode !== 'raw' && mode !== 'overlay') throw new Error(`unknown receiver mode "${mode}" (expected raw or overlay)`);
  await runReceiver(mode);
} else {
  await main();
}
