/**
 * The Runs tab: a sortable, filterable list of runs to tick and compare;
 * the selected run's provenance is views/rundetail.ts.
 */
import { h } from '../dom';
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
import type { IRun } from '../types';

export { formatValue, renderRunDetail, statusBadge } from './rundetail';

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
