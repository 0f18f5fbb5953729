/**
 * Inline SVG charts of a drift report: per column, the reference
 * distribution (the profile stored at training time) against the current
 * one, on the shared bins or categories the API returns.
 */
import { s } from './dom';
import { formatNumber, type Severity } from './logic';
import type { IDriftChart } from './types';

/** The size a chart is drawn at in the panel; the larger view passes its own. */
export const SMALL = { width: 280, height: 96 };
const PAD_LEFT = 4;
const PAD_RIGHT = 4;
const PAD_TOP = 14;
const PAD_BOTTOM = 16;
/** More categories than this are cut (the rest is summed into one bar). */
export const MAX_CATEGORIES = 24;

function percent(value: number): string {
  return `${formatNumber(Math.round(value * 1000) / 10)}%`;
}

function label(value: string | number): string {
  return typeof value === 'number' ? formatNumber(value) : value;
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

/** Keep at most MAX_CATEGORIES bars; the rest becomes one "(n more)" bar. */
export function capCategories(chart: IDriftChart): IDriftChart {
  if (chart.type === 'hist' || chart.x.length <= MAX_CATEGORIES) {
    return chart;
  }
  const keep = MAX_CATEGORIES - 1;
  const rest = (values: number[]) => values.slice(keep).reduce((a, b) => a + (b || 0), 0);
  return {
    ...chart,
    x: [...chart.x.slice(0, keep), `(${chart.x.length - keep} more)`],
    reference: [...chart.reference.slice(0, keep), rest(chart.reference)],
    current: [...chart.current.slice(0, keep), rest(chart.current)]
  };
}

/**
 * Where the reference range's ends fall across a histogram that reaches past
 * them, as fractions of its width (none when the chart is the range itself).
 */
export function rangeMarks(chart: IDriftChart): { side: 'low' | 'high'; value: number; at: number }[] {
  if (chart.type !== 'hist' || !chart.range || !chart.bounds) {
    return [];
  }
  const [low, high] = chart.range;
  const [start, end] = chart.bounds;
  const span = end - start;
  if (!(span > 0)) {
    return [];
  }
  const marks: { side: 'low' | 'high'; value: number; at: number }[] = [];
  if (start < low) {
    marks.push({ side: 'low', value: low, at: (low - start) / span });
  }
  if (end > high) {
    marks.push({ side: 'high', value: high, at: (high - start) / span });
  }
  return marks;
}

/**
 * An `<svg>` comparing reference and current shares of one column.
 *
 * Histograms draw the reference as a light full-width bar per bin with the
 * current share as a narrower bar on top; categorical columns draw the two
 * side by side. Every bar has a `<title>` with the exact shares.
 */
export function driftChart(
  column: string,
  raw: IDriftChart,
  severity: Severity,
  size: { width: number; height: number } = SMALL
): SVGSVGElement {
  const WIDTH = size.width;
  const HEIGHT = size.height;
  const chart = capCategories(raw);
  const n = Math.min(chart.x.length, chart.reference.length, chart.current.length);
  const svg = s('svg', {
    'data-testid': 'mlops-drift-chart',
    'data-column': column,
    class: `mlops-Chart mlops-severity-${severity}`,
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: '100%',
    role: 'img',
    'aria-label': `${column}: reference and current distribution`
  });
  svg.appendChild(s('title', null, `${column}: reference (grey) and current (coloured)`));
  const innerW = WIDTH - PAD_LEFT - PAD_RIGHT;
  const innerH = HEIGHT - PAD_TOP - PAD_BOTTOM;
  const baseline = PAD_TOP + innerH;
  svg.appendChild(
    s('line', {
      class: 'mlops-Chart-axis',
      x1: PAD_LEFT,
      x2: WIDTH - PAD_RIGHT,
      y1: baseline,
      y2: baseline
    })
  );
  if (n === 0) {
    svg.appendChild(
      s('text', { x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle', class: 'mlops-Chart-label' }, 'no chart data')
    );
    return svg;
  }
  const top = Math.max(...chart.reference.slice(0, n), ...chart.current.slice(0, n), 1e-9);
  const y = (v: number) => baseline - (Math.max(0, v || 0) / top) * innerH;
  const slot = innerW / n;
  const hist = chart.type === 'hist';
  for (let i = 0; i < n; i++) {
    const x0 = PAD_LEFT + i * slot;
    const ref = chart.reference[i] || 0;
    const cur = chart.current[i] || 0;
    const tip = `${label(chart.x[i])}: reference ${percent(ref)}, current ${percent(cur)}`;
    const gap = Math.min(1, slot * 0.1);
    const refBox = hist
      ? { x: x0 + gap / 2, w: slot - gap }
      : { x: x0 + gap, w: (slot - 2 * gap) / 2 };
    const curBox = hist
      ? { x: x0 + slot * 0.25, w: slot * 0.5 }
      : { x: refBox.x + refBox.w, w: refBox.w };
    const group = s('g', { class: 'mlops-Chart-bin' }, s('title', null, tip));
    group.appendChild(
      s('rect', {
        class: 'mlops-Chart-ref',
        x: refBox.x.toFixed(2),
        y: y(ref).toFixed(2),
        width: Math.max(0.5, refBox.w).toFixed(2),
        height: (baseline - y(ref)).toFixed(2)
      })
    );
    group.appendChild(
      s('rect', {
        class: 'mlops-Chart-cur',
        x: curBox.x.toFixed(2),
        y: y(cur).toFixed(2),
        width: Math.max(0.5, curBox.w).toFixed(2),
        height: (baseline - y(cur)).toFixed(2)
      })
    );
    svg.appendChild(group);
  }
  // Where the reference range ends, when the bins go on past it.
  for (const edge of rangeMarks(chart)) {
    const x = PAD_LEFT + edge.at * innerW;
    svg.appendChild(
      s(
        'line',
        {
          class: 'mlops-Chart-range',
          'data-testid': 'mlops-chart-range',
          x1: x.toFixed(2),
          x2: x.toFixed(2),
          y1: PAD_TOP,
          y2: baseline
        },
        s('title', null, `the reference range ${edge.side === 'low' ? 'starts' : 'ends'} at ${label(edge.value)}`)
      )
    );
  }
  // Axis labels: the ends of a histogram, or the categories when they fit.
  const labelY = HEIGHT - 4;
  if (hist) {
    svg.appendChild(s('text', { class: 'mlops-Chart-label', x: PAD_LEFT, y: labelY }, label(chart.x[0])));
    svg.appendChild(
      s(
        'text',
        { class: 'mlops-Chart-label', x: WIDTH - PAD_RIGHT, y: labelY, 'text-anchor': 'end' },
        label(chart.x[n - 1])
      )
    );
  } else {
    const room = Math.floor(slot / 5);
    if (room >= 2) {
      for (let i = 0; i < n; i++) {
        svg.appendChild(
          s(
            'text',
            {
              class: 'mlops-Chart-label',
              x: (PAD_LEFT + (i + 0.5) * slot).toFixed(2),
              y: labelY,
              'text-anchor': 'middle'
            },
            shorten(String(chart.x[i]), room)
          )
        );
      }
    }
  }
  const legend = `peak ${percent(top)}${
    chart.outside ? ` · ${percent(chart.outside)} outside the reference range` : ''
  }${chart.clipped ? ` · ${percent(chart.clipped)} too far out to draw` : ''}`;
  svg.appendChild(s('text', { class: 'mlops-Chart-label', x: PAD_LEFT, y: 10 }, legend));
  return svg;
}
