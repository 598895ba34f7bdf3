import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareFeedRows,
  decodeFeedCursor,
  EMPTY_FEED_FILTER,
  encodeFeedCursor,
  feedItemMatchesFilter,
  type FeedFilter,
  type FeedItemDetail,
  type FeedItemRow,
  type FeedPage,
} from '../../../core/console/api.ts';
import { createFakeConsoleApi, settle } from '../testing/fake-console-api.ts';
import { feedRow } from '../testing/fixtures.ts';
import { CATCH_UP_INTERVAL_MS, createFeedStore, FEED_PAGE_SIZE, mergeFeedRows, PAUSE_BUFFER_LIMIT, type FeedPush } from './feed-store.ts';

const NOW = Date.UTC(2025, 10, 25, 10, 30, 20);

/** A feed service in memory: keyset pages over a sorted list, filtered as the service filters. */
function fakeFeedService(rows: FeedItemRow[]) {
  let stored = [...rows].sort(compareFeedRows);
  const gates: Array<() => void> = [];
  let gated = false;
  const fake = createFakeConsoleApi({
    feedPage: async ({ filter, cursor, limit }): Promise<FeedPage> => {
      if (gated) await new Promise<void>((resolve) => gates.push(resolve));
      const after = cursor === null ? null : decodeFeedCursor(cursor);
      const matching = stored.filter((row) => feedItemMatchesFilter(row, filter) && (after === null || compareFeedRows(row, after) > 0));
      const items = matching.slice(0, limit);
      return { items, nextCursor: matching.length > limit ? encodeFeedCursor(items.at(-1)!) : null, total: stored.length };
    },
    feedCounts: async ({ from, to, filter }) => {
      const counts = new Array<number>(Math.ceil((to - from) / 60_000)).fill(0);
      for (const row of stored) {
        const bucket = Math.floor((row.firstSeen - from) / 60_000);
        if (row.firstSeen < to && bucket >= 0 && feedItemMatchesFilter(row, filter)) counts[bucket]!++;
      }
      return { from, bucketMs: 60_000, counts };
    },
    feedFacets: async () => ({ total: stored.length, rules: [...new Set(stored.map((r) => r.rule))].sort(), agents: [{ key: 'key-edge', hostname: 'gcp-log-monitor' }] }),
    feedItem: async ({ seq }): Promise<FeedItemDetail> => {
      const row = stored.find((r) => r.seq === seq);
      if (!row) throw new Error('not stored');
      return { ...row, evidence: [{ line: row.count, text: `evidence for ${seq} at count ${row.count}` }] };
    },
  });
  return {
    fake,
    /** What the service stores changes (the pushes tell the page). */
    store(...changed: FeedItemRow[]) {
      stored = [...stored.filter((r) => !changed.some((c) => c.seq === r.seq)), ...changed].sort(compareFeedRows);
    },
    /** Holds feedPage answers until `release`, to test answers that arrive late. */
    hold() {
      gated = true;
    },
    release() {
      gated = false;
      for (const open of gates.splice(0)) open();
    },
  };
}

/** Rows 1..n, seq n newest (lastSeen one second apart, ending at NOW). */
function rows(n: number, overrides: (i: number) => Partial<FeedItemRow> = () => ({})): FeedItemRow[] {
  return Array.from({ length: n }, (_, k) => {
    const seq = k + 1;
    return feedRow(seq, { lastSeen: NOW - (n - seq) * 1000, firstSeen: NOW - (n - seq) * 1000, ...overrides(seq) });
  });
}

function push(added: FeedItemRow[], updated: FeedItemRow[] = [], total = 0, missed = 0): FeedPush {
  return { type: 'feed', added, updated, missed, total };
}

async function activeStore(stored: FeedItemRow[]) {
  const service = fakeFeedService(stored);
  const feed = createFeedStore(service.fake.api, { now: () => NOW });
  feed.getState().activate();
  await settle();
  return { ...service, feed };
}

const seqs = (items: readonly FeedItemRow[]) => items.map((r) => r.seq);

describe('feed store', () => {
  it('loads nothing until the Feed view opens; then the first page, the chart and the filter menus', async () => {
    const service = fakeFeedService(rows(1200));
    const feed = createFeedStore(service.fake.api, { now: () => NOW });
    feed.getState().applyPush(push([feedRow(5000)]));
    await settle();
    assert.equal(service.fake.calls.length, 0, 'a console that never opens the feed never reads it');
    feed.getState().activate();
    feed.getState().activate();
    await settle();
    assert.deepEqual(service.fake.calls.map((c) => c.method).sort(), ['feedCounts', 'feedFacets', 'feedPage']);
    const state = feed.getState();
    assert.equal(state.phase, 'ready');
    assert.equal(state.items.length, FEED_PAGE_SIZE);
    assert.equal(state.items[0]?.seq, 1200, 'newest first');
    assert.equal(state.hasMore, true);
    assert.equal(state.total, 1200);
    assert.deepEqual(state.rules, ['sshd-brute-force']);
    assert.equal(state.chart.phase, 'ready');
    assert.equal(state.chart.counts.length, 60);
    assert.equal(state.chart.counts.reduce((a, b) => a + b, 0), 1200, 'every item of the last hour is counted');
  });

  it('reads the next pages with the cursor, one at a time, until the end', async () => {
    const { fake, feed } = await activeStore(rows(1200));
    const first = feed.getState().loadMore();
    const second = feed.getState().loadMore(); // ignored: a page is already on its way
    await Promise.all([first, second]);
    assert.equal(feed.getState().items.length, 1000);
    await feed.getState().loadMore();
    const state = feed.getState();
    assert.equal(state.items.length, 1200);
    assert.equal(state.hasMore, false);
    assert.deepEqual(seqs(state.items), Array.from({ length: 1200 }, (_, i) => 1200 - i));
    await feed.getState().loadMore();
    assert.equal(fake.calls.filter((c) => c.method === 'feedPage').length, 3, 'no call past the last page');
  });

  it('applies pushes in order: new rows inserted, updated rows replaced and moved, unchanged rows kept as the same objects', async () => {
    const { feed } = await activeStore(rows(10));
    const before = feed.getState().items;
    const row3 = before.find((r) => r.seq === 3)!;
    const updated5 = { ...before.find((r) => r.seq === 5)!, count: 99, lastSeen: NOW + 5000 };
    const fresh = feedRow(11, { lastSeen: NOW + 1000 });
    feed.getState().applyPush(push([fresh], [updated5], 11));
    const after = feed.getState();
    assert.deepEqual(seqs(after.items), [5, 11, 10, 9, 8, 7, 6, 4, 3, 2, 1]);
    assert.equal(after.items[0], updated5);
    assert.equal(after.items.find((r) => r.seq === 3), row3, 'an untouched row keeps its object');
    assert.equal(after.total, 11);
    // A repeat of what we hold, or an older version, changes nothing.
    const itemsNow = feed.getState().items;
    feed.getState().applyPush(push([], [{ ...updated5 }, { ...updated5, count: 50, lastSeen: NOW }]));
    assert.equal(feed.getState().items, itemsNow);
  });

  it('filters pushes as the service filters pages; an item updated out of the filter leaves the list', async () => {
    const { feed } = await activeStore(rows(6, (seq) => ({ severity: seq % 2 ? 'critical' : 'low' })));
    feed.getState().setFilter({ ...EMPTY_FEED_FILTER, severity: 'critical' });
    await settle();
    assert.deepEqual(seqs(feed.getState().items), [5, 3, 1]);
    const critical = feedRow(7, { severity: 'critical', lastSeen: NOW + 1 });
    const low = feedRow(8, { severity: 'low', lastSeen: NOW + 2 });
    const downgraded = { ...feed.getState().items[1]!, severity: 'high' as const, lastSeen: NOW + 3, count: 40 };
    feed.getState().applyPush(push([critical, low], [downgraded]));
    assert.deepEqual(seqs(feed.getState().items), [7, 5, 1]);
  });

  it('does not put a pushed item below the loaded pages (the page that reaches it brings it)', async () => {
    const { feed } = await activeStore(rows(1200));
    const oldButUpdated = feedRow(100, { lastSeen: NOW - 1150 * 1000, count: 7 }); // still deep in the unread pages
    feed.getState().applyPush(push([], [oldButUpdated]));
    assert.equal(feed.getState().items.length, FEED_PAGE_SIZE);
    assert.ok(!feed.getState().items.some((r) => r.seq === 100));
  });

  it('pause holds pushes back and counts them; resume shows them', async () => {
    const { feed } = await activeStore(rows(5));
    feed.getState().pause();
    const items = feed.getState().items;
    const updated2 = { ...items.find((r) => r.seq === 2)!, count: 30, lastSeen: NOW + 10 };
    feed.getState().applyPush(push([feedRow(6, { lastSeen: NOW + 1 })], [updated2]));
    feed.getState().applyPush(push([feedRow(7, { lastSeen: NOW + 2 })], [{ ...updated2, count: 31, lastSeen: NOW + 11 }]));
    assert.equal(feed.getState().items, items, 'the visible list does not move while paused');
    assert.equal(feed.getState().newWhilePaused, 2);
    assert.equal(feed.getState().updatedWhilePaused, 1);
    feed.getState().resume();
    const after = feed.getState();
    assert.deepEqual(seqs(after.items), [2, 7, 6, 5, 4, 3, 1]);
    assert.equal(after.items[0]?.count, 31, 'the latest version of a held row');
    assert.equal(after.newWhilePaused, 0);
    assert.equal(after.paused, false);
  });

  it('a pause that outlasts the hold limit re-reads the first page on resume', async () => {
    const service = await activeStore(rows(3));
    const { feed, fake } = service;
    feed.getState().pause();
    const burst = Array.from({ length: PAUSE_BUFFER_LIMIT + 1 }, (_, i) => feedRow(100 + i, { lastSeen: NOW + i + 1 }));
    service.store(...burst);
    feed.getState().applyPush(push(burst));
    assert.equal(feed.getState().newWhilePaused, PAUSE_BUFFER_LIMIT + 1);
    const pagesBefore = fake.calls.filter((c) => c.method === 'feedPage').length;
    feed.getState().resume();
    await settle();
    assert.equal(fake.calls.filter((c) => c.method === 'feedPage').length, pagesBefore + 1);
    assert.equal(feed.getState().items[0]?.seq, 100 + PAUSE_BUFFER_LIMIT);
    assert.equal(feed.getState().items.length, FEED_PAGE_SIZE);
  });

  it('a new filter re-reads list and chart with it; an answer for the old filter that comes late is dropped', async () => {
    const service = await activeStore(rows(20, (seq) => ({ rule: seq <= 10 ? 'port-scan' : 'sshd-brute-force', sourceIp: `198.51.100.${seq}` })));
    const { feed, fake } = service;
    service.hold();
    feed.getState().setFilter({ ...EMPTY_FEED_FILTER, rule: 'sshd-brute-force' });
    const filter: FeedFilter = { ...EMPTY_FEED_FILTER, rule: 'port-scan' };
    feed.getState().setFilter(filter);
    assert.equal(feed.getState().phase, 'loading');
    service.release();
    await settle();
    assert.deepEqual(seqs(feed.getState().items), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert.deepEqual(fake.calls.at(-1), { method: 'feedCounts', params: { from: Date.UTC(2025, 10, 25, 9, 31), to: Date.UTC(2025, 10, 25, 10, 31), filter } });
    assert.equal(feed.getState().chart.counts.reduce((a, b) => a + b, 0), 10);
    feed.getState().setFilter({ ...filter });
    await settle();
    assert.equal(fake.calls.filter((c) => c.method === 'feedPage').length, 3, 'the same filter again reads nothing');
  });

  it('after an incomplete push it re-reads the newest page and the chart, at most every CATCH_UP_INTERVAL_MS', async () => {
    let clock = NOW;
    const service = fakeFeedService(rows(3));
    const feed = createFeedStore(service.fake.api, { now: () => clock });
    feed.getState().activate();
    await settle();
    const reads = () => service.fake.calls.filter((c) => c.method === 'feedPage' || c.method === 'feedCounts').length;
    const before = reads();
    const burst = [feedRow(10, { lastSeen: NOW + 10 }), feedRow(11, { lastSeen: NOW + 11 }), feedRow(12, { lastSeen: NOW + 12 })];
    service.store(...burst);
    feed.getState().applyPush(push([burst[2]!], [], 6, 2));
    feed.getState().applyPush(push([], [], 6, 5));
    await settle();
    assert.equal(reads(), before + 2, 'one page and one chart read for two incomplete pushes');
    assert.deepEqual(seqs(feed.getState().items).slice(0, 3), [12, 11, 10], 'the items the push left out are in the list');
    clock += CATCH_UP_INTERVAL_MS;
    feed.getState().applyPush(push([], [], 6, 1));
    await settle();
    assert.equal(reads(), before + 4);
  });

  it('counts new items in the chart as they arrive, paused or not', async () => {
    const { feed } = await activeStore([]);
    assert.deepEqual(feed.getState().chart.counts.reduce((a, b) => a + b, 0), 0);
    feed.getState().pause();
    feed.getState().applyPush(push([feedRow(1, { firstSeen: NOW - 10_000 }), feedRow(2, { firstSeen: NOW - 2 * 3_600_000 })]));
    const counts = feed.getState().chart.counts;
    assert.equal(counts[59], 1, 'the current minute is the last bar');
    assert.equal(counts.reduce((a, b) => a + b, 0), 1, 'an item that began before the window is not counted');
  });

  it('moves the selection with the keyboard and opens details; an update of the open item refreshes them', async () => {
    const { feed } = await activeStore(rows(3));
    assert.equal(feed.getState().moveSelection(1), 0);
    assert.equal(feed.getState().selectedSeq, 3);
    assert.equal(feed.getState().moveSelection(1), 1);
    assert.equal(feed.getState().moveSelection(10), 2);
    assert.equal(feed.getState().moveSelection(-1), 1);
    assert.equal(feed.getState().moveSelection('first'), 0);
    assert.equal(feed.getState().moveSelection('last'), 2);
    await feed.getState().openDetail(2);
    assert.equal(feed.getState().detail?.phase, 'ready');
    assert.equal(feed.getState().detail?.item?.evidence[0]?.text, 'evidence for 2 at count 5');
  });

  it('refreshes the open detail when its item changes', async () => {
    const service = await activeStore(rows(3));
    const { feed } = service;
    await feed.getState().openDetail(2);
    const changed = { ...feed.getState().items.find((r) => r.seq === 2)!, count: 77, lastSeen: NOW + 5 };
    service.store(changed);
    feed.getState().applyPush(push([], [changed]));
    await settle();
    assert.equal(feed.getState().detail?.item?.evidence[0]?.text, 'evidence for 2 at count 77');
  });

  it('shows a failed load with the service error, and retries', async () => {
    let fail = true;
    const fake = createFakeConsoleApi({
      feedPage: async () => {
        if (fail) throw Object.assign(new Error('the anomaly feed is unavailable'), {});
        return { items: [feedRow(1)], nextCursor: null, total: 1 };
      },
    });
    const feed = createFeedStore(fake.api, { now: () => NOW });
    feed.getState().activate();
    await settle();
    assert.equal(feed.getState().phase, 'error');
    assert.match(feed.getState().error?.message ?? '', /unavailable/);
    fail = false;
    await feed.getState().retry();
    assert.equal(feed.getState().phase, 'ready');
    assert.equal(feed.getState().items.length, 1);
  });

  it('re-reads the feed after a reconnect, not on the first connection', async () => {
    const { feed, fake } = await activeStore(rows(3));
    const pages = () => fake.calls.filter((c) => c.method === 'feedPage').length;
    feed.getState().connectionRestored();
    await settle();
    assert.equal(pages(), 1);
    feed.getState().connectionRestored();
    await settle();
    assert.equal(pages(), 2);
  });

  it('merges a push into 100,000 rows in order and keeps every untouched row', () => {
    const index = new Map<number, FeedItemRow>();
    const list = mergeFeedRows([], rows(100_000), [], index);
    const push = [...Array.from({ length: 400 }, (_, i) => feedRow(200_000 + i, { lastSeen: NOW + i + 1 })), ...[7, 50_000, 99_999].map((seq) => ({ ...list.find((r) => r.seq === seq)!, count: 9, lastSeen: NOW + 1000 + seq }))];
    const merged = mergeFeedRows(list, push, [], index);
    assert.equal(merged.length, 100_400);
    assert.deepEqual(seqs(merged.slice(0, 3)), [99_999, 50_000, 7]);
    for (let i = 1; i < merged.length; i++) assert.ok(compareFeedRows(merged[i - 1]!, merged[i]!) < 0, 'sorted, no duplicates');
    const untouched = new Set(list);
    assert.equal(merged.slice(403).filter((row) => untouched.has(row)).length, 99_997, 'every row below the pushed ones is the object it was');
    assert.equal(index.size, 100_400);
  });
});
