/**
 * A main-area tab with runs side by side, a switch that hides the rows that
 * are the same in every run, and the diff of the code each run ran.
 */
import { Widget } from '@lumino/widgets';

import { h, replaceChildren } from './dom';
import { mlopsIcon } from './icon';
import type { IRunComparison } from './types';
import { renderCodeDiffs, renderComparison } from './views/compare';

export class CompareView extends Widget {
  constructor(doc: IRunComparison) {
    super();
    this.id = `mlops-nb-compare-${doc.runs.map(r => r.run_id.slice(0, 8)).join('-')}`;
    this.addClass('mlops-CompareView');
    this.node.setAttribute('data-testid', 'mlops-compare-view');
    this.title.label = `Compare ${doc.runs.length} runs`;
    this.title.caption = doc.runs.map(r => r.label).join(' · ');
    this.title.icon = mlopsIcon;
    this.title.closable = true;
    const table = h('div', { class: 'mlops-CompareView-body' });
    const only = h('input', {
      type: 'checkbox',
      'data-testid': 'mlops-compare-only-differences',
      onchange: () => replaceChildren(table, renderComparison(doc, only.checked))
    }) as HTMLInputElement;
    this.node.append(
      h('div', { class: 'mlops-CompareView-banner' }, h('label', null, only, ' only the rows that differ')),
      table,
      renderCodeDiffs(doc)
    );
    replaceChildren(table, renderComparison(doc, false));
  }
}
