// The panel's refresh against a fake Jupyter server: every request the
// client makes is counted where it leaves (ServerConnection.makeRequest), so
// a tab that asked once per model would show 201 requests for 200 models.

const mockMakeRequest = jest.fn();

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://h/' }),
    makeRequest: (...args: unknown[]) => mockMakeRequest(...args)
  }
}));
// The icon is an SVG file bundled by webpack and the dialogs need a live
// JupyterLab: a refresh uses neither.
jest.mock('../src/icon', () => ({ mlopsIcon: undefined }));
jest.mock('../src/dialogs', () => ({}));

import './shims';
import { MlopsClient } from '../src/api';
import { MlopsPanel } from '../src/panel';
import type { IDriftHistory, IModelDetail, IModelSummary, IRun, ISchedule } from '../src/types';

const EVIL = '<img src=x onerror=alert(1)>';
const MODELS = 200;

function summary(name: string): IModelSummary {
  return { name, created_at: '2026-11-24T17:35:13Z', updated_at: null, versions: 1, latest_version: 1, aliases: { production: 1 } };
}

function detail(name: string): IModelDetail {
  return {
    name,
    default_alias: 'production',
    aliases: [{ alias: 'production', version: 1, rollback_to: null }],
    versions: [
      {
        model: name,
        version: 1,
        run_id: 'a'.repeat(32),
        created_at: '2026-11-24T17:35:13Z',
        created_by: 'ana',
        artifact_sha256: 'f'.repeat(64),
        format: 'skops',
        estimator: 'sklearn.pipeline.Pipeline',
        metrics: { accuracy: 0.8 },
        data_sha256: null,
        aliases: ['production']
      }
    ],
    history: []
  };
}

function drift(name: string): IDriftHistory {
  return { model: name, history: [], latest: null, holder: null, alerts: [] };
}

function run(id: string, name = 'churn'): IRun {
  return {
    run_id: id,
    kind: 'track',
    name,
    status: 'finished',
    started_at: '2026-11-24T17:35:13Z',
    ended_at: '2026-11-24T17:35:14Z',
    actor: 'ana',
    parent_run_id: null,
    params: { C: 1 },
    metrics: { auc: 0.9 },
    values: {},
    tags: {},
    data: {},
    environment: {},
    git_commit: null,
    git_dirty: null,
    notebook_path: null,
    input_sha256: null,
    output_sha256: null,
    source_sha256: null,
    error: null,
    model_version: null,
    has_notebook: false
  };
}

const names = [EVIL, ...Array.from({ length: MODELS - 1 }, (_, i) => `model-${String(i).padStart(3, '0')}`)];
const SELECTED = 'b'.repeat(32);

/** What the fake server answers on each route (a bad filter when q is `bad`). */
function answer(url: string): unknown {
  const { pathname, searchParams } = new URL(url);
  const route = pathname.replace('/mlops-nb/api/', '');
  if (route === 'panel/models') {
    return { models: names.map(n => ({ summary: summary(n), detail: detail(n) })) };
  }
  if (route === 'panel/drift') {
    return { models: names.map(drift) };
  }
  if (route === 'panel/runs') {
    const selected = searchParams.get('selected');
    const page = { runs: [run('c'.repeat(32), EVIL)], total: 1, limit: 50, offset: 0, sort: 'started', order: 'desc' };
    return {
      page: searchParams.get('q') === 'bad' ? null : page,
      error: searchParams.get('q') === 'bad' ? 'cannot read the filter at "bad"' : null,
      selected: selected === SELECTED ? { ...run(SELECTED), children: [] } : null,
      selected_error: selected && selected !== SELECTED ? `no run ${selected}` : null
    };
  }
  if (route === 'schedules') {
    return [] as ISchedule[];
  }
  // The routes the panel asked one by one before: answered, so only the count tells.
  if (route === 'models') {
    return names.map(summary);
  }
  if (route.startsWith('models/')) {
    return detail(decodeURIComponent(route.slice('models/'.length)));
  }
  if (route.startsWith('drift/')) {
    return drift(decodeURIComponent(route.slice('drift/'.length)));
  }
  return { error: 'no such route', type: 'HTTPError' };
}

function requested(): string[] {
  return mockMakeRequest.mock.calls.map(([url]) => new URL(url as string).pathname.replace('/mlops-nb/api/', ''));
}

let panel: MlopsPanel;

beforeEach(() => {
  mockMakeRequest.mockReset();
  // jsdom has no fetch Response: the part of one the client reads.
  mockMakeRequest.mockImplementation(async (url: string) => {
    const body = JSON.stringify(answer(url));
    return { ok: true, status: 200, statusText: 'OK', text: async () => body };
  });
  panel = new MlopsPanel({ client: new MlopsClient({ baseUrl: 'http://h/' } as any), showInMain: jest.fn(), storage: null });
  document.body.replaceChildren(panel.node);
});

afterEach(() => panel.dispose());

async function refreshTab(tab: 'models' | 'runs' | 'drift' | 'schedules'): Promise<void> {
  panel.selectTab(tab, false);
  mockMakeRequest.mockClear();
  await panel.refresh();
}

/** Let the refresh an action started run to its end (the fake server answers at once). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

function view(tab: string): HTMLElement {
  return panel.node.querySelector(`[data-view="${tab}"]`) as HTMLElement;
}

describe('one request per tab', () => {
  it('loads 200 models with one request and shows every one', async () => {
    await refreshTab('models');
    expect(requested()).toEqual(['panel/models']);
    const shown = [...view('models').querySelectorAll('[data-testid="mlops-model-name"]')].map(n => n.textContent);
    expect(shown).toHaveLength(MODELS);
    expect(shown).toContain(EVIL);
    expect(view('models').querySelector('img')).toBeNull();
  });

  it('loads the drift of 200 models with one request', async () => {
    await refreshTab('drift');
    expect(requested()).toEqual(['panel/drift']);
    const shown = [...view('drift').querySelectorAll('[data-model-name]')].map(n => n.getAttribute('data-model-name'));
    expect(new Set(shown)).toEqual(new Set(names));
    expect(view('drift').querySelector('img')).toBeNull();
  });

  it('loads the runs page and the selected run with one request', async () => {
    panel.showRun(SELECTED);
    await refreshTab('runs');
    expect(requested()).toEqual(['panel/runs']);
    const url = new URL(mockMakeRequest.mock.calls[0][0] as string);
    expect(url.searchParams.get('selected')).toBe(SELECTED);
    expect(url.searchParams.get('limit')).toBe('50');
    expect(view('runs').querySelectorAll('[data-testid="mlops-run"]')).toHaveLength(1);
    expect(view('runs').querySelector('[data-testid="mlops-run-detail"]')?.getAttribute('data-run-id')).toBe(SELECTED);
    expect(view('runs').querySelector('img')).toBeNull();
  });

  it('asks for no selected run when none is selected', async () => {
    await refreshTab('runs');
    expect(requested()).toEqual(['panel/runs']);
    expect(new URL(mockMakeRequest.mock.calls[0][0] as string).searchParams.has('selected')).toBe(false);
    expect(view('runs').querySelector('[data-testid="mlops-run-detail"]')).toBeNull();
  });

  it('keeps the last page and says why when the filter cannot be read, in the same one request', async () => {
    await refreshTab('runs');
    const search = view('runs').querySelector('[data-testid="mlops-run-filter"]') as HTMLInputElement;
    search.value = 'bad';
    mockMakeRequest.mockClear();
    search.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    await settle();
    expect(requested()).toEqual(['panel/runs']);
    expect(view('runs').querySelector('[data-testid="mlops-run-filter-error"]')?.textContent).toContain('cannot read the filter');
    expect(view('runs').querySelectorAll('[data-testid="mlops-run"]')).toHaveLength(1);
  });

  it('says so when the selected run is gone', async () => {
    panel.showRun('d'.repeat(32));
    await refreshTab('runs');
    expect(requested()).toEqual(['panel/runs']);
    expect(view('runs').textContent).toContain(`no run ${'d'.repeat(32)}`);
  });

  it('loads the schedules with one request', async () => {
    await refreshTab('schedules');
    expect(requested()).toEqual(['schedules']);
  });
});
