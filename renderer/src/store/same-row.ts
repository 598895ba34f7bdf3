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
