/**
 * What the schedule dialog holds and what it sends: plain data, no DOM.
 *
 * The server judges every field (name, cron, zone, numbers, the notebook's
 * place) and names the one it refuses; the form only turns what was typed
 * into the request, the way `mlops-nb schedule add -p KEY VALUE` reads a
 * parameter, and puts the server's message beside the field it names.
 */
import { browserTimeZone } from './format';
import type { ISchedule, IScheduleRequest, JsonValue } from './types';

/** One parameter row as typed. */
export interface IParameterRow {
  key: string;
  value: string;
}

/** Everything the dialog's fields hold, as text. */
export interface IScheduleForm {
  /** what runs: a notebook or a pipeline file (.yaml, .yml), by its path under the folder Jupyter shows */
  notebook: string;
  name: string;
  cron: string;
  tz: string;
  catchup: 'none' | 'latest' | 'all';
  parameters: IParameterRow[];
  retries: string;
  /** seconds; empty for no limit */
  timeout: string;
  alertOn: 'failure' | 'always' | 'never';
}

/** The fields of the form, in the order the dialog shows them (and the server's names). */
export const FORM_FIELDS = [
  'notebook',
  'name',
  'cron',
  'tz',
  'catchup',
  'parameters',
  'retries',
  'timeout',
  'alert_on'
] as const;
export type FormField = (typeof FORM_FIELDS)[number];

/** Whether a path names a pipeline file (scheduled as `pipeline`, not `notebook`). */
export function isPipelinePath(path: string): boolean {
  return /\.ya?ml$/i.test(path.trim());
}

/**
 * A schedule name suggested by a notebook's or pipeline's file name:
 * `train churn.ipynb` gives `train-churn` (letters, digits, `.`, `_`, `-`; at most 64).
 */
export function suggestName(notebook: string): string {
  const file = notebook.split('/').pop() ?? '';
  const stem = file.replace(/\.(ipynb|ya?ml)$/i, '');
  const name = stem
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64);
  return name;
}

/** A new schedule's form for `notebook`, with the defaults of `schedule add`. */
export function newForm(notebook: string, timeZone: string = browserTimeZone()): IScheduleForm {
  return {
    notebook,
    name: suggestName(notebook),
    cron: '0 6 * * 1',
    tz: timeZone,
    catchup: 'latest',
    parameters: [],
    retries: '0',
    timeout: '',
    alertOn: 'failure'
  };
}

/** A parameter value as text, for a row: text as it is, anything else as JSON. */
export function showValue(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The form of an existing schedule, for editing it. */
export function editForm(schedule: ISchedule): IScheduleForm {
  const catchup = schedule.catchup as IScheduleForm['catchup'];
  const alertOn = schedule.alert_on as IScheduleForm['alertOn'];
  return {
    notebook: '',
    name: schedule.name,
    cron: schedule.cron,
    tz: schedule.tz,
    catchup: ['none', 'latest', 'all'].includes(catchup) ? catchup : 'latest',
    parameters: Object.entries(schedule.parameters ?? {}).map(([key, value]) => ({
      key,
      value: showValue(value)
    })),
    retries: String(schedule.retries ?? 0),
    timeout: schedule.timeout_s ? String(schedule.timeout_s) : '',
    alertOn: ['failure', 'always', 'never'].includes(alertOn) ? alertOn : 'failure'
  };
}

/**
 * A parameter value read as `mlops-nb schedule add -p KEY VALUE` reads it:
 * true/false, none/null, a whole number, a number, else the text itself.
 */
export function parseValue(text: string): JsonValue {
  const lowered = text.trim().toLowerCase();
  if (lowered === 'true' || lowered === 'false') {
    return lowered === 'true';
  }
  if (lowered === 'none' || lowered === 'null') {
    return null;
  }
  const trimmed = text.trim();
  if (/^[+-]?\d+$/.test(trimmed)) {
    const whole = Number(trimmed);
    if (Number.isSafeInteger(whole)) {
      return whole;
    }
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(trimmed)) {
    const number = Number(trimmed);
    if (Number.isFinite(number)) {
      return number;
    }
  }
  return text;
}

/** A number typed into a field, or the text as typed (the server says what is wrong). */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  const number = Number(trimmed);
  return trimmed !== '' && Number.isFinite(number) ? number : trimmed;
}

/** The request a form makes, or the error of the one thing only the form can know. */
export type FormResult =
  | { request: IScheduleRequest; error?: undefined }
  | { request?: undefined; error: { field: FormField; message: string } };

/**
 * The request for the form: `editing` leaves out the name (a schedule keeps
 * it) and an empty path (the same file, snapshot again). A path ending in
 * `.yaml` or `.yml` is sent as `pipeline`, any other as `notebook`. Rows with
 * an empty key and value are ignored; the same key twice is refused here,
 * since a JSON object cannot carry both.
 */
export function formRequest(form: IScheduleForm, editing: boolean): FormResult {
  const parameters: Record<string, JsonValue> = {};
  for (const row of form.parameters) {
    const key = row.key.trim();
    if (!key && !row.value.trim()) {
      continue;
    }
    if (key in parameters) {
      return { error: { field: 'parameters', message: `parameter ${key} is given twice` } };
    }
    parameters[key] = parseValue(row.value);
  }
  const request: IScheduleRequest = {
    cron: form.cron.trim(),
    tz: form.tz.trim() || 'UTC',
    catchup: form.catchup,
    parameters,
    retries: numberOrText(form.retries || '0'),
    // 0 is "no limit" to the server, for a new schedule and an edited one alike
    timeout: form.timeout.trim() ? numberOrText(form.timeout) : 0,
    alert_on: form.alertOn
  };
  if (!editing) {
    request.name = form.name.trim();
  }
  const path = form.notebook.trim();
  if (path && isPipelinePath(path)) {
    request.pipeline = path;
  } else if (path || !editing) {
    request.notebook = path;
  }
  return { request };
}

/** Which of the form's fields a server error is about (`null`: the form as a whole). */
export function errorField(field: string | null | undefined): FormField | null {
  if (field === 'alert_model' || !field) {
    return null;
  }
  if (field === 'pipeline') {
    return 'notebook'; // one path field names either
  }
  return (FORM_FIELDS as readonly string[]).includes(field) ? (field as FormField) : null;
}
