/**
 * A version's description and tags in the Models tab: shown under the
 * version, edited in place (save or cancel). The server checks every value
 * and records each edit in the audit log; its refusal is shown in the editor,
 * whose draft is kept so the user can correct it.
 */
import { h } from '../dom';
import { annotationRequest, draftOf, type IAnnotationDraft } from '../logic';
import type { IAnnotateRequest, IModelVersion } from '../types';

/** An edit in progress, kept across re-renders of the tab (a refresh). */
export interface IEditDraft extends IAnnotationDraft {
  /** the tag being typed, not added yet */
  newKey: string;
  newValue: string;
  /** the server's refusal of the last save */
  error?: string;
  saving?: boolean;
}

/** What saving does: the panel sends the request; the answer is an error text or null. */
export type AnnotateAction = (model: string, version: number, request: IAnnotateRequest) => Promise<string | null>;

/** The key of a version in the editors' state. */
export function editKey(model: string, version: number): string {
  return `${model}\u0000${version}`;
}

/** The description, the tags and the edit button of a version, or its editor while editing. */
export function renderAnnotations(
  model: string,
  version: IModelVersion,
  annotate: AnnotateAction,
  editing: Map<string, IEditDraft>
): HTMLElement {
  let node: HTMLElement = build();

  function repaint(): void {
    const fresh = build();
    node.replaceWith(fresh);
    node = fresh;
  }

  function build(): HTMLElement {
    const draft = editing.get(editKey(model, version.version));
    return draft ? editor(draft) : shown();
  }

  function shown(): HTMLElement {
    const tags = Object.entries(version.tags ?? {});
    return h(
      'div',
      { class: 'mlops-Annotations', 'data-testid': 'mlops-version-annotations' },
      version.description
        ? h('p', { class: 'mlops-Description', 'data-testid': 'mlops-version-description' }, version.description)
        : null,
      tags.length
        ? h(
            'div',
            { class: 'mlops-VersionTags' },
            ...tags.map(([key, value]) =>
              h(
                'span',
                {
                  class: 'mlops-tag mlops-VersionTag',
                  'data-testid': 'mlops-version-tag',
                  'data-tag-key': key,
                  title: `${key} = ${value}`
                },
                value ? `${key}: ${value}` : key
              )
            )
          )
        : null,
      h(
        'button',
        {
          class: 'mlops-link mlops-small',
          'data-testid': 'mlops-annotate-edit',
          title: `Describe or tag v${version.version} of ${model} (recorded in the audit log)`,
          onclick: () => {
            editing.set(editKey(model, version.version), { ...draftOf(version), newKey: '', newValue: '' });
            repaint();
            (node.querySelector('textarea') as HTMLTextAreaElement | null)?.focus();
          }
        },
        version.description || tags.length ? '✎ Edit description and tags' : '✎ Describe or tag'
      )
    );
  }

  function addTag(draft: IEditDraft): void {
    const key = draft.newKey.trim();
    if (!key) {
      draft.error = 'A tag needs a key.';
      repaint();
      return;
    }
    const at = draft.tags.findIndex(([k]) => k === key);
    if (at >= 0) {
      draft.tags[at] = [key, draft.newValue];
    } else {
      draft.tags.push([key, draft.newValue]);
    }
    draft.newKey = '';
    draft.newValue = '';
    draft.error = undefined;
    repaint();
    (node.querySelector('[data-testid="mlops-annotate-key"]') as HTMLInputElement | null)?.focus();
  }

  async function save(draft: IEditDraft): Promise<void> {
    if (draft.newKey.trim()) {
      addTag(draft); // a tag typed but not added is meant to be saved too
    }
    const request = annotationRequest(version, draft);
    if (!request) {
      editing.delete(editKey(model, version.version));
      repaint();
      return;
    }
    draft.saving = true;
    draft.error = undefined;
    repaint();
    const error = await annotate(model, version.version, request);
    draft.saving = false;
    if (error === null) {
      editing.delete(editKey(model, version.version));
    } else {
      draft.error = error;
    }
    if (node.isConnected) {
      repaint();
    }
  }

  function editor(draft: IEditDraft): HTMLElement {
    const label = `v${version.version} of ${model}`;
    const enter = (event: Event) => {
      if ((event as KeyboardEvent).key === 'Enter') {
        event.preventDefault();
        addTag(draft);
      }
    };
    return h(
      'div',
      { class: 'mlops-Annotations mlops-Annotations-editing', 'data-testid': 'mlops-annotate-editor' },
      h(
        'textarea',
        {
          class: 'mlops-input mlops-Description-input',
          'data-testid': 'mlops-annotate-description',
          'aria-label': `Description of ${label}`,
          placeholder: 'What is this version? (e.g. retrained on March data)',
          rows: 3,
          disabled: draft.saving,
          oninput: (event: Event) => {
            draft.description = (event.target as HTMLTextAreaElement).value;
          }
        },
        draft.description
      ),
      h(
        'div',
        { class: 'mlops-VersionTags', 'aria-label': `Tags of ${label}` },
        ...draft.tags.map(([key, value]) =>
          h(
            'span',
            { class: 'mlops-tag mlops-VersionTag', 'data-testid': 'mlops-annotate-tag', 'data-tag-key': key },
            value ? `${key}: ${value}` : key,
            h(
              'button',
              {
                class: 'mlops-TagRemove',
                'data-testid': 'mlops-annotate-untag',
                'aria-label': `Remove tag ${key}`,
                title: `Remove tag ${key}`,
                disabled: draft.saving,
                onclick: () => {
                  draft.tags = draft.tags.filter(([k]) => k !== key);
                  repaint();
                }
              },
              '×'
            )
          )
        )
      ),
      h(
        'div',
        { class: 'mlops-TagAdd' },
        ...(['newKey', 'newValue'] as const).map(field =>
          h('input', {
            class: 'mlops-input',
            'data-testid': field === 'newKey' ? 'mlops-annotate-key' : 'mlops-annotate-value',
            'aria-label': `New tag ${field === 'newKey' ? 'key' : 'value'} for ${label}`,
            placeholder: field === 'newKey' ? 'tag' : 'value',
            value: draft[field],
            disabled: draft.saving,
            oninput: (event: Event) => {
              draft[field] = (event.target as HTMLInputElement).value;
            },
            onkeydown: enter
          })
        ),
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small',
            'data-testid': 'mlops-annotate-add',
            disabled: draft.saving,
            onclick: () => addTag(draft)
          },
          'Add tag'
        )
      ),
      draft.error ? h('p', { class: 'mlops-error mlops-small', 'data-testid': 'mlops-annotate-error', role: 'alert' }, draft.error) : null,
      h(
        'div',
        { class: 'mlops-Annotations-actions' },
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small mlops-button-primary',
            'data-testid': 'mlops-annotate-save',
            disabled: draft.saving,
            onclick: () => void save(draft)
          },
          draft.saving ? 'Saving…' : 'Save'
        ),
        h(
          'button',
          {
            class: 'mlops-button mlops-button-small',
            'data-testid': 'mlops-annotate-cancel',
            disabled: draft.saving,
            onclick: () => {
              editing.delete(editKey(model, version.version));
              repaint();
            }
          },
          'Cancel'
        )
      )
    );
  }

  return node;
}
