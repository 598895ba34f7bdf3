/**
 * Finds the timestamp in a log line the way fail2ban's `datepattern` describes it (man jail.conf):
 * the date is located, converted to a time, and cut out of the line, and the failregexes then run on
 * what is left (which is why `__prefix_line` starts with `\s*` and web filters expect `[]`).
 *
 * Supported `datepattern` values, one template per line:
 * - a regex with strptime directives (`%Y-%m-%d %H:%M:%S`, plus fail2ban's `%ExY`, `%Exy`, `%k`, `%e`, `%l`);
 * - `{DATE}` inside such a regex stands for each default template; if the regex has an unnamed
 *   group, that group is the date (`^[^\[]*\[({DATE})`), otherwise the whole match is;
 * - prefixes `{^LN-BEG}` (anchor at line start, up to 2 non-word characters allowed before the date)
 *   and `{UNB}` (no automatic word boundaries);
 * - `Epoch`, `TAI64N`, `ISO8601`; `{DEFAULT}`; `{^LN-BEG}` alone (the defaults, anchored); `{NONE}`.
 * With no datepattern the default templates are searched anywhere in the line.
 *
 * Times without a zone are local time; a date without a year takes the year of the reference time,
 * or the year before when that would put it more than a day in the future (a December line read in January).
 */
import { translatePythonRegex } from './python-regex.ts';

export interface DateMatch {
  /** Milliseconds since the Unix epoch. */
  readonly time: number;
  /** The span of the line that held the date (cut out before the failregexes run). */
  readonly start: number;
  readonly end: number;
}

export interface DateDetector {
  /** True for `{NONE}`: lines carry no date and take the reference time. */
  readonly none: boolean;
  detect(line: string, referenceTime: number): DateMatch | null;
}

/** The compiled templates of one `datepattern`; shareable, while each detector keeps its own preference. */
export interface DatePatterns {
  readonly none: boolean;
  readonly templates: readonly Template[];
}

export type DatePatternResult = { readonly ok: true; readonly patterns: DatePatterns } | { readonly ok: false; readonly message: string };

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAYS = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const WEEKDAY_NAMES = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';

// A syslog line of "Dec 31 23:59:59" read on Jan 1 must be last year's; a little slack covers clock skew and zones.
const FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;
// A time of day alone is "today" unless that lies ahead of now by more than this clock skew.
const TIME_ONLY_TOLERANCE_MS = 60 * 1000;
// TAI64 labels count from 2^62 (the TAI64 "external format" offset).
const TAI64_EPOCH = 2n ** 62n;

function named(name: string, body: string): string {
  return `(?P<dt_${name}>${body})`;
}

/** strptime directive -> Python regex with a named group the parser below reads. */
const DIRECTIVES: Readonly<Record<string, string>> = {
  Y: named('Y', '\\d{4}'),
  ExY: named('Y', '(?:19|20)\\d{2}'),
  y: named('y', '\\d{2}'),
  Exy: named('y', '\\d{2}'),
  m: named('m', '1[0-2]|0?[1-9]'),
  Exm: named('m', '1[0-2]|0[1-9]'),
  d: named('d', '3[01]|[12]\\d|0?[1-9]'),
  Exd: named('d', '3[01]|[12]\\d|0[1-9]'),
  e: named('d', '3[01]|[12]\\d| ?[1-9]|0[1-9]'),
  H: named('H', '2[0-3]|[01]?\\d'),
  k: named('H', '2[0-3]|[01]\\d| ?\\d'),
  I: named('I', '1[0-2]|0?[1-9]'),
  l: named('I', '1[0-2]| ?[1-9]|0[1-9]'),
  p: named('p', '(?i:[ap]m)'),
  M: named('M', '[0-5]\\d'),
  S: named('S', '6[01]|[0-5]\\d'),
  f: named('f', '\\d{1,9}'),
  z: named('z', 'Z|UTC|GMT|[+-](?:[01]\\d|2[0-3])(?::?[0-5]\\d)?'),
  Z: named('Z', '(?:UTC|GMT|Z|[A-Z]{3,5})'),
  b: named('b', `(?i:${MONTHS.join('|')})`),
  B: named('B', `(?i:${MONTH_NAMES.join('|')})`),
  a: `(?i:${WEEKDAYS})`,
  A: `(?i:${WEEKDAY_NAMES})`,
  j: named('j', '36[0-6]|3[0-5]\\d|[12]\\d{2}|0?[1-9]\\d|0{0,2}[1-9]'),
  s: named('s', '\\d{9,11}'),
};

/** The default templates (what `{DATE}`, `{DEFAULT}` and `{^LN-BEG}` stand for), in strptime syntax. */
const DEFAULT_TEMPLATES: readonly string[] = [
  // syslog, apache error log, monit: [PDT ][Sun ]Jan  5 01:31:41[.123456][ 2013]
  '(?:%Z )?(?:%a )?%b\\s+%e %k:%M:%S(?:\\.%f)?(?: %ExY)?',
  // Oct 27 2015 12:35:40 (macOS), Jan 23, 2005 21:41:02
  '(?:%a )?%b\\s+%e,? %ExY %k:%M:%S(?:\\.%f)?',
  // ISO 8601 and relatives: 2005-01-05T01:31:41.123+01:00, 2012/04/09 11:53:29, 2013.08.11 03:56:40
  '%ExY(?P<dt_sep>[-/.])%m(?P=dt_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?',
  // web access logs: 20/Jan/2015:19:53:28 +0100
  '%d(?P<dt_sep>[-/])%b(?P=dt_sep)%ExY[ :]?%H:%M:%S(?:\\.%f)?(?: %z)?',
  // 2005-01-05 01:31:41 written without separators in the date: 20050105 01:31:41
  '%ExY%Exm%Exd[ T]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?',
  // MySQL: 130324  0:04:00
  '%Exy%Exm%Exd  ?%k:%M:%S',
  // day first: 11-06-2013 02:09:40, 03.07.2005 23:07:20 (a zone after it is left to the failregex, as fail2ban does)
  '%d(?P<dt_sep>[-/.])%m(?P=dt_sep)(?:%ExY|%Exy) %k:%M:%S(?:[.,]%f)?',
  // Java-style: Jan 23, 2005 9:41:02 PM
  '%b %d, %ExY %I:%M:%S %p',
];

// Unix time: only trusted at the start of a line, where a bare 10-digit number is not a pid or a counter.
const EPOCH_TEMPLATE = '%s(?:\\.%f)?';
const TAI64N_TEMPLATE = '@(?P<dt_tai>[0-9a-fA-F]{24})';
const ISO8601_TEMPLATE = '%ExY-%Exm-%ExdT%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?';

// Named so the detector can leave these characters in the line: only the date itself is cut out.
const LINE_START = '^(?P<dt_lead>\\W{0,2})';
const WORD_START = '(?<!\\w)';
const WORD_END = '(?!\\w)';

export interface Template {
  readonly regex: RegExp;
  /** Index of the group holding the date when it is not the whole match. */
  readonly dateGroup: number | null;
  readonly fieldGroups: ReadonlyMap<string, number>;
  /** Anchored templates can only match at the line start, so a hit needs no comparison with the others. */
  readonly anchored: boolean;
}

function convertDirectives(pattern: string): { ok: true; regex: string } | { ok: false; message: string } {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      out += pattern.slice(i, i + 2);
      i++;
      continue;
    }
    if (ch !== '%') {
      out += ch;
      continue;
    }
    if (pattern[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const directive = /^(Ex[Yymd]|[A-Za-z])/.exec(pattern.slice(i + 1))?.[1];
    const replacement = directive === undefined ? undefined : DIRECTIVES[directive];
    if (directive === undefined || replacement === undefined) {
      return { ok: false, message: `unsupported strptime directive %${pattern.slice(i + 1, i + 4)}` };
    }
    out += replacement;
    i += directive.length;
  }
  return { ok: true, regex: out };
}

// Word boundaries go where the pattern begins or ends with a date field, so a custom pattern that
// ends in a literal (oracleims: `^<co ts="{DATE}"\s+`) is not required to be followed by a non-word.
const STARTS_WITH_DIRECTIVE = /^(?:%(?:Ex[Yymd]|[A-Za-z])|\{DATE\})/;
const ENDS_WITH_DIRECTIVE = /(?:%(?:Ex[Yymd]|[A-Za-z])|\{DATE\})$/;

function withDefaultTemplate(pattern: string, template: string, boundaries: boolean): string {
  return pattern.replaceAll('{DATE}', `(?:${template})${boundaries ? WORD_END : ''}`);
}

type CompiledTemplate = { ok: true; template: Template } | { ok: false; message: string };

// Every filter with `{^LN-BEG}` compiles the same default templates; templates are immutable (no g/y
// flags, so no lastIndex state), so one compiled copy serves all filters. Bounded against odd inputs.
const TEMPLATE_CACHE_LIMIT = 256;
const templateCache = new Map<string, CompiledTemplate>();

function compileTemplate(pattern: string, anchored: boolean, boundaries: boolean): CompiledTemplate {
  const key = `${anchored ? 'A' : '-'}${boundaries ? 'B' : '-'}${pattern}`;
  const cached = templateCache.get(key);
  if (cached !== undefined) return cached;
  const compiled = compileTemplateUncached(pattern, anchored, boundaries);
  if (templateCache.size >= TEMPLATE_CACHE_LIMIT) templateCache.clear();
  templateCache.set(key, compiled);
  return compiled;
}

function compileTemplateUncached(pattern: string, anchored: boolean, boundaries: boolean): CompiledTemplate {
  const converted = convertDirectives(pattern);
  if (!converted.ok) return converted;
  let regex = converted.regex;
  const startsAnchored = regex.startsWith('^');
  if (anchored && !startsAnchored) regex = `${LINE_START}(?:${regex})`;
  else if (boundaries && !startsAnchored && STARTS_WITH_DIRECTIVE.test(pattern)) regex = `${WORD_START}(?:${regex})`;
  if (boundaries && ENDS_WITH_DIRECTIVE.test(pattern)) regex = `(?:${regex})${WORD_END}`;
  const translated = translatePythonRegex(regex, { repeatableNamePrefix: 'dt_' });
  if (!translated.ok) return { ok: false, message: `${translated.error.message} (in '${pattern}')` };
  const fieldGroups = new Map<string, number>();
  let dateGroup: number | null = null;
  for (const g of translated.regex.groups) {
    if (g.name === null) {
      dateGroup ??= g.jsIndex;
    } else if (g.name.startsWith('dt_') && !fieldGroups.has(g.name.slice(3))) {
      fieldGroups.set(g.name.slice(3), g.jsIndex);
    }
  }
  const flags = `${translated.regex.flags}${dateGroup === null ? '' : 'd'}`;
  return {
    ok: true,
    template: { regex: new RegExp(translated.regex.source, flags), dateGroup, fieldGroups, anchored: anchored || startsAnchored },
  };
}

function monthIndex(name: string): number {
  const lower = name.toLowerCase();
  const full = MONTH_NAMES.indexOf(lower);
  return full >= 0 ? full : MONTHS.indexOf(lower.slice(0, 3));
}

/** Abbreviations that mean one offset wherever they are used; ambiguous ones (IST, CST in China) are read as local time. */
const ZONE_ABBREVIATIONS: Readonly<Record<string, number>> = {
  UTC: 0, GMT: 0, Z: 0, UT: 0, WET: 0, WEST: 60, BST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120, EET: 120, EEST: 180, MSK: 180,
  EST: -300, EDT: -240, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420, AKST: -540, AKDT: -480, HST: -600,
  JST: 540, KST: 540, AEST: 600, AEDT: 660, ACST: 570, AWST: 480, NZST: 720, NZDT: 780,
};

function zoneOffsetMinutes(zone: string): number | null {
  const named = ZONE_ABBREVIATIONS[zone];
  if (named !== undefined) return named;
  const numeric = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (numeric === null) return null;
  const minutes = Number(numeric[2]) * 60 + Number(numeric[3] ?? '0');
  return numeric[1] === '-' ? -minutes : minutes;
}

/** Builds the time from the captured fields, or null when they do not form a real date. */
function timeFromFields(get: (field: string) => string | undefined, referenceTime: number): number | null {
  const tai = get('tai');
  if (tai !== undefined) {
    const label = BigInt(`0x${tai}`);
    const seconds = (label >> 32n) - TAI64_EPOCH;
    const nanos = label & 0xffffffffn;
    return Number(seconds) * 1000 + Math.floor(Number(nanos) / 1e6);
  }
  const fraction = get('f');
  const millis = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  const epoch = get('s');
  if (epoch !== undefined) return Number(epoch) * 1000 + millis;

  const reference = new Date(referenceTime);
  const yearText = get('Y');
  const shortYear = get('y');
  const explicitYear = yearText !== undefined ? Number(yearText) : shortYear !== undefined ? 2000 + Number(shortYear) : null;
  const monthText = get('m');
  const monthName = get('b') ?? get('B');
  let month = monthText !== undefined ? Number(monthText) - 1 : monthName !== undefined ? monthIndex(monthName) : null;
  const dayText = get('d');
  let day = dayText !== undefined ? Number(dayText.trim()) : null;
  const dayOfYear = get('j');
  let hour = Number((get('H') ?? '0').trim());
  const hour12 = get('I');
  if (hour12 !== undefined) {
    hour = Number(hour12.trim()) % 12;
    if ((get('p') ?? '').toLowerCase() === 'pm') hour += 12;
  }
  const minute = Number(get('M') ?? '0');
  const second = Math.min(Number(get('S') ?? '0'), 59); // leap seconds are folded into :59
  if (dayOfYear !== undefined && month === null) {
    month = 0;
    day = Number(dayOfYear);
  }
  const timeOnly = month === null && day === null;
  if (timeOnly) {
    month = reference.getMonth();
    day = reference.getDate();
  }
  if (month === null || month < 0 || day === null) return null;
  const zone = get('z') ?? get('Z');
  const offset = zone === undefined ? null : zoneOffsetMinutes(zone);
  const build = (year: number): number | null => {
    if (offset === null) {
      const local = new Date(year, month, day, hour, minute, second, millis);
      // Date rolls Feb 30 over into March; a real log never writes that, so it is not a date.
      if (dayOfYear === undefined && (local.getMonth() !== month || local.getDate() !== day)) return null;
      return local.getTime();
    }
    const utc = Date.UTC(year, month, day, hour, minute, second, millis);
    const check = new Date(utc);
    if (dayOfYear === undefined && (check.getUTCMonth() !== month || check.getUTCDate() !== day)) return null;
    return utc - offset * 60_000;
  };
  if (explicitYear !== null) return build(explicitYear);
  if (timeOnly) {
    // A time of day later than now belongs to yesterday.
    const today = build(reference.getFullYear());
    return today !== null && today > referenceTime + TIME_ONLY_TOLERANCE_MS ? today - 24 * 60 * 60 * 1000 : today;
  }
  const thisYear = build(reference.getFullYear());
  if (thisYear !== null && thisYear <= referenceTime + FUTURE_TOLERANCE_MS) return thisYear;
  return build(reference.getFullYear() - 1);
}

/** The last date converted: consecutive lines of a log mostly carry the same second. */
interface LastConversion {
  template: Template | null;
  text: string;
  referenceMinute: number;
  time: number | null;
}

function applyTemplate(template: Template, line: string, referenceTime: number, last: LastConversion): DateMatch | null {
  const match = template.regex.exec(line);
  if (match === null) return null;
  const get = (field: string): string | undefined => {
    const index = template.fieldGroups.get(field);
    return index === undefined ? undefined : match[index];
  };
  // Year inference depends on the reference time, so a cached conversion is reused within the same minute only.
  const referenceMinute = Math.floor(referenceTime / 60_000);
  let time: number | null;
  if (last.template === template && last.text === match[0] && last.referenceMinute === referenceMinute) {
    time = last.time;
  } else {
    time = timeFromFields(get, referenceTime);
    last.template = template;
    last.text = match[0];
    last.referenceMinute = referenceMinute;
    last.time = time;
  }
  if (time === null || !Number.isFinite(time)) return null;
  if (template.dateGroup !== null) {
    const span = match.indices?.[template.dateGroup];
    if (span !== undefined) return { time, start: span[0], end: span[1] };
  }
  const start = match.index + (get('lead')?.length ?? 0);
  return { time, start, end: match.index + match[0].length };
}

/** A detector for one stream of lines (it remembers which template that stream uses). */
export function createDateDetector(patterns: DatePatterns): DateDetector {
  if (patterns.none) return { none: true, detect: () => null };
  const templates = patterns.templates;
  // The template that matched last time is tried first: a log keeps one format, so this usually
  // settles the line with one regex instead of all of them.
  let preferred: Template | null = null;
  const last: LastConversion = { template: null, text: '', referenceMinute: 0, time: null };
  return {
    none: false,
    detect(line, referenceTime) {
      if (preferred !== null) {
        const hit = applyTemplate(preferred, line, referenceTime, last);
        if (hit !== null && (preferred.anchored || hit.start <= 2)) return hit;
      }
      let best: DateMatch | null = null;
      let bestTemplate: Template | null = null;
      for (const template of templates) {
        const hit = applyTemplate(template, line, referenceTime, last);
        if (hit === null) continue;
        if (best === null || hit.start < best.start) {
          best = hit;
          bestTemplate = template;
        }
        if (template.anchored) break;
      }
      if (bestTemplate !== null) preferred = bestTemplate;
      return best;
    },
  };
}

/** Compiles a filter's `datepattern` (null or empty: the defaults, searched anywhere). Never throws. */
export function compileDatePattern(datepattern: string | null): DatePatternResult {
  const lines = (datepattern ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length === 0) lines.push('{DEFAULT}');
  const templates: Template[] = [];
  const add = (pattern: string, anchored: boolean, boundaries: boolean): string | null => {
    const compiled = compileTemplate(pattern, anchored, boundaries);
    if (!compiled.ok) return compiled.message;
    templates.push(compiled.template);
    return null;
  };
  for (const original of lines) {
    let pattern = original;
    if (pattern === '{NONE}') return { ok: true, patterns: { none: true, templates: [] } };
    let anchored = false;
    let boundaries = true;
    for (;;) {
      if (pattern.startsWith('{^LN-BEG}')) {
        anchored = true;
        pattern = pattern.slice('{^LN-BEG}'.length);
      } else if (pattern.startsWith('{UNB}')) {
        boundaries = false;
        pattern = pattern.slice('{UNB}'.length);
      } else {
        break;
      }
    }
    const special = pattern.toUpperCase();
    let error: string | null = null;
    if (special === 'EPOCH') {
      error = add(EPOCH_TEMPLATE, anchored, boundaries);
    } else if (special === 'TAI64N') {
      error = add(TAI64N_TEMPLATE, anchored, boundaries);
    } else if (special === 'ISO8601') {
      error = add(ISO8601_TEMPLATE, anchored, boundaries);
    }
    if (error !== null) return { ok: false, message: `datepattern '${original}': ${error}` };
    if (pattern === '' || pattern === '{DEFAULT}' || ((special === 'EPOCH' || special === 'TAI64N' || special === 'ISO8601') && anchored)) {
      // `{^LN-BEG}` as a value, and a special name after it, bring the default templates along.
      for (const template of DEFAULT_TEMPLATES) {
        error = add(template, anchored, boundaries);
        if (error !== null) return { ok: false, message: `datepattern '${original}': ${error}` };
      }
      if (special !== 'EPOCH') error = add(EPOCH_TEMPLATE, true, boundaries);
    } else if (pattern.includes('{DATE}')) {
      for (const template of DEFAULT_TEMPLATES) {
        error = add(withDefaultTemplate(pattern, template, boundaries), anchored, boundaries);
        if (error !== null) break;
      }
    } else if (special !== 'EPOCH' && special !== 'TAI64N' && special !== 'ISO8601') {
      error = add(pattern, anchored, boundaries);
    }
    if (error !== null) return { ok: false, message: `datepattern '${original}': ${error}` };
  }
  return { ok: true, patterns: { none: false, templates } };
}
