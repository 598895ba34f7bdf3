/**
 * One string object per user name. Every log line carries its own copy of "root"; detectors
 * compare user names per event and per rule, and comparing two copies means reading both from
 * memory, while the canonical copies of the few names a log uses stay in cache (and equal names
 * compare by pointer). Measured: about a fifth of the detectors' time on a 200k-line sshd log.
 *
 * Attackers choose user names, so the table is bounded: once full, new names are used as they
 * come (still correct, only not shared).
 */
export const USER_NAMES_KEPT = 65_536;

export class UserNames {
  readonly #names = new Map<string, string>();

  /** The canonical copy of the event's user name, or null when it names none. */
  canonical(user: unknown): string | null {
    if (typeof user !== 'string' || user.length === 0) return null;
    const known = this.#names.get(user);
    if (known !== undefined) return known;
    if (this.#names.size < USER_NAMES_KEPT) this.#names.set(user, user);
    return user;
  }
}
