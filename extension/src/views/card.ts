/**
 * A version's model card in the Models tab: a "Model card" link under the
 * version shows what the store knows (data, metrics, tests, promotions,
 * drift) beside what people wrote (intended use, limitations, ethical
 * considerations, training procedure), which an editor changes in place.
 * The server checks every field and records each edit in the audit log; its
 * refusal is shown in the editor, whose draft is kept. "Markdown" downloads
 * the card as the server wrote it (skops' layout). Text reaches the page only
 * as text (see dom.ts).
 */
import { h } from '../dom';

/** The fields people write on a card, in the order it shows them. */
export const CARD_FIELDS = ['intended_use', 'limitations', 'ethical_considerations', 'training_procedure'] as const;
export type CardField = (typeof CARD_FIELDS)[number];

export const CARD_TITLES: Record<CardField, string> = {
  intended_use: 'Intended use',
  limitations: 'Limitations',
  ethical_considerations: 'Ethical considerations',
  training_procedure: 'Training procedure notes'
};

/** GET /models/{name}/versions/{version}/card, the parts the panel shows. */
export interface IModelCard {
  model: string;
  version: number;
  written: Record<CardField, string | null>;
  written_at: string | null;
  written_by: string | null;
  data: { sha256: string | null; schema: unknown[] };
  metrics: Record<string, number>;
  tests: { runs: number; passed: number };
  promotions: { alias: string; action: string; at: string }[];
  refusals: unknown[];
  drift: { checks: number; drifted: number; degraded: number };
  markdown: string;
}

/** The edit a save sends: only the fields that changed ('' clears one). */
export type ICardEdit = Partial<Record<CardField, string>>;

/** What the panel does for cards; each resolves to the card, or rejects with the reason. */
export interface ICardActions {
  load(model: string, version: number): Promise<IModelCard>;
  save(model: string, version: number, edit: ICardEdit): Promise<IModelCard>;
}

/** One version's card as the tab holds it, kept across re-renders (a refresh). */
export interface ICardState {
  card?: IModelCard;
  error?: string;
  loading?: boolean;
  /** the fields being edited, when editing */
  draft?: Record<CardField, string>;
  saving?: boolean;
}

/** The fields of `draft` that differ from what `card` holds (null when none does). */
export function cardEdit(card: IModelCard, draft: Record<CardField, string>): ICardEdit | null {
  const edit: ICardEdit = {};
  for (const field of CARD_FIELDS) {
    if ((card.written[field] ?? '') !== draft[field]) {
      edit[field] = draft[field];
    }
  }
  return Object.keys(edit).length ? edit : null;
}

/** Save `text` as a file named `name` (a link to a blob, clicked, then released). */
function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/markdown' }));
  const link = h('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function errorOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** The "Model card" link of a version and, once opened, its card or its editor. */
export function renderCard(
  model: string,
  version: number,
  actions: ICardActions,
  cards: Map<string, ICardState>
): HTMLElement {
  const key = `${model}\u0000${version}`;
  let node: HTMLElement = build();

  function repaint(): void {
    const fresh = build();
    node.replaceWith(fresh);
    node = fresh;
  }

  async function open(): Promise<void> {
    const state: ICardState = { loading: true };
    cards.set(key, state);
    repaint();
    try {
      state.card = await actions.load(model, version);
    } catch (reason) {
      state.error = errorOf(reason);
    }
    state.loading = false;
    repaint();
  }

  async function save(state: ICardState): Promise<void> {
    const edit = state.card && state.draft ? cardEdit(state.card, state.draft) : null;
    if (!edit) {
      state.draft = undefined;
      repaint();
      return;
    }
    state.saving = true;
    state.error = undefined;
    repaint();
    try {
      state.card = await actions.save(model, version, edit);
      state.draft = undefined;
    } catch (reason) {
      state.error = errorOf(reason);
    }
    state.saving = false;
    repaint();
  }

  function build(): HTMLElement {
    const state = cards.get(key);
    return h(
      'div',
      { class: 'mlops-Card', 'data-testid': 'mlops-card' },
      h(
        'button',
        {
          class: 'mlops-link mlops-small',
          'data-testid': 'mlops-card-open',
          'aria-expanded': state ? 'true' : 'false',
          title: `The model card of v${version} of ${model}`,
          onclick: () => {
            if (state) {
              cards.delete(key);
              repaint();
            } else {
              void open();
            }
          }
        },
        state ? '▾ Model card' : '▸ Model card'
      ),
      state ? body(state) : null
    );
  }

  function body(state: ICardState): HTMLElement {
    if (state.loading) {
      return h('p', { class: 'mlops-muted mlops-small' }, 'Loading the card…');
    }
    if (!state.card) {
      return h('p', { class: 'mlops-error mlops-small', 'data-testid': 'mlops-card-error', role: 'alert' }, state.error ?? '');
    }
    return state.draft ? editor(state, state.card, state.draft) : shown(state.card);
  }

  function shown(card: IModelCard): HTMLElement {
    const metrics = Object.entries(card.metrics)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const facts: [string, string][] = [
      ['Data', card.data.sha256 ? `${card.data.sha256.slice(0, 12)} · ${card.data.schema.length} columns` : 'not recorded'],
      ['Metrics', metrics || 'none'],
      ['Tests', card.tests.runs ? `${card.tests.passed} of ${card.tests.runs} runs passed` : 'never tested'],
      ['Promotions', `${card.promotions.length} (${card.refusals.length} refused)`],
      ['Drift', card.drift.checks ? `${card.drift.drifted} of ${card.drift.checks} checks found drift` : 'never checked']
    ];
    return h(
      'div',
      { class: 'mlops-CardBody', 'data-testid': 'mlops-card-body' },
      ...CARD_FIELDS.map(field =>
        h(
          'div',
          { class: 'mlops-CardField', 'data-testid': 'mlops-card-field', 'data-field': field },
          h('strong', null, CARD_TITLES[field]),
          card.written[field]
            ? h('p', { class: 'mlops-CardText', 'data-testid': 'mlops-card-text' }, card.written[field])
            : h('p', { class: 'mlops-muted mlops-small' }, 'Not written yet.')
        )
      ),
      h(
        'dl',
        { class: 'mlops-CardFacts mlops-small' },
        ...facts.flatMap(([term, value]) => [h('dt', null, term), h('dd', { 'data-testid': 'mlops-card-fact' }, value)])
      ),
      card.written_by ? h('p', { class: 'mlops-muted mlops-small' }, `Last written by ${card.written_by}`) : null,
      h(
        'div',
        { class: 'mlops-Annotations-actions' },
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small',
            'data-testid': 'mlops-card-edit',
            onclick: () => {
              const state = cards.get(key);
              if (state) {
                state.draft = Object.fromEntries(CARD_FIELDS.map(f => [f, card.written[f] ?? ''])) as Record<CardField, string>;
                repaint();
              }
            }
          },
          '✎ Edit card'
        ),
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small',
            'data-testid': 'mlops-card-markdown',
            title: "Download the card as Markdown (skops' model card layout)",
            onclick: () => download(`${model}-v${version}-card.md`, card.markdown)
          },
          'Markdown'
        )
      )
    );
  }

  function editor(state: ICardState, card: IModelCard, draft: Record<CardField, string>): HTMLElement {
    const label = `v${version} of ${model}`;
    return h(
      'div',
      { class: 'mlops-CardBody mlops-Annotations-editing', 'data-testid': 'mlops-card-editor' },
      ...CARD_FIELDS.map(field =>
        h(
          'label',
          { class: 'mlops-CardField' },
          h('strong', null, CARD_TITLES[field]),
          h(
            'textarea',
            {
              class: 'mlops-input mlops-Description-input',
              'data-testid': 'mlops-card-input',
              'data-field': field,
              'aria-label': `${CARD_TITLES[field]} of ${label}`,
              rows: 3,
              disabled: state.saving,
              oninput: (event: Event) => {
                draft[field] = (event.target as HTMLTextAreaElement).value;
              }
            },
            draft[field]
          )
        )
      ),
      state.error ? h('p', { class: 'mlops-error mlops-small', 'data-testid': 'mlops-card-error', role: 'alert' }, state.error) : null,
      h(
        'div',
        { class: 'mlops-Annotations-actions' },
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small mlops-button-primary',
            'data-testid': 'mlops-card-save',
            disabled: state.saving,
            onclick: () => void save(state)
          },
          state.saving ? 'Saving…' : 'Save'
        ),
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small',
            'data-testid': 'mlops-card-cancel',
            disabled: state.saving,
            onclick: () => {
              state.draft = undefined;
              state.error = undefined;
              repaint();
            }
          },
          'Cancel'
        )
      ),
      card.written_by ? null : h('p', { class: 'mlops-muted mlops-small' }, 'Each save is recorded in the audit log.')
    );
  }

  return node;
}
