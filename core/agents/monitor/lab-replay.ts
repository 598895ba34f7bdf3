/**
 * The lab's attack traffic: appends a realistic sshd auth log, with the current time, to the file
 * the lab's log monitor follows, so a newcomer sees anomalies arrive in the console within
 * seconds. The scenario cycles through what an internet-facing SSH server sees every day:
 * routine logins, a password brute force on root, a user-enumeration sweep, scanners that drop
 * the connection during the banner exchange, and a brute force that ends in a successful login.
 * Addresses are from the documentation ranges (RFC 5737), never real hosts.
 */
import { appendFileSync, mkdirSync, statSync, truncateSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SshdReplayOptions {
  readonly path: string;
  /** Lines appended per second (default 4: a steady trickle a person can follow). */
  readonly linesPerSecond?: number;
  /** The syslog hostname in each line. */
  readonly host?: string;
  readonly now?: () => Date;
}

const ENUMERATED_USERS = ['admin', 'oracle', 'test', 'ubuntu', 'pi', 'postgres', 'git', 'ftpuser', 'user', 'guest', 'hadoop', 'deploy1'];

/** One pass of the scenario, as sshd messages (without the syslog header). */
function scenario(): string[] {
  const lines: string[] = [];
  let pid = 20_000 + Math.floor(Math.random() * 10_000);
  const port = () => 32_768 + Math.floor(Math.random() * 28_000);
  const routine = () => {
    const p = ++pid;
    lines.push(`[${p}]: Accepted publickey for deploy from 10.20.0.15 port ${port()} ssh2: ED25519 SHA256:q1w2e3r4t5y6u7i8o9p0asdfghjklzxcvbnm12345`);
    lines.push(`[${p}]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)`);
  };
  routine();
  // A password brute force on root from one address.
  for (let i = 0; i < 14; i++) {
    const p = ++pid;
    lines.push(`[${p}]: Failed password for root from 198.51.100.23 port ${port()} ssh2`);
    if (i % 5 === 4) lines.push(`[${p}]: Connection closed by authenticating user root 198.51.100.23 port ${port()} [preauth]`);
  }
  routine();
  // A sweep for accounts that might exist.
  for (const user of ENUMERATED_USERS) {
    const p = ++pid;
    lines.push(`[${p}]: Invalid user ${user} from 203.0.113.45 port ${port()}`);
    lines.push(`[${p}]: Connection closed by invalid user ${user} 203.0.113.45 port ${port()} [preauth]`);
  }
  // Scanners that never get past the banner.
  for (let i = 0; i < 4; i++) {
    const p = ++pid;
    lines.push(`[${p}]: banner exchange: Connection from 192.0.2.77 port ${port()}: invalid format`);
  }
  // Guessing that works in the end: failures, then an accepted password.
  for (let i = 0; i < 6; i++) lines.push(`[${++pid}]: Failed password for backup from 198.51.100.99 port ${port()} ssh2`);
  lines.push(`[${++pid}]: Accepted password for backup from 198.51.100.99 port ${port()} ssh2`);
  routine();
  return lines;
}

function syslogStamp(d: Date): string {
  const month = d.toLocaleString('en-US', { month: 'short' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${month} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export interface SshdReplay {
  /** Lines written so far. */
  readonly written: number;
  stop(): void;
}

export function startSshdReplay(options: SshdReplayOptions): SshdReplay {
  const rate = options.linesPerSecond ?? 4;
  const host = options.host ?? 'gcp-edge-1';
  const now = options.now ?? (() => new Date());
  const TICK_MS = 250;
  /** A lab left running for days must not fill the disk: past this the log is truncated (as copytruncate would). */
  const MAX_LOG_BYTES = 8 * 1024 * 1024;
  let ticks = 0;
  mkdirSync(dirname(options.path), { recursive: true });
  let queue: string[] = [];
  let written = 0;
  let credit = 0;
  const timer = setInterval(() => {
    credit += (rate * TICK_MS) / 1000;
    const n = Math.floor(credit);
    if (n === 0) return;
    credit -= n;
    const stamp = `${syslogStamp(now())} ${host} sshd`;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      if (queue.length === 0) queue = scenario();
      out.push(`${stamp}${queue.shift()!}`);
    }
    try {
      if (++ticks % 240 === 0 && statSync(options.path).size > MAX_LOG_BYTES) truncateSync(options.path, 0);
      appendFileSync(options.path, `${out.join('\n')}\n`);
      written += out.length;
    } catch {
      // The lab directory went away (removed while running): nothing to replay into.
    }
  }, TICK_MS);
  timer.unref();
  return {
    get written() {
      return written;
    },
    stop: () => clearInterval(timer),
  };
}
