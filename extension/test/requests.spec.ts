// The Requests tab in a jsdom page: what a promotion request shows, the buttons
// the server allows and no others, and the approve/reject form with the
// server's refusals (400, 403, 409) shown in it.
import { ApiError } from '../src/api';
import { person, renderDecisionForm, renderRequests, requestRefusal, type IRequestsActions } from '../src/views/requests';
import type { IPromotionRequest, IRequestsView } from '../src/types';

const EVIL = '<img src=x onerror=alert(1)>';

function request(over: Partial<IPromotionRequest> = {}): IPromotionRequest {
  return {
    request_id: 3,
    model: 'churn',
    alias: 'production',
    version: 2,
    from_version: 1,
    require: 'accuracy>=production',
    gate: 'accuracy>=production [ok]',
    reason: 'better recall',
    run_id: null,
    requested_by: 'alice@laptop',
    requested_at: '2026-11-24T17:35:13Z',
    state: 'pending',
    approvers: 2,
    allow_self_approval: false,
    approvals: [],
    refusals: [],
    decided_by: null,
    decided_at: null,
    note: null,
    change_id: null,
    actions: ['approve', 'reject'],
    ...over
  };
}

function view(requests: IPromotionRequest[], actor = 'bob (jupyter)'): IRequestsView {
  return {
    requests,
    protections: [{ model: 'churn', alias: 'production', approvers: 2, allow_self_approval: false, at: '2026-11-24T10:00:00Z', by: 'admin' }],
    actor
  };
}

function actions(over: Partial<IRequestsActions> = {}): IRequestsActions {
  return {
    filter: jest.fn(),
    approve: jest.fn(() => Promise.resolve()),
    reject: jest.fn(() => Promise.resolve()),
    ...over
  };
}

const tick = () => new Promise(resolve => setTimeout(resolve, 0));

function click(node: Element | null): void {
  (node as HTMLElement).click();
}

function type(input: Element | null, value: string): void {
  (input as HTMLInputElement).value = value;
  input?.dispatchEvent(new Event('input'));
}

describe('the requests list', () => {
  it('shows the alias, versions, who asked, the gate, the approvals and the protections', () => {
    const page = renderRequests(
      view([
        request({
          approvals: [{ by: 'carol', at: '2026-11-25T10:00:00Z', note: EVIL }],
          refusals: [{ by: 'dan', at: '2026-11-25T11:00:00Z', note: null, failures: ['accuracy>=production: 0.7 is not >= 0.8'] }]
        })
      ]),
      'pending',
      actions()
    );
    const card = page.querySelector('[data-testid="mlops-request"]') as HTMLElement;
    expect(card.dataset.requestId).toBe('3');
    expect(card.dataset.state).toBe('pending');
    expect(card.textContent).toContain('churn@production');
    expect(card.textContent).toContain('v1 → v2');
    expect(card.textContent).toContain('asked by alice@laptop');
    expect(card.querySelector('[data-testid="mlops-request-count"]')?.textContent).toBe(' 1/2 approved');
    expect(card.querySelector('[data-testid="mlops-request-gate"]')?.textContent).toBe('gate: accuracy>=production');
    expect(card.querySelector('[data-testid="mlops-request-approval"]')?.textContent).toContain(`approved by carol`);
    expect(card.querySelector('img')).toBeNull(); // notes are text, never markup
    expect(card.querySelector('[data-testid="mlops-request-refusal"]')?.textContent).toContain('0.7 is not >= 0.8');
    expect(page.querySelector('[data-testid="mlops-protections"]')?.textContent).toBe(
      'Protected: churn@production (2 approvers)'
    );
  });

  it('offers only the actions the server lists, and marks your own request', () => {
    const buttons = (r: IPromotionRequest) =>
      [...renderRequests(view([r]), 'all', actions()).querySelectorAll('[data-testid="mlops-request-approve"], [data-testid="mlops-request-reject"]')].map(b =>
        b.getAttribute('data-testid')
      );
    expect(buttons(request())).toEqual(['mlops-request-approve', 'mlops-request-reject']);
    expect(buttons(request({ state: 'approved', actions: [] }))).toEqual([]);
    const mine = renderRequests(view([request({ requested_by: 'Bob@desk' })]), 'pending', actions());
    expect(mine.textContent).toContain('asked by Bob@desk (you)');
    expect(mine.querySelector('[data-testid="mlops-request-approve"]')?.getAttribute('title')).toContain('You asked');
  });

  it('says when there is nothing, and changes state through the filter', () => {
    const acts = actions();
    const page = renderRequests({ requests: [], protections: [], actor: 'bob' }, 'pending', acts);
    expect(page.querySelector('[data-testid="mlops-requests-empty"]')?.textContent).toBe('No pending promotion requests.');
    expect(page.querySelector('[data-testid="mlops-protections"]')?.textContent).toContain('No alias is protected');
    const select = page.querySelector('[data-testid="mlops-requests-state"]') as HTMLSelectElement;
    select.value = 'rejected';
    select.dispatchEvent(new Event('change'));
    expect(acts.filter).toHaveBeenCalledWith('rejected');
  });
});

describe('the approve and reject form', () => {
  it('approves with the note and closes', async () => {
    const acts = actions();
    const close = jest.fn();
    const form = renderDecisionForm(request({ approvers: 1 }), 'approve', acts, close);
    expect(form.querySelector('[data-testid="mlops-request-effect"]')?.textContent).toContain('Moves churn@production to v2');
    type(form.querySelector('[data-testid="mlops-request-note"]'), '  read it  ');
    click(form.querySelector('[data-testid="mlops-request-submit"]'));
    await tick();
    expect(acts.approve).toHaveBeenCalledWith(expect.objectContaining({ request_id: 3 }), 'read it');
    expect(close).toHaveBeenCalled();
  });

  it('says an approval short of the count moves nothing yet', () => {
    const form = renderDecisionForm(request(), 'approve', actions(), jest.fn());
    expect(form.querySelector('[data-testid="mlops-request-effect"]')?.textContent).toContain('approval 1 of 2');
  });

  it('refuses a rejection without a note before asking the server', () => {
    const acts = actions();
    const form = renderDecisionForm(request(), 'reject', acts, jest.fn());
    click(form.querySelector('[data-testid="mlops-request-submit"]'));
    expect(acts.reject).not.toHaveBeenCalled();
    expect(form.querySelector('[data-testid="mlops-request-error"]')?.textContent).toBe('a rejection needs a note saying why');
  });

  it.each([
    [new ApiError('bob asked for promotion request 3 and may not approve it', 403, 'ForbiddenError'), 'may not approve it (not allowed)'],
    [new ApiError('promotion request 3 was approved by carol', 409, 'ConflictError'), 'approved by carol (conflict)'],
    [new ApiError('gate refused the approval', 409, 'GateFailedError', ['accuracy>=production: 0.7 < 0.8']), 'gate refused the approval [accuracy>=production: 0.7 < 0.8] (conflict)'],
    [new ApiError('a rejection needs a note', 400, 'InvalidInputError'), 'needs a note (bad input)']
  ])('shows the refusal %#, keeps the form open with what was typed', async (error, shown) => {
    const close = jest.fn();
    const acts = actions({ approve: jest.fn(() => Promise.reject(error)), reject: jest.fn(() => Promise.reject(error)) });
    const form = renderDecisionForm(request(), error.status === 400 ? 'reject' : 'approve', acts, close);
    type(form.querySelector('[data-testid="mlops-request-note"]'), 'my note');
    click(form.querySelector('[data-testid="mlops-request-submit"]'));
    await tick();
    const line = form.querySelector('[data-testid="mlops-request-error"]') as HTMLElement;
    expect(line.hidden).toBe(false);
    expect(line.textContent).toContain(shown);
    expect(close).not.toHaveBeenCalled();
    expect((form.querySelector('[data-testid="mlops-request-note"]') as HTMLInputElement).value).toBe('my note');
    expect((form.querySelector('[data-testid="mlops-request-submit"]') as HTMLButtonElement).disabled).toBe(false);
  });

  it('names people as the server compares them', () => {
    expect(['alice@laptop', 'Alice@server (jupyter)', 'alice', ' alice '].map(person)).toEqual(['alice', 'alice', 'alice', 'alice']);
    expect(person('bob (jupyter)')).toBe('bob');
  });

  it('words other failures plainly', () => {
    expect(requestRefusal(new Error('offline'))).toBe('offline');
    expect(requestRefusal('x')).toBe('x');
  });
});
