/**
 * What the analyst types into the feed's source-IP box, as a filter: a whole address matches
 * exactly, anything shorter (or ending in *) matches addresses that start with it.
 */
import { normalizeFeedIp, type FeedFilter } from '../../../core/console/api.ts';

export type SourceIpInput = { ok: true; sourceIp: string | null; sourceIpMatch: FeedFilter['sourceIpMatch'] } | { ok: false; error: string };

export function sourceIpFilterFromInput(input: string): SourceIpInput {
  const text = input.trim();
  if (text === '') return { ok: true, sourceIp: null, sourceIpMatch: 'exact' };
  const prefix = text.endsWith('*') ? text.slice(0, -1) : null;
  if (prefix === null) {
    const whole = normalizeFeedIp(text);
    if (whole !== null) return { ok: true, sourceIp: whole, sourceIpMatch: 'exact' };
  }
  const start = prefix ?? text;
  if (start !== '' && /^[0-9A-Fa-f.:]+$/.test(start)) return { ok: true, sourceIp: start.toLowerCase(), sourceIpMatch: 'prefix' };
  return { ok: false, error: 'Type an address or its start, e.g. 203.0.113.7 or 203.0.113. (digits, dots, colons)' };
}

/** The severity menu: one choice per exact severity and an "or worse" for the middle ones. */
export const SEVERITY_CHOICES = [
  { value: '', label: 'Any severity', severity: null, match: 'exact' },
  { value: 'critical', label: 'Critical', severity: 'critical', match: 'exact' },
  { value: 'high+', label: 'High or worse', severity: 'high', match: 'atLeast' },
  { value: 'high', label: 'High', severity: 'high', match: 'exact' },
  { value: 'medium+', label: 'Medium or worse', severity: 'medium', match: 'atLeast' },
  { value: 'medium', label: 'Medium', severity: 'medium', match: 'exact' },
  { value: 'low', label: 'Low', severity: 'low', match: 'exact' },
] as const satisfies ReadonlyArray<{ value: string; label: string; severity: FeedFilter['severity']; match: FeedFilter['severityMatch'] }>;

export function severityChoiceOf(filter: FeedFilter): string {
  // Nothing is worse than critical: "critical or worse" is "critical".
  if (filter.severity === 'critical') return 'critical';
  return SEVERITY_CHOICES.find((c) => c.severity === filter.severity && (c.severity === null || c.match === filter.severityMatch))?.value ?? '';
}
