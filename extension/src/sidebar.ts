/**
 * The "Orchestrator" sidebar: a "New run" form, filters, approvals waiting for a decision, then
 * the runs, newest first, with Resume and Cancel where they apply. It polls the server every 2 s while visible and updates what it shows in place (see
 * keyed.ts), so focus, selection and scroll survive each refresh. A click on a run opens it.
 *
 * The parts (filters, approvals, runs, cost and latency) are separate modules; a new part is one
 * more field here that `refresh` feeds.
 */
import { Notification } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { OrcApiError, OrcClient } from './api';
import { ApprovalList } from './approvallist';
import { CostPanel } from './costs';
import { h, setText } from './dom';
import { RunFilters } from './filters';
import { NewRunForm } from './newrun';
import { runActions } from './runactions';
import { IRunAction } from './runrow';
import { RunList } from './runlist';

export const SIDEBAR_ID = 'orchestrator-nb-sidebar';
const PAGE = 25;
const POLL_MS = 2000;

export interface ISidebarOptions {
  client: OrcClient;
  rendermime: IRenderMimeRegistry | null;
  openRun: (runId: string) => void;
  /** A run was started, resumed or cancelled from the sidebar (its open view should follow it). */
  onRunChanged?: (runId: string) => void;
  /** Buttons on run rows (default: Resume and Cancel). */
  actions?: readonly IRunAction[];
}

export class OrcSidebar extends Widget {
  constructor(private options: ISidebarOptions) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('jp-orc-sidebar');
    this.title.caption = 'Orchestrator: runs and approvals';

    this._filters = new RunFilters(() => this.restart());
    this._message = h('div', { className: 'jp-orc-message', role: 'status' });
    this._approvals = new ApprovalList({
      client: options.client,
      rendermime: options.rendermime,
      onDecided: () => void this._poll.refresh(),
      onOpenRun: options.openRun
    });
    this._costs = new CostPanel(options.client, () => void this._poll.refresh());
    const changed = (runId: string) => {
      void this._poll.refresh();
      options.onRunChanged?.(runId);
    };
    this._runs = new RunList({
      open: options.openRun,
      move: direction => this.page(direction),
      actions: options.actions ?? runActions({ client: options.client, changed })
    });
    this._newRun = new NewRunForm({
      client: options.client,
      onStarted: (started, pipeline) => {
        Notification.success(`Started ${pipeline.name}: run ${started.run_id}`, {
          autoClose: 5000
        });
        changed(started.run_id);
        options.openRun(started.run_id);
      }
    });
    const newRun = h(
      'button',
      {
        type: 'button',
        className: 'jp-Button jp-mod-styled jp-mod-accept jp-orc-newrun-open',
        title: 'Start a run of a pipeline (built-in or a YAML file under the server root)',
        onclick: () => (this._newRun.isOpen ? this._newRun.close() : void this._newRun.open())
      },
      'New run'
    );
    this.node.append(
      h(
        'div',
        { className: 'jp-orc-sidebar-head' },
        h('div', { className: 'jp-orc-sidebar-title' }, h('h2', {}, 'Orchestrator'), newRun),
        this._filters.node
      ),
      this._newRun.node,
      this._message,
      this._approvals.node,
      this._runs.node,
      this._costs.node
    );
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: POLL_MS, backoff: true, max: 30000 },
      name: 'orchestrator-nb:sidebar',
      standby: () => !this.isVisible || 'when-hidden'
    });
  }

  dispose(): void {
    this._poll.dispose();
    this._filters.dispose();
    super.dispose();
  }

  /** Fetch now (also what the poll calls). */
  async refresh(): Promise<void> {
    const ticket = ++this._ticket;
    const filter = this._filters.value;
    try {
      const [page, approvals, stats] = await Promise.all([
        this.options.client.listRuns({
          ...filter,
          limit: PAGE,
          offset: this._offset,
          topLevel: true
        }),
        this.options.client.listApprovals(),
        this._costs.open ? this._costs.fetch() : Promise.resolve(null)
      ]);
      if (ticket !== this._ticket) {
        return; // the filters or the page changed while this was on its way
      }
      setText(this._message, '');
      this._approvals.update(approvals);
      this._runs.update(page);
      if (stats) {
        this._costs.update(stats);
      }
    } catch (e) {
      if (ticket === this._ticket) {
        setText(
          this._message,
          `Cannot load runs: ${e instanceof OrcApiError ? e.message : String(e)}`
        );
      }
      throw e; // the poll backs off
    }
  }

  protected onAfterShow(): void {
    void this._poll.start().then(() => this._poll.refresh());
  }

  private restart(): void {
    this._offset = 0;
    void this._poll.refresh();
  }

  private page(direction: -1 | 1): void {
    this._offset = Math.max(0, this._offset + direction * PAGE);
    void this._poll.refresh();
  }

  private _poll: Poll;
  private _filters: RunFilters;
  private _message: HTMLElement;
  private _approvals: ApprovalList;
  private _runs: RunList;
  private _costs: CostPanel;
  private _newRun: NewRunForm;
  private _offset = 0;
  private _ticket = 0;
}
