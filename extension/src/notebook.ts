/**
 * A main-area tab showing a run's executed notebook, read-only.
 *
 * The server renders the stored notebook to self-contained HTML; it goes
 * into an iframe with an empty `sandbox`, so the notebook's outputs cannot
 * run scripts, submit forms or reach the Jupyter origin (and its token).
 */
import { Widget } from '@lumino/widgets';

import { h } from './dom';
import { shortId } from './logic';
import { mlopsIcon } from './icon';
import { stripScripts } from './report';

/** The content of the tab, made once the report's HTML is at hand. */
export class NotebookView extends Widget {
  readonly runId: string;

  constructor(runId: string, name: string, html: string) {
    super();
    this.runId = runId;
    this.id = `mlops-nb-notebook-${runId}`;
    this.addClass('mlops-NotebookView');
    this.node.setAttribute('data-testid', 'mlops-notebook-view');
    this.node.setAttribute('data-run-id', runId);
    this.title.label = `Run ${shortId(runId)} · ${name}`;
    this.title.caption = `Executed notebook of run ${runId} (read-only)`;
    this.title.icon = mlopsIcon;
    this.title.closable = true;
    const frame = document.createElement('iframe');
    // Set before the content: no scripts, no forms, no same-origin access.
    frame.setAttribute('sandbox', '');
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.setAttribute('title', `Executed notebook of run ${runId}`);
    frame.className = 'mlops-NotebookView-frame';
    frame.srcdoc = stripScripts(html);
    this.node.appendChild(
      h(
        'div',
        { class: 'mlops-NotebookView-banner' },
        `Read-only: the executed notebook of run ${runId}, as stored in the audit log.`
      )
    );
    this.node.appendChild(h('div', { class: 'mlops-NotebookView-body' }, frame));
  }
}
