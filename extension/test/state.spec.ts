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
    foldedHistory: [],
    driftUnfolded: []
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
      sort: { column: 'metric', direction: 'asc' },
      kind: 'notebook',
      foldedHistory: ['churn'],
      driftUnfolded: ['fraud']
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
          foldedHistory: ['churn', 3, null],
          driftUnfolded: 'fraud'
        })
      )
    );
    expect(state).toEqual({ ...defaults, foldedHistory: ['churn'] });
  });

  it('survives unreadable or foreign JSON', () => {
    for (const text of ['{not json', 'null', '5', '"text"', '[]']) {
      expect(loadState(storage(text))).toEqual(defaults);
    }
  });
});
