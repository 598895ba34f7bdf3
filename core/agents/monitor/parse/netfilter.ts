/**
 * Kernel netfilter LOG lines (iptables `-j LOG`, nftables `log`, ufw, firewalld):
 *
 *   kernel: [123.4] DROP IN=eth0 OUT= MAC=... SRC=198.51.100.7 DST=10.0.0.1 LEN=60 ... PROTO=TCP SPT=4444 DPT=22 ...
 *
 * The text before `IN=` is the rule's log prefix, chosen by the administrator. A prefix that says
 * the packet was let through (`[UFW ALLOW]`, `ACCEPT`, ufw's `AUDIT`) is not a drop: those lines
 * yield nothing. Everything else logged with the netfilter fields is read as a dropped or rejected
 * packet, which is what rules log in practice.
 */
import type { SecurityEvent } from '../event.ts';
import { eventOf, type FormatParser, type LineContext } from './line-context.ts';
import { normaliseAddress } from './source-address.ts';

/** Log prefixes that mark accepted packets (compared upper-cased). */
const ACCEPTED_PREFIX_WORDS = ['ALLOW', 'ACCEPT', 'AUDIT'];

export function createNetfilterParser(): FormatParser {
  return {
    push(ctx: LineContext, out: SecurityEvent[]): void {
      const m = ctx.message;
      const inAt = m.indexOf('IN=');
      if (inAt < 0 || (inAt > 0 && m.charCodeAt(inAt - 1) !== 0x20)) return;
      // An empty IN= is a packet this host sent (OUTPUT chain): its SRC is our own address, and
      // counting it would have the scan detector propose blocking ourselves.
      const inEnd = inAt + 3;
      if (inEnd >= m.length || m.charCodeAt(inEnd) === 0x20) return;
      const srcAt = m.indexOf(' SRC=', inAt);
      if (srcAt < 0) return;
      const prefix = m.slice(0, inAt).toUpperCase();
      for (const word of ACCEPTED_PREFIX_WORDS) if (prefix.includes(word)) return;
      const source = normaliseAddress(fieldValue(m, srcAt + 5));
      if (source === null) return;
      const event = eventOf(ctx, 'firewall_drop', source, null);
      const dptAt = m.indexOf(' DPT=', srcAt);
      if (dptAt >= 0) {
        const text = fieldValue(m, dptAt + 5);
        const port = Number(text);
        if (text.length > 0 && text.length <= 5 && Number.isInteger(port) && port >= 0 && port <= 65535) {
          out.push({ ...event, destPort: port });
          return;
        }
      }
      out.push(event);
    },
    flush(): void {},
  };
}

function fieldValue(m: string, start: number): string {
  const end = m.indexOf(' ', start);
  return m.slice(start, end < 0 ? m.length : end);
}
