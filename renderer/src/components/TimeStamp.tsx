import { formatTimestamp } from '../format/time.ts';
import { useClockText } from './clock.ts';

/** A time shown local + relative ("14:02:31 · 3 min ago"); the full date and zone are in the tooltip. */
export function TimeStamp({ iso, missing = '—' }: { iso: string | null; missing?: string }) {
  const text = useClockText((now) => (iso ? (formatTimestamp(iso, now) ?? missing) : missing));
  if (!iso || text === missing) return <span className="timestamp timestamp--missing">{missing}</span>;
  return (
    <time className="timestamp" dateTime={iso} title={new Date(iso).toString()}>
      {text}
    </time>
  );
}
