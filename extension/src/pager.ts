/**
 * "‹ newer · 1–25 of 40 · older ›" under the run list. The buttons are made once and only
 * enabled or disabled, so one keeps focus while the list refreshes.
 */
import { h, setText } from './dom';
import { pageLabel } from './format';

export interface IPagerState {
  offset: number;
  shown: number;
  total: number;
}

export class Pager {
  readonly node: HTMLElement;

  constructor(onMove: (direction: -1 | 1) => void) {
    this._newer = h(
      'button',
      {
        className: 'jp-Button jp-mod-minimal jp-orc-newer',
        type: 'button',
        disabled: true,
        onclick: () => onMove(-1)
      },
      '‹ newer'
    );
    this._older = h(
      'button',
      {
        className: 'jp-Button jp-mod-minimal jp-orc-older',
        type: 'button',
        disabled: true,
        onclick: () => onMove(1)
      },
      'older ›'
    );
    this._label = h('span', { className: 'jp-orc-muted' });
    this.node = h('div', { className: 'jp-orc-pager' }, this._newer, this._label, this._older);
  }

  update(state: IPagerState): void {
    const atStart = state.offset === 0;
    const atEnd = state.offset + state.shown >= state.total;
    if (this._newer.disabled !== atStart) {
      this._newer.disabled = atStart;
    }
    if (this._older.disabled !== atEnd) {
      this._older.disabled = atEnd;
    }
    setText(this._label, pageLabel(state));
  }

  private _newer: HTMLButtonElement;
  private _older: HTMLButtonElement;
  private _label: HTMLElement;
}
