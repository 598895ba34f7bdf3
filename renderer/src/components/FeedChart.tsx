/**
 * Anomalies per minute over the last hour, as plain SVG bars. The counts come from the service
 * (by firstSeen, with the feed's filter) and grow with every pushed new item; the window moves
 * on at each minute. For screen readers the chart is one image with a summary; each bar has its
 * own tooltip for pointer users.
 */
import { useEffect, useId } from 'react';
import { formatLocalTime } from '../format/time.ts';
import { FEED_CHART_MINUTES } from '../store/feed-store.ts';
import { useFeed } from './store-hooks.ts';

const WIDTH = 1200;
const HEIGHT = 140;
const PLOT_LEFT = 36;
const PLOT_RIGHT = 8;
const PLOT_TOP = 8;
const PLOT_BOTTOM = 22;
const PLOT_WIDTH = WIDTH - PLOT_LEFT - PLOT_RIGHT;
const PLOT_HEIGHT = HEIGHT - PLOT_TOP - PLOT_BOTTOM;
/** Labels under these bars: an hour ago, every quarter, and now. */
const LABELLED_BARS = [0, 15, 30, 45, FEED_CHART_MINUTES - 1];

function clockOf(ms: number): string {
  return formatLocalTime(new Date(ms), new Date(ms)).slice(0, 5);
}

/** 1, 2, 5, 10, 20, 50…: a top for the axis that reads well and is at least `max`. */
function niceCeiling(max: number): number {
  if (max <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

export function FeedChart() {
  const chart = useFeed((state) => state.chart);
  const refreshChart = useFeed((state) => state.refreshChart);
  const titleId = useId();
  const descId = useId();

  useEffect(() => {
    // Move the window on just after each minute starts.
    let interval: ReturnType<typeof setInterval> | null = null;
    const untilNextMinute = 60_000 - (Date.now() % 60_000) + 500;
    const first = setTimeout(() => {
      void refreshChart();
      interval = setInterval(() => void refreshChart(), 60_000);
    }, untilNextMinute);
    return () => {
      clearTimeout(first);
      if (interval !== null) clearInterval(interval);
    };
  }, [refreshChart]);

  const counts = chart.counts;
  const total = counts.reduce((sum, n) => sum + n, 0);
  const peak = counts.reduce((best, n, i) => (n > (counts[best] ?? 0) ? i : best), 0);
  const top = niceCeiling(Math.max(0, ...counts));
  const barWidth = PLOT_WIDTH / FEED_CHART_MINUTES;
  const summary =
    chart.phase !== 'ready'
      ? chart.phase === 'error'
        ? 'Counts per minute are unavailable.'
        : 'Loading counts per minute…'
      : total === 0
        ? 'No anomalies began in the last 60 minutes.'
        : `${total.toLocaleString('en-US')} anomalies began in the last 60 minutes; the busiest minute was ${clockOf(chart.from + peak * chart.bucketMs)} with ${(counts[peak] ?? 0).toLocaleString('en-US')}.`;

  return (
    <figure className="feed-chart">
      <svg className="feed-chart__svg" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={titleId} aria-describedby={descId}>
        <title id={titleId}>Anomalies per minute, last 60 minutes</title>
        <line className="feed-chart__axis" x1={PLOT_LEFT} y1={PLOT_TOP + PLOT_HEIGHT} x2={WIDTH - PLOT_RIGHT} y2={PLOT_TOP + PLOT_HEIGHT} />
        <line className="feed-chart__grid" x1={PLOT_LEFT} y1={PLOT_TOP} x2={WIDTH - PLOT_RIGHT} y2={PLOT_TOP} />
        <text className="feed-chart__label" x={PLOT_LEFT - 6} y={PLOT_TOP + 4} textAnchor="end">
          {top.toLocaleString('en-US')}
        </text>
        <text className="feed-chart__label" x={PLOT_LEFT - 6} y={PLOT_TOP + PLOT_HEIGHT} textAnchor="end">
          0
        </text>
        {chart.phase === 'ready'
          ? counts.map((count, i) => {
              const height = (count / top) * PLOT_HEIGHT;
              const start = chart.from + i * chart.bucketMs;
              return (
                <rect
                  key={start}
                  className="feed-chart__bar"
                  x={PLOT_LEFT + i * barWidth + 1}
                  y={PLOT_TOP + PLOT_HEIGHT - height}
                  width={Math.max(1, barWidth - 2)}
                  height={Math.max(count > 0 ? 1 : 0, height)}
                >
                  <title>{`${clockOf(start)} · ${count.toLocaleString('en-US')} ${count === 1 ? 'anomaly' : 'anomalies'}`}</title>
                </rect>
              );
            })
          : null}
        {chart.phase === 'ready'
          ? LABELLED_BARS.map((i) => (
              <text key={i} className="feed-chart__label" x={PLOT_LEFT + i * barWidth + barWidth / 2} y={HEIGHT - 6} textAnchor="middle">
                {clockOf(chart.from + i * chart.bucketMs)}
              </text>
            ))
          : null}
      </svg>
      <figcaption id={descId} className="feed-chart__caption">
        {summary}
      </figcaption>
    </figure>
  );
}
