/**
 * The REST client for /orc/api/ (the server extension in orchestrator_nb/server/).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { Decision, IApproval, IDecisionResult, IRunDetail, IRunsPage } from './types';

/** An error the API answered with: its message names the bad field when there is one. */
export class OrcApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field: string | null = null
  ) {
    super(message);
  }
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'orc', 'api', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new OrcApiError(`cannot reach the Jupyter server: ${error}`, 0);
  }
  const text = await response.text();
  let data: any = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    throw new OrcApiError(
      (data && data.message) || response.statusText,
      response.status,
      (data && data.field) || null
    );
  }
  return data as T;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface IRunsQuery {
  status?: string;
  pipeline?: string;
  limit?: number;
  offset?: number;
  topLevel?: boolean;
}

export function listRuns(q: IRunsQuery = {}): Promise<IRunsPage> {
  return request<IRunsPage>(
    'runs' +
      query({
        status: q.status,
        pipeline: q.pipeline,
        limit: q.limit,
        offset: q.offset,
        top_level: q.topLevel ? 1 : undefined
      })
  );
}

export function getRun(runId: string): Promise<IRunDetail> {
  return request<IRunDetail>(`runs/${encodeURIComponent(runId)}`);
}

export async function listApprovals(runId?: string): Promise<IApproval[]> {
  const data = await request<{ approvals: IApproval[] }>('approvals' + query({ run_id: runId }));
  return data.approvals;
}

export function decide(
  runId: string,
  stepId: string,
  decision: Decision,
  comment?: string
): Promise<IDecisionResult> {
  return request<IDecisionResult>('approvals', {
    method: 'POST',
    body: JSON.stringify({
      run_id: runId,
      step_id: stepId,
      decision,
      comment: comment || null
    })
  });
}
