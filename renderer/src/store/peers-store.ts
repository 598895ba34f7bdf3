/**
 * Peers by key, plus the display order. A console may know a thousand peers and a `peers` event
 * usually changes one or two, so every row that did not change keeps its object identity: a
 * memoized table row compares its row with === and skips re-rendering.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ConsoleApi, PeerRow } from '../../../core/console/api.ts';
import { BUSY, IDLE, toCallErrorView, type ActionState } from './call-outcome.ts';

export interface PeersState {
  byKey: Readonly<Record<string, PeerRow>>;
  /** Keys in display order (hostname, then key). Same array object until a peer appears, goes or is renamed. */
  orderedKeys: readonly string[];
  /** Revoke in progress or failed, by peer key. */
  revokeActivity: Readonly<Record<string, ActionState>>;

  /** Replaces every row (a snapshot), reusing the objects of rows that did not change. */
  replaceAll(rows: readonly PeerRow[]): void;
  /** Applies a `peers` event: rows that changed or appeared, keys that are gone. */
  applyChanges(upsert: readonly PeerRow[], remove: readonly string[]): void;
  /** Revokes trust in a peer; resolves true when the service did it. */
  revoke(peerKey: string, reason: string): Promise<boolean>;
  clearRevokeOutcome(peerKey: string): void;
}

export type PeersStore = StoreApi<PeersState>;

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => item === b[index]);
  return false;
}

/** True when two rows show the same thing; compares every field, so fields added to PeerRow later count too. */
export function samePeerRow(a: PeerRow, b: PeerRow): boolean {
  const left = a as unknown as Record<string, unknown>;
  const right = b as unknown as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => sameValue(left[key], right[key]));
}

function displayOrder(byKey: Readonly<Record<string, PeerRow>>): string[] {
  return Object.values(byKey)
    .sort((a, b) => a.hostname.localeCompare(b.hostname) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((row) => row.key);
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, index) => key === b[index]);
}

export function createPeersStore(api: ConsoleApi): PeersStore {
  return createStore<PeersState>()((set, get) => {
    /** Keeps the previous order array when the order did not change, so the table does not re-render. */
    function commit(byKey: Record<string, PeerRow>, orderMayHaveChanged: boolean): void {
      const previous = get();
      let orderedKeys = previous.orderedKeys;
      if (orderMayHaveChanged) {
        const next = displayOrder(byKey);
        if (!sameKeys(next, previous.orderedKeys)) orderedKeys = next;
      }
      set({ byKey, orderedKeys });
    }

    return {
      byKey: {},
      orderedKeys: [],
      revokeActivity: {},

      replaceAll(rows) {
        const previous = get().byKey;
        const byKey: Record<string, PeerRow> = {};
        let changed = Object.keys(previous).length !== rows.length;
        let orderMayHaveChanged = changed;
        for (const row of rows) {
          const old = previous[row.key];
          if (old && samePeerRow(old, row)) {
            byKey[row.key] = old;
          } else {
            byKey[row.key] = row;
            changed = true;
            if (!old || old.hostname !== row.hostname) orderMayHaveChanged = true;
          }
        }
        if (changed) commit(byKey, orderMayHaveChanged);
      },

      applyChanges(upsert, remove) {
        const previous = get().byKey;
        const byKey: Record<string, PeerRow> = { ...previous };
        let changed = false;
        let orderMayHaveChanged = false;
        for (const key of remove) {
          if (key in byKey) {
            delete byKey[key];
            changed = true;
            orderMayHaveChanged = true;
          }
        }
        for (const row of upsert) {
          const old = byKey[row.key];
          if (old && samePeerRow(old, row)) continue;
          byKey[row.key] = row;
          changed = true;
          if (!old || old.hostname !== row.hostname) orderMayHaveChanged = true;
        }
        if (changed) commit(byKey, orderMayHaveChanged);
      },

      async revoke(peerKey, reason) {
        set({ revokeActivity: { ...get().revokeActivity, [peerKey]: BUSY } });
        try {
          await api.call('revoke', { peer: peerKey, reason });
          const { [peerKey]: _done, ...rest } = get().revokeActivity;
          set({ revokeActivity: rest });
          return true;
        } catch (error) {
          set({ revokeActivity: { ...get().revokeActivity, [peerKey]: { busy: false, error: toCallErrorView(error) } } });
          return false;
        }
      },

      clearRevokeOutcome(peerKey) {
        const { [peerKey]: _cleared, ...rest } = get().revokeActivity;
        set({ revokeActivity: rest });
      },
    };
  });
}

// Selectors. Components pass these to the store hook, so each re-renders only when its slice changes.

export const selectPeer =
  (peerKey: string) =>
  (state: PeersState): PeerRow | undefined =>
    state.byKey[peerKey];

export const selectRevokeActivity =
  (peerKey: string) =>
  (state: PeersState): ActionState =>
    state.revokeActivity[peerKey] ?? IDLE;

/** What to call a peer in the UI: its hostname, or its address when it never told us one (unique either way). */
export function peerDisplayName(row: PeerRow): string {
  return row.hostname || row.address || row.fingerprint;
}

export const selectPeerCount = (state: PeersState): number => state.orderedKeys.length;

function normalizedFingerprint(text: string): string {
  return text.toUpperCase().replace(/[^0-9A-F]/g, '');
}

/** Whether a peer matches what the analyst typed in the filter: hostname, address, fingerprint, trust or key. */
export function peerMatchesFilter(row: PeerRow, filter: string): boolean {
  const needle = filter.trim().toLowerCase();
  if (needle === '') return true;
  if (row.hostname.toLowerCase().includes(needle) || row.address.toLowerCase().includes(needle) || row.trust.includes(needle) || row.key.toLowerCase().includes(needle)) return true;
  const hex = normalizedFingerprint(needle);
  return hex.length >= 4 && normalizedFingerprint(row.fingerprint).includes(hex);
}

/** Keys to show for a filter, in display order. Use with a shallow-equal hook so the table re-renders only when the list changes. */
export const selectVisiblePeerKeys =
  (filter: string) =>
  (state: PeersState): readonly string[] => {
    if (filter.trim() === '') return state.orderedKeys;
    return state.orderedKeys.filter((key) => {
      const row = state.byKey[key];
      return row !== undefined && peerMatchesFilter(row, filter);
    });
  };
