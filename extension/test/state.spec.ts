// What the panel reads back from local storage after a page reload.
import { loadState, STATE_KEY } from '../src/state';

function storage(value: string | null): Storage {
  const items = new Map<string, string>();
  if (value !== null) {
    items.set(STATE_KEY, value);
  }
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: key => items.get(key) ?? null,
    key: () => null,
    removeItem: key => void items.delete(key),
    setItem: (key, v) => void items.set(key, v)
  };
}

describe('panel state', () => {
  const defaults = {
    tab: 'models',
    open: false,
    width: null,
    selectedRun: null,
    sort: { column: 'started', direction: 'desc' },
    kind: '',
    query: '',
    columns: [],
    foldedHistory: [],
    driftUnfolded: [],
    alertState: 'open',
    alertModel: ''
  };

  it('starts from the defaults in a fresh browser or without storage', () => {
    expect(loadState(storage(null))).toEqual(defaults);
    expect(loadState(null)).toEqual(defaults);
  });

  it('reads back what was saved', () => {
    const saved = {
      tab: 'runs',
      open: true,
      width: 430,
      selectedRun: 'abc123',
      sort: { column: 'metrics.auc', direction: 'asc' },
      kind: 'notebook',
      query: 'auc > 0.8 and C = 1',
      columns: ['metrics.auc', 'params.C'],
      foldedHistory: ['churn'],
      driftUnfolded: ['fraud'],
      alertState: 'silenced',
      alertModel: 'churn'
    };
    expect(loadState(storage(JSON.stringify(saved)))).toEqual(saved);
  });

  it('drops what it cannot use, keeping the rest', () => {
    const state = loadState(
      storage(
        JSON.stringify({
          tab: 'nope',
          open: 'yes',
          width: 20,
          selectedRun: 7,
          sort: { column: 'name', direction: 'sideways' },
          kind: null,
          query: 3,
          columns: ['metrics.auc', 'name', 'metric', 7],
          foldedHistory: ['churn', 3, null],
          driftUnfolded: 'fraud'
        })
      )
    );
    expect(state).toEqual({ ...defaults, columns: ['metrics.auc'], foldedHistory: ['churn'] });
    // a sort an older panel saved and the server does not know
    expect(loadState(storage(JSON.stringify({ sort: { column: 'metric', direction: 'asc' } }))).sort).toEqual(defaults.sort);
  });

  it('survives unreadable or foreign JSON', () => {
    for (const text of ['{not json', 'null', '5', '"text"', '[]']) {
      expect(loadState(storage(text))).toEqual(defaults);
    }
  });
});
