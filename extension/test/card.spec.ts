// The model card under a version in the Models tab: shown, edited, refused, all as text.
import { cardEdit, renderCard, type ICardActions, type ICardState, type IModelCard } from '../src/views/card';

const EVIL = '<img src=x onerror=alert(1)>';

function card(written: Partial<IModelCard['written']> = {}): IModelCard {
  return {
    model: 'churn',
    version: 2,
    written: { intended_use: null, limitations: null, ethical_considerations: null, training_procedure: null, ...written },
    written_at: null,
    written_by: null,
    data: { sha256: 'a'.repeat(64), schema: [{}, {}, {}] },
    metrics: { accuracy: 0.86 },
    tests: { runs: 2, passed: 1 },
    promotions: [{ alias: 'production', action: 'promote', at: '2026-11-24T17:35:13Z' }],
    refusals: [{}],
    drift: { checks: 4, drifted: 3, degraded: 0 },
    markdown: '---\nlibrary_name: "sklearn"\n---\n'
  };
}

const flush = () => new Promise(resolve => setTimeout(resolve, 0));

function mount(actions: ICardActions, cards = new Map<string, ICardState>()): HTMLElement {
  const host = document.createElement('div');
  host.append(renderCard('churn', 2, actions, cards));
  document.body.replaceChildren(host);
  return host;
}

function click(host: HTMLElement, testid: string): void {
  (host.querySelector(`[data-testid="${testid}"]`) as HTMLElement).click();
}

describe('model card', () => {
  it('opens on the link and shows the facts and the written fields as text', async () => {
    const load = jest.fn().mockResolvedValue(card({ intended_use: EVIL }));
    const host = mount({ load, save: jest.fn() });
    expect(host.querySelector('[data-testid="mlops-card-body"]')).toBeNull();
    click(host, 'mlops-card-open');
    await flush();
    expect(load).toHaveBeenCalledWith('churn', 2);
    const text = host.querySelector('[data-field="intended_use"] [data-testid="mlops-card-text"]') as HTMLElement;
    expect(text.textContent).toBe(EVIL);
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('[data-field="limitations"]')?.textContent).toContain('Not written yet.');
    const facts = [...host.querySelectorAll('[data-testid="mlops-card-fact"]')].map(n => n.textContent);
    expect(facts).toEqual(['aaaaaaaaaaaa · 3 columns', 'accuracy 0.86', '1 of 2 runs passed', '1 (1 refused)', '3 of 4 checks found drift']);
    click(host, 'mlops-card-open'); // folds it away again
    expect(host.querySelector('[data-testid="mlops-card-body"]')).toBeNull();
  });

  it('saves only the fields that changed, and shows the card the server kept', async () => {
    const save = jest.fn().mockResolvedValue(card({ intended_use: 'rank customers', limitations: 'not B2B' }));
    const host = mount({ load: jest.fn().mockResolvedValue(card({ limitations: 'not B2B' })), save });
    click(host, 'mlops-card-open');
    await flush();
    click(host, 'mlops-card-edit');
    const input = host.querySelector('[data-testid="mlops-card-input"][data-field="intended_use"]') as HTMLTextAreaElement;
    expect((host.querySelector('textarea[data-field="limitations"]') as HTMLTextAreaElement).value).toBe('not B2B');
    input.value = 'rank customers';
    input.dispatchEvent(new Event('input'));
    click(host, 'mlops-card-save');
    await flush();
    expect(save).toHaveBeenCalledWith('churn', 2, { intended_use: 'rank customers' });
    expect(host.querySelector('[data-testid="mlops-card-editor"]')).toBeNull();
    expect(host.querySelector('[data-field="intended_use"]')?.textContent).toContain('rank customers');
  });

  it('keeps the draft and shows the refusal when the server refuses', async () => {
    const save = jest.fn().mockRejectedValue(new Error('limitations is 10001 characters long; at most 10000 are allowed'));
    const host = mount({ load: jest.fn().mockResolvedValue(card()), save });
    click(host, 'mlops-card-open');
    await flush();
    click(host, 'mlops-card-edit');
    const input = host.querySelector('textarea[data-field="limitations"]') as HTMLTextAreaElement;
    input.value = 'x'.repeat(10_001);
    input.dispatchEvent(new Event('input'));
    click(host, 'mlops-card-save');
    await flush();
    expect(host.querySelector('[data-testid="mlops-card-error"]')?.textContent).toContain('at most 10000');
    expect((host.querySelector('textarea[data-field="limitations"]') as HTMLTextAreaElement).value).toHaveLength(10_001);
    click(host, 'mlops-card-cancel');
    expect(host.querySelector('[data-testid="mlops-card-editor"]')).toBeNull();
  });

  it('sends nothing when nothing changed, and says why a card cannot be read', async () => {
    const save = jest.fn();
    const host = mount({ load: jest.fn().mockResolvedValue(card()), save });
    click(host, 'mlops-card-open');
    await flush();
    click(host, 'mlops-card-edit');
    click(host, 'mlops-card-save');
    await flush();
    expect(save).not.toHaveBeenCalled();
    expect(cardEdit(card({ limitations: 'a' }), { intended_use: '', limitations: '', ethical_considerations: '', training_procedure: '' })).toEqual({ limitations: '' });
    const refused = mount({ load: jest.fn().mockRejectedValue(new Error('no version 9 of churn')), save });
    click(refused, 'mlops-card-open');
    await flush();
    expect(refused.querySelector('[data-testid="mlops-card-error"]')?.textContent).toBe('no version 9 of churn');
  });
});
