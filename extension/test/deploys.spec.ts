import { describeTest, formatChange, formatShare, renderDeploy } from '../src/views/deploys';
import { renderServing } from '../src/views/serving';
import type { IDeployEvent, IDeployStatus, IDeployView } from '../src/types';

const EVIL = '<img src=x onerror=alert(1)>';
const NOW = new Date('2026-11-30T12:00:00Z');

function render(node: HTMLElement): HTMLElement {
  document.body.replaceChildren();
  document.body.appendChild(node);
  return node;
}

function status(overrides: Partial<IDeployStatus['canary']> = {}, more: Partial<IDeployStatus> = {}): IDeployStatus {
  return {
    model: 'dishes',
    production: { version: 1 },
    canary: {
      id: 2,
      kind: 'canary',
      version: 3,
      share: 0.3,
      state: 'running',
      reason: null,
      started_at: '2026-11-30T11:58:00.000000+00:00',
      ended_at: null,
      guards: ['error_rate<=0.01'],
      metric: 'value',
      auto_rollback: true,
      auto_promote: true,
      ...overrides
    },
    arms: [
      { role: 'production', version: 1, requests: 700, errors: 0, error_rate: 0, p50_ms: 3.14, p99_ms: 12.5, metric_mean: 0.2571, feedback: 690 },
      { role: 'canary', version: 3, requests: 300, errors: 2, error_rate: 0.00667, p50_ms: 4.2, p99_ms: 15, metric_mean: 0.5112, feedback: 296 }
    ],
    guards: [{ guard: 'error_rate<=0.01', passed: true, value: 0.00667 }],
    test: {
      metric: 'value',
      verdict: 'continue',
      difference: 0.2541,
      relative: 0.9883,
      p_value: 0.0712,
      n_production: 690,
      n_canary: 296,
      alpha: 0.05
    },
    expected: {
      feedback_per_s: 48.5,
      feedback_seen: 986,
      observed: { effect: 0.2541, relative: 0.9883, feedback_needed: 1436, seconds_left: 9.3 },
      detectable: { effect: 0.0257, relative: 0.1, feedback_needed: 15669, seconds_left: 302.7 }
    },
    decision: null,
    ...more
  };
}

function event(overrides: Partial<IDeployEvent> = {}): IDeployEvent {
  return {
    seq: 40,
    at: '2026-11-30T11:50:00.000000+00:00',
    actor: 'ana@laptop',
    event: 'started',
    deployment: 1,
    kind: 'canary',
    version: 2,
    production_version: 1,
    share: 0.3,
    state: 'running',
    reason: null,
    alerted: null,
    test: null,
    failed_guards: [],
    ...overrides
  };
}

const ABORTED = event({
  seq: 41,
  at: '2026-11-30T11:52:00.000000+00:00',
  event: 'aborted',
  state: 'aborted',
  reason: 'guard failed: value (mSPRT): difference -0.1173 (-44.9%), p 0.0432 (n 501+215)',
  test: { metric: 'value', verdict: 'worse', difference: -0.1173, relative: -0.449, p_value: 0.0432, n_production: 501, n_canary: 215, alpha: 0.05 }
});

describe('deploys in the serving tab', () => {
  it('shows a running canary: versions, share, state, arms, guards, test and time to a decision', () => {
    const view: IDeployView = { model: 'dishes', deploy: status(), history: [event({ deployment: 2, version: 3, seq: 42 }), ABORTED, event()] };
    const node = render(renderDeploy(view, NOW));
    expect(node.getAttribute('data-state')).toBe('running');
    expect(node.getAttribute('data-kind')).toBe('canary');
    expect(node.querySelector('[data-testid="mlops-deploy-title"]')?.textContent).toBe('canary v3');
    expect(node.textContent).toContain('(30 % of requests) beside production v1');
    expect(node.querySelector('[data-testid="mlops-deploy-state"]')?.textContent).toBe('running');
    expect(node.querySelector('[data-testid="mlops-deploy-reason"]')).toBeNull();
    const arms = Array.from(node.querySelectorAll('[data-testid="mlops-deploy-arm"]'));
    expect(arms.map(a => a.getAttribute('data-role'))).toEqual(['production', 'canary']);
    expect(Array.from(arms[1].querySelectorAll('td')).map(td => td.textContent)).toEqual([
      'canary',
      'v3',
      '300',
      '2 (0.7 %)',
      '4.2 ms',
      '15 ms',
      '0.511',
      '296'
    ]);
    expect(node.querySelector('[data-testid="mlops-deploy-arms"] thead')?.textContent).toContain('value mean');
    const guards = node.querySelector('[data-testid="mlops-deploy-guards"]') as HTMLElement;
    expect(guards.textContent).toBe('guards: error_rate<=0.01 ✓ · rolls back on its own; promotes on a win');
    expect(node.querySelector('[data-testid="mlops-deploy-test"]')?.textContent).toBe(
      'value (mSPRT, α 0.05): canary +98.8 % vs production, p 0.071, n 690 + 296 → no decision yet'
    );
    expect(node.querySelector('[data-testid="mlops-deploy-eta"]')?.textContent).toBe(
      'time to a decision: for the effect seen (+98.8 %): ~1436 feedback values, about 9.3 s at the rate seen; ' +
        'for a 10 % change (+10 %): ~15669 feedback values, about 5 min at the rate seen'
    );
    const history = Array.from(node.querySelectorAll('[data-testid="mlops-deploy-event"]'));
    expect(history.map(e => e.getAttribute('data-event'))).toEqual(['started', 'aborted', 'started']);
    expect(history[1].textContent).toContain('aborted canary v2: guard failed: value (mSPRT)');
    expect(history[1].textContent).toContain('canary −44.9 % vs production, p 0.043, n 501 + 215 → worse');
    expect(history[2].textContent).toContain('started canary v2 at 30 %');
    expect((node.querySelector('details') as HTMLDetailsElement).open).toBe(false);
  });

  it('shows why an ended canary ended, opens its history and states no time to a decision', () => {
    const ended = status(
      { state: 'aborted', reason: ABORTED.reason, ended_at: '2026-11-30T11:59:00.000000+00:00', version: 2 },
      { test: ABORTED.test, expected: null }
    );
    const node = render(renderDeploy({ model: 'dishes', deploy: ended, history: [ABORTED, event()] }, NOW));
    expect(node.getAttribute('data-state')).toBe('aborted');
    expect(node.querySelector('[data-testid="mlops-deploy-reason"]')?.textContent).toBe(ABORTED.reason);
    expect(node.querySelector('[data-testid="mlops-deploy-eta"]')).toBeNull();
    expect(node.querySelector('[data-testid="mlops-deploy-test"]')?.textContent).toContain('→ worse');
    expect((node.querySelector('details') as HTMLDetailsElement).open).toBe(true);
    expect(node.textContent).toContain('ended 1 min ago');
  });

  it('says a decision waits for feedback, and marks a failed guard', () => {
    const waiting = status({}, { expected: null, guards: [{ guard: 'p99_ms<=50', passed: false, value: 80 }] });
    const node = render(renderDeploy({ model: 'dishes', deploy: waiting, history: [] }, NOW));
    expect(node.querySelector('[data-testid="mlops-deploy-eta"]')?.textContent).toBe('time to a decision: waiting for feedback');
    const guard = node.querySelector('[data-passed="false"]') as HTMLElement;
    expect(guard.textContent).toBe('p99_ms<=50 ✗');
    expect(guard.classList.contains('mlops-error')).toBe(true);
    expect(node.querySelector('details')).toBeNull();
  });

  it('draws a shadow as a copy of every request', () => {
    const shadow = status({ kind: 'shadow', share: 1, metric: null }, { test: null, expected: null });
    const node = render(renderDeploy({ model: 'dishes', deploy: shadow, history: [] }, NOW));
    expect(node.textContent).toContain('shadow v3 (copy of every request)');
    expect(node.querySelector('[data-testid="mlops-deploy-test"]')).toBeNull();
  });

  it('sits in its model card in the tab, even when no process serves the model', () => {
    const node = render(renderServing([], NOW, [{ model: 'dishes', deploy: status(), history: [] }]));
    const card = node.querySelector('[data-testid="mlops-serving-model"]') as HTMLElement;
    expect(card.getAttribute('data-model-name')).toBe('dishes');
    expect(card.textContent).toContain('0 processes');
    expect(card.querySelector('[data-testid="mlops-deploy"]')).not.toBeNull();
  });

  it('formats shares, changes and tests', () => {
    expect(formatShare(0.1)).toBe('10 %');
    expect(formatShare(0.125)).toBe('12.5 %');
    expect(formatChange(null)).toBe('–');
    expect(formatChange(-0.4491)).toBe('−44.9 %');
    expect(formatChange(0)).toBe('+0 %');
    expect(describeTest({ ...ABORTED.test!, p_value: 0.0001 })).toContain('p <0.001');
  });

  it('keeps hostile names and reasons as text', () => {
    const hostile = status({ reason: EVIL, state: 'aborted', guards: [EVIL] }, { model: EVIL, guards: [{ guard: EVIL, passed: false }] });
    const node = render(renderDeploy({ model: EVIL, deploy: hostile, history: [event({ reason: EVIL, actor: EVIL })] }, NOW));
    expect(document.querySelector('img')).toBeNull();
    expect(node.getAttribute('data-model-name')).toBe(EVIL);
    expect(node.querySelector('[data-testid="mlops-deploy-reason"]')?.textContent).toBe(EVIL);
    expect(node.querySelector('[data-testid="mlops-deploy-event"]')?.textContent).toContain(EVIL);
  });
});
