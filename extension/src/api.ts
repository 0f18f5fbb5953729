/**
 * The client of the mlops-nb REST API.
 *
 * Every request goes through `ServerConnection.makeRequest`, which adds the
 * Jupyter token and the XSRF header, so the panel is held to the same
 * authentication as any other Jupyter client. Failures become an `ApiError`
 * that carries the HTTP status and the server's `error` / `failures`.
 */
import { ServerConnection } from '@jupyterlab/services';

import type { ICardEdit, IModelCard } from './views/card';
import type {
  IAliasChange,
  IAnnotateRequest,
  ICronReading,
  IDriftCheckDetail,
  IDriftChecksPage,
  IDriftHistory,
  IErrorBody,
  IInboxItem,
  IModelDetail,
  IModelSummary,
  IModelVersion,
  IPanelDrift,
  IPanelModels,
  IPanelRuns,
  IPipelineReading,
  IPromotionRequest,
  IRequestsView,
  IResolveRequest,
  IRun,
  IRunComparison,
  IRunPage,
  ISchedule,
  IScheduleRequest,
  IScheduleSlot,
  IServingView
} from './types';

/** The route prefix below the server's base URL. */
export const API_PREFIX = 'mlops-nb/api';

/** A request the server refused, or one that never reached it (status 0). */
export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached */
  readonly status: number;
  /** the server's error class, e.g. `GateFailedError` */
  readonly type: string | null;
  /** the failing gate conditions of a 409 */
  readonly failures: string[];
  /** the request field a 400 is about (`cron`, `notebook`, …), when the server names one */
  readonly field: string | null;

  constructor(
    message: string,
    status: number,
    type: string | null = null,
    failures: string[] = [],
    field: string | null = null
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.failures = failures;
    this.field = field;
    // Keep `instanceof` working when compiled to ES5-style classes.
    Object.setPrototypeOf(this, ApiError.prototype);
  }

  /** Build the error from a non-2xx response, reading its JSON body if any. */
  static async fromResponse(response: Response): Promise<ApiError> {
    let body: IErrorBody = {};
    let text = '';
    try {
      text = await response.text();
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === 'object') {
        body = parsed as IErrorBody;
      }
    } catch {
      // Not JSON (a proxy's HTML page, say): fall back to the status line.
    }
    const failures = Array.isArray(body.failures)
      ? body.failures.map(f => String(f))
      : [];
    const message =
      body.error ||
      body.message ||
      body.reason ||
      `${response.status} ${response.statusText || 'request failed'}`.trim();
    const field = typeof body.field === 'string' ? body.field : null;
    return new ApiError(String(message), response.status, body.type ?? null, failures, field);
  }
}

/** What `promote` sends. */
export interface IPromoteRequest {
  version: number | 'latest';
  alias?: string;
  /** a gate such as `accuracy>=production` */
  require?: string;
  reason?: string;
}

/** What `rollback` sends. */
export interface IRollbackRequest {
  alias?: string;
  reason?: string;
}

/** Filters of `listRuns`. */
export interface IRunQuery {
  model?: string;
  kind?: string;
  limit?: number;
}

/** What `searchRuns` asks for: a filter evaluated by the server, a sort and a page. */
export interface IRunSearch {
  /** e.g. `auc > 0.8 and C = 1` (the language of mlops_nb/tracking/search.py) */
  q?: string;
  /** only runs of this kind (`track`, `notebook`, `pipeline`) */
  kind?: string;
  /** `started`, `name`, `status`, `metrics.auc`, `params.C`, … */
  sort?: string;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

export type ScheduleAction = 'run-now' | 'pause' | 'resume';

/** Typed access to every route of `/mlops-nb/api/`. */
export class MlopsClient {
  readonly serverSettings: ServerConnection.ISettings;

  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings =
      serverSettings ?? ServerConnection.makeSettings();
  }

  /** The absolute URL of a route; `segments` are URL-encoded one by one. */
  url(segments: string[], query?: Record<string, string | number | undefined>): string {
    let base = this.serverSettings.baseUrl;
    if (!base.endsWith('/')) {
      base += '/';
    }
    const path = segments.map(s => encodeURIComponent(s)).join('/');
    let url = `${base}${API_PREFIX}/${path}`;
    const params = Object.entries(query ?? {}).filter(
      ([, value]) => value !== undefined && value !== ''
    );
    if (params.length) {
      url +=
        '?' +
        params
          .map(
            ([key, value]) =>
              `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
          )
          .join('&');
    }
    return url;
  }

  /** The Models tab in one request: every model's summary and detail. */
  panelModels(): Promise<IPanelModels> {
    return this.json(this.url(['panel', 'models']));
  }

  /** The Runs tab in one request: a page of the search and the selected run. */
  panelRuns(search: IRunSearch = {}, selected?: string | null): Promise<IPanelRuns> {
    return this.json(this.url(['panel', 'runs'], { ...searchQuery(search), selected: selected ?? undefined }));
  }

  /** The Drift tab in one request: every model's drift view. */
  panelDrift(): Promise<IPanelDrift> {
    return this.json(this.url(['panel', 'drift']));
  }

  listModels(): Promise<IModelSummary[]> {
    return this.json(this.url(['models']));
  }

  getModel(name: string): Promise<IModelDetail> {
    return this.json(this.url(['models', name]));
  }

  /** One version in full: its input columns, the hashes of its files, what produced it. */
  getVersion(name: string, version: number): Promise<IModelVersion> {
    return this.json(this.url(['models', name, 'versions', String(version)]));
  }

  /** Edit a version's description and tags (audited); the version as it now is. */
  annotateVersion(name: string, version: number, request: IAnnotateRequest): Promise<IModelVersion> {
    return this.json(this.url(['models', name, 'versions', String(version)]), {
      method: 'PATCH',
      body: JSON.stringify(request)
    });
  }

  /** A version's model card, with its Markdown (GET …/versions/{version}/card). */
  getCard(name: string, version: number): Promise<IModelCard> {
    return this.json(this.url(['models', name, 'versions', String(version), 'card']));
  }

  /** Write a card's fields (audited); the card as it now is. */
  editCard(name: string, version: number, edit: ICardEdit): Promise<IModelCard> {
    return this.json(this.url(['models', name, 'versions', String(version), 'card']), {
      method: 'PATCH',
      body: JSON.stringify(edit)
    });
  }

  /** Move an alias; for a protected alias the answer is the request opened (202). */
  promote(
    name: string,
    request: IPromoteRequest
  ): Promise<IAliasChange | { request: IPromotionRequest; message: string }> {
    return this.json(this.url(['models', name, 'promote']), {
      method: 'POST',
      body: JSON.stringify(dropEmpty(request))
    });
  }

  /** Promotion requests in one state (`all` for every state), and the protected aliases. */
  promotionRequests(state: string): Promise<IRequestsView> {
    return this.json(this.url(['promotion-requests'], { state }));
  }

  /** Approve (403 your own, 409 decided already or the gate fails now) or reject (a note is required). */
  decideRequest(requestId: number, decision: 'approve' | 'reject', note?: string): Promise<IPromotionRequest> {
    return this.json(this.url(['promotion-requests', String(requestId), decision]), {
      method: 'POST',
      body: JSON.stringify(dropEmpty({ note }))
    });
  }

  rollback(name: string, request: IRollbackRequest = {}): Promise<IAliasChange> {
    return this.json(this.url(['models', name, 'rollback']), {
      method: 'POST',
      body: JSON.stringify(dropEmpty(request))
    });
  }

  listRuns(query: IRunQuery = {}): Promise<IRun[]> {
    return this.json(
      this.url(['runs'], {
        model: query.model,
        kind: query.kind,
        limit: query.limit
      })
    );
  }

  /** One page of the runs a filter matches, sorted by the server, with the total. */
  searchRuns(search: IRunSearch = {}): Promise<IRunPage> {
    return this.json(this.url(['runs', 'search'], searchQuery(search)));
  }

  /** Runs side by side; the server says what differs. */
  compareRuns(runIds: string[]): Promise<IRunComparison> {
    return this.json(this.url(['runs', 'compare'], { ids: runIds.join(',') }));
  }

  getRun(runId: string): Promise<IRun> {
    return this.json(this.url(['runs', runId]));
  }

  /** The executed notebook rendered as a self-contained HTML report. */
  async runNotebookHtml(runId: string): Promise<string> {
    const response = await this.send(
      this.url(['runs', runId, 'notebook'], { format: 'html' })
    );
    return response.text();
  }

  getDrift(name: string): Promise<IDriftHistory> {
    return this.json(this.url(['drift', name]));
  }

  /** A page of a model's checks older than check `before` (the newest without it). */
  driftChecks(name: string, before: number | null, limit: number): Promise<IDriftChecksPage> {
    const query: Record<string, string> = { limit: String(limit) };
    if (before !== null) {
      query.before = String(before);
    }
    return this.json(this.url(['drift', name, 'checks'], query));
  }

  /** One recorded check, as the Drift tab shows the latest. */
  /** The alert inbox in one state (`all` for every state), optionally of one model. */
  async alerts(state: string, model?: string): Promise<IInboxItem[]> {
    const answer: { alerts: IInboxItem[] } = await this.json(
      this.url(['alerts'], { state, model: model?.trim() || undefined })
    );
    return answer.alerts;
  }

  /** Acknowledge an alert (409 when it is no longer open). */
  ackAlert(alertId: number, note?: string): Promise<IInboxItem> {
    return this.json(this.url(['alerts', String(alertId), 'ack']), {
      method: 'POST',
      body: JSON.stringify(dropEmpty({ note }))
    });
  }

  /** Resolve an alert with a decision, which the server carries out. */
  resolveAlert(alertId: number, request: IResolveRequest): Promise<IInboxItem> {
    return this.json(this.url(['alerts', String(alertId), 'resolve']), {
      method: 'POST',
      body: JSON.stringify(dropEmpty(request))
    });
  }

  getDriftCheck(name: string, checkId: number): Promise<IDriftCheckDetail> {
    return this.json(this.url(['drift', name, 'checks', String(checkId)]));
  }

  listSchedules(): Promise<ISchedule[]> {
    return this.json(this.url(['schedules']));
  }

  /** Define a schedule of a notebook (its path under the server's folder). */
  createSchedule(request: IScheduleRequest & { name: string }): Promise<ISchedule> {
    return this.json(this.url(['schedules']), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  /** Change a schedule; fields left out keep their value. */
  updateSchedule(name: string, request: IScheduleRequest): Promise<ISchedule> {
    return this.json(this.url(['schedules', name]), {
      method: 'PATCH',
      body: JSON.stringify(request)
    });
  }

  /** Remove a schedule (its slots and audit events stay). */
  removeSchedule(name: string): Promise<{ name: string; removed: boolean }> {
    return this.json(this.url(['schedules', name]), { method: 'DELETE' });
  }

  /** A pipeline file under the server's folder, checked, with its steps. */
  readPipeline(path: string): Promise<IPipelineReading> {
    return this.json(this.url(['pipelines', 'steps'], { path }));
  }

  /** A cron expression as the server reads it: in words, and its next slots. */
  readCron(expr: string, tz: string): Promise<ICronReading> {
    return this.json(this.url(['cron'], { expr, tz }));
  }

  /** Pause or resume a schedule; for `run-now`, the slot claimed (it runs on in the server). */
  scheduleAction(
    name: string,
    action: ScheduleAction,
    parameters?: Record<string, unknown>
  ): Promise<ISchedule | IScheduleSlot> {
    const body = action === 'run-now' ? { parameters: parameters ?? {} } : {};
    return this.json(this.url(['schedules', name, action]), {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  /** One slot of a schedule, with its progress while it runs. */
  getSlot(name: string, slotId: number): Promise<IScheduleSlot> {
    return this.json(this.url(['schedules', name, 'slots', String(slotId)]));
  }

  /** Stop a slot this server runs; its run is recorded as cancelled by the user. */
  cancelSlot(name: string, slotId: number): Promise<IScheduleSlot> {
    return this.json(this.url(['schedules', name, 'slots', String(slotId), 'cancel']), {
      method: 'POST',
      body: '{}'
    });
  }

  /** The prediction servers running now, with their live numbers. */
  listServing(): Promise<IServingView> {
    return this.json(this.url(['serving']));
  }

  private async json<T>(url: string, init: RequestInit = {}): Promise<T> {
    const response = await this.send(url, init);
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(
        `the server sent a reply that is not JSON (${url})`,
        response.status
      );
    }
  }

  private async send(url: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        { ...init, headers: { ...headers, ...(init.headers as object) } },
        this.serverSettings
      );
    } catch (reason) {
      const text = reason instanceof Error ? reason.message : String(reason);
      throw new ApiError(`could not reach the Jupyter server: ${text}`, 0);
    }
    if (!response.ok) {
      throw await ApiError.fromResponse(response);
    }
    return response;
  }
}

/** The query parameters of a run search (blank ones are left out by `url`). */
function searchQuery(search: IRunSearch): Record<string, string | number | undefined> {
  return {
    q: search.q?.trim(),
    kind: search.kind,
    sort: search.sort,
    order: search.order,
    limit: search.limit,
    offset: search.offset
  };
}

/** Leave out keys whose value is undefined or an empty string. */
function dropEmpty<T extends object>(doc: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (value !== undefined && value !== '') {
      (out as Record<string, unknown>)[key] = value;
    }
  }
  return out;
}
