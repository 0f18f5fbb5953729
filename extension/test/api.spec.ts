/**
 * @jest-environment node
 */
// The client against a fake ServerConnection: URLs, bodies, and how
// failures become ApiError with the status and the server's details.

const mockMakeRequest = jest.fn();

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://localhost:8888/lab-base/' }),
    makeRequest: (...args: unknown[]) => mockMakeRequest(...args)
  }
}));

import { ApiError, MlopsClient } from '../src/api';
import type { IAliasChange } from '../src/types';

function reply(status: number, body: unknown, contentType = 'application/json'): Response {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Response(text, { status, headers: { 'Content-Type': contentType } });
}

const settings = { baseUrl: 'http://h/base/' } as any;

beforeEach(() => mockMakeRequest.mockReset());

describe('MlopsClient URLs', () => {
  it('uses the server settings and the API prefix', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, []));
    const client = new MlopsClient(settings);
    await client.listModels();
    const [url, init, passed] = mockMakeRequest.mock.calls[0];
    expect(url).toBe('http://h/base/mlops-nb/api/models');
    expect(init.method).toBeUndefined();
    expect(passed).toBe(settings); // token and XSRF come from these settings
  });

  it('falls back to the default settings', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, []));
    await new MlopsClient().listSchedules();
    expect(mockMakeRequest.mock.calls[0][0]).toBe('http://localhost:8888/lab-base/mlops-nb/api/schedules');
  });

  it('encodes names as one path segment each', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, { name: 'x', versions: [], history: [] }));
    const client = new MlopsClient({ baseUrl: 'http://h' } as any);
    await client.getModel('a/b c?<img>');
    expect(mockMakeRequest.mock.calls[0][0]).toBe('http://h/mlops-nb/api/models/a%2Fb%20c%3F%3Cimg%3E');
  });

  it('passes run filters as query parameters and skips empty ones', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, []));
    const client = new MlopsClient(settings);
    await client.listRuns({ model: 'churn', limit: 50 });
    expect(mockMakeRequest.mock.calls[0][0]).toBe('http://h/base/mlops-nb/api/runs?model=churn&limit=50');
  });

  it('asks for a comparison of runs by their ids', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, { runs: [], sections: [], shared_metrics: {} }));
    await new MlopsClient(settings).compareRuns(['abcdef12', '0123abcd']);
    expect(mockMakeRequest.mock.calls[0][0]).toBe('http://h/base/mlops-nb/api/runs/compare?ids=abcdef12%2C0123abcd');
  });

  it('asks for the servers running now in one GET', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, { servers: [] }));
    expect(await new MlopsClient(settings).listServing()).toEqual({ servers: [] });
    const [url, init] = mockMakeRequest.mock.calls[0];
    expect(url).toBe('http://h/base/mlops-nb/api/serving');
    expect(init.method).toBeUndefined();
  });

  it('sends a run search with its filter encoded, and leaves out what is blank', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, { runs: [], total: 0, limit: 50, offset: 0, sort: 'started', order: 'desc' }));
    const client = new MlopsClient(settings);
    await client.searchRuns({ q: ' auc > 0.8 & C = 1 ', kind: '', sort: 'metrics.auc', order: 'desc', limit: 50, offset: 100 });
    expect(mockMakeRequest.mock.calls[0][0]).toBe(
      'http://h/base/mlops-nb/api/runs/search?q=auc%20%3E%200.8%20%26%20C%20%3D%201&sort=metrics.auc&order=desc&limit=50&offset=100'
    );
  });
});

describe('MlopsClient requests', () => {
  it('POSTs a promotion as JSON without empty fields', async () => {
    // the server decides what 'latest' is and who acted: the client cannot know it
    mockMakeRequest.mockResolvedValue(
      reply(
        200,
        '{"id": 7, "model": "churn", "alias": "production", "action": "promote", "from_version": 1, ' +
          '"to_version": 3, "at": "2026-11-24T17:35:13Z", "actor": "ana@box (jupyter)", ' +
          '"reason": null, "run_id": null, "gate": null}'
      )
    );
    const client = new MlopsClient(settings);
    const result = await client.promote('churn', { version: 'latest', alias: 'production', require: '', reason: undefined });
    const [url, init] = mockMakeRequest.mock.calls[0];
    expect(url).toBe('http://h/base/mlops-nb/api/models/churn/promote');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body)).toEqual({ version: 'latest', alias: 'production' });
    expect(init.headers['Content-Type']).toBe('application/json');
    expect('request' in result).toBe(false);
    const change = result as IAliasChange;
    expect(change.to_version).toBe(3);
    expect(change.from_version).toBe(1);
    expect(change.actor).toBe('ana@box (jupyter)');
  });

  it('reads a 202 of a protected alias as the request opened', async () => {
    mockMakeRequest.mockResolvedValue(reply(202, { request: { request_id: 4, alias: 'production' }, message: 'protected' }));
    const result = await new MlopsClient(settings).promote('churn', { version: 2, alias: 'production' });
    expect('request' in result && result.request.request_id).toBe(4);
  });

  it('lists promotion requests and POSTs a decision with its note', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, { requests: [], protections: [], actor: 'me' }));
    const client = new MlopsClient(settings);
    await client.promotionRequests('all');
    expect(mockMakeRequest.mock.calls[0][0]).toBe('http://h/base/mlops-nb/api/promotion-requests?state=all');
    mockMakeRequest.mockResolvedValue(reply(200, { request_id: 4, state: 'rejected' }));
    await client.decideRequest(4, 'reject', 'too early');
    const [url, init] = mockMakeRequest.mock.calls[1];
    expect(url).toBe('http://h/base/mlops-nb/api/promotion-requests/4/reject');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body)).toEqual({ note: 'too early' });
  });

  it('POSTs a rollback', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, { action: 'rollback' }));
    await new MlopsClient(settings).rollback('churn', { alias: 'staging', reason: 'bad' });
    const [url, init] = mockMakeRequest.mock.calls[0];
    expect(url).toBe('http://h/base/mlops-nb/api/models/churn/rollback');
    expect(JSON.parse(init.body)).toEqual({ alias: 'staging', reason: 'bad' });
  });

  it('sends run-now parameters and nothing for pause', async () => {
    mockMakeRequest.mockImplementation(() => Promise.resolve(reply(200, {})));
    const client = new MlopsClient(settings);
    await client.scheduleAction('nightly', 'run-now', { month: '2026-12' });
    await client.scheduleAction('nightly', 'pause');
    expect(mockMakeRequest.mock.calls[0][0]).toBe('http://h/base/mlops-nb/api/schedules/nightly/run-now');
    expect(JSON.parse(mockMakeRequest.mock.calls[0][1].body)).toEqual({ parameters: { month: '2026-12' } });
    expect(mockMakeRequest.mock.calls[1][0]).toBe('http://h/base/mlops-nb/api/schedules/nightly/pause');
    expect(JSON.parse(mockMakeRequest.mock.calls[1][1].body)).toEqual({});
  });

  it('fetches the executed notebook as HTML text', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, '<html><body>x is 3</body></html>', 'text/html'));
    const html = await new MlopsClient(settings).runNotebookHtml('abc123');
    expect(mockMakeRequest.mock.calls[0][0]).toBe('http://h/base/mlops-nb/api/runs/abc123/notebook?format=html');
    expect(html).toContain('x is 3');
  });
});

describe('ApiError', () => {
  it('carries the status, type and failures of a refused gate', async () => {
    mockMakeRequest.mockResolvedValue(
      reply(409, {
        error: 'gate refused churn:2 for production: accuracy>=0.99: 0.86 is not >= 0.99',
        type: 'GateFailedError',
        failures: ['accuracy>=0.99: 0.86 is not >= 0.99']
      })
    );
    const promise = new MlopsClient(settings).promote('churn', { version: 2, require: 'accuracy>=0.99' });
    await expect(promise).rejects.toBeInstanceOf(ApiError);
    const error = (await promise.catch(e => e)) as ApiError;
    expect(error).toBeInstanceOf(Error);
    expect(error.status).toBe(409);
    expect(error.type).toBe('GateFailedError');
    expect(error.failures).toEqual(['accuracy>=0.99: 0.86 is not >= 0.99']);
    expect(error.message).toContain('accuracy>=0.99');
  });

  it('reads jupyter_server errors, which say message instead of error', async () => {
    mockMakeRequest.mockResolvedValue(reply(403, { message: "'_xsrf' argument missing from POST", reason: null }));
    const error = (await new MlopsClient(settings).rollback('churn').catch(e => e)) as ApiError;
    expect(error.status).toBe(403);
    expect(error.message).toContain('_xsrf');
    expect(error.failures).toEqual([]);
  });

  it('copes with a body that is not JSON', async () => {
    mockMakeRequest.mockResolvedValue(new Response('<h1>Bad Gateway</h1>', { status: 502, statusText: 'Bad Gateway' }));
    const error = (await new MlopsClient(settings).listModels().catch(e => e)) as ApiError;
    expect(error.status).toBe(502);
    expect(error.message).toBe('502 Bad Gateway');
  });

  it('turns a network failure into status 0', async () => {
    mockMakeRequest.mockRejectedValue(new TypeError('Failed to fetch'));
    const error = (await new MlopsClient(settings).listModels().catch(e => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(0);
    expect(error.message).toContain('Failed to fetch');
  });

  it('rejects a 200 reply that is not JSON', async () => {
    mockMakeRequest.mockResolvedValue(reply(200, '<html>login</html>', 'text/html'));
    const error = (await new MlopsClient(settings).listModels().catch(e => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toContain('not JSON');
  });
});
