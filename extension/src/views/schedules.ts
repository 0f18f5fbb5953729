/**
 * The Schedules tab: per schedule its next run in the user's time zone, the
 * last slot (with its run and why it failed), the slots running now with
 * their progress and a cancel button, and buttons to run it now, to pause
 * or resume it, to edit it and to remove it.
 */
import { h } from '../dom';
import { describeProgress, formatDateTime, formatNextRun, shortId } from '../logic';
import type { ISchedule, IScheduleSlot } from '../types';
import { statusBadge } from './runs';

/** What the buttons do. */
export interface ISchedulesActions {
  /** define a new schedule of a notebook or pipeline file, in the schedule dialog */
  create?(): void;
  runNow(schedule: ISchedule): void;
  setPaused(name: string, paused: boolean): void;
  /** change its cron, zone, parameters, … in the schedule dialog */
  edit(schedule: ISchedule): void;
  /** remove it, after asking */
  remove(schedule: ISchedule): void;
  cancel(name: string, slotId: number): void;
  openRun(runId: string): void;
  /** open a slot's executed notebook in the main area */
  openNotebook(runId: string, title: string): void;
}

/** `scheduled` without its date when it falls on the same day as `local`. */
function sameDayTail(local: string, scheduled: string): string {
  const [, localDate] = local.split(' ');
  const [, date, ...rest] = scheduled.split(' ');
  return date === localDate ? rest.join(' ') : scheduled;
}

function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/**
 * The whole tab. `busy` names the schedules with a request under way (their
 * buttons are disabled); `userTimeZone` and `now` exist for tests;
 * `openSlots` names the schedules whose recent slots are unfolded (kept
 * across re-renders).
 */
export function renderSchedules(
  schedules: ISchedule[],
  actions: ISchedulesActions,
  busy: Set<string>,
  userTimeZone?: string,
  now?: Date,
  openSlots: Set<string> = new Set()
): HTMLElement {
  const create = actions.create
    ? h(
        'div',
        { class: 'mlops-Actions' },
        h(
          'button',
          {
            class: 'mlops-button',
            'data-testid': 'mlops-new-schedule',
            title: 'Run a notebook or a pipeline file on a schedule',
            onclick: () => actions.create?.()
          },
          'New schedule…'
        )
      )
    : null;
  if (schedules.length === 0) {
    return h(
      'div',
      { class: 'mlops-Empty' },
      h('p', null, 'No schedules yet.'),
      h(
        'p',
        { class: 'mlops-muted' },
        "Create one with the Schedule button of a notebook's toolbar, New Schedule… on a notebook or pipeline file in the file browser, or here."
      ),
      create
    );
  }
  return h(
    'div',
    { class: 'mlops-Schedules' },
    create,
    ...schedules.map(schedule =>
      renderSchedule(schedule, actions, busy.has(schedule.name), userTimeZone, now, openSlots)
    )
  );
}

function renderSchedule(
  schedule: ISchedule,
  actions: ISchedulesActions,
  busy: boolean,
  userTimeZone?: string,
  now?: Date,
  openSlots: Set<string> = new Set()
): HTMLElement {
  const enabled = Boolean(schedule.enabled);
  const running = schedule.running ?? [];
  const next = enabled ? formatNextRun(schedule.next_run, schedule.tz, userTimeZone, now) : null;
  const nextLine = !enabled
    ? h('span', { class: 'mlops-muted' }, 'paused')
    : next
      ? h(
          'span',
          { title: `${next.scheduled} in ${schedule.tz}` },
          h('span', { class: 'mlops-NextRun', 'data-testid': 'mlops-next-run' }, next.local),
          h('span', { class: 'mlops-muted' }, ` (${next.relative})`),
          next.scheduled !== next.local
            ? h('div', { class: 'mlops-muted mlops-small' }, `${sameDayTail(next.local, next.scheduled)} in ${schedule.tz}`)
            : null
        )
      : h('span', { class: 'mlops-muted' }, 'not due again');
  return h(
    'section',
    {
      class: `mlops-Schedule mlops-card${enabled ? '' : ' mlops-paused'}`,
      'data-testid': 'mlops-schedule',
      'data-schedule-name': schedule.name,
      'data-enabled': enabled ? 'true' : 'false'
    },
    h(
      'header',
      { class: 'mlops-Model-header' },
      h('span', { class: 'mlops-Model-name', title: schedule.name }, schedule.name),
      h('span', { class: 'mlops-tag' }, enabled ? schedule.kind : 'paused')
    ),
    h(
      'dl',
      { class: 'mlops-Pairs' },
      h('dt', null, 'runs'),
      h('dd', { title: schedule.target }, basename(schedule.target)),
      ...renderSteps(schedule),
      h('dt', null, 'when'),
      h(
        'dd',
        null,
        schedule.cron_text
          ? h('span', { 'data-testid': 'mlops-cron-text' }, schedule.cron_text)
          : `in ${schedule.tz}`,
        ' ',
        h('code', { class: 'mlops-muted mlops-small', title: 'the cron expression' }, schedule.cron)
      ),
      h('dt', null, 'next'),
      h('dd', null, nextLine),
      h('dt', null, 'last'),
      h('dd', null, renderLast(schedule, actions))
    ),
    ...running.map(slot => renderRunning(schedule.name, slot, actions)),
    renderRecent(schedule, actions, openSlots),
    h(
      'div',
      { class: 'mlops-Actions' },
      h(
        'button',
        {
          class: 'mlops-button',
          'data-testid': 'mlops-run-now',
          disabled: busy || running.length > 0,
          title: running.length
            ? 'It is running now: wait for it or cancel it'
            : (schedule.promotes ?? []).length
              ? `Run it once now, outside the schedule (asks first: ${(schedule.promotes ?? []).join(', ')} can promote)`
              : 'Run it once now, outside the schedule',
          onclick: () => actions.runNow(schedule)
        },
        busy ? 'Starting…' : 'Run now'
      ),
      enabled
        ? h(
            'button',
            {
              class: 'mlops-button',
              'data-testid': 'mlops-pause',
              disabled: busy,
              title: 'Stop firing until resumed',
              onclick: () => actions.setPaused(schedule.name, true)
            },
            'Pause'
          )
        : h(
            'button',
            {
              class: 'mlops-button',
              'data-testid': 'mlops-resume',
              disabled: busy,
              title: 'Fire again from now on',
              onclick: () => actions.setPaused(schedule.name, false)
            },
            'Resume'
          ),
      h(
        'button',
        {
          class: 'mlops-button',
          'data-testid': 'mlops-edit-schedule',
          disabled: busy,
          title: 'Change its cron, time zone, parameters, retries, timeout or alerts',
          onclick: () => actions.edit(schedule)
        },
        'Edit'
      ),
      h(
        'button',
        {
          class: 'mlops-button',
          'data-testid': 'mlops-remove-schedule',
          disabled: busy || running.length > 0,
          title: running.length
            ? 'It is running now: cancel it or let it end first'
            : 'Remove it (asks first; its past runs stay)',
          onclick: () => actions.remove(schedule)
        },
        'Remove'
      )
    )
  );
}

/** A pipeline's steps, in the order its file lists them (nothing for a notebook). */
function renderSteps(schedule: ISchedule): HTMLElement[] {
  const steps = schedule.steps ?? [];
  if (!steps.length) {
    return [];
  }
  return [
    h('dt', null, 'steps'),
    h(
      'dd',
      null,
      h(
        'ol',
        { class: 'mlops-PipelineSteps', 'data-testid': 'mlops-schedule-steps' },
        ...steps.map(step =>
          h(
            'li',
            {
              'data-testid': 'mlops-schedule-step',
              'data-step': step.name,
              title: `${step.notebook}${step.depends_on.length ? ` after ${step.depends_on.join(', ')}` : ''}`
            },
            step.name,
            h('span', { class: 'mlops-muted mlops-small' }, ` · ${basename(step.notebook)}`),
            step.gate ? h('span', { class: 'mlops-muted mlops-small' }, ` · gate ${step.gate}`) : null
          )
        )
      )
    )
  ];
}

/** A button that opens a run on the Runs tab. */
function runLink(runId: string, actions: ISchedulesActions): HTMLElement {
  return h(
    'button',
    {
      class: 'mlops-link',
      'data-testid': 'mlops-slot-run',
      'data-run-id': runId,
      title: `Show run ${runId}`,
      onclick: () => actions.openRun(runId)
    },
    `run ${shortId(runId)}`
  );
}

/** The last slot that ended: its status, its run, and why it failed. */
function renderLast(schedule: ISchedule, actions: ISchedulesActions): HTMLElement {
  const last = schedule.last_slot;
  const count = schedule.runs
    ? h('span', { class: 'mlops-muted' }, ` · ${schedule.runs} run${schedule.runs === 1 ? '' : 's'}`)
    : null;
  if (!last) {
    return h(
      'span',
      null,
      schedule.last_status ? statusBadge(schedule.last_status) : h('span', { class: 'mlops-muted' }, 'never ran'),
      count
    );
  }
  return h(
    'span',
    { 'data-testid': 'mlops-last-slot' },
    statusBadge(last.status),
    last.ended_at ? h('span', { class: 'mlops-muted', title: formatDateTime(last.ended_at) }, ` ${formatDateTime(last.ended_at)}`) : null,
    last.run_id ? ' · ' : null,
    last.run_id ? runLink(last.run_id, actions) : null,
    count,
    last.error ? h('div', { class: 'mlops-small mlops-error' }, last.error) : null
  );
}

/** A slot running now: how far it got, its run, and a cancel button when this server runs it. */
function renderRunning(name: string, slot: IScheduleSlot, actions: ISchedulesActions): HTMLElement {
  return h(
    'div',
    { class: 'mlops-Slot', 'data-testid': 'mlops-slot', 'data-slot-id': slot.id },
    statusBadge('running'),
    ' ',
    h('span', { 'data-testid': 'mlops-slot-progress' }, describeProgress(slot.progress)),
    slot.run_id ? ' · ' : null,
    slot.run_id ? runLink(slot.run_id, actions) : null,
    slot.cancellable
      ? h(
          'button',
          {
            class: 'mlops-button mlops-button-small',
            'data-testid': 'mlops-cancel',
            title: 'Stop it: its kernels are killed and the run is recorded as cancelled by you',
            onclick: () => actions.cancel(name, slot.id)
          },
          'Cancel'
        )
      : h('span', { class: 'mlops-muted mlops-small' }, ' (run by the scheduler: stop it there)')
  );
}

/** When a slot was for: its cron time, or when someone ran it now. */
function slotWhen(slot: IScheduleSlot): string {
  return slot.slot.startsWith('now:')
    ? `run now ${formatDateTime(slot.claimed_at ?? null)}`
    : formatDateTime(slot.slot);
}

/** The schedule's newest slots: ran, queued, skipped and why, with their runs and notebooks. */
function renderRecent(schedule: ISchedule, actions: ISchedulesActions, openSlots: Set<string>): HTMLElement | null {
  const recent = schedule.recent ?? [];
  if (!recent.length) {
    return null;
  }
  const details = h(
    'details',
    { class: 'mlops-Section mlops-Slots', 'data-testid': 'mlops-slots' },
    h('summary', { class: 'mlops-small' }, `recent slots (${recent.length})`),
    h(
      'ol',
      { class: 'mlops-SlotList' },
      ...recent.map(slot =>
        h(
          'li',
          { 'data-testid': 'mlops-slot-row', 'data-slot-id': slot.id, 'data-status': slot.status },
          statusBadge(slot.status),
          ' ',
          h('span', { class: 'mlops-small' }, slotWhen(slot)),
          slot.run_id ? ' · ' : null,
          slot.run_id ? runLink(slot.run_id, actions) : null,
          slot.run_id && slot.status !== 'running' && slot.status !== 'queued'
            ? h(
                'button',
                {
                  class: 'mlops-link mlops-small',
                  'data-testid': 'mlops-slot-notebook',
                  title: 'Open the executed notebook of this slot',
                  onclick: () => actions.openNotebook(slot.run_id as string, `${schedule.name} ${slotWhen(slot)}`)
                },
                ' · notebook'
              )
            : null,
          slot.error
            ? h('div', { class: `mlops-small ${slot.status === 'skipped' ? 'mlops-muted' : 'mlops-error'}` }, slot.error)
            : null
        )
      )
    )
  );
  details.open = openSlots.has(schedule.name);
  details.addEventListener('toggle', () => {
    if (details.open) {
      openSlots.add(schedule.name);
    } else {
      openSlots.delete(schedule.name);
    }
  });
  return details;
}
