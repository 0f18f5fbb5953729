/**
 * The JSON documents of the mlops-nb REST API (`/mlops-nb/api/`), as the
 * Python records serialise them with `to_json()`.
 *
 * Only the fields the panel reads are declared strictly; the server may add
 * more at any time.
 */

/** Numbers keyed by metric name, e.g. `{ accuracy: 0.86 }`. */
export type Metrics = Record<string, number>;

/** JSON values as stored for run parameters and recorded values. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** `GET /models`: one summary per model. */
export interface IModelSummary {
  name: string;
  created_at: string;
  updated_at: string | null;
  versions: number;
  latest_version: number | null;
  /** alias → the version that holds it now */
  aliases: Record<string, number>;
}

/** A registered version (`ModelVersion.to_json()`). */
export interface IModelVersion {
  model: string;
  version: number;
  run_id: string | null;
  created_at: string;
  created_by: string | null;
  artifact_sha256: string;
  format: string;
  estimator: string | null;
  metrics: Metrics;
  data_sha256: string | null;
  aliases: string[];
  signature?: { name: string; dtype: string }[] | null;
  profile_sha256?: string | null;
}

/** One move of an alias (promote, rollback, …). */
export interface IAliasChange {
  id: number;
  model: string;
  alias: string;
  action: string;
  from_version: number | null;
  to_version: number | null;
  at: string;
  actor: string | null;
  reason: string | null;
  run_id: string | null;
  /** the gate expression and its result, when a gate was asked for */
  gate: string | null;
}

/** `GET /models/{name}`. */
export interface IModelDetail {
  name: string;
  versions: IModelVersion[];
  history: IAliasChange[];
}

/** A run (`Run.to_json()`); `GET /runs/{id}` adds `children`. */
export interface IRun {
  run_id: string;
  kind: string;
  name: string;
  status: string;
  started_at: string;
  ended_at: string | null;
  actor: string | null;
  parent_run_id: string | null;
  params: Record<string, JsonValue>;
  metrics: Metrics;
  values: Record<string, JsonValue>;
  tags: Record<string, string>;
  data: Record<string, JsonValue>;
  environment: Record<string, JsonValue>;
  git_commit: string | null;
  git_dirty: boolean | null;
  notebook_path: string | null;
  input_sha256: string | null;
  output_sha256: string | null;
  source_sha256: string | null;
  error: string | null;
  model_version: number | null;
  children?: string[];
}

/** The chart data of one column of a drift report. */
export interface IDriftChart {
  /** `bar`: categories in `x`; `hist`: numeric bins in `x` */
  type: 'bar' | 'hist' | string;
  x: (string | number)[];
  reference: number[];
  current: number[];
  /** share of current values outside the reference range (numeric columns) */
  outside?: number;
}

/** One column's verdict in a drift report. */
export interface IDriftColumn {
  column: string;
  drift: boolean;
  method: string | null;
  statistic: number | null;
  threshold?: number | null;
  /** statistic / threshold: 1 or more means drift */
  severity?: number | null;
  kind?: string;
  role?: string;
  testable?: boolean;
  reason?: string | null;
  p_value?: number | null;
  chart?: IDriftChart | null;
}

/** The full report of the latest check (`DriftReport.to_json()`). */
export interface IDriftReport {
  model: string;
  version: number | null;
  at: string;
  rows: number;
  drift: boolean;
  drift_share: number;
  share_threshold?: number;
  drifted_columns: string[];
  columns: IDriftColumn[];
  prediction?: IDriftColumn | null;
  performance?: { degraded?: boolean; [key: string]: unknown } | null;
  schema?: {
    missing?: string[];
    extra?: string[];
    dtype_changes?: unknown[];
  } | null;
  findings?: { check: string; column: string; message: string }[];
  notes?: string[];
  /** The data-quality verdict: a broken batch alarms apart from drift. */
  quality?: {
    ok: boolean;
    issues: { column: string | null; kind: string; detail: string }[];
  };
  /** Drift, broken data quality or degraded performance. */
  alarm?: boolean;
}

/** One row of a model's drift history. */
export interface IDriftCheck {
  id: number;
  model: string;
  version: number | null;
  at: string;
  rows: number;
  drift: number | boolean;
  drift_share: number;
  degraded?: number | boolean;
  summary?: Record<string, { drift: boolean; severity?: number | null }>;
}

/** `GET /drift/{name}`. */
export interface IDriftHistory {
  model: string;
  history: IDriftCheck[];
  latest: IDriftReport | null;
}

/** `GET /schedules`: one entry per schedule. */
export interface ISchedule {
  name: string;
  kind: string;
  target: string;
  parameters: Record<string, JsonValue>;
  cron: string;
  tz: string;
  enabled: number | boolean;
  /** UTC ISO time of the next firing; null when paused or never again */
  next_run?: string | null;
  runs?: number;
  last_status?: string | null;
  catchup?: string;
}

/** `POST /schedules/{name}/run-now`: the slot that ran. */
export interface IScheduleSlot {
  id: number;
  schedule: string;
  slot: string;
  status: string;
  run_id: string | null;
  error?: string | null;
  ended_at?: string | null;
}

/** The body of an error reply. */
export interface IErrorBody {
  error?: string;
  type?: string;
  failures?: string[];
  /** jupyter_server's own errors (403, 404 of unknown routes) */
  message?: string;
  reason?: string | null;
}
