/**
 * Turning the calendar fields a log line prints into milliseconds since the epoch.
 *
 * - Stamps without a zone are local time (that is what syslog daemons and web servers write).
 *   Converting local time through `Date` costs about a microsecond, so the result is cached per
 *   minute: logs are written in order, and a zone's offset only changes on a minute boundary.
 * - RFC 3164 stamps (`Jan  1 12:00:00`) carry no year. The year is the one that makes the stamp
 *   the most recent moment not more than a day after the reference time (a day of slack covers
 *   clocks that disagree and zones ahead of ours); the reference is a fixed time for replaying an
 *   old log, or the wall clock at each line for a live one.
 */

/** How far into the future of the reference an RFC 3164 stamp may be before it is read as last year's. */
const FUTURE_SLACK_MS = 24 * 3_600_000;
/** The largest time a Date holds (ECMA-262: ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;
/** A live reference moves; the year boundary it implies is recomputed when it moved this much. */
const REFERENCE_DRIFT_MS = 1000;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** True when the fields name a real calendar moment (a leap second is allowed). */
export function isValidStamp(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  if (month < 0 || month > 11 || day < 1 || hour > 23 || minute > 59 || second > 60) return false;
  if (day > (DAYS_IN_MONTH[month] ?? 0)) return false;
  return !(month === 1 && day === 29 && !isLeapYear(year));
}

/** 0–11 for an English month abbreviation starting at `i` (`Jan` … `Dec`), -1 otherwise. */
export function monthAt(text: string, i: number): number {
  const a = text.charCodeAt(i);
  const b = text.charCodeAt(i + 1);
  const c = text.charCodeAt(i + 2);
  switch (a) {
    case 0x4a: // J
      if (b === 0x61 && c === 0x6e) return 0; // Jan
      if (b === 0x75 && c === 0x6e) return 5; // Jun
      if (b === 0x75 && c === 0x6c) return 6; // Jul
      return -1;
    case 0x46: // F
      return b === 0x65 && c === 0x62 ? 1 : -1;
    case 0x4d: // M
      if (b === 0x61 && c === 0x72) return 2; // Mar
      if (b === 0x61 && c === 0x79) return 4; // May
      return -1;
    case 0x41: // A
      if (b === 0x70 && c === 0x72) return 3; // Apr
      if (b === 0x75 && c === 0x67) return 7; // Aug
      return -1;
    case 0x53: // S
      return b === 0x65 && c === 0x70 ? 8 : -1;
    case 0x4f: // O
      return b === 0x63 && c === 0x74 ? 9 : -1;
    case 0x4e: // N
      return b === 0x6f && c === 0x76 ? 10 : -1;
    case 0x44: // D
      return b === 0x65 && c === 0x63 ? 11 : -1;
    default:
      return -1;
  }
}

export interface LogClock {
  /** Epoch ms of a local-time stamp; the caller has checked the fields with isValidStamp. */
  local(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number;
  /** Epoch ms of a year-less RFC 3164 stamp (fields checked with isValidStamp for a leap year). */
  withoutYear(month: number, day: number, hour: number, minute: number, second: number, ms: number): number;
  /** The reference time now (for stamps that are absent, such as RFC 5424's `-`). */
  reference(): number;
}

export interface LogClockOptions {
  /** Epoch ms that year-less stamps are placed against; default: the wall clock at each line. */
  readonly referenceTime?: number;
}

const DAY_MS = 86_400_000;

/**
 * Date.UTC for a valid calendar date, by arithmetic (it is on the path of every line): days from
 * the civil date as in Howard Hinnant's days_from_civil, proleptic Gregorian like Date.
 */
export function utc(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const y = month < 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const m = month < 2 ? month + 10 : month - 2; // March = 0
  const dayOfYear = Math.floor((153 * m + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  const days = era * 146_097 + dayOfEra - 719_468;
  return days * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
}

/** Local time through Date: exact on every day, but about a microsecond a call. */
function localThroughDate(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const date = new Date(year, month, day, hour, minute, second, ms);
  if (year < 100) date.setFullYear(year);
  return date.getTime();
}

/**
 * The UTC offset (ms) local time has all day long, or NaN when it changes during the day (a
 * daylight-saving switch): such days go through Date for every stamp.
 */
function offsetOfDay(year: number, month: number, day: number): number {
  const atStart = utc(year, month, day, 0, 0, 0, 0) - localThroughDate(year, month, day, 0, 0, 0, 0);
  const atEnd = utc(year, month, day, 23, 59, 59, 0) - localThroughDate(year, month, day, 23, 59, 59, 0);
  return atStart === atEnd ? atStart : Number.NaN;
}

/** Days whose offset is remembered: a log spans few of them, a hostile one must not grow memory. */
const MAX_REMEMBERED_DAYS = 4096;

/** Orders (month, day, hour, minute, second) within a year. */
function positionInYear(month: number, day: number, hour: number, minute: number, second: number): number {
  return (((month * 32 + day) * 24 + hour) * 60 + minute) * 61 + second;
}

export function createLogClock(options: LogClockOptions = {}): LogClock {
  // A reference Date cannot represent (NaN, beyond ±100,000,000 days) would make every time NaN: use the wall clock.
  const given = options.referenceTime;
  const fixedReference = given !== undefined && Number.isFinite(given) && Math.abs(given) <= MAX_DATE_MS - FUTURE_SLACK_MS ? given : undefined;
  const reference = fixedReference === undefined ? () => Date.now() : () => fixedReference;

  // Local time → UTC by the day: the epoch ms of the day's local midnight (NaN on a day whose
  // offset changes), so a stamp costs a map lookup and a little arithmetic instead of a Date.
  const dayStarts = new Map<number, number>();
  let lastDayKey = -1;
  let lastDayStart = 0;
  const local = (year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number => {
    const dayKey = (year * 12 + month) * 32 + day;
    if (dayKey !== lastDayKey) {
      let start = dayStarts.get(dayKey);
      if (start === undefined) {
        start = utc(year, month, day, 0, 0, 0, 0) - offsetOfDay(year, month, day);
        if (dayStarts.size >= MAX_REMEMBERED_DAYS) dayStarts.clear();
        dayStarts.set(dayKey, start);
      }
      lastDayKey = dayKey;
      lastDayStart = start;
    }
    if (Number.isNaN(lastDayStart)) return localThroughDate(year, month, day, hour, minute, second, ms);
    return lastDayStart + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
  };

  // The latest acceptable moment (reference + slack) as local calendar fields, recomputed when
  // the reference moves: a year-less stamp at or before that position in the year belongs to the
  // latest moment's year, a later one to the year before.
  let latestFor = Number.NaN;
  let latestYear = 0;
  let latestPosition = 0;
  const withoutYear = (month: number, day: number, hour: number, minute: number, second: number, ms: number): number => {
    const ref = reference();
    if (!(Math.abs(ref - latestFor) < REFERENCE_DRIFT_MS)) {
      const latest = new Date(ref + FUTURE_SLACK_MS);
      latestYear = latest.getFullYear();
      latestPosition = positionInYear(latest.getMonth(), latest.getDate(), latest.getHours(), latest.getMinutes(), latest.getSeconds());
      latestFor = ref;
    }
    let year = positionInYear(month, day, hour, minute, second) <= latestPosition ? latestYear : latestYear - 1;
    if (month === 1 && day === 29) while (!isLeapYear(year)) year--; // Feb 29: the last leap year
    return local(year, month, day, hour, minute, second, ms);
  };

  return { local, withoutYear, reference };
}
