/**
 * The Alerts tab: the alert inbox (`GET /alerts`), one state at a time,
 * optionally of one model. Each alert shows what it is about, how often it
 * recurred, who acknowledged and resolved it with their notes, the decision
 * and what it did (the retrain run, the alias move, the silence, the new
 * reference), and the latest check's charts one click away.
 *
 * The buttons are those the server lists in the item's `actions`: the tab
 * never works out itself what an alert in some state allows. Acknowledging
 * and resolving open a form in the alert's card that says what the chosen
 * decision will do; a refusal of the server (400, 409) is shown in the form,
 * which stays open with what was typed.
 */
import { ApiError } from '../api';
import { h, replaceChildren } from '../dom';
import { formatDateTime, relativeTime } from '../logic';
import type { AlertDecision, IInboxItem, IResolveRequest } from '../types';

/** The states the filter offers, `all` last. */
export const ALERT_STATES = ['open', 'acknowledged', 'resolved', 'silenced', 'all'] as const;
export type AlertFilterState = (typeof ALERT_STATES)[number];

export const DECISIONS: AlertDecision[] = ['retrain', 'rollback', 'ignore', 'rebaseline'];

/** What the list shows: a state and, optionally, one model. */
export interface IAlertsFilter {
  state: AlertFilterState;
  model: string;
}

/** What the tab's buttons and links do (the panel supplies them). */
export interface IAlertsActions {
  /** show the list for another filter */
  filter(filter: IAlertsFilter): void;
  /** acknowledge; rejects with the server's refusal */
  ack(alert: IInboxItem, note: string): Promise<void>;
  /** resolve with a decision; rejects with the server's refusal */
  resolve(alert: IInboxItem, request: IResolveRequest): Promise<void>;
  /** where a recorded check's standalone HTML report is served */
  reportUrl(model: string, checkId: number): string;
  /** switch to the Drift tab with this check shown */
  openCheck(model: string, checkId: number): void;
  /** select a run on the Runs tab */
  openRun(runId: string): void;
}

/** What a decision will do, in words, before it is taken. */
export function decisionEffect(decision: AlertDecision, alert: IInboxItem, alias = 'production'): string {
  const model = alert.model ?? '(no model)';
  switch (decision) {
    case 'retrain':
      return (
        `Starts ${model}'s retrain trigger now (its cool-down does not hold back a person's decision) ` +
        'and links the run to this alert. Refused when the model has no retrain trigger.'
      );
    case 'rollback':
      return (
        `Moves ${model}@${alias || 'production'} back to its previous holder, recorded as any rollback. ` +
        'Refused when there is nothing to roll back to.'
      );
    case 'ignore':
      return (
        `Silences ${alert.kind} alerts of ${model} until the date: later checks are still recorded, ` +
        'in a silenced alert that is never delivered.'
      );
    case 'rebaseline':
      return (
        `Makes the batch of the latest check${alert.last_check_id === null ? '' : ` (#${alert.last_check_id})`} ` +
        'the reference of later checks of that version. The training profile is kept and not overwritten.'
      );
  }
}

/** The error text of a refused action, with the HTTP status when there is one. */
export function refusalText(reason: unknown): string {
  if (reason instanceof ApiError) {
    const status = reason.status === 409 ? 'conflict' : reason.status === 400 ? 'bad input' : reason.status === 404 ? 'not found' : '';
    return status ? `${reason.message} (${status})` : reason.message;
  }
  return reason instanceof Error ? reason.message : String(reason);
}

/**
 * The resolve request the form's fields make, or an error message when they
 * cannot make one (the server checks everything else).
 */
export function resolveRequest(
  decision: string,
  note: string,
  until: string,
  alias: string
): IResolveRequest | string {
  if (!(DECISIONS as string[]).includes(decision)) {
    return 'choose a decision';
  }
  const request: IResolveRequest = { decision: decision as AlertDecision };
  if (note.trim()) {
    request.note = note.trim();
  }
  if (decision === 'ignore') {
    if (!until.trim()) {
      return 'ignore needs a date: until when to silence these alerts';
    }
    request.until = until.trim();
  }
  if (decision === 'rollback' && alias.trim()) {
    request.alias = alias.trim();
  }
  return request;
}

function when(iso: string | null | undefined): HTMLElement {
  return h('span', { title: relativeTime(iso) }, formatDateTime(iso));
}

/** The filter bar: state and model. */
function renderFilter(filter: IAlertsFilter, actions: IAlertsActions): HTMLElement {
  const state = h(
    'select',
    { class: 'jp-mod-styled', 'data-testid': 'mlops-alerts-state', 'aria-label': 'state' },
    ...ALERT_STATES.map(value => h('option', { value, selected: value === filter.state }, value))
  );
  const model = h('input', {
    class: 'jp-mod-styled',
    'data-testid': 'mlops-alerts-model',
    'aria-label': 'model',
    placeholder: 'all models',
    value: filter.model
  });
  const apply = () => actions.filter({ state: state.value as AlertFilterState, model: model.value.trim() });
  state.addEventListener('change', apply);
  model.addEventListener('change', apply);
  model.addEventListener('keydown', event => {
    if ((event as KeyboardEvent).key === 'Enter') {
      apply();
    }
  });
  return h(
    'div',
    { class: 'mlops-Toolbar mlops-AlertsFilter' },
    h('label', { class: 'mlops-small' }, 'State ', state),
    h('label', { class: 'mlops-small' }, ' Model ', model)
  );
}

/** What the decision did, from the server's `decision_detail`. */
export function renderOutcome(alert: IInboxItem, actions: IAlertsActions): HTMLElement | null {
  const detail = alert.decision_detail ?? {};
  const text = (value: unknown) => (value === null || value === undefined ? '?' : String(value));
  let did: HTMLElement | string | null = null;
  switch (alert.decision) {
    case 'retrain': {
      const runId = alert.retrain_run_id ?? (detail.run_id as string | undefined) ?? null;
      did = h(
        'span',
        null,
        'started run ',
        runId
          ? h('button', { class: 'mlops-link', 'data-testid': 'mlops-alert-run', onclick: () => actions.openRun(runId) }, runId.slice(0, 8))
          : '?',
        detail.notebook ? ` of ${text(detail.notebook)}` : ''
      );
      break;
    }
    case 'rollback':
      did = `${text(detail.alias)} moved from v${text(detail.from_version)} back to v${text(detail.to_version)}`;
      break;
    case 'ignore':
      did = h('span', null, 'silenced until ', when((detail.until as string | undefined) ?? alert.silenced_until));
      break;
    case 'rebaseline':
      did = `check #${text(detail.check_id)} is now the reference of v${text(detail.version)}`;
      break;
  }
  if (alert.state === 'silenced') {
    did = h('span', null, 'silenced until ', when(alert.silenced_until));
  }
  if (!alert.decision && did === null) {
    return null;
  }
  return h(
    'div',
    { class: 'mlops-small', 'data-testid': 'mlops-alert-outcome' },
    alert.decision ? h('strong', null, alert.decision) : null,
    alert.decision && did ? ': ' : '',
    did
  );
}

/**
 * The acknowledge or resolve form of one alert: plain DOM with its own error
 * line; `submit` failing keeps it open with the server's message.
 */
export function renderActionForm(
  alert: IInboxItem,
  kind: 'ack' | 'resolve',
  actions: Pick<IAlertsActions, 'ack' | 'resolve'>,
  close: () => void
): HTMLElement {
  const note = h('input', { class: 'jp-mod-styled', 'data-testid': 'mlops-alert-note', 'aria-label': 'note', placeholder: kind === 'ack' ? 'note (optional)' : 'why (kept in the audit log)' });
  const error = h('p', { class: 'mlops-error mlops-small', 'data-testid': 'mlops-alert-error', hidden: true });
  const showError = (message: string) => {
    error.textContent = message;
    error.hidden = false;
  };
  const submitButton = h('button', { class: 'jp-mod-styled jp-mod-accept', 'data-testid': 'mlops-alert-submit' }, kind === 'ack' ? 'Acknowledge' : 'Resolve');
  const cancel = h('button', { class: 'jp-mod-styled', 'data-testid': 'mlops-alert-cancel', onclick: close }, 'Cancel');
  const form = h('div', {
    class: 'mlops-Dialog mlops-AlertForm',
    role: 'dialog',
    'aria-label': `${kind === 'ack' ? 'Acknowledge' : 'Resolve'} alert ${alert.alert_id}`,
    'data-testid': 'mlops-alert-form',
    'data-kind': kind
  });
  let makeRequest: () => IResolveRequest | string = () => '';
  if (kind === 'resolve') {
    const decision = h(
      'select',
      { class: 'jp-mod-styled', 'data-testid': 'mlops-alert-decision', 'aria-label': 'decision' },
      h('option', { value: '' }, 'choose…'),
      ...DECISIONS.map(value => h('option', { value }, value))
    );
    const until = h('input', { class: 'jp-mod-styled', type: 'date', 'data-testid': 'mlops-alert-until', 'aria-label': 'until' });
    const alias = h('input', { class: 'jp-mod-styled', 'data-testid': 'mlops-alert-alias', 'aria-label': 'alias', value: 'production' });
    const untilField = h('label', { class: 'mlops-Field', hidden: true }, h('span', { class: 'mlops-Field-label' }, 'Until'), until);
    const aliasField = h('label', { class: 'mlops-Field', hidden: true }, h('span', { class: 'mlops-Field-label' }, 'Alias'), alias);
    const effect = h('p', { class: 'mlops-muted mlops-small', 'data-testid': 'mlops-alert-effect' });
    const describe = () => {
      const chosen = decision.value as AlertDecision;
      untilField.hidden = chosen !== 'ignore';
      aliasField.hidden = chosen !== 'rollback';
      effect.textContent = chosen ? decisionEffect(chosen, alert, alias.value.trim()) : 'Choose what to do about this alert.';
    };
    decision.addEventListener('change', describe);
    alias.addEventListener('input', describe);
    describe();
    makeRequest = () => resolveRequest(decision.value, note.value, until.value, alias.value);
    form.append(
      h('label', { class: 'mlops-Field' }, h('span', { class: 'mlops-Field-label' }, 'Decision'), decision),
      effect,
      untilField,
      aliasField
    );
  }
  form.append(
    h('label', { class: 'mlops-Field' }, h('span', { class: 'mlops-Field-label' }, 'Note'), note),
    error,
    h('div', { class: 'mlops-Row' }, submitButton, ' ', cancel)
  );
  submitButton.addEventListener('click', () => {
    let pending: Promise<void>;
    if (kind === 'ack') {
      pending = actions.ack(alert, note.value.trim());
    } else {
      const request = makeRequest();
      if (typeof request === 'string') {
        showError(request);
        return;
      }
      pending = actions.resolve(alert, request);
    }
    submitButton.disabled = true;
    error.hidden = true;
    pending.then(
      () => close(),
      (reason: unknown) => {
        submitButton.disabled = false;
        showError(refusalText(reason));
      }
    );
  });
  return form;
}

/** One alert's card. */
export function renderAlert(alert: IInboxItem, actions: IAlertsActions): HTMLElement {
  const formSlot = h('div', { class: 'mlops-AlertFormSlot' });
  const open = (kind: 'ack' | 'resolve') => {
    replaceChildren(formSlot, renderActionForm(alert, kind, actions, () => replaceChildren(formSlot)));
    (formSlot.querySelector('select, input') as HTMLElement | null)?.focus();
  };
  const buttons = alert.actions.map(action =>
    h(
      'button',
      { class: 'jp-mod-styled mlops-small', 'data-testid': `mlops-alert-${action}`, onclick: () => open(action) },
      action === 'ack' ? 'Acknowledge…' : 'Resolve…'
    )
  );
  const charts =
    alert.model && alert.last_check_id !== null
      ? h(
          'span',
          { class: 'mlops-small' },
          h(
            'button',
            {
              class: 'mlops-link',
              'data-testid': 'mlops-alert-open-check',
              title: 'The latest check of this alert, with its charts, on the Drift tab',
              onclick: () => actions.openCheck(alert.model as string, alert.last_check_id as number)
            },
            `check #${alert.last_check_id} on the Drift tab`
          ),
          ' · ',
          h(
            'a',
            {
              class: 'mlops-link',
              'data-testid': 'mlops-alert-report',
              href: actions.reportUrl(alert.model, alert.last_check_id),
              target: '_blank',
              rel: 'noopener',
              title: 'The latest check as a full report with its charts, in a new browser tab'
            },
            'full report ↗'
          )
        )
      : null;
  return h(
    'section',
    {
      class: `mlops-Alert mlops-card mlops-alert-${alert.state}`,
      'data-testid': 'mlops-alert',
      'data-alert-id': alert.alert_id,
      'data-state': alert.state
    },
    h(
      'header',
      { class: 'mlops-Model-header' },
      h('span', { class: 'mlops-Model-name', title: alert.model ?? '' }, alert.model ?? '(no model)'),
      h('span', { class: 'mlops-muted mlops-small' }, ` #${alert.alert_id} · ${alert.kind} · `),
      h('span', { class: 'mlops-verdict', 'data-testid': 'mlops-alert-state' }, alert.state),
      alert.count > 1 ? h('span', { class: 'mlops-small', 'data-testid': 'mlops-alert-count' }, ` ×${alert.count}`) : null
    ),
    h('div', { class: 'mlops-small' }, alert.subject),
    alert.columns.length ? h('div', { class: 'mlops-small', 'data-testid': 'mlops-alert-columns' }, 'columns: ', alert.columns.join(', ')) : null,
    h(
      'div',
      { class: 'mlops-muted mlops-small' },
      'opened ',
      when(alert.opened_at),
      alert.count > 1 || alert.last_at !== alert.opened_at ? h('span', null, ' · latest ', when(alert.last_at)) : null,
      ` · seen ${alert.count} time${alert.count === 1 ? '' : 's'}`
    ),
    alert.acknowledged
      ? h(
          'div',
          { class: 'mlops-small', 'data-testid': 'mlops-alert-acked' },
          `acknowledged by ${alert.acknowledged.by} `,
          when(alert.acknowledged.at),
          alert.ack_note ? `: “${alert.ack_note}”` : ''
        )
      : null,
    alert.resolved
      ? h(
          'div',
          { class: 'mlops-small', 'data-testid': 'mlops-alert-resolved' },
          `resolved by ${alert.resolved.by} `,
          when(alert.resolved.at),
          alert.note ? `: “${alert.note}”` : ''
        )
      : null,
    renderOutcome(alert, actions),
    charts,
    buttons.length ? h('div', { class: 'mlops-Row' }, ...buttons) : null,
    formSlot
  );
}

/** The whole tab. */
export function renderAlerts(
  alerts: IInboxItem[],
  filter: IAlertsFilter,
  actions: IAlertsActions
): HTMLElement {
  const what = filter.state === 'all' ? 'alerts' : `${filter.state} alerts`;
  return h(
    'div',
    { class: 'mlops-Alerts', 'data-testid': 'mlops-alerts' },
    renderFilter(filter, actions),
    alerts.length === 0
      ? h('p', { class: 'mlops-muted', 'data-testid': 'mlops-alerts-empty' }, `No ${what}${filter.model ? ` of ${filter.model}` : ''}.`)
      : h('p', { class: 'mlops-muted mlops-small' }, `${alerts.length} ${what}, newest first`),
    ...alerts.map(alert => renderAlert(alert, actions))
  );
}
