/**
 * Confirmation dialogs for the two actions that move an alias.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import type { IPromoteRequest, IRollbackRequest } from './api';
import { h } from './dom';

function field(label: string, input: HTMLInputElement, hint?: string): HTMLElement {
  return h(
    'label',
    { class: 'mlops-Field' },
    h('span', { class: 'mlops-Field-label' }, label),
    input,
    hint ? h('span', { class: 'mlops-muted mlops-small' }, hint) : null
  );
}

/** The body of the promote dialog: alias, optional gate, optional reason. */
class PromoteBody extends Widget implements Dialog.IBodyWidget<Omit<IPromoteRequest, 'version'>> {
  private alias: HTMLInputElement;
  private gate: HTMLInputElement;
  private reason: HTMLInputElement;

  constructor(model: string, version: number, holders: Record<string, number>) {
    super();
    this.addClass('mlops-Dialog');
    this.alias = h('input', {
      class: 'jp-mod-styled',
      'data-testid': 'mlops-alias-input',
      value: 'production',
      'aria-label': 'alias'
    });
    this.gate = h('input', {
      class: 'jp-mod-styled',
      'data-testid': 'mlops-gate-input',
      placeholder: 'e.g. accuracy>=production',
      'aria-label': 'gate'
    });
    this.reason = h('input', {
      class: 'jp-mod-styled',
      'data-testid': 'mlops-reason-input',
      placeholder: 'why (kept in the audit log)',
      'aria-label': 'reason'
    });
    const current = h('p', { class: 'mlops-muted mlops-small' });
    const describe = () => {
      const alias = this.alias.value.trim() || 'production';
      const holder = holders[alias];
      current.textContent =
        holder === undefined
          ? `Nobody holds ${model}@${alias} yet.`
          : holder === version
            ? `v${version} already holds ${alias}.`
            : `${alias} is held by v${holder} now; it moves to v${version}.`;
    };
    this.alias.addEventListener('input', describe);
    describe();
    this.node.appendChild(
      h(
        'div',
        null,
        field('Alias', this.alias),
        current,
        field('Gate (optional)', this.gate, 'Checked first; if it fails, nothing moves.'),
        field('Reason (optional)', this.reason)
      )
    );
  }

  getValue(): Omit<IPromoteRequest, 'version'> {
    return {
      alias: this.alias.value.trim() || 'production',
      require: this.gate.value.trim() || undefined,
      reason: this.reason.value.trim() || undefined
    };
  }

  protected onAfterAttach(): void {
    this.alias.focus();
    this.alias.select();
  }
}

/** Ask how to promote `model` v`version`; null when cancelled. */
export async function askPromote(
  model: string,
  version: number,
  holders: Record<string, number>
): Promise<IPromoteRequest | null> {
  const result = await showDialog({
    title: `Promote ${model} v${version}`,
    body: new PromoteBody(model, version, holders),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Promote' })],
    focusNodeSelector: 'input'
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return { version, ...result.value };
}

/** The body of the rollback dialog: what will happen, and an optional reason. */
class RollbackBody extends Widget implements Dialog.IBodyWidget<IRollbackRequest> {
  private reason: HTMLInputElement;

  constructor(private aliasName: string, current: number | undefined, target: number | null) {
    super();
    this.addClass('mlops-Dialog');
    this.reason = h('input', {
      class: 'jp-mod-styled',
      'data-testid': 'mlops-reason-input',
      placeholder: 'why (kept in the audit log)',
      'aria-label': 'reason'
    });
    const what =
      target === null || target === undefined
        ? `${aliasName} returns to the version that held it before v${current ?? '?'}.`
        : `${aliasName} moves from v${current ?? '?'} back to v${target}.`;
    this.node.appendChild(h('div', null, h('p', null, what), field('Reason (optional)', this.reason)));
  }

  getValue(): IRollbackRequest {
    return { alias: this.aliasName, reason: this.reason.value.trim() || undefined };
  }
}

/** Confirm a rollback of `model`@`alias`; null when cancelled. */
export async function askRollback(
  model: string,
  alias: string,
  current: number | undefined,
  target: number | null
): Promise<IRollbackRequest | null> {
  const result = await showDialog({
    title: `Roll back ${model}@${alias}`,
    body: new RollbackBody(alias, current, target),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Roll back' })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return result.value;
}
