/**
 * Whether two rows from the service show the same thing. Stores keep the object they hold when
 * an equal copy arrives (a re-read after a reconnect, a push that resends a row), so memoized
 * rows compare by === and skip rendering.
 */

/** Deep equality of JSON data (objects, arrays, strings, numbers, booleans, null). */
export function sameRow(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => sameRow(item, other[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && sameRow(left[key], right[key]));
}

/** Same items in the same order (for id lists, so an unchanged order keeps its array). */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/**
 * Whether a pushed or re-read row takes the place of the one held: it is at least as new
 * (`updatedAt`, the console's clock, so a push that raced a read never puts an older state back)
 * and shows something different (an equal copy keeps the held object).
 */
export function replacesHeld<T extends { updatedAt: number }>(held: T | undefined, incoming: T): boolean {
  return held === undefined || (incoming.updatedAt >= held.updatedAt && !sameRow(held, incoming));
}

/** `held` with the rows that replace theirs (see replacesHeld); `held` itself when none does. */
export function upsertRows<T extends { updatedAt: number }>(held: Readonly<Record<string, T>>, rows: readonly T[], keyOf: (row: T) => string): Readonly<Record<string, T>> {
  let next: Record<string, T> | null = null;
  for (const row of rows) {
    const key = keyOf(row);
    if (!replacesHeld((next ?? held)[key], row)) continue;
    (next ??= { ...held })[key] = row;
  }
  return next ?? held;
}

/** A full read's rows by key, keeping each held row the read does not replace (an equal copy, or a newer push). */
export function rowsOfRead<T extends { updatedAt: number }>(held: Readonly<Record<string, T>>, rows: readonly T[], keyOf: (row: T) => string): Record<string, T> {
  const next: Record<string, T> = {};
  for (const row of rows) {
    const key = keyOf(row);
    const kept = held[key];
    next[key] = kept !== undefined && !replacesHeld(kept, row) ? kept : row;
  }
  return next;
}
