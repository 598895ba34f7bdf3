/**
 * NAT classification from two beacon answers (RFC 4787 mapping behaviour, the part that decides
 * whether hole punching can work). The node sends one probe to the registry port and one to the
 * beacon port, both from its one UDP socket:
 *
 * - an answer equal to one of our own endpoints: no NAT (a public address, or a 1:1 port-keeping
 *   forward we cannot tell apart from one);
 * - both answers the same ip:port: endpoint-independent mapping (a "cone" NAT): what a peer sees is
 *   what the registry saw, so a simultaneous send (hole punching) can open a direct path;
 * - two different answers: address/port-dependent mapping ("symmetric"): every destination gets a
 *   new port, the one the registry saw is useless to a peer, and only a relay is sure to work;
 * - fewer than two answers and none matching our own endpoint: unknown (beacon down, UDP
 *   filtered, or an old registry without a beacon).
 *
 * Both probes go to the same IP on different ports, so a NAT whose mapping depends on the
 * destination address but not its port would be reported as endpoint-independent; Linux
 * conntrack (MASQUERADE), consumer routers and cloud NAT gateways key on the full 5-tuple or
 * on nothing, so the port is what tells them apart in practice.
 */
import { endpointsEqual, formatEndpoint, type Endpoint } from './transport.ts';

export type NatType = 'none' | 'endpoint-independent' | 'symmetric' | 'unknown';

export function isNatType(v: unknown): v is NatType {
  return v === 'none' || v === 'endpoint-independent' || v === 'symmetric' || v === 'unknown';
}

export interface NatReport {
  type: NatType;
  /** The public endpoint the registry port saw (or the beacon port, if only it answered). */
  observed: string | null;
}

export interface NatObservation {
  /** The UDP port our socket is bound to. */
  localPort: number;
  /** This machine's own IP addresses (the socket may be bound to a wildcard). */
  localAddresses: readonly string[];
  /** What the registry port saw, or null without an answer. */
  viaRegistry: Endpoint | null;
  /** What the beacon port saw, or null without an answer. */
  viaBeacon: Endpoint | null;
}

/** `::ffff:1.2.3.4` (a dual-stack socket's view of an IPv4 peer) is the same address as `1.2.3.4`. */
function normalize(e: Endpoint): Endpoint {
  return e.host.startsWith('::ffff:') && e.host.includes('.') ? { host: e.host.slice(7), port: e.port } : e;
}

export function classifyNat(o: NatObservation): NatReport {
  const a = o.viaRegistry ? normalize(o.viaRegistry) : null;
  const b = o.viaBeacon ? normalize(o.viaBeacon) : null;
  const first = a ?? b;
  const observed = first ? formatEndpoint(first) : null;
  const local = new Set(o.localAddresses.map((h) => normalize({ host: h, port: 0 }).host));
  const isOwn = (e: Endpoint | null) => e !== null && e.port === o.localPort && local.has(e.host);
  if (isOwn(a) || isOwn(b)) return { type: 'none', observed };
  if (a === null || b === null) return { type: 'unknown', observed };
  return { type: endpointsEqual(a, b) ? 'endpoint-independent' : 'symmetric', observed };
}
