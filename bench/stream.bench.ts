/**
 * Stream benchmark: what a reliable, encrypted overlay stream (protocol 0x01) delivers compared
 * with what the machine can blast over plain UDP, measured in one run on loopback.
 *
 *   1. raw UDP        node:dgram datagrams carrying as much data as one stream segment
 *                     (1,379 B), sent as fast as possible, counted at the receiver: the peer.
 *                     Nothing is retransmitted, so what the kernel drops is simply lost.
 *   2. stream         OverlayNode.connectStream + write() of 64 KiB chunks with backpressure,
 *                     counted by the receiving stream's 'data' handler: every byte encrypted,
 *                     acknowledged, in order and complete.
 *   3. stream, 5 % loss  the same with 5 % of the sender's transport frames dropped by a small
 *                     PacketConn wrapper (fault injection), so SACK recovery and AIMD run.
 *
 * The receiver runs in a child process and the sender in this one, for all three, so each side
 * has its own core as two hosts would. Runs alternate over several rounds (raw, stream, lossy,
 * then reversed) and the median of each is reported.
 *
 * Usage: node bench/stream.bench.ts [--json] [--check]
 *   --json   print the results as JSON on stdout instead of the table
 *   --check  exit 1 if a target is missed
 * Results are always written to bench/results/stream.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PORT_DATA, type Address } from '../core/overlay/address.ts';
import { generateIdentity, keyId } from '../core/overlay/identity.ts';
import { MAX_DATAGRAM_PAYLOAD, OverlayNode } from '../core/overlay/node.ts';
import { OPTION_AREA_PREFIX } from '../core/overlay/stream-options.ts';
import type { OverlayStream, StreamStats } from '../core/overlay/stream.ts';
import { UdpPacketConn, type Datagram, type Endpoint, type PacketConn, type PacketHandler } from '../core/overlay/transport.ts';
import { bindUdp, fromWireContact, LOOPBACK, nextMessage, ratioOf, round, toWireContact, type WireContact } from './loopback-harness.ts';

/** Data per stream segment; the raw blast sends datagrams of the same size so both carry equal data per packet. */
const SEGMENT_DATA = MAX_DATAGRAM_PAYLOAD - OPTION_AREA_PREFIX;
const WRITE_CHUNK = 64 * 1024;
/** Lets slow start, the JIT and the socket buffers settle before anything is counted. */
const WARMUP_MS = 700;
const WINDOW_MS = 2000;
const ROUNDS = 3;
/** Raw sends per event-loop turn, as in overlay.bench.ts. */
const SEND_BATCH = 64;
const INJECTED_LOSS = 0.05;
/** First byte of a tunnel transport frame (noise.ts MSG_TRANSPORT): only those are dropped, never handshakes. */
const TRANSPORT_FRAME = 0x03;
const TARGET_STREAM_RATIO = 0.5;

const SENDER_ADDRESS: Address = { network: 1, node: 0x10 };
const RECEIVER_ADDRESS: Address = { network: 1, node: 0x20 };

type Mode = 'raw' | 'stream' | 'stream-loss';
type ReceiverMode = 'raw' | 'stream';

/** The next message of `type` from this benchmark's receiver. */
const receiverMessage = <T extends FromReceiver['type']>(child: ChildProcess, type: T) => nextMessage<FromReceiver, T>(child, type);

// ---- receiver (child process) ------------------------------------------------------------


type ToReceiver = { type: 'trust'; keyId: string } | { type: 'start' } | { type: 'stop' } | { type: 'exit' };
type FromReceiver =
  | { type: 'ready'; port: number; contact: WireContact | null }
  | { type: 'trusted' }
  | { type: 'started' }
  | { type: 'result'; bytes: number; seconds: number };




async function runReceiver(mode: ReceiverMode): Promise<void> {
  const send = (msg: FromReceiver) => process.send?.(msg);
  let bytes = 0;
  let closeSocket: () => Promise<void>;
  let trustedKeyId: string | null = null;
  if (mode === 'raw') {
    const socket = await bindUdp();
    socket.on('message', (msg) => {
      bytes += msg.length;
    });
    closeSocket = () => new Promise((resolve) => socket.close(() => resolve()));
    send({ type: 'ready', port: socket.address().port, contact: null });
  } else {
    const conn = await UdpPacketConn.bind(LOOPBACK, 0);
    const identity = generateIdentity();
    const node = new OverlayNode({ identity, conn, trust: { isTrusted: (id) => id === trustedKeyId }, address: RECEIVER_ADDRESS });
    node.listenStream(PORT_DATA, (stream) => {
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      stream.on('end', () => stream.end());
    });
    closeSocket = () => node.close();
    send({ type: 'ready', port: conn.local.port, contact: toWireContact(identity, RECEIVER_ADDRESS, conn.local) });
  }
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= closeSocket());
  let window = { bytes: 0, at: 0n };
  process.on('message', (msg: ToReceiver) => {
    switch (msg.type) {
      case 'trust':
        trustedKeyId = msg.keyId;
        send({ type: 'trusted' });
        break;
      case 'start':
        window = { bytes, at: process.hrtime.bigint() };
        send({ type: 'started' });
        break;
      case 'stop':
        send({ type: 'result', bytes: bytes - window.bytes, seconds: Number(process.hrtime.bigint() - window.at) / 1e9 });
        break;
      case 'exit':
        void close().then(() => process.disconnect());
        break;
    }
  });
  process.on('disconnect', () => void close().then(() => process.exit(0)));
}

// ---- sender (parent) ---------------------------------------------------------------------

/** Fault injection: drops a share of the transport frames this side sends. */
class LossyConn implements PacketConn {
  readonly #inner: PacketConn;
  readonly #loss: number;
  #state = 0x9e3779b9;
  dropped = 0;
  sent = 0;

  constructor(inner: PacketConn, loss: number) {
    this.#inner = inner;
    this.#loss = loss;
  }

  get local(): Endpoint {
    return this.#inner.local;
  }

  /** xorshift32: deterministic, and cheap enough not to show in the numbers. */
  #random(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state / 0x1_0000_0000;
  }

  send(data: Datagram, to: Endpoint): void {
    const first = data instanceof Uint8Array ? data[0] : data[0]?.[0];
    if (first === TRANSPORT_FRAME) {
      this.sent++;
      if (this.#random() < this.#loss) {
        this.dropped++;
        return;
      }
    }
    this.#inner.send(data, to);
  }

  onPacket(handler: PacketHandler): void {
    this.#inner.onPacket(handler);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

interface RunResult {
  mode: Mode;
  receivedBytes: number;
  receivedSeconds: number;
  receivedMBPerSecond: number;
  /** Stream runs: what the sender's stream did during the whole run (warm-up included). */
  sender: (StreamStats & { srttMs: number | null; congestionWindow: number }) | null;
  /** Lossy runs: transport frames the injector dropped / saw. */
  injected: { dropped: number; frames: number } | null;
}


/** Writes until stopped, waiting for 'drain' whenever write() says the buffer is full. */
function startWriter(stream: OverlayStream, chunk: Buffer): { stop(): void } {
  let running = true;
  const pump = () => {
    while (running && stream.state === 'established') {
      if (!stream.write(chunk)) {
        stream.once('drain', pump);
        return;
      }
    }
  };
  pump();
  return {
    stop() {
      running = false;
    },
  };
}

function startBlast(sendOne: () => void): { stop(): void } {
  let running = true;
  const loop = () => {
    if (!running) return;
    for (let i = 0; i < SEND_BATCH; i++) sendOne();
    setImmediate(loop);
  };
  setImmediate(loop);
  return {
    stop() {
      running = false;
    },
  };
}

async function measure(mode: Mode): Promise<RunResult> {
  const receiverMode: ReceiverMode = mode === 'raw' ? 'raw' : 'stream';
  const child = fork(fileURLToPath(import.meta.url), ['--receiver', receiverMode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const ready = await receiverMessage(child, 'ready');
    let stop: () => void;
    let closeSender: () => Promise<void>;
    let stream: OverlayStream | null = null;
    let lossy: LossyConn | null = null;
    if (mode === 'raw') {
      const socket = await bindUdp();
      const payload = randomBytes(SEGMENT_DATA);
      const blast = startBlast(() => socket.send(payload, ready.port, LOOPBACK));
      stop = () => blast.stop();
      closeSender = () => new Promise((resolve) => socket.close(() => resolve()));
    } else {
      if (!ready.contact) throw new Error('the stream receiver did not send its contact');
      const contact = fromWireContact(ready.contact);
      const receiverKeyId = keyId(contact.identityKey);
      const identity = generateIdentity();
      const udp = await UdpPacketConn.bind(LOOPBACK, 0);
      const conn: PacketConn = mode === 'stream-loss' ? (lossy = new LossyConn(udp, INJECTED_LOSS)) : udp;
      const node = new OverlayNode({ identity, conn, trust: { isTrusted: (id) => id === receiverKeyId }, address: SENDER_ADDRESS });
      node.addContact(contact);
      const trusted = receiverMessage(child, 'trusted');
      child.send({ type: 'trust', keyId: keyId(identity.publicKey) } satisfies ToReceiver);
      await trusted;
      stream = await node.connectStream(receiverKeyId, PORT_DATA);
      const writer = startWriter(stream, randomBytes(WRITE_CHUNK));
      stop = () => writer.stop();
      closeSender = () => node.close();
    }
    await sleep(WARMUP_MS);
    const started = receiverMessage(child, 'started');
    child.send({ type: 'start' } satisfies ToReceiver);
    await started;
    await sleep(WINDOW_MS);
    const result = receiverMessage(child, 'result');
    child.send({ type: 'stop' } satisfies ToReceiver);
    const received = await result;
    stop();
    const sender = stream ? { ...stream.stats, srttMs: stream.srttMs === null ? null : round(stream.srttMs, 2), congestionWindow: stream.congestionWindow } : null;
    const injected = lossy ? { dropped: lossy.dropped, frames: lossy.sent } : null;
    await closeSender();
    child.send({ type: 'exit' } satisfies ToReceiver);
    await exited;
    return {
      mode,
      receivedBytes: received.bytes,
      receivedSeconds: round(received.seconds, 3),
      receivedMBPerSecond: round(received.bytes / received.seconds / 1e6, 1),
      sender,
      injected,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

function median(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.receivedMBPerSecond - b.receivedMBPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

// ---- report ------------------------------------------------------------------------------

interface Row {
  metric: string;
  value: number;
  peer: number | null;
  peerName: string | null;
  unit: string;
  ratio: number | null;
  ratioRange?: [number, number];
  target: string | null;
  pass: boolean | null;
}



function markdownTable(rows: Row[]): string {
  const header = ['metric', 'value', 'peer value', 'ratio', 'target', 'pass/fail'];
  const format = (x: number, unit: string) => `${x.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} ${unit}`;
  const out = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    const cells = [
      r.metric,
      format(r.value, r.unit),
      r.peer === null ? '—' : `${format(r.peer, r.unit)} (${r.peerName})`,
      r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×${r.ratioRange ? ` (${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)})` : ''}`,
      r.target ?? '—',
      r.pass === null ? '—' : r.pass ? 'pass' : '**FAIL**',
    ];
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = new Set(process.argv.slice(2));
  const t0 = performance.now();
  const progress = (step: string) => console.error(`[stream bench ${((performance.now() - t0) / 1000).toFixed(1)} s] ${step}`);
  const runs: Record<Mode, RunResult[]> = { raw: [], stream: [], 'stream-loss': [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Mode[] = round % 2 === 0 ? ['raw', 'stream', 'stream-loss'] : ['stream-loss', 'stream', 'raw'];
    for (const mode of order) {
      progress(`round ${round + 1}/${ROUNDS}: ${mode}`);
      runs[mode].push(await measure(mode));
    }
  }
  const raw = median(runs.raw);
  const clean = median(runs.stream);
  const lossy = median(runs['stream-loss']);
  const cleanRatios = runs.raw.map((r, i) => ratioOf(runs.stream[i]!.receivedMBPerSecond, r.receivedMBPerSecond));
  const lossyRatios = runs.raw.map((r, i) => ratioOf(runs['stream-loss'][i]!.receivedMBPerSecond, r.receivedMBPerSecond));
  const rows: Row[] = [
    { metric: `raw UDP blast received, ${SEGMENT_DATA.toLocaleString('en-US')} B datagrams`, value: raw.receivedMBPerSecond, peer: null, peerName: null, unit: 'MB/s', ratio: null, target: null, pass: null },
    {
      metric: 'encrypted stream delivered',
      value: clean.receivedMBPerSecond,
      peer: raw.receivedMBPerSecond,
      peerName: 'raw UDP',
      unit: 'MB/s',
      ratio: ratioOf(clean.receivedMBPerSecond, raw.receivedMBPerSecond),
      ratioRange: [Math.min(...cleanRatios), Math.max(...cleanRatios)],
      target: `≥ ${TARGET_STREAM_RATIO.toFixed(2)}× raw`,
      pass: ratioOf(clean.receivedMBPerSecond, raw.receivedMBPerSecond) >= TARGET_STREAM_RATIO,
    },
    {
      metric: `encrypted stream, ${INJECTED_LOSS * 100} % loss injected`,
      value: lossy.receivedMBPerSecond,
      peer: raw.receivedMBPerSecond,
      peerName: 'raw UDP',
      unit: 'MB/s',
      ratio: ratioOf(lossy.receivedMBPerSecond, raw.receivedMBPerSecond),
      ratioRange: [Math.min(...lossyRatios), Math.max(...lossyRatios)],
      target: null,
      pass: null,
    },
    {
      metric: `encrypted stream, ${INJECTED_LOSS * 100} % loss vs clean`,
      value: lossy.receivedMBPerSecond,
      peer: clean.receivedMBPerSecond,
      peerName: 'clean stream',
      unit: 'MB/s',
      ratio: ratioOf(lossy.receivedMBPerSecond, clean.receivedMBPerSecond),
      target: null,
      pass: null,
    },
  ];
  const pass = rows.every((r) => r.pass !== false);
  const results = {
    benchmark: 'stream',
    measuredAt: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
    parameters: {
      segmentDataBytes: SEGMENT_DATA,
      writeChunkBytes: WRITE_CHUNK,
      warmupMs: WARMUP_MS,
      windowMs: WINDOW_MS,
      rounds: ROUNDS,
      injectedLoss: INJECTED_LOSS,
      arrangement: 'sender in the benchmark process, receiver in a child process, both on 127.0.0.1',
    },
    pass,
    rows,
    runs,
  };
  const resultsDir = new URL('./results/', import.meta.url);
  mkdirSync(resultsDir, { recursive: true });
  const resultsFile = new URL('stream.json', resultsDir);
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  if (args.has('--json')) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    console.log(`\n## Stream benchmark (${results.environment.cpu}, ${results.environment.cores} cores, Node ${process.version})\n`);
    console.log(markdownTable(rows));
    const describe = (r: RunResult) =>
      r.sender
        ? `retransmitted ${r.sender.retransmittedSegments} of ${r.sender.segmentsSent} segments, ${r.sender.fastRecoveries} fast recoveries, ${r.sender.timeouts} timeouts, SRTT ${r.sender.srttMs} ms, cwnd ${r.sender.congestionWindow}` +
          (r.injected ? `; injected drops ${r.injected.dropped} of ${r.injected.frames} frames` : '')
        : '';
    console.log(`\nMedian clean stream run: ${describe(clean)}.`);
    console.log(`Median lossy stream run: ${describe(lossy)}.`);
    console.log(`Results written to ${fileURLToPath(resultsFile)}`);
  }
  if (args.has('--check') && !pass) process.exitCode = 1;
}

if (process.argv[2] === '--receiver') {
  const mode = process.argv[3];
  if (mode !== 'raw' && mode !== 'stream') throw new Error(`unknown receiver mode "${mode}" (expected raw or stream)`);
  await runReceiver(mode);
} else {
  await main();
}
