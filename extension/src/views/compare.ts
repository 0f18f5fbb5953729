/**
 * Runs side by side (`GET /runs/compare`): facts, parameters, metrics and
 * recorded values, one column per run. The server says which rows differ;
 * metric cells carry a bar in proportion to the largest value in the row.
 */
import { h } from '../dom';
import { formatDateTime, formatNumber } from '../logic';
import type { ICodeDiff, ICompareRow, IRunComparison, JsonValue } from '../types';

/** Rows that hold a moment: shown by the one rule for times, in the browser's zone. */
const TIMES = new Set(['started', 'ended']);

function cellText(value: JsonValue | undefined, missing: boolean, name: string): string {
  if (missing) {
    return '–';
  }
  if (TIMES.has(name) && typeof value === 'string') {
    return formatDateTime(value);
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

function row(section: string, item: ICompareRow): HTMLElement {
  const numbers = item.values.filter((v, i) => typeof v === 'number' && !item.missing[i]) as number[];
  const top = Math.max(...numbers.map(Math.abs), 0) || 1;
  return h(
    'tr',
    {
      class: item.differs ? 'mlops-Compare-diff' : null,
      'data-testid': 'mlops-compare-row',
      'data-section': section,
      'data-name': item.name,
      'data-differs': item.differs ? 'true' : 'false'
    },
    h('th', { scope: 'row', title: item.name }, item.name),
    ...item.values.map((value, i) =>
      h(
        'td',
        { class: item.missing[i] ? 'mlops-muted' : null },
        section === 'metrics' && typeof value === 'number' && !item.missing[i]
          ? h('span', {
              class: 'mlops-Compare-bar',
              style: `width: ${Math.round((Math.abs(value) / top) * 100)}%`
            })
          : null,
        h('span', { class: 'mlops-Compare-value', title: item.missing[i] ? 'this run has none' : String(value) }, cellText(value, item.missing[i], item.name))
      )
    )
  );
}

/**
 * The comparison as a table; with `onlyDifferences` the rows that are the
 * same in every run are left out (a section with none left says so).
 */
export function renderComparison(doc: IRunComparison, onlyDifferences: boolean): HTMLElement {
  const body: HTMLElement[] = [];
  for (const section of doc.sections) {
    const rows = onlyDifferences ? section.rows.filter(r => r.differs) : section.rows;
    body.push(
      h(
        'tr',
        { class: 'mlops-Compare-section' },
        h('th', { colspan: doc.runs.length + 1 }, section.name)
      )
    );
    if (!rows.length) {
      body.push(
        h(
          'tr',
          null,
          h(
            'td',
            { class: 'mlops-muted mlops-small', colspan: doc.runs.length + 1 },
            section.rows.length ? 'the same in every run' : 'none'
          )
        )
      );
    }
    body.push(...rows.map(item => row(section.name, item)));
  }
  return h(
    'table',
    { class: 'mlops-Compare-table', 'data-testid': 'mlops-compare-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', null, ''),
        ...doc.runs.map(run => h('th', { title: run.run_id, 'data-run-id': run.run_id }, run.label))
      )
    ),
    h('tbody', null, ...body)
  );
}

/** The class a diff line is drawn with: added, removed, a hunk heading, or context. */
export function diffLineKind(line: string): 'add' | 'remove' | 'hunk' | 'file' | 'context' {
  if (line.startsWith('+++') || line.startsWith('---')) {
    return 'file';
  }
  if (line.startsWith('@@')) {
    return 'hunk';
  }
  if (line.startsWith('+')) {
    return 'add';
  }
  if (line.startsWith('-')) {
    return 'remove';
  }
  return 'context';
}

function codeDiff(diff: ICodeDiff, label: string, against: string): HTMLElement {
  let note: string | null = null;
  if (!diff.changed) {
    note = diff.source ? 'the same code' : 'no code was kept for these runs';
  } else if (!diff.source || !diff.against_source) {
    note = `no code was kept for ${diff.source ? against : label}: all of the other run's code is shown as changed`;
  }
  return h(
    'section',
    { class: 'mlops-Compare-code', 'data-testid': 'mlops-compare-code', 'data-run-id': diff.run_id },
    h('h4', null, `code: ${label} against ${against}`),
    note ? h('p', { class: 'mlops-muted mlops-small' }, note) : null,
    diff.lines.length
      ? h(
          'pre',
          { class: 'mlops-Compare-diff-lines' },
          ...diff.lines.map(line =>
            h('span', { class: `mlops-Diff-${diffLineKind(line)}`, 'data-kind': diffLineKind(line) }, `${line}\n`)
          )
        )
      : null
  );
}

/** How each later run's code differs from the first run's, as the server diffed it. */
export function renderCodeDiffs(doc: IRunComparison): HTMLElement {
  const label = (runId: string) => doc.runs.find(r => r.run_id === runId)?.label ?? runId.slice(0, 8);
  return h(
    'div',
    { class: 'mlops-Compare-codes' },
    ...(doc.code ?? []).map(diff => codeDiff(diff, label(diff.run_id), label(diff.against)))
  );
}
