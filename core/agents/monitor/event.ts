/**
 * What the log monitor extracts from a log line: one security-relevant event. Parsers (built-in
 * and fail2ban filters) produce these; detectors consume them; `swarmctl monitor scan --json`
 * prints them as `{"type":"event", ...}` lines. Pure data, no Node APIs.
 */

/**
 * What happened. The first four are failures (an attacker's attempt counts), the next two are not;
 * the rest are format-specific and say in their name whether they are failures.
 */
export type EventKind =
  | 'auth_failure' // a wrong password/key/none/PAM failure, web or mail login failure
  | 'invalid_user' // a login attempt for a user that does not exist
  | 'preauth_disconnect' // connection closed/reset by an invalid or authenticating user before auth, max auth attempts
  | 'protocol_error' // bad key exchange, banner exchange error, timeout before auth, refused connect
  | 'auth_success' // accepted password/publickey: not a failure (but "success after failures" uses it)
  | 'session' // session opened/closed, connection from, informational
  | 'web_bot_search' // a request for a path that bots probe (wp-login.php, phpmyadmin, .env ...)
  | 'firewall_drop'; // a kernel netfilter LOG line (dropped/rejected packet), carries destPort

export const FAILURE_KINDS: ReadonlySet<EventKind> = new Set<EventKind>([
  'auth_failure',
  'invalid_user',
  'preauth_disconnect',
  'protocol_error',
  'web_bot_search',
  'firewall_drop',
]);

export function isFailure(kind: EventKind): boolean {
  return FAILURE_KINDS.has(kind);
}

export interface SecurityEvent {
  /** Milliseconds since the Unix epoch (UTC). Syslog times without a zone are read as local time. */
  readonly time: number;
  /** The client's IP address (IPv4, IPv6; IPv4-mapped IPv6 shown as IPv4), or its hostname when the log has no address; null when the line names none. */
  readonly sourceIp: string | null;
  /** The account the attempt was for, when the line names one. */
  readonly user: string | null;
  readonly kind: EventKind;
  /** The program that logged it, without pid: `sshd`, `sshd-session`, `nginx`, `postfix/smtpd`, `kernel` ... */
  readonly program: string;
  /** 1-based line number in the source it came from. */
  readonly line: number;
  /** The raw line, kept as evidence (already stripped of its line ending). */
  readonly text: string;
  /** How many attempts this one line stands for (`message repeated N times`); 1 otherwise. */
  readonly count: number;
  /** Destination port of a firewall_drop (scan detection); absent otherwise. */
  readonly destPort?: number;
}

/**
 * A parser turns lines into events. It may keep state across lines (sshd pid → attempt, so that one
 * attempt logged by PAM and by sshd counts once). `push` returns the events this line completes
 * (usually zero or one); `flush` returns whatever is still held at the end of input.
 */
export interface LineParser {
  push(text: string, line: number): SecurityEvent[];
  flush(): SecurityEvent[];
}
