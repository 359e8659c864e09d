/**
 * Where a run view opens. JupyterLab has a dock of tabs: one tab per run, restored on reload.
 * Jupyter Notebook 7 shows one document per page (its main area takes no second widget), so
 * there the run view opens in the right side panel, one run at a time.
 */
import { ILabShell, ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { orcIcon } from './icon';
import { RunView } from './runview';

export type MakeRunView = (runId: string) => RunView;

export interface IRunViewHost {
  /** Show the run (opening its view if it is not open yet). */
  open(runId: string): Widget;
  /** If the run's view is open, follow the run again (it was resumed or cancelled). */
  watch(runId: string): void;
}

/** JupyterLab: a main-area tab per run. */
export class DockedRunViews implements IRunViewHost {
  constructor(
    private shell: ILabShell,
    private make: MakeRunView
  ) {}

  readonly tracker = new WidgetTracker<MainAreaWidget<RunView>>({
    namespace: 'orchestrator-nb-run'
  });

  /** Reopen the tabs of the last session through `command` (which calls `open`). */
  restore(restorer: ILayoutRestorer, command: string): void {
    void restorer.restore(this.tracker, {
      command,
      args: w => ({ runId: w.content.runId }),
      name: w => w.content.runId
    });
  }

  watch(runId: string): void {
    this.tracker.find(w => w.content.runId === runId)?.content.watch();
  }

  open(runId: string): Widget {
    const existing = this.tracker.find(w => w.content.runId === runId);
    if (existing) {
      this.shell.activateById(existing.id);
      return existing;
    }
    const content = this.make(runId);
    const widget = new MainAreaWidget({ content });
    widget.id = `jp-orc-run-panel-${runId}`;
    widget.title.icon = orcIcon;
    widget.title.label = content.title.label;
    content.title.changed.connect(() => (widget.title.label = content.title.label));
    widget.title.closable = true;
    void this.tracker.add(widget);
    this.shell.add(widget, 'main');
    this.shell.activateById(widget.id);
    return widget;
  }
}

/** Any other shell (Notebook 7): the right side panel, one run at a time. */
export class SidePanelRunView implements IRunViewHost {
  constructor(
    private shell: JupyterFrontEnd.IShell,
    private make: MakeRunView
  ) {}

  watch(runId: string): void {
    if (this._current && !this._current.isDisposed && this._current.runId === runId) {
      this._current.watch();
    }
  }

  open(runId: string): Widget {
    if (this._current && !this._current.isDisposed && this._current.runId !== runId) {
      this._current.dispose(); // leaves the panel (and its menu entry)
    }
    if (!this._current || this._current.isDisposed) {
      const view = this.make(runId);
      view.title.icon = orcIcon;
      view.title.caption = `Orchestrator run ${runId}`;
      view.addClass('jp-orc-runview-side');
      this.shell.add(view, 'right', { rank: 600 });
      this._current = view;
    }
    this.shell.activateById(this._current.id);
    return this._current;
  }

  private _current: RunView | null = null;
}
