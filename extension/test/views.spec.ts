// The views in a jsdom page: the DOM contract the browser tests rely on,
// and names from users arriving as text, never as markup.
import { driftChart, MAX_CATEGORIES, rangeMarks } from '../src/chart';
import { h } from '../src/dom';
import { runNowWarning } from '../src/logic';
import { renderDrift } from '../src/views/drift';
import { renderModels, type IModelsActions } from '../src/views/models';
import {
  MAX_COMPARED,
  renderRunDetail,
  renderRunList,
  type IRunsActions,
  type IRunsPage,
  type IRunsState
} from '../src/views/runs';
import { LARGE, renderDriftColumnDetail } from '../src/views/driftcolumn';
import { diffLineKind, renderCodeDiffs, renderComparison } from '../src/views/compare';
import { renderSchedules, type ISchedulesActions } from '../src/views/schedules';
import { formatErrorRate, formatMs, formatRate, renderServing } from '../src/views/serving';
import type { IDriftHistory, IModelDetail, IModelSummary, IRun, ISchedule, IServer } from '../src/types';

const EVIL = '<img src=x onerror=alert(1)>';

const noModelActions: IModelsActions = { promote: jest.fn(), rollback: jest.fn(), openRun: jest.fn(), compareVersions: jest.fn(), loadSchema: jest.fn(), annotate: jest.fn() };

function summary(name: string, aliases: Record<string, number> = {}): IModelSummary {
  return { name, created_at: '2026-11-24T17:35:13Z', updated_at: null, versions: 2, latest_version: 2, aliases };
}

function detail(name: string): IModelDetail {
  const version = (v: number, accuracy: number, aliases: string[]) => ({
    model: name,
    version: v,
    run_id: `${v}`.repeat(32),
    created_at: '2026-11-24T17:35:13Z',
    created_by: 'ana',
    artifact_sha256: 'f'.repeat(64),
    format: 'skops',
    estimator: 'sklearn.pipeline.Pipeline',
    metrics: { accuracy },
    data_sha256: null,
    aliases
  });
  return {
    name,
    default_alias: 'production',
    aliases: [{ alias: 'production', version: 1, rollback_to: null }],
    versions: [version(1, 0.8, ['production']), version(2, 0.86, [])],
    history: [
      {
        id: 1,
        model: name,
        alias: 'production',
        action: 'promote',
        from_version: null,
        to_version: 1,
        at: '2026-11-24T17:35:13Z',
        actor: EVIL,
        reason: EVIL,
        run_id: null,
        gate: null
      }
    ]
  };
}

function render(node: HTMLElement): HTMLElement {
  document.body.replaceChildren();
  document.body.appendChild(node);
  return node;
}

describe('text only', () => {
  it('h() turns strings into text nodes, never markup', () => {
    const node = h('div', { title: EVIL }, EVIL, 42);
    expect(node.querySelector('img')).toBeNull();
    expect(node.childNodes[0].nodeType).toBe(Node.TEXT_NODE);
    expect(node.textContent).toBe(`${EVIL}42`);
    expect(node.getAttribute('title')).toBe(EVIL);
  });

  it('a hostile model name is shown as text everywhere', () => {
    const node = render(
      renderModels(
        [{ summary: summary(EVIL, { production: 1 }), detail: detail(EVIL) }],
        noModelActions,
        { foldedHistory: new Set() }
      )
    );
    expect(document.querySelector('img')).toBeNull();
    const block = node.querySelector('[data-testid="mlops-model"]') as HTMLElement;
    expect(block.getAttribute('data-model-name')).toBe(EVIL);
    const name = block.querySelector('[data-testid="mlops-model-name"]') as HTMLElement;
    expect(name.textContent).toBe(EVIL);
    expect(name.childNodes).toHaveLength(1);
    expect(name.firstChild?.nodeType).toBe(Node.TEXT_NODE);
    // the actor and reason of the history came from users too
    expect(block.querySelector('[data-testid="mlops-alias-event"]')?.textContent).toContain(EVIL);
  });

  it('hostile names stay text on the drift, runs and schedules tabs', () => {
    render(
      h(
        'div',
        null,
        renderDrift([{ model: EVIL, drift: { model: EVIL, history: [], latest: null } }], new Set()),
        renderRunList(page([run(EVIL)]), runsState(), runActions()),
        renderRunDetail({ ...run(EVIL), params: { [EVIL]: EVIL } }, runActions()),
        renderSchedules([schedule(EVIL)], scheduleActions(), new Set(), 'UTC')
      )
    );
    expect(document.querySelector('img')).toBeNull();
    expect(document.body.textContent).toContain(EVIL);
  });
});

describe('models tab', () => {
  const entries = [{ summary: summary('churn', { production: 1 }), detail: detail('churn') }];

  it('follows the DOM contract', () => {
    const node = render(renderModels(entries, noModelActions, { foldedHistory: new Set() }));
    const model = node.querySelector('[data-testid="mlops-model"][data-model-name="churn"]') as HTMLElement;
    const versions = model.querySelectorAll('[data-testid="mlops-version"]');
    expect(Array.from(versions).map(v => v.getAttribute('data-version'))).toEqual(['2', '1']);
    expect(versions[0].textContent).toContain('0.86');
    const alias = model.querySelector('[data-testid="mlops-alias"]') as HTMLElement;
    expect(alias.getAttribute('data-alias')).toBe('production');
    expect(alias.getAttribute('data-version')).toBe('1');
    expect(alias.textContent).toContain('production → v1');
    expect(model.querySelector('[data-testid="mlops-alias-history"]')).not.toBeNull();
    expect(model.querySelectorAll('[data-testid="mlops-alias-event"]')).toHaveLength(1);
  });

  it('wires promote and rollback to the actions', () => {
    const actions: IModelsActions = { promote: jest.fn(), rollback: jest.fn(), openRun: jest.fn(), compareVersions: jest.fn(), loadSchema: jest.fn(), annotate: jest.fn() };
    const node = render(renderModels(entries, actions, { foldedHistory: new Set() }));
    (node.querySelector('[data-version="2"] [data-testid="mlops-promote"]') as HTMLElement).click();
    expect(actions.promote).toHaveBeenCalledWith('churn', 2);
    const rollback = node.querySelector('[data-testid="mlops-alias"] [data-testid="mlops-rollback"]') as HTMLButtonElement;
    // v1 was the first holder: nothing earlier, so the button is off and says why
    expect(rollback.disabled).toBe(true);
    expect(rollback.title).toContain('nothing earlier');
  });

  it('rolls back to the version the server names', () => {
    const actions: IModelsActions = { promote: jest.fn(), rollback: jest.fn(), openRun: jest.fn(), compareVersions: jest.fn(), loadSchema: jest.fn(), annotate: jest.fn() };
    const held = {
      ...detail('churn'),
      aliases: [{ alias: 'production', version: 3, rollback_to: 1 }]
    };
    const node = render(renderModels([{ summary: summary('churn', { production: 3 }), detail: held }], actions, { foldedHistory: new Set() }));
    const rollback = node.querySelector('[data-testid="mlops-alias"] [data-testid="mlops-rollback"]') as HTMLButtonElement;
    expect(rollback.disabled).toBe(false);
    expect(rollback.title).toContain('v1');
    rollback.click();
    expect(actions.rollback).toHaveBeenCalledWith('churn', { alias: 'production', version: 3, rollback_to: 1 });
  });

  it('names the producing run apart from the estimator, and lists refused promotions', () => {
    const made = detail('churn');
    made.versions[0] = {
      ...made.versions[0],
      estimator_name: 'Pipeline',
      // as the tab's document has it: the parts that apply, the run is the version's
      produced_by: { notebook: 'train_churn.ipynb', schedule: 'monthly' }
    };
    made.history.push({
      id: 2,
      model: 'churn',
      alias: 'production',
      action: 'refused',
      from_version: 1,
      to_version: 2,
      at: '2026-11-25T17:35:13Z',
      actor: 'ana',
      reason: null,
      run_id: null,
      gate: 'accuracy>=0.95',
      failures: ['accuracy>=0.95: 0.86 is not >= 0.95']
    });
    const actions: IModelsActions = { promote: jest.fn(), rollback: jest.fn(), openRun: jest.fn(), compareVersions: jest.fn(), loadSchema: jest.fn(), annotate: jest.fn() };
    const node = render(renderModels([{ summary: summary('churn', { production: 1 }), detail: made }], actions, { foldedHistory: new Set() }));
    const v1 = node.querySelector('[data-testid="mlops-version"][data-version="1"]') as HTMLElement;
    expect(v1.querySelector('[data-testid="mlops-estimator"]')?.textContent).toBe(' · estimator Pipeline');
    const producer = v1.querySelector('[data-testid="mlops-produced-by"]') as HTMLElement;
    expect(producer.textContent).toContain('from train_churn.ipynb, schedule monthly');
    (producer.querySelector('button') as HTMLElement).click();
    expect(actions.openRun).toHaveBeenCalledWith('1'.repeat(32));
    const refused = node.querySelector('[data-testid="mlops-alias-event"][data-action="refused"]') as HTMLElement;
    expect(refused.textContent).toContain('production: v1 ↛ v2');
    expect(refused.textContent).toContain('0.86 is not >= 0.95');
  });

  it('shows the metrics of every version in the same columns', () => {
    const made = detail('churn');
    made.versions.push({ ...made.versions[0], version: 3, metrics: { auc: 0.91, accuracy: 0.81234 } });
    const node = render(renderModels([{ summary: summary('churn'), detail: made }], noModelActions, { foldedHistory: new Set() }));
    const head = Array.from(node.querySelectorAll('[data-testid="mlops-metric-head"] .mlops-metric')).map(c => c.textContent);
    expect(head).toEqual(['auc', 'accuracy']);
    const cells = (version: number) =>
      Array.from(node.querySelectorAll(`[data-testid="mlops-version"][data-version="${version}"] [data-metric]`)).map(
        c => [c.getAttribute('data-metric'), c.textContent]
      );
    expect(cells(3)).toEqual([['auc', '0.91'], ['accuracy', '0.8123']]);
    expect(cells(2)).toEqual([['auc', '–'], ['accuracy', '0.86']]);
    expect(cells(1)).toEqual([['auc', '–'], ['accuracy', '0.8']]);
  });

  it('remembers a folded history across renders', () => {
    const state = { foldedHistory: new Set(['churn']) };
    const node = render(renderModels(entries, noModelActions, state));
    expect((node.querySelector('[data-testid="mlops-alias-history"]') as HTMLDetailsElement).open).toBe(false);
  });

  it('explains an empty registry', () => {
    expect(renderModels([], noModelActions, { foldedHistory: new Set() }).textContent).toContain('No models yet');
  });

  it('compares the versions ticked, oldest first, once two are ticked', () => {
    const actions: IModelsActions = { promote: jest.fn(), rollback: jest.fn(), openRun: jest.fn(), compareVersions: jest.fn(), loadSchema: jest.fn(), annotate: jest.fn() };
    const state = { foldedHistory: new Set<string>() };
    const node = render(renderModels(entries, actions, state));
    const button = () => node.querySelector('[data-testid="mlops-compare-versions"]') as HTMLButtonElement;
    const tick = (version: number) => {
      const box = node.querySelector(`[data-version="${version}"] [data-testid="mlops-version-check"]`) as HTMLInputElement;
      box.checked = !box.checked;
      box.dispatchEvent(new Event('change'));
    };
    expect(button().disabled).toBe(true);
    tick(2);
    expect(button().disabled).toBe(true);
    tick(1);
    expect(button().disabled).toBe(false);
    expect(button().textContent).toBe('Compare v1 · v2');
    button().click();
    expect(actions.compareVersions).toHaveBeenCalledWith('churn', ['1'.repeat(32), '2'.repeat(32)]);
    // ticks survive a re-render (a refresh of the tab)
    const again = render(renderModels(entries, actions, state));
    expect((again.querySelector('[data-testid="mlops-compare-versions"]') as HTMLButtonElement).disabled).toBe(false);
    tick(2);
    expect(button().disabled).toBe(true);
  });

  it('cannot tick a version that has no run to compare', () => {
    const made = detail('churn');
    made.versions[0] = { ...made.versions[0], run_id: null };
    const node = render(renderModels([{ summary: summary('churn'), detail: made }], noModelActions, { foldedHistory: new Set() }));
    const box = node.querySelector('[data-version="1"] [data-testid="mlops-version-check"]') as HTMLInputElement;
    expect(box.disabled).toBe(true);
    expect(box.title).toContain('no run recorded');
  });

  it('shows a version\'s input schema as text, folded', () => {
    const made = detail('churn');
    made.versions[1] = { ...made.versions[1], signature: [{ name: EVIL, dtype: 'float64' }, { name: 'plan', dtype: 'category' }] };
    const node = render(renderModels([{ summary: summary('churn'), detail: made }], noModelActions, { foldedHistory: new Set() }));
    const schema = node.querySelector('[data-version="2"] [data-testid="mlops-version-schema"]') as HTMLDetailsElement;
    expect(schema.open).toBe(false);
    expect(schema.querySelector('summary')?.textContent).toBe('Input schema (2 columns)');
    const rows = Array.from(schema.querySelectorAll('[data-testid="mlops-schema-column"]')).map(r =>
      Array.from(r.querySelectorAll('td')).map(td => td.textContent)
    );
    expect(rows).toEqual([[EVIL, 'float64'], ['plan', 'category']]);
    expect(node.querySelector('[data-version="1"] [data-testid="mlops-version-schema"]')).toBeNull();
    expect(document.querySelector('img')).toBeNull();
  });
});

describe('version description and tags', () => {
  const flush = () => new Promise(resolve => setTimeout(resolve, 0));
  const tagged = () => {
    const made = detail('churn');
    made.versions[1] = { ...made.versions[1], description: `retrained ${EVIL}`, tags: { reviewed: 'yes', [EVIL]: EVIL } };
    return [{ summary: summary('churn'), detail: made }];
  };
  const input = (node: HTMLElement, testid: string, value: string) => {
    const field = node.querySelector(`[data-testid="${testid}"]`) as HTMLInputElement;
    field.value = value;
    field.dispatchEvent(new Event('input'));
  };
  const click = (node: HTMLElement, testid: string) => (node.querySelector(`[data-testid="${testid}"]`) as HTMLElement).click();

  it('shows them as text under the version', () => {
    const node = render(renderModels(tagged(), noModelActions, { foldedHistory: new Set() }));
    const v2 = node.querySelector('[data-testid="mlops-version"][data-version="2"]') as HTMLElement;
    expect(v2.querySelector('[data-testid="mlops-version-description"]')?.textContent).toBe(`retrained ${EVIL}`);
    const tags = Array.from(v2.querySelectorAll('[data-testid="mlops-version-tag"]')).map(t => t.getAttribute('data-tag-key'));
    expect(tags).toEqual(['reviewed', EVIL]);
    expect(node.querySelector('[data-version="1"] [data-testid="mlops-version-description"]')).toBeNull();
    expect(document.querySelector('img')).toBeNull();
  });

  it('edits in place and sends only what changed', async () => {
    const annotate = jest.fn().mockResolvedValue(null);
    const state = { foldedHistory: new Set<string>() };
    const node = render(renderModels(tagged(), { ...noModelActions, annotate }, state));
    const v2 = () => node.querySelector('[data-testid="mlops-version"][data-version="2"]') as HTMLElement;
    click(v2(), 'mlops-annotate-edit');
    expect((v2().querySelector('[data-testid="mlops-annotate-description"]') as HTMLTextAreaElement).value).toBe(`retrained ${EVIL}`);
    input(v2(), 'mlops-annotate-description', 'March retrain');
    click(v2().querySelector('[data-tag-key="reviewed"]') as HTMLElement, 'mlops-annotate-untag');
    input(v2(), 'mlops-annotate-key', 'ticket');
    input(v2(), 'mlops-annotate-value', 'ML-1');
    click(v2(), 'mlops-annotate-add');
    expect(Array.from(v2().querySelectorAll('[data-testid="mlops-annotate-tag"]')).map(t => t.getAttribute('data-tag-key'))).toEqual([EVIL, 'ticket']);
    click(v2(), 'mlops-annotate-save');
    await flush();
    expect(annotate).toHaveBeenCalledWith('churn', 2, { description: 'March retrain', tags: { ticket: 'ML-1' }, untag: ['reviewed'] });
    expect(v2().querySelector('[data-testid="mlops-annotate-editor"]')).toBeNull();
  });

  it('keeps the draft and shows the server\'s refusal', async () => {
    const annotate = jest.fn().mockResolvedValue('tag key \'a=b\' may not contain =');
    const state = { foldedHistory: new Set<string>() };
    const entries = tagged();
    const node = render(renderModels(entries, { ...noModelActions, annotate }, state));
    const v2 = () => document.querySelector('[data-testid="mlops-version"][data-version="2"]') as HTMLElement;
    click(v2(), 'mlops-annotate-edit');
    input(v2(), 'mlops-annotate-key', 'a=b');
    click(v2(), 'mlops-annotate-save');
    await flush();
    expect(v2().querySelector('[data-testid="mlops-annotate-error"]')?.textContent).toContain('may not contain =');
    // a refresh of the tab keeps the editor and its draft
    render(renderModels(entries, { ...noModelActions, annotate }, state));
    expect(v2().querySelector('[data-tag-key="a=b"]')).not.toBeNull();
    click(v2(), 'mlops-annotate-cancel');
    expect(v2().querySelector('[data-testid="mlops-annotate-editor"]')).toBeNull();
    expect(node).toBeDefined();
  });

  it('sends nothing when nothing changed', async () => {
    const annotate = jest.fn();
    const node = render(renderModels(tagged(), { ...noModelActions, annotate }, { foldedHistory: new Set() }));
    click(node.querySelector('[data-version="2"]') as HTMLElement, 'mlops-annotate-edit');
    click(node.querySelector('[data-version="2"]') as HTMLElement, 'mlops-annotate-save');
    await flush();
    expect(annotate).not.toHaveBeenCalled();
  });

  it('loads the input columns when the schema is unfolded', async () => {
    const made = detail('churn');
    made.versions[1] = { ...made.versions[1], schema_columns: 2 };
    const loadSchema = jest.fn().mockResolvedValue([{ name: EVIL, dtype: 'float64' }, { name: 'plan', dtype: 'category' }]);
    const state = { foldedHistory: new Set<string>() };
    const node = render(renderModels([{ summary: summary('churn'), detail: made }], { ...noModelActions, loadSchema }, state));
    const schema = node.querySelector('[data-version="2"] [data-testid="mlops-version-schema"]') as HTMLDetailsElement;
    expect(schema.querySelector('summary')?.textContent).toBe('Input schema (2 columns)');
    expect(loadSchema).not.toHaveBeenCalled();
    schema.open = true;
    schema.dispatchEvent(new Event('toggle'));
    await flush();
    expect(loadSchema).toHaveBeenCalledWith('churn', 2);
    expect(Array.from(schema.querySelectorAll('[data-testid="mlops-schema-column"]')).map(r => r.getAttribute('data-column'))).toEqual([EVIL, 'plan']);
    // loaded once: a re-render shows them without asking again
    const again = render(renderModels([{ summary: summary('churn'), detail: made }], { ...noModelActions, loadSchema }, state));
    expect(again.querySelectorAll('[data-version="2"] [data-testid="mlops-schema-column"]')).toHaveLength(2);
    expect(loadSchema).toHaveBeenCalledTimes(1);
    expect(document.querySelector('img')).toBeNull();
  });

  it('says why the input columns did not load', async () => {
    const made = detail('churn');
    made.versions[1] = { ...made.versions[1], schema_columns: 1 };
    const loadSchema = jest.fn().mockRejectedValue(new Error('model \'churn\' has no version 2'));
    const node = render(renderModels([{ summary: summary('churn'), detail: made }], { ...noModelActions, loadSchema }, { foldedHistory: new Set() }));
    const schema = node.querySelector('[data-version="2"] [data-testid="mlops-version-schema"]') as HTMLDetailsElement;
    schema.open = true;
    schema.dispatchEvent(new Event('toggle'));
    await flush();
    expect(schema.querySelector('.mlops-error')?.textContent).toContain('has no version 2');
  });
});

function run(id: string, fields: Partial<IRun> = {}): IRun {
  return {
    run_id: id,
    kind: 'notebook',
    name: id,
    status: 'finished',
    started_at: '2026-11-24T17:35:14Z',
    ended_at: '2026-11-24T17:35:18Z',
    actor: 'ana',
    parent_run_id: null,
    params: { x: 3 },
    metrics: {},
    values: { doubled: 6 },
    tags: {},
    data: { sha256: 'a'.repeat(64), rows: 200, columns: 3 },
    environment: { python: '3.11.7', packages: { numpy: '2.4.6' } },
    git_commit: '2fd160aa2d7d7eb9e982f280bb53c227b5d72d50',
    git_dirty: false,
    notebook_path: '/nb/tiny.ipynb',
    input_sha256: null,
    output_sha256: 'e'.repeat(64),
    source_sha256: null,
    error: null,
    model_version: null,
    ...fields
  };
}

/** The [term, value] pairs of one titled section of a run's provenance. */
function pairsOf(node: HTMLElement, title: string): string[][] {
  const section = Array.from(node.querySelectorAll('details')).find(
    d => d.querySelector('summary')?.textContent === title
  );
  expect(section).toBeDefined();
  const terms = Array.from(section!.querySelectorAll('dt'));
  return terms.map(dt => [dt.textContent ?? '', dt.nextElementSibling?.textContent ?? '']);
}

function runsState(fields: Partial<IRunsState> = {}): IRunsState {
  return {
    sort: { column: 'started', direction: 'desc' },
    kind: '',
    selected: null,
    query: '',
    columns: [],
    offset: 0,
    compare: [],
    ...fields
  };
}

function runActions(): IRunsActions {
  return {
    sortBy: jest.fn(),
    filterKind: jest.fn(),
    select: jest.fn(),
    openNotebook: jest.fn(),
    search: jest.fn(),
    setColumns: jest.fn(),
    page: jest.fn(),
    tickCompare: jest.fn(),
    compare: jest.fn(),
    notebookUrl: (run: IRun) => `/api/runs/${run.run_id}/notebook?format=ipynb`,
    artifactUrl: (run: IRun, kind: string) => `/api/runs/${run.run_id}/artifacts/${kind}`
  };
}

function page(runs: IRun[], fields: Partial<IRunsPage> = {}): IRunsPage {
  return { runs, total: runs.length, offset: 0, limit: 50, ...fields };
}

describe('runs tab', () => {
  it('lists runs in the order the server sorted them, with sortable headers', () => {
    const actions = runActions();
    const node = render(
      renderRunList(
        page([run('bbbb2222', { started_at: '2026-11-02T00:00:00Z' }), run('aaaa1111', { started_at: '2026-11-01T00:00:00Z' })]),
        runsState(),
        actions
      )
    );
    const rows = node.querySelectorAll('[data-testid="mlops-run"]');
    expect(Array.from(rows).map(r => r.getAttribute('data-run-id'))).toEqual(['bbbb2222', 'aaaa1111']);
    const header = node.querySelector('[data-testid="mlops-sort-name"]') as HTMLElement;
    header.click();
    expect(actions.sortBy).toHaveBeenCalledWith('name');
    expect(node.querySelector('[data-testid="mlops-sort-started"]')?.getAttribute('aria-sort')).toBe('descending');
    (rows[1] as HTMLElement).click();
    expect(actions.select).toHaveBeenCalledWith('aaaa1111');
  });

  it('applies a filter on Enter or the button, clears it, and shows why one was refused', () => {
    const actions = runActions();
    const node = render(
      renderRunList(
        page([run('aaaa1111')], { error: "cannot read the filter at the end: the filter stops short" }),
        runsState({ query: 'auc >' }),
        actions
      )
    );
    const input = node.querySelector('[data-testid="mlops-run-filter"]') as HTMLInputElement;
    expect(input.value).toBe('auc >');
    expect(node.querySelector('[data-testid="mlops-run-filter-error"]')?.textContent).toContain('stops short');
    input.value = 'auc > 0.8 and C = 1';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    expect(actions.search).toHaveBeenLastCalledWith('auc > 0.8 and C = 1');
    (node.querySelector('[data-testid="mlops-run-filter-apply"]') as HTMLElement).click();
    expect(actions.search).toHaveBeenLastCalledWith('auc > 0.8 and C = 1');
    (node.querySelector('[data-testid="mlops-run-filter-clear"]') as HTMLElement).click();
    expect(actions.search).toHaveBeenLastCalledWith('');
  });

  it('says when nothing matches a filter', () => {
    const node = render(renderRunList(page([]), runsState({ query: 'auc > 2' }), runActions()));
    expect(node.textContent).toContain('No run matches the filter.');
  });

  it('pages through what the server counted', () => {
    const actions = runActions();
    const runs = [run('aaaa1111'), run('bbbb2222')];
    let node = render(renderRunList(page(runs, { total: 5, limit: 2, offset: 2 }), runsState({ offset: 2 }), actions));
    expect(node.querySelector('[data-testid="mlops-run-count"]')?.textContent).toBe('3–4 of 5 runs');
    (node.querySelector('[data-testid="mlops-page-next"]') as HTMLElement).click();
    expect(actions.page).toHaveBeenLastCalledWith(4);
    (node.querySelector('[data-testid="mlops-page-prev"]') as HTMLElement).click();
    expect(actions.page).toHaveBeenLastCalledWith(0);
    node = render(renderRunList(page(runs, { total: 5, limit: 2, offset: 4 }), runsState(), actions));
    expect((node.querySelector('[data-testid="mlops-page-next"]') as HTMLButtonElement).disabled).toBe(true);
    node = render(renderRunList(page(runs), runsState(), actions));
    expect(node.querySelector('[data-testid="mlops-run-count"]')?.textContent).toBe('2 runs');
    expect((node.querySelector('[data-testid="mlops-page-prev"]') as HTMLButtonElement).disabled).toBe(true);
  });

  it('offers the metrics and parameters of the page as sortable columns', () => {
    const actions = runActions();
    const runs = [
      run('aaaa1111', { metrics: { auc: 0.91234, accuracy: 0.8 }, params: { C: 1, [EVIL]: EVIL } }),
      run('bbbb2222', { metrics: { auc: 0.7 }, params: { solver: 'saga' } })
    ];
    let node = render(renderRunList(page(runs), runsState(), actions));
    const choices = Array.from(node.querySelectorAll('[data-testid="mlops-column-choice"]')).map(c =>
      c.getAttribute('data-column')
    );
    expect(choices).toEqual(['metrics.accuracy', 'metrics.auc', `params.${EVIL}`, 'params.C', 'params.solver']);
    const auc = node.querySelector('[data-column="metrics.auc"]') as HTMLInputElement;
    auc.checked = true;
    auc.dispatchEvent(new Event('change'));
    expect(actions.setColumns).toHaveBeenLastCalledWith(['metrics.auc']);

    const state = runsState({ columns: ['metrics.auc', 'params.C'], sort: { column: 'metrics.auc', direction: 'desc' } });
    node = render(renderRunList(page(runs), state, actions));
    const header = node.querySelector('[data-testid="mlops-sort-metrics.auc"]') as HTMLElement;
    expect(header.textContent).toBe('auc ▼');
    expect(header.getAttribute('aria-sort')).toBe('descending');
    expect(node.querySelector('[data-testid="mlops-sort-params.C"]')?.textContent).toBe('C (param)');
    const cells = Array.from(node.querySelectorAll('td[data-column="metrics.auc"]')).map(c => c.textContent);
    expect(cells).toEqual(['0.9123', '0.7']);
    expect(Array.from(node.querySelectorAll('td[data-column="params.C"]')).map(c => c.textContent)).toEqual(['1', '']);
    (node.querySelector('[data-testid="mlops-sort-params.C"]') as HTMLElement).click();
    expect(actions.sortBy).toHaveBeenLastCalledWith('params.C');
    expect(document.querySelector('img')).toBeNull();
  });

  it('ticks runs for comparing without selecting them, and compares two or more', () => {
    const actions = runActions();
    const runs = [run('aaaa1111'), run('bbbb2222'), run('cccc3333')];
    let node = render(renderRunList(page(runs), runsState({ compare: ['aaaa1111'] }), actions));
    const compare = node.querySelector('[data-testid="mlops-compare"]') as HTMLButtonElement;
    expect(compare.disabled).toBe(true);
    expect(compare.textContent).toBe('Compare (1)');
    const boxes = Array.from(node.querySelectorAll('[data-testid="mlops-run-check"]')) as HTMLInputElement[];
    expect(boxes.map(b => b.checked)).toEqual([true, false, false]);
    boxes[1].click();
    expect(actions.tickCompare).toHaveBeenLastCalledWith('bbbb2222', true);
    expect(actions.select).not.toHaveBeenCalled();
    node = render(renderRunList(page(runs), runsState({ compare: ['aaaa1111', 'bbbb2222'] }), actions));
    (node.querySelector('[data-testid="mlops-compare"]') as HTMLButtonElement).click();
    expect(actions.compare).toHaveBeenCalled();
  });

  it('stops ticking at the most runs a comparison takes', () => {
    const runs = Array.from({ length: MAX_COMPARED + 1 }, (_, i) => run(`run${String(i).padStart(4, '0')}`));
    const ticked = runs.slice(0, MAX_COMPARED).map(r => r.run_id);
    const node = render(renderRunList(page(runs), runsState({ compare: ticked }), runActions()));
    const boxes = Array.from(node.querySelectorAll('[data-testid="mlops-run-check"]')) as HTMLInputElement[];
    expect(boxes.filter(b => b.disabled)).toHaveLength(1);
    expect(boxes[MAX_COMPARED].disabled).toBe(true);
  });

  it('shows provenance and opens the notebook', () => {
    const actions = runActions();
    const node = render(
      renderRunDetail(run('14e6a007b3de46cb', { children: ['8fe591bc0232401e'], has_notebook: true }), actions)
    );
    expect(node.getAttribute('data-testid')).toBe('mlops-run-detail');
    const text = node.textContent ?? '';
    expect(pairsOf(node, 'Parameters')).toEqual([['x', '3']]);
    expect(pairsOf(node, 'Recorded values')).toEqual([['doubled', '6']]);
    expect(text).toContain('2fd160aa2d');
    expect(text).toContain('3.11.7');
    expect(text).toContain('aaaaaaaaaaaa…');
    (node.querySelector('[data-testid="mlops-open-notebook"]') as HTMLElement).click();
    expect(actions.openNotebook).toHaveBeenCalled();
    const download = node.querySelector('[data-testid="mlops-download-notebook"]') as HTMLAnchorElement;
    expect(download.getAttribute('href')).toBe('/api/runs/14e6a007b3de46cb/notebook?format=ipynb');
    expect(download.getAttribute('download')).toBe('14e6a007b3de46cb-14e6a007.ipynb');
  });

  it('offers a notebook only when the server has one', () => {
    // the server decides: a notebook run whose artifact it cannot show gets no button
    const node = render(renderRunDetail(run('c0ffee', { kind: 'notebook', has_notebook: false }), runActions()));
    expect(node.querySelector('[data-testid="mlops-open-notebook"]')).toBeNull();
  });

  it('walks a pipeline down to the runs its steps tracked', () => {
    const leaf = { runs: [], truncated: false };
    const started = {
      truncated: true,
      runs: [
        { run_id: 'b'.repeat(32), kind: 'notebook', name: 'prepare.ipynb', status: 'finished', model_version: null, started_at: '2026-11-01T06:00:01Z', started: leaf },
        {
          run_id: 'c'.repeat(32),
          kind: 'notebook',
          name: EVIL,
          status: 'failed',
          model_version: null,
          started_at: '2026-11-01T06:00:02Z',
          started: { truncated: false, runs: [{ run_id: 'd'.repeat(32), kind: 'track', name: 'churn', status: 'finished', model_version: 3, started_at: '2026-11-01T06:00:03Z', started: leaf }] }
        }
      ]
    };
    const actions = runActions();
    const node = render(renderRunDetail(run('a'.repeat(32), { kind: 'pipeline', started }), actions));
    const tree = node.querySelector('[data-testid="mlops-run-tree"]') as HTMLDetailsElement;
    expect(tree.querySelector('summary')?.textContent).toBe('Steps and the runs they tracked');
    const nodes = Array.from(tree.querySelectorAll('[data-testid="mlops-run-tree-node"]'));
    expect(nodes.map(n => n.getAttribute('data-run-id'))).toEqual(['b'.repeat(32), 'c'.repeat(32), 'd'.repeat(32)]);
    const tracked = nodes[2];
    expect(tracked.parentElement?.closest('[data-testid="mlops-run-tree-node"]')?.getAttribute('data-run-id')).toBe('c'.repeat(32));
    expect(tracked.textContent).toContain('track · v3');
    (tracked.querySelector('button') as HTMLButtonElement).click();
    expect(actions.select).toHaveBeenCalledWith('d'.repeat(32));
    expect(tree.textContent).toContain('more runs were started: the latest are listed');
    expect(document.querySelector('img')).toBeNull();
    const alone = render(renderRunDetail(run('e'.repeat(32), { started: { runs: [], truncated: false } }), actions));
    expect(alone.querySelector('[data-testid="mlops-run-tree"]')).toBeNull();
  });

  it('links each file the server lists, under the name it gives', () => {
    const artifacts = [
      { kind: 'model' as const, sha256: 'a'.repeat(64), filename: `${EVIL}-v2.skops` },
      { kind: 'source' as const, sha256: 'b'.repeat(64), filename: 'churn-v2-c0ffee00-code.json' }
    ];
    const node = render(renderRunDetail(run('c0ffee00', { artifacts }), runActions()));
    const links = Array.from(node.querySelectorAll('[data-testid="mlops-download-artifact"]')) as HTMLAnchorElement[];
    expect(links.map(a => [a.getAttribute('data-kind'), a.textContent, a.getAttribute('href'), a.getAttribute('download')])).toEqual([
      ['model', 'Model', '/api/runs/c0ffee00/artifacts/model', `${EVIL}-v2.skops`],
      ['source', 'Code', '/api/runs/c0ffee00/artifacts/source', 'churn-v2-c0ffee00-code.json']
    ]);
    expect(links[0].title).toContain('aaaaaaaaaaaa');
    expect(document.querySelector('img')).toBeNull();
    const none = render(renderRunDetail(run('c0ffee01'), runActions()));
    expect(none.querySelector('[data-testid="mlops-artifacts"]')).toBeNull();
  });
});

function drift(): IDriftHistory {
  return {
    model: 'churn',
    history: [
      { id: 1, model: 'churn', version: 1, at: '2026-11-23T17:35:13Z', rows: 3000, drift: 0, drift_share: 0.1 },
      { id: 2, model: 'churn', version: 1, at: '2026-11-24T17:35:13Z', rows: 3000, drift: 1, drift_share: 0.77 }
    ],
    latest: {
      model: 'churn',
      version: 1,
      at: '2026-11-24T17:35:13Z',
      rows: 3000,
      drift: true,
      drift_share: 0.77,
      share_threshold: 0.3,
      drifted_columns: ['contract'],
      columns: [
        {
          column: 'contract',
          drift: true,
          method: 'jensenshannon',
          statistic: 0.177,
          threshold: 0.1,
          severity: 1.77,
          chart: { type: 'bar', x: ['month-to-month', 'one-year', 'two-year'], reference: [0.5, 0.28, 0.22], current: [0.71, 0.16, 0.13] }
        },
        {
          column: 'senior',
          drift: false,
          method: 'jensenshannon',
          statistic: 0.004,
          threshold: 0.1,
          severity: 0.04,
          chart: { type: 'bar', x: ['False', 'True'], reference: [0.83, 0.17], current: [0.84, 0.16] }
        }
      ],
      prediction: {
        column: 'prediction',
        drift: true,
        method: 'ks',
        statistic: 0.24,
        threshold: 0.1,
        severity: 2.4,
        chart: { type: 'hist', x: [0.05, 0.15, 0.25], reference: [0.2, 0.5, 0.3], current: [0.5, 0.3, 0.2] }
      }
    }
  };
}

describe('drift tab', () => {
  it('colours each model by the severity of its latest check and charts columns', () => {
    const node = render(renderDrift([{ model: 'churn', drift: drift() }, { model: 'tiny', drift: { model: 'tiny', history: [], latest: null } }], new Set()));
    const churn = node.querySelector('[data-testid="mlops-drift-model"][data-model-name="churn"]') as HTMLElement;
    expect(churn.getAttribute('data-severity')).toBe('drift');
    const tiny = node.querySelector('[data-testid="mlops-drift-model"][data-model-name="tiny"]') as HTMLElement;
    expect(tiny.getAttribute('data-severity')).toBe('none');
    const charts = churn.querySelectorAll('[data-testid="mlops-drift-chart"]');
    // the two drifted ones up front (prediction first: it is worse), the calm one folded away
    expect(Array.from(charts).map(c => c.getAttribute('data-column'))).toEqual(['prediction', 'contract', 'senior']);
    expect(charts[0].tagName.toLowerCase()).toBe('svg');
    expect(charts[0].querySelectorAll('rect').length).toBeGreaterThanOrEqual(6);
    const folded = charts[2].closest('details') as HTMLDetailsElement;
    expect(folded.open).toBe(false);
  });

  it('links the full report and opens a column large on click or Enter', () => {
    const history = drift();
    history.latest!.check_id = 42;
    const actions = {
      reportUrl: (model: string, id: number) => `/api/drift/${model}/checks/${id}/report`,
      openColumn: jest.fn(),
      openCheck: jest.fn(),
      pageChecks: jest.fn()
    };
    const node = render(renderDrift([{ model: 'churn', drift: history }], new Set(), actions));
    const link = node.querySelector('[data-testid="mlops-drift-report-link"]') as HTMLAnchorElement;
    expect(link.getAttribute('href')).toBe('/api/drift/churn/checks/42/report');
    expect(link.getAttribute('target')).toBe('_blank');
    expect(link.getAttribute('rel')).toBe('noopener noreferrer');
    const figure = node.querySelector('figure[data-column="contract"]') as HTMLElement;
    figure.click();
    expect(actions.openColumn).toHaveBeenCalledWith(
      expect.objectContaining({ model: 'churn' }),
      expect.objectContaining({ column: 'contract' }),
      expect.objectContaining({ check_id: 42 })
    );
    const senior = node.querySelector('figure[data-column="senior"]') as HTMLElement;
    senior.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    expect(actions.openColumn).toHaveBeenLastCalledWith(expect.anything(), expect.objectContaining({ column: 'senior' }), expect.anything());
    expect(senior.getAttribute('role')).toBe('button');
    // without actions (no panel around it) nothing is clickable and no link is made
    const bare = render(renderDrift([{ model: 'churn', drift: history }], new Set()));
    expect(bare.querySelector('[data-testid="mlops-drift-report-link"]')).toBeNull();
    expect(bare.querySelector('figure[role="button"]')).toBeNull();
  });

  it('opens an older check from the timeline in place of the latest', () => {
    const history = drift();
    history.latest!.check_id = 2;
    history.alias_moves = [];
    const actions = { reportUrl: () => '#', openColumn: jest.fn(), openCheck: jest.fn(), pageChecks: jest.fn() };
    const node = render(renderDrift([{ model: 'churn', drift: history }], new Set(), actions));
    const points = node.querySelectorAll('[data-testid="mlops-timeline-check"]');
    expect([...points].map(p => p.getAttribute('aria-pressed'))).toEqual(['false', 'true']);
    (points[0] as HTMLButtonElement).click();
    expect(actions.openCheck).toHaveBeenCalledWith(expect.objectContaining({ model: 'churn' }), 1);
    expect(node.querySelector('[data-testid="mlops-drift-chosen"]')).toBeNull();
    // the panel brings the check's detail: it replaces the latest, with the way back
    const older = {
      ...history.latest!,
      check_id: 1,
      version: 1,
      drift: false,
      drift_share: 0.1,
      level: 'ok' as const,
      columns: history.latest!.columns.map(c => ({ ...c, drift: false, level: 'ok' as const })),
      alerts: [],
      latest_id: 2
    };
    const shown = render(renderDrift([{ model: 'churn', drift: history, chosen: older }], new Set(), actions));
    const chosen = shown.querySelector('[data-testid="mlops-drift-chosen"]') as HTMLElement;
    expect(chosen.dataset.checkId).toBe('1');
    expect(chosen.textContent).toContain('Showing check #1');
    expect(shown.querySelector('[data-testid="mlops-drift-report-link"]')).not.toBeNull();
    const pressed = shown.querySelector('[data-testid="mlops-timeline-check"][aria-pressed="true"]') as HTMLElement;
    expect(pressed.dataset.checkId).toBe('1');
    expect(shown.querySelector('[data-testid="mlops-drift-alert"]')).toBeNull();
    (shown.querySelector('[data-testid="mlops-drift-latest"]') as HTMLButtonElement).click();
    expect(actions.openCheck).toHaveBeenLastCalledWith(expect.anything(), 2);
  });

  it('shows one column large: the chart, every check, both sides', () => {
    const column = {
      column: EVIL,
      drift: true,
      method: 'ks',
      statistic: 0.31,
      threshold: 0.1,
      role: 'feature',
      kind: 'numeric',
      checks: {
        ks: { score: 0.31, threshold: 0.1, drifted: true },
        psi: { score: 0.05, threshold: 0.2, drifted: false }
      },
      reference: { mean: 64.8, std: 30.1 },
      current: { mean: 80.2, std: 29.7, missing: 3 },
      chart: { type: 'hist', x: [10, 30, 50], reference: [0.5, 0.5, 0], current: [0.1, 0.4, 0.5], range: [0, 40] as [number, number], bounds: [0, 60] as [number, number] }
    };
    const node = render(renderDriftColumnDetail('churn', column, { version: 3, at: '2026-11-24T17:35:13Z' }));
    expect(node.querySelector('h3')?.textContent).toBe(`churn · ${EVIL}`);
    expect(node.textContent).toContain('checked v3');
    const svg = node.querySelector('[data-testid="mlops-drift-chart"]') as SVGSVGElement;
    expect(svg.getAttribute('viewBox')).toBe(`0 0 ${LARGE.width} ${LARGE.height}`);
    expect(svg.querySelectorAll('[data-testid="mlops-chart-range"]')).toHaveLength(1);
    const checks = Array.from(node.querySelectorAll('[data-testid="mlops-drift-detail-checks"] tbody tr')).map(r =>
      Array.from(r.children).map(c => c.textContent)
    );
    expect(checks).toEqual([
      ['ks (decides)', '0.31', '0.1', 'drifted'],
      ['psi', '0.05', '0.2', '']
    ]);
    const sides = Array.from(node.querySelectorAll('[data-testid="mlops-drift-detail-sides"] tbody tr')).map(r =>
      Array.from(r.children).map(c => c.textContent)
    );
    expect(sides).toEqual([
      ['mean', '64.8', '80.2'],
      ['std', '30.1', '29.7'],
      ['missing', '–', '3']
    ]);
    expect(document.querySelector('img')).toBeNull();
  });
});

describe('drift notes', () => {
  it('names the checked version, the unchecked holder, type changes, numbers and alerts', () => {
    const history = drift();
    history.latest = {
      ...history.latest!,
      level: 'drift',
      schema: { dtype_changes: [{ column: 'contract', reference: 'category', current: 'str' }] },
      performance: {
        degraded: true,
        metrics: { accuracy: { reference: 0.7576, current: 0.67, change: -0.0876, degraded: true } }
      }
    };
    history.holder = { alias: 'production', version: 3, last_checked_at: null, checks: 0 };
    history.alerts = [
      { id: 7, at: '2026-11-24T17:35:14Z', kind: 'drift', message: EVIL, delivered: 1, channels: 2 }
    ];
    const node = render(renderDrift([{ model: 'churn', drift: history }], new Set()));
    const text = node.textContent ?? '';
    expect(node.querySelector('[data-testid="mlops-drift-checked"]')?.textContent).toContain('Checked v1');
    expect(node.querySelector('[data-testid="mlops-drift-holder"]')?.textContent).toContain(
      'production is now v3, never checked'
    );
    expect(text).toContain('type changed: contract: category → str');
    expect(text).not.toContain('{"column"');
    expect(text).toContain('accuracy 0.7576 → 0.67 (-0.0876)');
    const alert = node.querySelector('[data-testid="mlops-drift-alert"]') as HTMLElement;
    expect(alert.textContent).toContain('alert #7');
    expect(alert.textContent).toContain('delivered to 1 of 2 channels');
    expect(alert.getAttribute('title')).toBe(EVIL);
    expect(document.querySelector('img')).toBeNull();
  });

  it('says nothing of the holder when the checked version still holds the alias', () => {
    const history = drift();
    history.holder = { alias: 'production', version: 1, last_checked_at: '2026-11-24T17:35:13Z', checks: 2 };
    const node = render(renderDrift([{ model: 'churn', drift: history }], new Set()));
    expect(node.querySelector('[data-testid="mlops-drift-holder"]')).toBeNull();
  });

  it('colours each chart by its own column, not by the model around it', () => {
    const history = drift();
    history.latest!.columns[1].level = 'ok';
    const node = render(renderDrift([{ model: 'churn', drift: history }], new Set()));
    const calm = node.querySelector('[data-testid="mlops-drift-chart"][data-column="senior"]') as Element;
    expect(calm.getAttribute('class')).toContain('mlops-severity-ok');
    expect(calm.closest('.mlops-severity-drift.mlops-card')).not.toBeNull(); // the card is loud, the chart not
  });
});

describe('charts', () => {
  it('marks where the reference range ends when the bins go on past it', () => {
    const chart = {
      type: 'hist',
      x: [5, 15, 25, 35, 45],
      reference: [0.5, 0.5, 0, 0, 0],
      current: [0, 0.2, 0.3, 0.3, 0.19],
      range: [0, 20] as [number, number],
      bounds: [0, 50] as [number, number],
      outside: 0.8,
      clipped: 0.01
    };
    expect(rangeMarks(chart)).toEqual([{ side: 'high', value: 20, at: 0.4 }]);
    const svg = driftChart('x', chart, 'drift');
    const lines = Array.from(svg.querySelectorAll('[data-testid="mlops-chart-range"]'));
    expect(lines).toHaveLength(1);
    // 4 px padding either side of a 280-wide view: 40 % of the 272 between them
    expect(Number(lines[0].getAttribute('x1'))).toBeCloseTo(4 + 0.4 * 272, 1);
    expect(lines[0].querySelector('title')?.textContent).toBe('the reference range ends at 20');
    expect(svg.textContent).toContain('80% outside the reference range');
    expect(svg.textContent).toContain('1% too far out to draw');
    const below = { ...chart, range: [10, 50] as [number, number] };
    expect(rangeMarks(below)).toEqual([{ side: 'low', value: 10, at: 0.2 }]);
    // a chart that is the reference range, or a bar chart, has no marks
    expect(rangeMarks({ ...chart, bounds: [0, 20] })).toEqual([]);
    expect(rangeMarks({ ...chart, range: undefined })).toEqual([]);
    expect(rangeMarks({ ...chart, type: 'bar' })).toEqual([]);
    expect(rangeMarks({ ...chart, bounds: [3, 3] })).toEqual([]);
  });

  it('draws two bars per category with exact shares in the titles', () => {
    const svg = driftChart('contract', { type: 'bar', x: ['a', 'b'], reference: [0.25, 0.75], current: [0.5, 0.5] }, 'drift');
    expect(svg.namespaceURI).toBe('http://www.w3.org/2000/svg');
    expect(svg.querySelectorAll('rect.mlops-Chart-ref')).toHaveLength(2);
    expect(svg.querySelectorAll('rect.mlops-Chart-cur')).toHaveLength(2);
    const titles = Array.from(svg.querySelectorAll('g > title')).map(t => t.textContent);
    expect(titles).toEqual(['a: reference 25%, current 50%', 'b: reference 75%, current 50%']);
    // every bar stands on the axis, its height in proportion to its share
    const axis = Number(svg.querySelector('line.mlops-Chart-axis')?.getAttribute('y1'));
    const viewHeight = Number(svg.getAttribute('viewBox')?.split(' ')[3]);
    const bars = Array.from(svg.querySelectorAll('rect')).map(r => ({
      top: Number(r.getAttribute('y')),
      height: Number(r.getAttribute('height'))
    }));
    for (const bar of bars) {
      expect(bar.top + bar.height).toBeCloseTo(axis, 1);
    }
    const shares = [0.25, 0.5, 0.75, 0.5]; // a: reference, current; b: reference, current
    const perShare = bars.map((bar, i) => bar.height / shares[i]);
    for (const ratio of perShare) {
      expect(ratio).toBeCloseTo(perShare[0], 0);
    }
    // and the tallest one fills most of the chart without leaving it
    const tallest = bars[2];
    expect(tallest.top).toBeGreaterThanOrEqual(0);
    expect(tallest.height).toBeGreaterThan(viewHeight / 2);
  });

  it('caps very many categories and keeps hostile labels as text', () => {
    const n = MAX_CATEGORIES + 10;
    const x = Array.from({ length: n }, (_, i) => (i === 0 ? EVIL : `c${i}`));
    const share = Array.from({ length: n }, () => 1 / n);
    const svg = driftChart(EVIL, { type: 'bar', x, reference: share, current: share }, 'ok');
    expect(svg.querySelectorAll('rect.mlops-Chart-cur')).toHaveLength(MAX_CATEGORIES);
    expect(svg.querySelector('img')).toBeNull();
    expect(svg.textContent).toContain(EVIL);
  });

  it('says so when there is nothing to draw', () => {
    const svg = driftChart('empty', { type: 'hist', x: [], reference: [], current: [] }, 'none');
    expect(svg.textContent).toContain('no chart data');
  });
});

function scheduleActions(): ISchedulesActions {
  return {
    runNow: jest.fn(),
    setPaused: jest.fn(),
    edit: jest.fn(),
    remove: jest.fn(),
    cancel: jest.fn(),
    openRun: jest.fn(),
    openNotebook: jest.fn()
  };
}

function schedule(name: string, fields: Partial<ISchedule> = {}): ISchedule {
  return {
    name,
    kind: 'notebook',
    target: '/work/notebooks/tiny_tracked.ipynb',
    parameters: {},
    cron: '0 3 * * *',
    tz: 'Europe/Berlin',
    enabled: 1,
    next_run: '2026-11-25T02:00:00.000000+00:00',
    runs: 1,
    last_status: 'finished',
    ...fields
  };
}

describe('schedules tab', () => {
  it("lists a pipeline's steps and offers a new schedule", () => {
    const actions = { ...scheduleActions(), create: jest.fn() };
    const steps = [
      { name: 'prepare', notebook: 'notebooks/prepare.ipynb', depends_on: [], gate: null },
      { name: EVIL, notebook: 'notebooks/train.ipynb', depends_on: ['prepare'], gate: 'auc >= 0.8' }
    ];
    const node = render(
      renderSchedules(
        [schedule('retrain', { kind: 'pipeline', target: '/srv/retrain.yaml', steps }), schedule('nightly', { steps: null })],
        actions,
        new Set(),
        'UTC'
      )
    );
    const retrain = node.querySelector('[data-schedule-name="retrain"]') as HTMLElement;
    const shown = [...retrain.querySelectorAll('[data-testid="mlops-schedule-step"]')];
    expect(shown.map(s => s.getAttribute('data-step'))).toEqual(['prepare', EVIL]);
    expect(shown[1].textContent).toBe(`${EVIL} · train.ipynb · gate auc >= 0.8`);
    expect(shown[1].getAttribute('title')).toBe('notebooks/train.ipynb after prepare');
    expect(retrain.querySelector('img')).toBeNull();
    const nightly = node.querySelector('[data-schedule-name="nightly"]') as HTMLElement;
    expect(nightly.querySelector('[data-testid="mlops-schedule-steps"]')).toBeNull();
    (node.querySelector('[data-testid="mlops-new-schedule"]') as HTMLElement).click();
    expect(actions.create).toHaveBeenCalledTimes(1);
    const empty = render(renderSchedules([], actions, new Set(), 'UTC'));
    expect(empty.querySelector('[data-testid="mlops-new-schedule"]')).not.toBeNull();
  });

  it('shows the next run in the user zone and toggles pause/resume', () => {
    const actions = scheduleActions();
    const now = new Date('2026-11-24T18:00:00Z');
    const node = render(
      renderSchedules([schedule('nightly'), schedule('paused-one', { enabled: 0, next_run: null })], actions, new Set(), 'UTC', now)
    );
    const nightly = node.querySelector('[data-testid="mlops-schedule"][data-schedule-name="nightly"]') as HTMLElement;
    expect(nightly.textContent).toContain('Wed 2026-11-25 02:00 UTC');
    expect(nightly.textContent).toContain('in 8 h');
    expect(nightly.querySelector('[data-testid="mlops-resume"]')).toBeNull();
    (nightly.querySelector('[data-testid="mlops-pause"]') as HTMLElement).click();
    expect(actions.setPaused).toHaveBeenCalledWith('nightly', true);
    (nightly.querySelector('[data-testid="mlops-run-now"]') as HTMLElement).click();
    expect(actions.runNow).toHaveBeenCalledWith(expect.objectContaining({ name: 'nightly' }));

    const paused = node.querySelector('[data-schedule-name="paused-one"]') as HTMLElement;
    expect(paused.querySelector('[data-testid="mlops-pause"]')).toBeNull();
    const resume = paused.querySelector('[data-testid="mlops-resume"]') as HTMLElement;
    expect(resume.textContent).toBe('Resume');
    resume.click();
    expect(actions.setPaused).toHaveBeenCalledWith('paused-one', false);
  });

  it('shows a running slot with its progress, its run and a cancel button', () => {
    const actions = scheduleActions();
    const running = {
      id: 4,
      schedule: 'nightly',
      slot: '2026-11-24T18:00:00Z',
      status: 'running',
      run_id: 'abcdef0123456789',
      cancellable: true,
      progress: { run_id: 'abcdef0123456789', step: null, steps_done: null, steps_total: null, cells_done: 1, cells_total: 6 }
    };
    const node = render(renderSchedules([schedule('nightly', { running: [running] })], actions, new Set(), 'UTC'));
    expect(node.querySelector('[data-testid="mlops-slot-progress"]')?.textContent).toBe('cell 2 of 6');
    expect((node.querySelector('[data-testid="mlops-run-now"]') as HTMLButtonElement).disabled).toBe(true);
    (node.querySelector('[data-testid="mlops-cancel"]') as HTMLElement).click();
    expect(actions.cancel).toHaveBeenCalledWith('nightly', 4);
    (node.querySelector('[data-testid="mlops-slot-run"]') as HTMLElement).click();
    expect(actions.openRun).toHaveBeenCalledWith('abcdef0123456789');
  });

  it('edits and removes a schedule; no remove while it runs', () => {
    const actions = scheduleActions();
    const running = { id: 5, schedule: 'busy', slot: '2026-11-24T18:00:00Z', status: 'running', run_id: null, cancellable: false };
    const node = render(
      renderSchedules(
        [schedule('nightly'), schedule('busy', { running: [running] })],
        actions,
        new Set(),
        'UTC'
      )
    );
    const [idle, busy] = Array.from(node.querySelectorAll('[data-testid="mlops-schedule"]')) as HTMLElement[];
    (idle.querySelector('[data-testid="mlops-edit-schedule"]') as HTMLElement).click();
    expect(actions.edit).toHaveBeenCalledWith(expect.objectContaining({ name: 'nightly' }));
    (idle.querySelector('[data-testid="mlops-remove-schedule"]') as HTMLElement).click();
    expect(actions.remove).toHaveBeenCalledWith(expect.objectContaining({ name: 'nightly' }));
    const remove = busy.querySelector('[data-testid="mlops-remove-schedule"]') as HTMLButtonElement;
    expect(remove.disabled).toBe(true);
    expect(remove.title).toContain('running now');
    expect((busy.querySelector('[data-testid="mlops-edit-schedule"]') as HTMLButtonElement).disabled).toBe(false);
  });

  it('says where a schedule is created when there is none', () => {
    const node = render(renderSchedules([], scheduleActions(), new Set(), 'UTC'));
    expect(node.textContent).toContain("Schedule button of a notebook's toolbar");
  });

  it('offers no cancel for a slot another process runs', () => {
    const running = { id: 5, schedule: 'nightly', slot: '2026-11-24T18:00:00Z', status: 'running', run_id: null, cancellable: false };
    const node = render(renderSchedules([schedule('nightly', { running: [running] })], scheduleActions(), new Set(), 'UTC'));
    expect(node.querySelector('[data-testid="mlops-cancel"]')).toBeNull();
    expect(node.textContent).toContain('run by the scheduler');
  });

  it('reads the cron expression in words and lists the recent slots with their runs', () => {
    const actions = scheduleActions();
    const recent = [
      { id: 9, schedule: 'nightly', slot: 'now:2026-11-24T18:00:00Z', status: 'failed', run_id: 'abcdef0123456789', claimed_at: '2026-11-24T18:00:00Z', error: EVIL },
      { id: 8, schedule: 'nightly', slot: '2026-11-24T02:00:00.000000+00:00', status: 'skipped', run_id: null, error: 'previous run still running (overlap skip)' },
      { id: 7, schedule: 'nightly', slot: '2026-11-23T02:00:00.000000+00:00', status: 'finished', run_id: '0123456789abcdef' }
    ];
    const open = new Set<string>();
    const node = render(
      renderSchedules(
        [schedule('nightly', { recent, cron_text: 'At 03:00 every day (Europe/Berlin)' })],
        actions,
        new Set(),
        'UTC',
        undefined,
        open
      )
    );
    expect(node.querySelector('[data-testid="mlops-cron-text"]')?.textContent).toBe('At 03:00 every day (Europe/Berlin)');
    const slots = node.querySelector('[data-testid="mlops-slots"]') as HTMLDetailsElement;
    expect(slots.open).toBe(false);
    const rows = Array.from(node.querySelectorAll('[data-testid="mlops-slot-row"]')) as HTMLElement[];
    expect(rows.map(r => r.getAttribute('data-status'))).toEqual(['failed', 'skipped', 'finished']);
    expect(rows[0].textContent).toContain('run now Tue 2026-11-24 18:00 UTC');
    expect(rows[0].textContent).toContain(EVIL);
    expect(rows[1].textContent).toContain('Tue 2026-11-24 02:00 UTC');
    expect(rows[1].textContent).toContain('overlap skip');
    expect(rows[1].querySelector('[data-testid="mlops-slot-notebook"]')).toBeNull();
    (rows[2].querySelector('[data-testid="mlops-slot-notebook"]') as HTMLElement).click();
    expect(actions.openNotebook).toHaveBeenCalledWith('0123456789abcdef', 'nightly Mon 2026-11-23 02:00 UTC');
    (rows[2].querySelector('[data-testid="mlops-slot-run"]') as HTMLElement).click();
    expect(actions.openRun).toHaveBeenCalledWith('0123456789abcdef');
    slots.open = true;
    slots.dispatchEvent(new Event('toggle'));
    expect(open.has('nightly')).toBe(true);
    expect(document.querySelector('img')).toBeNull();
  });

  it('warns before running a schedule whose notebooks promote', () => {
    expect(runNowWarning(schedule('nightly'))).toBeNull();
    expect(runNowWarning(schedule('monthly', { promotes: ['train.ipynb'], default_alias: 'production' }))).toBe(
      'train.ipynb calls promote: this run can move production (and any alias its notebooks name).'
    );
  });

  it('disables the buttons of a schedule that is busy', () => {
    const node = render(renderSchedules([schedule('nightly')], scheduleActions(), new Set(['nightly']), 'UTC'));
    expect((node.querySelector('[data-testid="mlops-run-now"]') as HTMLButtonElement).disabled).toBe(true);
    expect((node.querySelector('[data-testid="mlops-pause"]') as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('notebook report', () => {
  it('drops scripts and inline handlers before the report is shown', () => {
    const { stripScripts } = jest.requireActual('../src/report') as typeof import('../src/report');
    const html = stripScripts(
      '<html><head><script>alert(1)</script></head><body><p>x is 3</p>' +
        '<img src="data:," onerror="alert(2)"><a href="javascript:alert(3)">a</a></body></html>'
    );
    expect(html).toContain('x is 3');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('onerror');
    expect(html).not.toContain('javascript:');
  });
});

describe('comparing runs', () => {
  const doc = {
    runs: [
      { run_id: 'a'.repeat(32), label: `aaaaaaaa ${EVIL}:1` },
      { run_id: 'b'.repeat(32), label: 'bbbbbbbb churn:2' }
    ],
    sections: [
      {
        name: 'run',
        rows: [{ name: 'started', values: ['2026-11-01T12:00:00.000000+00:00', '2026-11-02T12:00:00.000000+00:00'], missing: [false, false], differs: false }]
      },
      {
        name: 'parameters',
        rows: [
          { name: 'C', values: [1, null], missing: [false, true], differs: true },
          { name: 'solver', values: ['lbfgs', 'lbfgs'], missing: [false, false], differs: false }
        ]
      },
      { name: 'metrics', rows: [{ name: 'accuracy', values: [0.8286657, 0.86], missing: [false, false], differs: true }] }
    ],
    shared_metrics: { accuracy: [0.8286657, 0.86] },
    code: [
      {
        run_id: 'b'.repeat(32),
        against: 'a'.repeat(32),
        source: 'tracked' as const,
        against_source: 'tracked' as const,
        lines: [`--- aaaaaaaa ${EVIL}:1`, '+++ bbbbbbbb churn:2', '@@ -1,2 +1,2 @@', ' # cell 1', '-fit(C=1)', `+fit(C=2)  # ${EVIL}`],
        changed: true
      }
    ]
  };

  it('sets the runs side by side, marks what differs and draws metric bars', () => {
    const node = render(renderComparison(doc, false));
    const heads = Array.from(node.querySelectorAll('thead th')).map(th => th.textContent);
    expect(heads).toEqual(['', `aaaaaaaa ${EVIL}:1`, 'bbbbbbbb churn:2']);
    const rowOf = (name: string) => node.querySelector(`[data-testid="mlops-compare-row"][data-name="${name}"]`) as HTMLElement;
    expect(Array.from(rowOf('C').querySelectorAll('td')).map(td => td.textContent)).toEqual(['1', '–']);
    expect(rowOf('C').getAttribute('data-differs')).toBe('true');
    expect(rowOf('solver').getAttribute('data-differs')).toBe('false');
    // times by the one rule, not raw ISO text
    expect(Array.from(rowOf('started').querySelectorAll('td')).map(td => td.textContent)[0]).toMatch(
      /^Sun 2026-11-01 \d\d:\d\d UTC/
    );
    const cells = Array.from(rowOf('accuracy').querySelectorAll('td'));
    expect(cells.map(td => td.textContent)).toEqual(['0.8287', '0.86']);
    const widths = cells.map(td => (td.querySelector('.mlops-Compare-bar') as HTMLElement).style.width);
    expect(widths).toEqual(['96%', '100%']);
    expect(document.querySelector('img')).toBeNull();
  });

  it('can leave out what is the same everywhere', () => {
    const node = render(renderComparison(doc, true));
    const names = Array.from(node.querySelectorAll('[data-testid="mlops-compare-row"]')).map(r => r.getAttribute('data-name'));
    expect(names).toEqual(['C', 'accuracy']);
    expect(node.textContent).toContain('the same in every run');
  });

  it('shows the code diff the server made, line by line, as text', () => {
    const node = render(renderCodeDiffs(doc));
    const section = node.querySelector('[data-testid="mlops-compare-code"]') as HTMLElement;
    expect(section.getAttribute('data-run-id')).toBe('b'.repeat(32));
    expect(section.querySelector('h4')?.textContent).toBe(`code: bbbbbbbb churn:2 against aaaaaaaa ${EVIL}:1`);
    const kinds = Array.from(section.querySelectorAll('pre span')).map(s => s.getAttribute('data-kind'));
    expect(kinds).toEqual(['file', 'file', 'hunk', 'context', 'remove', 'add']);
    expect(section.querySelector('pre')?.textContent).toBe(doc.code[0].lines.map(l => `${l}\n`).join(''));
    expect(document.querySelector('img')).toBeNull();
  });

  it('says when the code is the same, or when one run kept none', () => {
    const same = render(
      renderCodeDiffs({ ...doc, code: [{ ...doc.code[0], lines: [], changed: false }] })
    );
    expect(same.textContent).toContain('the same code');
    expect(same.querySelector('pre')).toBeNull();
    const none = render(
      renderCodeDiffs({ ...doc, code: [{ ...doc.code[0], source: null, against_source: null, lines: [], changed: false }] })
    );
    expect(none.textContent).toContain('no code was kept for these runs');
    const one = render(renderCodeDiffs({ ...doc, code: [{ ...doc.code[0], against_source: null }] }));
    expect(one.textContent).toContain(`no code was kept for aaaaaaaa ${EVIL}:1`);
  });

  it.each([
    ['+++ b', 'file'],
    ['--- a', 'file'],
    ['@@ -1 +1 @@', 'hunk'],
    ['+x', 'add'],
    ['-x', 'remove'],
    [' x', 'context'],
    ['', 'context']
  ])('reads %j as a %s line', (line, kind) => {
    expect(diffLineKind(line)).toBe(kind);
  });
});

describe('serving tab', () => {
  const NOW = new Date('2026-11-30T12:00:00Z');

  function server(overrides: Partial<IServer> = {}): IServer {
    return {
      instance: 'a1b2c3d4e5f6',
      server: '5e4fe4000001',
      model: 'churn',
      alias: 'production',
      version: 2,
      host: 'web-1',
      address: '127.0.0.1:8000',
      pid: 4242,
      since: '2026-11-30T11:57:00.000000+00:00',
      last_swap: { at: '2026-11-30T11:57:00.000000+00:00', from_version: 1, to_version: 2 },
      requests_per_min: 722.4,
      errors_per_min: 7.2,
      error_rate: 0.00997,
      p50_ms: 0.4123,
      p99_ms: 2.514,
      requests_total: 9000,
      errors_total: 12,
      stats_at: '2026-11-30T11:59:58.000000+00:00',
      silent_s: 2.1,
      stale: false,
      ...overrides
    };
  }

  it('groups processes by model and follows the DOM contract', () => {
    const node = render(
      renderServing(
        [
          server(),
          server({ instance: 'b1b2c3d4e5f6', address: '127.0.0.1:8000', last_swap: null, version: 1 }),
          server({ instance: 'c1b2c3d4e5f6', model: 'pricing', alias: null, version: 7 })
        ],
        NOW
      )
    );
    const models = Array.from(node.querySelectorAll('[data-testid="mlops-serving-model"]'));
    expect(models.map(m => m.getAttribute('data-model-name'))).toEqual(['churn', 'pricing']);
    expect(models[0].querySelectorAll('[data-testid="mlops-server"]')).toHaveLength(2);
    expect(models[0].textContent).toContain('2 processes');
    const first = node.querySelector('[data-testid="mlops-server"][data-instance="a1b2c3d4e5f6"]') as HTMLElement;
    expect(first.getAttribute('data-version')).toBe('2');
    expect(first.getAttribute('data-stale')).toBe('false');
    expect(first.querySelector('[data-testid="mlops-server-version"]')?.textContent).toBe('v2');
    expect(first.textContent).toContain('production');
    expect(first.querySelector('[data-testid="mlops-server-address"]')?.textContent).toBe('127.0.0.1:8000');
    expect(first.querySelector('[data-testid="mlops-server-rate"]')?.textContent).toBe('722.4/min');
    expect(first.querySelector('[data-testid="mlops-server-latency"]')?.textContent).toBe('p50 0.41 ms · p99 2.5 ms');
    expect(first.querySelector('[data-testid="mlops-server-errors"]')?.textContent).toBe('1 %');
    expect(first.querySelector('[data-testid="mlops-server-swap"]')?.textContent).toBe('v1 → v2, 3 min ago');
    expect(first.querySelector('[data-testid="mlops-server-stale"]')).toBeNull();
    const unswapped = node.querySelector('[data-instance="b1b2c3d4e5f6"] [data-testid="mlops-server-swap"]');
    expect(unswapped?.textContent).toBe('none (started 3 min ago)');
    const fixed = node.querySelector('[data-instance="c1b2c3d4e5f6"]') as HTMLElement;
    expect(fixed.textContent).toContain('fixed');
  });

  it('says how long a stale process has been silent instead of showing live numbers', () => {
    const node = render(renderServing([server({ stale: true, silent_s: 95 })], NOW));
    const row = node.querySelector('[data-testid="mlops-server"]') as HTMLElement;
    expect(row.getAttribute('data-stale')).toBe('true');
    expect(row.classList.contains('mlops-stale')).toBe(true);
    const note = row.querySelector('[data-testid="mlops-server-stale"]') as HTMLElement;
    expect(note.textContent).toMatch(/^no numbers for 2 min \(last at /);
    expect(note.classList.contains('mlops-muted')).toBe(true);
    const silent = render(renderServing([server({ stale: true, silent_s: 42, stats_at: null })], NOW));
    expect(silent.querySelector('[data-testid="mlops-server-stale"]')?.textContent).toBe('no numbers for 42 s');
  });

  it('formats rates, latencies and error rates', () => {
    expect(formatRate(null)).toBe('–');
    expect(formatRate(0)).toBe('0');
    expect(formatRate(3.04)).toBe('3');
    expect(formatRate(12345.67)).toBe('12346');
    expect(formatMs(null)).toBe('–');
    expect(formatMs(0.0712)).toBe('0.071 ms');
    expect(formatMs(37.4)).toBe('37 ms');
    expect(formatMs(1234.5)).toBe('1235 ms');
    expect(formatErrorRate(null)).toBe('–');
    expect(formatErrorRate(0)).toBe('0 %');
    expect(formatErrorRate(0.0004)).toBe('<0.1 %');
    expect(formatErrorRate(0.125)).toBe('12.5 %');
    expect(formatErrorRate(1)).toBe('100 %');
    const node = render(renderServing([server({ requests_per_min: null, error_rate: null, p50_ms: null, p99_ms: null })], NOW));
    expect(node.querySelector('[data-testid="mlops-server-latency"]')?.textContent).toBe('p50 – · p99 –');
    expect(node.querySelector('[data-testid="mlops-server-errors"]')?.classList.contains('mlops-error')).toBe(false);
  });

  it('says how to start a server when none runs', () => {
    const node = render(renderServing([], NOW));
    expect(node.getAttribute('data-testid')).toBe('mlops-serving-empty');
    expect(node.textContent).toContain('No prediction server is running');
    expect(node.querySelector('code')?.textContent).toBe('mlops-nb serve NAME');
  });

  it('keeps hostile names, hosts and addresses as text', () => {
    const node = render(renderServing([server({ model: EVIL, host: EVIL, address: EVIL, alias: EVIL })], NOW));
    expect(document.querySelector('img')).toBeNull();
    const model = node.querySelector('[data-testid="mlops-serving-model"]') as HTMLElement;
    expect(model.getAttribute('data-model-name')).toBe(EVIL);
    expect(model.querySelector('.mlops-Model-name')?.textContent).toBe(EVIL);
    const address = node.querySelector('[data-testid="mlops-server-address"]') as HTMLElement;
    expect(address.textContent).toBe(EVIL);
    expect(address.getAttribute('title')).toContain(EVIL);
  });
});
