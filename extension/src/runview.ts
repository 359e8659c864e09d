/**
 * The run view (a main-area tab): header with Resume / Cancel, pending approvals, step timeline,
 * cost per step, every step with its attempts, output and LLM calls (expandable), approvals,
 * artifacts, events. It refreshes every 2 s while the run can still change, and starts again
 * when the run is resumed (`watch`).
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { OrcApiError, OrcClient } from './api';
import { approvalCard } from './approvals';
import { costChart } from './chart';
import { h, statusBadge } from './dom';
import { fullTime, money, seconds, tokens } from './format';
import { renderOutput } from './outputs';
import { runActions } from './runactions';
import { IRunAction } from './runrow';
import { timelineChart } from './timeline';
import { ACTIVE, ILLMCall, IRunDetail, ITimelineStep, IToolCall } from './types';

export interface IRunViewOptions {
  runId: string;
  client: OrcClient;
  rendermime: IRenderMimeRegistry | null;
  openRun: (runId: string) => void;
  openFile: (path: string) => void;
}

export class RunView extends Widget {
  constructor(private options: IRunViewOptions) {
    super();
    this.addClass('jp-orc-runview');
    this.id = `jp-orc-run-${options.runId}`;
    this.title.label = `Run ${options.runId.slice(0, 8)}`;
    this.title.closable = true;
    this._poll = new Poll({
      auto: true,
      factory: () => this.refresh(),
      frequency: { interval: 2000, backoff: true, max: 30000 },
      name: `orchestrator-nb:run:${options.runId}`,
      standby: () => !this.isVisible || 'when-hidden' // a tab in the background waits
    });
    this._actions = runActions({ client: options.client, changed: () => this.watch() });
  }

  /** Follow the run again (it was resumed or cancelled, here or elsewhere). */
  watch(): void {
    if (!this._poll.isDisposed) {
      void this._poll.start();
      void this._poll.refresh();
    }
  }

  get runId(): string {
    return this.options.runId;
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  protected onAfterShow(): void {
    if (!this._poll.isDisposed) {
      void this._poll.refresh();
    }
  }

  async refresh(): Promise<void> {
    let detail: IRunDetail;
    try {
      detail = await this.options.client.getRun(this.options.runId);
    } catch (e) {
      this.node.replaceChildren(
        h('div', { className: 'jp-orc-error' }, e instanceof OrcApiError ? e.message : String(e))
      );
      if (e instanceof OrcApiError && e.status === 404) {
        this._poll.dispose();
      }
      return;
    }
    const text = JSON.stringify(detail);
    if (text !== this._last) {
      this._last = text;
      this.render(detail);
    }
    if (!ACTIVE.includes(detail.run.status) && !detail.pending.length) {
      void this._poll.stop(); // ended: nothing changes until it is resumed (see `watch`)
    }
  }

  protected render(d: IRunDetail): void {
    const open = new Set(
      Array.from(this.node.querySelectorAll('details[open]')).map(
        e => (e as HTMLElement).dataset.key
      )
    );
    const run = d.run;
    this.title.label = `${run.pipeline} · ${run.run_id.slice(0, 8)}`;
    this.node.dataset.status = run.status;
    const section = (title: string, ...body: (Node | null)[]) =>
      h('section', { className: 'jp-orc-section' }, h('h3', {}, title), ...body);
    const parts: (HTMLElement | null)[] = [
      h(
        'header',
        { className: 'jp-orc-run-head' },
        h('h2', {}, run.pipeline, ' ', statusBadge(run.status)),
        h(
          'div',
          { className: 'jp-orc-facts' },
          fact('run', run.run_id),
          fact('started', fullTime(run.started_at)),
          fact('duration', seconds(run.duration_s)),
          fact('cost', money(run.cost_usd)),
          fact('tokens', `${tokens(run.tokens_in)} in / ${tokens(run.tokens_out)} out`),
          fact('source', run.source || '–'),
          run.notebook_path ? this.notebookFact(run.notebook_path, run.notebook_open_path) : null,
          run.approval_policy ? fact('approval policy', run.approval_policy) : null
        ),
        run.error ? h('div', { className: 'jp-orc-error' }, run.error) : null,
        run.status === 'waiting' && !d.pending.length
          ? h(
              'div',
              { className: 'jp-orc-hint' },
              `Decided. Continue the run with Resume (or orc resume ${run.run_id})`
            )
          : null,
        this.actionBar(run)
      ),
      d.pending.length
        ? section(
            'Waiting for you',
            ...d.pending.map(a =>
              approvalCard(a, {
                client: this.options.client,
                rendermime: this.options.rendermime,
                onDecided: () => void this._poll.refresh(),
                onOpenRun: this.options.openRun
              })
            )
          )
        : null,
      section('Timeline', timelineChart(d.timeline, run.started_at, run.ended_at)),
      section('Cost per step', costChart(d.timeline)),
      section('Steps', ...d.timeline.map(s => this.step(s, d.llm_calls))),
      d.tool_calls && d.tool_calls.length
        ? section('Tool calls', toolCallsTable(d.tool_calls))
        : null,
      d.children.length
        ? section(
            'Sub-pipeline runs',
            h(
              'ul',
              {},
              d.children.map(c =>
                h(
                  'li',
                  {},
                  h(
                    'a',
                    {
                      href: '#',
                      className: 'jp-orc-link',
                      onclick: (e: Event) => {
                        e.preventDefault();
                        this.options.openRun(c.run_id);
                      }
                    },
                    `${c.pipeline} · ${c.run_id}`
                  ),
                  ' ',
                  statusBadge(c.status)
                )
              )
            )
          )
        : null,
      section('Inputs', renderOutput(run.inputs, null)),
      d.approvals.length
        ? section(
            'Decisions',
            h(
              'ul',
              { className: 'jp-orc-decisions' },
              d.approvals.map(a =>
                h(
                  'li',
                  {},
                  `${a.step_id} round ${a.round}: ${a.decision} by ${a.decided_by || a.mode || '?'}`,
                  a.comment ? ` — “${a.comment}”` : '',
                  h('span', { className: 'jp-orc-muted' }, ` ${fullTime(a.decided_at)}`)
                )
              )
            )
          )
        : null,
      d.artifacts.length
        ? section(
            'Artifacts',
            h(
              'ul',
              { className: 'jp-orc-artifacts' },
              d.artifacts.map(a => {
                const openPath = a.open_path;
                return h(
                  'li',
                  {},
                  openPath
                    ? h(
                        'a',
                        {
                          href: '#',
                          className: 'jp-orc-link',
                          onclick: (e: Event) => {
                            e.preventDefault();
                            this.options.openFile(openPath);
                          }
                        },
                        a.rel_path || a.path
                      )
                    : a.rel_path || a.path,
                  h(
                    'span',
                    { className: 'jp-orc-muted' },
                    ` ${a.media_type || ''} · ${a.bytes ?? '?'} bytes · ${a.step_id}`
                  )
                );
              })
            )
          )
        : null,
      details(
        'events',
        `Events (${d.events_total})`,
        h(
          'ol',
          { className: 'jp-orc-events' },
          d.events.map(e =>
            h(
              'li',
              { className: `jp-orc-event-${e.level}` },
              h('span', { className: 'jp-orc-muted' }, `${fullTime(e.ts)} `),
              e.step_id ? `${e.step_id}: ` : '',
              e.message
            )
          )
        )
      ),
      run.spec_yaml
        ? details('spec', 'Pipeline YAML', h('pre', { className: 'jp-orc-spec' }, run.spec_yaml))
        : null
    ];
    this.node.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
    this.node.querySelectorAll('details').forEach(e => {
      if (open.has(e.dataset.key)) {
        e.open = true;
      }
    });
  }

  private step(s: ITimelineStep, calls: ILLMCall[]): HTMLElement {
    const mine = calls.filter(c => c.step_id === s.id);
    const items = s.attempts.filter(a => a.item_index >= 0);
    const whole = s.attempts.filter(a => a.item_index < 0);
    return details(
      `step:${s.id}`,
      h(
        'span',
        { className: 'jp-orc-step-summary' },
        statusBadge(s.status),
        h('b', {}, s.id),
        h(
          'span',
          { className: 'jp-orc-muted' },
          ` ${s.kind}${s.model ? ' · ' + s.model : ''}${s.cached ? ' · cached' : ''}`
        ),
        s.calls
          ? h('span', { className: 'jp-orc-muted' }, ` · ${s.calls} call(s) · ${money(s.cost_usd)}`)
          : null
      ),
      h(
        'div',
        { className: 'jp-orc-step-body', 'data-step': s.id },
        s.error && s.status !== 'succeeded'
          ? h('div', { className: 'jp-orc-error' }, s.error)
          : null,
        whole.length > 1 || items.length
          ? h(
              'table',
              { className: 'jp-orc-attempts' },
              h(
                'tr',
                {},
                ['attempt', 'item', 'status', 'time', 'model', 'note'].map(t => h('th', {}, t))
              ),
              s.attempts.map(a =>
                h(
                  'tr',
                  {},
                  h('td', {}, String(a.attempt)),
                  h('td', {}, a.item_index >= 0 ? String(a.item_index) : '–'),
                  h('td', {}, statusBadge(a.status)),
                  h('td', {}, seconds(a.duration_s)),
                  h('td', {}, a.model || ''),
                  h('td', {}, a.error || (a.cached ? 'cached' : ''))
                )
              )
            )
          : null,
        h('div', { className: 'jp-orc-label' }, 'Output'),
        renderOutput(
          items.length && s.output === null
            ? items.filter(a => a.status === 'succeeded').map(a => a.output)
            : s.output,
          this.options.rendermime
        ),
        mine.length ? h('div', { className: 'jp-orc-label' }, 'LLM calls') : null,
        ...mine.map(c => callView(c))
      )
    );
  }

  /** Resume / Cancel, those that apply to the run as it is now. */
  private actionBar(run: IRunDetail['run']): HTMLElement | null {
    const shown = this._actions.filter(a => a.applies(run));
    return shown.length
      ? h(
          'div',
          { className: 'jp-orc-run-actions' },
          shown.map(a =>
            h(
              'button',
              {
                type: 'button',
                className: `jp-Button jp-mod-styled jp-orc-run-action jp-orc-run-${a.id}`,
                title: a.title,
                onclick: () => a.run(run)
              },
              a.label
            )
          )
        )
      : null;
  }

  private notebookFact(path: string, openPath: string | null): HTMLElement {
    if (!openPath) {
      return fact('notebook', path);
    }
    const link = h(
      'a',
      {
        href: '#',
        className: 'jp-orc-link',
        title: 'Open the notebook',
        onclick: (e: Event) => {
          e.preventDefault();
          this.options.openFile(openPath);
        }
      },
      openPath
    );
    return h(
      'span',
      { className: 'jp-orc-fact' },
      h('span', { className: 'jp-orc-muted' }, 'notebook '),
      link
    );
  }

  private _poll: Poll;
  private _actions: IRunAction[];
  private _last = '';
}

function fact(label: string, value: string): HTMLElement {
  return h(
    'span',
    { className: 'jp-orc-fact' },
    h('span', { className: 'jp-orc-muted' }, `${label} `),
    value
  );
}

function details(key: string, summary: string | Node, ...body: (Node | null)[]): HTMLElement {
  return h('details', { 'data-key': key }, h('summary', {}, summary), ...body);
}

function callView(c: ILLMCall): HTMLElement {
  const req = c.request || {};
  const messages = req.messages || [];
  return details(
    `call:${c.call_id}`,
    h(
      'span',
      { className: 'jp-orc-call-summary' },
      `${c.provider}:${c.model} · ${tokens(c.tokens_in)} in / ${tokens(c.tokens_out)} out · ${money(c.cost_usd)} · ${Math.round(c.latency_ms || 0)} ms`,
      c.cached ? ' · cached' : '',
      c.item_index !== null && c.item_index >= 0 ? ` · item ${c.item_index}` : '',
      c.error ? h('span', { className: 'jp-orc-error-inline' }, ` · ${c.error}`) : null
    ),
    h(
      'div',
      { className: 'jp-orc-call', 'data-call': c.call_id },
      req.system
        ? h(
            'div',
            { className: 'jp-orc-msg jp-orc-msg-system' },
            h('span', { className: 'jp-orc-role' }, 'system'),
            h('pre', {}, req.system)
          )
        : null,
      messages.map(m =>
        h(
          'div',
          { className: `jp-orc-msg jp-orc-msg-${m.role}` },
          h('span', { className: 'jp-orc-role' }, m.role),
          h(
            'pre',
            {},
            typeof m.content === 'string' ? m.content : JSON.stringify(m.content, null, 2)
          )
        )
      ),
      h(
        'div',
        { className: 'jp-orc-msg jp-orc-msg-response' },
        h('span', { className: 'jp-orc-role' }, 'response'),
        h('pre', {}, c.response_text ?? '(none)')
      )
    )
  );
}

/** The run's tool calls: step, turn, tool, arguments, result (or error), time, decision. */
function toolCallsTable(calls: IToolCall[]): HTMLElement {
  const brief = (v: unknown) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return text && text.length > 160 ? text.slice(0, 159) + '…' : text || '';
  };
  return h(
    'table',
    { className: 'jp-orc-attempts jp-orc-tool-calls' },
    h(
      'tr',
      {},
      ['step', 'turn', 'tool', 'arguments', 'result', 'time', 'decision'].map(t => h('th', {}, t))
    ),
    calls.map(c =>
      h(
        'tr',
        {},
        h('td', {}, c.item_index >= 0 ? `${c.step_id}[${c.item_index}]` : c.step_id),
        h('td', {}, String(c.turn)),
        h('td', {}, c.tool),
        h('td', {}, brief(c.arguments)),
        c.error
          ? h('td', { className: 'jp-orc-error' }, brief(c.error))
          : h('td', {}, brief(c.result)),
        h('td', {}, c.cached ? 'cached' : seconds((c.duration_ms || 0) / 1000)),
        h('td', {}, c.decision || '')
      )
    )
  );
}
