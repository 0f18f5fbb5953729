/**
 * A model's canary or shadow deploy in the Serving tab: the versions and the
 * share, the state and why it ended, each arm's numbers summed over every
 * serving process, the technical guards, the sequential test on the feedback
 * metric with the expected time to a decision, and the history of starts,
 * alerts and decisions. The server computes every number; this draws them.
 */
import { h } from '../dom';
import { formatDateTime, formatDuration, relativeTime } from '../logic';
import type { IDeployArm, IDeployEta, IDeployEvent, IDeployStatus, IDeployTest, IDeployView } from '../types';
import { formatErrorRate, formatMs } from './serving';

/** A share or a rate as a percentage with at most one decimal. */
export function formatShare(share: number): string {
  return `${Number((share * 100).toFixed(1))} %`;
}

/** A relative change, signed: "+12 %", "−45.1 %". */
export function formatChange(relative: number | null): string {
  if (relative === null) {
    return '–';
  }
  const text = `${Number((Math.abs(relative) * 100).toFixed(1))} %`;
  return relative < 0 ? `−${text}` : `+${text}`;
}

/** "value (mSPRT): canary −45.1 % vs production, p 0.043, n 501 + 215 → worse". */
export function describeTest(test: IDeployTest): string {
  const p = test.p_value < 0.001 ? '<0.001' : String(Number(test.p_value.toPrecision(2)));
  const verdict = test.verdict === 'continue' ? 'no decision yet' : test.verdict;
  return (
    `${test.metric} (mSPRT, α ${test.alpha}): canary ${formatChange(test.relative)} vs production, ` +
    `p ${p}, n ${test.n_production} + ${test.n_canary} → ${verdict}`
  );
}

function eta(label: string, guess: IDeployEta | null): string | null {
  if (guess === null) {
    return null;
  }
  const needed = guess.feedback_needed === null ? 'more feedback than can be estimated' : `~${guess.feedback_needed} feedback values`;
  const left = guess.seconds_left === null ? '' : `, about ${formatDuration(guess.seconds_left)} at the rate seen`;
  return `${label} (${formatChange(guess.relative)}): ${needed}${left}`;
}

function renderArm(arm: IDeployArm): HTMLElement {
  return h(
    'tr',
    { 'data-testid': 'mlops-deploy-arm', 'data-role': arm.role, 'data-version': arm.version },
    h('td', null, arm.role),
    h('td', null, `v${arm.version}`),
    h('td', { 'data-testid': 'mlops-deploy-requests' }, String(arm.requests)),
    h('td', { class: arm.errors ? 'mlops-error' : null }, `${arm.errors} (${formatErrorRate(arm.error_rate ?? null)})`),
    h('td', null, formatMs(arm.p50_ms)),
    h('td', null, formatMs(arm.p99_ms)),
    h('td', { 'data-testid': 'mlops-deploy-metric' }, arm.metric_mean === null ? '–' : String(Number(arm.metric_mean.toPrecision(3)))),
    h('td', null, String(arm.feedback))
  );
}

function renderStatus(status: IDeployStatus, now: Date): HTMLElement[] {
  const c = status.canary;
  const running = c.state === 'running';
  const what = c.kind === 'shadow' ? 'copy of every request' : `${formatShare(c.share)} of requests`;
  const parts: HTMLElement[] = [
    h(
      'div',
      { class: 'mlops-Deploy-head' },
      h('strong', { 'data-testid': 'mlops-deploy-title' }, `${c.kind} v${c.version}`),
      ` (${what}) beside production v${status.production.version ?? '?'} `,
      h('span', { class: `mlops-tag${running ? '' : ' mlops-muted'}`, 'data-testid': 'mlops-deploy-state' }, c.state),
      ' ',
      h(
        'span',
        { class: 'mlops-muted mlops-small', title: formatDateTime(c.started_at) },
        `started ${relativeTime(c.started_at, now)}`,
        c.ended_at ? `, ended ${relativeTime(c.ended_at, now)}` : ''
      )
    )
  ];
  if (c.reason) {
    parts.push(h('div', { class: 'mlops-small', 'data-testid': 'mlops-deploy-reason' }, c.reason));
  }
  parts.push(
    h(
      'table',
      { class: 'mlops-Table mlops-small', 'data-testid': 'mlops-deploy-arms' },
      h(
        'thead',
        null,
        h('tr', null, ...['arm', 'version', 'requests', 'errors', 'p50', 'p99', `${c.metric ?? 'metric'} mean`, 'feedback'].map(t => h('th', null, t)))
      ),
      h('tbody', null, ...status.arms.map(renderArm))
    )
  );
  const policy = [c.auto_rollback ? 'rolls back on its own' : 'alerts on a failed guard', c.auto_promote ? 'promotes on a win' : null]
    .filter(Boolean)
    .join('; ');
  parts.push(
    h(
      'div',
      { class: 'mlops-small', 'data-testid': 'mlops-deploy-guards' },
      'guards: ',
      ...(status.guards.length
        ? status.guards.map(g =>
            h(
              'span',
              { class: `mlops-tag${g.passed === false ? ' mlops-error' : ''}`, 'data-passed': String(g.passed) },
              `${g.guard} ${g.passed === null ? '(not judged yet)' : g.passed ? '✓' : '✗'}`
            )
          )
        : [h('span', { class: 'mlops-muted' }, 'none')]),
      policy ? h('span', { class: 'mlops-muted' }, ` · ${policy}`) : null
    )
  );
  if (status.test) {
    parts.push(h('div', { class: 'mlops-small', 'data-testid': 'mlops-deploy-test' }, describeTest(status.test)));
  }
  if (running && status.test && status.test.verdict === 'continue') {
    const lines = status.expected
      ? [eta('for the effect seen', status.expected.observed), eta('for a 10 % change', status.expected.detectable)].filter(
          (line): line is string => line !== null
        )
      : [];
    parts.push(
      h(
        'div',
        { class: 'mlops-small mlops-muted', 'data-testid': 'mlops-deploy-eta' },
        lines.length ? `time to a decision: ${lines.join('; ')}` : 'time to a decision: waiting for feedback'
      )
    );
  }
  return parts;
}

function renderEvent(event: IDeployEvent, now: Date): HTMLElement {
  const detail = [event.reason, event.alerted ? `alert: ${event.alerted}` : null].filter(Boolean).join(' · ');
  return h(
    'li',
    { 'data-testid': 'mlops-deploy-event', 'data-event': event.event, 'data-deployment': event.deployment },
    h('span', { class: 'mlops-muted', title: `${formatDateTime(event.at)} by ${event.actor}` }, relativeTime(event.at, now)),
    ' ',
    h('strong', null, `${event.event}`),
    ` ${event.kind} v${event.version}`,
    event.event === 'started' && event.kind === 'canary' && event.share !== undefined ? ` at ${formatShare(event.share)}` : '',
    detail ? `: ${detail}` : '',
    event.test && event.event !== 'started' ? h('div', { class: 'mlops-muted' }, describeTest(event.test)) : null
  );
}

/** A model's deploy card; `now` exists for tests. */
export function renderDeploy(view: IDeployView, now: Date = new Date()): HTMLElement {
  const status = view.deploy;
  return h(
    'div',
    {
      class: 'mlops-Deploy',
      'data-testid': 'mlops-deploy',
      'data-model-name': view.model,
      'data-state': status?.canary.state ?? '',
      'data-kind': status?.canary.kind ?? ''
    },
    ...(status ? renderStatus(status, now) : [h('div', { class: 'mlops-muted' }, 'no canary or shadow yet')]),
    view.history.length
      ? h(
          'details',
          { class: 'mlops-small', open: status?.canary.state !== 'running' },
          h('summary', null, `decisions (${view.history.length})`),
          h('ul', { 'data-testid': 'mlops-deploy-history' }, ...view.history.map(e => renderEvent(e, now)))
        )
      : null
  );
}
