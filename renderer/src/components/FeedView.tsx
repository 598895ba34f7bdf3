/**
 * The live anomaly feed: filters, the per-minute chart, the virtualized list and the detail pane
 * of the item the analyst opened. Opening the view loads the feed; from then on it is live.
 */
import { useEffect } from 'react';
import { isEmptyFeedFilter } from '../../../core/console/api.ts';
import { FeedChart } from './FeedChart.tsx';
import { FeedDetail } from './FeedDetail.tsx';
import { FeedFilters } from './FeedFilters.tsx';
import { FeedList } from './FeedList.tsx';
import { LoadFailure } from './LoadFailure.tsx';
import { LoadingStatus } from './LoadingStatus.tsx';
import { useFeed } from './store-hooks.ts';

export function FeedView() {
  const activate = useFeed((state) => state.activate);
  const detailOpen = useFeed((state) => state.detail !== null);
  useEffect(() => activate(), [activate]);

  return (
    <>
      <h1 className="visually-hidden">Anomaly feed</h1>
      <section aria-label="Anomaly feed" className="panel feed">
        <FeedHeader />
        <FeedFilters />
        <FeedChart />
        <div className={detailOpen ? 'feed__body feed__body--with-detail' : 'feed__body'}>
          <FeedListArea />
          <FeedDetail />
        </div>
      </section>
    </>
  );
}

function FeedHeader() {
  const paused = useFeed((state) => state.paused);
  const newWhilePaused = useFeed((state) => state.newWhilePaused);
  const loaded = useFeed((state) => state.items.length);
  const total = useFeed((state) => state.total);
  const filtered = useFeed((state) => !isEmptyFeedFilter(state.filter));
  const hasMore = useFeed((state) => state.hasMore);
  const pause = useFeed((state) => state.pause);
  const resume = useFeed((state) => state.resume);
  return (
    <header className="panel__header feed__header">
      <h2 className="panel__title">Anomaly feed</h2>
      <span className="feed__counts" data-testid="feed-counts">
        {loaded.toLocaleString('en-US')} {filtered ? (hasMore ? 'matching loaded' : 'matching') : 'loaded'} · {total.toLocaleString('en-US')} stored
      </span>
      <span className="feed__live">
        {paused ? (
          <span className="feed__held" data-testid="feed-held">
            Paused · {newWhilePaused.toLocaleString('en-US')} new
          </span>
        ) : (
          <span className="feed__live-dot">Live</span>
        )}
        <button type="button" className={paused ? 'btn btn--small btn--primary' : 'btn btn--small'} onClick={paused ? resume : pause}>
          {paused ? 'Resume live feed' : 'Pause live feed'}
        </button>
      </span>
      {/* Announced once per change of state; the counts beside it change too often to be live. */}
      <span className="visually-hidden" role="status">
        {paused ? 'Live feed paused' : ''}
      </span>
    </header>
  );
}

function FeedListArea() {
  const phase = useFeed((state) => state.phase);
  const error = useFeed((state) => state.error);
  const empty = useFeed((state) => state.items.length === 0);
  const filtered = useFeed((state) => !isEmptyFeedFilter(state.filter));
  const retry = useFeed((state) => state.retry);

  if (phase === 'idle' || phase === 'loading') return <LoadingStatus className="feed__state">Loading anomalies…</LoadingStatus>;
  if (phase === 'error') return <LoadFailure error={error} onRetry={() => void retry()} />;
  if (empty) {
    return filtered ? (
      <p className="empty feed__state">No anomalies match these filters. Clear filters to see them all.</p>
    ) : (
      <p className="empty feed__state">No anomalies yet. Monitors you trust with events.publish send what they detect here, live.</p>
    );
  }
  return <FeedList />;
}
