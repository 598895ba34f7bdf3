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
import { IDLE, toCallErrorView, type ActionState, type CallErrorView } from './call-outcome.ts';
import type { LoadPhase } from './incidents-store.ts';
import { sameList, sameRow } from './same-row.ts';

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

export interface DecisionsState {
  active: boolean;
  phase: LoadPhase;
  error: CallErrorView | null;
  refreshing: boolean;
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

function newer(held: DecisionRow | undefined, incoming: DecisionRow): boolean {
  return held === undefined || (incoming.updatedAt >= held.updatedAt && !sameRow(held, incoming));
}

export function createDecisionsStore(api: ConsoleApi): DecisionsStore {
  return createStore<DecisionsState>()((set, get) => {
    let loadGeneration = 0;
    let loadInFlight = false;
    let pushesDuringLoad: DecisionsPush[] = [];
    let snapshotsSeen = 0;

    function commit(byKey: Record<string, DecisionRow>): void {
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
      let byKey: Record<string, DecisionRow> | null = null;
      for (const row of rows) {
        const key = decisionKey(row);
        if (!newer((byKey ?? held)[key], row)) continue;
        (byKey ??= { ...held })[key] = row;
      }
      if (byKey) commit(byKey);
    }

    async function load(): Promise<void> {
      const generation = ++loadGeneration;
      loadInFlight = true;
      pushesDuringLoad = [];
      if (get().phase === 'ready') set({ refreshing: true });
      else set({ phase: 'loading', error: null });
      try {
        const { decisions } = await api.call('decisions', {});
        if (generation !== loadGeneration) return;
        const held = get().byKey;
        const byKey: Record<string, DecisionRow> = {};
        for (const row of decisions) {
          const key = decisionKey(row);
          const old = held[key];
          byKey[key] = old && !newer(old, row) ? old : row;
        }
        commit(byKey);
        for (const push of pushesDuringLoad) upsert(push.upsert);
        set({ phase: 'ready', error: null, refreshing: false });
      } catch (error) {
        if (generation !== loadGeneration) return;
        set({ refreshing: false, error: toCallErrorView(error), ...(get().phase === 'ready' ? {} : { phase: 'error' as const }) });
      } finally {
        if (generation === loadGeneration) {
          loadInFlight = false;
          pushesDuringLoad = [];
        }
      }
    }

    function setActivity(key: string, activity: ActionState | null): void {
      const { [key]: _previous, ...rest } = get().revokeActivity;
      set({ revokeActivity: activity ? { ...rest, [key]: activity } : rest });
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

      activate() {
        if (get().active) return;
        set({ active: true });
        void load();
      },

      refresh: load,

      applyPush(event) {
        if (!get().active) return;
        if (loadInFlight) pushesDuringLoad.push(event);
        upsert(event.upsert);
      },

      connectionRestored() {
        snapshotsSeen++;
        if (snapshotsSeen === 1 || !get().active) return;
        void load();
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
