/**
 * The Models tab: per model its versions with key metrics, which version
 * holds each alias (with a roll-back button), and the alias history.
 */
import { h } from '../dom';
import {
  aliasHolders,
  describeAliasChange,
  formatDateTime,
  keyMetrics,
  orderAliasHistory,
  relativeTime,
  shortId
} from '../logic';
import type { IAliasChange, IModelDetail, IModelSummary, IModelVersion } from '../types';

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
  rollback(model: string, alias: string): void;
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
    renderAliases(name, summary.aliases, actions)
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

function renderAliases(
  model: string,
  aliases: Record<string, number>,
  actions: IModelsActions
): HTMLElement {
  const holders = aliasHolders(aliases);
  if (holders.length === 0) {
    return h('div', { class: 'mlops-Aliases mlops-muted' }, 'No alias yet: promote a version.');
  }
  return h(
    'div',
    { class: 'mlops-Aliases' },
    ...holders.map(([alias, version]) =>
      h(
        'span',
        {
          class: 'mlops-Alias',
          'data-testid': 'mlops-alias',
          'data-alias': alias,
          'data-version': version
        },
        h('span', { class: 'mlops-Alias-label' }, `${alias} → v${version}`),
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small',
            'data-testid': 'mlops-rollback',
            title: `Return ${alias} to the version that held it before`,
            'aria-label': `Roll back ${alias}`,
            onclick: () => actions.rollback(model, alias)
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
  return h(
    'div',
    { class: 'mlops-Versions' },
    ...newestFirst.map(v => {
      const metrics = keyMetrics(v.metrics, 3);
      return h(
        'div',
        { class: 'mlops-Version', 'data-testid': 'mlops-version', 'data-version': v.version },
        h(
          'div',
          { class: 'mlops-Version-main' },
          h('span', { class: 'mlops-Version-number' }, `v${v.version}`),
          metrics.length
            ? h(
                'span',
                { class: 'mlops-Version-metrics' },
                ...metrics.map(([key, value]) =>
                  h('span', { class: 'mlops-metric' }, h('span', { class: 'mlops-muted' }, `${key} `), value)
                )
              )
            : h('span', { class: 'mlops-muted' }, 'no metrics'),
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
        ),
        h(
          'div',
          { class: 'mlops-muted mlops-small' },
          h('span', { title: formatDateTime(v.created_at) }, relativeTime(v.created_at)),
          v.created_by ? ` by ${v.created_by}` : '',
          v.estimator ? ` · ${v.estimator.split('.').pop()}` : '',
          v.run_id ? ' · ' : '',
          v.run_id
            ? h(
                'button',
                {
                  class: 'mlops-link',
                  title: `Show run ${v.run_id}`,
                  onclick: () => actions.openRun(v.run_id as string)
                },
                `run ${shortId(v.run_id)}`
              )
            : null
        )
      );
    })
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
            h('span', { class: 'mlops-tag' }, change.action),
            ' ',
            describeAliasChange(change),
            change.actor ? h('span', { class: 'mlops-muted' }, ` by ${change.actor}`) : null
          ),
          change.reason ? h('div', { class: 'mlops-small' }, `“${change.reason}”`) : null,
          change.gate ? h('div', { class: 'mlops-small mlops-muted' }, `gate: ${change.gate}`) : null,
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
