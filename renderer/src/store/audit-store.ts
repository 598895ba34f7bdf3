/**
 * The console node's audit log as the Audit view shows it: the newest entries and whether the
 * hash chain verifies. Read while the view is open: an `audit` push (the log grew) re-reads it,
 * a burst of pushes costs at most one read in flight and one after it. Only this store calls
 * `auditLog`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { AUDIT_PAGE_DEFAULT_LIMIT, AUDIT_PAGE_MAX_LIMIT, type AuditLogView, type ConsoleApi } from '../../../core/console/api.ts';
import { toCallErrorView, type CallErrorView } from './call-outcome.ts';
import type { LoadPhase } from './live-list-load.ts';

/** Entries a "Show more" adds. */
export const AUDIT_PAGE_STEP = AUDIT_PAGE_DEFAULT_LIMIT;

export interface AuditState {
  /** The Audit view is on screen: pushes re-read the log. */
  open: boolean;
  phase: LoadPhase;
  /** The last read failed (with a log on screen, it stays shown). */
  error: CallErrorView | null;
  refreshing: boolean;
  log: AuditLogView | null;
  /** Entries asked for (newest first). */
  limit: number;

  /** The view opened: read the log now and on every `audit` push until `closeView`. */
  openView(): void;
  closeView(): void;
  refresh(): Promise<void>;
  /** Reads more (older) entries, up to AUDIT_PAGE_MAX_LIMIT. */
  showMore(): Promise<void>;
  /** An `audit` push: the log grew. */
  applyAuditEvent(): void;
  connectionRestored(): void;
}

export type AuditStore = StoreApi<AuditState>;

export function createAuditStore(api: ConsoleApi): AuditStore {
  return createStore<AuditState>()((set, get) => {
    let reading: Promise<void> | null = null;
    let readAgain = false;

    async function readOnce(): Promise<void> {
      if (get().phase === 'ready') set({ refreshing: true });
      else set({ phase: 'loading', error: null });
      try {
        const log = await api.call('auditLog', { limit: get().limit });
        set({ log, phase: 'ready', error: null, refreshing: false });
      } catch (error) {
        set({ refreshing: false, error: toCallErrorView(error), ...(get().phase === 'ready' ? {} : { phase: 'error' as const }) });
      }
    }

    /** One read at a time; asked again while one runs, one more follows it (it sees every entry so far). */
    function read(): Promise<void> {
      if (reading) {
        readAgain = true;
        return reading;
      }
      reading = (async () => {
        try {
          do {
            readAgain = false;
            await readOnce();
          } while (readAgain && get().open);
        } finally {
          reading = null;
        }
      })();
      return reading;
    }

    return {
      open: false,
      phase: 'idle',
      error: null,
      refreshing: false,
      log: null,
      limit: AUDIT_PAGE_DEFAULT_LIMIT,

      openView() {
        if (get().open) return;
        set({ open: true });
        void read();
      },

      closeView() {
        if (get().open) set({ open: false });
      },

      refresh: read,

      async showMore() {
        const next = Math.min(AUDIT_PAGE_MAX_LIMIT, get().limit + AUDIT_PAGE_STEP);
        if (next === get().limit) return;
        set({ limit: next });
        await read();
      },

      applyAuditEvent() {
        if (get().open) void read();
      },

      connectionRestored() {
        if (get().open && get().phase !== 'idle') void read();
      },
    };
  });
}
