/**
 * The Serving tab: the prediction servers running now (`GET /serving`),
 * grouped by model. Each serving process (a worker of `mlops-nb serve`)
 * shows the version it answers with, the alias it follows, where it
 * listens, its requests per minute, p50/p99 latency and error rate over the
 * last minute, and its last swap. The server decides when a process's
 * numbers are stale (a killed or hung process); the tab then says for how
 * long it has been silent instead of showing old numbers as live ones.
 * A model's running (or latest) canary or shadow is drawn above its
 * processes (see ./deploys.ts).
 */
import { h } from '../dom';
import { formatDateTime, formatDuration, formatNumber, relativeTime } from '../logic';
import type { IDeployView, IServer } from '../types';
import { renderDeploy } from './deploys';

/** Requests or errors per minute: one decimal, whole numbers from 1000 on. */
export function formatRate(perMinute: number | null): string {
  return perMinute === null ? '–' : formatNumber(Math.round(perMinute * 10) / 10);
}

/** A latency in ms with two significant digits (the server measures it within 2.2 %). */
export function formatMs(ms: number | null): string {
  if (ms === null) {
    return '–';
  }
  return ms >= 100 ? `${Math.round(ms)} ms` : `${Number(ms.toPrecision(2))} ms`;
}

/** A share of failed requests as a percentage; `–` without requests. */
export function formatErrorRate(rate: number | null): string {
  if (rate === null) {
    return '–';
  }
  if (rate === 0) {
    return '0 %';
  }
  if (rate < 0.001) {
    return '<0.1 %';
  }
  return `${Number((rate * 100).toFixed(1))} %`;
}

/** "3 min ago", or "just now" within the last 45 s. */
function ago(iso: string, now: Date): string {
  const text = relativeTime(iso, now);
  return text === 'now' ? 'just now' : text;
}

function groupByModel(servers: IServer[], deploys: IDeployView[]): [string, IServer[]][] {
  const groups = new Map<string, IServer[]>();
  for (const server of servers) {
    const group = groups.get(server.model) ?? [];
    group.push(server);
    groups.set(server.model, group);
  }
  for (const view of deploys) {
    if (!groups.has(view.model)) {
      groups.set(view.model, []);
    }
  }
  return [...groups];
}

/** The whole tab; `now` exists for tests. */
export function renderServing(servers: IServer[], now: Date = new Date(), deploys: IDeployView[] = []): HTMLElement {
  if (servers.length === 0 && deploys.length === 0) {
    return h(
      'div',
      { class: 'mlops-Empty', 'data-testid': 'mlops-serving-empty' },
      h('p', null, 'No prediction server is running.'),
      h(
        'p',
        { class: 'mlops-muted' },
        'Start one with: ',
        h('code', null, 'mlops-nb serve NAME'),
        ' (it follows NAME@production and shows here within seconds).'
      )
    );
  }
  const deployOf = new Map(deploys.map(view => [view.model, view]));
  return h(
    'div',
    { class: 'mlops-Serving' },
    ...groupByModel(servers, deploys).map(([model, group]) => {
      const deploy = deployOf.get(model);
      return h(
        'section',
        { class: 'mlops-card', 'data-testid': 'mlops-serving-model', 'data-model-name': model },
        h(
          'header',
          { class: 'mlops-Model-header' },
          h('span', { class: 'mlops-Model-name', title: model }, model),
          h('span', { class: 'mlops-tag' }, `${group.length} process${group.length === 1 ? '' : 'es'}`)
        ),
        deploy ? renderDeploy(deploy, now) : null,
        ...group.map(server => renderServer(server, now))
      );
    })
  );
}

function renderServer(server: IServer, now: Date): HTMLElement {
  const version = server.version === null ? 'v?' : `v${server.version}`;
  const swap = server.last_swap;
  return h(
    'div',
    {
      class: `mlops-Server${server.stale ? ' mlops-stale' : ''}`,
      'data-testid': 'mlops-server',
      'data-instance': server.instance,
      'data-version': server.version ?? '',
      'data-stale': server.stale ? 'true' : 'false'
    },
    h(
      'div',
      { class: 'mlops-Server-head' },
      h('strong', { 'data-testid': 'mlops-server-version' }, version),
      ' ',
      h(
        'span',
        { class: 'mlops-tag', title: server.alias ? `follows ${server.model}@${server.alias}` : 'serves a fixed version' },
        server.alias ?? 'fixed'
      ),
      ' ',
      h(
        'span',
        {
          class: 'mlops-muted mlops-small',
          'data-testid': 'mlops-server-address',
          title: `process ${server.pid} on ${server.host}, instance ${server.instance}`
        },
        server.address
      )
    ),
    server.stale
      ? h(
          'div',
          { class: 'mlops-muted mlops-small', 'data-testid': 'mlops-server-stale' },
          `no numbers for ${formatDuration(server.silent_s)}`,
          server.stats_at ? ` (last at ${formatDateTime(server.stats_at)})` : ''
        )
      : null,
    h(
      'dl',
      { class: `mlops-Pairs${server.stale ? ' mlops-muted' : ''}` },
      h('dt', null, 'requests'),
      h(
        'dd',
        { 'data-testid': 'mlops-server-rate', title: `${server.requests_total ?? 0} since it started` },
        `${formatRate(server.requests_per_min)}/min`
      ),
      h('dt', null, 'latency'),
      h(
        'dd',
        { 'data-testid': 'mlops-server-latency', title: 'median / 99th percentile of the last minute, server time' },
        `p50 ${formatMs(server.p50_ms)} · p99 ${formatMs(server.p99_ms)}`
      ),
      h('dt', null, 'errors'),
      h(
        'dd',
        {
          'data-testid': 'mlops-server-errors',
          class: server.error_rate ? 'mlops-error' : null,
          title: `${formatRate(server.errors_per_min)}/min; ${server.errors_total ?? 0} since it started`
        },
        formatErrorRate(server.error_rate)
      ),
      h('dt', null, 'last swap'),
      h(
        'dd',
        { 'data-testid': 'mlops-server-swap' },
        swap
          ? h(
              'span',
              { title: formatDateTime(swap.at) },
              `v${swap.from_version ?? '?'} → v${swap.to_version ?? '?'}, ${ago(swap.at, now)}`
            )
          : h('span', { class: 'mlops-muted', title: formatDateTime(server.since) }, `none (started ${ago(server.since, now)})`)
      )
    )
  );
}
