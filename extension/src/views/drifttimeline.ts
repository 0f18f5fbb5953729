/**
 * A model's drift checks as a timeline: each check a button on a time axis,
 * coloured by the level the server rated it, with the version it checked
 * where that changes, the default alias's moves as markers, and the axis's
 * ends labelled in the user's time zone. Clicking a check (or Enter on it)
 * opens that check in place of the latest.
 */
import { h } from '../dom';
import { TIMELINE_CHECKS, timelineLayout } from '../timeline';
import type { IAliasMove, IDriftCheck } from '../types';

/** What the timeline's buttons do. */
export interface ITimelineActions {
  /** show check `id` in place of the latest */
  open(id: number): void;
  /** page to the checks before check `before`; `null`: back to the newest */
  page(before: number | null): void;
}

function percent(x: number): string {
  return `${Math.round(x * 10000) / 100}%`;
}

/**
 * The timeline of `checks` (oldest first) with `selected` marked. `more`:
 * older checks exist on the server; `paged`: these are not the newest.
 */
export function renderTimeline(
  checks: IDriftCheck[],
  moves: IAliasMove[],
  selected: number | null,
  actions: ITimelineActions,
  more: boolean,
  paged: boolean,
  timeZone?: string
): HTMLElement {
  const layout = timelineLayout(checks, moves, timeZone);
  const axis = h(
    'div',
    { class: 'mlops-Timeline-axis', role: 'group', 'aria-label': `${checks.length} drift checks, oldest first` },
    h('div', { class: 'mlops-Timeline-line' }),
    ...layout.moves.map(move =>
      h(
        'span',
        {
          class: 'mlops-Timeline-move',
          'data-testid': 'mlops-timeline-move',
          'data-version': move.to,
          style: `left: ${percent(move.x)}`,
          title: move.label
        },
        h('span', { class: 'mlops-Timeline-moveLabel' }, `→v${move.to}`)
      )
    ),
    ...layout.points.map(point =>
      h(
        'button',
        {
          class: `mlops-Timeline-check mlops-severity-${point.level}${point.id === selected ? ' mlops-selected' : ''}`,
          type: 'button',
          'data-testid': 'mlops-timeline-check',
          'data-check-id': point.id,
          'data-level': point.level,
          'data-version': point.version ?? '',
          'aria-pressed': point.id === selected ? 'true' : 'false',
          'aria-label': `${point.label}: open this check`,
          title: point.label,
          style: `left: ${percent(point.x)}`,
          onclick: () => actions.open(point.id)
        },
        point.showVersion && point.version !== null
          ? h('span', { class: 'mlops-Timeline-version', 'aria-hidden': 'true' }, `v${point.version}`)
          : null
      )
    )
  );
  const first = checks.length ? checks[0].id : null;
  return h(
    'div',
    { class: 'mlops-Timeline', 'data-testid': 'mlops-drift-timeline' },
    axis,
    h(
      'div',
      { class: 'mlops-Timeline-ends mlops-small mlops-muted' },
      more && first !== null
        ? h(
            'button',
            {
              class: 'mlops-link mlops-small',
              'data-testid': 'mlops-timeline-earlier',
              title: `The ${TIMELINE_CHECKS} checks before these`,
              onclick: () => actions.page(first)
            },
            '← earlier'
          )
        : null,
      h('span', { 'data-testid': 'mlops-timeline-start' }, layout.start),
      h('span', { class: 'mlops-Timeline-fill' }),
      h('span', { 'data-testid': 'mlops-timeline-end' }, layout.end),
      paged
        ? h(
            'button',
            {
              class: 'mlops-link mlops-small',
              'data-testid': 'mlops-timeline-newest',
              title: 'Back to the newest checks',
              onclick: () => actions.page(null)
            },
            'newest →'
          )
        : null
    )
  );
}
