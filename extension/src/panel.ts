/**
 * The "MLOps" side panel: six tabs over the REST API, a message line for
 * the result of the last action, and a refresh loop.
 *
 * A refresh of a tab is one request, whose answer holds everything the tab
 * shows (`GET /panel/models`, `/panel/runs`, `/panel/drift`, `/schedules`, `/alerts`):
 * a registry of 200 models is one round trip, not 201.
 *
 * Each tab re-renders only when the JSON it loaded changed, so the
 * periodic refresh does not reset scroll positions, open sections or the
 * selected run. What the user chose (tab, selected run, sort, filter, open
 * sections, the panel's width and whether it is open) is kept in the
 * browser's local storage and comes back after a page reload.
 */
import { type Message } from '@lumino/messaging';
import { SplitPanel, Widget } from '@lumino/widgets';

import { ApiError, MlopsClient } from './api';
import { askPromote, askRemoveSchedule, askRollback, askRunNow, askSchedule } from './dialogs';
import { focusSelector, h, replaceChildren } from './dom';
import { mlopsIcon } from './icon';
import { CompareView } from './compare';
import { DriftColumnView } from './driftcolumn';
import { NotebookView } from './notebook';
import { formatDateTime, nextSort, shortId, type RunColumn } from './logic';
import { editForm, newForm } from './scheduleForm';
import { loadState, STATE_KEY, TABS, type IPanelState, type TabName } from './state';
import { TIMELINE_CHECKS } from './timeline';
import type {
  IAliasChange,
  IAliasHolder,
  IAnnotateRequest,
  IDriftCheckDetail,
  IDriftChecksPage,
  IRun,
  ISchedule,
  IScheduleSlot
} from './types';
import { renderAlerts, type AlertFilterState, type IAlertsActions } from './views/alerts';
import { renderRequests, type IRequestsActions, type RequestFilterState } from './views/requests';
import { renderDrift, type IDriftActions, type IDriftEntry } from './views/drift';
import { renderModels, type IModelEntry } from './views/models';
import { renderRunDetail, renderRunList, type IRunsPage, type IRunsState } from './views/runs';
import { renderSchedules } from './views/schedules';
import { renderServing } from './views/serving';

export const PANEL_ID = 'mlops-nb-panel';
export { TABS, type TabName } from './state';

const TAB_LABELS: Record<TabName, string> = {
  models: 'Models',
  runs: 'Runs',
  drift: 'Drift',
  alerts: 'Alerts',
  requests: 'Requests',
  schedules: 'Schedules',
  serving: 'Serving'
};

/** How many runs a page of the list shows. */
const RUN_PAGE = 50;

/**
 * The panel's width when it first opens, in pixels: wide enough for a run
 * name, its status and metric on one line, and for a run's provenance with
 * its close button, where JupyterLab's 250 px sidebar was not.
 */
export const DEFAULT_WIDTH = 400;

/** Seconds between refreshes while a schedule the panel shows is running. */
const RUNNING_REFRESH = 2;

function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage blocked: the panel simply forgets
  }
}

export interface IPanelOptions {
  client: MlopsClient;
  /** add a widget to the main area (or bring it to the front) */
  showInMain(widget: Widget): void;
  /** where the panel keeps its state (default: the browser's local storage) */
  storage?: Storage | null;
}

/** Text of an error for the message line. */
function errorText(reason: unknown): string {
  if (reason instanceof ApiError) {
    const failures = reason.failures.length ? ` — failing: ${reason.failures.join('; ')}` : '';
    if (reason.status === 404 && !reason.type) {
      return `${reason.message} (is the mlops-nb server extension enabled?)`;
    }
    return `${reason.message}${failures}`;
  }
  return reason instanceof Error ? reason.message : String(reason);
}

export class MlopsPanel extends Widget {
  constructor(options: IPanelOptions) {
    super();
    this.client = options.client;
    this.showInMain = options.showInMain;
    this.storage = options.storage === undefined ? browserStorage() : options.storage;
    this.savedBefore = this.storage?.getItem(STATE_KEY) !== null && this.storage !== null;
    this.state = loadState(this.storage);
    this.runsState = {
      sort: this.state.sort,
      kind: this.state.kind,
      selected: this.state.selectedRun,
      query: this.state.query,
      columns: this.state.columns,
      offset: 0,
      compare: []
    };
    this.modelsState = { foldedHistory: new Set(this.state.foldedHistory) };
    this.driftUnfolded = new Set(this.state.driftUnfolded);
    this.id = PANEL_ID;
    this.addClass('mlops-Panel');
    this.title.caption = 'MLOps';
    this.title.icon = mlopsIcon;

    this.tabBar = h('div', { class: 'mlops-Tabs', role: 'tablist' });
    for (const tab of TABS) {
      const button = h(
        'button',
        {
          class: 'mlops-Tab',
          role: 'tab',
          'data-testid': `mlops-tab-${tab}`,
          'data-tab': tab,
          onclick: () => this.selectTab(tab)
        },
        TAB_LABELS[tab]
      );
      this.tabButtons.set(tab, button);
      this.tabBar.appendChild(button);
    }
    this.message = h('div', { class: 'mlops-Message', hidden: true });
    this.status = h('span', { class: 'mlops-muted mlops-small' });
    const header = h(
      'div',
      { class: 'mlops-Header' },
      h('span', { class: 'mlops-Header-title' }, 'MLOps'),
      this.status,
      h(
        'button',
        {
          class: 'mlops-button mlops-button-small mlops-button-quiet',
          'data-testid': 'mlops-refresh',
          title: 'Refresh now',
          'aria-label': 'Refresh',
          onclick: () => void this.refresh()
        },
        '⟳'
      )
    );
    this.body = h('div', { class: 'mlops-Body' });
    for (const tab of TABS) {
      const view = h('div', { class: 'mlops-View', role: 'tabpanel', 'data-view': tab, hidden: true });
      this.views.set(tab, view);
      this.body.appendChild(view);
    }
    this.node.append(header, this.tabBar, this.message, this.body);
    this.selectTab(this.state.tab, false);
  }

  /** Whether the panel was open when the page was left (index.ts opens it again). */
  get wasOpen(): boolean {
    return this.state.open;
  }

  /** Whether this browser kept a state of the panel from an earlier page. */
  get hasSavedState(): boolean {
    return this.savedBefore;
  }

  /** The tab on show. */
  get currentTab(): TabName {
    return this.tab;
  }

  /** Show `tab` (and load it unless `load` is false). */
  selectTab(tab: TabName, load = true): void {
    this.tab = tab;
    this.state.tab = tab;
    this.saveState();
    for (const [name, button] of this.tabButtons) {
      const active = name === tab;
      button.classList.toggle('mlops-active', active);
      button.setAttribute('aria-selected', active ? 'true' : 'false');
    }
    for (const [name, view] of this.views) {
      view.hidden = name !== tab;
    }
    if (load && this.isVisible) {
      void this.refresh();
    }
  }

  /** Seconds between automatic refreshes while the panel is visible; 0 turns them off. */
  setRefreshInterval(seconds: number): void {
    if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
    if (seconds > 0) {
      this.timer = window.setInterval(() => {
        if (this.isVisible && document.visibilityState !== 'hidden') {
          void this.refresh();
        }
      }, Math.max(1, seconds) * 1000);
    }
  }

  /** Reload the tab on show. Concurrent calls share one request. */
  refresh(): Promise<void> {
    if (this.pending) {
      this.again = true;
      return this.pending;
    }
    this.pending = this.load(this.tab).finally(() => {
      this.pending = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.pending;
  }

  /** Show the result of an action; errors stay until dismissed or replaced. */
  showMessage(kind: 'success' | 'error' | 'info', text: string, details: string[] = []): void {
    replaceChildren(
      this.message,
      h('div', { class: 'mlops-Message-text' }, text),
      details.length ? h('ul', null, ...details.map(d => h('li', null, d))) : null,
      h(
        'button',
        {
          class: 'mlops-button mlops-button-small mlops-button-quiet mlops-close',
          title: 'Dismiss',
          'aria-label': 'Dismiss',
          onclick: () => this.clearMessage()
        },
        '×'
      )
    );
    this.message.className = `mlops-Message mlops-Message-${kind}`;
    this.message.setAttribute('data-testid', 'mlops-message');
    this.message.setAttribute('data-kind', kind);
    this.message.hidden = false;
  }

  clearMessage(): void {
    this.message.hidden = true;
    this.message.removeAttribute('data-testid');
    replaceChildren(this.message);
  }

  /** Select a run on the Runs tab and show its provenance. */
  showRun(runId: string): void {
    this.runsState.selected = runId;
    this.runDetail = null;
    this.revealDetail = true;
    this.saveState();
    this.selectTab('runs');
  }

  /**
   * Open the executed notebook of a run read-only in the main area. The tab
   * appears once the report has arrived; until then the message line says
   * what is happening.
   */
  /** Open runs side by side in the main area (by default those ticked on the Runs tab). */
  async compareRuns(ids: string[] = [...this.runsState.compare]): Promise<void> {
    try {
      this.showInMain(new CompareView(await this.client.compareRuns(ids)));
    } catch (reason) {
      this.showMessage('error', `Could not compare the runs: ${errorText(reason)}`);
    }
  }

  async openNotebook(runId: string, name: string): Promise<void> {
    const open = this.notebooks.get(runId);
    if (open && !open.isDisposed) {
      this.showInMain(open);
      return;
    }
    this.showMessage('info', `Opening the executed notebook of run ${runId.slice(0, 8)}…`);
    let html: string;
    try {
      html = await this.client.runNotebookHtml(runId);
    } catch (reason) {
      this.showMessage('error', `Could not open the notebook of run ${runId.slice(0, 8)}: ${errorText(reason)}`);
      return;
    }
    const view = new NotebookView(runId, name, html);
    this.notebooks.set(runId, view);
    view.disposed.connect(() => this.notebooks.delete(runId));
    this.showInMain(view);
    this.clearMessage();
  }

  dispose(): void {
    if (this.timer !== null) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
    if (this.follow !== null) {
      window.clearInterval(this.follow);
      this.follow = null;
    }
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.state.open = true;
    this.saveState();
    if (!this.sizing) {
      this.sizing = true;
      // JupyterLab lays the sidebar out at its own width first; only resizes
      // after ours (a drag of the splitter) are the user's choice to keep.
      requestAnimationFrame(() => {
        this.fitWidth();
        this.sized = true;
      });
    }
    void this.refresh();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    if (!this.isDisposed) {
      this.state.open = false;
      this.saveState();
    }
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    if (this.sized && this.isVisible && msg.width > 0) {
      this.state.width = Math.round(msg.width);
      this.saveState();
    }
  }

  /**
   * Give the sidebar the width the user left it at, or DEFAULT_WIDTH the first
   * time, by setting the relative sizes of JupyterLab's main split panel.
   */
  private fitWidth(): void {
    let area: Widget | null = this;
    let split: Widget | null = this.parent;
    while (split && !(split instanceof SplitPanel)) {
      area = split;
      split = split.parent;
    }
    const total = split?.node.clientWidth ?? 0;
    if (!(split instanceof SplitPanel) || !area || total <= 0) {
      return;
    }
    const index = split.widgets.indexOf(area);
    const sizes = split.relativeSizes();
    if (index < 0 || sizes.length !== split.widgets.length) {
      return;
    }
    const share = Math.min((this.state.width ?? DEFAULT_WIDTH) / total, 0.6);
    const others = sizes.reduce((sum, size, i) => (i === index ? sum : sum + size), 0) || 1;
    split.setRelativeSizes(sizes.map((size, i) => (i === index ? share : (size / others) * (1 - share))));
  }

  /** Keep what the user chose for the next page load. */
  private saveState(): void {
    this.state.selectedRun = this.runsState?.selected ?? null;
    this.state.sort = this.runsState?.sort ?? this.state.sort;
    this.state.kind = this.runsState?.kind ?? '';
    this.state.query = this.runsState?.query ?? '';
    this.state.columns = [...(this.runsState?.columns ?? [])];
    this.state.foldedHistory = [...(this.modelsState?.foldedHistory ?? [])];
    this.state.driftUnfolded = [...(this.driftUnfolded ?? [])];
    try {
      this.storage?.setItem(STATE_KEY, JSON.stringify(this.state));
    } catch {
      // full or blocked storage: nothing to keep
    }
  }

  // ---------------------------------------------------------------- loading

  private async load(tab: TabName): Promise<void> {
    const view = this.views.get(tab) as HTMLElement;
    try {
      switch (tab) {
        case 'models':
          await this.loadModels(view);
          break;
        case 'runs':
          await this.loadRuns(view);
          break;
        case 'drift':
          await this.loadDrift(view);
          break;
        case 'alerts':
          await this.loadAlerts(view);
          break;
        case 'requests':
          await this.loadRequests(view);
          break;
        case 'schedules':
          await this.loadSchedules(view);
          break;
        case 'serving':
          await this.loadServing(view);
          break;
      }
      const now = new Date();
      this.status.textContent = `updated ${now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })}`;
      this.status.title = `Last refreshed ${formatDateTime(now.toISOString())}`;
    } catch (reason) {
      this.shown.delete(tab);
      replaceChildren(view, h('p', { class: 'mlops-error', 'data-testid': 'mlops-load-error' }, `Could not load ${tab}: ${errorText(reason)}`));
    }
  }

  /** Render `make()` into `view` unless `data` is what is on show already. */
  private paint(tab: TabName, view: HTMLElement, data: unknown, make: () => HTMLElement): void {
    const key = JSON.stringify(data);
    if (this.shown.get(tab) === key && view.firstChild) {
      return;
    }
    const scroll = this.body.scrollTop;
    // A refresh must not take the keyboard away: find what had the focus again.
    const active = document.activeElement;
    const refocus = active && view.contains(active) ? focusSelector(active) : null;
    replaceChildren(view, make());
    this.shown.set(tab, key);
    this.body.scrollTop = scroll;
    if (refocus) {
      (view.querySelector(refocus) as HTMLElement | null)?.focus();
    }
  }

  private async loadModels(view: HTMLElement): Promise<void> {
    const entries: IModelEntry[] = (await this.client.panelModels()).models;
    this.models = entries;
    this.paint('models', view, entries, () =>
      renderModels(
        entries,
        {
          promote: (model, version) => void this.promote(model, version),
          rollback: (model, holder) => void this.rollback(model, holder),
          openRun: runId => this.showRun(runId),
          compareVersions: (_model, runIds) => void this.compareRuns(runIds),
          loadSchema: (model, version) =>
            this.client.getVersion(model, version).then(
              full => full.signature ?? [],
              (reason: unknown) => {
                throw new Error(errorText(reason));
              }
            ),
          annotate: (model, version, request) => this.annotate(model, version, request),
          card: {
            load: (model, version) => this.client.getCard(model, version).catch(rethrow),
            save: (model, version, edit) =>
              this.client.editCard(model, version, edit).then(card => {
                this.showMessage('success', `Saved the model card of ${model} v${version} (recorded in the audit log).`);
                return card;
              }, rethrow)
          }
        },
        this.modelsState
      )
    );
    // The user may fold a model's history: remember it.
    this.saveState();
  }

  private async loadRuns(view: HTMLElement): Promise<void> {
    const state = this.runsState;
    const tab = await this.client.panelRuns(
      {
        q: state.query,
        kind: state.kind,
        sort: state.sort.column,
        order: state.sort.direction,
        limit: RUN_PAGE,
        offset: state.offset
      },
      state.selected
    );
    const found = tab.page;
    // A filter the server cannot read: say why under the box, keep the last good page.
    const page: IRunsPage = found
      ? { runs: found.runs, total: found.total, offset: found.offset, limit: found.limit }
      : { ...this.runsPage, error: tab.error ?? 'the filter cannot be read' };
    this.runDetail = tab.selected;
    const detailError = tab.selected_error;
    this.runsPage = page;
    this.paint('runs', view, [page, this.runsState, this.runDetail, detailError], () =>
      this.renderRuns(detailError)
    );
    this.showDetail(view);
  }

  /** Bring the run just selected into view, once its provenance is there. */
  private showDetail(view: HTMLElement): void {
    const detail = view.querySelector('[data-testid="mlops-run-detail"]');
    if (this.revealDetail && detail) {
      this.revealDetail = false;
      detail.scrollIntoView({ block: 'start' });
    }
  }

  private renderRuns(detailError: string | null = null): HTMLElement {
    const actions = {
      sortBy: (column: RunColumn) => {
        this.runsState.sort = nextSort(this.runsState.sort, column);
        this.requery();
      },
      filterKind: (kind: string) => {
        this.runsState.kind = kind;
        this.requery();
      },
      search: (query: string) => {
        this.runsState.query = query.trim();
        this.requery();
      },
      setColumns: (columns: string[]) => {
        this.runsState.columns = columns;
        this.saveState();
        this.rerenderRuns();
      },
      page: (offset: number) => {
        this.runsState.offset = offset;
        this.requery(false);
      },
      tickCompare: (runId: string, on: boolean) => {
        const ticked = this.runsState.compare.filter(id => id !== runId);
        this.runsState.compare = on ? [...ticked, runId] : ticked;
        this.rerenderRuns();
      },
      compare: () => void this.compareRuns(),
      select: (runId: string | null) => {
        this.runsState.selected = runId;
        this.runDetail = null;
        this.revealDetail = runId !== null;
        this.saveState();
        this.rerenderRuns();
        if (runId) {
          void this.refresh();
        }
      },
      openNotebook: (run: IRun) => void this.openNotebook(run.run_id, run.name),
      notebookUrl: (run: IRun) => this.client.url(['runs', run.run_id, 'notebook'], { format: 'ipynb' }),
      artifactUrl: (run: IRun, kind: string) => this.client.url(['runs', run.run_id, 'artifacts', kind])
    };
    const detail = this.runDetail
      ? renderRunDetail(this.runDetail, actions)
      : detailError
        ? h('p', { class: 'mlops-error' }, detailError)
        : this.runsState.selected
          ? h('p', { class: 'mlops-muted' }, 'Loading the run…')
          : h('p', { class: 'mlops-muted mlops-small' }, 'Select a run to see its provenance.');
    return h('div', { class: 'mlops-Runs' }, renderRunList(this.runsPage, this.runsState, actions), detail);
  }

  /** Ask the server again after the filter, the kind or the sort changed (from the first page). */
  private requery(fromStart = true): void {
    if (fromStart) {
      this.runsState.offset = 0;
    }
    this.saveState();
    void this.refresh();
  }

  private rerenderRuns(): void {
    const view = this.views.get('runs') as HTMLElement;
    this.shown.delete('runs');
    this.paint('runs', view, [this.runsPage, this.runsState, this.runDetail], () => this.renderRuns());
  }

  private async loadDrift(view: HTMLElement): Promise<void> {
    const entries: IDriftEntry[] = (await this.client.panelDrift()).models.map(drift => ({
      model: drift.model,
      drift,
      chosen: this.driftChosen.get(drift.model) ?? null,
      page: this.driftPages.get(drift.model) ?? null
    }));
    const actions: IDriftActions = {
      reportUrl: (model, checkId) => this.client.url(['drift', model, 'checks', String(checkId), 'report']),
      openColumn: (entry, column, report) => {
        this.showInMain(new DriftColumnView(entry.model, column, { version: report.version ?? null, at: report.at }));
      },
      openCheck: (entry, checkId) => void this.openDriftCheck(entry, checkId),
      pageChecks: (entry, before) => void this.pageDriftChecks(entry, before)
    };
    this.paint('drift', view, entries, () => renderDrift(entries, this.driftUnfolded, actions));
    this.saveState();
  }

  /** Show one check of a model in place of its latest (the latest's id: the latest again). */
  private async openDriftCheck(entry: IDriftEntry, checkId: number): Promise<void> {
    try {
      if (checkId === entry.drift?.latest?.check_id) {
        this.driftChosen.delete(entry.model);
      } else {
        this.driftChosen.set(entry.model, await this.client.getDriftCheck(entry.model, checkId));
      }
    } catch (reason) {
      this.showMessage('error', `Could not open drift check #${checkId}: ${errorText(reason)}`);
      return;
    }
    await this.load('drift');
    this.focusIn('drift', `[data-model-name="${CSS.escape(entry.model)}"] [data-check-id="${checkId}"]`);
  }

  private async loadAlerts(view: HTMLElement): Promise<void> {
    const filter = { state: this.state.alertState as AlertFilterState, model: this.state.alertModel };
    const alerts = await this.client.alerts(filter.state, filter.model);
    const actions: IAlertsActions = {
      filter: chosen => {
        this.state.alertState = chosen.state;
        this.state.alertModel = chosen.model;
        this.saveState();
        void this.load('alerts');
      },
      ack: async (alert, note) => {
        await this.client.ackAlert(alert.alert_id, note);
        this.showMessage('success', `Alert #${alert.alert_id} acknowledged.`);
        void this.load('alerts');
      },
      resolve: async (alert, request) => {
        const done = await this.client.resolveAlert(alert.alert_id, request);
        this.showMessage('success', `Alert #${alert.alert_id} resolved: ${done.decision}.`);
        void this.load('alerts');
      },
      reportUrl: (model, checkId) => this.client.url(['drift', model, 'checks', String(checkId), 'report']),
      openCheck: (model, checkId) => void this.showDriftCheck(model, checkId),
      openRun: runId => this.showRun(runId)
    };
    this.paint('alerts', view, [filter, alerts], () => renderAlerts(alerts, filter, actions));
  }

  /** The promotion requests in the chosen state (pending first time), kept for this page. */
  private requestState: RequestFilterState = 'pending';

  private async loadRequests(view: HTMLElement): Promise<void> {
    const state = this.requestState;
    const answer = await this.client.promotionRequests(state);
    const decided = (request: { request_id: number }, what: string) => {
      this.showMessage('success', `Promotion request #${request.request_id} ${what}.`);
      void this.load('requests');
    };
    const actions: IRequestsActions = {
      filter: chosen => {
        this.requestState = chosen;
        void this.load('requests');
      },
      approve: async (request, note) => {
        const done = await this.client.decideRequest(request.request_id, 'approve', note);
        decided(done, done.state === 'approved' ? `approved: ${done.model}@${done.alias} now holds v${done.version}` : `approved (${done.approvals.length} of ${done.approvers})`);
      },
      reject: async (request, note) => {
        decided(await this.client.decideRequest(request.request_id, 'reject', note), 'rejected');
      }
    };
    this.paint('requests', view, [state, answer], () => renderRequests(answer, state, actions));
  }

  /** Switch to the Drift tab with check `checkId` of `model` shown and its charts unfolded. */
  private async showDriftCheck(model: string, checkId: number): Promise<void> {
    try {
      this.driftChosen.set(model, await this.client.getDriftCheck(model, checkId));
    } catch (reason) {
      this.showMessage('error', `Could not open drift check #${checkId}: ${errorText(reason)}`);
      return;
    }
    this.driftUnfolded.add(model);
    this.shown.delete('drift');
    this.selectTab('drift');
  }

  /** Page a model's timeline to the checks before `before` (`null`: back to the newest). */
  private async pageDriftChecks(entry: IDriftEntry, before: number | null): Promise<void> {
    try {
      if (before === null) {
        this.driftPages.delete(entry.model);
      } else {
        this.driftPages.set(entry.model, await this.client.driftChecks(entry.model, before, TIMELINE_CHECKS));
      }
    } catch (reason) {
      this.showMessage('error', `Could not load earlier drift checks: ${errorText(reason)}`);
      return;
    }
    await this.load('drift');
  }

  /** Give the keyboard back to what was used, once a view was drawn again. */
  private focusIn(tab: TabName, selector: string): void {
    const found = this.views.get(tab)?.querySelector(selector) as HTMLElement | null;
    found?.focus();
  }

  private async loadSchedules(view: HTMLElement): Promise<void> {
    this.schedules = await this.client.listSchedules();
    this.renderScheduleView(view);
    this.followRunning();
  }

  /** One request per refresh: the server sends every process with its numbers. */
  private async loadServing(view: HTMLElement): Promise<void> {
    const { servers, deploys = [] } = await this.client.listServing();
    // Each process's silent_s changes at every refresh, so its relative times
    // ("2 min ago") are drawn afresh with it; so do a deploy's numbers.
    this.paint('serving', view, { servers, deploys }, () => renderServing(servers, new Date(), deploys));
  }

  /** While a schedule runs, refresh the tab every few seconds to show its progress. */
  private followRunning(): void {
    const running = this.schedules.some(s => (s.running ?? []).length > 0);
    if (running && this.follow === null) {
      this.follow = window.setInterval(() => {
        if (this.tab === 'schedules' && this.isVisible) {
          void this.refresh();
        }
      }, RUNNING_REFRESH * 1000);
    } else if (!running && this.follow !== null) {
      window.clearInterval(this.follow);
      this.follow = null;
    }
  }

  private renderScheduleView(view: HTMLElement = this.views.get('schedules') as HTMLElement): void {
    this.paint('schedules', view, [this.schedules, [...this.busy]], () =>
      renderSchedules(
        this.schedules,
        {
          runNow: schedule => void this.runNow(schedule),
          setPaused: (name, paused) => void this.scheduleAction(name, paused ? 'pause' : 'resume'),
          create: () => void this.defineSchedule(''),
          edit: schedule => void this.defineSchedule(null, schedule),
          remove: schedule => void this.removeSchedule(schedule),
          cancel: (name, slotId) => void this.cancelSlot(name, slotId),
          openRun: runId => this.showRun(runId),
          openNotebook: (runId, title) => void this.openNotebook(runId, title)
        },
        this.busy,
        undefined,
        undefined,
        this.openSlots
      )
    );
  }

  // ---------------------------------------------------------------- actions

  private async promote(model: string, version: number): Promise<void> {
    const detail = this.models.find(e => e.summary.name === model)?.detail;
    if (!detail) {
      this.showMessage('error', `Could not promote ${model} v${version}: its details did not load.`);
      return;
    }
    const request = await askPromote(model, version, detail.aliases, detail.default_alias);
    if (!request) {
      return;
    }
    try {
      const change = await this.client.promote(model, request);
      if ('request' in change) {
        this.showMessage(
          'info',
          `${model}@${change.request.alias} is protected: promotion request #${change.request.request_id} ` +
            'was opened and waits for approval on the Requests tab; nothing moved yet.'
        );
      } else {
        this.showMessage('success', this.describe(model, change));
      }
    } catch (reason) {
      if (reason instanceof ApiError && reason.status === 409 && reason.failures.length) {
        this.showMessage(
          'error',
          `Not promoted: the gate refused ${model} v${version} for ${request.alias}; nothing moved ` +
            '(the refusal is kept in the alias history).',
          reason.failures
        );
      } else {
        this.showMessage('error', `Could not promote ${model} v${version}: ${errorText(reason)}`);
      }
    }
    await this.reloadModels();
  }

  private async rollback(model: string, holder: IAliasHolder): Promise<void> {
    const request = await askRollback(model, holder);
    if (!request) {
      return;
    }
    try {
      const change = await this.client.rollback(model, request);
      this.showMessage('success', this.describe(model, change));
    } catch (reason) {
      this.showMessage('error', `Could not roll back ${model}@${holder.alias}: ${errorText(reason)}`);
    }
    await this.reloadModels();
  }

  /** Save a version's description and tags; the server's refusal is shown in the editor. */
  private async annotate(model: string, version: number, request: IAnnotateRequest): Promise<string | null> {
    try {
      await this.client.annotateVersion(model, version, request);
    } catch (reason) {
      return errorText(reason);
    }
    this.showMessage('success', `Saved the description and tags of ${model} v${version} (recorded in the audit log).`);
    // Not awaited: the editor closes first, then the tab shows what the server kept.
    void this.reloadModels();
    return null;
  }

  private describe(model: string, change: IAliasChange): string {
    const verb = change.action === 'rollback' ? 'Rolled back' : 'Promoted';
    const from = change.from_version === null ? '' : ` (was v${change.from_version})`;
    const gate = change.gate ? ` — gate: ${change.gate}` : '';
    return `${verb}: ${model}@${change.alias} → v${change.to_version}${from}${gate}`;
  }

  private async reloadModels(): Promise<void> {
    this.shown.delete('models');
    if (this.tab === 'models') {
      await this.refresh();
    }
  }

  /** Run a schedule now, after asking when it can move an alias; it runs on in the server. */
  private async runNow(schedule: ISchedule): Promise<void> {
    if (!(await askRunNow(schedule))) {
      return;
    }
    await this.scheduleAction(schedule.name, 'run-now');
  }

  private async scheduleAction(name: string, action: 'run-now' | 'pause' | 'resume'): Promise<void> {
    this.busy.add(name);
    this.renderScheduleView();
    try {
      const reply = await this.client.scheduleAction(name, action);
      if (action === 'run-now') {
        const slot = reply as IScheduleSlot;
        this.showMessage(
          'info',
          `${name}: started run ${shortId(slot.run_id)}; its progress shows below, where you can cancel it.`
        );
      } else {
        this.showMessage('info', `${name} ${action === 'pause' ? 'paused' : 'resumed'}`);
      }
    } catch (reason) {
      this.showMessage('error', `Could not ${action.replace('-', ' ')} ${name}: ${errorText(reason)}`);
    } finally {
      this.busy.delete(name);
      this.shown.delete('schedules');
      await this.refresh();
    }
  }

  /**
   * Define a schedule of `notebook` (its path under the server's folder), or
   * change `editing`, in the schedule dialog; then show it on the Schedules tab.
   */
  async defineSchedule(notebook: string | null, editing: ISchedule | null = null): Promise<void> {
    const form = editing ? editForm(editing) : newForm(notebook ?? '');
    let saved: ISchedule | null;
    try {
      saved = await askSchedule(this.client, form, editing);
    } catch (reason) {
      this.showMessage('error', `Could not save the schedule: ${errorText(reason)}`);
      return;
    }
    if (!saved) {
      return;
    }
    this.showMessage('success', `Schedule ${saved.name} ${editing ? 'saved' : 'created'}: ${saved.cron_text ?? saved.cron}`);
    this.selectTab('schedules');
    this.shown.delete('schedules');
    await this.refresh();
  }

  private async removeSchedule(schedule: ISchedule): Promise<void> {
    if (!(await askRemoveSchedule(schedule))) {
      return;
    }
    try {
      await this.client.removeSchedule(schedule.name);
      this.showMessage('info', `Schedule ${schedule.name} removed; its past runs stay.`);
    } catch (reason) {
      this.showMessage('error', `Could not remove ${schedule.name}: ${errorText(reason)}`);
    }
    this.shown.delete('schedules');
    await this.refresh();
  }

  private async cancelSlot(name: string, slotId: number): Promise<void> {
    try {
      const slot = await this.client.cancelSlot(name, slotId);
      this.showMessage(
        'info',
        `${name}: run ${shortId(slot.run_id)} cancelled; it is recorded as failed, cancelled by ${slot.cancelled_by}.`
      );
    } catch (reason) {
      this.showMessage('error', `Could not cancel ${name}: ${errorText(reason)}`);
    }
    this.shown.delete('schedules');
    await this.refresh();
  }

  private readonly client: MlopsClient;
  private readonly showInMain: (widget: Widget) => void;
  private readonly notebooks = new Map<string, NotebookView>();
  private readonly tabBar: HTMLElement;
  private readonly tabButtons = new Map<TabName, HTMLButtonElement>();
  private readonly views = new Map<TabName, HTMLElement>();
  private readonly message: HTMLElement;
  private readonly status: HTMLElement;
  private readonly body: HTMLElement;
  private tab: TabName = 'models';
  private timer: number | null = null;
  private pending: Promise<void> | null = null;
  private again = false;
  /** the JSON each tab shows now */
  private readonly shown = new Map<TabName, string>();
  private models: IModelEntry[] = [];
  private runsPage: IRunsPage = { runs: [], total: 0, offset: 0, limit: RUN_PAGE };
  private schedules: ISchedule[] = [];
  private runDetail: IRun | null = null;
  private readonly storage: Storage | null;
  private readonly savedBefore: boolean;
  private readonly state: IPanelState;
  private readonly runsState: IRunsState;
  private readonly modelsState: { foldedHistory: Set<string> };
  private readonly driftUnfolded: Set<string>;
  /** per model, the older check opened from its timeline */
  private readonly driftChosen = new Map<string, IDriftCheckDetail>();
  /** per model, the page of older checks its timeline shows */
  private readonly driftPages = new Map<string, IDriftChecksPage>();
  private readonly busy = new Set<string>();
  /** schedules whose recent slots are unfolded */
  private readonly openSlots = new Set<string>();
  /** the width is being fitted, once per page */
  private sizing = false;
  /** the width was fitted: resizes from now on are the user's */
  private sized = false;
  /** scroll the run detail into view once it is drawn */
  private revealDetail = false;
  /** the faster refresh while a schedule runs */
  private follow: number | null = null;
}

/** A rejection again, as an Error whose message is the server's reason. */
function rethrow(reason: unknown): never {
  throw new Error(errorText(reason));
}
