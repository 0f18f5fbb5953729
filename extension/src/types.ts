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
  version: number;
  run_id: string | null;
  created_at: string;
  created_by: string | null;
  estimator: string | null;
  metrics: Metrics;
  aliases: string[];
  /** the estimator's class alone, e.g. `Pipeline` (the server's reading of `estimator`) */
  estimator_name?: string | null;
  /** the notebook, pipeline and schedule that produced it (the run is `run_id`) */
  produced_by?: IProducedBy | null;
  /** how many input columns (the Models tab's document; the columns come with the version) */
  schema_columns?: number;
  /** what people wrote about it; absent or null when nothing */
  description?: string | null;
  /** its tags, key → value, A to Z; absent when none */
  tags?: Record<string, string>;
  // The rest comes with the version in full (GET /models/{name}/versions/{version}),
  // not in the Models tab's document.
  model?: string;
  signature?: ISchemaColumn[] | null;
  artifact_sha256?: string;
  format?: string;
  data_sha256?: string | null;
  profile_sha256?: string | null;
}

/** One input column of a version: its name and dtype. */
export interface ISchemaColumn {
  name: string;
  dtype: string;
}

/** What PATCH /models/{name}/versions/{version} changes; what is left out stays. */
export interface IAnnotateRequest {
  /** the new description; '' removes it */
  description?: string;
  /** tags to set (added or replaced) */
  tags?: Record<string, string>;
  /** keys of tags to remove */
  untag?: string[];
}

/** Which run made a version: the notebook, pipeline and schedule it ran in, where they apply. */
export interface IProducedBy {
  run_id?: string;
  notebook?: string | null;
  notebook_run_id?: string | null;
  pipeline?: string | null;
  pipeline_run_id?: string | null;
  step?: string | null;
  schedule?: string | null;
}

/** Who holds an alias now and where a rollback would take it (the server's holder stack). */
export interface IAliasHolder {
  alias: string;
  version: number;
  /** the version `rollback` returns the alias to; null when nothing earlier held it */
  rollback_to: number | null;
}

/**
 * One entry of an alias's history: a move (`promote`, `rollback`), or a
 * promotion a gate refused (`refused`: nothing moved; `failures` says why).
 */
export interface IAliasChange {
  id: number;
  model: string;
  alias: string;
  action: 'promote' | 'rollback' | 'refused' | string;
  from_version: number | null;
  to_version: number | null;
  at: string;
  actor: string | null;
  reason: string | null;
  run_id: string | null;
  /** the gate expression and its result, when a gate was asked for */
  gate: string | null;
  /** the conditions that failed, for a refused promotion */
  failures?: string[];
}

/** `GET /models/{name}`. */
export interface IModelDetail {
  name: string;
  /** the alias promote and rollback use unless told otherwise */
  default_alias: string;
  /** holders, the default alias first */
  aliases: IAliasHolder[];
  versions: IModelVersion[];
  /** moves and refused promotions, oldest first */
  history: IAliasChange[];
}

/** `GET /panel/models`: the Models tab in one document, A to Z. */
export interface IPanelModels {
  models: { summary: IModelSummary; detail: IModelDetail }[];
}

/**
 * `GET /panel/runs`: the Runs tab in one document. `page` is null, and
 * `error` says why, when the filter or the sort cannot be read; `selected`
 * is null, and `selected_error` says why, when the selected run is gone.
 */
export interface IPanelRuns {
  page: IRunPage | null;
  error: string | null;
  selected: IRun | null;
  selected_error: string | null;
}

/** `GET /panel/drift`: every model's drift view, A to Z. */
export interface IPanelDrift {
  models: IDriftHistory[];
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
  /** the server has an executed notebook to show for this run */
  has_notebook?: boolean;
  children?: string[];
  /** the run's files, as `GET runs/{id}` lists them (run detail only) */
  artifacts?: IRunArtifact[];
  /** the runs it started, and theirs in turn (run detail only) */
  started?: IRunTree;
}

/** The runs a run started, in the order they ran (`GET runs/{id}`'s `started`). */
export interface IRunTree {
  runs: IRunTreeNode[];
  /** more were started than are listed (the latest are) */
  truncated: boolean;
}

export interface IRunTreeNode {
  run_id: string;
  kind: string;
  name: string | null;
  status: string;
  model_version: number | null;
  started_at: string;
  started: IRunTree;
}

/** One downloadable file of a run (`GET runs/{id}/artifacts/{kind}`). */
export interface IRunArtifact {
  kind: 'model' | 'profile' | 'source';
  sha256: string;
  /** the name to save it under, made by the server */
  filename: string;
}

/** One row of a comparison: a value per run, `missing` where a run has none. */
export interface ICompareRow {
  name: string;
  values: JsonValue[];
  missing: boolean[];
  /** the server's verdict: the runs do not all agree here */
  differs: boolean;
}

/** How one run's code differs from the first compared run's (a unified diff, by the server). */
export interface ICodeDiff {
  run_id: string;
  against: string;
  /** `tracked`: the session's cells and the tracked cell; `notebook`: an executed notebook's code cells */
  source: 'tracked' | 'notebook' | null;
  against_source: 'tracked' | 'notebook' | null;
  lines: string[];
  changed: boolean;
}

/** `GET /runs/compare`: runs side by side. */
export interface IRunComparison {
  runs: { run_id: string; label: string }[];
  sections: { name: string; rows: ICompareRow[] }[];
  shared_metrics: Record<string, number[]>;
  /** one per run after the first */
  code: ICodeDiff[];
}

/** `GET /runs/search`: one page of the runs a filter matches. */
export interface IRunPage {
  runs: IRun[];
  /** how many runs match in all */
  total: number;
  limit: number;
  offset: number;
  sort: string;
  order: 'asc' | 'desc';
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
  /** the reference range, and the range drawn (wider when the current data went past it) */
  range?: [number, number];
  bounds?: [number, number];
  /** share of current values beyond the drawn range (too far out to draw) */
  clipped?: number;
}

/** How loud a drift verdict is, as the server rates it; `none`: untested or never checked. */
export type Level = 'drift' | 'warning' | 'ok' | 'none';

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
  /** the server's rating of this column */
  level?: Level;
  /** every check run on the column: its score, threshold and whether it drifted, by name */
  checks?: Record<string, { score?: number | null; threshold?: number | null; drifted?: boolean; [key: string]: JsonValue | undefined }>;
  /** summaries of the column on each side (mean, std, min, max, missing, …) */
  reference?: Record<string, JsonValue>;
  current?: Record<string, JsonValue>;
}

/** One metric of a check's performance section. */
export interface IPerformanceMetric {
  reference?: number | null;
  current?: number | null;
  change?: number | null;
  degraded?: boolean;
}

/** One changed column type in a check's schema section. */
export interface ITypeChange {
  column: string;
  reference: string;
  current: string;
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
  performance?: {
    degraded?: boolean;
    metrics?: Record<string, IPerformanceMetric>;
    [key: string]: unknown;
  } | null;
  schema?: {
    missing?: string[];
    extra?: string[];
    dtype_changes?: (ITypeChange | string)[];
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
  /** the server's rating of the whole check */
  level?: Level;
  check_id?: number;
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
  level?: Level;
}

/** Who holds the default alias now, and when that version was last checked. */
export interface IDriftHolder {
  alias: string;
  version: number;
  /** null: that version was never checked */
  last_checked_at: string | null;
  checks: number;
}

/** An alert a check raised. */
export interface IDriftAlert {
  id: number;
  at: string;
  kind: string;
  message: string;
  /** channels that took it, of `channels` */
  delivered: number;
  channels: number;
}

/** `GET /drift/{name}`. */
export interface IDriftHistory {
  model: string;
  history: IDriftCheck[];
  latest: IDriftReport | null;
  holder?: IDriftHolder | null;
  alerts?: IDriftAlert[];
  /** the default alias's moves, oldest first (the timeline marks them) */
  alias_moves?: IAliasMove[];
}

/** One move of the default alias. */
export interface IAliasMove {
  at: string;
  alias: string;
  action: string;
  from_version: number | null;
  to_version: number;
}

/** `GET /drift/{name}/checks/{id}`: one recorded check as the tab shows the latest. */
export interface IDriftCheckDetail extends IDriftReport {
  check_id: number;
  alerts: IDriftAlert[];
  /** the model's newest check */
  latest_id: number;
}

/** `GET /drift/{name}/checks?limit=&before=`: a page of checks, oldest first. */
export interface IDriftChecksPage {
  model: string;
  checks: IDriftCheck[];
  /** older checks exist */
  more: boolean;
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
  /** notebooks of the schedule that call promote: *Run now* asks first */
  promotes?: string[];
  default_alias?: string;
  /** its slots running now */
  running?: IScheduleSlot[];
  /** the newest slot that ended */
  last_slot?: IScheduleSlot | null;
  /** its newest slots, newest first (ran, queued, skipped and why) */
  recent?: IScheduleSlot[];
  /** the cron expression in words, with the time zone */
  cron_text?: string;
  /** seconds per attempt; null: no limit */
  timeout_s?: number | null;
  retries?: number;
  alert_on?: string;
  /** a pipeline's steps as its approved snapshot lists them; null for a notebook */
  steps?: IPipelineStep[] | null;
}

/** One step of a pipeline file. */
export interface IPipelineStep {
  name: string;
  /** the notebook it runs */
  notebook: string;
  depends_on: string[];
  gate: string | null;
}

/** `GET pipelines/steps`: a pipeline file as the server reads it. */
export interface IPipelineReading {
  path: string;
  name: string;
  description: string;
  model: string | null;
  steps: IPipelineStep[];
}

/** What creating (with `name`) or editing a schedule sends; left out: default or unchanged. */
export interface IScheduleRequest {
  name?: string;
  /** a .ipynb path relative to the folder Jupyter shows */
  notebook?: string;
  /** instead of a notebook, a pipeline file (.yaml, .yml) relative to the folder Jupyter shows */
  pipeline?: string;
  cron?: string;
  tz?: string;
  catchup?: string;
  parameters?: Record<string, JsonValue>;
  /** seconds; 0 for no limit */
  timeout?: number | string;
  retries?: number | string;
  alert_on?: string;
}

/** `GET cron`: an expression as the server reads it. */
export interface ICronReading {
  cron: string;
  tz: string;
  /** in words, with the zone */
  text: string;
  /** the next slots, UTC ISO */
  next: string[];
}

/** How far a running slot has got; counts are null until known. */
export interface ISlotProgress {
  run_id: string | null;
  step: string | null;
  steps_done: number | null;
  steps_total: number | null;
  cells_done: number | null;
  cells_total: number | null;
}

/** A slot of a schedule (`run-now` answers with the one it claimed). */
export interface IScheduleSlot {
  id: number;
  schedule: string;
  slot: string;
  status: string;
  run_id: string | null;
  error?: string | null;
  ended_at?: string | null;
  claimed_at?: string;
  progress?: ISlotProgress | null;
  /** it runs in this Jupyter server, so it can be cancelled from here */
  cancellable?: boolean;
  cancelled_by?: string;
}

/** A serving process's latest swap from one version to another. */
export interface IServerSwap {
  at: string;
  from_version: number | null;
  to_version: number | null;
}

/**
 * `GET /serving`: one serving process (a worker of `mlops-nb serve`) that has
 * not recorded its stop, with its live numbers over the last minute. The
 * server computes `error_rate`, `silent_s` and `stale`.
 */
export interface IServer {
  instance: string;
  server: string;
  model: string;
  /** the alias it follows; null for a fixed version */
  alias: string | null;
  version: number | null;
  host: string;
  /** host:port it listens on */
  address: string;
  pid: number;
  /** when it began answering with `version` */
  since: string;
  last_swap: IServerSwap | null;
  requests_per_min: number | null;
  errors_per_min: number | null;
  /** failed requests per request over the last minute; null without requests */
  error_rate: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  requests_total: number | null;
  errors_total: number | null;
  stats_at: string | null;
  /** seconds since its numbers were taken */
  silent_s: number;
  /** its numbers are older than three of its write intervals (killed, hung, or cut off) */
  stale: boolean;
}

/** One arm of a deploy, summed over every serving process. */
export interface IDeployArm {
  role: 'production' | 'canary' | 'shadow';
  version: number;
  requests: number;
  errors: number;
  error_rate?: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  /** mean of the feedback metric (a sale: 1, none: 0) */
  metric_mean: number | null;
  /** feedback values received */
  feedback: number;
}

/** A technical guard's verdict over the last window; `passed` null until judged. */
export interface IDeployGuard {
  guard: string;
  passed: boolean | null;
  value?: number | null;
}

/** The always-valid sequential test (mSPRT) of the feedback metric. */
export interface IDeployTest {
  metric: string;
  verdict: 'continue' | 'worse' | 'better';
  difference: number | null;
  relative: number | null;
  p_value: number;
  n_production: number;
  n_canary: number;
  alpha: number;
}

/** Feedback values and seconds a decision still needs, for one effect size. */
export interface IDeployEta {
  effect: number;
  relative: number | null;
  feedback_needed: number | null;
  seconds_left: number | null;
}

/** `deploy status --json`, computed by the server. */
export interface IDeployStatus {
  model: string;
  production: { version: number | null };
  canary: {
    id: number;
    kind: 'canary' | 'shadow';
    version: number;
    share: number;
    state: 'running' | 'aborted' | 'promoted' | 'stopped';
    reason: string | null;
    started_at: string;
    ended_at: string | null;
    guards: string[];
    metric: string | null;
    auto_rollback?: boolean;
    auto_promote?: boolean;
  };
  arms: IDeployArm[];
  guards: IDeployGuard[];
  test: IDeployTest | null;
  expected: {
    feedback_per_s: number;
    feedback_seen: number;
    observed: IDeployEta | null;
    detectable: IDeployEta | null;
  } | null;
  decision: Record<string, unknown> | null;
}

/** One audit event of a model's deploys: a start, an alert or a decision. */
export interface IDeployEvent {
  seq: number;
  at: string;
  actor: string;
  event: 'started' | 'alerted' | 'aborted' | 'promoted' | 'stopped';
  deployment: number;
  kind: 'canary' | 'shadow';
  version: number;
  production_version?: number | null;
  share?: number;
  state: string;
  reason: string | null;
  alerted?: string | null;
  test: IDeployTest | null;
  failed_guards: IDeployGuard[];
}

/** `GET /deploys/{name}`, and each item of `GET /serving`'s `deploys`. */
export interface IDeployView {
  model: string;
  deploy: IDeployStatus | null;
  /** newest first */
  history: IDeployEvent[];
}

/** `GET /serving`. */
export interface IServingView {
  servers: IServer[];
  /** every model served now or with a running deploy, that ever had one */
  deploys?: IDeployView[];
}

/** The body of an error reply. */
export interface IErrorBody {
  error?: string;
  type?: string;
  failures?: string[];
  /** the request field a 400 is about */
  field?: string;
  /** jupyter_server's own errors (403, 404 of unknown routes) */
  message?: string;
  reason?: string | null;
}

/** A state of an alert in the inbox. */
export type AlertState = 'open' | 'acknowledged' | 'resolved' | 'silenced';

/** What a person decides when resolving an alert. */
export type AlertDecision = 'retrain' | 'rollback' | 'ignore' | 'rebaseline';

/** Who took a step of an alert's lifecycle, and when. */
export interface IAlertStep {
  by: string;
  at: string;
}

/** One alert of the inbox (`GET /alerts`), repeats grouped into `count`. */
export interface IInboxItem {
  alert_id: number;
  model: string | null;
  kind: string;
  state: AlertState;
  opened_at: string;
  count: number;
  columns: string[];
  last_check_id: number | null;
  last_at: string;
  subject: string;
  message: string;
  acknowledged: IAlertStep | null;
  ack_note: string | null;
  resolved: IAlertStep | null;
  decision: AlertDecision | null;
  /** what the decision did: {run_id, notebook}, {alias, from_version, to_version, change_id}, {until}, … */
  decision_detail: Record<string, unknown> | null;
  note: string | null;
  silenced_until: string | null;
  retrain_run_id: string | null;
  /** what the server allows now: `ack`, `resolve` */
  actions: ('ack' | 'resolve')[];
}

/** What resolving an alert sends. */
export interface IResolveRequest {
  decision: AlertDecision;
  note?: string;
  /** ignore: until when (ISO date or time) */
  until?: string;
  /** rollback: which alias (production by default) */
  alias?: string;
}

/** One approval of a promotion request (or one a gate refused, with `failures`). */
export interface IRequestStep {
  by: string;
  at: string;
  note: string | null;
}

/** A promotion to a protected alias waiting for, or decided by, its approvers. */
export interface IPromotionRequest {
  request_id: number;
  model: string;
  alias: string;
  version: number;
  from_version: number | null;
  require: string | null;
  gate: string | null;
  reason: string | null;
  run_id: string | null;
  requested_by: string;
  requested_at: string;
  state: 'pending' | 'approved' | 'rejected';
  approvers: number;
  allow_self_approval: boolean;
  approvals: IRequestStep[];
  refusals: (IRequestStep & { failures: string[] })[];
  decided_by: string | null;
  decided_at: string | null;
  note: string | null;
  change_id: number | null;
  /** what the server allows now: `approve`, `reject` */
  actions: ('approve' | 'reject')[];
}

/** A protected alias and its rule. */
export interface IProtection {
  model: string;
  alias: string;
  approvers: number;
  allow_self_approval: boolean;
  at: string;
  by: string;
}

/** `GET /promotion-requests`: the requests, the protections, and who you are to the server. */
export interface IRequestsView {
  requests: IPromotionRequest[];
  protections: IProtection[];
  actor: string;
}
