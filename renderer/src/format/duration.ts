/**
 * Durations of blocks: a TTL as an analyst says it ("2 h", "1 d 12 h"), the time a block has
 * left as a running clock ("1:59:58", "2 d 03:15:42") that visibly ticks every second, and the
 * number + unit pair the Edit dialog offers for a TTL.
 */

const MINUTE_S = 60;
const HOUR_S = 60 * MINUTE_S;
const DAY_S = 24 * HOUR_S;

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** "45 s", "15 min", "2 h", "2 h 30 min", "7 d", "1 d 12 h": the two largest non-zero units. */
export function formatTtl(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const whole = Math.round(seconds);
  if (whole < MINUTE_S) return `${whole} s`;
  const parts: Array<[number, string]> = [
    [Math.floor(whole / DAY_S), 'd'],
    [Math.floor((whole % DAY_S) / HOUR_S), 'h'],
    [Math.floor((whole % HOUR_S) / MINUTE_S), 'min'],
    [whole % MINUTE_S, 's'],
  ];
  const first = parts.findIndex(([amount]) => amount > 0);
  return parts
    .slice(first, first + 2)
    .filter(([amount]) => amount > 0)
    .map(([amount, unit]) => `${amount} ${unit}`)
    .join(' ');
}

/**
 * What a block has left, as a clock: "0:00:42", "1:59:58", "2 d 03:15:42". Seconds are always
 * shown, so the text changes on every tick and an analyst sees the block is alive. Null once
 * the time is up (the executor lifts the block and reports it; until then it is "expiring").
 */
export function formatRemaining(ms: number): string | null {
  if (!Number.isFinite(ms) || ms <= 0) return null;
  // Round up: a block with 0.4 s left still has "0:00:01", never "0:00:00" while it stands.
  const total = Math.ceil(ms / 1000);
  const days = Math.floor(total / DAY_S);
  const hours = Math.floor((total % DAY_S) / HOUR_S);
  const clock = `${pad(Math.floor((total % HOUR_S) / MINUTE_S))}:${pad(total % MINUTE_S)}`;
  return days > 0 ? `${days} d ${pad(hours)}:${clock}` : `${hours}:${clock}`;
}

/** Parses formatRemaining's text back to seconds (for tests that watch a countdown); null if it is not one. */
export function parseRemaining(text: string): number | null {
  const match = /^(?:(\d+) d )?(\d+):(\d{2}):(\d{2})$/.exec(text.trim());
  if (!match) return null;
  const [, days, hours, minutes, seconds] = match;
  return Number(days ?? 0) * DAY_S + Number(hours) * HOUR_S + Number(minutes) * MINUTE_S + Number(seconds);
}

export const TTL_UNITS = [
  { unit: 'minutes', seconds: MINUTE_S },
  { unit: 'hours', seconds: HOUR_S },
  { unit: 'days', seconds: DAY_S },
] as const;
export type TtlUnit = (typeof TTL_UNITS)[number]['unit'];

/** A TTL in the largest unit that divides it: 7200 → 2 hours, 5400 → 90 minutes. */
export function splitTtl(seconds: number): { amount: number; unit: TtlUnit } {
  for (const { unit, seconds: size } of [...TTL_UNITS].reverse()) {
    if (seconds >= size && seconds % size === 0) return { amount: seconds / size, unit };
  }
  return { amount: Math.max(1, Math.round(seconds / MINUTE_S)), unit: 'minutes' };
}

/** Seconds for an amount the analyst typed and a unit; null when the text is not a positive whole number. */
export function joinTtl(amount: string, unit: TtlUnit): number | null {
  const text = amount.trim();
  if (!/^\d+$/.test(text)) return null;
  const value = Number(text);
  const size = TTL_UNITS.find((u) => u.unit === unit)?.seconds ?? MINUTE_S;
  return value > 0 && Number.isSafeInteger(value * size) ? value * size : null;
}
