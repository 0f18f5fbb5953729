/**
 * How the panel writes numbers and times: the same rule as mlops-nb's
 * Python side (`mlops_nb/display.py`: `format_number`, `format_time`), so a
 * metric or a moment reads the same in the panel, the widgets, the CLI and
 * the HTML reports. Both sides pin the same examples in their tests.
 *
 * Numbers:
 * - a whole number below 10^15 in size: all its digits (`1200`, `-7`);
 * - below 10^-4 or from 10^15 in size: scientific, 4 significant digits,
 *   trailing zeros dropped (`1.235e-7`, `2.5e+15`);
 * - from 1000: rounded to a whole number (`1235`);
 * - otherwise 4 significant digits, trailing zeros dropped (`0.8287`, `0.86`);
 * - rounding is half away from zero, on the number's exact binary value;
 * - missing `–`, not a number `NaN`, infinite `∞` / `-∞`.
 *
 * Times: `Wed 2026-11-25 02:00 UTC` — weekday, ISO date, 24-hour clock, and
 * the zone as its offset from UTC (`UTC`, `UTC+1`, `UTC-5`, `UTC+5:30`),
 * which reads the same in every locale. The panel shows the browser's zone.
 */

/** Drop the zeros after a decimal point, and the point itself if nothing is left. */
function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** A number as mlops-nb shows it everywhere (see the module comment). */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (Number.isNaN(value)) {
    return 'NaN';
  }
  if (!Number.isFinite(value)) {
    return value > 0 ? '∞' : '-∞';
  }
  const size = Math.abs(value);
  const sign = value < 0 ? '-' : '';
  if (Number.isInteger(value) && size < 1e15) {
    return value === 0 ? '0' : `${sign}${size.toFixed(0)}`;
  }
  if (size >= 1e15 || size < 1e-4) {
    // toExponential rounds the magnitude half up, like the Python side.
    const [mantissa, exponent] = size.toExponential(3).split('e');
    return `${sign}${trimZeros(mantissa)}e${exponent}`;
  }
  if (size >= 1000) {
    return `${sign}${Math.round(size)}`;
  }
  return `${sign}${trimZeros(size.toPrecision(4))}`;
}

/** Parse an ISO time; null for missing or unreadable values. */
export function parseTime(iso: string | null | undefined): Date | null {
  if (!iso) {
    return null;
  }
  // Python writes microseconds; Date understands milliseconds only.
  const trimmed = iso.replace(/(\.\d{3})\d+/, '$1');
  const date = new Date(trimmed);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The browser's own time zone (what "the user's time zone" means in the panel). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** `UTC`, `UTC+1`, `UTC-5`, `UTC+5:30` for an offset in minutes east of UTC. */
export function zoneLabel(offsetMinutes: number): string {
  if (offsetMinutes === 0) {
    return 'UTC';
  }
  const sign = offsetMinutes > 0 ? '+' : '-';
  const size = Math.abs(offsetMinutes);
  const hours = Math.floor(size / 60);
  const minutes = size % 60;
  return `UTC${sign}${hours}${minutes ? `:${String(minutes).padStart(2, '0')}` : ''}`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * A moment as `Wed 2026-11-25 02:00 UTC` in `timeZone` (the browser's by
 * default). An unknown zone name falls back to UTC rather than showing nothing.
 */
export function formatDateTime(
  iso: string | null | undefined,
  timeZone: string = browserTimeZone()
): string {
  const date = parseTime(iso);
  if (!date) {
    return '–';
  }
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23'
    }).formatToParts(date);
  } catch {
    return timeZone === 'UTC' ? '–' : formatDateTime(iso, 'UTC');
  }
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    Number(parts.find(p => p.type === type)?.value ?? 0);
  // The wall-clock time in the zone, read as if it were UTC, minus the real
  // moment: the zone's offset (whole minutes for every zone in use today).
  const wall = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second')
  );
  const offset = Math.round((wall - Math.floor(date.getTime() / 1000) * 1000) / 60000);
  const local = new Date(wall);
  return (
    `${WEEKDAYS[local.getUTCDay()]} ${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-` +
    `${pad(local.getUTCDate())} ${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())} ` +
    zoneLabel(offset)
  );
}
