// Pure view logic: sorting, time formatting, severities, alias history.
import {
  annotationRequest,
  draftOf,
  columnChoices,
  columnLabel,
  columnLevel,
  columnValue,
  describeAliasChange,
  describePerformance,
  describeProducer,
  describeProgress,
  describeTypeChange,
  formatDateTime,
  formatDuration,
  formatNextRun,
  formatNumber,
  metricColumns,
  isRunColumn,
  nextSort,
  orderAliasHistory,
  orderColumns,
  parseTime,
  relativeTime,
  reportLevel
} from '../src/logic';
import type { IAliasChange, IDriftColumn, IDriftReport, IRun } from '../src/types';

function run(id: string, fields: Partial<IRun> = {}): IRun {
  return {
    run_id: id,
    kind: 'track',
    name: id,
    status: 'finished',
    started_at: '2026-11-01T10:00:00.000000+00:00',
    ended_at: null,
    actor: null,
    parent_run_id: null,
    params: {},
    metrics: {},
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
    ...fields
  };
}

function change(id: number, at: string, fields: Partial<IAliasChange> = {}): IAliasChange {
  return {
    id,
    model: 'churn',
    alias: 'production',
    action: 'promote',
    from_version: null,
    to_version: 1,
    at,
    actor: 'ana',
    reason: null,
    run_id: null,
    gate: null,
    ...fields
  };
}

describe('numbers', () => {
  it('shows metrics the way people read them', () => {
    expect(formatNumber(0.86)).toBe('0.86');
    expect(formatNumber(0.8422945701357467)).toBe('0.8423');
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(12345.678)).toBe('12346');
    expect(formatNumber(null)).toBe('–');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(Infinity)).toBe('∞');
  });

  it('picks the metric columns of a model in the order its versions recorded them', () => {
    expect(metricColumns([{ metrics: { accuracy: 0.86, auc: 0.91, f1: 0.5, loss: 0.1 } }], 2)).toEqual([
      'accuracy',
      'auc'
    ]);
    // a newer version's extra metric joins after the ones before; text is no metric
    expect(
      metricColumns([{ metrics: { auc: 0.9, f1: 0.4 } }, { metrics: { accuracy: 0.8, auc: 0.7, note: 'x' as never } }, {}])
    ).toEqual(['auc', 'f1', 'accuracy']);
    expect(metricColumns([{ metrics: null }, {}])).toEqual([]);
  });
});

describe('time', () => {
  it('parses Python timestamps with microseconds', () => {
    expect(parseTime('2026-11-25T02:00:00.123456+00:00')?.toISOString()).toBe('2026-11-25T02:00:00.123Z');
    expect(parseTime(null)).toBeNull();
    expect(parseTime('not a date')).toBeNull();
  });

  it('formats a moment in a given zone with a 24-hour clock', () => {
    const iso = '2026-11-25T02:00:00.000000+00:00';
    expect(formatDateTime(iso, 'UTC')).toBe('Wed 2026-11-25 02:00 UTC');
    expect(formatDateTime(iso, 'Europe/Berlin')).toBe('Wed 2026-11-25 03:00 UTC+1');
    expect(formatDateTime(iso, 'America/New_York')).toBe('Tue 2026-11-24 21:00 UTC-5');
    expect(formatDateTime(iso, 'Asia/Tokyo')).toBe('Wed 2026-11-25 11:00 UTC+9');
  });

  it('falls back to UTC for an unknown zone', () => {
    expect(formatDateTime('2026-11-25T02:00:00Z', 'Not/AZone')).toBe('Wed 2026-11-25 02:00 UTC');
  });

  it('formats the next run of a schedule in the user zone and its own', () => {
    const next = formatNextRun(
      '2026-11-25T02:00:00.000000+00:00',
      'Europe/Berlin',
      'America/Los_Angeles',
      new Date('2026-11-24T18:00:00Z')
    );
    expect(next).toEqual({
      local: 'Tue 2026-11-24 18:00 UTC-8',
      scheduled: 'Wed 2026-11-25 03:00 UTC+1',
      relative: 'in 8 h'
    });
    expect(formatNextRun(null, 'UTC')).toBeNull();
  });

  it('says how far away a moment is', () => {
    const now = new Date('2026-11-24T12:00:00Z');
    expect(relativeTime('2026-11-24T12:00:10Z', now)).toBe('now');
    expect(relativeTime('2026-11-24T12:05:00Z', now)).toBe('in 5 min');
    expect(relativeTime('2026-11-24T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2026-11-20T12:00:00Z', now)).toBe('4 d ago');
    expect(formatDuration(3.46)).toBe('3.5 s');
  });
});

describe('runs list', () => {
  it('knows the sorts the server offers, and nothing else', () => {
    for (const column of ['name', 'status', 'started', 'ended', 'kind', 'metrics.auc', 'params.C', 'metrics.a.b']) {
      expect(isRunColumn(column)).toBe(true);
    }
    expect(isRunColumn('params.a b')).toBe(true);
    for (const column of ['metric', 'duration', 'auc', 'metrics.', 'metrics.a"b', 'params.a`b', 3, null]) {
      expect(isRunColumn(column)).toBe(false);
    }
  });

  it('toggles direction on a second click and picks a sensible first one', () => {
    expect(nextSort({ column: 'started', direction: 'desc' }, 'started')).toEqual({ column: 'started', direction: 'asc' });
    expect(nextSort({ column: 'started', direction: 'desc' }, 'name')).toEqual({ column: 'name', direction: 'asc' });
    expect(nextSort({ column: 'name', direction: 'asc' }, 'metrics.auc')).toEqual({ column: 'metrics.auc', direction: 'desc' });
    expect(nextSort({ column: 'name', direction: 'asc' }, 'params.C')).toEqual({ column: 'params.C', direction: 'desc' });
  });

  it('offers columns from the runs shown, metrics first, keeping chosen ones', () => {
    const runs = [run('a', { metrics: { b: 1, a: 2 }, params: { z: 1 } }), run('b', { params: { y: 'x' } })];
    expect(columnChoices(runs)).toEqual(['metrics.a', 'metrics.b', 'params.y', 'params.z']);
    expect(columnChoices([], ['params.C', 'metrics.auc'])).toEqual(['metrics.auc', 'params.C']);
    expect(columnLabel('metrics.auc')).toBe('auc');
    expect(columnLabel('params.C')).toBe('C (param)');
  });

  it('shows a run value per column', () => {
    const r = run('a', { metrics: { auc: 0.912345 }, params: { C: 1, solver: 'saga', grid: [1, 2] } });
    expect(columnValue(r, 'metrics.auc')).toBe('0.9123');
    expect(columnValue(r, 'params.solver')).toBe('saga');
    expect(columnValue(r, 'params.grid')).toBe('[1,2]');
    expect(columnValue(r, 'params.missing')).toBe('');
  });
});

describe('aliases', () => {
  it('orders the history newest first, by time then by id', () => {
    const history = [
      change(1, '2026-11-01T10:00:00Z'),
      change(3, '2026-11-03T10:00:00Z', { action: 'rollback' }),
      change(2, '2026-11-03T10:00:00Z'),
      change(4, '2026-10-01T10:00:00Z')
    ];
    expect(orderAliasHistory(history).map(c => c.id)).toEqual([3, 2, 1, 4]);
    expect(history.map(c => c.id)).toEqual([1, 3, 2, 4]);
  });

  it('describes a move and a refused promotion', () => {
    expect(describeAliasChange(change(2, '2026-11-02T10:00:00Z', { from_version: 1, to_version: 2 }))).toBe(
      'production: v1 → v2'
    );
    expect(describeAliasChange(change(1, '2026-11-01T10:00:00Z', { to_version: 1 }))).toBe('production: ∅ → v1');
    expect(
      describeAliasChange(change(3, '2026-11-03T10:00:00Z', { action: 'refused', from_version: 2, to_version: 1 }))
    ).toBe('production: v2 ↛ v1');
  });

  it('says which run, notebook, pipeline and schedule made a version', () => {
    const producer = {
      run_id: 'r'.repeat(32),
      notebook: 'train_churn.ipynb',
      notebook_run_id: 'n'.repeat(32),
      pipeline: 'retrain_churn',
      pipeline_run_id: 'p'.repeat(32),
      step: 'train',
      schedule: 'monthly'
    };
    expect(describeProducer(producer)).toBe(
      'train_churn.ipynb, step train of pipeline retrain_churn, schedule monthly'
    );
    expect(describeProducer({ ...producer, step: null, schedule: null })).toBe(
      'train_churn.ipynb, pipeline retrain_churn'
    );
    expect(
      describeProducer({ ...producer, notebook: null, pipeline: null, step: null, schedule: null })
    ).toBe('tracked outside a notebook');
    expect(describeProducer(null)).toBeNull();
  });
});

describe('schedules', () => {
  it('describes how far a running slot got', () => {
    const progress = {
      run_id: 'r',
      step: null,
      steps_done: null,
      steps_total: null,
      cells_done: 2,
      cells_total: 8
    };
    expect(describeProgress(progress)).toBe('cell 3 of 8');
    expect(describeProgress({ ...progress, cells_done: 8 })).toBe('cell 8 of 8');
    expect(describeProgress({ ...progress, step: 'train', steps_done: 1, steps_total: 4 })).toBe(
      'step train (1 of 4 done) · cell 3 of 8'
    );
    expect(describeProgress({ ...progress, cells_done: null, cells_total: null })).toBe('starting…');
    expect(describeProgress(null)).toBe('starting…');
  });
});

describe('severity', () => {
  const column = (fields: Partial<IDriftColumn>): IDriftColumn => ({
    column: 'c',
    drift: false,
    method: 'ks',
    statistic: 0.01,
    threshold: 0.1,
    severity: 0.1,
    ...fields
  });
  const report = (fields: Partial<IDriftReport>): IDriftReport => ({
    model: 'churn',
    version: 1,
    at: '2026-11-24T17:35:13Z',
    rows: 3000,
    drift: false,
    drift_share: 0,
    drifted_columns: [],
    columns: [column({})],
    ...fields
  });

  it('takes the level of a column from the server, not from its own threshold', () => {
    expect(columnLevel(column({ level: 'warning', severity: 0.2 }))).toBe('warning');
    expect(columnLevel(column({ level: 'none', severity: null }))).toBe('none');
    expect(columnLevel(column({ level: 'ok', severity: 0.95 }))).toBe('ok');
    // an older server without levels: the verdict alone
    expect(columnLevel(column({ drift: true }))).toBe('drift');
    expect(columnLevel(column({ severity: 0.95 }))).toBe('ok');
  });

  it('takes the level of a check from the server', () => {
    expect(reportLevel(null)).toBe('none');
    expect(reportLevel(report({ level: 'warning' }))).toBe('warning');
    expect(reportLevel(report({ drift: true, level: 'drift' }))).toBe('drift');
    expect(reportLevel(report({ drift: true }))).toBe('drift');
    expect(reportLevel(report({}))).toBe('ok');
  });

  it('writes type changes and performance as text with numbers', () => {
    expect(describeTypeChange({ column: 'contract', reference: 'category', current: 'str' })).toBe(
      'contract: category → str'
    );
    expect(describeTypeChange('age: int → float')).toBe('age: int → float');
    expect(
      describePerformance({
        accuracy: { reference: 0.7576, current: 0.67, change: -0.0876, degraded: true },
        auc: { reference: 0.798, current: 0.846, change: 0.048, degraded: false }
      })
    ).toEqual([
      { metric: 'accuracy', text: 'accuracy 0.7576 → 0.67 (-0.0876)', degraded: true },
      { metric: 'auc', text: 'auc 0.798 → 0.846 (+0.048)', degraded: false }
    ]);
    expect(describePerformance(null)).toEqual([]);
  });

  it('orders columns worst first', () => {
    const ordered = orderColumns([
      column({ column: 'calm', severity: 0.1 }),
      column({ column: 'close', severity: 0.8 }),
      column({ column: 'moved', drift: true, severity: 1.2 }),
      column({ column: 'moved-more', drift: true, severity: 2.5 })
    ]);
    expect(ordered.map(c => c.column)).toEqual(['moved-more', 'moved', 'close', 'calm']);
  });
});

describe('annotationRequest', () => {
  const version = { description: 'old', tags: { a: '1', b: '2' } };

  it('sends nothing when nothing changed', () => {
    expect(annotationRequest(version, draftOf(version))).toBeNull();
    expect(annotationRequest({}, draftOf({}))).toBeNull();
    expect(annotationRequest({ description: null }, { description: '', tags: [] })).toBeNull();
  });

  it('sends the description changed, the tags set or changed and the keys removed', () => {
    const draft = { description: 'new', tags: [['b', '3'], ['c', '']] as [string, string][] };
    expect(annotationRequest(version, draft)).toEqual({ description: 'new', tags: { b: '3', c: '' }, untag: ['a'] });
    expect(annotationRequest(version, { description: '', tags: [] })).toEqual({ description: '', untag: ['a', 'b'] });
  });

  it('treats a key named like an object property as any other key', () => {
    const request = annotationRequest({ tags: {} }, { description: '', tags: [['__proto__', 'x'], ['constructor', 'y']] });
    expect(JSON.parse(JSON.stringify(request))).toEqual(JSON.parse('{"tags":{"__proto__":"x","constructor":"y"}}'));
    expect(annotationRequest(JSON.parse('{"tags":{"__proto__":"x"}}'), { description: '', tags: [['__proto__', 'x']] })).toBeNull();
  });
});
