import { useState, type FormEvent } from 'react';
import { peerDisplayName, selectPeer, selectRevokeActivity } from '../store/peers-store.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { CapabilityList } from './CapabilityList.tsx';
import { ModalDialog } from './ModalDialog.tsx';
import { ReasonField, reasonFits } from './ReasonField.tsx';
import { usePeers } from './store-hooks.ts';

/** Ends trust in a peer: from then on its packets are dropped like any stranger's. */
export function RevokeDialog({ peerKey, onClose }: { peerKey: string; onClose: () => void }) {
  const peer = usePeers(selectPeer(peerKey));
  const revoke = usePeers((state) => state.revoke);
  const clearOutcome = usePeers((state) => state.clearRevokeOutcome);
  const activity = usePeers(selectRevokeActivity(peerKey));
  const [reason, setReason] = useState('');
  if (!peer) return null;
  const hostname = peerDisplayName(peer);

  const close = () => {
    if (!activity.busy) clearOutcome(peerKey);
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (activity.busy || !reasonFits(reason)) return;
    if (await revoke(peerKey, reason.trim())) onClose();
  };

  return (
    <ModalDialog title={`Revoke ${hostname}`} onClose={close}>
      <form className="dialog-form" onSubmit={submit}>
        <p className="dialog-lead">
          <strong>{hostname}</strong> (<span className="mono">{peer.address}</span>) loses every capability and its packets are dropped from now on. It
          has to ask for trust again to come back.
        </p>
        <dl className="dialog-facts">
          <div>
            <dt>Fingerprint</dt>
            <dd className="mono fingerprint">{peer.fingerprint}</dd>
          </div>
          <div>
            <dt>Granted</dt>
            <dd>
              <CapabilityList capabilities={peer.capabilities} />
            </dd>
          </div>
        </dl>
        <ReasonField value={reason} onChange={setReason} purpose={`Sent to ${hostname} and kept in the audit log.`} />
        <CallErrorAlert error={activity.error} />
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="btn btn--danger" aria-disabled={activity.busy || !reasonFits(reason) || undefined}>
            Revoke
          </button>
        </div>
        {activity.busy ? (
          <p className="busy-note" role="status">
            Revoking…
          </p>
        ) : null}
      </form>
    </ModalDialog>
  );
}
