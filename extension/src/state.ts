/**
 * What the panel remembers across page reloads, and how it reads it back:
 * pure functions over a `Storage`, so jest can test them without JupyterLab.
 */
import { isRunColumn, type RunColumn, type SortDirection } from './logic';

/** The panel's tabs, in the order they are shown. */
export const TABS = ['models', 'runs', 'drift', 'alerts', 'requests', 'schedules', 'serving'] as const;
export type TabName = (typeof TABS)[number];

/** The local-storage key of the panel's state. */
export const STATE_KEY = 'mlops-nb:panel';

/** What the panel remembers across page reloads. */
export interface IPanelState {
  tab: TabName;
  open: boolean;
  width: number | null;
  selectedRun: string | null;
  sort: { column: RunColumn; direction: SortDirection };
  kind: string;
  /** the runs filter expression */
  query: string;
  /** the metric and parameter columns of the runs list */
  columns: string[];
  foldedHistory: string[];
  driftUnfolded: string[];
  /** the Alerts tab's filter: a state (open, …, all) and a model ('' for all) */
  alertState: string;
  alertModel: string;
}

/** The state saved in `storage`, with defaults for anything missing or unreadable. */
export function loadState(storage: Storage | null): IPanelState {
  const fallback: IPanelState = {
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
  let saved: Partial<IPanelState> = {};
  try {
    saved = JSON.parse(storage?.getItem(STATE_KEY) ?? '{}') ?? {};
  } catch {
    saved = {};
  }
  const strings = (value: unknown) =>
    Array.isArray(value) ? value.filter(v => typeof v === 'string') : [];
  return {
    tab: (TABS as readonly string[]).includes(saved.tab as string) ? (saved.tab as TabName) : fallback.tab,
    open: saved.open === true,
    width: typeof saved.width === 'number' && saved.width >= 120 ? saved.width : null,
    selectedRun: typeof saved.selectedRun === 'string' ? saved.selectedRun : null,
    sort:
      saved.sort && isRunColumn(saved.sort.column) && ['asc', 'desc'].includes(saved.sort.direction)
        ? saved.sort
        : fallback.sort,
    kind: typeof saved.kind === 'string' ? saved.kind : '',
    query: typeof saved.query === 'string' ? saved.query : '',
    columns: strings(saved.columns).filter(c => c.includes('.') && isRunColumn(c)),
    foldedHistory: strings(saved.foldedHistory),
    driftUnfolded: strings(saved.driftUnfolded),
    alertState: ['open', 'acknowledged', 'resolved', 'silenced', 'all'].includes(saved.alertState as string)
      ? (saved.alertState as string)
      : 'open',
    alertModel: typeof saved.alertModel === 'string' ? saved.alertModel : ''
  };
}
