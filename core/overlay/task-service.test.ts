/**
 * The task port end to end: two real OverlayNodes over real UDP on loopback; the requester sends
 * well-formed and hostile requests, the worker's handler must see only the good ones.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateIdentity } from './identity.ts';
import { exchange, submitTask, submitTasks, TaskWorker } from './task-service.ts';
import { encodeTask, encodeTaskMessage, verifyTask, TASK_MAX_AGE_MS, type TaskMessage } from './task-wire.ts';
import { frameJson } from './event-wire.ts';
import { loopbackNode, trustEachOther, type LoopbackNode } from './testing/loopback-nodes.ts';

interface Setup {
  console: LoopbackNode;
  executor: LoopbackNode;
  worker: TaskWorker;
  handled: Array<{ id: string; body: Record<string, unknown>; peer: string | null }>;
  refused: Array<{ code: string; id: string; task: string }>;
  /** Peers the worker lets submit "mitigation". */
  permitted: Set<string>;
}

async function setup(t: TestContext): Promise<Setup> {
  const consoleNode = await loopbackNode(t, 'local-threat-orchestrator');
  const executor = await loopbackNode(t, 'aws-firewall-executor');
  trustEachOther(consoleNode, executor);
  const handled: Setup['handled'] = [];
  const refused: Setup['refused'] = [];
  const permitted = new Set([consoleNode.key]);
  const worker = new TaskWorker({
    node: executor.node,
    mayRequest: (peer, task) => task === 'mitigation' && permitted.has(peer),
    onRefused: (_peer, r) => refused.push({ code: r.code, id: r.id, task: r.task }),
  });
  t.after(() => worker.close());
  worker.handle('mitigation', (task, peer) => {
    handled.push({ id: task.id, body: task.body, peer: peer.hostname });
    return { status: 'applied', detail: { cidr: task.body.cidr } };
  });
  return { console: consoleNode, executor, worker, handled, refused, permitted };
}

let counter = 0;
const requestId = () => `req-${process.pid}-${++counter}-abcdef`;

function payload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: requestId(), issuedAt: Date.now(), cidr: '198.51.100.7/32', ...extra };
}

/** Sends raw frames from the console to the executor's task port and returns the results. */
async function sendRaw(s: Setup, frames: Buffer[], expected = frames.length) {
  const stream = await s.console.node.connectStream(s.executor.key, 1003);
  return exchange(stream, frames, expected, 5000);
}

const signAs = (n: LoopbackNode) => ({ signerKey: n.identity.publicKey, sign: (m: Uint8Array) => n.identity.sign(m) });

test('a signed request from a permitted peer reaches the handler and its result comes back', async (t) => {
  const s = await setup(t);
  const p = payload();
  const result = await submitTask({ node: s.console.node, peerKeyId: s.executor.key, task: 'mitigation', payload: p, ...signAs(s.console) });
  assert.equal(result.status, 'applied');
  assert.equal(result.id, p.id);
  assert.deepEqual(result.detail, { cidr: '198.51.100.7/32' });
  assert.deepEqual(s.handled, [{ id: p.id, body: p, peer: 'local-threat-orchestrator' }]);
  assert.deepEqual(s.refused, []);
});

test('several requests on one stream are answered in order', async (t) => {
  const s = await setup(t);
  const payloads = Array.from({ length: 20 }, () => payload());
  const results = await submitTasks({ node: s.console.node, peerKeyId: s.executor.key, task: 'mitigation', payloads, ...signAs(s.console) });
  assert.deepEqual(results.map((r) => r.id), payloads.map((p) => p.id));
  assert.equal(s.handled.length, 20);
});

test('hostile requests are refused with their reason and never reach the handler', async (t) => {
  const s = await setup(t);
  const good = (p: Record<string, unknown>) => encodeTask('mitigation', JSON.stringify(p), s.console.identity.publicKey, (m) => s.console.identity.sign(m));
  const stranger = generateIdentity();
  const flipped = (() => {
    const p = payload();
    const frame = JSON.parse(good(p).subarray(4).toString()) as TaskMessage;
    const sig = Buffer.from(frame.signature, 'base64url');
    sig[10]! ^= 0x01;
    return frameJson(JSON.stringify({ ...frame, signature: sig.toString('base64url') }));
  })();
  const tampered = (() => {
    const p = payload();
    const frame = JSON.parse(good(p).subarray(4).toString()) as TaskMessage;
    return frameJson(JSON.stringify({ ...frame, payload: frame.payload.replace('198.51.100.7/32', '0.0.0.0/0') }));
  })();
  const cases: Array<[string, Buffer, string]> = [
    ['unsigned', encodeTaskMessage({ type: 'task', task: 'mitigation', payload: JSON.stringify(payload()), signer: '', signature: '' }), 'unsigned'],
    ['signed by a key that is not the sender', encodeTask('mitigation', JSON.stringify(payload()), stranger.publicKey, (m) => stranger.sign(m)), 'wrong_signer'],
    ['signature with a flipped bit', flipped, 'bad_signature'],
    ['payload changed after signing', tampered, 'bad_signature'],
    ['stale', good(payload({ issuedAt: Date.now() - TASK_MAX_AGE_MS - 60_000 })), 'stale'],
    ['from the future', good(payload({ issuedAt: Date.now() + 3_600_000 })), 'stale'],
    ['no request id', good({ issuedAt: Date.now(), cidr: '198.51.100.7/32' }), 'malformed'],
    ['payload not an object', encodeTask('mitigation', '[1,2]', s.console.identity.publicKey, (m) => s.console.identity.sign(m)), 'malformed'],
    ['unknown task', encodeTask('reboot', JSON.stringify(payload()), s.console.identity.publicKey, (m) => s.console.identity.sign(m)), 'forbidden'],
  ];
  const results = await sendRaw(s, cases.map((c) => c[1]));
  assert.equal(results.length, cases.length);
  cases.forEach(([what, , code], i) => {
    assert.equal(results[i]?.status, 'refused', what);
    assert.equal(results[i]?.code, code, `${what}: ${results[i]?.reason}`);
    assert.ok((results[i]?.reason ?? '').length > 0, `${what} carries a reason`);
  });
  assert.deepEqual(s.handled, [], 'the handler saw none of them');
  assert.deepEqual(s.refused.map((r) => r.code), cases.map((c) => c[2]), 'every refusal is reported for the audit log');
});

test('a trusted peer without the capability is refused; granted, the same peer is served', async (t) => {
  const s = await setup(t);
  s.permitted.clear();
  const first = await submitTask({ node: s.console.node, peerKeyId: s.executor.key, task: 'mitigation', payload: payload(), ...signAs(s.console) });
  assert.equal(first.code, 'forbidden');
  assert.match(first.reason ?? '', /capability/);
  s.permitted.add(s.console.key);
  const second = await submitTask({ node: s.console.node, peerKeyId: s.executor.key, task: 'mitigation', payload: payload(), ...signAs(s.console) });
  assert.equal(second.status, 'applied');
  assert.equal(s.handled.length, 1);
});

test('a frame that is not JSON ends the stream with a refusal', async (t) => {
  const s = await setup(t);
  const junk = Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{{{{{')]);
  const results = await sendRaw(s, [junk, encodeTask('mitigation', JSON.stringify(payload()), s.console.identity.publicKey, (m) => s.console.identity.sign(m))], 2);
  assert.equal(results.length, 1, 'nothing after the broken frame is read');
  assert.equal(results[0]?.code, 'malformed');
  assert.deepEqual(s.handled, []);
});

test('verifyTask is total: arbitrary messages give a verdict, never an exception', () => {
  const identity = generateIdentity();
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), fc.string(), fc.integer(), (task, payloadText, signer, signature, now) => {
      const verdict = verifyTask({ type: 'task', task, payload: payloadText, signer, signature }, identity.publicKey, now);
      return verdict.ok === false && typeof verdict.reason === 'string';
    }),
    { numRuns: 2000 },
  );
});
