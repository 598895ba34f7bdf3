/**
 * The live anomaly list, virtualized: every row has the same height, and only the rows in view
 * plus an overscan margin are in the DOM, absolutely placed inside a spacer as tall as the whole
 * list. Scrolling 100,000 rows therefore touches about fifty elements.
 *
 * Keyboard: the list is one focusable listbox whose active option follows the selection
 * (aria-activedescendant): Up/Down move it, PageUp/PageDown move a screen, Home/End go to the
 * ends, Enter opens the details, Escape closes them. Near the end of what is loaded, the next
 * page is fetched.
 *
 * New items arrive at the top. At the top, the list follows them (a live tail); scrolled down, it
 * keeps the row the analyst is reading where it is, by shifting the scroll position as rows are
 * inserted above it.
 */
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { FeedItemRow } from '../../../core/console/api.ts';
import { CallErrorAlert } from './CallErrorAlert.tsx';
import { FeedTime } from './FeedTime.tsx';
import { SeverityBadge } from './SeverityBadge.tsx';
import { useFeed } from './store-hooks.ts';
import { scrollTopToReveal, visibleRows } from './virtual-rows.ts';

/** Must equal the height of .feed-row in styles.css: positions are computed from it. */
export const FEED_ROW_HEIGHT = 34;
/** Rows kept in the DOM above and below the viewport, so a fast scroll never shows blank space. */
const OVERSCAN_ROWS = 12;
/** Ask for the next page this many rows before the end, so scrolling rarely reaches a gap. */
const LOAD_MORE_ROWS_BEFORE_END = 150;
/** Before the first layout: a guess, replaced by the measured height. */
const INITIAL_VIEWPORT_HEIGHT = 480;

export function feedRowDomId(seq: number): string {
  return `feed-row-${seq}`;
}

export function FeedList() {
  const items = useFeed((state) => state.items);
  const selectedSeq = useFeed((state) => state.selectedSeq);
  const hasMore = useFeed((state) => state.hasMore);
  const loadingMore = useFeed((state) => state.loadingMore);
  const moreError = useFeed((state) => state.moreError);
  const loadMore = useFeed((state) => state.loadMore);
  const moveSelection = useFeed((state) => state.moveSelection);
  const openDetail = useFeed((state) => state.openDetail);
  const closeDetail = useFeed((state) => state.closeDetail);

  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewportHeight, setViewportHeight] = useState(INITIAL_VIEWPORT_HEIGHT);
  /** The row at the top of the viewport and how far into it we are scrolled; null at the very top (live tail). */
  const anchor = useRef<{ seq: number; offset: number } | null>(null);
  const itemsRef = useRef(items);
  itemsRef.current = items;

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    setViewportHeight(element.clientHeight);
    const observer = new ResizeObserver(() => setViewportHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // Keep the row being read in place when rows are inserted above it.
  useLayoutEffect(() => {
    const element = scroller.current;
    const held = anchor.current;
    if (!element || !held || element.scrollTop <= 0) return;
    const index = items.findIndex((row) => row.seq === held.seq);
    if (index < 0) return;
    const target = index * FEED_ROW_HEIGHT + held.offset;
    if (Math.abs(target - element.scrollTop) >= 1) {
      element.scrollTop = target;
      setScrollTop(element.scrollTop);
    }
  }, [items]);

  const onScroll = useCallback(() => {
    const element = scroller.current;
    if (!element) return;
    const top = element.scrollTop;
    setScrollTop(top);
    const index = Math.floor(top / FEED_ROW_HEIGHT);
    const row = itemsRef.current[index];
    anchor.current = top > 0 && row ? { seq: row.seq, offset: top - index * FEED_ROW_HEIGHT } : null;
  }, []);

  const { start, end } = visibleRows(scrollTop, viewportHeight, FEED_ROW_HEIGHT, items.length, OVERSCAN_ROWS);

  useEffect(() => {
    if (hasMore && !loadingMore && moreError === null && end >= items.length - LOAD_MORE_ROWS_BEFORE_END) void loadMore();
  }, [end, items.length, hasMore, loadingMore, moreError, loadMore]);

  const reveal = (index: number) => {
    const element = scroller.current;
    if (!element) return;
    const target = scrollTopToReveal(index, element.scrollTop, element.clientHeight, FEED_ROW_HEIGHT);
    if (target !== element.scrollTop) element.scrollTop = target;
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const page = Math.max(1, Math.floor(viewportHeight / FEED_ROW_HEIGHT) - 1);
    const moves: Record<string, number | 'first' | 'last'> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: 'first', End: 'last' };
    const move = moves[event.key];
    if (move !== undefined) {
      event.preventDefault();
      const index = moveSelection(move);
      if (index !== null) reveal(index);
      return;
    }
    if (event.key === 'Enter' && selectedSeq !== null) {
      event.preventDefault();
      void openDetail(selectedSeq);
    } else if (event.key === 'Escape') {
      closeDetail();
    }
  };

  const pick = useCallback(
    (seq: number) => {
      scroller.current?.focus({ preventScroll: true });
      void openDetail(seq);
    },
    [openDetail],
  );

  const rows: FeedItemRow[] = items.slice(start, end);
  const selectedRendered = selectedSeq !== null && rows.some((row) => row.seq === selectedSeq);
  const setSize = hasMore ? -1 : items.length;

  return (
    <div className="feed-list">
      <div className="feed-list__columns" aria-hidden="true">
        <span>Last seen</span>
        <span>Severity</span>
        <span className="feed-col--rule">Rule</span>
        <span>Source</span>
        <span className="feed-col--agent">Agent</span>
        <span className="feed-col--count numeric">Count</span>
        <span>Summary</span>
      </div>
      <div
        ref={scroller}
        className="feed-list__viewport"
        role="listbox"
        aria-label="Anomalies"
        aria-activedescendant={selectedRendered ? feedRowDomId(selectedSeq) : undefined}
        aria-busy={loadingMore || undefined}
        tabIndex={0}
        onScroll={onScroll}
        onKeyDown={onKeyDown}
      >
        <div className="feed-list__spacer" style={{ height: items.length * FEED_ROW_HEIGHT }}>
          {rows.map((row, i) => (
            <FeedRowView key={row.seq} row={row} index={start + i} setSize={setSize} selected={row.seq === selectedSeq} onPick={pick} />
          ))}
        </div>
      </div>
      <div className="feed-list__footer">
        {loadingMore ? (
          <span className="feed-list__more" role="status">
            <span className="spinner" aria-hidden="true" /> Loading more anomalies…
          </span>
        ) : moreError ? (
          <div className="feed-list__more-error">
            <CallErrorAlert error={moreError} />
            <button type="button" className="btn btn--small" onClick={() => void loadMore()}>
              Retry
            </button>
          </div>
        ) : !hasMore && items.length > 0 ? (
          <span className="muted">End of the feed</span>
        ) : null}
      </div>
    </div>
  );
}

interface FeedRowViewProps {
  row: FeedItemRow;
  index: number;
  setSize: number;
  selected: boolean;
  /** Stable, so memo skips rows whose item did not change. */
  onPick: (seq: number) => void;
}

const FeedRowView = memo(function FeedRowView({ row, index, setSize, selected, onPick }: FeedRowViewProps) {
  return (
    <div
      id={feedRowDomId(row.seq)}
      role="option"
      aria-selected={selected}
      aria-posinset={index + 1}
      aria-setsize={setSize}
      data-seq={row.seq}
      className={`feed-row feed-row--${row.severity}${selected ? ' feed-row--selected' : ''}`}
      // Placed by transform: the list never lays out more than the rows it renders.
      style={{ transform: `translateY(${index * FEED_ROW_HEIGHT}px)` }}
      onClick={() => onPick(row.seq)}
    >
      <span className="feed-row__time">
        <FeedTime ms={row.lastSeen} />
      </span>
      <span className="feed-row__severity">
        <SeverityBadge severity={row.severity} />
      </span>
      <span className="feed-row__rule feed-col--rule mono">{row.rule}</span>
      <span className="feed-row__source mono">{row.sourceIp ?? '—'}</span>
      <span className="feed-row__agent feed-col--agent">{row.agentHostname || row.agentKey.slice(0, 12)}</span>
      <span className="feed-row__count feed-col--count numeric mono">
        {row.count.toLocaleString('en-US')}
        <span className="visually-hidden"> events</span>
      </span>
      <span className="feed-row__summary">{row.summary}</span>
    </div>
  );
});
