/**
 * The Models tab: per model its versions with key metrics, which version
 * holds each alias (with a roll-back button), and the alias history.
 */
import { h } from '../dom';
import { renderAnnotations, type AnnotateAction, type IEditDraft } from './annotate';
import { renderCard, type ICardActions, type ICardState } from './card';
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
  IModelVersion,
  ISchemaColumn
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
  /** open the runs that registered these versions side by side (oldest version first) */
  compareVersions(model: string, runIds: string[]): void;
  /** a version's input columns (the tab's document has only their number); rejects with the reason */
  loadSchema(model: string, version: number): Promise<ISchemaColumn[]>;
  /** save a version's description and tags; resolves to the server's refusal, or null */
  annotate: AnnotateAction;
  /** read and edit model cards (no "Model card" link without it) */
  card?: ICardActions;
}

/** State that survives re-rendering. */
export interface IModelsState {
  /** models whose alias history the user folded away */
  foldedHistory: Set<string>;
  /** versions ticked for comparison, per model */
  compareVersions?: Map<string, Set<number>>;
  /** descriptions and tags being edited, by version */
  editing?: Map<string, IEditDraft>;
  /** model cards opened, by version */
  cards?: Map<string, ICardState>;
  /** input columns loaded so far, by version (they never change) */
  schemas?: Map<string, ISchemaColumn[]>;
}

/** How many versions can be compared at once (as GET /runs/compare takes runs). */
export const MAX_COMPARED_VERSIONS = 10;

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
    block.appendChild(renderVersions(name, detail.versions, actions, state));
    block.appendChild(renderCompareBar(name, detail.versions, actions, state));
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

function tickedOf(state: IModelsState, model: string): Set<number> {
  if (!state.compareVersions) {
    state.compareVersions = new Map();
  }
  let ticked = state.compareVersions.get(model);
  if (!ticked) {
    ticked = new Set();
    state.compareVersions.set(model, ticked);
  }
  return ticked;
}

/** The versions ticked for comparison that still exist and have a run, oldest first. */
export function versionsToCompare(versions: IModelVersion[], ticked: Set<number>): IModelVersion[] {
  return versions.filter(v => ticked.has(v.version) && v.run_id).sort((a, b) => a.version - b.version);
}

/** "Compare" under the versions: enabled once two versions with runs are ticked. */
function renderCompareBar(
  model: string,
  versions: IModelVersion[],
  actions: IModelsActions,
  state: IModelsState
): HTMLElement {
  const chosen = versionsToCompare(versions, tickedOf(state, model));
  const enough = chosen.length >= 2;
  return h(
    'div',
    { class: 'mlops-CompareVersions mlops-small' },
    h(
      'button',
      {
        class: 'mlops-button mlops-button-small',
        'data-testid': 'mlops-compare-versions',
        disabled: !enough,
        title: enough
          ? `Open ${chosen.map(v => `v${v.version}`).join(', ')} side by side: parameters, metrics, data and code`
          : 'Tick two or more versions to compare them',
        onclick: () => actions.compareVersions(model, chosen.map(v => v.run_id as string))
      },
      enough ? `Compare ${chosen.map(v => `v${v.version}`).join(' · ')}` : 'Compare versions'
    )
  );
}

/**
 * A version's input columns and their types, folded away until asked for: the
 * tab's document says how many there are, the columns are loaded on unfolding.
 */
function renderSchema(
  model: string,
  version: IModelVersion,
  actions: IModelsActions,
  state: IModelsState
): HTMLElement | null {
  const count = version.signature?.length ?? version.schema_columns ?? 0;
  if (!count) {
    return null;
  }
  const schemas = (state.schemas ??= new Map());
  const key = `${model}\u0000${version.version}`;
  const details = h(
    'details',
    { class: 'mlops-Schema mlops-small', 'data-testid': 'mlops-version-schema' },
    h('summary', null, `Input schema (${count} column${count === 1 ? '' : 's'})`)
  );
  const known = version.signature ?? schemas.get(key);
  if (known) {
    details.appendChild(schemaTable(known));
    return details;
  }
  details.addEventListener('toggle', () => {
    if (!details.open || details.querySelector('table, [data-testid="mlops-schema-loading"]')) {
      return;
    }
    const note = h('p', { class: 'mlops-muted', 'data-testid': 'mlops-schema-loading' }, 'Loading…');
    details.appendChild(note);
    actions.loadSchema(model, version.version).then(
      columns => {
        schemas.set(key, columns);
        note.replaceWith(schemaTable(columns));
      },
      (reason: unknown) => {
        note.replaceWith(
          h('p', { class: 'mlops-error' }, `Could not load the input schema: ${reason instanceof Error ? reason.message : String(reason)}`)
        );
      }
    );
  });
  return details;
}

function schemaTable(columns: ISchemaColumn[]): HTMLElement {
  return h(
    'table',
    { class: 'mlops-Schema-table' },
    h(
      'tbody',
      null,
      ...columns.map(c =>
        h(
          'tr',
          { 'data-testid': 'mlops-schema-column', 'data-column': c.name },
          h('td', { class: 'mlops-Schema-name', title: c.name }, c.name),
          h('td', { class: 'mlops-muted' }, c.dtype)
        )
      )
    )
  );
}

function renderVersions(
  model: string,
  versions: IModelVersion[],
  actions: IModelsActions,
  state: IModelsState
): HTMLElement {
  const ticked = tickedOf(state, model);
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
          h(
            'span',
            { class: 'mlops-Version-number' },
            h('input', {
              type: 'checkbox',
              class: 'mlops-Version-check',
              'data-testid': 'mlops-version-check',
              'aria-label': `Compare v${v.version} of ${model}`,
              title: v.run_id ? `Tick to compare v${v.version}` : 'no run recorded for this version: nothing to compare',
              disabled: !v.run_id || (!ticked.has(v.version) && ticked.size >= MAX_COMPARED_VERSIONS),
              checked: ticked.has(v.version),
              onchange: (event: Event) => {
                if ((event.target as HTMLInputElement).checked) {
                  ticked.add(v.version);
                } else {
                  ticked.delete(v.version);
                }
                const bar = grid.parentElement?.querySelector('.mlops-CompareVersions');
                bar?.replaceWith(renderCompareBar(model, versions, actions, state));
              }
            }),
            `v${v.version}`
          ),
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
        renderAnnotations(model, v, actions.annotate, (state.editing ??= new Map())),
        actions.card ? renderCard(model, v.version, actions.card, (state.cards ??= new Map())) : null,
        renderProducer(v, actions),
        renderSchema(model, v, actions, state)
      )
    );
  });
  return grid;
}

/** "from train_churn.ipynb, step train of pipeline retrain_churn · run 1a2b3c4d". */
function renderProducer(version: IModelVersion, actions: IModelsActions): HTMLElement | null {
  const producer = version.produced_by;
  const text = describeProducer(producer);
  const runId = version.run_id ?? producer?.run_id;
  if (!producer || !text || !runId) {
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
        title: `Show run ${runId}`,
        onclick: () => actions.openRun(runId)
      },
      `run ${shortId(runId)}`
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
