/**
 * The provenance of one run, below the Runs tab's list: parameters, metrics,
 * data fingerprint, code, environment, the files it left, the runs it
 * started, and buttons for its executed notebook.
 */
import { h, type Child } from '../dom';
import { formatDateTime, formatDuration, formatNumber, runDuration, shortId } from '../logic';
import type { IRun, IRunTree, JsonValue } from '../types';
import type { IRunsActions } from './runs';

/** A coloured status word. */
export function statusBadge(status: string | null | undefined): HTMLElement {
  const text = status ?? 'unknown';
  return h('span', { class: `mlops-status mlops-status-${text.replace(/[^a-z-]/gi, '')}` }, text);
}

/** A JSON value as one line of text. */
export function formatValue(value: JsonValue | undefined): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value === 'number') {
    return formatNumber(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

function pairs(title: string, entries: [string, Child][], open = true): HTMLElement | null {
  if (entries.length === 0) {
    return null;
  }
  const details = h(
    'details',
    { class: 'mlops-Section' },
    h('summary', null, title),
    h(
      'dl',
      { class: 'mlops-Pairs' },
      ...entries.flatMap(([key, value]) => [h('dt', null, key), h('dd', null, value)])
    )
  );
  details.open = open;
  return details;
}

function record(doc: Record<string, JsonValue> | null | undefined): [string, Child][] {
  return Object.entries(doc ?? {}).map(([key, value]) => [key, formatValue(value)]);
}

function code(text: string | null | undefined, full?: string | null): Child {
  return text ? h('code', { title: full ?? text }, text) : '–';
}

/** A SHA-256 shortened to 12 hex digits (the whole one on hover); null when absent. */
function hash(sha: JsonValue | undefined): Child {
  return typeof sha === 'string' && sha ? h('code', { title: `sha256 ${sha}` }, `${sha.slice(0, 12)}…`) : null;
}

function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** The provenance of one run. */
export function renderRunDetail(
  run: IRun,
  actions: IRunsActions
): HTMLElement {
  const data = run.data ?? {};
  const env = (run.environment ?? {}) as Record<string, JsonValue>;
  const packages = (env.packages ?? {}) as Record<string, JsonValue>;
  const link = (id: string) =>
    h(
      'button',
      { class: 'mlops-button mlops-button-small mlops-button-quiet', title: id, onclick: () => actions.select(id) },
      shortId(id)
    );
  const dataEntries: [string, Child][] = [];
  if (typeof data.sha256 === 'string') {
    dataEntries.push(['fingerprint', hash(data.sha256)]);
  }
  for (const key of ['rows', 'columns']) {
    if (data[key] !== undefined) {
      dataEntries.push([key, formatValue(data[key])]);
    }
  }
  const target = data.target as Record<string, JsonValue> | undefined;
  if (target && typeof target === 'object' && !Array.isArray(target)) {
    dataEntries.push(['target', `${formatValue(target.name)} (${formatValue(target.dtype)})`]);
  }
  const schema = data.schema;
  if (Array.isArray(schema)) {
    dataEntries.push([
      'schema',
      schema
        .map(col => {
          const c = col as Record<string, JsonValue>;
          return `${formatValue(c.name)}: ${formatValue(c.dtype)}`;
        })
        .join(', ')
    ]);
  }
  const steps = data.steps as Record<string, Record<string, JsonValue>> | undefined;
  const stepEntries: [string, Child][] =
    steps && typeof steps === 'object'
      ? Object.entries(steps).map(([step, info]) => [
          step,
          h(
            'span',
            null,
            statusBadge(String(info.status ?? '')),
            info.gate ? ` ${formatValue(info.gate)}` : '',
            info.error ? ` ${formatValue(info.error)}` : '',
            ' ',
            typeof info.run_id === 'string' ? link(info.run_id) : null
          )
        ])
      : [];

  const codeEntries: [string, Child][] = [
    [
      'git commit',
      run.git_commit
        ? h(
            'span',
            null,
            code(run.git_commit.slice(0, 10), run.git_commit),
            run.git_dirty ? h('span', { title: 'the work tree had uncommitted changes' }, ' + changes') : ''
          )
        : '–'
    ],
    ['notebook', run.notebook_path ? h('span', { title: run.notebook_path }, basename(run.notebook_path)) : '–'],
    ['input', hash(run.input_sha256)],
    ['executed', hash(run.output_sha256)],
    ['source', hash(run.source_sha256)]
  ].filter(([, value]) => value !== null) as [string, Child][];
  const envEntries: [string, Child][] = ['python', 'implementation', 'platform', 'host', 'user', 'executable', 'cwd']
    .filter(key => env[key] !== undefined)
    .map(key => [key, formatValue(env[key])]);
  const packageNames = Object.keys(packages).sort((a, b) => a.localeCompare(b));
  if (packageNames.length) {
    envEntries.push([
      'packages',
      h(
        'details',
        null,
        h('summary', null, `${packageNames.length} imported packages`),
        h('ul', { class: 'mlops-Packages' }, ...packageNames.map(p => h('li', null, `${p} ${formatValue(packages[p])}`)))
      )
    ]);
  }
  const runEntries: [string, Child][] = [
    ['id', code(run.run_id)],
    ['kind', run.kind],
    ['status', statusBadge(run.status)],
    ['by', run.actor ?? '–'],
    ['started', formatDateTime(run.started_at)],
    ['ended', formatDateTime(run.ended_at)],
    ['took', formatDuration(runDuration(run))]
  ];
  if (run.model_version !== null && run.model_version !== undefined) {
    runEntries.push(['model', `${run.name} v${run.model_version}`]);
  }
  if (run.parent_run_id) {
    runEntries.push(['part of', link(run.parent_run_id)]);
  }
  if (run.children && run.children.length) {
    runEntries.push(['child runs', h('span', null, ...run.children.map(link))]);
  }

  return h(
    'section',
    { class: 'mlops-RunDetail mlops-card', 'data-testid': 'mlops-run-detail', 'data-run-id': run.run_id },
    h(
      'header',
      { class: 'mlops-RunDetail-header' },
      h('span', { class: 'mlops-RunDetail-name', title: run.name }, run.name),
      h('span', { class: 'mlops-muted mlops-nowrap' }, shortId(run.run_id)),
      h(
        'button',
        {
          class: 'mlops-button mlops-button-small mlops-button-quiet mlops-close',
          title: 'Close the run',
          'aria-label': 'Close the run',
          onclick: () => actions.select(null)
        },
        '×'
      )
    ),
    run.has_notebook
      ? h(
          'div',
          { class: 'mlops-Actions' },
          h(
            'button',
            {
              class: 'mlops-button',
              'data-testid': 'mlops-open-notebook',
              title: 'Open the executed notebook, read-only, in a new tab',
              onclick: () => actions.openNotebook(run)
            },
            'Open executed notebook'
          ),
          h(
            'a',
            {
              class: 'mlops-button',
              'data-testid': 'mlops-download-notebook',
              href: actions.notebookUrl(run),
              download: `${(run.name ?? 'run').replace(/\.ipynb$/, '')}-${shortId(run.run_id)}.ipynb`,
              title: 'Download the executed notebook as stored in the audit log (.ipynb)'
            },
            'Download .ipynb'
          )
        )
      : null,
    renderArtifacts(run, actions),
    run.error ? h('pre', { class: 'mlops-error' }, run.error) : null,
    pairs('Parameters', record(run.params)),
    pairs('Metrics', Object.entries(run.metrics ?? {}).map(([k, v]) => [k, formatNumber(v)])),
    pairs('Recorded values', record(run.values)),
    pairs('Data', dataEntries),
    pairs('Pipeline steps', stepEntries),
    renderTree(run, actions),
    pairs('Code', codeEntries),
    pairs('Environment', envEntries, false),
    pairs('Tags', Object.entries(run.tags ?? {}).map(([k, v]) => [k, String(v)])),
    pairs('Run', runEntries)
  );
}

/** What each kind of file is, for the link that downloads it. */
const ARTIFACT_LABELS: Record<string, { text: string; title: string }> = {
  model: { text: 'Model', title: 'Download the model version this run registered, as stored' },
  profile: { text: 'Data profile', title: 'Download the drift reference profile of the training data (JSON)' },
  source: { text: 'Code', title: 'Download the code the run ran: the session cells and the tracked cell (JSON)' }
};

/** Links that download the run's files under the names the server gives them. */
function renderArtifacts(run: IRun, actions: IRunsActions): HTMLElement | null {
  const files = run.artifacts ?? [];
  if (!files.length) {
    return null;
  }
  return h(
    'div',
    { class: 'mlops-Actions mlops-Artifacts', 'data-testid': 'mlops-artifacts' },
    h('span', { class: 'mlops-muted mlops-small' }, 'Files:'),
    ...files.map(file => {
      const label = ARTIFACT_LABELS[file.kind] ?? { text: file.kind, title: `Download ${file.kind}` };
      return h(
        'a',
        {
          class: 'mlops-button mlops-button-small',
          'data-testid': 'mlops-download-artifact',
          'data-kind': file.kind,
          href: actions.artifactUrl(run, file.kind),
          download: file.filename,
          title: `${label.title}: ${file.filename} (sha256 ${file.sha256.slice(0, 12)})`
        },
        label.text
      );
    })
  );
}

function treeList(tree: IRunTree, actions: IRunsActions): HTMLElement {
  return h(
    'ul',
    { class: 'mlops-RunTree' },
    ...tree.runs.map(node =>
      h(
        'li',
        { 'data-testid': 'mlops-run-tree-node', 'data-run-id': node.run_id, 'data-kind': node.kind },
        h(
          'button',
          {
            class: 'mlops-link',
            title: `Show run ${node.run_id}`,
            onclick: () => actions.select(node.run_id)
          },
          node.name ?? node.kind
        ),
        ' ',
        statusBadge(node.status),
        h(
          'span',
          { class: 'mlops-muted mlops-small' },
          ` ${node.kind}${node.model_version !== null ? ` · v${node.model_version}` : ''} · ${shortId(node.run_id)}`
        ),
        node.started.runs.length ? treeList(node.started, actions) : null
      )
    ),
    tree.truncated ? h('li', { class: 'mlops-muted mlops-small' }, 'more runs were started: the latest are listed') : null
  );
}

/** A pipeline's steps with what each tracked, a notebook's tracked runs: a tree to walk. */
function renderTree(run: IRun, actions: IRunsActions): HTMLElement | null {
  const tree = run.started;
  if (!tree || !tree.runs.length) {
    return null;
  }
  const title = run.kind === 'pipeline' ? 'Steps and the runs they tracked' : 'Runs it started';
  const details = h(
    'details',
    { class: 'mlops-Section', 'data-testid': 'mlops-run-tree' },
    h('summary', null, title),
    treeList(tree, actions)
  );
  details.open = true;
  return details;
}
