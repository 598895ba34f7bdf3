/**
 * Trust handshakes: requests waiting for this analyst's decision (pending), requests this node
 * sent (outgoing), the approve/reject state of each pending request, and the "Request trust" form.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConsoleApi, ConsoleCapability, HandshakeResultView, OutgoingRequestView, PeerRow, PendingRequestView } from '../../../core/console/api.ts';
import { BUSY, IDLE, toCallErrorView, withActivity, type ActionState, type CallErrorView } from './call-outcome.ts';

export interface TrustRequestFormState {
  busy: boolean;
  result: HandshakeResultView | null;
  error: CallErrorView | null;
}

export interface TrustRequestInput {
  target: string;
  justification: string;
  want: ConsoleCapability[];
  offer: ConsoleCapability[];
}

export interface HandshakesState {
  pending: readonly PendingRequestView[];
  outgoing: readonly OutgoingRequestView[];
  /** Approve/reject in progress or failed, by pending request id. */
  decisionActivity: Readonly<Record<string, ActionState>>;
  trustRequest: TrustRequestFormState;

  /**
   * Replaces both lists (a snapshot or a `requests` event) and returns the pending requests
   * that were not pending before, so the caller can tell the analyst about them.
   */
  replaceRequests(pending: readonly PendingRequestView[], outgoing: readonly OutgoingRequestView[]): PendingRequestView[];
  /** Approves a pending request with these capabilities; resolves with the peer's new row, or null on failure. */
  approve(request: PendingRequestView, capabilities: ConsoleCapability[]): Promise<PeerRow | null>;
  /** Rejects a pending request; resolves true when the service did it. */
  reject(request: PendingRequestView, reason: string): Promise<boolean>;
  clearDecisionOutcome(requestId: string): void;
  /** Asks a peer for trust (the "Request trust" form). */
  sendTrustRequest(input: TrustRequestInput): Promise<boolean>;
  clearTrustRequestOutcome(): void;
}

export type HandshakesStore = StoreApi<HandshakesState>;

const TRUST_REQUEST_IDLE: TrustRequestFormState = { busy: false, result: null, error: null };

export interface HandshakesStoreOptions {
  /** Called with the peer row an approve returned, so the peers table shows the new trust at once. */
  onPeerApproved?: (row: PeerRow) => void;
}

export function createHandshakesStore(api: ConsoleApi, options: HandshakesStoreOptions = {}): HandshakesStore {
  return createStore<HandshakesState>()((set, get) => {
    function setDecision(requestId: string, activity: ActionState | null): void {
      set({ decisionActivity: withActivity(get().decisionActivity, requestId, activity) });
    }

    /** Drops a decided request at once, so the list updates before the service's push arrives. */
    function removePending(requestId: string): void {
      const pending = get().pending.filter((request) => request.id !== requestId);
      if (pending.length !== get().pending.length) set({ pending });
    }

    return {
      pending: [],
      outgoing: [],
      decisionActivity: {},
      trustRequest: TRUST_REQUEST_IDLE,

      replaceRequests(pending, outgoing) {
        const before = new Set(get().pending.map((request) => request.id));
        const arrived = pending.filter((request) => !before.has(request.id));
        // Forget busy/error state of requests that are gone (decided elsewhere, e.g. with swarmctl).
        const stillPending = new Set(pending.map((request) => request.id));
        const activity = get().decisionActivity;
        const keptActivity = Object.fromEntries(Object.entries(activity).filter(([id]) => stillPending.has(id)));
        set({
          pending,
          outgoing,
          decisionActivity: Object.keys(keptActivity).length === Object.keys(activity).length ? activity : keptActivity,
        });
        return arrived;
      },

      async approve(request, capabilities) {
        setDecision(request.id, BUSY);
        try {
          const row = await api.call('approve', { peer: request.key, capabilities });
          setDecision(request.id, null);
          removePending(request.id);
          options.onPeerApproved?.(row);
          return row;
        } catch (error) {
          setDecision(request.id, { busy: false, error: toCallErrorView(error) });
          return null;
        }
      },

      async reject(request, reason) {
        setDecision(request.id, BUSY);
        try {
          await api.call('reject', { peer: request.key, reason });
          setDecision(request.id, null);
          removePending(request.id);
          return true;
        } catch (error) {
          setDecision(request.id, { busy: false, error: toCallErrorView(error) });
          return false;
        }
      },

      clearDecisionOutcome(requestId) {
        setDecision(requestId, null);
      },

      async sendTrustRequest(input) {
        set({ trustRequest: { busy: true, result: null, error: null } });
        try {
          const result = await api.call('handshake', input);
          set({ trustRequest: { busy: false, result, error: null } });
          return true;
        } catch (error) {
          set({ trustRequest: { busy: false, result: null, error: toCallErrorView(error) } });
          return false;
        }
      },

      clearTrustRequestOutcome() {
        set({ trustRequest: TRUST_REQUEST_IDLE });
      },
    };
  });
}

export const selectDecisionActivity =
  (requestId: string) =>
  (state: HandshakesState): ActionState =>
    state.decisionActivity[requestId] ?? IDLE;

export const selectPendingRequest =
  (requestId: string) =>
  (state: HandshakesState): PendingRequestView | undefined =>
    state.pending.find((request) => request.id === requestId);

export const selectPendingCount = (state: HandshakesState): number => state.pending.length;
