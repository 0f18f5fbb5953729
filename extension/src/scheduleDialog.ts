/**
 * The schedule dialog: define a schedule of a notebook or a pipeline file,
 * or change one.
 *
 * Every field has its label. While the cron expression or the zone is typed
 * the server reads them (`GET cron`) and the dialog shows its reading in
 * words with the next runs, or what it refused: the panel never reads a
 * cron itself. A pipeline file's path is read by the server too (`GET
 * pipelines/steps`): the dialog lists its steps, or says what is wrong with
 * it, before anything is saved. Saving sends the form; when the server refuses a field the
 * dialog opens again with the message beside that field and nothing lost.
 */
import { ApiError } from './api';
import { h, replaceChildren } from './dom';
import { formatDateTime } from './format';
import {
  errorField,
  formRequest,
  isPipelinePath,
  type FormField,
  type IParameterRow,
  type IScheduleForm
} from './scheduleForm';
import type { ICronReading, IPipelineReading, ISchedule, IScheduleRequest } from './types';

/** How long typing pauses before the server is asked to read the cron, in ms. */
export const READ_DELAY = 250;

/** A message for one field (`null`: the form as a whole). */
export interface IFormError {
  field: FormField | null;
  message: string;
}

/** What the dialog needs of the REST client. */
export interface IScheduleClient {
  readCron(expr: string, tz: string): Promise<ICronReading>;
  readPipeline(path: string): Promise<IPipelineReading>;
  createSchedule(request: IScheduleRequest & { name: string }): Promise<ISchedule>;
  updateSchedule(name: string, request: IScheduleRequest): Promise<ISchedule>;
}

let fieldCount = 0;

/**
 * The dialog's body: labelled fields, the server's reading of the cron,
 * errors in place. Plain DOM in `node`; dialogs.ts puts it in a Widget.
 */
export class ScheduleBody {
  readonly node: HTMLElement;

  constructor(
    form: IScheduleForm,
    private editing: ISchedule | null,
    private client: Pick<IScheduleClient, 'readCron' | 'readPipeline'>,
    error: IFormError | null = null
  ) {
    this.node = h('div', { class: 'mlops-Dialog mlops-ScheduleDialog', 'data-testid': 'mlops-schedule-dialog' });
    const input = (name: string, value: string, extra: Record<string, string> = {}) =>
      h('input', { class: 'jp-mod-styled', name, 'data-testid': `mlops-schedule-${name}`, value, ...extra });
    this.notebook = input('notebook', form.notebook, {
      placeholder: editing ? 'the same file, snapshot again' : 'path/to/notebook.ipynb or pipeline.yaml'
    });
    this.steps = h('div', { class: 'mlops-small', 'data-testid': 'mlops-pipeline-reading', 'aria-live': 'polite' });
    this.name = input('name', form.name, editing ? { readonly: 'true' } : {});
    this.cron = input('cron', form.cron, { placeholder: 'minute hour day month weekday, or @daily' });
    this.tz = input('tz', form.tz, { placeholder: 'e.g. Europe/Berlin' });
    this.catchup = h(
      'select',
      { class: 'jp-mod-styled', name: 'catchup', 'data-testid': 'mlops-schedule-catchup' },
      h('option', { value: 'latest' }, 'run the newest missed slot'),
      h('option', { value: 'all' }, 'run every missed slot'),
      h('option', { value: 'none' }, 'skip missed slots')
    );
    this.catchup.value = form.catchup;
    this.retries = input('retries', form.retries, { type: 'number', min: '0', step: '1' });
    this.timeout = input('timeout', form.timeout, { type: 'number', min: '0', placeholder: 'no limit' });
    this.alertOn = h(
      'select',
      { class: 'jp-mod-styled', name: 'alert_on', 'data-testid': 'mlops-schedule-alert_on' },
      h('option', { value: 'failure' }, 'when a run fails'),
      h('option', { value: 'always' }, 'after every run'),
      h('option', { value: 'never' }, 'never')
    );
    this.alertOn.value = form.alertOn;
    this.rows = h('div', { class: 'mlops-ParameterRows', 'data-testid': 'mlops-schedule-parameters' });
    for (const row of form.parameters) {
      this.addRow(row);
    }
    this.reading = h('div', { class: 'mlops-small', 'data-testid': 'mlops-cron-reading', 'aria-live': 'polite' });
    const parameters = h(
      'fieldset',
      { class: 'mlops-Field' },
      h('legend', { class: 'mlops-Field-label' }, 'Parameters'),
      this.rows,
      h(
        'button',
        {
          class: 'mlops-button mlops-button-small',
          type: 'button',
          'data-testid': 'mlops-schedule-add-parameter',
          onclick: () => this.addRow({ key: '', value: '' }).focus()
        },
        'Add parameter'
      ),
      this.errorSlot('parameters')
    );
    this.node.appendChild(
      h(
        'div',
        null,
        error && error.field === null
          ? h('p', { class: 'mlops-error', 'data-testid': 'mlops-schedule-error' }, error.message)
          : null,
        this.field(
          'notebook',
          editing ? 'Notebook or pipeline file (empty: the same one)' : 'Notebook or pipeline file',
          this.notebook,
          this.steps
        ),
        this.field('name', 'Name', this.name),
        this.field('cron', 'Cron expression', this.cron, this.reading),
        this.field('tz', 'Time zone', this.tz),
        this.field('catchup', 'After downtime', this.catchup),
        parameters,
        this.field('retries', 'Retries after a failure', this.retries),
        this.field('timeout', 'Timeout per attempt (seconds)', this.timeout),
        this.field('alert_on', 'Alert', this.alertOn)
      )
    );
    if (error && error.field !== null) {
      this.showError(error.field, error.message);
    }
    for (const node of [this.cron, this.tz]) {
      node.addEventListener('input', () => this.scheduleRead());
    }
    this.notebook.addEventListener('input', () => {
      window.clearTimeout(this.pipelineTimer);
      this.pipelineTimer = window.setTimeout(() => void this.readPipeline(), READ_DELAY);
    });
    // A refusal is about what was sent: once the field changes, it is stale.
    this.node.addEventListener('input', event => {
      const slot = (event.target as HTMLElement).closest('.mlops-Field')?.querySelector('[data-error-for]');
      if (slot) {
        slot.textContent = '';
        (event.target as HTMLElement).removeAttribute('aria-invalid');
      }
    });
    void this.read();
    void this.readPipeline();
  }

  /**
   * Ask the server to read the pipeline file named now (nothing for a
   * notebook); resolves once its steps, or its refusal, are shown.
   */
  async readPipeline(): Promise<void> {
    const asked = ++this.pipelineAsked;
    const path = this.notebook.value.trim();
    let shown: HTMLElement | null = null;
    if (isPipelinePath(path)) {
      try {
        const reading = await this.client.readPipeline(path);
        shown = h(
          'div',
          { 'data-state': 'ok' },
          h('span', { class: 'mlops-muted' }, `pipeline ${reading.name}, ${reading.steps.length} step${reading.steps.length === 1 ? '' : 's'}:`),
          h(
            'ol',
            { class: 'mlops-PipelineSteps', 'data-testid': 'mlops-pipeline-steps' },
            ...reading.steps.map(step =>
              h(
                'li',
                { 'data-testid': 'mlops-pipeline-step', 'data-step': step.name, title: step.notebook },
                step.name,
                h('span', { class: 'mlops-muted' }, ` · ${step.notebook}`),
                step.gate ? h('span', { class: 'mlops-muted' }, ` · gate ${step.gate}`) : null
              )
            )
          )
        );
      } catch (reason) {
        const message = reason instanceof Error ? reason.message : String(reason);
        const beside = this.node.querySelector('[data-error-for="notebook"]')?.textContent;
        shown = h('span', { class: 'mlops-error', 'data-state': 'error' }, beside === message ? '' : message);
      }
    }
    if (asked === this.pipelineAsked) {
      replaceChildren(this.steps, shown);
    }
  }

  /** What the fields hold now. */
  getValue(): IScheduleForm {
    return {
      notebook: this.notebook.value,
      name: this.name.value,
      cron: this.cron.value,
      tz: this.tz.value,
      catchup: this.catchup.value as IScheduleForm['catchup'],
      parameters: [...this.rows.querySelectorAll('[data-testid="mlops-parameter-row"]')].map(row => ({
        key: (row.querySelector('[name="parameter-key"]') as HTMLInputElement).value,
        value: (row.querySelector('[name="parameter-value"]') as HTMLInputElement).value
      })),
      retries: this.retries.value,
      timeout: this.timeout.value,
      alertOn: this.alertOn.value as IScheduleForm['alertOn']
    };
  }

  /** Ask the server to read the cron now; resolves once its answer is shown. */
  async read(): Promise<void> {
    const asked = ++this.asked;
    const expr = this.cron.value.trim();
    const tz = this.tz.value.trim() || 'UTC';
    let shown: HTMLElement;
    try {
      const reading = await this.client.readCron(expr, tz);
      const next = reading.next.map(t => formatDateTime(t)).join(', ');
      shown = h(
        'span',
        { 'data-state': 'ok' },
        h('span', { 'data-testid': 'mlops-cron-words' }, reading.text),
        next ? h('span', { class: 'mlops-muted' }, ` · next: ${next}`) : null
      );
    } catch (reason) {
      const message = reason instanceof Error ? reason.message : String(reason);
      // the same refusal already stands beside the field: say it once
      const beside = this.node.querySelector('[data-error-for="cron"]')?.textContent;
      shown = h('span', { class: 'mlops-error', 'data-state': 'error' }, beside === message ? '' : message);
    }
    if (asked === this.asked) {
      // an older answer arriving late does not overwrite a newer one
      replaceChildren(this.reading, shown);
    }
  }

  /** Where typing starts: the cron when editing, else the name (or the notebook, when empty). */
  focus(): void {
    (this.editing ? this.cron : this.notebook.value ? this.name : this.notebook).focus();
  }

  private scheduleRead(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.read(), READ_DELAY);
  }

  private field(name: FormField, label: string, control: HTMLElement, ...extra: HTMLElement[]): HTMLElement {
    const id = `mlops-schedule-field-${++fieldCount}`;
    control.id = id;
    return h(
      'div',
      { class: 'mlops-Field', 'data-field': name },
      h('label', { class: 'mlops-Field-label', for: id }, label),
      control,
      ...extra,
      this.errorSlot(name)
    );
  }

  private errorSlot(name: FormField): HTMLElement {
    return h('div', { class: 'mlops-small mlops-error', 'data-testid': `mlops-error-${name}`, 'data-error-for': name });
  }

  private showError(field: FormField, message: string): void {
    const slot = this.node.querySelector(`[data-error-for="${field}"]`) as HTMLElement;
    slot.textContent = message;
    const control = slot.parentElement?.querySelector('input, select') as HTMLElement | null;
    control?.setAttribute('aria-invalid', 'true');
  }

  private addRow(row: IParameterRow): HTMLInputElement {
    const n = ++fieldCount;
    const key = h('input', {
      class: 'jp-mod-styled',
      name: 'parameter-key',
      value: row.key,
      placeholder: 'name',
      'aria-label': `parameter ${n} name`
    });
    const value = h('input', {
      class: 'jp-mod-styled',
      name: 'parameter-value',
      value: row.value,
      placeholder: 'value',
      'aria-label': `parameter ${n} value`
    });
    const line: HTMLElement = h(
      'div',
      { class: 'mlops-ParameterRow', 'data-testid': 'mlops-parameter-row' },
      key,
      value,
      h(
        'button',
        {
          class: 'mlops-button mlops-button-small',
          type: 'button',
          title: 'Remove this parameter',
          'aria-label': `remove parameter ${n}`,
          onclick: () => line.remove()
        },
        '×'
      )
    );
    this.rows.appendChild(line);
    return key;
  }

  private readonly notebook: HTMLInputElement;
  private readonly name: HTMLInputElement;
  private readonly cron: HTMLInputElement;
  private readonly tz: HTMLInputElement;
  private readonly catchup: HTMLSelectElement;
  private readonly retries: HTMLInputElement;
  private readonly timeout: HTMLInputElement;
  private readonly alertOn: HTMLSelectElement;
  private readonly rows: HTMLElement;
  private readonly reading: HTMLElement;
  private readonly steps: HTMLElement;
  private asked = 0;
  private timer: number | undefined = undefined;
  private pipelineAsked = 0;
  private pipelineTimer: number | undefined = undefined;
}

/** Show a body; whether it was accepted, and the form it held then. */
export type ShowForm = (
  title: string,
  body: ScheduleBody,
  accept: string
) => Promise<{ accept: boolean; form: IScheduleForm | null }>;

/**
 * Ask for a schedule and save it, asking again with the server's message
 * beside the field it refused, until it is saved (the schedule as saved) or
 * the dialog is cancelled (`null`).
 */
export async function editSchedule(
  client: IScheduleClient,
  form: IScheduleForm,
  editing: ISchedule | null,
  show: ShowForm
): Promise<ISchedule | null> {
  let error: IFormError | null = null;
  const title = editing ? `Edit schedule ${editing.name}` : 'New schedule';
  for (;;) {
    const answer = await show(title, new ScheduleBody(form, editing, client, error), editing ? 'Save' : 'Create');
    if (!answer.accept || !answer.form) {
      return null;
    }
    form = answer.form;
    const made = formRequest(form, editing !== null);
    if (made.error) {
      error = made.error;
      continue;
    }
    try {
      return editing
        ? await client.updateSchedule(editing.name, made.request)
        : await client.createSchedule({ ...made.request, name: made.request.name ?? '' });
    } catch (reason) {
      if (!(reason instanceof ApiError) || ![400, 409].includes(reason.status)) {
        throw reason;
      }
      // 409: the name is taken (a schedule keeps its name, so only on creation)
      const field = reason.status === 409 && !editing ? 'name' : errorField(reason.field);
      error = { field, message: reason.message };
    }
  }
}
