/**
 * A model's drift checks on a time axis: where each check and each move of
 * the default alias falls, which version each check was against, and the
 * axis's date labels in the user's time zone. Pure layout here (jest tests
 * it); views/drifttimeline.ts draws it. Every level, version and move comes
 * from the server; the panel only places them.
 */
import { browserTimeZone, formatDateTime, formatNumber, parseTime } from './format';
import type { IAliasMove, IDriftCheck, Level } from './types';

/** Narrowest gap between two checks, as a share of the axis (so each can be clicked). */
export const MIN_GAP = 0.045;
/** How many checks the timeline shows at once (older ones are paged in from the server). */
export const TIMELINE_CHECKS = 40;

const VERDICT: Record<Level, string> = {
  drift: 'drift',
  warning: 'warning',
  ok: 'no drift',
  none: 'not rated'
};

/** A check placed on the axis. */
export interface ITimelinePoint {
  id: number;
  /** 0 (left end) to 1 (right end) */
  x: number;
  level: Level;
  version: number | null;
  /** the version label is drawn only where the checked version changes */
  showVersion: boolean;
  /** time, verdict and version, for the tooltip and the screen reader */
  label: string;
}

/** A move of the default alias placed on the axis. */
export interface ITimelineMove {
  x: number;
  label: string;
  to: number;
}

/** Everything the timeline draws. */
export interface ITimelineLayout {
  points: ITimelinePoint[];
  moves: ITimelineMove[];
  /** the axis's ends, in the user's zone (the zone is part of each label) */
  start: string;
  end: string;
}

/**
 * Spread positions (sorted, 0 to 1) so neighbours are at least `gap` apart,
 * moving each as little as it can and keeping all within 0 to 1. With more
 * points than fit, they are spaced evenly.
 */
export function spread(xs: number[], gap: number = MIN_GAP): number[] {
  const n = xs.length;
  if (n < 2) {
    return [...xs];
  }
  const step = Math.min(gap, 1 / (n - 1));
  const out = [...xs];
  for (let i = 1; i < n; i++) {
    out[i] = Math.max(out[i], out[i - 1] + step);
  }
  out[n - 1] = Math.min(out[n - 1], 1);
  for (let i = n - 2; i >= 0; i--) {
    out[i] = Math.min(out[i], out[i + 1] - step);
  }
  // floating error aside, the first can only have gone below 0 when every gap is `step`
  return out.map(x => Math.min(1, Math.max(0, Math.round(x * 1e9) / 1e9)));
}

/** A check's tooltip: when, the server's verdict, its drift share and the version checked. */
export function checkLabel(check: IDriftCheck, timeZone: string = browserTimeZone()): string {
  const level = check.level ?? (check.drift ? 'drift' : 'ok');
  const share =
    typeof check.drift_share === 'number'
      ? ` (${formatNumber(Math.round(check.drift_share * 1000) / 10)}% of columns)`
      : '';
  const version = check.version === null || check.version === undefined ? 'no version' : `v${check.version}`;
  return `check #${check.id} · ${formatDateTime(check.at, timeZone)} · ${VERDICT[level]}${share} · ${version}`;
}

/**
 * Place `checks` (oldest first) and the alias `moves` falling within their
 * span on one axis from the first check to the last. A single check, or all
 * at one moment, sit in the middle.
 */
export function timelineLayout(
  checks: IDriftCheck[],
  moves: IAliasMove[] = [],
  timeZone: string = browserTimeZone()
): ITimelineLayout {
  const times = checks.map(c => parseTime(c.at)?.getTime() ?? 0);
  const first = times.length ? Math.min(...times) : 0;
  const last = times.length ? Math.max(...times) : 0;
  const span = last - first;
  const place = (t: number) => (span > 0 ? (t - first) / span : 0.5);
  const xs = spread(times.map(place));
  const points = checks.map((check, i) => ({
    id: check.id,
    x: xs[i],
    level: check.level ?? (check.drift ? 'drift' : 'ok'),
    version: check.version ?? null,
    showVersion: i === 0 || (checks[i - 1].version ?? null) !== (check.version ?? null),
    label: checkLabel(check, timeZone)
  }));
  const placed: ITimelineMove[] = [];
  for (const move of moves) {
    const t = parseTime(move.at)?.getTime();
    if (t === undefined || !checks.length || t < first || t > last || span <= 0) {
      continue;
    }
    placed.push({
      x: place(t),
      to: move.to_version,
      label:
        `${move.alias} ${move.from_version === null ? '' : `v${move.from_version} `}→ v${move.to_version} ` +
        `(${move.action}) ${formatDateTime(move.at, timeZone)}`
    });
  }
  return {
    points,
    moves: placed,
    start: checks.length ? formatDateTime(checks[0].at, timeZone) : '',
    end: checks.length ? formatDateTime(checks[checks.length - 1].at, timeZone) : ''
  };
}
