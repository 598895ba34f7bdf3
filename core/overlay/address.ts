/**
 * Virtual addresses: 48 bits = 16-bit network ID + 32-bit node ID (Pilot Protocol v0.5).
 *
 * Text form `N:NNNN.HHHH.LLLL`: N is the network in decimal, NNNN the same network in hex (the
 * two must agree, which catches typos), HHHH.LLLL the node ID as two groups of four hex digits.
 * A socket address appends `:port` (0-65535).
 */
import { fail, ok, type DecodeError, type Result } from './result.ts';

export interface Address {
  readonly network: number; // 0..0xFFFF
  readonly node: number; // 0..0xFFFFFFFF
}

export interface SocketAddress extends Address {
  readonly port: number; // 0..0xFFFF
}

export const NODE_UNSPECIFIED = 0;
export const NODE_REGISTRY = 1;
export const NODE_BEACON = 2;
export const NODE_NAMESERVER = 3;
export const NODE_BROADCAST = 0xffffffff;

/** Node IDs a registry must never hand to an ordinary node. */
export function isReservedNodeId(node: number): boolean {
  return node <= NODE_NAMESERVER || node === NODE_BROADCAST;
}

export const PORT_PING = 0;
export const PORT_ECHO = 7;
export const PORT_TRUST = 444;
export const PORT_DATA = 1001;
export const PORT_EVENTS = 1002;
export const PORT_TASKS = 1003;
export const EPHEMERAL_PORT_MIN = 49152;
export const EPHEMERAL_PORT_MAX = 65535;

export type AddressErrorCode = 'address_syntax' | 'address_range' | 'address_network_mismatch';
export type AddressError = DecodeError<AddressErrorCode>;

const ADDRESS_PATTERN = /^(\d{1,5}):([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})$/;
const SOCKET_PATTERN = /^(.+):(\d{1,5})$/;

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

export function formatAddress(address: Address): string {
  return `${address.network}:${hex4(address.network)}.${hex4(address.node >>> 16)}.${hex4(address.node & 0xffff)}`;
}

export function formatSocketAddress(address: SocketAddress): string {
  return `${formatAddress(address)}:${address.port}`;
}

export function parseAddress(text: string): Result<Address, AddressError> {
  if (typeof text !== 'string' || text.length > 32) {
    return fail('address_syntax', 'an address looks like 1:0001.F291.0004');
  }
  const m = ADDRESS_PATTERN.exec(text.trim());
  if (!m) return fail('address_syntax', `"${text}" is not an address (expected N:NNNN.HHHH.LLLL, e.g. 1:0001.F291.0004)`);
  const network = Number(m[1]);
  if (network > 0xffff) return fail('address_range', `network ${network} is out of range (0-65535)`);
  const networkHex = parseInt(m[2] as string, 16);
  if (networkHex !== network) {
    return fail(
      'address_network_mismatch',
      `"${text}": the first hex group (${m[2]}) must repeat network ${network} (${hex4(network)})`,
    );
  }
  const node = ((parseInt(m[3] as string, 16) << 16) >>> 0) + parseInt(m[4] as string, 16);
  return ok({ network, node });
}

export function parseSocketAddress(text: string): Result<SocketAddress, AddressError> {
  if (typeof text !== 'string' || text.length > 40) {
    return fail('address_syntax', 'a socket address looks like 1:0001.F291.0004:1000');
  }
  const m = SOCKET_PATTERN.exec(text.trim());
  if (!m) return fail('address_syntax', `"${text}" is not a socket address (expected N:NNNN.HHHH.LLLL:PORT)`);
  const port = Number(m[2]);
  if (port > 0xffff) return fail('address_range', `port ${port} is out of range (0-65535)`);
  const address = parseAddress(m[1] as string);
  if (!address.ok) return address;
  return ok({ ...address.value, port });
}

export function addressEquals(a: Address, b: Address): boolean {
  return a.network === b.network && a.node === b.node;
}

/** A compact map key for an address. */
export function addressKey(a: Address): string {
  return `${a.network}/${a.node}`;
}
