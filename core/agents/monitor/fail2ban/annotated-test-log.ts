/**
 * Reader for fail2ban's annotated sample logs (Debian package `fail2ban`, tests/files/logs/), used as
 * an external oracle by our corpus test and benchmark. Facts about the format, from the files:
 * - `# failJSON: {...}` annotates the next log line: "match" true/false, the "host" fail2ban finds,
 *   optionally "time" (local time, the test suite runs in Europe/Berlin), "user", "attempts", and a
 *   "constraint" (a Python expression over `name` and `opts`) that must hold for the line to be used;
 * - `# filterOptions: {...}` or `[{...}, ...]` starts a block checked under each option set listed
 *   (`mode`, `logtype`, ...; `test.condition` restricts the block to some filters);
 * - `# fileOptions: {...}` adds options to every set of the file; `# addFILE: "name"` appends another log.
 * Pure text processing; reading the files is the caller's business.
 */

export interface FailAnnotation {
  readonly match: boolean;
  readonly host?: string | null;
  readonly time?: string;
  readonly user?: string;
  readonly attempts?: number;
  readonly constraint?: string;
  readonly desc?: string;
}

export interface AnnotatedLine {
  readonly text: string;
  /** 1-based line in the file it came from. */
  readonly line: number;
  readonly file: string;
  /** null when the line has no `# failJSON` before it. */
  readonly annotation: FailAnnotation | null;
  /** Set when the annotation could not be read as JSON. */
  readonly annotationError?: string;
}

export interface AnnotatedBlock {
  /** Option sets this block is checked under (at least one, possibly `{}`). */
  readonly optionSets: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly lines: readonly AnnotatedLine[];
}

export interface AnnotatedLog {
  readonly blocks: readonly AnnotatedBlock[];
  readonly addedFiles: readonly string[];
}

function parseOptionSets(json: string): Array<Record<string, string>> {
  const value: unknown = JSON.parse(json);
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry) => {
    const set: Record<string, string> = {};
    if (entry !== null && typeof entry === 'object') {
      for (const [key, option] of Object.entries(entry as Record<string, unknown>)) set[key] = String(option);
    }
    return set;
  });
}

/** Parses one annotated log file's text. `fileName` is recorded on each line for messages. */
export function parseAnnotatedLog(text: string, fileName: string): AnnotatedLog {
  const blocks: AnnotatedBlock[] = [];
  const addedFiles: string[] = [];
  let fileOptions: Record<string, string> = {};
  let current: { optionSets: Array<Record<string, string>>; lines: AnnotatedLine[] } = { optionSets: [{}], lines: [] };
  let pending: { annotation: FailAnnotation | null; error?: string } | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const directive = /^#\s*(failJSON|filterOptions|fileOptions|addFILE):\s*(.*)$/.exec(raw);
    if (directive !== null) {
      const [, kind, json] = directive as unknown as [string, string, string];
      try {
        if (kind === 'failJSON') {
          pending = { annotation: JSON.parse(json) as FailAnnotation };
        } else if (kind === 'filterOptions') {
          if (current.lines.length > 0) blocks.push(current);
          current = { optionSets: parseOptionSets(json).map((set) => ({ ...fileOptions, ...set })), lines: [] };
        } else if (kind === 'fileOptions') {
          fileOptions = parseOptionSets(json)[0] ?? {};
          current.optionSets = current.optionSets.map((set) => ({ ...fileOptions, ...set }));
        } else {
          addedFiles.push(JSON.parse(json) as string);
        }
      } catch (err) {
        if (kind === 'failJSON') pending = { annotation: null, error: `${err instanceof Error ? err.message : String(err)}: ${json}` };
      }
      return;
    }
    if (raw.startsWith('#') || raw.trim() === '') return;
    const annotated: { annotation: FailAnnotation | null; error?: string } | null = pending;
    pending = null;
    current.lines.push({
      text: raw,
      line: index + 1,
      file: fileName,
      annotation: annotated?.annotation ?? null,
      ...(annotated?.error === undefined ? {} : { annotationError: annotated.error }),
    });
  });
  if (current.lines.length > 0) blocks.push(current);
  return { blocks, addedFiles };
}

/**
 * Evaluates the few constraint shapes the sample logs use (`name == 'sshd'`,
 * `opts.get('mode') != 'aggressive'`, joined by `and`/`or`). Returns null for anything else, so the
 * caller can skip the line with a reason instead of guessing.
 */
export function evaluateConstraint(expression: string, name: string, opts: Readonly<Record<string, string>>): boolean | null {
  const orParts = expression.split(/\s+or\s+/);
  let any = false;
  for (const orPart of orParts) {
    let all = true;
    for (const part of orPart.split(/\s+and\s+/)) {
      const m = /^\s*(name|opts\.get\(\s*'([^']*)'\s*\))\s*(==|!=)\s*'([^']*)'\s*$/.exec(part);
      if (m === null) return null;
      const left = m[1] === 'name' ? name : (opts[m[2] as string] ?? 'None');
      const equal = left === m[4];
      if ((m[3] === '==') !== equal) all = false;
    }
    if (all) any = true;
  }
  return any;
}
