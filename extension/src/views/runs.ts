/**
 * The Runs tab: a sortable list of runs and, for the selected one, its
 * provenance (parameters, metrics, data fingerprint, git commit,
 * environment) with a button that opens the executed notebook.
 */
import { h, type Child } from '../dom';
import {
  columnChoices,
  columnLabel,
  columnValue,
  firstMetric,
  formatDateTime,
  formatDuration,
  formatNumber,
  isRunColumn,
  relativeTime,
  runDuration,
  shortId,
  type RunColumn,
  type SortDirection
} from '../logic';
import type { IRun, IRunTree, JsonValue } from '../types';

/** State that survives re-rendering. */
export interface IRunsState {
  sort: { column: RunColumn; direction: SortDirection };
  /** only runs of this kind; '' for all */
  kind: string;
  selected: string | null;
  /** the filter expression applied (the server evaluates it) */
  query: string;
  /** metric and parameter columns shown, e.g. `metrics.auc`, `params.C` */
  columns: string[];
  /** the first run of the page shown */
  offset: number;
  /** runs ticked for comparing */
  compare: string[];
}

/** The page of runs shown, as the server answered (`GET /runs/search`). */
export interface IRunsPage {
  runs: IRun[];
  total: number;
  offset: number;
  limit: number;
  /** why the last filter was refused, shown under the box; the page is the last good one */
  error?: string | null;
}

/** What the tab's controls do. */
export interface IRunsActions {
  sortBy(column: RunColumn): void;
  filterKind(kind: string): void;
  select(runId: string | null): void;
  openNotebook(run: IRun): void;
  /** apply a filter expression ('' for none) */
  search(query: string): void;
  /** show these metric and parameter columns */
  setColumns(columns: string[]): void;
  /** show the page starting at `offset` */
  page(offset: number): void;
  /** where the executed notebook of `run` downloads from */
  notebookUrl(run: IRun): string;
  /** where one of the run's files downloads from */
  artifactUrl(run: IRun, kind: string): string;
  /** tick or untick a run for comparing */
  tickCompare(runId: string, on: boolean): void;
  /** open the ticked runs side by side */
  compare(): void;
}

/** How many runs can be compared at once (as GET /runs/compare takes). */
export const MAX_COMPARED = 10;

const COLUMNS: { column: RunColumn; label: string; title: string }[] = [
  { column: 'name', label: 'Run', title: 'Sort by name' },
  { column: 'status', label: 'Status', title: 'Sort by status' },
  { column: 'started', label: 'Started', title: 'Sort by start time' }
];

/** Kinds the filter offers even before a run of that kind is on the page. */
const KINDS = ['notebook', 'pipeline', 'track'];

function sortHeader(
  column: RunColumn,
  label: string,
  title: string,
  state: IRunsState,
  actions: IRunsActions
): HTMLElement {
  const active = state.sort.column === column;
  const arrow = active ? (state.sort.direction === 'asc' ? ' ▲' : ' ▼') : '';
  return h(
    'th',
    {
      'data-testid': `mlops-sort-${column}`,
      class: active ? 'mlops-sorted' : null,
      'aria-sort': active ? (state.sort.direction === 'asc' ? 'ascending' : 'descending') : 'none',
      role: 'button',
      tabindex: 0,
      title,
      onclick: () => actions.sortBy(column),
      onkeydown: (event: Event) => {
        const key = (event as KeyboardEvent).key;
        if (key === 'Enter' || key === ' ') {
          event.preventDefault();
          actions.sortBy(column);
        }
      }
    },
    label + arrow
  );
}

/** The filter box: an expression the server evaluates over every run. */
function filterBox(state: IRunsState, page: IRunsPage, actions: IRunsActions): HTMLElement {
  const input = h('input', {
    class: 'jp-mod-styled mlops-RunFilter-input',
    'data-testid': 'mlops-run-filter',
    'aria-label': 'Filter runs',
    placeholder: 'filter: auc > 0.8 and C = 1',
    title:
      'metrics.NAME, params.NAME, tags.NAME, status, kind, name, model, started, ended; ' +
      '= != < <= > >= ~ (contains); and, or, not, ( ); a bare name is a metric, else a parameter',
    value: state.query,
    spellcheck: false,
    onkeydown: (event: Event) => {
      const key = (event as KeyboardEvent).key;
      if (key === 'Enter') {
        actions.search((event.target as HTMLInputElement).value);
      } else if (key === 'Escape') {
        actions.search('');
      }
    }
  }) as HTMLInputElement;
  return h(
    'div',
    { class: 'mlops-RunFilter' },
    h(
      'div',
      { class: 'mlops-RunFilter-row' },
      input,
      h(
        'button',
        {
          class: 'mlops-button mlops-button-small',
          'data-testid': 'mlops-run-filter-apply',
          title: 'Apply the filter (Enter)',
          onclick: () => actions.search(input.value)
        },
        'Filter'
      ),
      state.query
        ? h(
            'button',
            {
              class: 'mlops-button mlops-button-small mlops-button-quiet',
              'data-testid': 'mlops-run-filter-clear',
              title: 'Show all runs (Escape)',
              'aria-label': 'Clear the filter',
              onclick: () => actions.search('')
            },
            '×'
          )
        : null
    ),
    page.error
      ? h('div', { class: 'mlops-error mlops-small', 'data-testid': 'mlops-run-filter-error', role: 'alert' }, page.error)
      : null
  );
}

/** Checkboxes for the metric and parameter columns the runs on the page have. */
function columnChooser(runs: IRun[], state: IRunsState, actions: IRunsActions): HTMLElement | null {
  const choices = columnChoices(runs, state.columns);
  if (!choices.length) {
    return null;
  }
  const chosen = new Set(state.columns);
  return h(
    'details',
    { class: 'mlops-ColumnChooser', 'data-testid': 'mlops-column-chooser' },
    h('summary', { class: 'mlops-small' }, `Columns${chosen.size ? ` (${chosen.size})` : ''}`),
    h(
      'div',
      { class: 'mlops-ColumnChooser-list' },
      ...choices.map(column =>
        h(
          'label',
          { class: 'mlops-small', title: column },
          h('input', {
            type: 'checkbox',
            'data-testid': 'mlops-column-choice',
            'data-column': column,
            checked: chosen.has(column),
            onchange: (event: Event) => {
              const on = (event.target as HTMLInputElement).checked;
              actions.setColumns(on ? [...state.columns, column] : state.columns.filter(c => c !== column));
            }
          }),
          ` ${columnLabel(column)}`
        )
      )
    )
  );
}

/** "1–50 of 687" with buttons to the previous and the next page. */
function pager(page: IRunsPage, actions: IRunsActions): HTMLElement {
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.runs.length;
  return h(
    'span',
    { class: 'mlops-Pager' },
    h(
      'button',
      {
        class: 'mlops-button mlops-button-small mlops-button-quiet',
        'data-testid': 'mlops-page-prev',
        'aria-label': 'Previous page',
        disabled: page.offset <= 0,
        onclick: () => actions.page(Math.max(0, page.offset - page.limit))
      },
      '‹'
    ),
    h(
      'span',
      { class: 'mlops-muted', 'data-testid': 'mlops-run-count' },
      page.total > page.runs.length ? `${first}–${last} of ${page.total} runs` : `${page.total} runs`
    ),
    h(
      'button',
      {
        class: 'mlops-button mlops-button-small mlops-button-quiet',
        'data-testid': 'mlops-page-next',
        'aria-label': 'Next page',
        disabled: last >= page.total,
        onclick: () => actions.page(page.offset + page.limit)
      },
      '›'
    )
  );
}

/**
 * The list: a filter box, the kind filter, a column chooser, sortable
 * headers and a pager. The server filters, sorts and pages; the rows come in
 * its order.
 */
export function renderRunList(page: IRunsPage, state: IRunsState, actions: IRunsActions): HTMLElement {
  const runs = page.runs;
  const kinds = Array.from(new Set([...KINDS, ...runs.map(r => r.kind), ...(state.kind ? [state.kind] : [])])).sort();
  const select = h(
    'select',
    {
      class: 'mlops-select',
      'data-testid': 'mlops-run-kind',
      'aria-label': 'Show runs of kind',
      onchange: (event: Event) => actions.filterKind((event.target as HTMLSelectElement).value)
    },
    h('option', { value: '' }, 'all kinds'),
    ...kinds.map(kind => h('option', { value: kind }, kind))
  );
  select.value = state.kind;
  const extra = state.columns.filter((c): c is RunColumn => c.includes('.') && isRunColumn(c));
  const ticked = new Set(state.compare);
  const header = h(
    'tr',
    null,
    h('th', { class: 'mlops-RunCheck', title: `Tick 2 to ${MAX_COMPARED} runs to compare them` }, ''),
    ...COLUMNS.map(({ column, label, title }) => sortHeader(column, label, title, state, actions)),
    ...(extra.length
      ? extra.map(column =>
          sortHeader(column, columnLabel(column), `Sort every matching run by ${column}`, state, actions)
        )
      : [h('th', { title: 'The first metric of each run; choose columns to sort by one' }, 'Metric')])
  );
  const rows = runs.map(run => {
    const metric = firstMetric(run);
    const metricName = Object.keys(run.metrics ?? {})[0];
    return h(
      'tr',
      {
        'data-testid': 'mlops-run',
        'data-run-id': run.run_id,
        'data-status': run.status,
        class: `mlops-RunRow${run.run_id === state.selected ? ' mlops-selected' : ''}`,
        tabindex: 0,
        'aria-selected': run.run_id === state.selected ? 'true' : 'false',
        onclick: () => actions.select(run.run_id),
        onkeydown: (event: Event) => {
          if ((event as KeyboardEvent).key === 'Enter') {
            actions.select(run.run_id);
          }
        }
      },
      h(
        'td',
        { class: 'mlops-RunCheck' },
        h('input', {
          type: 'checkbox',
          'data-testid': 'mlops-run-check',
          'aria-label': `Compare ${run.name}`,
          checked: ticked.has(run.run_id),
          disabled: !ticked.has(run.run_id) && ticked.size >= MAX_COMPARED,
          // ticking is not selecting the row
          onclick: (event: Event) => event.stopPropagation(),
          onchange: (event: Event) => actions.tickCompare(run.run_id, (event.target as HTMLInputElement).checked)
        })
      ),
      h(
        'td',
        { class: 'mlops-RunRow-name' },
        h('div', { class: 'mlops-RunRow-title', title: run.name }, run.name),
        h(
          'div',
          { class: 'mlops-muted mlops-RunRow-meta' },
          `${shortId(run.run_id)} · ${run.kind}`,
          run.ended_at ? h('span', { class: 'mlops-nowrap' }, ` · ${formatDuration(runDuration(run))}`) : ''
        )
      ),
      h('td', null, statusDot(run.status)),
      h(
        'td',
        { class: 'mlops-nowrap', title: formatDateTime(run.started_at) },
        relativeTime(run.started_at).replace(/ ago$/, '')
      ),
      ...(extra.length
        ? extra.map(column =>
            h('td', { class: 'mlops-nowrap', 'data-column': column, title: column }, columnValue(run, column))
          )
        : [
            h(
              'td',
              { title: metricName ? `${metricName} = ${metric}` : '' },
              metric === null ? '' : formatNumber(metric)
            )
          ])
    );
  });
  const filtered = Boolean(state.query.trim() || state.kind);
  return h(
    'div',
    { class: 'mlops-RunList' },
    filterBox(state, page, actions),
    h(
      'div',
      { class: 'mlops-toolbar' },
      select,
      h(
        'button',
        {
          class: 'mlops-button mlops-button-small',
          'data-testid': 'mlops-compare',
          disabled: ticked.size < 2,
          title: ticked.size < 2 ? 'Tick two or more runs to compare them' : 'Open the ticked runs side by side',
          onclick: () => actions.compare()
        },
        `Compare${ticked.size ? ` (${ticked.size})` : ''}`
      ),
      pager(page, actions)
    ),
    columnChooser(runs, state, actions),
    runs.length
      ? h(
          'table',
          { class: 'mlops-RunTable' },
          h('thead', null, header),
          h('tbody', null, ...rows)
        )
      : h('p', { class: 'mlops-Empty mlops-muted' }, filtered ? 'No run matches the filter.' : 'No runs yet.')
  );
}

const STATUS_MARK: Record<string, string> = { finished: '✓', failed: '✗', error: '✗', killed: '✗', running: '●' };

/** A coloured mark for narrow spaces, the status word as its tooltip. */
export function statusDot(status: string | null | undefined): HTMLElement {
  const text = status ?? 'unknown';
  return h(
    'span',
    { class: `mlops-status mlops-status-${text.replace(/[^a-z-]/gi, '')}`, title: text, 'aria-label': text },
    STATUS_MARK[text] ?? '•'
  );
}

/** A coloured status word. */
export function statusBadge(status: string | null | undefined): HTMLElement {
  const text = status ?? 'unknown';
  return h('span', { class: `mlops-status mlops-status-${text.replace(/[^a-z-]/gi, '')}` }, text);
}

/** A JSON value as one line of text. */
export function formatValue(value: JsonValue | undefined): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

function pairs(title: string, entries: [string, Child][], open = true): HTMLElement | null {
  if (entries.length === 0) {
    return null;
  }
  const details = h(
    'details',
    { class: 'mlops-Section' },
    h('summary', null, title),
    h(
      'dl',
      { class: 'mlops-Pairs' },
      ...entries.flatMap(([key, value]) => [h('dt', null, key), h('dd', null, value)])
    )
  );
  details.open = open;
  return details;
}

function record(doc: Record<string, JsonValue> | null | undefined): [string, Child][] {
  return Object.entries(doc ?? {}).map(([key, value]) => [key, formatValue(value)]);
}

function code(text: string | null | undefined, full?: string | null): Child {
  return text ? h('code', { title: full ?? text }, text) : '–';
}

/** A SHA-256 shortened to 12 hex digits (the whole one on hover); null when absent. */
function hash(sha: JsonValue | undefined): Child {
  return typeof sha === 'string' && sha ? h('code', { title: `sha256 ${sha}` }, `${sha.slice(0, 12)}…`) : null;
}

function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** The provenance of one run. */
export function renderRunDetail(
  run: IRun,
  actions: IRunsActions
): HTMLElement {
  const data = run.data ?? {};
  const env = (run.environment ?? {}) as Record<string, JsonValue>;
  const packages = (env.packages ?? {}) as Record<string, JsonValue>;
  const link = (id: string) =>
    h(
      'button',
      { class: 'mlops-button mlops-button-small mlops-button-quiet', title: id, onclick: () => actions.select(id) },
      shortId(id)
    );
  const dataEntries: [string, Child][] = [];
  if (typeof data.sha256 === 'string') {
    dataEntries.push(['fingerprint', hash(data.sha256)]);
  }
  for (const key of ['rows', 'columns']) {
    if (data[key] !== undefined) {
      dataEntries.push([key, formatValue(data[key])]);
    }
  }
  const target = data.target as Record<string, JsonValue> | undefined;
  if (target && typeof target === 'object' && !Array.isArray(target)) {
    dataEntries.push(['target', `${formatValue(target.name)} (${formatValue(target.dtype)})`]);
  }
  const schema = data.schema;
  if (Array.isArray(schema)) {
    dataEntries.push([
      'schema',
      schema
        .map(col => {
          const c = col as Record<string, JsonValue>;
          return `${formatValue(c.name)}: ${formatValue(c.dtype)}`;
        })
        .join(', ')
    ]);
  }
  const steps = data.steps as Record<string, Record<string, JsonValue>> | undefined;
  const stepEntries: [string, Child][] =
    steps && typeof steps === 'object'
      ? Object.entries(steps).map(([step, info]) => [
          step,
          h(
            'span',
            null,
            statusBadge(String(info.status ?? '')),
            info.gate ? ` ${formatValue(info.gate)}` : '',
            info.error ? ` ${formatValue(info.error)}` : '',
            ' ',
            typeof info.run_id === 'string' ? link(info.run_id) : null
          )
        ])
      : [];

  const codeEntries: [string, Child][] = [
    [
      'git commit',
      run.git_commit
        ? h(
            'span',
            null,
            code(run.git_commit.slice(0, 10), run.git_commit),
            run.git_dirty ? h('span', { title: 'the work tree had uncommitted changes' }, ' + changes') : ''
          )
        : '–'
    ],
    ['notebook', run.notebook_path ? h('span', { title: run.notebook_path }, basename(run.notebook_path)) : '–'],
    ['input', hash(run.input_sha256)],
    ['executed', hash(run.output_sha256)],
    ['source', hash(run.source_sha256)]
  ].filter(([, value]) => value !== null) as [string, Child][];
  const envEntries: [string, Child][] = ['python', 'implementation', 'platform', 'host', 'user', 'executable', 'cwd']
    .filter(key => env[key] !== undefined)
    .map(key => [key, formatValue(env[key])]);
  const packageNames = Object.keys(packages).sort((a, b) => a.localeCompare(b));
  if (packageNames.length) {
    envEntries.push([
      'packages',
      h(
        'details',
        null,
        h('summary', null, `${packageNames.length} imported packages`),
        h('ul', { class: 'mlops-Packages' }, ...packageNames.map(p => h('li', null, `${p} ${formatValue(packages[p])}`)))
      )
    ]);
  }
  const runEntries: [string, Child][] = [
    ['id', code(run.run_id)],
    ['kind', run.kind],
    ['status', statusBadge(run.status)],
    ['by', run.actor ?? '–'],
    ['started', formatDateTime(run.started_at)],
    ['ended', formatDateTime(run.ended_at)],
    ['took', formatDuration(runDuration(run))]
  ];
  if (run.model_version !== null && run.model_version !== undefined) {
    runEntries.push(['model', `${run.name} v${run.model_version}`]);
  }
  if (run.parent_run_id) {
    runEntries.push(['part of', link(run.parent_run_id)]);
  }
  if (run.children && run.children.length) {
    runEntries.push(['child runs', h('span', null, ...run.children.map(link))]);
  }

  return h(
    'section',
    { class: 'mlops-RunDetail mlops-card', 'data-testid': 'mlops-run-detail', 'data-run-id': run.run_id },
    h(
      'header',
      { class: 'mlops-RunDetail-header' },
      h('span', { class: 'mlops-RunDetail-name', title: run.name }, run.name),
      h('span', { class: 'mlops-muted mlops-nowrap' }, shortId(run.run_id)),
      h(
        'button',
        {
          class: 'mlops-button mlops-button-small mlops-button-quiet mlops-close',
          title: 'Close the run',
          'aria-label': 'Close the run',
          onclick: () => actions.select(null)
        },
        '×'
      )
    ),
    run.has_notebook
      ? h(
          'div',
          { class: 'mlops-Actions' },
          h(
            'button',
            {
              class: 'mlops-button',
              'data-testid': 'mlops-open-notebook',
              title: 'Open the executed notebook, read-only, in a new tab',
              onclick: () => actions.openNotebook(run)
            },
            'Open executed notebook'
          ),
          h(
            'a',
            {
              class: 'mlops-button',
              'data-testid': 'mlops-download-notebook',
              href: actions.notebookUrl(run),
              download: `${(run.name ?? 'run').replace(/\.ipynb$/, '')}-${shortId(run.run_id)}.ipynb`,
              title: 'Download the executed notebook as stored in the audit log (.ipynb)'
            },
            'Download .ipynb'
          )
        )
      : null,
    renderArtifacts(run, actions),
    run.error ? h('pre', { class: 'mlops-error' }, run.error) : null,
    pairs('Parameters', record(run.params)),
    pairs('Metrics', Object.entries(run.metrics ?? {}).map(([k, v]) => [k, formatNumber(v)])),
    pairs('Recorded values', record(run.values)),
    pairs('Data', dataEntries),
    pairs('Pipeline steps', stepEntries),
    renderTree(run, actions),
    pairs('Code', codeEntries),
    pairs('Environment', envEntries, false),
    pairs('Tags', Object.entries(run.tags ?? {}).map(([k, v]) => [k, String(v)])),
    pairs('Run', runEntries)
  );
}

/** What each kind of file is, for the link that downloads it. */
const ARTIFACT_LABELS: Record<string, { text: string; title: string }> = {
  model: { text: 'Model', title: 'Download the model version this run registered, as stored' },
  profile: { text: 'Data profile', title: 'Download the drift reference profile of the training data (JSON)' },
  source: { text: 'Code', title: 'Download the code the run ran: the session cells and the tracked cell (JSON)' }
};

/** Links that download the run's files under the names the server gives them. */
function renderArtifacts(run: IRun, actions: IRunsActions): HTMLElement | null {
  const files = run.artifacts ?? [];
  if (!files.length) {
    return null;
  }
  return h(
    'div',
    { class: 'mlops-Actions mlops-Artifacts', 'data-testid': 'mlops-artifacts' },
    h('span', { class: 'mlops-muted mlops-small' }, 'Files:'),
    ...files.map(file => {
      const label = ARTIFACT_LABELS[file.kind] ?? { text: file.kind, title: `Download ${file.kind}` };
      return h(
        'a',
        {
          class: 'mlops-button mlops-button-small',
          'data-testid': 'mlops-download-artifact',
          'data-kind': file.kind,
          href: actions.artifactUrl(run, file.kind),
          download: file.filename,
          title: `${label.title}: ${file.filename} (sha256 ${file.sha256.slice(0, 12)})`
        },
        label.text
      );
    })
  );
}

function treeList(tree: IRunTree, actions: IRunsActions): HTMLElement {
  return h(
    'ul',
    { class: 'mlops-RunTree' },
    ...tree.runs.map(node =>
      h(
        'li',
        { 'data-testid': 'mlops-run-tree-node', 'data-run-id': node.run_id, 'data-kind': node.kind },
        h(
          'button',
          {
            class: 'mlops-link',
            title: `Show run ${node.run_id}`,
            onclick: () => actions.select(node.run_id)
          },
          node.name ?? node.kind
        ),
        ' ',
        statusBadge(node.status),
        h(
          'span',
          { class: 'mlops-muted mlops-small' },
          ` ${node.kind}${node.model_version !== null ? ` · v${node.model_version}` : ''} · ${shortId(node.run_id)}`
        ),
        node.started.runs.length ? treeList(node.started, actions) : null
      )
    ),
    tree.truncated ? h('li', { class: 'mlops-muted mlops-small' }, 'more runs were started: the latest are listed') : null
  );
}

/** A pipeline's steps with what each tracked, a notebook's tracked runs: a tree to walk. */
function renderTree(run: IRun, actions: IRunsActions): HTMLElement | null {
  const tree = run.started;
  if (!tree || !tree.runs.length) {
    return null;
  }
  const title = run.kind === 'pipeline' ? 'Steps and the runs they tracked' : 'Runs it started';
  const details = h(
    'details',
    { class: 'mlops-Section', 'data-testid': 'mlops-run-tree' },
    h('summary', null, title),
    treeList(tree, actions)
  );
  details.open = true;
  return details;
}
