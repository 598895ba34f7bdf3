/**
 * The node's side of the registry protocol, spoken over the node's own UDP socket. Each attempt
 * is a fresh signed request (the registry refuses replayed nonces); an answer to any attempt
 * completes the call.
 */
import { SwarmError } from './errors.ts';
import type { OverlayNode } from './node.ts';
import {
  decodeResponse,
  encodeRequest,
  MSG_REGISTRY_RESPONSE,
  type LookupPurpose,
  type PublicRecord,
  type RegisterBody,
  type ResponseBody,
} from './registry-protocol.ts';
import { decodePunchNotice, MSG_PUNCH_NOTICE, PUNCH_NOTICE_FRESHNESS_MS, type PunchNotice } from './relay-protocol.ts';
import { endpointsEqual, formatEndpoint, type Endpoint } from './transport.ts';

export type RegistryErrorCode = 'registry_unreachable' | 'registry_refused' | 'registry_key_mismatch';

export class RegistryError extends SwarmError<RegistryErrorCode> {
  /** The registry's own error code when it refused (e.g. not_found, hostname_taken). */
  readonly reason: string;
  constructor(code: RegistryErrorCode, reason: string, message: string, hint: string) {
    super(code, message, hint);
    this.reason = reason;
  }
}

/** Attempt timeouts: about 3.5 s in all before the registry counts as unreachable. */
const ATTEMPT_TIMEOUTS_MS = [250, 500, 1000, 1750];

interface Pending {
  resolve: (body: ResponseBody) => void;
  nonces: string[];
}

export interface RegistryClientOptions {
  node: OverlayNode;
  registry: Endpoint;
  /** The registry key pinned on first contact, if any. */
  pinnedKey: string | null;
  /** Called once when the first verified answer pins the registry's key. */
  onPin?: (key: string) => void;
  attemptTimeoutsMs?: number[];
}

export class RegistryClient {
  readonly registry: Endpoint;
  #node: OverlayNode;
  #pinnedKey: string | null;
  #onPin: (key: string) => void;
  #pending = new Map<string, Pending>();
  #timeouts: number[];
  #onPunchNotice: ((notice: PunchNotice) => void) | null = null;
  /** Tokens of notices acted on recently (a notice is acted on once). */
  #seenTokens = new Map<string, number>();
  readonly stats = { punchNotices: 0, punchNoticesRejected: 0 };
  /** Set when answers arrive signed by a key other than the pinned one. */
  keyMismatch = false;

  constructor(options: RegistryClientOptions) {
    this.#node = options.node;
    this.registry = options.registry;
    this.#pinnedKey = options.pinnedKey;
    this.#onPin = options.onPin ?? (() => {});
    this.#timeouts = options.attemptTimeoutsMs ?? ATTEMPT_TIMEOUTS_MS;
    options.node.onUnderlay(MSG_REGISTRY_RESPONSE, (data, from) => this.#onResponse(data, from));
  }

  /** Only the registry, signing with the pinned key, recently, once per token, may ask us to punch. */
  #onNotice(data: Buffer, from: Endpoint): void {
    if (!endpointsEqual(from, this.registry)) return; // another client's (a separate beacon's)
    const key = this.#pinnedKey;
    const decoded = key !== null ? decodePunchNotice(data, Buffer.from(key, 'base64url')) : null;
    const now = Date.now();
    if (!decoded?.ok || Math.abs(now - decoded.value.ts) > PUNCH_NOTICE_FRESHNESS_MS || this.#seenTokens.has(decoded.value.token)) {
      this.stats.punchNoticesRejected++;
      return;
    }
    if (this.#seenTokens.size >= 4096) {
      for (const [token, at] of this.#seenTokens) if (now - at > 2 * PUNCH_NOTICE_FRESHNESS_MS) this.#seenTokens.delete(token);
      if (this.#seenTokens.size >= 4096) this.#seenTokens.clear();
    }
    this.#seenTokens.set(decoded.value.token, now);
    this.stats.punchNotices++;
    this.#onPunchNotice?.(decoded.value);
  }

  /** Called with each verified, fresh, first-seen punch notice (a peer asks us to punch). */
  onPunchNotice(handler: (notice: PunchNotice) => void): void {
    if (this.#onPunchNotice === null) this.#node.onUnderlay(MSG_PUNCH_NOTICE, (data, from) => this.#onNotice(data, from));
    this.#onPunchNotice = handler;
  }

  get registryKey(): string | null {
    return this.#pinnedKey;
  }

  #onResponse(data: Buffer, from: Endpoint): void {
    if (from.port !== this.registry.port || from.host !== this.registry.host) return;
    const decoded = decodeResponse(data, this.#pinnedKey);
    if (!decoded.ok) {
      if (decoded.error.code === 'registry_key_mismatch') this.keyMismatch = true;
      return;
    }
    const body = decoded.value;
    const pending = this.#pending.get(body.re);
    if (!pending) return;
    if (this.#pinnedKey === null) {
      this.#pinnedKey = body.registry_key;
      this.#onPin(body.registry_key);
    }
    for (const n of pending.nonces) this.#pending.delete(n);
    pending.resolve(body);
  }

  async #call(body: Parameters<typeof encodeRequest>[1]): Promise<ResponseBody> {
    const where = formatEndpoint(this.registry);
    return new Promise<ResponseBody>((resolve, reject) => {
      const pending: Pending = { resolve, nonces: [] };
      let attempt = 0;
      let timer: NodeJS.Timeout | null = null;
      const send = () => {
        if (attempt >= this.#timeouts.length) {
          for (const n of pending.nonces) this.#pending.delete(n);
          if (this.keyMismatch) {
            reject(
              new RegistryError(
                'registry_key_mismatch',
                'key_mismatch',
                `the registry at ${where} answered with a different key than the one pinned on first contact`,
                'if the registry was reinstalled on purpose, restart the daemon with --registry-key <new key>; otherwise treat it as an impersonation attempt',
              ),
            );
          } else {
            reject(new RegistryError('registry_unreachable', 'unreachable', `registry ${where} did not answer`, 'is `swarmctl registry serve` running there, and is UDP allowed?'));
          }
          return;
        }
        const { nonce, bytes } = encodeRequest(this.#node.identity, body);
        pending.nonces.push(nonce);
        this.#pending.set(nonce, pending);
        this.#node.sendUnderlay(bytes, this.registry);
        timer = setTimeout(send, this.#timeouts[attempt++]);
        timer.unref();
      };
      pending.resolve = (answer) => {
        if (timer) clearTimeout(timer);
        resolve(answer);
      };
      send();
    });
  }

  #refused(body: ResponseBody, what: string): RegistryError {
    const code = body.error?.code ?? 'refused';
    const hints: Record<string, string> = {
      not_found: "is the peer's daemon running and registered with this registry?",
      hostname_taken: 'pick another --hostname, or start with the state directory that owns this name',
      not_registered: 'the daemon re-registers every 30 s; try again in a moment',
      stale: 'fix the clock (NTP) on this machine',
      rate_limited: 'wait a minute and try again',
    };
    return new RegistryError(
      'registry_refused',
      code,
      `${what}: ${body.error?.message ?? 'refused by the registry'} (registry ${formatEndpoint(this.registry)})`,
      hints[code] ?? 'see the registry log',
    );
  }

  /** Registers; `beacon` is where the registry's beacon port is, if it runs one. */
  async register(body: Omit<RegisterBody, 'op'>): Promise<{ address: string; observed: string; beacon: Endpoint | null }> {
    const answer = await this.#call({ op: 'register', ...body });
    if (!answer.ok || !answer.address || !answer.observed) throw this.#refused(answer, `registering ${body.hostname} failed`);
    const beacon = answer.beacon_port !== undefined ? { host: this.registry.host, port: answer.beacon_port } : null;
    return { address: answer.address, observed: answer.observed, beacon };
  }

  async lookup(target: string, purpose: LookupPurpose): Promise<PublicRecord> {
    const answer = await this.#call({ op: 'lookup', target, purpose });
    if (!answer.ok || !answer.record) throw this.#refused(answer, `lookup of ${target} failed`);
    return answer.record;
  }

  /**
   * Asks the registry to have `target` punch towards us with `token` (hex); resolves with the
   * target's record as the registry knows it now (fresh endpoints, when it may disclose them).
   */
  async punch(target: string, token: string): Promise<PublicRecord> {
    const answer = await this.#call({ op: 'punch', target, token });
    if (!answer.ok || !answer.record) throw this.#refused(answer, `punch request for ${target} failed`);
    return answer.record;
  }

  async unregister(): Promise<void> {
    const answer = await this.#call({ op: 'unregister' });
    if (!answer.ok) throw this.#refused(answer, 'unregister failed');
  }
}
