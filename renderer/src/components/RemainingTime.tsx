import { formatRemaining } from '../format/duration.ts';
import { useClockText } from './clock.ts';

/**
 * What a block has left, counting down live ("0:59:58"). It reads the page's one shared clock,
 * so a table of blocks costs one timer, not one per row; after the time is up it says the block
 * is expiring until the executor reports that it lifted it.
 */
export function RemainingTime({ expiresAt }: { expiresAt: number | null }) {
  const text = useClockText((now) => (expiresAt === null ? 'no expiry' : (formatRemaining(expiresAt - now.getTime()) ?? 'expiring…')));
  return (
    <span role="timer" className="remaining mono" title={expiresAt === null ? undefined : `until ${new Date(expiresAt).toString()}`}>
      {text}
    </span>
  );
}
