/**
 * Loading a list that is read when its view first opens and kept current by pushes from then on
 * (incidents, decisions). Pushes that arrive while a read is in flight are applied again on top
 * of its answer, so a push that raced a read is never lost; a read overtaken by a newer one is
 * dropped. After a reconnect (every snapshot but the first) pushes may have been missed, so the
 * list is read again. With a list on screen a failed re-read keeps it and says so.
 */
import { toCallErrorView, type CallErrorView } from './call-outcome.ts';

export type LoadPhase = 'idle' | 'loading' | 'ready' | 'error';

/** The part of a store's state the loader owns. */
export interface LiveListStatus {
  /** The view has been opened: from then on the list is loaded and follows pushes. */
  active: boolean;
  phase: LoadPhase;
  error: CallErrorView | null;
  /** A re-read (reconnect, Retry) is running while the list stays on screen. */
  refreshing: boolean;
}

export interface LiveListSource<Answer, Push> {
  read(): Promise<Answer>;
  /** Puts a read's answer in the store (keeping rows that did not change). */
  applyRead(answer: Answer): void;
  /** Upserts a push's rows. */
  applyPush(push: Push): void;
}

export interface LiveListLoad<Push> {
  /** Reads the list the first time the view opens; later calls do nothing. */
  activate(): void;
  /** Reads the list (again). */
  load(): Promise<void>;
  /** Applies a push; false (and nothing applied) while the view has never been opened. */
  push(event: Push): boolean;
  /** The service pushed a snapshot; true when it was a reconnect and the list is being re-read. */
  connectionRestored(): boolean;
}

export function createLiveListLoad<Answer, Push>(
  status: { get(): LiveListStatus; set(partial: Partial<LiveListStatus>): void },
  source: LiveListSource<Answer, Push>,
): LiveListLoad<Push> {
  let loadGeneration = 0;
  let loadInFlight = false;
  /** Pushes that arrived while a read was in flight: applied again on top of its answer. */
  let pushesDuringLoad: Push[] = [];
  let snapshotsSeen = 0;

  async function load(): Promise<void> {
    const generation = ++loadGeneration;
    loadInFlight = true;
    pushesDuringLoad = [];
    if (status.get().phase === 'ready') status.set({ refreshing: true });
    else status.set({ phase: 'loading', error: null });
    try {
      const answer = await source.read();
      if (generation !== loadGeneration) return;
      source.applyRead(answer);
      for (const push of pushesDuringLoad) source.applyPush(push);
      status.set({ phase: 'ready', error: null, refreshing: false });
    } catch (error) {
      if (generation !== loadGeneration) return;
      status.set({ refreshing: false, error: toCallErrorView(error), ...(status.get().phase === 'ready' ? {} : { phase: 'error' as const }) });
    } finally {
      if (generation === loadGeneration) {
        loadInFlight = false;
        pushesDuringLoad = [];
      }
    }
  }

  return {
    activate() {
      if (status.get().active) return;
      status.set({ active: true });
      void load();
    },
    load,
    push(event) {
      if (!status.get().active) return false;
      if (loadInFlight) pushesDuringLoad.push(event);
      source.applyPush(event);
      return true;
    },
    connectionRestored() {
      snapshotsSeen++;
      // The first snapshot is the connection the page opened with, not a reconnect.
      if (snapshotsSeen === 1 || !status.get().active) return false;
      void load();
      return true;
    },
  };
}
