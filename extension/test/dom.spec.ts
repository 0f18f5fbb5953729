/**
 * Finding the focused element again after a view is drawn anew (a refresh must
 * not take the keyboard away).
 */
import './shims';
import { focusSelector, h } from '../src/dom';

describe('focusSelector', () => {
  it('names the element by its tag and data attributes under its model', () => {
    const card = h('section', { 'data-model-name': 'churn "v2"', 'data-severity': 'drift' });
    const point = h('button', { 'data-check-id': '7', 'data-severity': 'warn' });
    card.appendChild(h('div', null, point));
    const selector = focusSelector(point);
    expect(selector).toBe('section[data-model-name="churn \\"v2\\""] button[data-check-id="7"]');

    // the same element drawn again is found; a different check is not
    const again = h('section', { 'data-model-name': 'churn "v2"' });
    const seven = h('button', { 'data-check-id': '7' });
    again.append(h('button', { 'data-check-id': '6' }), seven);
    const root = h('div', null, again);
    expect(root.querySelector(selector as string)).toBe(seven);
  });

  it('gives up on an element with nothing stable to find it by', () => {
    expect(focusSelector(h('button', { class: 'x' }))).toBeNull();
  });

  it('needs no model around it', () => {
    expect(focusSelector(h('input', { 'data-testid': 'mlops-filter' }))).toBe(
      'input[data-testid="mlops-filter"]'
    );
  });
});
