/**
 * The stream table against hand-made segments: what exactly goes back on the wire for a SYN, a
 * stray segment or an untrusted peer, and that a peer sending outside the window cannot make us
 * buffer more than the window. The link records what would be sent instead of encrypting it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOptionArea } from './stream-options.ts';
import type { OverlayStream, StreamLink } from './stream.ts';
import { StreamTable, type StreamTableStats } from './stream-table.ts';
import { FLAG_ACK, FLAG_RST, FLAG_SYN, PROTO_STREAM, type Packet } from './wire.ts';

interface SentSegment {
  srcPort: number;
  dstPort: number;
  flags: number;
  seq: number;
  ack: number;
  window: number;
  payload: Buffer;
}

const PEER = { keyId: 'peer-key', hostname: 'peer' };
const MAX_PACKET_PAYLOAD = 1380;
const MSS = MAX_PACKET_PAYLOAD - 1;

function makeTable(options: { trusted?: boolean; receiveWindowSegments?: number; maxStreamsPerPeer?: number } = {}) {
  const sent: SentSegment[] = [];
  const trust = { trusted: options.trusted ?? true };
  const link: StreamLink = {
    now: () => 1_000_000,
    isTrusted: () => trust.trusted,
    send: (_peer, srcPort, dstPort, flags, seq, ack, window, payload) => {
      sent.push({ srcPort, dstPort, flags, seq, ack, window, payload: Buffer.from(payload) });
    },
  };
  const stats: StreamTableStats = { streamsOpened: 0, streamsAccepted: 0, streamSegmentsIn: 0, streamsRefused: 0, streamResetsSent: 0, streamsDroppedUntrusted: 0 };
  const limits = {
    ...(options.receiveWindowSegments ? { receiveWindowSegments: options.receiveWindowSegments } : {}),
    ...(options.maxStreamsPerPeer ? { maxStreamsPerPeer: options.maxStreamsPerPeer } : {}),
  };
  const table = new StreamTable({ link, limits, maxPacketPayload: MAX_PACKET_PAYLOAD, stats });
  return { table, sent, stats, trust };
}

function segment(fields: { flags: number; seq?: number; ack?: number; window?: number; srcPort?: number; dstPort?: number; payload?: Buffer }): Packet {
  return {
    flags: fields.flags,
    protocol: PROTO_STREAM,
    src: { network: 1, node: 0x20, port: fields.srcPort ?? 50000 },
    dst: { network: 1, node: 0x10, port: fields.dstPort ?? 1001 },
    seq: fields.seq ?? 0,
    ack: fields.ack ?? 0,
    window: fields.window ?? 512,
    payload: fields.payload ?? Buffer.alloc(0),
  };
}

/** A data payload: the empty option area, then the bytes. */
function data(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0]), bytes]);
}

test('a SYN to a port nobody listens on gets RST|ACK acknowledging the SYN', () => {
  const { table, sent, stats } = makeTable();
  table.receive(PEER, segment({ flags: FLAG_SYN, seq: 0xfffffffe, srcPort: 50000, dstPort: 4242 }));
  assert.deepEqual(sent, [{ srcPort: 4242, dstPort: 50000, flags: FLAG_RST | FLAG_ACK, seq: 0, ack: 0xffffffff, window: 0, payload: Buffer.alloc(0) }]);
  assert.equal(stats.streamsRefused, 1);
  assert.equal(stats.streamResetsSent, 1);
});

test('a segment with an ACK for no stream gets a reset whose sequence number is that ACK', () => {
  const { table, sent } = makeTable();
  table.receive(PEER, segment({ flags: FLAG_ACK, seq: 5000, ack: 777, payload: data(Buffer.from('hello')) }));
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.flags, FLAG_RST);
  assert.equal(sent[0]!.seq, 777);
});

test('a reset for no stream is never answered', () => {
  const { table, sent } = makeTable();
  table.receive(PEER, segment({ flags: FLAG_RST | FLAG_ACK, seq: 1, ack: 2 }));
  assert.deepEqual(sent, []);
});

test('an untrusted peer gets nothing: no stream, no reset, the listener never runs', () => {
  const { table, sent, stats } = makeTable({ trusted: false });
  let accepted = 0;
  table.listen(1001, () => accepted++);
  table.receive(PEER, segment({ flags: FLAG_SYN, seq: 1 }));
  table.receive(PEER, segment({ flags: FLAG_ACK, seq: 2, ack: 1 }));
  assert.deepEqual(sent, []);
  assert.equal(accepted, 0);
  assert.equal(table.size, 0);
  assert.equal(stats.streamsDroppedUntrusted, 2);
});

/** Opens a stream passively with hand-made segments; returns it and our ISN. */
function accept(table: StreamTable, sent: SentSegment[], peerIsn: number): { stream: OverlayStream; ourIsn: number } {
  let accepted: OverlayStream | null = null;
  table.listen(1001, (stream) => {
    accepted = stream;
  });
  table.receive(PEER, segment({ flags: FLAG_SYN, seq: peerIsn, window: 0x200 }));
  const synAck = sent.shift()!;
  table.receive(PEER, segment({ flags: FLAG_ACK, seq: peerIsn + 1, ack: (synAck.seq + 1) >>> 0 }));
  assert.ok(accepted, 'the listener got the stream after the third segment');
  return { stream: accepted, ourIsn: synAck.seq };
}

test('handshake: SYN-ACK acknowledges the SYN and advertises the receive window in segments', () => {
  const { table, sent, stats } = makeTable();
  table.listen(1001, () => {});
  table.receive(PEER, segment({ flags: FLAG_SYN, seq: 41, window: 0x200 }));
  assert.equal(sent.length, 1);
  const synAck = sent[0]!;
  assert.equal(synAck.flags, FLAG_SYN | FLAG_ACK);
  assert.equal(synAck.ack, 42);
  assert.equal(synAck.window, 512);
  assert.equal(synAck.payload.length, 0);
  assert.equal(stats.streamsAccepted, 0, 'not accepted before the handshake completes');
  table.close();
});

test('a peer sending beyond the window cannot make us hold more than the window', () => {
  const { table, sent } = makeTable({ receiveWindowSegments: 4 });
  const { stream, ourIsn } = accept(table, sent, 1000);
  stream.pause(); // the application reads nothing
  const base = 1001;
  const ack = (ourIsn + 1) >>> 0;
  const chunk = Buffer.alloc(MSS, 0x61);
  // Segment 0 is "lost"; 1-3 are in the window and held; 5 and 50 are beyond it.
  for (const i of [1, 2, 3, 5, 50]) table.receive(PEER, segment({ flags: FLAG_ACK, seq: base + i * MSS, ack, payload: data(chunk) }));
  assert.equal(stream.stats.outOfOrderSegments, 3);
  assert.equal(stream.stats.droppedOutOfWindow, 2);
  // Every out-of-order arrival was answered at once, with SACK blocks for what is held.
  const last = sent[sent.length - 1]!;
  assert.equal(last.ack, base);
  const options = decodeOptionArea(last.payload);
  assert.ok(options.ok);
  assert.deepEqual(options.value.options.sack, [{ start: base + MSS, end: base + 4 * MSS }]);
  // The hole fills: everything up to the window is buffered for the paused reader, and the window is zero.
  table.receive(PEER, segment({ flags: FLAG_ACK, seq: base, ack, payload: data(chunk) }));
  assert.equal(stream.readableLength, 4 * MSS);
  const full = sent[sent.length - 1]!;
  assert.equal(full.window, 0);
  const fullOptions = decodeOptionArea(full.payload);
  assert.ok(fullOptions.ok && fullOptions.value.options.zeroWindow, 'a zero window is said with the option, since 0 alone means "no limit"');
  table.close();
});

test('SYNs past the per-peer stream limit are refused with a reset', () => {
  const { table, sent, stats } = makeTable({ maxStreamsPerPeer: 2 });
  table.listen(1001, () => {});
  for (const port of [50001, 50002, 50003]) table.receive(PEER, segment({ flags: FLAG_SYN, seq: 1, srcPort: port }));
  assert.equal(table.size, 2);
  assert.equal(stats.streamsRefused, 1);
  assert.equal(sent.filter((s) => s.flags & FLAG_RST).length, 1);
  table.close();
});
