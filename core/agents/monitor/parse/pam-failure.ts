/**
 * The fields of a PAM `authentication failure;` message, as pam_unix (and pam_sss, pam_ldap ...)
 * write it for sshd, dovecot and others:
 *
 *   authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root
 *
 * The remote user (ruser) and the user come from the client, so either may contain ` rhost=`.
 * The real rhost is the one followed by nothing but ` user=...` or ` [preauth]`: an rhost injected
 * into ruser is followed by the real ` rhost=`, one injected into user comes after it.
 */
import { normaliseAddress } from './source-address.ts';

export interface PamFailure {
  /** The client address (or hostname) PAM was told, normalised; null when absent or unreadable. */
  readonly rhost: string | null;
  /** `user=`: the account; null when PAM did not name it (typically an unknown user). */
  readonly user: string | null;
  /** `ruser=`: the remote user name as the service passed it; null when empty. */
  readonly ruser: string | null;
}

const RHOST = 'rhost=';

export function readPamFailure(text: string, start: number): PamFailure {
  let rhost: string | null = null;
  let user: string | null = null;
  let from = start;
  for (;;) {
    const at = text.indexOf(RHOST, from);
    if (at < 0) break;
    from = at + RHOST.length;
    if (at > 0 && text.charCodeAt(at - 1) !== 0x20) continue; // "ruser=rhost=..." is part of ruser
    let end = text.indexOf(' ', from);
    if (end < 0) end = text.length;
    let rest = end;
    while (rest < text.length && text.charCodeAt(rest) === 0x20) rest++;
    if (rest < text.length && !text.startsWith('user=', rest) && !text.startsWith('[preauth]', rest)) continue;
    rhost = end > from ? normaliseAddress(text.slice(from, end)) : null;
    if (text.startsWith('user=', rest)) {
      let userEnd = text.indexOf(' ', rest + 5);
      if (userEnd < 0) userEnd = text.length;
      user = userEnd > rest + 5 ? text.slice(rest + 5, userEnd) : null;
    }
    break;
  }
  let ruser: string | null = null;
  const ruserAt = text.indexOf(' ruser=', start);
  if (ruserAt >= 0) {
    let end = text.indexOf(' ', ruserAt + 7);
    if (end < 0) end = text.length;
    if (end > ruserAt + 7) ruser = text.slice(ruserAt + 7, end);
  }
  return { rhost, user, ruser };
}
