/**
 * Overlay ping: datagrams to port 0 carrying a request type byte, an id and a sequence number;
 * the peer answers with the same bytes and a reply type. RTT is measured locally.
 */
import { PORT_PING } from './address.ts';
import { OverlayError, PING_REPLY, PING_REQUEST, type OverlayNode } from './node.ts';

export interface PingReply {
  seq: number;
  rttMs: number | null; // null: no reply within the timeout
  error?: string;
}

export interface PingOptions {
  count: number;
  intervalMs: number;
  timeoutMs: number;
  onReply?: (reply: PingReply) => void;
}

export async function pingPeer(node: OverlayNode, peerKeyId: string, options: PingOptions): Promise<PingReply[]> {
  const id = Math.floor(Math.random() * 0xffffffff);
  const pending = new Map<number, { sentAt: number; resolve: (rtt: number | null) => void; timer: NodeJS.Timeout }>();
  const port = node.bindEphemeral((payload) => {
    if (payload.length < 9 || payload[0] !== PING_REPLY || payload.readUInt32BE(1) !== id) return;
    const seq = payload.readUInt32BE(5);
    const entry = pending.get(seq);
    if (!entry) return;
    pending.delete(seq);
    clearTimeout(entry.timer);
    entry.resolve(performance.now() - entry.sentAt);
  });
  const results: PingReply[] = [];
  try {
    for (let seq = 1; seq <= options.count; seq++) {
      const started = performance.now();
      const payload = Buffer.alloc(9);
      payload[0] = PING_REQUEST;
      payload.writeUInt32BE(id, 1);
      payload.writeUInt32BE(seq, 5);
      const answered = new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(seq);
          resolve(null);
        }, options.timeoutMs);
        pending.set(seq, { sentAt: started, resolve, timer });
      });
      let reply: PingReply;
      try {
        await node.sendDatagram(peerKeyId, PORT_PING, payload, port);
        reply = { seq, rttMs: await answered };
        if (reply.rttMs !== null) node.noteRtt(peerKeyId, reply.rttMs);
      } catch (err) {
        const entry = pending.get(seq);
        if (entry) clearTimeout(entry.timer);
        pending.delete(seq);
        if (err instanceof OverlayError && (err.code === 'not_trusted' || err.code === 'unknown_peer' || err.code === 'closed')) throw err;
        reply = { seq, rttMs: null, error: (err as Error).message };
      }
      results.push(reply);
      options.onReply?.(reply);
      if (seq < options.count) {
        const wait = options.intervalMs - (performance.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  } finally {
    node.unbindDatagram(port);
  }
  return results;
}
