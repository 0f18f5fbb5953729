/**
 * The Requests tab: promotion requests of protected aliases
 * (`GET /promotion-requests`), one state at a time, and the protected aliases
 * with their rule. Each request says who asked, for which version, the gate,
 * the approvals so far and any the gate refused, and how it was decided.
 *
 * Approve and reject are offered as the server's `actions` list them. The
 * server decides who may approve: asking for your own request's approval is
 * answered 403 and shown in the card's form with the other refusals (400 a
 * rejection without a note, 409 a request decided meanwhile or a gate that
 * fails now, with its conditions); the form stays open with what was typed.
 */
import { ApiError } from '../api';
import { h, replaceChildren } from '../dom';
import { formatDateTime, relativeTime } from '../logic';
import type { IPromotionRequest, IRequestsView } from '../types';

export const REQUEST_STATES = ['pending', 'approved', 'rejected', 'all'] as const;
export type RequestFilterState = (typeof REQUEST_STATES)[number];

/** What the tab's buttons do (the panel supplies them). */
export interface IRequestsActions {
  /** show another state */
  filter(state: RequestFilterState): void;
  /** approve; rejects with the server's refusal */
  approve(request: IPromotionRequest, note: string): Promise<void>;
  /** reject; rejects with the server's refusal */
  reject(request: IPromotionRequest, note: string): Promise<void>;
}

/** A refusal of the server in words, with what its status means. */
export function requestRefusal(reason: unknown): string {
  if (reason instanceof ApiError) {
    const meaning: Record<number, string> = {
      400: 'bad input',
      403: 'not allowed',
      404: 'not found',
      409: 'conflict'
    };
    const failures = reason.failures.length ? ` [${reason.failures.join('; ')}]` : '';
    const status = meaning[reason.status];
    return `${reason.message}${failures}${status ? ` (${status})` : ''}`;
  }
  return reason instanceof Error ? reason.message : String(reason);
}

/**
 * The person an actor names, as the server compares them for self-approval
 * (mlops_nb.registry.requests.person): `alice@laptop`, `Alice@server (jupyter)`
 * and `alice` are all `alice`.
 */
export function person(actor: string): string {
  let name = actor.trim();
  if (name.endsWith(' (jupyter)')) {
    name = name.slice(0, -' (jupyter)'.length);
  }
  return name.split('@', 1)[0].trim().toLowerCase();
}

function when(iso: string | null | undefined): HTMLElement {
  return h('span', { title: relativeTime(iso) }, formatDateTime(iso));
}

/** The approve or reject form of one request. */
export function renderDecisionForm(
  request: IPromotionRequest,
  kind: 'approve' | 'reject',
  actions: Pick<IRequestsActions, 'approve' | 'reject'>,
  close: () => void
): HTMLElement {
  const note = h('input', {
    class: 'jp-mod-styled',
    'data-testid': 'mlops-request-note',
    'aria-label': 'note',
    placeholder: kind === 'approve' ? 'note (optional)' : 'why (required, kept in the audit log)'
  });
  const error = h('p', { class: 'mlops-error mlops-small', 'data-testid': 'mlops-request-error', hidden: true });
  const submit = h(
    'button',
    { class: 'jp-mod-styled jp-mod-accept', 'data-testid': 'mlops-request-submit' },
    kind === 'approve' ? 'Approve' : 'Reject'
  );
  const effect =
    kind === 'approve'
      ? request.approvals.length + 1 >= request.approvers
        ? `Moves ${request.model}@${request.alias} to v${request.version} if its gate still passes.`
        : `Records approval ${request.approvals.length + 1} of ${request.approvers}; the alias moves at the last.`
      : 'Ends the request; the alias stays where it is.';
  submit.addEventListener('click', () => {
    const text = note.value.trim();
    if (kind === 'reject' && !text) {
      error.textContent = 'a rejection needs a note saying why';
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    error.hidden = true;
    (kind === 'approve' ? actions.approve(request, text) : actions.reject(request, text)).then(
      () => close(),
      (reason: unknown) => {
        submit.disabled = false;
        error.textContent = requestRefusal(reason);
        error.hidden = false;
      }
    );
  });
  return h(
    'div',
    {
      class: 'mlops-Dialog mlops-AlertForm',
      role: 'dialog',
      'aria-label': `${kind === 'approve' ? 'Approve' : 'Reject'} promotion request ${request.request_id}`,
      'data-testid': 'mlops-request-form',
      'data-kind': kind
    },
    h('p', { class: 'mlops-muted mlops-small', 'data-testid': 'mlops-request-effect' }, effect),
    h('label', { class: 'mlops-Field' }, h('span', { class: 'mlops-Field-label' }, 'Note'), note),
    error,
    h(
      'div',
      { class: 'mlops-Row' },
      submit,
      ' ',
      h('button', { class: 'jp-mod-styled', 'data-testid': 'mlops-request-cancel', onclick: close }, 'Cancel')
    )
  );
}

/** One request's card. */
export function renderRequest(request: IPromotionRequest, actions: IRequestsActions, me = ''): HTMLElement {
  const formSlot = h('div', { class: 'mlops-AlertFormSlot' });
  const open = (kind: 'approve' | 'reject') => {
    replaceChildren(formSlot, renderDecisionForm(request, kind, actions, () => replaceChildren(formSlot)));
    (formSlot.querySelector('input') as HTMLElement | null)?.focus();
  };
  const mine = me !== '' && person(me) === person(request.requested_by);
  const buttons = request.actions.map(action =>
    h(
      'button',
      {
        class: 'jp-mod-styled mlops-small',
        'data-testid': `mlops-request-${action}`,
        title: action === 'approve' && mine ? 'You asked for this promotion: the server allows it only when the protection does' : '',
        onclick: () => open(action)
      },
      action === 'approve' ? 'Approve…' : 'Reject…'
    )
  );
  const step = (by: string, at: string, note: string | null, what: string, testid: string) =>
    h('div', { class: 'mlops-small', 'data-testid': testid }, `${what} by ${by} `, when(at), note ? `: “${note}”` : '');
  return h(
    'section',
    {
      class: `mlops-Alert mlops-card mlops-request-${request.state}`,
      'data-testid': 'mlops-request',
      'data-request-id': request.request_id,
      'data-state': request.state
    },
    h(
      'header',
      { class: 'mlops-Model-header' },
      h('span', { class: 'mlops-Model-name', title: request.model }, `${request.model}@${request.alias}`),
      h(
        'span',
        { class: 'mlops-muted mlops-small' },
        ` #${request.request_id} · v${request.from_version ?? '–'} → v${request.version} · `
      ),
      h('span', { class: 'mlops-verdict', 'data-testid': 'mlops-request-state' }, request.state),
      h(
        'span',
        { class: 'mlops-small', 'data-testid': 'mlops-request-count' },
        ` ${request.approvals.length}/${request.approvers} approved`
      )
    ),
    h(
      'div',
      { class: 'mlops-muted mlops-small' },
      `asked by ${request.requested_by}${mine ? ' (you)' : ''} `,
      when(request.requested_at),
      request.reason ? `: “${request.reason}”` : ''
    ),
    request.require ? h('div', { class: 'mlops-small', 'data-testid': 'mlops-request-gate' }, `gate: ${request.require}`) : null,
    ...request.approvals.map(a => step(a.by, a.at, a.note, 'approved', 'mlops-request-approval')),
    ...request.refusals.map(r =>
      h(
        'div',
        { class: 'mlops-small mlops-error', 'data-testid': 'mlops-request-refusal' },
        `approval by ${r.by} refused by the gate `,
        when(r.at),
        `: ${r.failures.join('; ')}`
      )
    ),
    request.state === 'rejected' && request.decided_by && request.decided_at
      ? step(request.decided_by, request.decided_at, request.note, 'rejected', 'mlops-request-decided')
      : null,
    buttons.length ? h('div', { class: 'mlops-Row' }, ...buttons) : null,
    formSlot
  );
}

/** The whole tab: the state filter, the protected aliases, the requests. */
export function renderRequests(
  view: IRequestsView,
  state: RequestFilterState,
  actions: IRequestsActions
): HTMLElement {
  const select = h(
    'select',
    { class: 'jp-mod-styled', 'data-testid': 'mlops-requests-state', 'aria-label': 'state' },
    ...REQUEST_STATES.map(value => h('option', { value, selected: value === state }, value))
  );
  select.addEventListener('change', () => actions.filter(select.value as RequestFilterState));
  const what = state === 'all' ? 'promotion requests' : `${state} promotion requests`;
  return h(
    'div',
    { class: 'mlops-Alerts', 'data-testid': 'mlops-requests' },
    h('div', { class: 'mlops-Toolbar' }, h('label', { class: 'mlops-small' }, 'State ', select)),
    h(
      'p',
      { class: 'mlops-muted mlops-small', 'data-testid': 'mlops-protections' },
      view.protections.length
        ? 'Protected: ' +
            view.protections
              .map(p => `${p.model}@${p.alias} (${p.approvers} approver${p.approvers === 1 ? '' : 's'}${p.allow_self_approval ? ', self-approval allowed' : ''})`)
              .join(', ')
        : 'No alias is protected (mlops-nb alias protect NAME ALIAS).'
    ),
    view.requests.length === 0
      ? h('p', { class: 'mlops-muted', 'data-testid': 'mlops-requests-empty' }, `No ${what}.`)
      : h('p', { class: 'mlops-muted mlops-small' }, `${view.requests.length} ${what}, newest first; you are ${view.actor}`),
    ...view.requests.map(request => renderRequest(request, actions, view.actor))
  );
}
