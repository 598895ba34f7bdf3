/**
 * NAT traversal wiring: a node's hole punching and relay go through the registry it registers
 * with. The registry forwards punch notices (we punch towards the peer that asked) and relays
 * frames when no direct path works; the node's path manager (node.ts) decides which path to use.
 */
import type { OverlayNode } from './node.ts';
import type { RegistryClient } from './registry-client.ts';
import { peerContactFromRecord } from './trust.ts';

/**
 * Connects `node` to the traversal services of `registry`. `reRegister` runs before a punch that
 * recovers a lost path: our NAT may have given us a new public port, which the registry (and
 * through it the peer and the relay) must learn first.
 */
export function connectTraversal(node: OverlayNode, registry: RegistryClient, reRegister: () => Promise<void>): void {
  registry.onPunchNotice((notice) => node.punchTowards(notice.endpoints, notice.token));
  node.setTraversal(registry.registry, {
    requestPunch: async (peerKeyId, token, reason) => {
      if (reason === 'recover') await reRegister().catch(() => {});
      return peerContactFromRecord(await registry.punch(peerKeyId, token));
    },
  });
}
