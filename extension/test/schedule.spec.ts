// The schedule dialog's logic: what a form sends, how values are read, the
// server's reading of the cron shown live, and its refusals put beside the field.
import { ApiError } from '../src/api';
import { editSchedule, READ_DELAY, ScheduleBody, type IScheduleClient } from '../src/scheduleDialog';
import {
  editForm,
  errorField,
  formRequest,
  newForm,
  parseValue,
  isPipelinePath,
  suggestName,
  type IScheduleForm
} from '../src/scheduleForm';
import type { ICronReading, IPipelineReading, ISchedule } from '../src/types';

const EVIL = '<img src=x onerror=alert(1)>';

function reading(expr: string, tz: string): ICronReading {
  return { cron: expr, tz, text: `read ${expr} (${tz})`, next: ['2026-12-07T05:00:00+00:00'] };
}

function pipeline(path: string): IPipelineReading {
  return {
    path,
    name: 'nightly',
    description: '',
    model: null,
    steps: [
      { name: 'prepare', notebook: 'prepare.ipynb', depends_on: [], gate: null },
      { name: 'train', notebook: 'train.ipynb', depends_on: ['prepare'], gate: 'auc >= 0.8' }
    ]
  };
}

function schedule(overrides: Partial<ISchedule> = {}): ISchedule {
  return {
    name: 'weekly',
    kind: 'notebook',
    target: '/srv/notebooks/train.ipynb',
    parameters: { month: '2026-11', x: 3, on: true },
    cron: '0 6 * * 1',
    tz: 'Europe/Berlin',
    enabled: 1,
    catchup: 'all',
    retries: 2,
    timeout_s: 900,
    alert_on: 'always',
    ...overrides
  };
}

function client(overrides: Partial<IScheduleClient> = {}): IScheduleClient {
  return {
    readCron: jest.fn(async (expr: string, tz: string) => reading(expr, tz)),
    readPipeline: jest.fn(async (path: string) => pipeline(path)),
    createSchedule: jest.fn(async request => schedule({ name: request.name })),
    updateSchedule: jest.fn(async name => schedule({ name })),
    ...overrides
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

describe('the form', () => {
  it('suggests a name the server accepts from the notebook file', () => {
    expect(suggestName('reports/train churn.ipynb')).toBe('train-churn');
    expect(suggestName('__init__.ipynb')).toBe('init__');
    expect(suggestName(`${EVIL}.ipynb`)).toBe('img-src-x-onerror-alert-1');
    expect(suggestName('x'.repeat(100) + '.ipynb')).toHaveLength(64);
  });

  it('starts a new schedule from the notebook with the CLI defaults', () => {
    const form = newForm('reports/weekly.ipynb', 'Europe/Berlin');
    expect(form).toMatchObject({
      notebook: 'reports/weekly.ipynb',
      name: 'weekly',
      tz: 'Europe/Berlin',
      catchup: 'latest',
      retries: '0',
      timeout: '',
      alertOn: 'failure',
      parameters: []
    });
  });

  it('reads a parameter as `schedule add -p KEY VALUE` does', () => {
    const cases: [string, unknown][] = [
      ['3', 3],
      ['-12', -12],
      ['0.25', 0.25],
      ['1e3', 1000],
      ['True', true],
      ['false', false],
      ['None', null],
      ['null', null],
      ['2026-11', '2026-11'],
      ['churn', 'churn'],
      ['', ''],
      ['99999999999999999999', 1e20],
      ['nan', 'nan']
    ];
    for (const [text, value] of cases) {
      expect([text, parseValue(text)]).toEqual([text, value]);
    }
  });

  it('sends every field for a new schedule, typed', () => {
    const form: IScheduleForm = {
      ...newForm('train.ipynb', 'UTC'),
      cron: ' @daily ',
      parameters: [
        { key: 'month', value: '2026-11' },
        { key: 'x', value: '3' },
        { key: '', value: '' }
      ],
      retries: '2',
      timeout: '900'
    };
    expect(formRequest(form, false)).toEqual({
      request: {
        name: 'train',
        notebook: 'train.ipynb',
        cron: '@daily',
        tz: 'UTC',
        catchup: 'latest',
        parameters: { month: '2026-11', x: 3 },
        retries: 2,
        timeout: 900,
        alert_on: 'failure'
      }
    });
  });

  it('leaves the name out when editing, and the notebook unless one is given', () => {
    const form = editForm(schedule());
    expect(form.parameters).toEqual([
      { key: 'month', value: '2026-11' },
      { key: 'x', value: '3' },
      { key: 'on', value: 'true' }
    ]);
    const made = formRequest(form, true);
    expect(made.request).toEqual({
      cron: '0 6 * * 1',
      tz: 'Europe/Berlin',
      catchup: 'all',
      parameters: { month: '2026-11', x: 3, on: true },
      retries: 2,
      timeout: 900,
      alert_on: 'always'
    });
    expect(formRequest({ ...form, notebook: 'other.ipynb' }, true).request?.notebook).toBe('other.ipynb');
  });

  it('sends no limit as 0 and text the server will judge as typed', () => {
    const form = { ...newForm('a.ipynb', 'UTC'), timeout: '', retries: 'many' };
    expect(formRequest(form, false).request).toMatchObject({ timeout: 0, retries: 'many' });
  });

  it('refuses the same parameter twice, naming the field', () => {
    const form = { ...newForm('a.ipynb'), parameters: [{ key: 'x', value: '1' }, { key: ' x', value: '2' }] };
    expect(formRequest(form, false)).toEqual({
      error: { field: 'parameters', message: 'parameter x is given twice' }
    });
  });

  it('maps the field a server error names onto the form', () => {
    expect(errorField('cron')).toBe('cron');
    expect(errorField('alert_on')).toBe('alert_on');
    expect(errorField('cronn')).toBeNull(); // an unknown key: about the form as a whole
    expect(errorField(null)).toBeNull();
  });
});

describe('a pipeline file', () => {
  afterEach(() => jest.useRealTimers());

  it('is sent as pipeline, a notebook as notebook', () => {
    expect(isPipelinePath('pipelines/retrain.yaml')).toBe(true);
    expect(isPipelinePath(' a.YML ')).toBe(true);
    expect(isPipelinePath('a.ipynb')).toBe(false);
    expect(isPipelinePath('yaml.ipynb')).toBe(false);
    const made = formRequest(newForm('pipelines/retrain.yaml', 'UTC'), false);
    expect(made.request?.pipeline).toBe('pipelines/retrain.yaml');
    expect(made.request).not.toHaveProperty('notebook');
    expect(made.request?.name).toBe('retrain');
    // editing: a new pipeline file, or the same one (nothing sent)
    const edited = formRequest({ ...editForm(schedule()), notebook: 'p.yml' }, true);
    expect(edited.request?.pipeline).toBe('p.yml');
    const same = formRequest(editForm(schedule()), true);
    expect(same.request).not.toHaveProperty('pipeline');
    expect(same.request).not.toHaveProperty('notebook');
  });

  it("puts the server's refusal of a pipeline beside the path field", () => {
    expect(errorField('pipeline')).toBe('notebook');
  });

  it('lists the steps the server read, and follows what is typed', async () => {
    jest.useFakeTimers();
    const api = client();
    const body = new ScheduleBody(newForm('pipelines/nightly.yaml', 'UTC'), null, api);
    await settle();
    const steps = () =>
      [...body.node.querySelectorAll('[data-testid="mlops-pipeline-step"]')].map(s => s.getAttribute('data-step'));
    expect(api.readPipeline).toHaveBeenCalledWith('pipelines/nightly.yaml');
    expect(steps()).toEqual(['prepare', 'train']);
    expect(body.node.querySelector('[data-testid="mlops-pipeline-reading"]')?.textContent).toContain('gate auc >= 0.8');
    // a notebook has no steps: nothing is asked, nothing shown
    const path = body.node.querySelector('[name="notebook"]') as HTMLInputElement;
    path.value = 'train.ipynb';
    path.dispatchEvent(new Event('input', { bubbles: true }));
    jest.advanceTimersByTime(READ_DELAY);
    await settle();
    expect(steps()).toEqual([]);
    expect(api.readPipeline).toHaveBeenCalledTimes(1);
  });

  it('says what the server found wrong with the file, as text', async () => {
    const refused = new ApiError(`bad.yaml is not valid YAML: ${EVIL}`, 400, 'InvalidInputError', [], 'pipeline');
    const body = new ScheduleBody(
      newForm('bad.yaml', 'UTC'),
      null,
      client({ readPipeline: jest.fn(async () => Promise.reject(refused)) })
    );
    await settle();
    const shown = body.node.querySelector('[data-testid="mlops-pipeline-reading"]') as HTMLElement;
    expect(shown.textContent).toBe(`bad.yaml is not valid YAML: ${EVIL}`);
    expect(shown.querySelector('img')).toBeNull();
  });
});

describe('the dialog body', () => {
  afterEach(() => jest.useRealTimers());

  it('labels every field', () => {
    const body = new ScheduleBody(
      { ...newForm('train.ipynb', 'UTC'), parameters: [{ key: 'x', value: '1' }] },
      null,
      client()
    );
    const controls = [...body.node.querySelectorAll('input, select')] as HTMLElement[];
    expect(controls.length).toBe(10); // 8 fields and one parameter row of two
    for (const control of controls) {
      const label = control.id ? body.node.querySelector(`label[for="${control.id}"]`) : null;
      const named = label?.textContent || control.getAttribute('aria-label');
      expect([control.getAttribute('name'), Boolean(named)]).toEqual([control.getAttribute('name'), true]);
    }
    const labels = [...body.node.querySelectorAll('label')].map(l => l.textContent);
    expect(labels).toEqual([
      'Notebook or pipeline file',
      'Name',
      'Cron expression',
      'Time zone',
      'After downtime',
      'Retries after a failure',
      'Timeout per attempt (seconds)',
      'Alert'
    ]);
  });

  it("shows the server's reading of the cron, and follows what is typed", async () => {
    jest.useFakeTimers();
    const api = client();
    const body = new ScheduleBody(newForm('train.ipynb', 'UTC'), null, api);
    await settle();
    const words = () => body.node.querySelector('[data-testid="mlops-cron-words"]')?.textContent;
    expect(words()).toBe('read 0 6 * * 1 (UTC)');
    const cron = body.node.querySelector('[name="cron"]') as HTMLInputElement;
    cron.value = '0 3 * * *';
    cron.dispatchEvent(new Event('input'));
    cron.value = '0 4 * * *';
    cron.dispatchEvent(new Event('input'));
    expect(api.readCron).toHaveBeenCalledTimes(1); // not yet: typing goes on
    jest.advanceTimersByTime(READ_DELAY);
    await settle();
    expect(api.readCron).toHaveBeenCalledTimes(2); // once for the pause, with the last text
    expect(api.readCron).toHaveBeenLastCalledWith('0 4 * * *', 'UTC');
    expect(words()).toBe('read 0 4 * * * (UTC)');
  });

  it('shows what the server refused in the cron, as text', async () => {
    const refused = new ApiError(`bad cron expression '${EVIL}'`, 400, 'InvalidInputError', [], 'cron');
    const body = new ScheduleBody(
      newForm('train.ipynb', 'UTC'),
      null,
      client({ readCron: jest.fn(async () => Promise.reject(refused)) })
    );
    await settle();
    const shown = body.node.querySelector('[data-testid="mlops-cron-reading"] [data-state="error"]');
    expect(shown?.textContent).toBe(`bad cron expression '${EVIL}'`);
    expect(body.node.querySelector('img')).toBeNull();
  });

  it('keeps the newest reading when an older answer comes late', async () => {
    let answerFirst: (r: ICronReading) => void = () => undefined;
    const readCron = jest
      .fn()
      .mockImplementationOnce(() => new Promise<ICronReading>(resolve => (answerFirst = resolve)))
      .mockImplementation(async (expr: string, tz: string) => reading(expr, tz));
    const body = new ScheduleBody(newForm('a.ipynb', 'UTC'), null, client({ readCron }));
    (body.node.querySelector('[name="cron"]') as HTMLInputElement).value = '@hourly';
    await body.read();
    answerFirst(reading('0 6 * * 1', 'UTC'));
    await settle();
    expect(body.node.querySelector('[data-testid="mlops-cron-words"]')?.textContent).toBe('read @hourly (UTC)');
  });

  it('adds and removes parameter rows, and gives back what was typed', () => {
    const body = new ScheduleBody(editForm(schedule()), schedule(), client());
    expect((body.node.querySelector('[name="name"]') as HTMLInputElement).readOnly).toBe(true);
    (body.node.querySelector('[data-testid="mlops-schedule-add-parameter"]') as HTMLElement).click();
    const rows = body.node.querySelectorAll('[data-testid="mlops-parameter-row"]');
    expect(rows).toHaveLength(4);
    (rows[3].querySelector('[name="parameter-key"]') as HTMLInputElement).value = 'seed';
    (rows[3].querySelector('[name="parameter-value"]') as HTMLInputElement).value = '7';
    (rows[0].querySelector('button') as HTMLElement).click(); // remove month
    expect(body.getValue().parameters).toEqual([
      { key: 'x', value: '3' },
      { key: 'on', value: 'true' },
      { key: 'seed', value: '7' }
    ]);
  });
});

describe('saving', () => {
  it('asks again with the refusal beside its field, keeping what was typed', async () => {
    const refused = new ApiError("'61' is not a valid minute", 400, 'InvalidInputError', [], 'cron');
    const api = client({
      createSchedule: jest
        .fn()
        .mockRejectedValueOnce(refused)
        .mockImplementation(async (request: { name: string }) => schedule({ name: request.name }))
    });
    const bodies: ScheduleBody[] = [];
    const show = jest.fn(async (_title: string, body: ScheduleBody) => {
      bodies.push(body);
      const form = body.getValue();
      return { accept: true, form: bodies.length === 1 ? { ...form, cron: '61 * * * *' } : { ...form, cron: '1 * * * *' } };
    });
    const saved = await editSchedule(api, newForm('train.ipynb', 'UTC'), null, show);
    expect(saved?.name).toBe('train');
    expect(show).toHaveBeenCalledTimes(2);
    expect(show.mock.calls[0][0]).toBe('New schedule');
    const second = bodies[1].node;
    expect(second.querySelector('[data-testid="mlops-error-cron"]')?.textContent).toBe("'61' is not a valid minute");
    expect(second.querySelector('[name="cron"]')?.getAttribute('aria-invalid')).toBe('true');
    expect((second.querySelector('[name="cron"]') as HTMLInputElement).value).toBe('61 * * * *');
    expect(api.createSchedule).toHaveBeenLastCalledWith(expect.objectContaining({ cron: '1 * * * *' }));
    // typing in the field clears its refusal: it was about what was sent
    const cron = second.querySelector('[name="cron"]') as HTMLInputElement;
    cron.dispatchEvent(new Event('input', { bubbles: true }));
    expect(second.querySelector('[data-testid="mlops-error-cron"]')?.textContent).toBe('');
    expect(cron.hasAttribute('aria-invalid')).toBe(false);
  });

  it('says a refused cron once, beside the field, not again in the reading', async () => {
    const message = "'61' is not a valid minute";
    const refused = new ApiError(message, 400, 'InvalidInputError', [], 'cron');
    const body = new ScheduleBody(
      { ...newForm('a.ipynb', 'UTC'), cron: '61 * * * *' },
      null,
      client({ readCron: jest.fn(async () => Promise.reject(refused)) }),
      { field: 'cron', message }
    );
    await settle();
    expect(body.node.querySelector('[data-testid="mlops-error-cron"]')?.textContent).toBe(message);
    expect(body.node.querySelector('[data-testid="mlops-cron-reading"]')?.textContent).toBe('');
  });

  it('puts a taken name beside the name, and other refusals above the form', async () => {
    const taken = new ApiError("schedule 'train' exists", 409, 'ConflictError');
    const unknown = new ApiError("unknown schedule field 'x'", 400, 'InvalidInputError', [], 'x');
    const api = client({
      createSchedule: jest.fn().mockRejectedValueOnce(taken).mockRejectedValueOnce(unknown)
    });
    const bodies: ScheduleBody[] = [];
    const show = jest.fn(async (_t: string, body: ScheduleBody) => {
      bodies.push(body);
      return bodies.length < 3 ? { accept: true, form: body.getValue() } : { accept: false, form: null };
    });
    expect(await editSchedule(api, newForm('train.ipynb', 'UTC'), null, show)).toBeNull();
    expect(bodies[1].node.querySelector('[data-testid="mlops-error-name"]')?.textContent).toContain('exists');
    expect(bodies[2].node.querySelector('[data-testid="mlops-schedule-error"]')?.textContent).toContain("'x'");
  });

  it('edits by name, and passes on what is not a refusal', async () => {
    const api = client();
    const show = jest.fn(async (_t: string, body: ScheduleBody) => ({ accept: true, form: body.getValue() }));
    await editSchedule(api, editForm(schedule()), schedule(), show);
    expect(show.mock.calls[0][0]).toBe('Edit schedule weekly');
    expect(api.updateSchedule).toHaveBeenCalledWith('weekly', expect.not.objectContaining({ name: 'weekly' }));
    const down = client({ updateSchedule: jest.fn().mockRejectedValue(new ApiError('down', 503)) });
    await expect(editSchedule(down, editForm(schedule()), schedule(), show)).rejects.toThrow('down');
  });
});
