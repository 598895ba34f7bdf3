/**
 * The node's side of the beacon: sends probes from the node's own UDP socket (the mapping we want
 * to learn is that socket's) and classifies the NAT from the answers (see nat-type.ts).
 */
import { networkInterfaces } from 'node:os';
import { decodeAnswer, encodeProbe, MSG_BEACON_ANSWER, newProbeNonce } from './beacon-protocol.ts';
import { classifyNat, type NatReport } from './nat-type.ts';
import type { OverlayNode } from './node.ts';
import { endpointsEqual, type Endpoint } from './transport.ts';

/**
 * Resend an unanswered probe after these delays: about 1.75 s in all. Probes are lost like any
 * datagram, and the first packet through a NAT sometimes waits on its conntrack entry.
 */
const PROBE_RETRY_MS = [250, 500, 1000];

interface Waiting {
  target: Endpoint;
  resolve: (observed: Endpoint) => void;
}

export interface BeaconClientOptions {
  node: OverlayNode;
  /** The registry key pinned on first contact (base64url): answers must be signed with it. */
  registryKey: () => string | null;
  retryMs?: number[];
  /** This machine's addresses (default: every interface's); injectable for tests. */
  localAddresses?: () => string[];
}

/**
 * Where a peer on the same LAN could reach this machine's socket: its IPv4 addresses that are
 * not loopback or link-local, with `port`. Two nodes behind one NAT that does not hairpin (many
 * cloud NAT gateways do not) reach each other this way instead of through the relay.
 */
export function lanCandidates(port: number, max = 4): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal && !i.address.startsWith('169.254.'))
    .slice(0, max)
    .map((i) => `${i.address}:${port}`);
}

export function machineAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => i.address);
}

export class BeaconClient {
  readonly #node: OverlayNode;
  readonly #registryKey: () => string | null;
  readonly #retryMs: number[];
  readonly #localAddresses: () => string[];
  /** Outstanding probes by nonce (hex). */
  readonly #waiting = new Map<string, Waiting>();
  readonly stats = { answers: 0, rejected: 0 };

  constructor(options: BeaconClientOptions) {
    this.#node = options.node;
    this.#registryKey = options.registryKey;
    this.#retryMs = options.retryMs ?? PROBE_RETRY_MS;
    this.#localAddresses = options.localAddresses ?? machineAddresses;
    options.node.onUnderlay(MSG_BEACON_ANSWER, (data, from) => this.#onAnswer(data, from));
  }

  #onAnswer(data: Buffer, from: Endpoint): void {
    const key = this.#registryKey();
    if (key === null) return;
    const decoded = decodeAnswer(data, Buffer.from(key, 'base64url'));
    if (!decoded.ok) {
      this.stats.rejected++;
      return;
    }
    const id = decoded.value.nonce.toString('hex');
    const waiting = this.#waiting.get(id);
    // Only the endpoint we asked may answer a probe: a signed answer replayed from elsewhere
    // could otherwise swap the two observations.
    if (!waiting || !endpointsEqual(waiting.target, from)) {
      this.stats.rejected++;
      return;
    }
    this.stats.answers++;
    waiting.resolve(decoded.value.observed);
  }

  /** Asks `target` what our socket looks like from there; null if no valid answer came in time. */
  probe(target: Endpoint): Promise<Endpoint | null> {
    if (this.#registryKey() === null) return Promise.resolve(null);
    return new Promise((resolve) => {
      const nonces: string[] = [];
      let attempt = 0;
      let timer: NodeJS.Timeout | null = null;
      const finish = (observed: Endpoint | null) => {
        if (timer) clearTimeout(timer);
        for (const n of nonces) this.#waiting.delete(n);
        resolve(observed);
      };
      const send = () => {
        if (attempt > this.#retryMs.length) return finish(null);
        const nonce = newProbeNonce();
        nonces.push(nonce.toString('hex'));
        this.#waiting.set(nonce.toString('hex'), { target, resolve: finish });
        this.#node.sendUnderlay(encodeProbe(nonce), target);
        // Not unref'd: a classification is bounded (under 2 s) and should finish, not vanish.
        timer = setTimeout(send, this.#retryMs[attempt++] ?? 0);
      };
      send();
    });
  }

  /** Probes the registry port and the beacon port at once and classifies the NAT. */
  async classify(registry: Endpoint, beacon: Endpoint): Promise<NatReport> {
    const [viaRegistry, viaBeacon] = await Promise.all([this.probe(registry), this.probe(beacon)]);
    return classifyNat({ localPort: this.#node.conn.local.port, localAddresses: this.#localAddresses(), viaRegistry, viaBeacon });
  }
}
