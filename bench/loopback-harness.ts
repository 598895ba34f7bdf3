/**
 * What the loopback throughput benchmarks (overlay.bench.ts, stream.bench.ts) share: a receiver in
 * a child process that learns the sender's contact over IPC, UDP sockets with the same kernel
 * buffers as UdpPacketConn, waiting for a given IPC message with a timeout, and rounding.
 */
import type { ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { Address } from '../core/overlay/address.ts';
import type { NodeIdentity } from '../core/overlay/identity.ts';
import type { PeerContact } from '../core/overlay/node.ts';

export const LOOPBACK = '127.0.0.1';
/** Same as UdpPacketConn, so raw and overlay sockets have the same kernel buffers. */
export const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
export const IPC_TIMEOUT_MS = 15_000;

/** A contact as it crosses the IPC channel (hex, because Buffers do not survive JSON). */
export interface WireContact {
  identityKey: string;
  staticPublic: string;
  staticSignature: string;
  address: Address;
  endpoint: { host: string; port: number };
}

export function toWireContact(identity: NodeIdentity, address: Address, endpoint: { host: string; port: number }): WireContact {
  return {
    identityKey: identity.publicKey.toString('hex'),
    staticPublic: identity.staticKey.publicKey.toString('hex'),
    staticSignature: identity.staticSignature.toString('hex'),
    address,
    endpoint,
  };
}

export function fromWireContact(c: WireContact): PeerContact {
  return {
    identityKey: Buffer.from(c.identityKey, 'hex'),
    staticPublic: Buffer.from(c.staticPublic, 'hex'),
    staticSignature: Buffer.from(c.staticSignature, 'hex'),
    address: c.address,
    endpoints: [c.endpoint],
    hostname: 'bench-receiver',
  };
}

export function bindUdp(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, LOOPBACK, () => {
      socket.off('error', reject);
      socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
      socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
      resolve(socket);
    });
  });
}

/** The next IPC message of `type` from the receiver; rejects if it exits or stays silent too long. */
export function nextMessage<M extends { type: string }, T extends M['type']>(child: ChildProcess, type: T): Promise<Extract<M, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: M) => {
      if (msg.type !== type) return;
      done();
      resolve(msg as Extract<M, { type: T }>);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`the receiver process exited (code ${code}) while the benchmark waited for "${type}"`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the receiver process did not answer "${type}" within ${IPC_TIMEOUT_MS} ms`));
    }, IPC_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function ratioOf(value: number, peer: number): number {
  return round(value / peer, 3);
}
