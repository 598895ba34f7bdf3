/**
 * Every time in the console is shown local and relative ("14:02:31 · 3 min ago"): local for
 * matching against logs and tickets, relative for judging freshness at a glance. 24-hour clock
 * and ISO dates so the text means the same to every analyst regardless of browser locale.
 */

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

function sameLocalDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "14:02:31" today, "2025-11-24 14:02:31" on any other day (local time). */
export function formatLocalTime(at: Date, now: Date): string {
  const clock = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  if (sameLocalDay(at, now)) return clock;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${clock}`;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago" (or "in …" for a time ahead of ours). */
export function formatRelativeTime(at: Date, now: Date): string {
  const delta = now.getTime() - at.getTime();
  const distance = Math.abs(delta);
  // Clocks of two machines disagree by a few seconds; do not make that look like the future.
  if (distance < 5 * SECOND) return 'just now';
  let amount: string;
  if (distance < MINUTE) amount = `${Math.floor(distance / SECOND)} s`;
  else if (distance < HOUR) amount = `${Math.floor(distance / MINUTE)} min`;
  else if (distance < DAY) amount = `${Math.floor(distance / HOUR)} h`;
  else amount = `${Math.floor(distance / DAY)} d`;
  return delta >= 0 ? `${amount} ago` : `in ${amount}`;
}

/** "14:02:31 · 3 min ago", or null when the text is not a valid time. */
export function formatTimestamp(iso: string, now: Date): string | null {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return null;
  return `${formatLocalTime(at, now)} · ${formatRelativeTime(at, now)}`;
}
