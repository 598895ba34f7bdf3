/**
 * Durations as a person writes them in a policy (`90s`, `15m`, `1h30m`, `7d`, `2w`) or as whole
 * seconds, and back. Total: any input gives a value or a reason, never an exception.
 */

/** A duration in a policy: whole seconds, or text such as `1h`, `1h30m`, `7d`. */
export type DurationInput = number | string;

const UNIT_SECONDS: Readonly<Record<string, number>> = { w: 604_800, d: 86_400, h: 3_600, m: 60, s: 1 };
const DURATION_TEXT = /^(?:\d+[wdhms])+$/;
const DURATION_PART = /(\d+)([wdhms])/g;
/** Longer than any sane ban or window (10 years): beyond this a typo is likelier than intent. */
const MAX_DURATION_SECONDS = 10 * 365 * 86_400;

export type DurationParse = { readonly ok: true; readonly seconds: number } | { readonly ok: false; readonly why: string };

/** Whole seconds > 0 from `value` (a positive integer, digits, or `1h30m`-style text). */
export function parseDuration(value: unknown): DurationParse {
  let seconds: number;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) return { ok: false, why: `must be a positive whole number of seconds, got ${value}` };
    seconds = value;
  } else if (typeof value === 'string') {
    const text = value.trim().toLowerCase().replace(/\s+/g, '');
    if (/^\d+$/.test(text)) seconds = Number(text);
    else if (DURATION_TEXT.test(text)) {
      seconds = 0;
      for (const [, amount, unit] of text.matchAll(DURATION_PART)) seconds += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
    } else return { ok: false, why: `${JSON.stringify(value.slice(0, 40))} is not a duration (write e.g. 90s, 15m, 1h30m, 7d, 2w)` };
    if (seconds <= 0) return { ok: false, why: `${JSON.stringify(value)} is zero; a duration must be positive` };
  } else {
    return { ok: false, why: 'must be a duration such as "1h" or a number of seconds' };
  }
  if (!(seconds <= MAX_DURATION_SECONDS)) return { ok: false, why: `${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : `${seconds} s`} is more than 10 years` };
  return { ok: true, seconds };
}

/** `7200` -> `2h`, `5400` -> `1h 30m`, `694800` -> `1w 1d 1h`: the two or three largest units. */
export function formatDuration(totalSeconds: number): string {
  let rest = Math.max(0, Math.round(totalSeconds));
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of Object.entries(UNIT_SECONDS)) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 3).join(' ');
}
