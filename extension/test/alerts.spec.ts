// The Alerts tab in a jsdom page: what each alert shows, the buttons the
// server allows and no others, and the acknowledge/resolve form with the
// server's refusals shown in it.
import { ApiError } from '../src/api';
import {
  decisionEffect,
  renderActionForm,
  renderAlerts,
  resolveRequest,
  type IAlertsActions
} from '../src/views/alerts';
import type { IInboxItem } from '../src/types';

const EVIL = '<img src=x onerror=alert(1)>';

function item(over: Partial<IInboxItem> = {}): IInboxItem {
  return {
    alert_id: 7,
    model: 'churn',
    kind: 'drift',
    state: 'open',
    opened_at: '2026-11-24T17:35:13Z',
    count: 3,
    columns: ['tenure', 'monthly_charges'],
    last_check_id: 42,
    last_at: '2026-11-26T09:00:00Z',
    subject: 'churn: drift in 2 columns',
    message: 'two columns drifted',
    acknowledged: null,
    ack_note: null,
    resolved: null,
    decision: null,
    decision_detail: null,
    note: null,
    silenced_until: null,
    retrain_run_id: null,
    actions: ['ack', 'resolve'],
    ...over
  };
}

function actions(over: Partial<IAlertsActions> = {}): IAlertsActions {
  return {
    filter: jest.fn(),
    ack: jest.fn(() => Promise.resolve()),
    resolve: jest.fn(() => Promise.resolve()),
    reportUrl: (model, id) => `/report/${model}/${id}`,
    openCheck: jest.fn(),
    openRun: jest.fn(),
    ...over
  };
}

const tick = () => new Promise(resolve => setTimeout(resolve, 0));

function click(node: Element | null): void {
  (node as HTMLElement).click();
}

function choose(select: Element | null, value: string): void {
  (select as HTMLSelectElement).value = value;
  select?.dispatchEvent(new Event('change'));
}

function type(input: Element | null, value: string): void {
  (input as HTMLInputElement).value = value;
  input?.dispatchEvent(new Event('input'));
}

describe('the alert list', () => {
  it('shows model, kind, state, count, times, columns and the charts one click away', () => {
    const acts = actions();
    const view = renderAlerts([item()], { state: 'open', model: '' }, acts);
    const card = view.querySelector('[data-testid="mlops-alert"]') as HTMLElement;
    expect(card.dataset.alertId).toBe('7');
    expect(card.dataset.state).toBe('open');
    expect(card.textContent).toContain('churn');
    expect(card.textContent).toContain('drift');
    expect(card.querySelector('[data-testid="mlops-alert-count"]')?.textContent).toBe(' ×3');
    expect(card.querySelector('[data-testid="mlops-alert-columns"]')?.textContent).toBe('columns: tenure, monthly_charges');
    expect(card.textContent).toContain('opened Tue 2026-11-24 17:35 UTC');
    expect(card.textContent).toContain('latest Thu 2026-11-26 09:00 UTC');
    expect(card.querySelector('[data-testid="mlops-alert-report"]')?.getAttribute('href')).toBe('/report/churn/42');
    click(card.querySelector('[data-testid="mlops-alert-open-check"]'));
    expect(acts.openCheck).toHaveBeenCalledWith('churn', 42);
  });

  it('offers only the actions the server lists', () => {
    const buttons = (alert: IInboxItem) =>
      [...renderAlerts([alert], { state: 'all', model: '' }, actions()).querySelectorAll('[data-testid^="mlops-alert-ack"], [data-testid="mlops-alert-resolve"]')].map(
        b => b.getAttribute('data-testid')
      );
    expect(buttons(item())).toEqual(['mlops-alert-ack', 'mlops-alert-resolve']);
    expect(buttons(item({ state: 'acknowledged', actions: ['resolve'] }))).toEqual(['mlops-alert-resolve']);
    // even an open alert: the server's list decides
    expect(buttons(item({ actions: [] }))).toEqual([]);
  });

  it('says who acknowledged and resolved, with notes, the decision and what it did', () => {
    const acts = actions();
    const view = renderAlerts(
      [
        item({
          alert_id: 1,
          state: 'resolved',
          actions: [],
          acknowledged: { by: 'ana', at: '2026-11-25T10:00:00Z' },
          ack_note: 'looking',
          resolved: { by: 'bo', at: '2026-11-25T11:00:00Z' },
          note: EVIL,
          decision: 'retrain',
          decision_detail: { run_id: 'abcdef0123456789', notebook: 'train.ipynb' },
          retrain_run_id: 'abcdef0123456789'
        }),
        item({
          alert_id: 2,
          state: 'resolved',
          actions: [],
          resolved: { by: 'bo', at: '2026-11-25T11:00:00Z' },
          decision: 'rollback',
          decision_detail: { alias: 'production', from_version: 3, to_version: 2, change_id: 9 }
        }),
        item({
          alert_id: 3,
          state: 'resolved',
          actions: [],
          resolved: { by: 'bo', at: '2026-11-25T11:00:00Z' },
          decision: 'ignore',
          decision_detail: { until: '2027-01-31T23:59:59Z' },
          silenced_until: '2027-01-31T23:59:59Z'
        })
      ],
      { state: 'resolved', model: '' },
      acts
    );
    const cards = view.querySelectorAll('[data-testid="mlops-alert"]');
    expect(cards[0].querySelector('[data-testid="mlops-alert-acked"]')?.textContent).toBe('acknowledged by ana Wed 2026-11-25 10:00 UTC: “looking”');
    const resolved = cards[0].querySelector('[data-testid="mlops-alert-resolved"]') as HTMLElement;
    expect(resolved.textContent).toContain(`resolved by bo`);
    expect(resolved.textContent).toContain(EVIL); // as text
    expect(view.querySelector('img')).toBeNull();
    expect(cards[0].querySelector('[data-testid="mlops-alert-outcome"]')?.textContent).toBe('retrain: started run abcdef01 of train.ipynb');
    click(cards[0].querySelector('[data-testid="mlops-alert-run"]'));
    expect(acts.openRun).toHaveBeenCalledWith('abcdef0123456789');
    expect(cards[1].querySelector('[data-testid="mlops-alert-outcome"]')?.textContent).toBe('rollback: production moved from v3 back to v2');
    expect(cards[2].querySelector('[data-testid="mlops-alert-outcome"]')?.textContent).toBe('ignore: silenced until Sun 2027-01-31 23:59 UTC');
  });

  it('filters by state and model, and says when nothing matches', () => {
    const acts = actions();
    const view = renderAlerts([], { state: 'silenced', model: 'loans' }, acts);
    expect(view.querySelector('[data-testid="mlops-alerts-empty"]')?.textContent).toBe('No silenced alerts of loans.');
    choose(view.querySelector('[data-testid="mlops-alerts-state"]'), 'all');
    expect(acts.filter).toHaveBeenLastCalledWith({ state: 'all', model: 'loans' });
    const model = view.querySelector('[data-testid="mlops-alerts-model"]') as HTMLInputElement;
    model.value = ' churn ';
    model.dispatchEvent(new Event('change'));
    expect(acts.filter).toHaveBeenLastCalledWith({ state: 'all', model: 'churn' });
  });
});

describe('the acknowledge and resolve form', () => {
  it('acknowledges with the note and closes', async () => {
    const acts = actions();
    const close = jest.fn();
    const form = renderActionForm(item(), 'ack', acts, close);
    type(form.querySelector('[data-testid="mlops-alert-note"]'), '  on it ');
    click(form.querySelector('[data-testid="mlops-alert-submit"]'));
    await tick();
    expect(acts.ack).toHaveBeenCalledWith(expect.objectContaining({ alert_id: 7 }), 'on it');
    expect(close).toHaveBeenCalled();
  });

  it('says what each decision will do, and asks for the date of ignore and the alias of rollback', () => {
    const form = renderActionForm(item(), 'resolve', actions(), jest.fn());
    const effect = () => form.querySelector('[data-testid="mlops-alert-effect"]')?.textContent;
    const until = () => (form.querySelector('[data-testid="mlops-alert-until"]')?.parentElement as HTMLElement).hidden;
    const alias = () => (form.querySelector('[data-testid="mlops-alert-alias"]')?.parentElement as HTMLElement).hidden;
    const decision = form.querySelector('[data-testid="mlops-alert-decision"]');
    choose(decision, 'ignore');
    expect(effect()).toBe(decisionEffect('ignore', item()));
    expect(effect()).toContain('Silences drift alerts of churn until the date');
    expect([until(), alias()]).toEqual([false, true]);
    choose(decision, 'rollback');
    expect(effect()).toContain('Moves churn@production back');
    type(form.querySelector('[data-testid="mlops-alert-alias"]'), 'staging');
    expect(effect()).toContain('Moves churn@staging back');
    expect([until(), alias()]).toEqual([true, false]);
    choose(decision, 'rebaseline');
    expect(effect()).toContain('latest check (#42)');
    choose(decision, 'retrain');
    expect(effect()).toContain("Starts churn's retrain trigger now");
  });

  it('builds the request from the fields, refusing what cannot be sent', () => {
    expect(resolveRequest('', 'x', '', '')).toBe('choose a decision');
    expect(resolveRequest('ignore', '', ' ', '')).toMatch(/ignore needs a date/);
    expect(resolveRequest('ignore', ' seasonal ', '2027-01-31', 'production')).toEqual({ decision: 'ignore', note: 'seasonal', until: '2027-01-31' });
    expect(resolveRequest('rollback', '', '2027-01-31', 'staging')).toEqual({ decision: 'rollback', alias: 'staging' });
    expect(resolveRequest('retrain', '', '', 'production')).toEqual({ decision: 'retrain' });
  });

  it('shows the server refusal in the form, keeps it open, and lets the user try again', async () => {
    let refuse = true;
    const resolve = jest.fn(() =>
      refuse
        ? Promise.reject(new ApiError('alert 7 was resolved by bo at 2026-11-25 (rollback): nothing left to resolve', 409, 'ConflictError'))
        : Promise.resolve()
    );
    const close = jest.fn();
    const form = renderActionForm(item(), 'resolve', actions({ resolve }), close);
    const error = form.querySelector('[data-testid="mlops-alert-error"]') as HTMLElement;
    const submit = form.querySelector('[data-testid="mlops-alert-submit"]') as HTMLButtonElement;
    // the form's own check first: no request without a decision
    submit.click();
    expect(error.hidden).toBe(false);
    expect(error.textContent).toBe('choose a decision');
    expect(resolve).not.toHaveBeenCalled();
    choose(form.querySelector('[data-testid="mlops-alert-decision"]'), 'rebaseline');
    submit.click();
    await tick();
    expect(error.textContent).toBe('alert 7 was resolved by bo at 2026-11-25 (rollback): nothing left to resolve (conflict)');
    expect(close).not.toHaveBeenCalled();
    expect(submit.disabled).toBe(false);
    refuse = false;
    submit.click();
    await tick();
    expect(resolve).toHaveBeenLastCalledWith(expect.objectContaining({ alert_id: 7 }), { decision: 'rebaseline' });
    expect(close).toHaveBeenCalled();
  });

  it('shows a 400 as bad input', async () => {
    const resolve = jest.fn(() => Promise.reject(new ApiError('--until 2020-01-01 is in the past: nothing would be silenced', 400)));
    const form = renderActionForm(item(), 'resolve', actions({ resolve }), jest.fn());
    choose(form.querySelector('[data-testid="mlops-alert-decision"]'), 'ignore');
    (form.querySelector('[data-testid="mlops-alert-until"]') as HTMLInputElement).value = '2020-01-01';
    click(form.querySelector('[data-testid="mlops-alert-submit"]'));
    await tick();
    expect(form.querySelector('[data-testid="mlops-alert-error"]')?.textContent).toBe(
      '--until 2020-01-01 is in the past: nothing would be silenced (bad input)'
    );
  });
});
