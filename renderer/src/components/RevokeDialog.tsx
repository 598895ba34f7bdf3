import { peerDisplayName, selectPeer, selectRevokeActivity } from '../store/peers-store.ts';
import { CapabilityList } from './CapabilityList.tsx';
import { Fact } from './Fact.tsx';
import { ReasonDialog } from './ReasonDialog.tsx';
import { usePeers } from './store-hooks.ts';

/** Ends trust in a peer: from then on its packets are dropped like any stranger's. */
export function RevokeDialog({ peerKey, onClose }: { peerKey: string; onClose: () => void }) {
  const peer = usePeers(selectPeer(peerKey));
  const revoke = usePeers((state) => state.revoke);
  const clearOutcome = usePeers((state) => state.clearRevokeOutcome);
  const activity = usePeers(selectRevokeActivity(peerKey));
  if (!peer) return null;
  const hostname = peerDisplayName(peer);

  return (
    <ReasonDialog
      title={`Revoke ${hostname}`}
      purpose={`Sent to ${hostname} and kept in the audit log.`}
      confirm="Revoke"
      busyNote="Revoking…"
      activity={activity}
      decide={(reason) => revoke(peerKey, reason)}
      clearOutcome={() => clearOutcome(peerKey)}
      onClose={onClose}
    >
      <p className="dialog-lead">
        <strong>{hostname}</strong> (<span className="mono">{peer.address}</span>) loses every capability and its packets are dropped from now on. It
        has to ask for trust again to come back.
      </p>
      <dl className="dialog-facts">
        <Fact label="Fingerprint" className="mono fingerprint">
          {peer.fingerprint}
        </Fact>
        <Fact label="Granted">
          <CapabilityList capabilities={peer.capabilities} />
        </Fact>
      </dl>
    </ReasonDialog>
  );
}
