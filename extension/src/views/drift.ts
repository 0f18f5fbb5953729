/**
 * The Drift tab: per model the verdict of its latest check at the level the
 * server rated it, which version it checked and whether the current holder
 * ever was, its notes (schema, performance with numbers, alerts raised), a
 * timeline of its checks (click one to see it in place of the latest), and
 * a chart per column.
 */
import { driftChart } from '../chart';
import { h } from '../dom';
import {
  columnLevel,
  compareSeverity,
  describePerformance,
  describeTypeChange,
  formatDateTime,
  formatNumber,
  orderColumns,
  relativeTime,
  reportLevel,
  type Severity
} from '../logic';
import { TIMELINE_CHECKS } from '../timeline';
import type { IDriftAlert, IDriftCheckDetail, IDriftChecksPage, IDriftColumn, IDriftHistory, IDriftReport } from '../types';
import { renderTimeline } from './drifttimeline';

/** One model on the tab. */
export interface IDriftEntry {
  model: string;
  drift: IDriftHistory | null;
  error?: string;
  /** an older check the user opened from the timeline, shown in place of the latest */
  chosen?: IDriftCheckDetail | null;
  /** older checks the user paged to on the timeline */
  page?: IDriftChecksPage | null;
}

const VERDICT: Record<Severity, string> = {
  drift: 'drift',
  warning: 'warning',
  ok: 'no drift',
  none: 'not checked'
};

/** What the tab's links and clicks do (the panel supplies them). */
export interface IDriftActions {
  /** where a recorded check's standalone HTML report is served */
  reportUrl(model: string, checkId: number): string;
  /** open one column of the check on show large, in the main area */
  openColumn(entry: IDriftEntry, column: IDriftColumn, report: IDriftReport): void;
  /** show check `checkId` in place of the latest (the latest's id: back to it) */
  openCheck(entry: IDriftEntry, checkId: number): void;
  /** page the timeline to the checks before `before` (`null`: the newest) */
  pageChecks(entry: IDriftEntry, before: number | null): void;
}

/** The whole tab: checked models worst first, then those never checked. */
export function renderDrift(
  entries: IDriftEntry[],
  unfolded: Set<string>,
  actions: IDriftActions | null = null
): HTMLElement {
  if (entries.length === 0) {
    return h('div', { class: 'mlops-Empty' }, h('p', null, 'No models yet.'));
  }
  const rated = entries.map(entry => ({ entry, severity: reportLevel(entry.drift?.latest) }));
  rated.sort((a, b) => compareSeverity(a.severity, b.severity) || (a.entry.model < b.entry.model ? -1 : 1));
  const checked = rated.filter(r => r.severity !== 'none' || r.entry.error);
  const unchecked = rated.filter(r => r.severity === 'none' && !r.entry.error);
  return h(
    'div',
    { class: 'mlops-DriftList' },
    ...checked.map(({ entry, severity }) => renderDriftModel(entry, severity, unfolded, actions)),
    unchecked.length
      ? h(
          'div',
          { class: 'mlops-card mlops-Unchecked' },
          h('div', { class: 'mlops-muted' }, 'Never checked (run %mlops_drift or mlops-nb drift check):'),
          ...unchecked.map(({ entry }) =>
            h(
              'div',
              {
                class: 'mlops-DriftModel mlops-severity-none',
                'data-testid': 'mlops-drift-model',
                'data-model-name': entry.model,
                'data-severity': 'none'
              },
              h('span', { class: 'mlops-Model-name' }, entry.model)
            )
          )
        )
      : null
  );
}

function columnFigure(column: IDriftColumn, open: ((column: IDriftColumn) => void) | null): HTMLElement {
  const severity = columnLevel(column);
  const stat =
    column.statistic === null || column.statistic === undefined
      ? ''
      : `${column.method ?? 'statistic'} ${formatNumber(column.statistic)}` +
        (column.threshold ? ` / ${formatNumber(column.threshold)}` : '');
  return h(
    'figure',
    {
      class: `mlops-DriftColumn mlops-severity-${severity}${open ? ' mlops-clickable' : ''}`,
      'data-column': column.column,
      'data-severity': severity,
      title: open ? `Open ${column.column} large, with every check and both sides' summaries` : null,
      role: open ? 'button' : null,
      tabindex: open ? 0 : null,
      onclick: open ? () => open(column) : null,
      onkeydown: open
        ? (event: Event) => {
            const key = (event as KeyboardEvent).key;
            if (key === 'Enter' || key === ' ') {
              event.preventDefault();
              open(column);
            }
          }
        : null
    },
    h(
      'figcaption',
      null,
      h('span', { class: 'mlops-DriftColumn-name', title: column.column }, column.column),
      h('span', { class: `mlops-verdict mlops-severity-${severity}` }, VERDICT[severity]),
      h('span', { class: 'mlops-muted mlops-small' }, stat)
    ),
    column.chart
      ? driftChart(column.column, column.chart, severity)
      : h('p', { class: 'mlops-muted mlops-small' }, column.reason ?? 'no chart for this column')
  );
}

/** One model's latest verdict with its column charts. */
export function renderDriftModel(
  entry: IDriftEntry,
  severity: Severity,
  unfolded: Set<string>,
  actions: IDriftActions | null = null
): HTMLElement {
  const latest = entry.drift?.latest ?? null;
  const chosen = entry.chosen && entry.chosen.check_id !== latest?.check_id ? entry.chosen : null;
  const report: IDriftReport | null = chosen ?? latest;
  const block = h(
    'section',
    {
      class: `mlops-DriftModel mlops-card mlops-severity-${severity}`,
      'data-testid': 'mlops-drift-model',
      'data-model-name': entry.model,
      'data-severity': severity
    },
    h(
      'header',
      { class: 'mlops-Model-header' },
      h('span', { class: 'mlops-Model-name', title: entry.model }, entry.model),
      h('span', { class: `mlops-verdict mlops-severity-${severity}` }, VERDICT[severity])
    )
  );
  if (entry.error) {
    block.appendChild(h('p', { class: 'mlops-error' }, entry.error));
  }
  if (!report) {
    return block;
  }
  const share = `${formatNumber(Math.round(report.drift_share * 1000) / 10)}% drift share`;
  const limit = report.share_threshold ? ` (limit ${formatNumber(report.share_threshold * 100)}%)` : '';
  const history = entry.drift?.history ?? [];
  if (history.length > 1 || entry.page) {
    const shown = entry.page?.checks ?? history.slice(-TIMELINE_CHECKS);
    block.appendChild(
      renderTimeline(
        shown,
        entry.drift?.alias_moves ?? [],
        report.check_id ?? null,
        {
          open: id => actions?.openCheck(entry, id),
          page: before => actions?.pageChecks(entry, before)
        },
        entry.page ? entry.page.more : history.length > TIMELINE_CHECKS,
        Boolean(entry.page)
      )
    );
  }
  if (chosen) {
    const level = reportLevel(chosen);
    block.appendChild(
      h(
        'div',
        { class: `mlops-Chosen mlops-small mlops-severity-${level}`, 'data-testid': 'mlops-drift-chosen', 'data-check-id': chosen.check_id },
        h('span', { class: `mlops-verdict mlops-severity-${level}` }, VERDICT[level]),
        ` Showing check #${chosen.check_id} of ${formatDateTime(chosen.at)}, not the latest · `,
        h(
          'button',
          {
            class: 'mlops-link mlops-small',
            'data-testid': 'mlops-drift-latest',
            onclick: () => actions?.openCheck(entry, latest?.check_id ?? chosen.latest_id)
          },
          'back to the latest'
        )
      )
    );
  }
  block.appendChild(
    h(
      'div',
      { class: 'mlops-muted mlops-small', 'data-testid': 'mlops-drift-checked' },
      `Checked v${report.version ?? '?'} · `,
      h('span', { title: relativeTime(report.at) }, formatDateTime(report.at)),
      ` (${relativeTime(report.at)}) · ${report.rows} rows · ${share}${limit}`,
      actions && report.check_id
        ? h(
            'a',
            {
              class: 'mlops-link mlops-ReportLink',
              'data-testid': 'mlops-drift-report-link',
              href: actions.reportUrl(entry.model, report.check_id),
              target: '_blank',
              rel: 'noopener noreferrer',
              title: 'The recorded check as a full report with its charts, in a new browser tab'
            },
            ' · full report ↗'
          )
        : null
    )
  );
  const holderNote = renderHolder(entry, report);
  if (holderNote) {
    block.appendChild(holderNote);
  }
  const notes = renderNotes(chosen ? chosen.alerts : (entry.drift?.alerts ?? []), report);
  if (notes) {
    block.appendChild(notes);
  }
  block.appendChild(
    h(
      'div',
      { class: 'mlops-Legend mlops-small mlops-muted' },
      h('span', { class: 'mlops-Legend-ref' }),
      ' reference (training data) · coloured: current data'
    )
  );
  const columns = orderColumns([...(report.columns ?? []), ...(report.prediction ? [report.prediction] : [])]);
  const open = actions ? (column: IDriftColumn) => actions.openColumn(entry, column, report) : null;
  const figure = (column: IDriftColumn) => columnFigure(column, open);
  const loud = columns.filter(c => ['drift', 'warning'].includes(columnLevel(c)));
  const quiet = columns.filter(c => !['drift', 'warning'].includes(columnLevel(c)));
  block.appendChild(h('div', { class: 'mlops-DriftColumns' }, ...loud.map(figure)));
  if (quiet.length) {
    const more = h(
      'details',
      { class: 'mlops-Section' },
      h('summary', null, `${quiet.length} column${quiet.length === 1 ? '' : 's'} without drift`),
      h('div', { class: 'mlops-DriftColumns' }, ...quiet.map(figure))
    );
    more.open = unfolded.has(entry.model);
    more.addEventListener('toggle', () => {
      if (more.open) {
        unfolded.add(entry.model);
      } else {
        unfolded.delete(entry.model);
      }
    });
    block.appendChild(more);
  }
  return block;
}

/**
 * When the default alias moved since the check: which version holds it now,
 * and when that one was last checked, or that it never was.
 */
function renderHolder(entry: IDriftEntry, report: IDriftReport): HTMLElement | null {
  const holder = entry.drift?.holder;
  if (!holder || holder.version === report.version) {
    return null;
  }
  const since = holder.last_checked_at
    ? `last checked ${formatDateTime(holder.last_checked_at)} (${relativeTime(holder.last_checked_at)})`
    : `never checked: run %mlops_drift ${entry.model}@${holder.alias} on fresh data`;
  return h(
    'p',
    { class: 'mlops-Holder mlops-small', 'data-testid': 'mlops-drift-holder' },
    `${holder.alias} is now v${holder.version}, ${since}.`
  );
}

/** Schema changes, performance with its numbers, and the alerts the check raised. */
function renderNotes(alerts: IDriftAlert[], report: IDriftReport): HTMLElement | null {
  const schema = report.schema ?? {};
  const items: HTMLElement[] = [];
  if (schema.missing?.length) {
    items.push(h('li', null, `missing columns: ${schema.missing.join(', ')}`));
  }
  for (const change of schema.dtype_changes ?? []) {
    items.push(h('li', null, `type changed: ${describeTypeChange(change)}`));
  }
  const performance = describePerformance(report.performance?.metrics);
  if (performance.length) {
    items.push(
      h(
        'li',
        null,
        report.performance?.degraded ? 'model performance degraded: ' : 'model performance: ',
        ...performance.flatMap((p, i) => [
          i ? '; ' : '',
          h('span', { class: p.degraded ? 'mlops-degraded' : '' }, p.text)
        ])
      )
    );
  } else if (report.performance?.degraded) {
    items.push(h('li', null, 'model performance degraded'));
  }
  for (const alert of alerts) {
    const delivered = alert.channels
      ? `delivered to ${alert.delivered} of ${alert.channels} channel${alert.channels === 1 ? '' : 's'}`
      : 'no alert channel configured';
    items.push(
      h(
        'li',
        { 'data-testid': 'mlops-drift-alert', title: alert.message },
        `alert #${alert.id} raised ${formatDateTime(alert.at)} (${delivered})`
      )
    );
  }
  return items.length ? h('ul', { class: 'mlops-Notes' }, ...items) : null;
}
