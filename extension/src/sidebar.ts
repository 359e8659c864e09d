/**
 * The "Orchestrator" sidebar: approvals waiting for a decision (with buttons), then the runs,
 * newest first, each with status, pipeline, start, duration, cost and a strip of its steps.
 * It polls the server every 2 s while visible; a click on a run opens the run view.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { listApprovals, listRuns, OrcApiError } from './api';
import { approvalCard } from './approvals';
import { fullTime, h, money, seconds, statusBadge, when } from './dom';
import { IApproval, IRun, IRunsPage, STATUSES } from './types';

const PAGE = 25;

export interface ISidebarOptions {
  rendermime: IRenderMimeRegistry | null;
  openRun: (runId: string) => void;
}

export class OrcSidebar extends Widget {
  constructor(private options: ISidebarOptions) {
    super();
    this.id = 'orchestrator-nb-sidebar';
    this.addClass('jp-orc-sidebar');
    this.title.caption = 'Orchestrator: runs and approvals';

    this._status = h(
      'select',
      {
        className: 'jp-orc-filter-status',
        title: 'Filter by status',
        onchange: () => this.restart()
      },
      h('option', { value: '' }, 'all statuses'),
      STATUSES.map(s => h('option', { value: s }, s.replace('_', ' ')))
    );
    this._pipeline = h('input', {
      className: 'jp-orc-filter-pipeline',
      type: 'search',
      placeholder: 'pipeline',
      title: 'Filter by pipeline name (exact)',
      oninput: () => {
        window.clearTimeout(this._typing);
        this._typing = window.setTimeout(() => this.restart(), 400);
      }
    });
    this._approvals = h('div', { className: 'jp-orc-approvals' });
    this._runs = h('ul', { className: 'jp-orc-runs' });
    this._pager = h('div', { className: 'jp-orc-pager' });
    this._message = h('div', { className: 'jp-orc-message' });
    this.node.append(
      h(
        'div',
        { className: 'jp-orc-sidebar-head' },
        h('h2', {}, 'Orchestrator'),
        h('div', { className: 'jp-orc-filters' }, this._status, this._pipeline)
      ),
      this._message,
      this._approvals,
      h('h3', { className: 'jp-orc-runs-title' }, 'Runs'),
      this._runs,
      this._pager
    );
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: 2000, backoff: true, max: 30000 },
      name: 'orchestrator-nb:sidebar',
      standby: () => !this.isVisible || 'when-hidden'
    });
  }

  dispose(): void {
    this._poll.dispose();
    super.dispose();
  }

  /** Fetch now (also what the poll calls). */
  async refresh(): Promise<void> {
    let page: IRunsPage;
    let approvals: IApproval[];
    try {
      [page, approvals] = await Promise.all([
        listRuns({
          status: this._status.value || undefined,
          pipeline: this._pipeline.value.trim() || undefined,
          limit: PAGE,
          offset: this._offset,
          topLevel: true
        }),
        listApprovals()
      ]);
    } catch (e) {
      this._message.textContent =
        e instanceof OrcApiError ? `Cannot load runs: ${e.message}` : String(e);
      throw e; // the poll backs off
    }
    this._message.textContent = '';
    this.renderApprovals(approvals);
    this.renderRuns(page);
  }

  protected onAfterShow(): void {
    void this._poll.start().then(() => this._poll.refresh());
  }

  private restart(): void {
    this._offset = 0;
    void this._poll.refresh();
  }

  private renderApprovals(approvals: IApproval[]): void {
    const key = JSON.stringify(approvals.map(a => [a.run_id, a.step_id, a.round]));
    if (key === this._approvalsKey) {
      return; // keep half-typed comments and open cards as they are
    }
    this._approvalsKey = key;
    this._approvals.replaceChildren(
      ...(approvals.length
        ? [
            h('h3', {}, `Waiting for approval (${approvals.length})`),
            ...approvals.map(a =>
              approvalCard(a, {
                rendermime: this.options.rendermime,
                onDecided: () => void this._poll.refresh(),
                onOpenRun: this.options.openRun
              })
            )
          ]
        : [])
    );
  }

  private renderRuns(page: IRunsPage): void {
    if (!page.runs.length) {
      this._runs.replaceChildren(
        h(
          'li',
          { className: 'jp-orc-empty' },
          page.total || this._offset
            ? 'No runs on this page.'
            : 'No runs yet. Run a pipeline with %%orc in a notebook or `orc run` in a terminal.'
        )
      );
    } else {
      this._runs.replaceChildren(...page.runs.map(r => this.runRow(r)));
    }
    const last = Math.min(page.offset + page.runs.length, page.total);
    this._pager.replaceChildren(
      h(
        'button',
        {
          className: 'jp-Button jp-mod-minimal jp-orc-newer',
          disabled: page.offset === 0,
          onclick: () => this.page(-PAGE)
        },
        '‹ newer'
      ),
      h(
        'span',
        { className: 'jp-orc-muted' },
        page.total ? `${page.offset + 1}–${last} of ${page.total}` : ''
      ),
      h(
        'button',
        {
          className: 'jp-Button jp-mod-minimal jp-orc-older',
          disabled: last >= page.total,
          onclick: () => this.page(PAGE)
        },
        'older ›'
      )
    );
  }

  private page(delta: number): void {
    this._offset = Math.max(0, this._offset + delta);
    void this._poll.refresh();
  }

  private runRow(r: IRun): HTMLElement {
    return h(
      'li',
      {
        className: 'jp-orc-run',
        'data-run-id': r.run_id,
        'data-status': r.status,
        tabindex: 0,
        title: `${r.run_id} · started ${fullTime(r.started_at)}${r.error ? '\n' + r.error : ''}`,
        onclick: () => this.options.openRun(r.run_id),
        onkeydown: (e: Event) => {
          if ((e as KeyboardEvent).key === 'Enter') {
            this.options.openRun(r.run_id);
          }
        }
      },
      h(
        'div',
        { className: 'jp-orc-run-line' },
        statusBadge(r.status),
        h('span', { className: 'jp-orc-run-pipeline' }, r.pipeline || '(unnamed)'),
        h('span', { className: 'jp-orc-run-cost' }, money(r.cost_usd))
      ),
      h(
        'div',
        { className: 'jp-orc-run-line jp-orc-muted' },
        h('span', { className: 'jp-orc-run-started' }, when(r.started_at)),
        h('span', { className: 'jp-orc-run-duration' }, seconds(r.duration_s)),
        h('span', { className: 'jp-orc-run-id' }, r.run_id.slice(0, 8))
      ),
      h(
        'div',
        { className: 'jp-orc-steps' },
        (r.steps || []).map(s =>
          h(
            'span',
            {
              className: `jp-orc-step-chip jp-orc-status-${s.status}`,
              'data-step': s.id,
              'data-status': s.status,
              title:
                `${s.id}: ${s.status}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}` +
                (s.items_total ? ` · ${s.items_done}/${s.items_total} items` : '')
            },
            s.id
          )
        )
      )
    );
  }

  private _poll: Poll;
  private _status: HTMLSelectElement;
  private _pipeline: HTMLInputElement;
  private _approvals: HTMLElement;
  private _runs: HTMLElement;
  private _pager: HTMLElement;
  private _message: HTMLElement;
  private _offset = 0;
  private _typing = 0;
  private _approvalsKey = '';
}
