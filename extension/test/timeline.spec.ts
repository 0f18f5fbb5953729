/**
 * The drift check timeline: where checks and alias moves fall on the axis,
 * their labels, and the timeline as drawn (buttons, keyboard, paging).
 */
import { checkLabel, MIN_GAP, spread, timelineLayout } from '../src/timeline';
import type { IAliasMove, IDriftCheck } from '../src/types';
import { renderTimeline } from '../src/views/drifttimeline';

function check(id: number, at: string, level: IDriftCheck['level'], version: number | null = 1): IDriftCheck {
  return { id, model: 'churn', version, at, rows: 100, drift: level === 'drift' ? 1 : 0, drift_share: 0.25, level };
}

describe('spread', () => {
  it('leaves points far enough apart where they are', () => {
    expect(spread([0, 0.5, 1])).toEqual([0, 0.5, 1]);
  });

  it('pushes close points apart by the gap, within 0 to 1', () => {
    const out = spread([0, 0.99, 1, 1], 0.1);
    expect(out).toEqual([0, 0.8, 0.9, 1]);
    const first = spread([0, 0, 0], 0.1);
    expect(first).toEqual([0, 0.1, 0.2]);
  });

  it('spaces evenly when more points than fit', () => {
    const out = spread(new Array(5).fill(0.5), 0.5);
    expect(out).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });

  it('keeps a single point and no point as they are', () => {
    expect(spread([0.5])).toEqual([0.5]);
    expect(spread([])).toEqual([]);
  });
});

describe('timelineLayout', () => {
  const checks = [
    check(1, '2026-11-01T00:00:00Z', 'ok', 1),
    check(2, '2026-11-11T00:00:00Z', 'warning', 1),
    check(3, '2026-11-21T00:00:00Z', 'drift', 2)
  ];
  const moves: IAliasMove[] = [
    { at: '2026-10-01T00:00:00Z', alias: 'production', action: 'promote', from_version: null, to_version: 1 },
    { at: '2026-11-16T00:00:00Z', alias: 'production', action: 'promote', from_version: 1, to_version: 2 }
  ];

  it('places checks by time, with the level and version the server gave', () => {
    const layout = timelineLayout(checks, moves, 'UTC');
    expect(layout.points.map(p => p.x)).toEqual([0, 0.5, 1]);
    expect(layout.points.map(p => p.level)).toEqual(['ok', 'warning', 'drift']);
    expect(layout.points.map(p => p.showVersion)).toEqual([true, false, true]);
  });

  it('marks the alias moves inside the span only', () => {
    const layout = timelineLayout(checks, moves, 'UTC');
    expect(layout.moves).toHaveLength(1);
    expect(layout.moves[0].x).toBeCloseTo(0.75);
    expect(layout.moves[0].label).toBe('production v1 → v2 (promote) Mon 2026-11-16 00:00 UTC');
  });

  it('labels the axis ends in the user zone, the zone shown', () => {
    const layout = timelineLayout(checks, [], 'Europe/Berlin');
    expect(layout.start).toBe('Sun 2026-11-01 01:00 UTC+1');
    expect(layout.end).toBe('Sat 2026-11-21 01:00 UTC+1');
  });

  it('puts checks at one moment in the middle, spread to be clickable', () => {
    const same = [check(1, '2026-11-01T00:00:00Z', 'ok'), check(2, '2026-11-01T00:00:00Z', 'drift')];
    const xs = timelineLayout(same, [], 'UTC').points.map(p => p.x);
    expect(xs[1] - xs[0]).toBeCloseTo(MIN_GAP);
    expect(timelineLayout([same[0]], [], 'UTC').points[0].x).toBe(0.5);
  });

  it('says time, verdict, share and version in the tooltip', () => {
    expect(checkLabel(checks[2], 'UTC')).toBe(
      'check #3 · Sat 2026-11-21 00:00 UTC · drift (25% of columns) · v2'
    );
    expect(checkLabel(check(4, '2026-11-21T00:00:00Z', 'ok', null), 'UTC')).toContain('no drift');
  });
});

describe('renderTimeline', () => {
  const checks = [check(7, '2026-11-01T00:00:00Z', 'ok'), check(9, '2026-11-02T00:00:00Z', 'drift')];

  it('draws each check as a focusable button that opens it', () => {
    const opened: number[] = [];
    const node = renderTimeline(checks, [], 9, { open: id => opened.push(id), page: () => undefined }, false, false, 'UTC');
    const buttons = [...node.querySelectorAll('button[data-testid="mlops-timeline-check"]')] as HTMLButtonElement[];
    expect(buttons.map(b => b.dataset.checkId)).toEqual(['7', '9']);
    expect(buttons.map(b => b.getAttribute('aria-pressed'))).toEqual(['false', 'true']);
    expect(buttons[0].title).toContain('check #7');
    expect(buttons[0].className).toContain('mlops-severity-ok');
    buttons[0].click();
    expect(opened).toEqual([7]);
    expect(node.querySelector('[data-testid="mlops-timeline-start"]')?.textContent).toBe('Sun 2026-11-01 00:00 UTC');
    expect(node.querySelector('[data-testid="mlops-timeline-earlier"]')).toBeNull();
  });

  it('pages to earlier checks and back to the newest', () => {
    const pages: (number | null)[] = [];
    const actions = { open: () => undefined, page: (before: number | null) => pages.push(before) };
    const node = renderTimeline(checks, [], null, actions, true, true, 'UTC');
    (node.querySelector('[data-testid="mlops-timeline-earlier"]') as HTMLButtonElement).click();
    (node.querySelector('[data-testid="mlops-timeline-newest"]') as HTMLButtonElement).click();
    expect(pages).toEqual([7, null]);
  });
});
