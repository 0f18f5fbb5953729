/**
 * The Models tab: per model its versions with key metrics, which version
 * holds each alias (with a roll-back button), and the alias history.
 */
import { h } from '../dom';
import {
  describeAliasChange,
  describeProducer,
  formatDateTime,
  formatNumber,
  metricColumns,
  orderAliasHistory,
  relativeTime,
  shortId
} from '../logic';
import type {
  IAliasChange,
  IAliasHolder,
  IModelDetail,
  IModelSummary,
  IModelVersion
} from '../types';

/** One model as the tab shows it: the summary, and its detail once loaded. */
export interface IModelEntry {
  summary: IModelSummary;
  detail: IModelDetail | null;
  /** why the detail could not be loaded */
  error?: string;
}

/** What the buttons of the tab do; the panel supplies dialogs and requests. */
export interface IModelsActions {
  promote(model: string, version: number): void;
  rollback(model: string, holder: IAliasHolder): void;
  openRun(runId: string): void;
}

/** State that survives re-rendering. */
export interface IModelsState {
  /** models whose alias history the user folded away */
  foldedHistory: Set<string>;
}

/** The whole tab. */
export function renderModels(
  entries: IModelEntry[],
  actions: IModelsActions,
  state: IModelsState
): HTMLElement {
  if (entries.length === 0) {
    return h(
      'div',
      { class: 'mlops-Empty' },
      h('p', null, 'No models yet.'),
      h(
        'p',
        { class: 'mlops-muted' },
        'Track one from a notebook with %%mlops_track NAME, or mlops_nb.track(...).'
      )
    );
  }
  return h(
    'div',
    { class: 'mlops-Models' },
    ...entries.map(entry => renderModel(entry, actions, state))
  );
}

/** One model block. */
export function renderModel(
  entry: IModelEntry,
  actions: IModelsActions,
  state: IModelsState
): HTMLElement {
  const { summary, detail } = entry;
  const name = summary.name;
  const count = `${summary.versions} version${summary.versions === 1 ? '' : 's'}`;
  const block = h(
    'section',
    { class: 'mlops-Model mlops-card', 'data-testid': 'mlops-model', 'data-model-name': name },
    h(
      'header',
      { class: 'mlops-Model-header' },
      h('span', { class: 'mlops-Model-name', 'data-testid': 'mlops-model-name', title: name }, name),
      h('span', { class: 'mlops-muted' }, count)
    ),
    renderAliases(name, holdersOf(entry), actions)
  );
  if (entry.error) {
    block.appendChild(h('p', { class: 'mlops-error' }, entry.error));
  }
  if (detail) {
    block.appendChild(renderVersions(name, detail.versions, actions));
    if (detail.history.length) {
      block.appendChild(renderHistory(name, detail.history, actions, state));
    }
  }
  return block;
}

/** The holders the server listed (with their rollback targets), else the summary's. */
function holdersOf(entry: IModelEntry): IAliasHolder[] {
  if (entry.detail?.aliases) {
    return entry.detail.aliases;
  }
  return Object.entries(entry.summary.aliases ?? {}).map(([alias, version]) => ({
    alias,
    version,
    rollback_to: null
  }));
}

function renderAliases(
  model: string,
  holders: IAliasHolder[],
  actions: IModelsActions
): HTMLElement {
  if (holders.length === 0) {
    return h('div', { class: 'mlops-Aliases mlops-muted' }, 'No alias yet: promote a version.');
  }
  return h(
    'div',
    { class: 'mlops-Aliases' },
    ...holders.map(holder =>
      h(
        'span',
        {
          class: 'mlops-Alias',
          'data-testid': 'mlops-alias',
          'data-alias': holder.alias,
          'data-version': holder.version
        },
        h('span', { class: 'mlops-Alias-label' }, `${holder.alias} → v${holder.version}`),
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small',
            'data-testid': 'mlops-rollback',
            disabled: holder.rollback_to === null,
            title:
              holder.rollback_to === null
                ? `nothing earlier to return to: no version held ${holder.alias} before v${holder.version}`
                : `Return ${holder.alias} to v${holder.rollback_to}, which held it before`,
            'aria-label': `Roll back ${holder.alias}`,
            onclick: () => actions.rollback(model, holder)
          },
          '↶ Roll back'
        )
      )
    )
  );
}

function renderVersions(
  model: string,
  versions: IModelVersion[],
  actions: IModelsActions
): HTMLElement {
  const newestFirst = [...versions].sort((a, b) => b.version - a.version);
  // The same metric columns on every row, named once above them, so versions
  // compare by reading down a column.
  const columns = metricColumns(newestFirst);
  const grid = h(
    'div',
    {
      class: 'mlops-Versions',
      style: `--mlops-metric-columns: ${columns.length}`
    },
    columns.length
      ? h(
          'div',
          { class: 'mlops-VersionHead mlops-muted mlops-small', 'data-testid': 'mlops-metric-head' },
          h('span', null, ''),
          ...columns.map(name => h('span', { class: 'mlops-metric', title: name }, name))
        )
      : null
  );
  newestFirst.forEach(v => {
    grid.appendChild(
      h(
        'div',
        { class: 'mlops-Version', 'data-testid': 'mlops-version', 'data-version': v.version },
        h(
          'div',
          { class: 'mlops-Version-main' },
          h('span', { class: 'mlops-Version-number' }, `v${v.version}`),
          ...columns.map(name => {
            const value = v.metrics?.[name];
            return h(
              'span',
              {
                class: 'mlops-metric',
                'data-metric': name,
                title: typeof value === 'number' ? `${name} = ${value}` : `no ${name}`
              },
              typeof value === 'number' ? formatNumber(value) : '–'
            );
          }),
          columns.length ? null : h('span', { class: 'mlops-muted' }, 'no metrics'),
          h(
            'span',
            { class: 'mlops-Version-end' },
            ...(v.aliases ?? []).map(alias => h('span', { class: 'mlops-tag mlops-tag-alias' }, alias)),
            h(
              'button',
              {
                class: 'mlops-button mlops-button-small mlops-Version-promote',
                'data-testid': 'mlops-promote',
                title: `Move an alias of ${model} to v${v.version}`,
                onclick: () => actions.promote(model, v.version)
              },
              'Promote…'
            )
          )
        ),
        h(
          'div',
          { class: 'mlops-muted mlops-small' },
          h('span', { title: formatDateTime(v.created_at) }, relativeTime(v.created_at)),
          v.created_by ? ` by ${v.created_by}` : '',
          v.estimator
            ? h(
                'span',
                { 'data-testid': 'mlops-estimator', title: v.estimator },
                ' · estimator ',
                v.estimator_name ?? v.estimator
              )
            : null
        ),
        renderProducer(v, actions)
      )
    );
  });
  return grid;
}

/** "from train_churn.ipynb, step train of pipeline retrain_churn · run 1a2b3c4d". */
function renderProducer(version: IModelVersion, actions: IModelsActions): HTMLElement | null {
  const producer = version.produced_by;
  const text = describeProducer(producer);
  if (!producer || !text) {
    return null;
  }
  return h(
    'div',
    { class: 'mlops-muted mlops-small mlops-Producer', 'data-testid': 'mlops-produced-by' },
    `${producer.notebook || producer.pipeline || producer.schedule ? `from ${text}` : text} · `,
    h(
      'button',
      {
        class: 'mlops-link',
        title: `Show run ${producer.run_id}`,
        onclick: () => actions.openRun(producer.run_id)
      },
      `run ${shortId(producer.run_id)}`
    )
  );
}

function renderHistory(
  model: string,
  history: IAliasChange[],
  actions: IModelsActions,
  state: IModelsState
): HTMLElement {
  const ordered = orderAliasHistory(history);
  const details = h(
    'details',
    { class: 'mlops-AliasHistory', 'data-testid': 'mlops-alias-history' },
    h('summary', null, `Alias history (${ordered.length})`)
  );
  details.open = !state.foldedHistory.has(model);
  details.addEventListener('toggle', () => {
    if (details.open) {
      state.foldedHistory.delete(model);
    } else {
      state.foldedHistory.add(model);
    }
  });
  details.appendChild(
    h(
      'ol',
      { class: 'mlops-Timeline' },
      ...ordered.map(change =>
        h(
          'li',
          {
            class: `mlops-Timeline-event mlops-action-${change.action}`,
            'data-testid': 'mlops-alias-event',
            'data-alias': change.alias,
            'data-action': change.action
          },
          h('time', { datetime: change.at, class: 'mlops-muted mlops-small' }, formatDateTime(change.at)),
          h(
            'div',
            null,
            h('span', { class: `mlops-tag mlops-tag-${change.action}` }, change.action),
            ' ',
            describeAliasChange(change),
            change.actor ? h('span', { class: 'mlops-muted' }, ` by ${change.actor}`) : null
          ),
          change.reason ? h('div', { class: 'mlops-small' }, `“${change.reason}”`) : null,
          change.gate ? h('div', { class: 'mlops-small mlops-muted' }, `gate: ${change.gate}`) : null,
          change.failures?.length
            ? h(
                'ul',
                { class: 'mlops-small mlops-Failures', 'aria-label': 'failed conditions' },
                ...change.failures.map(failure => h('li', null, failure))
              )
            : null,
          change.run_id
            ? h(
                'button',
                {
                  class: 'mlops-link mlops-small',
                  onclick: () => actions.openRun(change.run_id as string)
                },
                `run ${shortId(change.run_id)}`
              )
            : null
        )
      )
    )
  );
  return details;
}
