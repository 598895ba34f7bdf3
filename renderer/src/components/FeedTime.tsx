import { formatLocalTime, formatRelativeTime } from '../format/time.ts';
import { useClockText } from './clock.ts';

/** An epoch-ms time, local + relative ("14:02:31 · 3 min ago"); full date and zone in the tooltip. */
export function FeedTime({ ms }: { ms: number }) {
  const text = useClockText((now) => {
    const at = new Date(ms);
    return `${formatLocalTime(at, now)} · ${formatRelativeTime(at, now)}`;
  });
  const at = new Date(ms);
  return (
    <time className="timestamp" dateTime={at.toISOString()} title={at.toString()}>
      {text}
    </time>
  );
}
