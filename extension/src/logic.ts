/**
 * The panel's view logic as pure functions: sorting, formatting and
 * classification, with no DOM and no JupyterLab, so jest can test them alone.
 */
import { browserTimeZone, formatDateTime, formatNumber, parseTime } from './format';
import type {
  IAliasChange,
  IAnnotateRequest,
  IDriftColumn,
  IDriftReport,
  IPerformanceMetric,
  IProducedBy,
  IRun,
  ISchedule,
  ISlotProgress,
  ITypeChange,
  Level,
  Metrics
} from './types';

// ---------------------------------------------------------------- numbers and times

// One rule for numbers and times, shared with the Python side: see format.ts.
export { browserTimeZone, formatDateTime, formatNumber, parseTime, zoneLabel } from './format';

/**
 * The metrics a model's versions are compared by, as columns: names in the
 * order the versions (newest first) recorded them, at most `limit`.
 */
export function metricColumns(versions: { metrics?: Metrics | null }[], limit = 3): string[] {
  const names: string[] = [];
  for (const version of versions) {
    for (const [name, value] of Object.entries(version.metrics ?? {})) {
      if (typeof value === 'number' && !names.includes(name)) {
        names.push(name);
      }
    }
  }
  return names.slice(0, limit);
}

/** The short form of a run id that the CLI prints too. */
export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : '';
}

/** "in 5 min", "3 h ago", "in 2 d" — coarse on purpose. */
export function relativeTime(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parseTime(iso);
  if (!date) {
    return '';
  }
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const span = formatDuration(Math.abs(seconds));
  if (Math.abs(seconds) < 45) {
    return 'now';
  }
  return seconds > 0 ? `in ${span}` : `${span} ago`;
}

/** 42 → "42 s", 125 → "2 min", 7300 → "2 h", 200000 → "2 d". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) {
    return '–';
  }
  if (seconds < 60) {
    return `${Math.round(seconds * 10) / 10} s`;
  }
  if (seconds < 3600) {
    return `${Math.round(seconds / 60)} min`;
  }
  if (seconds < 86400 * 2) {
    return `${Math.round(seconds / 3600)} h`;
  }
  return `${Math.round(seconds / 86400)} d`;
}

/** What the schedules tab shows for the next firing. */
export interface INextRun {
  /** in the user's time zone, e.g. `Wed 2026-11-25 02:00 UTC` */
  local: string;
  /** the same moment in the schedule's own zone, e.g. `Wed 2026-11-25 03:00 GMT+1` */
  scheduled: string;
  /** "in 9 h" */
  relative: string;
}

/** The next run of a schedule in the user's zone and in the schedule's own zone. */
export function formatNextRun(
  iso: string | null | undefined,
  scheduleTimeZone: string,
  userTimeZone: string = browserTimeZone(),
  now: Date = new Date()
): INextRun | null {
  if (!parseTime(iso)) {
    return null;
  }
  return {
    local: formatDateTime(iso, userTimeZone),
    scheduled: formatDateTime(iso, scheduleTimeZone),
    relative: relativeTime(iso, now)
  };
}

// ---------------------------------------------------------------- runs

/**
 * What the runs list is sorted by; the server sorts (`GET /runs/search`),
 * so a sort covers every run the filter matches, not only the page shown.
 */
export type RunColumn =
  | 'name'
  | 'status'
  | 'started'
  | 'ended'
  | 'kind'
  | `metrics.${string}`
  | `params.${string}`;
export type SortDirection = 'asc' | 'desc';

const RUN_SORTS: readonly string[] = ['name', 'status', 'started', 'ended', 'kind'];

/** Whether `value` is a sort the server knows (a saved state may be from an older panel). */
export function isRunColumn(value: unknown): value is RunColumn {
  return (
    typeof value === 'string' &&
    (RUN_SORTS.includes(value) || /^(metrics|params)\.[^"\\`]+$/.test(value))
  );
}

/** A metric or parameter column as its header reads: `auc`, `C` (param). */
export function columnLabel(column: string): string {
  if (column.startsWith('metrics.')) {
    return column.slice('metrics.'.length);
  }
  if (column.startsWith('params.')) {
    return `${column.slice('params.'.length)} (param)`;
  }
  return column;
}

/**
 * The metric and parameter columns the runs shown could offer, metrics
 * first, each A to Z, plus those already `chosen` (so they can be unchosen).
 */
export function columnChoices(runs: IRun[], chosen: string[] = []): string[] {
  const metrics = new Set<string>();
  const params = new Set<string>();
  for (const run of runs) {
    Object.keys(run.metrics ?? {}).forEach(key => metrics.add(`metrics.${key}`));
    Object.keys(run.params ?? {}).forEach(key => params.add(`params.${key}`));
  }
  chosen.forEach(column => (column.startsWith('params.') ? params : metrics).add(column));
  const sorted = (set: Set<string>) => [...set].filter(c => isRunColumn(c)).sort();
  return [...sorted(metrics), ...sorted(params)];
}

/** A run's value for a metric or parameter column, as shown; '' when it has none. */
export function columnValue(run: IRun, column: string): string {
  const [group, ...rest] = column.split('.');
  const key = rest.join('.');
  const values = (group === 'metrics' ? run.metrics : group === 'params' ? run.params : null) ?? {};
  if (!(key in values)) {
    return '';
  }
  const value = (values as Record<string, unknown>)[key];
  return typeof value === 'number' ? formatNumber(value) : typeof value === 'string' ? value : JSON.stringify(value);
}

/** Seconds from start to end; null while running or when unknown. */
export function runDuration(run: IRun): number | null {
  const start = parseTime(run.started_at);
  const end = parseTime(run.ended_at);
  if (!start || !end) {
    return null;
  }
  return (end.getTime() - start.getTime()) / 1000;
}

/** The value of the first metric of a run, the one the list shows. */
export function firstMetric(run: IRun): number | null {
  const values = Object.values(run.metrics ?? {}).filter(v => typeof v === 'number');
  return values.length ? values[0] : null;
}

/** The next sort state after a click on a column header. */
export function nextSort(
  current: { column: RunColumn; direction: SortDirection },
  clicked: RunColumn
): { column: RunColumn; direction: SortDirection } {
  if (current.column === clicked) {
    return { column: clicked, direction: current.direction === 'asc' ? 'desc' : 'asc' };
  }
  // Times and numbers read best biggest/newest first, names A to Z.
  const numeric = clicked === 'started' || clicked === 'ended' || clicked.includes('.');
  return { column: clicked, direction: numeric ? 'desc' : 'asc' };
}

// ---------------------------------------------------------------- aliases

/** The alias history as a timeline: newest first (by time, then by event id). */
export function orderAliasHistory(history: IAliasChange[]): IAliasChange[] {
  return [...history].sort((a, b) => {
    const ta = parseTime(a.at)?.getTime() ?? 0;
    const tb = parseTime(b.at)?.getTime() ?? 0;
    return tb - ta || b.id - a.id;
  });
}

/** "production: v1 → v2" for a move, "production: v2 ↛ v1" for a refused promotion. */
export function describeAliasChange(change: IAliasChange): string {
  const from = change.from_version === null ? '∅' : `v${change.from_version}`;
  const to = change.to_version === null ? '∅' : `v${change.to_version}`;
  return `${change.alias}: ${from} ${change.action === 'refused' ? '↛' : '→'} ${to}`;
}

/**
 * Where a version came from, in words: "train_churn.ipynb, step train of
 * pipeline retrain_churn, schedule monthly"; null when the server knows no run.
 */
export function describeProducer(producer: IProducedBy | null | undefined): string | null {
  if (!producer) {
    return null;
  }
  const parts: string[] = [];
  if (producer.notebook) {
    parts.push(producer.notebook);
  }
  if (producer.pipeline) {
    parts.push(
      producer.step ? `step ${producer.step} of pipeline ${producer.pipeline}` : `pipeline ${producer.pipeline}`
    );
  }
  if (producer.schedule) {
    parts.push(`schedule ${producer.schedule}`);
  }
  return parts.length ? parts.join(', ') : 'tracked outside a notebook';
}

// ---------------------------------------------------------------- drift

/** How loud a verdict is, as the server rates it (see `Level`). */
export type Severity = Level;

/** A column's level as the server rated it. */
export function columnLevel(column: IDriftColumn): Severity {
  return column.level ?? (column.drift ? 'drift' : 'ok');
}

/** A model's latest check as the server rated it; `none` when it was never checked. */
export function reportLevel(report: IDriftReport | null | undefined): Severity {
  if (!report) {
    return 'none';
  }
  return report.level ?? (report.drift ? 'drift' : 'ok');
}

/** Order of severities, worst first. */
const RANK: Record<Severity, number> = { drift: 0, warning: 1, ok: 2, none: 3 };

/** Columns worst first: by level, then by severity, then by name. */
export function orderColumns(columns: IDriftColumn[]): IDriftColumn[] {
  return [...columns].sort(
    (a, b) =>
      RANK[columnLevel(a)] - RANK[columnLevel(b)] ||
      (b.severity ?? 0) - (a.severity ?? 0) ||
      (a.column < b.column ? -1 : a.column > b.column ? 1 : 0)
  );
}

/** Compare severities for sorting models worst first. */
export function compareSeverity(a: Severity, b: Severity): number {
  return RANK[a] - RANK[b];
}

/** A changed column type as people read it: "contract: category → str". */
export function describeTypeChange(change: ITypeChange | string): string {
  if (typeof change === 'string') {
    return change;
  }
  return `${change.column}: ${change.reference} → ${change.current}`;
}

/** Each metric of a check's performance as "accuracy 0.8287 → 0.764 (-0.06467)". */
export function describePerformance(
  metrics: Record<string, IPerformanceMetric> | null | undefined
): { metric: string; text: string; degraded: boolean }[] {
  return Object.entries(metrics ?? {}).map(([metric, m]) => {
    const change =
      typeof m.change === 'number' ? ` (${m.change > 0 ? '+' : ''}${formatNumber(m.change)})` : '';
    return {
      metric,
      text: `${metric} ${formatNumber(m.reference)} → ${formatNumber(m.current)}${change}`,
      degraded: Boolean(m.degraded)
    };
  });
}

// ---------------------------------------------------------------- schedules

/** "cell 3 of 8", "step train (1 of 4 done) · cell 2 of 5", or "starting…". */
export function describeProgress(progress: ISlotProgress | null | undefined): string {
  if (!progress) {
    return 'starting…';
  }
  const parts: string[] = [];
  if (progress.steps_total) {
    const step = progress.step ? `step ${progress.step}` : 'steps';
    parts.push(`${step} (${progress.steps_done ?? 0} of ${progress.steps_total} done)`);
  }
  if (progress.cells_total) {
    parts.push(`cell ${Math.min((progress.cells_done ?? 0) + 1, progress.cells_total)} of ${progress.cells_total}`);
  }
  return parts.length ? parts.join(' · ') : 'starting…';
}

/** What running a schedule can move, in words; null when none of its notebooks promotes. */
export function runNowWarning(schedule: ISchedule): string | null {
  const notebooks = schedule.promotes ?? [];
  if (!notebooks.length) {
    return null;
  }
  const alias = schedule.default_alias ?? 'production';
  return (
    `${notebooks.join(', ')} ${notebooks.length === 1 ? 'calls' : 'call'} promote: ` +
    `this run can move ${alias} (and any alias its notebooks name).`
  );
}

// ---------------------------------------------------------------- annotations

/** A version's description and tags as the editor holds them. */
export interface IAnnotationDraft {
  description: string;
  /** key → value, in the order the user sees them */
  tags: [string, string][];
}

/** The draft to start editing a version from: what it has now. */
export function draftOf(version: { description?: string | null; tags?: Record<string, string> }): IAnnotationDraft {
  return { description: version.description ?? '', tags: Object.entries(version.tags ?? {}) };
}

/**
 * What to send to save `draft` over `version`: the description if it changed,
 * the tags added or changed, the keys removed; null when nothing changed.
 * The server checks every value and keeps the audit record.
 */
export function annotationRequest(
  version: { description?: string | null; tags?: Record<string, string> },
  draft: IAnnotationDraft
): IAnnotateRequest | null {
  const request: IAnnotateRequest = {};
  if (draft.description !== (version.description ?? '')) {
    request.description = draft.description;
  }
  const before = version.tags ?? {};
  const after = new Map(draft.tags);
  // No prototype: a tag may be called "__proto__" or "constructor" like any other.
  const set: Record<string, string> = Object.create(null);
  for (const [key, value] of after) {
    if (!(Object.prototype.hasOwnProperty.call(before, key) && before[key] === value)) {
      set[key] = value;
    }
  }
  const untag = Object.keys(before).filter(key => !after.has(key));
  if (Object.keys(set).length) {
    request.tags = set;
  }
  if (untag.length) {
    request.untag = untag;
  }
  return Object.keys(request).length ? request : null;
}
