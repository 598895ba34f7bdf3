/**
 * Printing for swarmctl: tables for people, one JSON document for scripts (--json), and one-line
 * errors with a hint. No stack traces unless SWARM_DEBUG=1.
 */
export interface Printer {
  json: boolean;
  out(line: string): void;
  err(line: string): void;
}

export function stdPrinter(json: boolean): Printer {
  return {
    json,
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
  };
}

export function printJson(p: Printer, value: unknown): void {
  p.out(JSON.stringify(value, null, 2));
}

/** Renders rows as an aligned text table; empty cells show as "-". */
export function table(rows: Array<Record<string, unknown>>, columns: Array<[key: string, title: string]>): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined || v === '') return '-';
    if (Array.isArray(v)) return v.length ? v.join(',') : '-';
    return String(v);
  };
  const cells = rows.map((r) => columns.map(([k]) => cell(r[k])));
  const widths = columns.map(([, title], i) => Math.max(title.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (parts: string[]) => parts.map((s, i) => (i === parts.length - 1 ? s : s.padEnd(widths[i] as number))).join('  ');
  return [line(columns.map(([, t]) => t.toUpperCase())), ...cells.map(line)].join('\n');
}

/** "2026-11-25 07:12:03 (3 min ago)": local time plus how long ago. */
export function when(iso: string | number | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined || iso === '') return '-';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return String(iso);
  const d = new Date(t);
  const pad = (n: number) => String(n).padStart(2, '0');
  const local = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${local} (${ago(now - t)})`;
}

export function ago(ms: number): string {
  const future = ms < 0;
  const s = Math.abs(ms) / 1000;
  const text = s < 5 ? 'just now' : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 172800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
  if (text === 'just now') return text;
  return future ? `in ${text}` : `${text} ago`;
}

export interface UserFacingError {
  code: string;
  message: string;
  hint: string;
}

/** Turns anything thrown into code/message/hint, without leaking internals. */
export function toUserError(err: unknown): UserFacingError {
  const e = err as { code?: unknown; message?: unknown; hint?: unknown };
  if (err instanceof Error && typeof e.code === 'string' && !e.code.startsWith('ERR_')) {
    return { code: e.code, message: err.message, hint: typeof e.hint === 'string' ? e.hint : '' };
  }
  return {
    code: 'internal',
    message: `unexpected error: ${err instanceof Error ? err.message : String(err)}`,
    hint: 'run again with SWARM_DEBUG=1 for details, and report it',
  };
}

export function printError(p: Printer, err: unknown): void {
  const e = toUserError(err);
  if (p.json) printJson(p, { ok: false, error: e });
  p.err(`swarmctl: error: ${e.message}${e.hint ? ` — ${e.hint}` : ''}`);
  if (process.env.SWARM_DEBUG === '1' && err instanceof Error && err.stack) p.err(err.stack);
}
