/**
 * Test support: real OverlayNodes on real UDP sockets on 127.0.0.1 that know each other, with
 * the trust gate under the test's control. Closed when the test ends.
 */
import type { TestContext } from 'node:test';
import { generateIdentity, keyId, type NodeIdentity } from '../identity.ts';
import { OverlayNode, type PeerContact } from '../node.ts';
import { UdpPacketConn } from '../transport.ts';

export interface LoopbackNode {
  readonly node: OverlayNode;
  readonly identity: NodeIdentity;
  readonly key: string;
  readonly hostname: string;
  /** Keys this node lets through its trust gate. */
  readonly trusted: Set<string>;
}

export function contactOf(n: { identity: NodeIdentity; node: OverlayNode; hostname: string }): PeerContact {
  const { identity, node, hostname } = n;
  return { identityKey: identity.publicKey, staticPublic: identity.staticKey.publicKey, staticSignature: identity.staticSignature, address: node.address, endpoints: [node.conn.local], hostname };
}

let nextNode = 0x500;

export async function loopbackNode(t: TestContext, hostname: string): Promise<LoopbackNode> {
  const identity = generateIdentity();
  const trusted = new Set<string>();
  const node = new OverlayNode({ identity, conn: await UdpPacketConn.bind('127.0.0.1', 0), trust: { isTrusted: (k) => trusted.has(k) }, address: { network: 1, node: nextNode++ } });
  t.after(() => node.close());
  return { node, identity, key: keyId(identity.publicKey), hostname, trusted };
}

/** Introduces two nodes to each other and opens both trust gates. */
export function trustEachOther(a: LoopbackNode, b: LoopbackNode): void {
  a.node.addContact(contactOf(b));
  b.node.addContact(contactOf(a));
  a.trusted.add(b.key);
  b.trusted.add(a.key);
}
