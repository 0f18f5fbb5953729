/**
 * Confirmation dialogs for the actions that can move an alias: promote,
 * roll back, and running a schedule whose notebooks promote. What each says
 * comes from the server (who holds what, where a rollback goes).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import type { IPromoteRequest, IRollbackRequest } from './api';
import { h } from './dom';
import { runNowWarning } from './logic';
import { editSchedule, type IScheduleClient, type ScheduleBody } from './scheduleDialog';
import type { IScheduleForm } from './scheduleForm';
import type { IAliasHolder, ISchedule } from './types';

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

  constructor(
    model: string,
    version: number,
    holders: Record<string, number>,
    private defaultAlias: string
  ) {
    super();
    this.addClass('mlops-Dialog');
    this.alias = h('input', {
      class: 'jp-mod-styled',
      'data-testid': 'mlops-alias-input',
      value: defaultAlias,
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
      const alias = this.alias.value.trim() || this.defaultAlias;
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
      alias: this.alias.value.trim() || this.defaultAlias,
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
  holders: IAliasHolder[],
  defaultAlias: string
): Promise<IPromoteRequest | null> {
  const held = Object.fromEntries(holders.map(holder => [holder.alias, holder.version]));
  const result = await showDialog({
    title: `Promote ${model} v${version}`,
    body: new PromoteBody(model, version, held, defaultAlias),
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

  constructor(private holder: IAliasHolder, target: number) {
    super();
    this.addClass('mlops-Dialog');
    this.reason = h('input', {
      class: 'jp-mod-styled',
      'data-testid': 'mlops-reason-input',
      placeholder: 'why (kept in the audit log)',
      'aria-label': 'reason'
    });
    const what = `${holder.alias} moves from v${holder.version} back to v${target}.`;
    this.node.appendChild(h('div', null, h('p', null, what), field('Reason (optional)', this.reason)));
  }

  getValue(): IRollbackRequest {
    return { alias: this.holder.alias, reason: this.reason.value.trim() || undefined };
  }
}

/**
 * Confirm a rollback of `model`@alias to the version the server names; null
 * when cancelled, or when the server knows of no earlier holder.
 */
export async function askRollback(
  model: string,
  holder: IAliasHolder
): Promise<IRollbackRequest | null> {
  if (holder.rollback_to === null) {
    return null;
  }
  const result = await showDialog({
    title: `Roll back ${model}@${holder.alias}`,
    body: new RollbackBody(holder, holder.rollback_to),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Roll back' })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return result.value;
}

/** Confirm running `schedule` now when it can move an alias; true to run it. */
export async function askRunNow(schedule: ISchedule): Promise<boolean> {
  const warning = runNowWarning(schedule);
  if (warning === null) {
    return true;
  }
  const result = await showDialog({
    title: `Run ${schedule.name} now?`,
    body: new Widget({
      node: h(
        'div',
        { class: 'mlops-Dialog' },
        h('p', null, warning),
        h(
          'p',
          { class: 'mlops-muted mlops-small' },
          'It runs in the Jupyter server; you can follow it and cancel it on this tab.'
        )
      )
    }),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Run now' })]
  });
  return result.button.accept;
}

/** The schedule form as a dialog body. */
class ScheduleBodyWidget extends Widget implements Dialog.IBodyWidget<IScheduleForm> {
  constructor(private form: ScheduleBody) {
    super({ node: form.node });
  }

  getValue(): IScheduleForm {
    return this.form.getValue();
  }

  protected onAfterAttach(): void {
    this.form.focus();
  }
}

/**
 * Define a schedule (`editing` null) or change `editing`, starting from
 * `form`; the schedule as the server saved it, or null when cancelled.
 */
export function askSchedule(
  client: IScheduleClient,
  form: IScheduleForm,
  editing: ISchedule | null
): Promise<ISchedule | null> {
  return editSchedule(client, form, editing, async (title: string, body: ScheduleBody, accept: string) => {
    const result = await showDialog<IScheduleForm>({
      title,
      body: new ScheduleBodyWidget(body),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: accept })]
    });
    return { accept: result.button.accept, form: result.value };
  });
}

/** Confirm removing `schedule`; true to remove it. */
export async function askRemoveSchedule(schedule: ISchedule): Promise<boolean> {
  const running = (schedule.running ?? []).length;
  const result = await showDialog({
    title: `Remove schedule ${schedule.name}?`,
    body: new Widget({
      node: h(
        'div',
        { class: 'mlops-Dialog' },
        h('p', null, `${schedule.name} will never run again, and its name is free for a new schedule.`),
        h(
          'p',
          { class: 'mlops-muted mlops-small' },
          'Its past slots, runs and executed notebooks stay, and the audit log records who removed it.'
        ),
        running
          ? h('p', { class: 'mlops-error' }, 'It is running now: cancel the run first, or the server refuses.')
          : null
      )
    }),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
  });
  return result.button.accept;
}
