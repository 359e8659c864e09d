import { describe, expect, it } from 'vitest';

import { OrcApiError, OrcClient, query } from '../src/api';
import { json, page, run, scriptedFetch, text } from './fixtures';

async function failure(promise: Promise<unknown>): Promise<OrcApiError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(OrcApiError);
    return e as OrcApiError;
  }
  throw new Error('expected the call to fail');
}

describe('query', () => {
  it('leaves out undefined and empty values and encodes the rest', () => {
    expect(query({ a: undefined, b: '', c: 0, d: 'x y&z', e: false })).toBe(
      '?c=0&d=x%20y%26z&e=false'
    );
    expect(query({ a: undefined })).toBe('');
  });
});

describe('OrcClient', () => {
  it('asks for a page of top-level runs with the filters and returns the answer', async () => {
    const fetch = scriptedFetch([json(200, page([run('r1')], { total: 7 }))]);
    const answer = await new OrcClient(fetch).listRuns({
      status: 'failed',
      pipeline: 'my essay',
      limit: 25,
      offset: 50,
      topLevel: true
    });
    expect(fetch.seen).toEqual([
      {
        path: 'runs?status=failed&pipeline=my%20essay&limit=25&offset=50&top_level=1',
        method: 'GET',
        body: null
      }
    ]);
    expect(answer.total).toBe(7);
    expect(answer.runs.map(r => r.run_id)).toEqual(['r1']);
  });

  it('escapes a run id in the path', async () => {
    const fetch = scriptedFetch([json(200, { run: run('a/b') })]);
    await new OrcClient(fetch).getRun('a/b?c');
    expect(fetch.seen[0].path).toBe('runs/a%2Fb%3Fc');
  });

  it('unwraps the approvals list', async () => {
    const fetch = scriptedFetch([json(200, { approvals: [] })]);
    expect(await new OrcClient(fetch).listApprovals('r 1')).toEqual([]);
    expect(fetch.seen[0].path).toBe('approvals?run_id=r%201');
  });

  it('posts a decision as JSON, with no comment as null', async () => {
    const fetch = scriptedFetch([json(201, { decision: 'approved' })]);
    await new OrcClient(fetch).decide('r1', 'review', 'approve');
    expect(fetch.seen[0].method).toBe('POST');
    expect(JSON.parse(fetch.seen[0].body!)).toEqual({
      run_id: 'r1',
      step_id: 'review',
      decision: 'approve',
      comment: null
    });
  });

  it('sends an edited value and form input only when given', async () => {
    const fetch = scriptedFetch([json(201, { decision: 'approved' })]);
    await new OrcClient(fetch).decide('r1', 'review', 'approve', undefined, {
      edited: { a: 1 },
      input: { owner: 'ada' }
    });
    expect(JSON.parse(fetch.seen[0].body!)).toEqual({
      run_id: 'r1',
      step_id: 'review',
      decision: 'approve',
      comment: null,
      edited: { a: 1 },
      input: { owner: 'ada' }
    });
  });

  it('starts, resumes and cancels runs', async () => {
    const fetch = scriptedFetch([
      json(202, { run_id: 'r1', status: 'pending' }),
      json(202, { run_id: 'r1', status: 'pending', previous: 'waiting' }),
      json(200, { run_id: 'r 2', status: 'cancelled' }),
      json(200, { pipelines: [], errors: [] })
    ]);
    const client = new OrcClient(fetch);
    await client.startRun({ pipeline: 'project', inputs: { requirements: 'a todo app' } });
    expect((await client.resumeRun('r1', 'auto')).previous).toBe('waiting');
    expect((await client.cancelRun('r 2')).status).toBe('cancelled');
    expect(await client.listPipelines()).toEqual({ pipelines: [], errors: [] });
    expect(fetch.seen).toEqual([
      {
        path: 'runs',
        method: 'POST',
        body: '{"pipeline":"project","inputs":{"requirements":"a todo app"}}'
      },
      { path: 'runs/r1/resume', method: 'POST', body: '{"approval":"auto"}' },
      { path: 'runs/r%202/cancel', method: 'POST', body: '{}' },
      { path: 'pipelines', method: 'GET', body: null }
    ]);
  });

  it("gives the server's message and field on a 4xx", async () => {
    const fetch = scriptedFetch([
      json(400, { message: "unknown status 'nope' (use one of: running)", field: 'status' })
    ]);
    const e = await failure(new OrcClient(fetch).listRuns({ status: 'nope' }));
    expect(e.message).toBe("unknown status 'nope' (use one of: running)");
    expect(e.status).toBe(400);
    expect(e.field).toBe('status');
  });

  it('names the status and the path when the error has no JSON message', async () => {
    const e = await failure(
      new OrcClient(scriptedFetch([text(502, '', 'Bad Gateway')])).listApprovals()
    );
    expect(e.message).toBe('502 Bad Gateway from /orc/api/approvals');
    expect(e.status).toBe(502);
    expect(e.field).toBeNull();
  });

  it('shows a clipped, flattened page when a proxy answers with HTML', async () => {
    const html = `<html>\n<body>${'x'.repeat(500)}</body></html>`;
    const e = await failure(new OrcClient(scriptedFetch([text(503, html)])).listRuns());
    expect(e.message.startsWith('503 error from /orc/api/runs: <html> <body>xxx')).toBe(true);
    expect(e.message.length).toBeLessThan(300);
    expect(e.message.endsWith('…')).toBe(true);
  });

  it('reports a server that cannot be reached with status 0', async () => {
    const fetch = scriptedFetch([() => new TypeError('Failed to fetch')]);
    const e = await failure(new OrcClient(fetch).listRuns());
    expect(e.message).toBe('cannot reach the Jupyter server: Failed to fetch');
    expect(e.status).toBe(0);
  });

  it('refuses a 200 that is not a JSON object', async () => {
    for (const body of ['<html>login</html>', '', '[1, 2]', 'null']) {
      const e = await failure(new OrcClient(scriptedFetch([text(200, body)])).listRuns());
      expect(e.message).toMatch(/^\/orc\/api\/runs did not answer with a JSON object: /);
      expect(e.status).toBe(200);
    }
  });

  it('uses the message of a JSON error even without a field', async () => {
    const fetch = scriptedFetch([json(403, { message: 'Forbidden', reason: null })]);
    const e = await failure(new OrcClient(fetch).getRun('r1'));
    expect([e.message, e.status, e.field]).toEqual(['Forbidden', 403, null]);
  });
});
