/**
 * The REST client for /orc/api/ (the server extension in orchestrator_nb/server/).
 *
 * It talks through an `OrcFetch`: in Jupyter that is the server connection (base URL, cookies,
 * XSRF; see connection.ts), in the unit tests a scripted fake. Every failure comes out as one
 * `OrcApiError` whose message a person can act on.
 */
import {
  ApprovalPolicy,
  Decision,
  IApproval,
  ICancelled,
  IDecisionResult,
  IPipelines,
  IRunDetail,
  IRunsPage,
  IStartRun,
  IStarted,
  IStats
} from './types';

/** Sends a request to `/orc/api/<path>` (path may carry a query string). */
export type OrcFetch = (path: string, init: RequestInit) => Promise<Response>;

/** An error the API answered with (or 0: the server could not be reached). */
export class OrcApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field: string | null = null
  ) {
    super(message);
    this.name = 'OrcApiError';
  }
}

export interface IRunsQuery {
  status?: string;
  pipeline?: string;
  limit?: number;
  offset?: number;
  topLevel?: boolean;
}

/** `?a=1&b=x%20y` from the defined, non-empty values ('' when none). */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface IDecisionExtras {
  edited?: unknown;
  input?: Record<string, unknown>;
}

export class OrcClient {
  constructor(private readonly fetch: OrcFetch) {}

  listRuns(q: IRunsQuery = {}): Promise<IRunsPage> {
    return this.request<IRunsPage>(
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

  /** Cost and latency of model calls (`orc stats --json`): by model, pipeline and/or day. */
  stats(q: { by?: string; since?: string } = {}): Promise<IStats> {
    return this.request<IStats>('stats' + query({ by: q.by, since: q.since }));
  }

  getRun(runId: string): Promise<IRunDetail> {
    return this.request<IRunDetail>(`runs/${encodeURIComponent(runId)}`);
  }

  async listApprovals(runId?: string): Promise<IApproval[]> {
    const data = await this.request<{ approvals: IApproval[] }>(
      'approvals' + query({ run_id: runId })
    );
    return data.approvals;
  }

  /**
   * Record a decision. `extras.edited`: the reviewed output as the reviewer changed it (approve
   * only); `extras.input`: the values of the gate's form. Each is sent only when given.
   */
  decide(
    runId: string,
    stepId: string,
    decision: Decision,
    comment?: string,
    extras: IDecisionExtras = {}
  ): Promise<IDecisionResult> {
    const body: Record<string, unknown> = {
      run_id: runId,
      step_id: stepId,
      decision,
      comment: comment || null
    };
    if (extras.edited !== undefined) {
      body.edited = extras.edited;
    }
    if (extras.input !== undefined) {
      body.input = extras.input;
    }
    return this.request<IDecisionResult>('approvals', {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  /** The pipelines the server can start (built-ins and YAML files under its root). */
  listPipelines(): Promise<IPipelines> {
    return this.request<IPipelines>('pipelines');
  }

  /** Start a run in a worker process of the server; answers at once with its id. */
  startRun(start: IStartRun): Promise<IStarted> {
    return this.request<IStarted>('runs', { method: 'POST', body: JSON.stringify(start) });
  }

  /** Continue a waiting, failed or cancelled run (its finished steps are not run again). */
  resumeRun(runId: string, approval?: ApprovalPolicy): Promise<IStarted> {
    return this.request<IStarted>(`runs/${encodeURIComponent(runId)}/resume`, {
      method: 'POST',
      body: JSON.stringify(approval ? { approval } : {})
    });
  }

  /** Stop a run (and its sub-pipeline runs); answers once it has ended. */
  cancelRun(runId: string): Promise<ICancelled> {
    return this.request<ICancelled>(`runs/${encodeURIComponent(runId)}/cancel`, {
      method: 'POST',
      body: '{}'
    });
  }

  private async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(path, init);
      text = await response.text();
    } catch (error) {
      throw new OrcApiError(`cannot reach the Jupyter server: ${reason(error)}`, 0);
    }
    const data = parseObject(text);
    if (!response.ok) {
      // our handlers answer {"message", "field"}; anything else (a proxy's page) is shown clipped
      const message =
        stringOrNull(data?.message) ??
        `${response.status} ${response.statusText || 'error'} from /orc/api/${path}` +
          (text && !data ? `: ${clip(text)}` : '');
      throw new OrcApiError(message, response.status, stringOrNull(data?.field));
    }
    if (!data) {
      throw new OrcApiError(
        `/orc/api/${path} did not answer with a JSON object: ${clip(text) || '(empty)'}`,
        response.status
      );
    }
    return data as T;
  }
}

/** The body as a JSON object, or null (empty, not JSON, or JSON that is not an object). */
function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value ? value : null;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function clip(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
