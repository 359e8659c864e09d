/**
 * The sidebar's runs: a heading, one row per run of the current page (keyed by run id, so a
 * refresh changes rows in place), a line for an empty page, and the pager.
 */
import { h, setText } from './dom';
import { emptyMessage } from './format';
import { KeyedList } from './keyed';
import { Pager } from './pager';
import { IRunAction, RunRow } from './runrow';
import { IRun, IRunsPage } from './types';

export interface IRunListOptions {
  open: (runId: string) => void;
  /** Go to the newer (-1) or older (1) page. */
  move: (direction: -1 | 1) => void;
  actions?: readonly IRunAction[];
}

export class RunList {
  readonly node: HTMLElement;

  constructor(options: IRunListOptions) {
    const list = h('ul', { className: 'jp-orc-runs' });
    this._rows = new KeyedList<IRun, RunRow>({
      container: list,
      key: r => r.run_id,
      create: r => new RunRow(r, { open: options.open, actions: options.actions })
    });
    this._empty = h('div', { className: 'jp-orc-empty', hidden: true });
    this._pager = new Pager(options.move);
    this.node = h(
      'section',
      { className: 'jp-orc-runs-section' },
      h('h3', { className: 'jp-orc-runs-title' }, 'Runs'),
      list,
      this._empty,
      this._pager.node
    );
  }

  update(page: IRunsPage): void {
    this._rows.update(page.runs);
    const empty = page.runs.length === 0;
    if (this._empty.hidden !== !empty) {
      this._empty.hidden = !empty;
    }
    setText(this._empty, empty ? emptyMessage(page.total, page.offset) : '');
    this._pager.update({ offset: page.offset, shown: page.runs.length, total: page.total });
  }

  private _rows: KeyedList<IRun, RunRow>;
  private _empty: HTMLElement;
  private _pager: Pager;
}
