import type { FeedSeverity } from '../../../core/console/api.ts';

/** Severity as a word and a colour (never the colour alone); each colour keeps 4.5:1 on the panels. */
export function SeverityBadge({ severity }: { severity: FeedSeverity }) {
  return <span className={`severity severity--${severity}`}>{severity}</span>;
}
