/**
 * The blocks executors reported: the Decisions view's active list (with a live countdown drawn
 * from `expiresAt`), the ended ones, and revoking a block. Only this store calls `decisions` and
 * `revokeDecision`.
 *
 * A decision is keyed by executor + request id. Loaded when the view first opens; from then on
 * `decisions` pushes upsert rows, a row being replaced only by one at least as new (updatedAt),
 * and pushes that arrive during a read are applied on top of its answer.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConsoleApi, ConsoleEvent, DecisionRow } from '../../../core/console/api.ts';
import { IDLE, toCallErrorView, withActivity, type ActionState } from './call-outcome.ts';
import { createLiveListLoad, type LiveListStatus } from './live-list-load.ts';
import { rowsOfRead, sameList, upsertRows } from './same-row.ts';

export type DecisionsPush = Extract<ConsoleEvent, { type: 'decisions' }>;

/**
 * States in which a block no longer stands (or never stood). `superseded`: a later request for
 * the same CIDR on the same executor took its place. Anything else (`applied`, `accepted` while
 * the firewall is being changed) is a block in force.
 */
export const ENDED_DECISION_STATES: readonly string[] = ['refused', 'failed', 'expired', 'revoked', 'superseded'];

export function decisionKey(row: Pick<DecisionRow, 'executor' | 'requestId'>): string {
  return `${row.executor}/${row.requestId}`;
}

/** A block in force: the active list. Unblock requests and ended blocks are history. */
export function isActiveDecision(row: DecisionRow): boolean {
  return row.action === 'block' && !ENDED_DECISION_STATES.includes(row.state);
}

export interface DecisionsState extends LiveListStatus {
  byKey: Readonly<Record<string, DecisionRow>>;
  /** Blocks in force, newest first. Same array while it holds the same keys in the same order. */
  activeKeys: readonly string[];
  /** Ended blocks and unblock requests, most recently changed first. */
  endedKeys: readonly string[];
  revokeActivity: Readonly<Record<string, ActionState>>;

  activate(): void;
  refresh(): Promise<void>;
  applyPush(event: DecisionsPush): void;
  connectionRestored(): void;
  /** Asks the executor to lift a block now; resolves true when the service did. */
  revoke(key: string, reason: string): Promise<boolean>;
  clearRevokeOutcome(key: string): void;
}

export type DecisionsStore = StoreApi<DecisionsState>;

/** Active blocks: newest applied first. */
function compareActive(a: DecisionRow, b: DecisionRow): number {
  return (b.appliedAt ?? b.updatedAt) - (a.appliedAt ?? a.updatedAt) || decisionKey(b).localeCompare(decisionKey(a));
}

function compareEnded(a: DecisionRow, b: DecisionRow): number {
  return b.updatedAt - a.updatedAt || decisionKey(b).localeCompare(decisionKey(a));
}

export function createDecisionsStore(api: ConsoleApi): DecisionsStore {
  return createStore<DecisionsState>()((set, get) => {
    function commit(byKey: Readonly<Record<string, DecisionRow>>): void {
      const rows = Object.values(byKey);
      const activeKeys = rows.filter(isActiveDecision).sort(compareActive).map(decisionKey);
      const endedKeys = rows
        .filter((row) => !isActiveDecision(row))
        .sort(compareEnded)
        .map(decisionKey);
      const previous = get();
      set({
        byKey,
        activeKeys: sameList(previous.activeKeys, activeKeys) ? previous.activeKeys : activeKeys,
        endedKeys: sameList(previous.endedKeys, endedKeys) ? previous.endedKeys : endedKeys,
      });
    }

    function upsert(rows: readonly DecisionRow[]): void {
      const held = get().byKey;
      const byKey = upsertRows(held, rows, decisionKey);
      if (byKey !== held) commit(byKey);
    }

    const live = createLiveListLoad(
      { get, set },
      {
        read: () => api.call('decisions', {}),
        applyRead: ({ decisions }) => commit(rowsOfRead(get().byKey, decisions, decisionKey)),
        applyPush: (push: DecisionsPush) => upsert(push.upsert),
      },
    );

    function setActivity(key: string, activity: ActionState | null): void {
      set({ revokeActivity: withActivity(get().revokeActivity, key, activity) });
    }

    return {
      active: false,
      phase: 'idle',
      error: null,
      refreshing: false,
      byKey: {},
      activeKeys: [],
      endedKeys: [],
      revokeActivity: {},

      activate: live.activate,
      refresh: live.load,

      applyPush(event) {
        live.push(event);
      },

      connectionRestored() {
        live.connectionRestored();
      },

      async revoke(key, reason) {
        const row = get().byKey[key];
        if (!row || get().revokeActivity[key]?.busy) return false;
        setActivity(key, { busy: true, error: null });
        try {
          const updated = await api.call('revokeDecision', { executor: row.executor, requestId: row.requestId, reason });
          upsert([updated]);
          setActivity(key, null);
          return true;
        } catch (error) {
          setActivity(key, { busy: false, error: toCallErrorView(error) });
          return false;
        }
      },

      clearRevokeOutcome(key) {
        const activity = get().revokeActivity[key];
        if (activity && !activity.busy) setActivity(key, null);
      },
    };
  });
}

// Selectors.

export const selectDecision =
  (key: string) =>
  (state: DecisionsState): DecisionRow | undefined =>
    state.byKey[key];

export const selectRevokeActivity =
  (key: string) =>
  (state: DecisionsState): ActionState =>
    state.revokeActivity[key] ?? IDLE;
