/**
 * A main-area tab with one column of a drift check, large (the view itself
 * is views/driftcolumn.ts).
 */
import { Widget } from '@lumino/widgets';

import { mlopsIcon } from './icon';
import { formatDateTime } from './logic';
import type { IDriftColumn } from './types';
import { renderDriftColumnDetail } from './views/driftcolumn';

/** A main-area tab holding one column's full view. */
export class DriftColumnView extends Widget {
  constructor(model: string, column: IDriftColumn, checked: { version: number | null; at: string }) {
    super();
    this.id = `mlops-nb-drift-${encodeURIComponent(model)}-${encodeURIComponent(column.column)}`;
    this.addClass('mlops-DriftColumnView');
    this.node.setAttribute('data-testid', 'mlops-drift-column-view');
    this.title.label = `Drift: ${model} · ${column.column}`;
    this.title.caption = `${model} · ${column.column}, checked ${formatDateTime(checked.at)}`;
    this.title.icon = mlopsIcon;
    this.title.closable = true;
    this.node.append(renderDriftColumnDetail(model, column, checked));
  }
}
