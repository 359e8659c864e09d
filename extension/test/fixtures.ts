/** Builders for the shapes the server answers with, and a scripted fake of its HTTP side. */
import { OrcFetch } from '../src/api';
import { IApproval, IRun, IRunsPage, IStepChip } from '../src/types';

export function step(id: string, status: IStepChip['status'] = 'succeeded'): IStepChip {
  return { id, status, attempt: 1, items_done: 0, items_total: 0 };
}

export function run(id: string, over: Partial<IRun> = {}): IRun {
  return {
    run_id: id,
    pipeline: 'essay',
    status: 'succeeded',
    source: 'cli',
    started_at: '2026-12-01T10:00:00Z',
    ended_at: '2026-12-01T10:00:04Z',
    duration_s: 4.2,
    cost_usd: 0.0123,
    tokens_in: 100,
    tokens_out: 50,
    error: null,
    parent_run_id: null,
    notebook_path: null,
    steps: [step('draft'), step('polish')],
    ...over
  };
}

export function page(runs: IRun[], over: Partial<IRunsPage> = {}): IRunsPage {
  return { runs, total: runs.length, limit: 25, offset: 0, ...over };
}

export function approval(runId: string, stepId: string, round = 1): IApproval {
  return {
    run_id: runId,
    step_id: stepId,
    round,
    started_at: '2026-12-01T10:00:00Z',
    pipeline: 'essay',
    run_status: 'waiting',
    source: 'cli',
    question: 'Ship it?',
    show: null,
    revise: null,
    live: false
  };
}

export interface ISeenRequest {
  path: string;
  method: string;
  body: string | null;
}

/** A fetch that answers from a script of (status, body) or throws; it records what it saw. */
export function scriptedFetch(
  answers: ((path: string) => Response | Error)[]
): OrcFetch & { seen: ISeenRequest[] } {
  const seen: ISeenRequest[] = [];
  const fetch = (path: string, init: RequestInit) => {
    seen.push({
      path,
      method: init.method ?? 'GET',
      body: typeof init.body === 'string' ? init.body : null
    });
    const next = answers.shift();
    if (!next) {
      return Promise.reject(new Error(`no answer scripted for ${path}`));
    }
    const answer = next(path);
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return Object.assign(fetch, { seen });
}

export function json(status: number, body: unknown, statusText = ''): () => Response {
  return () =>
    new Response(JSON.stringify(body), {
      status,
      statusText,
      headers: { 'Content-Type': 'application/json' }
    });
}

export function text(status: number, body: string, statusText = ''): () => Response {
  return () => new Response(body, { status, statusText });
}
