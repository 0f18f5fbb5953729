/**
 * One column of a drift check, large: the chart at a readable size, every
 * check run on the column with its score and threshold, and the two sides'
 * summaries next to each other. The server computed all of it; this only
 * lays it out (the main-area tab around it is ../driftcolumn.ts).
 */
import { driftChart } from '../chart';
import { h } from '../dom';
import { columnLevel, formatDateTime, formatNumber } from '../logic';
import type { IDriftColumn, JsonValue } from '../types';

/** The size the chart is drawn at here (the panel draws 280 × 96). */
export const LARGE = { width: 720, height: 260 };

function value(v: JsonValue | undefined): string {
  if (v === null || v === undefined) {
    return '–';
  }
  return typeof v === 'number' ? formatNumber(v) : typeof v === 'string' ? v : JSON.stringify(v);
}

function checksTable(column: IDriftColumn): HTMLElement | null {
  const checks = Object.entries(column.checks ?? {});
  if (!checks.length) {
    return null;
  }
  return h(
    'table',
    { class: 'mlops-DriftDetail-table', 'data-testid': 'mlops-drift-detail-checks' },
    h('thead', null, h('tr', null, h('th', null, 'check'), h('th', null, 'score'), h('th', null, 'threshold'), h('th', null, ''))),
    h(
      'tbody',
      null,
      ...checks.map(([name, result]) =>
        h(
          'tr',
          { 'data-check': name, class: result.drifted ? 'mlops-Compare-diff' : null },
          h('th', { scope: 'row' }, name === column.method ? `${name} (decides)` : name),
          h('td', null, value(result.score)),
          h('td', null, value(result.threshold)),
          h('td', null, result.drifted ? 'drifted' : '')
        )
      )
    )
  );
}

function sidesTable(column: IDriftColumn): HTMLElement | null {
  const reference = column.reference ?? {};
  const current = column.current ?? {};
  const keys = [...new Set([...Object.keys(reference), ...Object.keys(current)])];
  if (!keys.length) {
    return null;
  }
  return h(
    'table',
    { class: 'mlops-DriftDetail-table', 'data-testid': 'mlops-drift-detail-sides' },
    h('thead', null, h('tr', null, h('th', null, ''), h('th', null, 'reference'), h('th', null, 'current'))),
    h(
      'tbody',
      null,
      ...keys.map(key =>
        h('tr', { 'data-stat': key }, h('th', { scope: 'row' }, key), h('td', null, value(reference[key])), h('td', null, value(current[key])))
      )
    )
  );
}

/** The column's full view: what was checked, the chart, the checks, both sides. */
export function renderDriftColumnDetail(
  model: string,
  column: IDriftColumn,
  checked: { version: number | null; at: string }
): HTMLElement {
  const level = columnLevel(column);
  return h(
    'div',
    { class: 'mlops-DriftDetail', 'data-testid': 'mlops-drift-detail', 'data-column': column.column },
    h(
      'header',
      null,
      h('h3', null, `${model} · ${column.column}`),
      h(
        'p',
        { class: 'mlops-muted mlops-small' },
        `${column.role ?? 'feature'}, ${column.kind ?? 'column'} · checked v${checked.version ?? '?'} on ${formatDateTime(checked.at)} · `,
        h('span', { class: `mlops-verdict mlops-severity-${level}` }, column.drift ? 'drift' : column.testable === false ? 'not testable' : 'no drift')
      ),
      column.reason ? h('p', { class: 'mlops-muted mlops-small' }, column.reason) : null
    ),
    column.chart ? driftChart(column.column, column.chart, level, LARGE) : h('p', { class: 'mlops-muted' }, 'no chart for this column'),
    h(
      'div',
      { class: 'mlops-Legend mlops-small mlops-muted' },
      h('span', { class: 'mlops-Legend-ref' }),
      ' reference (training data) · coloured: current data · dashed: where the reference range ends'
    ),
    checksTable(column),
    sidesTable(column)
  );
}
