/**
 * One run in the sidebar's list: status, pipeline (a button that opens the run view), cost,
 * start, duration, id, a strip of step chips, and the run's actions. Built once; `update` then
 * touches only the cells whose value changed.
 */
import { IRow, KeyedList } from './keyed';
import { h, setAttr, setStatus, setText, statusBadge } from './dom';
import { chipTooltip, money, runTooltip, seconds, when } from './format';
import { IRun, IStepChip } from './types';

/**
 * A button a run row may show (Resume, Cancel ...): `applies` says for which runs. Its class is
 * `jp-orc-run-action jp-orc-run-<id>`; a click on it does not open the run.
 */
export interface IRunAction {
  id: string;
  label: string;
  title: string;
  applies: (run: IRun) => boolean;
  run: (run: IRun) => void;
}

export interface IRunRowOptions {
  open: (runId: string) => void;
  actions?: readonly IRunAction[];
}

export class RunRow implements IRow<IRun> {
  readonly node: HTMLLIElement;

  constructor(run: IRun, options: IRunRowOptions) {
    this._run = run;
    this._badge = statusBadge(run.status);
    this._open = h('button', { className: 'jp-orc-run-pipeline jp-orc-run-open', type: 'button' });
    this._cost = h('span', { className: 'jp-orc-run-cost' });
    this._started = h('span', { className: 'jp-orc-run-started' });
    this._duration = h('span', { className: 'jp-orc-run-duration' });
    this._id = h('span', { className: 'jp-orc-run-id' });
    const steps = h('div', { className: 'jp-orc-steps' });
    this._steps = new KeyedList<IStepChip>({
      container: steps,
      key: s => s.id,
      create: s => new StepChip(s)
    });
    const actions = (options.actions || []).map(a => {
      const button = h(
        'button',
        {
          className: `jp-Button jp-mod-minimal jp-orc-run-action jp-orc-run-${a.id}`,
          type: 'button',
          title: a.title,
          onclick: () => a.run(this._run)
        },
        a.label
      );
      return { action: a, button };
    });
    this._actions = actions;
    this._actionBar = h(
      'div',
      { className: 'jp-orc-run-actions' },
      actions.map(a => a.button)
    );
    this.node = h(
      'li',
      {
        className: 'jp-orc-run',
        'data-run-id': run.run_id,
        onclick: (e: Event) => {
          // the open button's click (mouse or keys) lands here too; a mouse drag that selected
          // text in the row (to copy an id, say) is not a click on the run
          const byKeys = (e as MouseEvent).detail === 0;
          if (!this._actionBar.contains(e.target as Node) && (byKeys || !selectsIn(this.node))) {
            options.open(this._run.run_id);
          }
        }
      },
      h('div', { className: 'jp-orc-run-line' }, this._badge, this._open, this._cost),
      h(
        'div',
        { className: 'jp-orc-run-line jp-orc-muted' },
        this._started,
        this._duration,
        this._id
      ),
      steps,
      this._actionBar
    );
  }

  update(run: IRun, now: number = Date.now()): void {
    this._run = run;
    const node = this.node;
    setAttr(node, 'data-status', run.status);
    setAttr(node, 'title', runTooltip(run));
    setStatus(this._badge, run.status);
    setText(this._open, run.pipeline || '(unnamed)');
    setAttr(this._open, 'title', `Open run ${run.run_id}`);
    setText(this._cost, money(run.cost_usd));
    setText(this._started, when(run.started_at, now));
    setText(this._duration, seconds(run.duration_s));
    setText(this._id, run.run_id.slice(0, 8));
    this._steps.update(run.steps || []);
    let shown = 0;
    for (const { action, button } of this._actions) {
      const applies = action.applies(run);
      shown += applies ? 1 : 0;
      if (button.hidden === applies) {
        button.hidden = !applies;
      }
    }
    if (this._actionBar.hidden !== !shown) {
      this._actionBar.hidden = !shown;
    }
  }

  private _run: IRun;
  private _badge: HTMLElement;
  private _open: HTMLButtonElement;
  private _cost: HTMLElement;
  private _started: HTMLElement;
  private _duration: HTMLElement;
  private _id: HTMLElement;
  private _steps: KeyedList<IStepChip>;
  private _actions: { action: IRunAction; button: HTMLButtonElement }[];
  private _actionBar: HTMLElement;
}

/** One step in a run's strip, coloured by its status. */
class StepChip implements IRow<IStepChip> {
  readonly node: HTMLElement;

  constructor(step: IStepChip) {
    this.node = h('span', { 'data-step': step.id }, step.id);
  }

  update(step: IStepChip): void {
    const className = `jp-orc-step-chip jp-orc-status-${step.status}`;
    if (this.node.className !== className) {
      this.node.className = className;
    }
    setAttr(this.node, 'data-status', step.status);
    setAttr(this.node, 'title', chipTooltip(step));
  }
}

/** Whether the page's text selection is a non-empty range inside `node`. */
function selectsIn(node: Node): boolean {
  const selection = window.getSelection();
  return (
    !!selection &&
    !selection.isCollapsed &&
    selection.toString() !== '' &&
    node.contains(selection.anchorNode)
  );
}
