/**
 * The Schedules tab: per schedule its next run in the user's time zone, the
 * last status, and buttons to run it now and to pause or resume it.
 */
import { h } from '../dom';
import { formatNextRun } from '../logic';
import type { ISchedule } from '../types';
import { statusBadge } from './runs';

/** What the buttons do. */
export interface ISchedulesActions {
  runNow(name: string): void;
  setPaused(name: string, paused: boolean): void;
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
 * buttons are disabled); `userTimeZone` and `now` exist for tests.
 */
export function renderSchedules(
  schedules: ISchedule[],
  actions: ISchedulesActions,
  busy: Set<string>,
  userTimeZone?: string,
  now?: Date
): HTMLElement {
  if (schedules.length === 0) {
    return h(
      'div',
      { class: 'mlops-Empty' },
      h('p', null, 'No schedules yet.'),
      h('p', { class: 'mlops-muted' }, 'Add one with: mlops-nb schedule add NAME NOTEBOOK --cron "0 6 1 * *"')
    );
  }
  return h(
    'div',
    { class: 'mlops-Schedules' },
    ...schedules.map(schedule => renderSchedule(schedule, actions, busy.has(schedule.name), userTimeZone, now))
  );
}

function renderSchedule(
  schedule: ISchedule,
  actions: ISchedulesActions,
  busy: boolean,
  userTimeZone?: string,
  now?: Date
): HTMLElement {
  const enabled = Boolean(schedule.enabled);
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
      h('dt', null, 'when'),
      h('dd', null, h('code', null, schedule.cron), ` in ${schedule.tz}`),
      h('dt', null, 'next'),
      h('dd', null, nextLine),
      h('dt', null, 'last'),
      h(
        'dd',
        null,
        schedule.last_status ? statusBadge(schedule.last_status) : h('span', { class: 'mlops-muted' }, 'never ran'),
        schedule.runs ? h('span', { class: 'mlops-muted' }, ` · ${schedule.runs} run${schedule.runs === 1 ? '' : 's'}`) : null
      )
    ),
    h(
      'div',
      { class: 'mlops-Actions' },
      h(
        'button',
        {
          class: 'mlops-button',
          'data-testid': 'mlops-run-now',
          disabled: busy,
          title: 'Run it once now, outside the schedule',
          onclick: () => actions.runNow(schedule.name)
        },
        busy ? 'Working…' : 'Run now'
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
          )
    )
  );
}
