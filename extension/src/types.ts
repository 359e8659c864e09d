/**
 * The shapes the server extension returns (see orchestrator_nb/server/).
 * Timestamps are ISO 8601 UTC strings ending in "Z".
 */

export type Status =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'waiting'
  | 'cancelled'
  | 'budget_exceeded';

export const STATUSES: Status[] = [
  'running',
  'waiting',
  'succeeded',
  'failed',
  'cancelled',
  'budget_exceeded',
  'pending',
  'skipped'
];

/** Runs in these states may still change. */
export const ACTIVE: string[] = ['running', 'waiting', 'pending'];

export interface IStepChip {
  id: string;
  status: Status;
  attempt: number;
  items_done: number;
  items_total: number;
}

export interface IRun {
  run_id: string;
  pipeline: string;
  status: Status;
  source: string | null;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  cost_usd: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  error: string | null;
  parent_run_id: string | null;
  notebook_path: string | null;
  outdir?: string | null;
  steps?: IStepChip[];
}

export interface IRunsPage {
  runs: IRun[];
  total: number;
  limit: number;
  offset: number;
}

export interface IApproval {
  run_id: string;
  step_id: string;
  round: number;
  started_at: string | null;
  pipeline: string;
  run_status: Status;
  source: string | null;
  question: string | null;
  show: string | null;
  revise: string | null;
  live: boolean;
  /** Approving with edits replaces the output of the `revise` step. */
  editable?: boolean;
  /** The gate's form (`input: {schema}`): approving sends values that fit it. */
  input_schema?: IJsonSchema | null;
}

/** The part of JSON Schema the sidebar builds forms from (the server checks the rest). */
export interface IJsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, IJsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

/** A declared input of a pipeline, as `GET pipelines` lists it. */
export interface IPipelineInput {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'any';
  required: boolean;
  default: unknown;
  description: string | null;
  choices: unknown[] | null;
}

/** A pipeline the server can start: a built-in or a YAML file under its root. */
export interface IPipelineInfo {
  /** What `POST runs` takes as `pipeline`: a built-in name or a path under the root. */
  id: string;
  name: string;
  description: string | null;
  builtin: boolean;
  path: string | null;
  inputs: IPipelineInput[];
  steps: number;
  approvals: string[];
}

export interface IPipelines {
  pipelines: IPipelineInfo[];
  errors: { path: string; message: string }[];
}

/** What the run's approval steps do when nobody is asked: wait (defer), approve, reject, fail. */
export type ApprovalPolicy = 'defer' | 'auto' | 'reject' | 'fail';

export interface IStartRun {
  pipeline: string;
  inputs: Record<string, unknown>;
  approval?: ApprovalPolicy;
}

/** `POST runs` and `POST runs/{id}/resume`: the run is queued; a worker process runs it. */
export interface IStarted {
  run_id: string;
  status: string;
  previous?: string;
}

/** `POST runs/{id}/cancel`: how the run ended. */
export interface ICancelled {
  run_id: string;
  status: string;
  previous: string | null;
  error: string | null;
}

export type Decision = 'approve' | 'request_changes' | 'reject';

export interface IDecisionResult {
  run_id: string;
  step_id: string;
  round: number;
  decision: 'approved' | 'rejected' | 'changes_requested';
  live: boolean;
  next: string;
}

export interface IAttempt {
  attempt: number;
  item_index: number;
  status: Status;
  started_at: string | null;
  ended_at: string | null;
  duration_s: number | null;
  model: string | null;
  cached: boolean | null;
  error: string | null;
  output: unknown;
}

export interface ITimelineStep {
  id: string;
  kind: string;
  status: Status;
  started_at: string | null;
  ended_at: string | null;
  output: unknown;
  error: string | null;
  model: string | null;
  cached: boolean;
  attempts: IAttempt[];
  items_total: number;
  calls: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
}

export interface IMessage {
  role: string;
  content: unknown;
}

export interface ILLMCall {
  call_id: string;
  step_id: string;
  item_index: number | null;
  attempt: number | null;
  provider: string;
  model: string;
  request: {
    system?: string | null;
    messages?: IMessage[];
    temperature?: number | null;
    schema?: unknown;
  } | null;
  response_text: string | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cost_usd: number | null;
  latency_ms: number | null;
  cached: boolean | null;
  error: string | null;
  purpose: string | null;
  created_at: string | null;
}

export interface IApprovalRecord {
  step_id: string;
  round: number;
  decision: string;
  comment: string | null;
  decided_by: string | null;
  mode: string | null;
  decided_at: string | null;
}

export interface IArtifact {
  step_id: string;
  path: string;
  rel_path: string | null;
  media_type: string | null;
  bytes: number | null;
  created_at: string | null;
  open_path: string | null;
}

export interface IEvent {
  ts: string | null;
  level: string;
  step_id: string | null;
  message: string;
  kind: string | null;
}

/** One tool call a step made (a row of the store's tool_calls table). */
export interface IToolCall {
  id: string;
  step_id: string;
  item_index: number;
  attempt: number;
  turn: number;
  tool: string;
  arguments: unknown;
  result: unknown;
  error: string | null;
  duration_ms: number | null;
  decision: string | null;
  cached: boolean | null;
}

export interface IRunDetail {
  run: IRun & {
    inputs: unknown;
    spec_yaml: string | null;
    spec_path: string | null;
    approval_policy: string | null;
    /** The notebook's path under the server root (openable in JupyterLab), if it is there. */
    notebook_open_path: string | null;
  };
  timeline: ITimelineStep[];
  llm_calls: ILLMCall[];
  tool_calls?: IToolCall[];
  approvals: IApprovalRecord[];
  artifacts: IArtifact[];
  events: IEvent[];
  events_total: number;
  children: IRun[];
  pending: IApproval[];
}

/** One group of `GET stats` (a model, a pipeline or a UTC day); `total` has no key. */
export interface IStatsRow {
  key?: string;
  calls: number;
  errors: number;
  cached: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  p50_ms: number | null;
  p95_ms: number | null;
  retries: number;
  fallbacks: number;
}

export interface IStats {
  total: IStatsRow | null;
  model?: IStatsRow[];
  pipeline?: IStatsRow[];
  day?: IStatsRow[];
}
