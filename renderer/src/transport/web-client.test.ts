import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleCallError, type ConsoleEvent } from '../../../core/console/api.ts';
import { snapshot } from '../testing/fixtures.ts';
import type { ConnectionState } from './connection.ts';
import { createWebConsoleClient, parseServerMessage, reconnectDelayMs, type ConsoleSocket, type ConsoleSocketHandlers, type ReconnectTimers } from './web-client.ts';

/** A socket the test drives: it plays the service's side of each connection. */
class FakeSocket implements ConsoleSocket {
  sent: Array<{ id: number; method: string; params: unknown }> = [];
  open = false;
  closedByClient = false;
  readonly url: string;
  readonly protocols: string[];
  readonly handlers: ConsoleSocketHandlers;
  constructor(url: string, protocols: string[], handlers: ConsoleSocketHandlers) {
    this.url = url;
    this.protocols = protocols;
    this.handlers = handlers;
  }
  isOpen(): boolean {
    return this.open;
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.closedByClient = true;
    this.open = false;
  }
  // The service's side:
  accept(): void {
    this.open = true;
    this.handlers.onOpen();
  }
  push(frame: unknown): void {
    this.handlers.onMessage(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
  drop(): void {
    this.open = false;
    this.handlers.onClose();
  }
}

class ManualTimers implements ReconnectTimers {
  clock = 1_000_000;
  scheduled: Array<{ callback: () => void; ms: number; cancelled: boolean }> = [];
  setTimeout(callback: () => void, ms: number): unknown {
    const entry = { callback, ms, cancelled: false };
    this.scheduled.push(entry);
    return entry;
  }
  clearTimeout(handle: unknown): void {
    (handle as { cancelled: boolean }).cancelled = true;
  }
  now(): number {
    return this.clock;
  }
  /** Runs the one pending timer and returns its delay. */
  fire(): number {
    const entry = this.scheduled.find((e) => !e.cancelled);
    assert.ok(entry, 'a reconnect should be scheduled');
    this.scheduled = this.scheduled.filter((e) => e !== entry);
    entry.callback();
    return entry.ms;
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const timers = new ManualTimers();
  const client = createWebConsoleClient({
    url: 'ws://127.0.0.1:7300/api/ws',
    protocols: ['swarm-console.v1', 'token.abc123'],
    createSocket: (url, protocols, handlers) => {
      const socket = new FakeSocket(url, protocols, handlers);
      sockets.push(socket);
      return socket;
    },
    timers,
  });
  const states: ConnectionState[] = [];
  client.connection.subscribe((state) => states.push(state));
  const events: ConsoleEvent[] = [];
  client.api.subscribe((event) => events.push(event));
  const latest = () => sockets.at(-1)!;
  return { client, sockets, latest, timers, states, events };
}

const SNAPSHOT_EVENT = { event: { type: 'snapshot', snapshot: snapshot() } };

describe('web console client', () => {
  it('connects to the given URL offering the version and token subprotocols', () => {
    const { sockets } = setup();
    assert.equal(sockets.length, 1);
    assert.equal(sockets[0]?.url, 'ws://127.0.0.1:7300/api/ws');
    assert.deepEqual(sockets[0]?.protocols, ['swarm-console.v1', 'token.abc123']);
  });

  it('numbers calls and resolves each with its own answer, in any order', async () => {
    const { client, latest } = setup();
    latest().accept();
    latest().push(SNAPSHOT_EVENT);
    const first = client.api.call('snapshot', {});
    const second = client.api.call('reject', { peer: 'edge-1', reason: 'no' });
    assert.deepEqual(latest().sent, [
      { id: 1, method: 'snapshot', params: {} },
      { id: 2, method: 'reject', params: { peer: 'edge-1', reason: 'no' } },
    ]);
    latest().push({ id: 2, ok: true, result: { rejected: 'edge-1' } });
    latest().push({ id: 1, ok: true, result: snapshot({ status: 'unconfigured' }) });
    assert.deepEqual(await second, { rejected: 'edge-1' });
    assert.equal((await first).status, 'unconfigured');
  });

  it('rejects a call the service refused with a ConsoleCallError carrying code, message and hint', async () => {
    const { client, latest } = setup();
    latest().accept();
    const call = client.api.call('approve', { peer: 'edge-1', capabilities: [] });
    latest().push({ id: 1, ok: false, error: { code: 'trust_no_request', message: 'no pending trust request from edge-1', hint: 'list them with: swarmctl pending' } });
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof ConsoleCallError);
      assert.equal(error.code, 'trust_no_request');
      assert.equal(error.message, 'no pending trust request from edge-1');
      assert.equal(error.hint, 'list them with: swarmctl pending');
      return true;
    });
  });

  it('hands pushed events to subscribers and ignores frames it cannot read', () => {
    const { latest, events } = setup();
    latest().accept();
    latest().push(SNAPSHOT_EVENT);
    latest().push('not json');
    latest().push({ hello: 'world' });
    latest().push({ event: { type: 'peers', upsert: [], remove: ['k'] } });
    assert.deepEqual(
      events.map((e) => e.type),
      ['snapshot', 'peers'],
    );
  });

  it('sends calls made before the first connection once it is open', async () => {
    const { client, latest } = setup();
    const call = client.api.call('snapshot', {});
    assert.deepEqual(latest().sent, []);
    latest().accept();
    assert.deepEqual(latest().sent, [{ id: 1, method: 'snapshot', params: {} }]);
    latest().push({ id: 1, ok: true, result: snapshot() });
    assert.equal((await call).status, 'running');
  });

  it('on a drop: fails calls in flight as disconnected, reports reconnecting and reconnects with backoff', async () => {
    const { client, latest, sockets, timers, states } = setup();
    latest().accept();
    latest().push(SNAPSHOT_EVENT);
    assert.equal(states.at(-1)?.phase, 'open');
    const inFlight = client.api.call('revoke', { peer: 'edge-1', reason: '' });
    latest().drop();
    await assert.rejects(inFlight, (error: unknown) => error instanceof ConsoleCallError && error.code === 'disconnected');
    assert.deepEqual(states.at(-1), { phase: 'reconnecting', failedAttempts: 1, nextAttemptAt: timers.clock + 250 });

    // While reconnecting, a click fails at once instead of waiting invisibly.
    await assert.rejects(client.api.call('reject', { peer: 'x', reason: '' }), (error: unknown) => error instanceof ConsoleCallError && error.code === 'disconnected');

    const delays: number[] = [];
    for (let attempt = 0; attempt < 7; attempt++) {
      delays.push(timers.fire());
      latest().drop(); // the service is still down
    }
    assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 5000, 5000]);
    assert.equal(sockets.length, 8);

    // It comes back: the service pushes its snapshot first, and the backoff starts over.
    timers.fire();
    latest().accept();
    latest().push(SNAPSHOT_EVENT);
    assert.deepEqual(states.at(-1), { phase: 'open', failedAttempts: 0, nextAttemptAt: null });
    latest().drop();
    assert.equal(timers.fire(), 250);
  });

  it('keeps backing off when the service accepts and drops without a word', () => {
    const { latest, timers } = setup();
    latest().accept();
    latest().push(SNAPSHOT_EVENT);
    latest().drop();
    assert.equal(timers.fire(), 250);
    latest().accept();
    latest().drop();
    assert.equal(timers.fire(), 500);
  });

  it('says "connecting", not "reconnecting", while it never reached the service', () => {
    const { latest, states } = setup();
    latest().drop();
    assert.equal(states.at(-1)?.phase, 'connecting');
    assert.equal(states.at(-1)?.failedAttempts, 1);
  });

  it('stops reconnecting when closed', async () => {
    const { client, latest, timers } = setup();
    latest().accept();
    latest().push(SNAPSHOT_EVENT);
    const call = client.api.call('snapshot', {});
    client.close();
    assert.equal(latest().closedByClient, true);
    await assert.rejects(call, (error: unknown) => error instanceof ConsoleCallError && error.code === 'disconnected');
    assert.equal(timers.scheduled.filter((e) => !e.cancelled).length, 0);
  });
});

describe('parseServerMessage', () => {
  it('classifies answers, errors and events, and never throws on junk', () => {
    assert.deepEqual(parseServerMessage('{"id":3,"ok":true,"result":1}'), { kind: 'result', id: 3, result: 1 });
    assert.deepEqual(parseServerMessage('{"id":4,"ok":false,"error":{"code":"c","message":"m","hint":"h"}}'), { kind: 'error', id: 4, error: { code: 'c', message: 'm', hint: 'h' } });
    assert.equal(parseServerMessage('{"id":4,"ok":false}').kind, 'error');
    assert.equal(parseServerMessage('{"event":{"type":"peers","upsert":[],"remove":[]}}').kind, 'event');
    for (const junk of ['', '[]', 'null', '{"id":"1","ok":true}', '{"event":1}', '{"id":1}', new Uint8Array(3)]) {
      assert.equal(parseServerMessage(junk).kind, 'unknown', String(junk));
    }
  });

  it('computes the backoff from 250 ms doubling to 5 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 20].map(reconnectDelayMs), [250, 500, 1000, 2000, 4000, 5000, 5000]);
  });
});
