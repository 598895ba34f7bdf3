/**
 * The live anomaly feed: the list the Feed view shows, its filter, the per-minute chart, the
 * selection and the detail pane. Only this store talks to the feed API.
 *
 * The list is the newest items that match the filter, read a page at a time (keyset cursor from
 * the service) and kept current by `feed` pushes: an update replaces its row (the same seq) and
 * moves it to where its new lastSeen sorts, a new item is inserted in order. Rows that did not
 * change keep their object identity, so memoized rows skip re-rendering. Built for 100,000 rows:
 * a push is one O(n) merge of sorted arrays, never a sort of the whole list.
 *
 * Pause holds pushes back from the list (the analyst is reading) and counts what arrived; resume
 * applies what was held, or re-reads the first page when more arrived than is worth holding.
 * The chart keeps following pushes while paused: it shows the rate, not the list.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  compareFeedRows,
  decodeFeedCursor,
  EMPTY_FEED_FILTER,
  FEED_COUNTS_BUCKET_MS,
  FEED_PAGE_MAX_LIMIT,
  feedItemMatchesFilter,
  type ConsoleApi,
  type ConsoleEvent,
  type FeedAgent,
  type FeedFilter,
  type FeedItemDetail,
  type FeedItemRow,
} from '../../../core/console/api.ts';
import { toCallErrorView, type CallErrorView } from './call-outcome.ts';

export type FeedPush = Extract<ConsoleEvent, { type: 'feed' }>;

export const FEED_PAGE_SIZE = FEED_PAGE_MAX_LIMIT;
export const FEED_CHART_MINUTES = 60;
/** Changed items held while paused; past this, resume re-reads the first page instead of replaying them. */
export const PAUSE_BUFFER_LIMIT = 5000;
/**
 * After an incomplete push (a burst the service could not send whole) the list and chart are
 * re-read, at most this often: a sustained burst makes every push incomplete, and re-reading ten
 * times a second would load the service more than the burst itself.
 */
export const CATCH_UP_INTERVAL_MS = 2000;

export type FeedPhase = 'idle' | 'loading' | 'ready' | 'error';

export interface FeedDetailState {
  seq: number;
  phase: 'loading' | 'ready' | 'error';
  item: FeedItemDetail | null;
  error: CallErrorView | null;
}

export interface FeedChartState {
  /** Start of the oldest bucket (epoch ms). */
  from: number;
  bucketMs: number;
  counts: readonly number[];
  phase: FeedPhase;
}

export interface FeedState {
  /** The Feed view has been opened: from then on the feed is loaded and follows pushes. */
  active: boolean;
  filter: FeedFilter;
  /** Newest first (lastSeen, then seq): what the list shows. */
  items: readonly FeedItemRow[];
  /** The first page of the current filter. */
  phase: FeedPhase;
  error: CallErrorView | null;
  hasMore: boolean;
  loadingMore: boolean;
  moreError: CallErrorView | null;
  /** Items the feed holds on the service (unfiltered). */
  total: number;
  paused: boolean;
  /** Items that arrived (matching the filter) while paused, and held changes to others. */
  newWhilePaused: number;
  updatedWhilePaused: number;
  selectedSeq: number | null;
  detail: FeedDetailState | null;
  chart: FeedChartState;
  rules: readonly string[];
  agents: readonly FeedAgent[];

  /** Loads the feed the first time the view opens; later calls do nothing. */
  activate(): void;
  /** Re-reads the list and chart for a new filter (applied to pushes too from now on). */
  setFilter(filter: FeedFilter): void;
  /** Changes some fields of the filter (one menu or box). */
  updateFilter(change: Partial<FeedFilter>): void;
  /** The next page, when there is one and none is being read. */
  loadMore(): Promise<void>;
  /** Re-reads the first page (after a failed load). */
  retry(): Promise<void>;
  applyPush(event: FeedPush): void;
  /** The service pushed a snapshot: a reconnect, so pushes may have been lost. */
  connectionRestored(): void;
  pause(): void;
  resume(): void;
  select(seq: number | null): void;
  /** Moves the selection by rows (or to an end); returns the selected index, or null for an empty list. */
  moveSelection(move: number | 'first' | 'last'): number | null;
  openDetail(seq: number): Promise<void>;
  closeDetail(): void;
  /** Re-reads the per-minute counts for the last FEED_CHART_MINUTES minutes. */
  refreshChart(): Promise<void>;
}

export type FeedStore = StoreApi<FeedState>;

export interface FeedStoreOptions {
  now?: () => number;
}

/** Same item, and not newer than what we hold: the service changes an item only with a later lastSeen or a bigger count. */
function isSameOrOlder(candidate: FeedItemRow, held: FeedItemRow): boolean {
  return candidate.lastSeen < held.lastSeen || (candidate.lastSeen === held.lastSeen && candidate.count <= held.count);
}

/**
 * Merges rows into a newest-first list: newer versions replace their seq, `remove` drops seqs,
 * everything else keeps its object. Returns `current` itself when nothing changed. `index`
 * (seq → row of the list) is updated to match the result.
 */
export function mergeFeedRows(current: readonly FeedItemRow[], incoming: readonly FeedItemRow[], remove: Iterable<number>, index: Map<number, FeedItemRow>): readonly FeedItemRow[] {
  const dropped = new Set<number>();
  for (const seq of remove) if (index.has(seq)) dropped.add(seq);
  const fresh = new Map<number, FeedItemRow>();
  for (const row of incoming) {
    if (dropped.has(row.seq)) continue;
    const held = fresh.get(row.seq) ?? index.get(row.seq);
    if (held && isSameOrOlder(row, held)) continue;
    fresh.set(row.seq, row);
    if (index.has(row.seq)) dropped.add(row.seq);
  }
  if (fresh.size === 0 && dropped.size === 0) return current;
  const kept = dropped.size > 0 ? current.filter((row) => !dropped.has(row.seq)) : current;
  for (const seq of dropped) index.delete(seq);
  const added = [...fresh.values()].sort(compareFeedRows);
  for (const row of added) index.set(row.seq, row);
  const newestKept = kept[0];
  const oldestAdded = added.at(-1);
  // The usual push: everything new sorts above what we have. concat copies in bulk.
  if (newestKept === undefined || (oldestAdded !== undefined && compareFeedRows(oldestAdded, newestKept) < 0)) return added.concat(kept);
  const oldestKept = kept.at(-1) as FeedItemRow;
  // The usual page: everything sorts below.
  if (compareFeedRows(oldestKept, added[0] as FeedItemRow) < 0) return kept.concat(added);
  // Not `new Array(n)`: V8 backs a large preallocated array with a dictionary, and every write is then slow.
  const merged: FeedItemRow[] = [];
  let i = 0;
  let j = 0;
  while (i < kept.length && j < added.length) merged.push(compareFeedRows(kept[i] as FeedItemRow, added[j] as FeedItemRow) <= 0 ? (kept[i++] as FeedItemRow) : (added[j++] as FeedItemRow));
  while (i < kept.length) merged.push(kept[i++] as FeedItemRow);
  while (j < added.length) merged.push(added[j++] as FeedItemRow);
  return merged;
}

function sameFilter(a: FeedFilter, b: FeedFilter): boolean {
  return (Object.keys(EMPTY_FEED_FILTER) as Array<keyof FeedFilter>).every((key) => a[key] === b[key]);
}

const EMPTY_CHART: FeedChartState = { from: 0, bucketMs: FEED_COUNTS_BUCKET_MS, counts: [], phase: 'idle' };

export function createFeedStore(api: ConsoleApi, options: FeedStoreOptions = {}): FeedStore {
  const now = options.now ?? (() => Date.now());
  return createStore<FeedState>()((set, get) => {
    /** seq → row, mirroring `items` (not state: rebuilding a 100k-entry object per push would cost more than the merge). */
    const index = new Map<number, FeedItemRow>();
    let cursor: string | null = null;
    /** Bumped by every first-page load: answers to an older one are dropped. */
    let listGeneration = 0;
    let chartGeneration = 0;
    /** Held while paused: the latest version of each changed row, and whether it is new. */
    const held = new Map<number, { row: FeedItemRow; added: boolean }>();
    let reloadOnResume = false;
    let snapshotsSeen = 0;
    let lastCatchUpAt = -Infinity;

    /** Rows past the last loaded page would leave a gap above them; the page that reaches them brings them. */
    function beyondLoadedPages(row: FeedItemRow): boolean {
      if (cursor === null) return false;
      const boundary = decodeFeedCursor(cursor);
      return boundary !== null && compareFeedRows(row, { lastSeen: boundary.lastSeen, seq: boundary.seq }) > 0;
    }

    function applyRows(rows: readonly FeedItemRow[], remove: readonly number[]): void {
      const visible = rows.filter((row) => !beyondLoadedPages(row) || index.has(row.seq));
      const items = mergeFeedRows(get().items, visible, remove, index);
      if (items !== get().items) set({ items });
    }

    async function loadFirstPage(): Promise<void> {
      const generation = ++listGeneration;
      index.clear();
      cursor = null;
      held.clear();
      reloadOnResume = false;
      set({ items: [], phase: 'loading', error: null, hasMore: false, loadingMore: false, moreError: null, newWhilePaused: 0, updatedWhilePaused: 0 });
      try {
        const page = await api.call('feedPage', { filter: get().filter, cursor: null, limit: FEED_PAGE_SIZE });
        if (generation !== listGeneration) return;
        cursor = page.nextCursor;
        const items = mergeFeedRows([], page.items, [], index);
        set({ items, phase: 'ready', hasMore: cursor !== null, total: page.total });
      } catch (error) {
        if (generation === listGeneration) set({ phase: 'error', error: toCallErrorView(error) });
      }
    }

    /** After a burst the service could not push whole: merge the newest page into what we show. */
    async function refreshNewest(): Promise<void> {
      const generation = listGeneration;
      try {
        const page = await api.call('feedPage', { filter: get().filter, cursor: null, limit: FEED_PAGE_SIZE });
        if (generation !== listGeneration || get().paused) return;
        applyRows(page.items, []);
        set({ total: page.total });
      } catch {
        // The next push or reconnect brings the list up to date; the list itself is still valid.
      }
    }

    async function loadFacets(): Promise<void> {
      try {
        const facets = await api.call('feedFacets', {});
        set({ rules: facets.rules, agents: facets.agents, total: facets.total });
      } catch {
        // Menus then offer what pushes reveal; the list shows its own error if the feed is down.
      }
    }

    function learnFacets(rows: readonly FeedItemRow[]): void {
      const { rules, agents } = get();
      let newRules: string[] | null = null;
      let newAgents: FeedAgent[] | null = null;
      for (const row of rows) {
        if (!(newRules ?? rules).includes(row.rule)) (newRules ??= [...rules]).push(row.rule);
        if (!(newAgents ?? agents).some((a) => a.key === row.agentKey)) (newAgents ??= [...agents]).push({ key: row.agentKey, hostname: row.agentHostname });
      }
      if (newRules) set({ rules: newRules.sort() });
      if (newAgents) set({ agents: newAgents.sort((a, b) => a.hostname.localeCompare(b.hostname)) });
    }

    function countInChart(rows: readonly FeedItemRow[]): void {
      const chart = get().chart;
      if (chart.phase !== 'ready' || rows.length === 0) return;
      let counts: number[] | null = null;
      for (const row of rows) {
        const bucket = Math.floor((row.firstSeen - chart.from) / chart.bucketMs);
        if (bucket < 0 || bucket >= chart.counts.length) continue;
        counts ??= [...chart.counts];
        counts[bucket] = (counts[bucket] ?? 0) + 1;
      }
      if (counts) set({ chart: { ...chart, counts } });
    }

    async function fetchDetail(seq: number, quietly: boolean): Promise<void> {
      if (!quietly) set({ detail: { seq, phase: 'loading', item: null, error: null } });
      try {
        const item = await api.call('feedItem', { seq });
        if (get().detail?.seq === seq) set({ detail: { seq, phase: 'ready', item, error: null } });
      } catch (error) {
        if (get().detail?.seq === seq && !quietly) set({ detail: { seq, phase: 'error', item: null, error: toCallErrorView(error) } });
      }
    }

    return {
      active: false,
      filter: EMPTY_FEED_FILTER,
      items: [],
      phase: 'idle',
      error: null,
      hasMore: false,
      loadingMore: false,
      moreError: null,
      total: 0,
      paused: false,
      newWhilePaused: 0,
      updatedWhilePaused: 0,
      selectedSeq: null,
      detail: null,
      chart: EMPTY_CHART,
      rules: [],
      agents: [],

      activate() {
        if (get().active) return;
        set({ active: true });
        void loadFirstPage();
        void get().refreshChart();
        void loadFacets();
      },

      setFilter(filter) {
        if (sameFilter(filter, get().filter)) return;
        set({ filter, selectedSeq: null });
        if (!get().active) return;
        void loadFirstPage();
        void get().refreshChart();
      },

      updateFilter(change) {
        get().setFilter({ ...get().filter, ...change });
      },

      async loadMore() {
        const state = get();
        if (cursor === null || state.loadingMore || state.phase !== 'ready') return;
        const generation = listGeneration;
        set({ loadingMore: true, moreError: null });
        try {
          const page = await api.call('feedPage', { filter: state.filter, cursor, limit: FEED_PAGE_SIZE });
          if (generation !== listGeneration) return;
          cursor = page.nextCursor;
          const items = mergeFeedRows(get().items, page.items, [], index);
          set({ items, hasMore: cursor !== null, loadingMore: false, total: page.total });
        } catch (error) {
          if (generation === listGeneration) set({ loadingMore: false, moreError: toCallErrorView(error) });
        }
      },

      retry: loadFirstPage,

      applyPush(event) {
        const state = get();
        if (!state.active) return;
        set({ total: event.total });
        learnFacets(event.added);
        const filter = state.filter;
        const added = event.added.filter((row) => feedItemMatchesFilter(row, filter));
        countInChart(added);
        const catchUp = event.missed > 0 && now() - lastCatchUpAt >= CATCH_UP_INTERVAL_MS;
        if (catchUp) {
          lastCatchUpAt = now();
          void get().refreshChart();
        }
        // The first page is on its way: it holds everything pushed before it was read.
        if (state.phase !== 'ready') return;
        const updated: FeedItemRow[] = [];
        const noLongerMatching: number[] = [];
        for (const row of event.updated) {
          if (feedItemMatchesFilter(row, filter)) updated.push(row);
          else noLongerMatching.push(row.seq);
        }
        if (state.paused) {
          let fresh = 0;
          let changed = 0;
          for (const row of added) {
            if (!held.get(row.seq)?.added) fresh++;
            held.set(row.seq, { row, added: true });
          }
          for (const row of updated) {
            const earlier = held.get(row.seq);
            if (!earlier) changed++;
            held.set(row.seq, { row, added: earlier?.added ?? false });
          }
          // Held rows are checked against the filter again on resume; removals need no holding
          // beyond that, except for rows the list shows now.
          for (const seq of noLongerMatching) if (index.has(seq)) reloadOnResume = true;
          if (event.missed > 0 || held.size > PAUSE_BUFFER_LIMIT) {
            reloadOnResume = true;
            held.clear();
          }
          set({ newWhilePaused: state.newWhilePaused + fresh, updatedWhilePaused: state.updatedWhilePaused + changed });
        } else {
          applyRows([...added, ...updated], noLongerMatching);
          if (catchUp) void refreshNewest();
        }
        const open = get().detail;
        if (open && open.phase === 'ready' && event.updated.some((row) => row.seq === open.seq)) void fetchDetail(open.seq, true);
      },

      connectionRestored() {
        snapshotsSeen++;
        // The first snapshot is the connection the page opened with, not a reconnect.
        if (snapshotsSeen === 1 || !get().active) return;
        void get().refreshChart();
        void loadFacets();
        if (get().paused) reloadOnResume = true;
        else void loadFirstPage();
      },

      pause() {
        if (get().paused) return;
        set({ paused: true, newWhilePaused: 0, updatedWhilePaused: 0 });
      },

      resume() {
        if (!get().paused) return;
        const rows = [...held.values()].map((h) => h.row);
        held.clear();
        set({ paused: false, newWhilePaused: 0, updatedWhilePaused: 0 });
        if (reloadOnResume) {
          void loadFirstPage();
          return;
        }
        const filter = get().filter;
        applyRows(
          rows.filter((row) => feedItemMatchesFilter(row, filter)),
          rows.filter((row) => !feedItemMatchesFilter(row, filter)).map((row) => row.seq),
        );
      },

      select(seq) {
        if (get().selectedSeq !== seq) set({ selectedSeq: seq });
      },

      moveSelection(move) {
        const { items, selectedSeq } = get();
        if (items.length === 0) return null;
        const current = selectedSeq === null ? -1 : items.findIndex((row) => row.seq === selectedSeq);
        let next: number;
        if (move === 'first') next = 0;
        else if (move === 'last') next = items.length - 1;
        else if (current < 0) next = move > 0 ? 0 : items.length - 1;
        else next = Math.min(items.length - 1, Math.max(0, current + move));
        set({ selectedSeq: (items[next] as FeedItemRow).seq });
        return next;
      },

      async openDetail(seq) {
        set({ selectedSeq: seq });
        await fetchDetail(seq, false);
      },

      closeDetail() {
        if (get().detail !== null) set({ detail: null });
      },

      async refreshChart() {
        const generation = ++chartGeneration;
        // Whole minutes, the current one last, so the newest bar fills as anomalies arrive.
        const to = Math.floor(now() / FEED_COUNTS_BUCKET_MS) * FEED_COUNTS_BUCKET_MS + FEED_COUNTS_BUCKET_MS;
        const from = to - FEED_CHART_MINUTES * FEED_COUNTS_BUCKET_MS;
        if (get().chart.phase === 'idle' || get().chart.phase === 'error') set({ chart: { ...get().chart, phase: 'loading' } });
        try {
          const result = await api.call('feedCounts', { from, to, filter: get().filter });
          if (generation !== chartGeneration) return;
          set({ chart: { from: result.from, bucketMs: result.bucketMs, counts: result.counts, phase: 'ready' } });
        } catch {
          if (generation === chartGeneration) set({ chart: { ...get().chart, phase: 'error' } });
        }
      },
    };
  });
}

// Selectors.

export const selectFeedItemCount = (state: FeedState): number => state.items.length;
