/**
 * The monitor's built-in parser: one LineParser for every format it knows. The syslog header is
 * read once; the program it names picks the format (sshd, kernel netfilter, postfix, dovecot,
 * nginx, apache). Lines without a syslog header are tried as nginx and Apache error logs and as
 * access logs. Lines that are not security-relevant yield nothing; no input makes it throw.
 *
 *   const parser = createLineParser({ referenceTime: Date.parse('2024-06-01T00:00:00Z') });
 *   for (const [i, text] of lines.entries()) emit(parser.push(text, i + 1));
 *   emit(parser.flush());
 */
import type { LineParser, SecurityEvent } from '../event.ts';
import { newLineContext, type FormatParser, type LineContext } from './line-context.ts';
import { createLogClock } from './log-clock.ts';
import { createDovecotParser, createPostfixParser } from './mail.ts';
import { createNetfilterParser } from './netfilter.ts';
import { createSshdParser } from './sshd.ts';
import { newHeaderRecord, readSyslogHeaderInto } from './syslog.ts';
import { apacheMessage, nginxMessage, readAccessLine, readApacheErrorLine, readNginxErrorLine } from './web.ts';

export interface LineParserOptions {
  /**
   * Epoch ms that RFC 3164 stamps (which have no year) are placed against: the year is the one
   * that makes the stamp the latest moment at most a day after it. Give the log's own era when
   * replaying an old file; default: the wall clock at each line, right for live logs.
   */
  readonly referenceTime?: number;
  /** The `program` of events read from access logs, which do not say which server wrote them. Default 'http'. */
  readonly accessLogProgram?: string;
}

/** Which parser a program's lines go to. */
type Format = 'sshd' | 'netfilter' | 'postfix' | 'dovecot' | 'nginx' | 'apache' | null;

/** Distinct program names remembered; a log full of made-up names must not grow memory without bound. */
const MAX_REMEMBERED_PROGRAMS = 1024;
const REPEATED = 'message repeated ';

export function formatOfProgram(program: string): Format {
  if (program.startsWith('sshd')) return 'sshd'; // sshd, sshd-session, sshd-auth, sshd(pam_unix)
  if (program === 'kernel') return 'netfilter';
  if (program.startsWith('postfix')) return 'postfix'; // postfix/smtpd, postfix-incoming/smtpd, postfix/submission/smtpd
  if (
    program.startsWith('dovecot') ||
    program.endsWith('-login') || // imap-login, pop3-login, submission-login, managesieve-login
    program === 'auth' ||
    program.startsWith('auth-worker') ||
    program.startsWith('auth(')
  ) {
    return 'dovecot';
  }
  if (program.startsWith('nginx')) return 'nginx';
  if (program.startsWith('httpd') || program.startsWith('apache')) return 'apache'; // httpd, httpd/backend1, apache2
  return null;
}

export function createLineParser(options: LineParserOptions = {}): LineParser {
  const clock = createLogClock(options.referenceTime === undefined ? {} : { referenceTime: options.referenceTime });
  const accessLogProgram = options.accessLogProgram ?? 'http';
  const parsers: Record<Exclude<Format, null | 'nginx' | 'apache'>, FormatParser> = {
    sshd: createSshdParser(),
    netfilter: createNetfilterParser(),
    postfix: createPostfixParser(),
    dovecot: createDovecotParser(),
  };
  const formats = new Map<string, Format>();
  const ctx = newLineContext();
  const header = newHeaderRecord();

  let lastProgram = '';
  let lastFormat: Format = null;
  function formatOf(program: string): Format {
    if (program === lastProgram) return lastFormat;
    let format = formats.get(program);
    if (format === undefined) {
      format = formatOfProgram(program);
      if (formats.size >= MAX_REMEMBERED_PROGRAMS) formats.clear();
      formats.set(program, format);
    }
    lastProgram = program;
    lastFormat = format;
    return format;
  }

  function dispatch(c: LineContext, out: SecurityEvent[]): void {
    const format = formatOf(c.program);
    if (format === null) return;
    if (c.message.startsWith(REPEATED)) {
      // rsyslog: "message repeated 3 times: [ Failed password for root from ...]" stands for 3 more lines.
      if (!readRepeated(c)) return;
    }
    switch (format) {
      case 'nginx':
        nginxMessage(c, out);
        return;
      case 'apache':
        apacheMessage(c, out);
        return;
      default:
        parsers[format].push(c, out);
    }
  }

  return {
    push(rawText: string, line: number): SecurityEvent[] {
      const out: SecurityEvent[] = [];
      let text = rawText;
      let end = text.length;
      while (end > 0 && (text.charCodeAt(end - 1) === 0x0d || text.charCodeAt(end - 1) === 0x0a)) end--;
      if (end !== text.length) text = text.slice(0, end);
      if (text.length === 0) return out;
      ctx.line = line;
      ctx.text = text;
      ctx.count = 1;
      if (readSyslogHeaderInto(text, clock, header)) {
        ctx.time = header.time;
        ctx.hostname = header.hostname;
        ctx.program = header.program;
        ctx.pid = header.pid;
        ctx.message = header.message;
        dispatch(ctx, out);
        return out;
      }
      ctx.hostname = null;
      ctx.pid = null;
      ctx.message = text;
      const first = text.charCodeAt(0);
      if (first >= 0x30 && first <= 0x39 && text.charCodeAt(4) === 0x2f) readNginxErrorLine(text, clock, ctx, out);
      else if (first === 0x5b) readApacheErrorLine(text, clock, ctx, out);
      else readAccessLine(text, accessLogProgram, ctx, out);
      return out;
    },
    flush(): SecurityEvent[] {
      const out: SecurityEvent[] = [];
      for (const parser of Object.values(parsers)) parser.flush(out);
      return out;
    },
  };
}

/** Replaces ctx.message by the repeated message and sets ctx.count; false when the line is not of that form. */
function readRepeated(c: LineContext): boolean {
  const m = c.message;
  let i = REPEATED.length;
  let count = 0;
  while (i < m.length && m.charCodeAt(i) >= 0x30 && m.charCodeAt(i) <= 0x39 && i < REPEATED.length + 9) count = count * 10 + (m.charCodeAt(i++) - 0x30);
  if (i === REPEATED.length || !m.startsWith(' times: [', i)) return false;
  let start = i + 9;
  if (m.charCodeAt(start) === 0x20) start++;
  let end = m.length;
  if (m.charCodeAt(end - 1) === 0x5d) end--;
  c.message = m.slice(start, end);
  c.count = Math.max(count, 1);
  return true;
}
