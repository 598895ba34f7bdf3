/**
 * Test support: our own annotated log fixtures (fixtures/*.log), read the way the tests read them.
 *
 *   # reference: 2024-06-15T12:00:00Z       the parser's referenceTime (year inference)
 *   # any other comment
 *   #> auth_failure 192.0.2.1 root          an event the NEXT log line yields (one #> per event)
 *   #> auth_failure 192.0.2.1 root count=3 port=22 held
 *   #> -                                    the next log line yields nothing
 *   Jan  1 12:00:00 host sshd[1]: ...
 *
 * Fields: kind, source address (`-` for none), user (`-` for none, `''` for the empty name), then
 * options: count=N, port=N (firewall destPort), `held` when the event was logged by an earlier
 * line and is released by this one (its line number is then an earlier one).
 * Log lines without a #> block are not checked (context lines such as `Connection from`).
 */
import { readFileSync } from 'node:fs';
import type { EventKind } from '../event.ts';

export interface ExpectedEvent {
  readonly kind: EventKind;
  readonly sourceIp: string | null;
  readonly user: string | null;
  readonly count: number;
  readonly destPort: number | undefined;
  readonly held: boolean;
}

export interface FixtureLine {
  /** 1-based line number in the fixture file. */
  readonly line: number;
  readonly text: string;
  /** What the line must yield; null when the fixture states nothing about it. */
  readonly expected: readonly ExpectedEvent[] | null;
}

export interface Fixture {
  readonly referenceTime: number | undefined;
  readonly lines: readonly FixtureLine[];
}

export function readFixture(path: string): Fixture {
  const raw = readFileSync(path, 'utf8').split('\n');
  let referenceTime: number | undefined;
  const lines: FixtureLine[] = [];
  let pending: ExpectedEvent[] | null = null;
  raw.forEach((text, index) => {
    if (text.startsWith('# reference: ')) {
      referenceTime = Date.parse(text.slice(13).trim());
      return;
    }
    if (text.startsWith('#> ')) {
      pending ??= [];
      const spec = text.slice(3).trim();
      if (spec !== '-') pending.push(parseExpectation(spec, index + 1));
      return;
    }
    if (text.startsWith('#') || text.trim() === '') return;
    lines.push({ line: index + 1, text, expected: pending });
    pending = null;
  });
  return { referenceTime, lines };
}

function parseExpectation(spec: string, line: number): ExpectedEvent {
  const [kind, ip, user, ...options] = spec.split(/\s+/);
  if (kind === undefined || ip === undefined || user === undefined) throw new Error(`fixture line ${line}: "#> ${spec}" needs kind, address and user`);
  let count = 1;
  let destPort: number | undefined;
  let held = false;
  for (const option of options) {
    if (option.startsWith('count=')) count = Number(option.slice(6));
    else if (option.startsWith('port=')) destPort = Number(option.slice(5));
    else if (option === 'held') held = true;
    else throw new Error(`fixture line ${line}: unknown option "${option}"`);
  }
  return {
    kind: kind as EventKind,
    sourceIp: ip === '-' ? null : ip,
    user: user === '-' ? null : user === "''" ? '' : user,
    count,
    destPort,
    held,
  };
}
