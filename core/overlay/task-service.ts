/**
 * The task port (1003): a worker runs tasks its trusted peers submit; a requester submits one and
 * waits for its result. Messages and checks: task-wire.ts.
 *
 * Default deny, checked in this order for every request: the stream exists only between trusted
 * peers (the node drops everything else); the request is signed by the sending peer's own
 * identity; that peer holds the capability the task needs (`mitigation.request` for mitigations);
 * it is fresh; only then does the task's handler see it (and the handler refuses a request id it
 * has seen before — that needs its durable store). Every refusal is answered with its code and
 * reason and reported to `onRefused`, so the role can audit it.
 */
import { PORT_TASKS } from './address.ts';
import type { OverlayNode } from './node.ts';
import { OverlayError } from './node.ts';
import type { OverlayStream } from './stream.ts';
import {
  encodeTask,
  encodeTaskMessage,
  isValidRequestId,
  taskDecoderForRequester,
  taskDecoderForWorker,
  verifyTask,
  type TaskRefusalCode,
  type TaskResultMessage,
  type VerifiedTask,
} from './task-wire.ts';

/** Requests one stream may carry before the worker closes it: a batch is fine, a firehose is not. */
const TASKS_PER_STREAM = 256;
/** A requester that sends nothing this long holds a stream slot for nothing. */
const IDLE_TIMEOUT_MS = 15_000;
/** How long a requester waits for a result by default (the worker may have to touch a firewall). */
export const TASK_RESULT_TIMEOUT_MS = 15_000;

export interface TaskPeer {
  readonly key: string;
  readonly hostname: string | null;
}

export interface TaskOutcome {
  readonly status: string;
  readonly code?: string;
  readonly reason?: string;
  readonly detail?: unknown;
}

export type TaskHandler = (task: VerifiedTask, peer: TaskPeer) => Promise<TaskOutcome> | TaskOutcome;

export interface TaskWorkerOptions {
  readonly node: OverlayNode;
  /** May this peer submit this task? (the daemon checks the capability it granted). */
  readonly mayRequest: (peerKeyId: string, task: string) => boolean;
  /** Called for every request refused before its handler saw it. */
  readonly onRefused?: (peer: TaskPeer, refusal: { code: TaskRefusalCode; reason: string; id: string; task: string }) => void;
  readonly now?: () => number;
  readonly port?: number;
}

export class TaskWorker {
  readonly #options: TaskWorkerOptions;
  readonly #port: number;
  readonly #handlers = new Map<string, TaskHandler>();
  readonly #streams = new Set<OverlayStream>();
  #closed = false;

  constructor(options: TaskWorkerOptions) {
    this.#options = options;
    this.#port = options.port ?? PORT_TASKS;
    options.node.listenStream(this.#port, (stream) => this.#accept(stream));
  }

  /** Registers the handler of one task name (one per name). */
  handle(task: string, handler: TaskHandler): void {
    if (this.#handlers.has(task)) throw new Error(`task "${task}" already has a handler`);
    this.#handlers.set(task, handler);
  }

  close(): void {
    this.#closed = true;
    this.#options.node.unlistenStream(this.#port);
    for (const s of this.#streams) s.end();
  }

  #accept(stream: OverlayStream): void {
    if (this.#closed) return stream.destroy();
    this.#streams.add(stream);
    const decoder = taskDecoderForWorker();
    const peer: TaskPeer = { key: stream.peer.keyId, hostname: stream.peer.hostname };
    let received = 0;
    // Results go back in request order: requests on one stream run one after another.
    let queue: Promise<void> = Promise.resolve();
    let idle = setTimeout(() => stream.end(), IDLE_TIMEOUT_MS);
    idle.unref();
    stream.on('data', (chunk: Buffer) => {
      clearTimeout(idle);
      idle = setTimeout(() => stream.end(), IDLE_TIMEOUT_MS);
      idle.unref();
      const decoded = decoder.push(chunk);
      if (!decoded.ok) {
        this.#report(peer, { code: 'malformed', reason: decoded.error.message, id: '', task: '' });
        stream.end(encodeTaskMessage({ type: 'result', id: '', status: 'refused', code: 'malformed', reason: decoded.error.message }));
        return;
      }
      for (const message of decoded.value) {
        if (++received > TASKS_PER_STREAM) {
          stream.end(encodeTaskMessage({ type: 'result', id: '', status: 'refused', code: 'busy', reason: `at most ${TASKS_PER_STREAM} requests per stream` }));
          return;
        }
        queue = queue.then(async () => {
          const result = await this.#run(message, stream, peer);
          if (stream.state !== 'closed') stream.write(encodeTaskMessage(result));
        });
      }
    });
    stream.on('end', () => void queue.then(() => stream.end()));
    stream.on('error', () => {});
    stream.on('close', () => {
      clearTimeout(idle);
      this.#streams.delete(stream);
    });
  }

  async #run(message: Parameters<typeof verifyTask>[0], stream: OverlayStream, peer: TaskPeer): Promise<TaskResultMessage> {
    const refuse = (code: TaskRefusalCode, reason: string, id: string): TaskResultMessage => {
      this.#report(peer, { code, reason, id, task: message.task });
      return { type: 'result', id, status: 'refused', code, reason };
    };
    const checked = verifyTask(message, Buffer.from(stream.peer.keyId, 'base64url'), (this.#options.now ?? Date.now)());
    if (!checked.ok) return refuse(checked.code, checked.reason, checked.id);
    const { task } = checked;
    if (!this.#options.mayRequest(peer.key, task.task)) return refuse('forbidden', `not allowed to submit "${task.task}": this node has not granted the capability it needs`, task.id);
    const handler = this.#handlers.get(task.task);
    if (handler === undefined) return refuse('unknown_task', `this node runs no "${task.task}" tasks`, task.id);
    try {
      const outcome = await handler(task, peer);
      return { type: 'result', id: task.id, ...outcome };
    } catch (err) {
      return refuse('failed', `the task failed: ${(err as Error).message}`, task.id);
    }
  }

  #report(peer: TaskPeer, refusal: { code: TaskRefusalCode; reason: string; id: string; task: string }): void {
    try {
      this.#options.onRefused?.(peer, refusal);
    } catch {
      // auditing a refusal must not break the answer to it
    }
  }
}

export interface SubmitTaskOptions {
  readonly node: OverlayNode;
  readonly peerKeyId: string;
  readonly task: string;
  /** JSON-serialisable object holding at least `id` (see isValidRequestId) and `issuedAt`. */
  readonly payload: Record<string, unknown>;
  readonly signerKey: Uint8Array;
  readonly sign: (message: Uint8Array) => Uint8Array;
  readonly timeoutMs?: number;
  readonly port?: number;
}

/** Submits several signed tasks on one stream; resolves with their results in order. */
export async function submitTasks(options: Omit<SubmitTaskOptions, 'payload'> & { payloads: readonly Record<string, unknown>[] }): Promise<TaskResultMessage[]> {
  for (const p of options.payloads) {
    if (!isValidRequestId(p.id)) throw new RangeError('a task payload needs an id of 8-64 characters A-Z a-z 0-9 _ -');
  }
  const stream = await options.node.connectStream(options.peerKeyId, options.port ?? PORT_TASKS);
  const frames = options.payloads.map((p) => encodeTask(options.task, JSON.stringify(p), options.signerKey, options.sign));
  return exchange(stream, frames, options.payloads.length, options.timeoutMs ?? TASK_RESULT_TIMEOUT_MS);
}

export async function submitTask(options: SubmitTaskOptions): Promise<TaskResultMessage> {
  const [result] = await submitTasks({ ...options, payloads: [options.payload] });
  return result!;
}

/**
 * Writes frames on a fresh stream and collects `expected` results (fewer if the worker ends the
 * stream early, e.g. after refusing a broken frame). Exported for tests that send hostile frames.
 */
export function exchange(stream: OverlayStream, frames: readonly Buffer[], expected: number, timeoutMs = TASK_RESULT_TIMEOUT_MS): Promise<TaskResultMessage[]> {
  return new Promise((resolve, reject) => {
    const decoder = taskDecoderForRequester();
    const results: TaskResultMessage[] = [];
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        stream.destroy();
        reject(error);
      } else {
        stream.end();
        resolve(results);
      }
    };
    const peerName = stream.peer.hostname ?? stream.peer.keyId.slice(0, 12);
    const timer = setTimeout(() => finish(new OverlayError('unreachable', `no result from ${peerName} within ${timeoutMs} ms (is its task worker running?)`)), timeoutMs);
    timer.unref();
    stream.on('data', (chunk: Buffer) => {
      const decoded = decoder.push(chunk);
      if (!decoded.ok) return finish(new OverlayError('bad_peer', `${peerName} sent a malformed result: ${decoded.error.message}`));
      results.push(...decoded.value);
      if (results.length >= expected) finish(null);
    });
    stream.on('end', () => {
      if (results.length > 0) finish(null);
      else finish(new OverlayError('closed', `${peerName} closed the task stream without a result`));
    });
    stream.on('error', (err: Error) => finish(new OverlayError('closed', `task stream to ${peerName} failed: ${err.message}`)));
    stream.on('close', () => finish(results.length > 0 ? null : new OverlayError('closed', `task stream to ${peerName} closed without a result`)));
    for (const f of frames) stream.write(f);
  });
}
