/**
 * The filters above the run list: a status menu and a pipeline name. `changed` fires at once
 * for the menu and after a pause in typing for the name.
 */
import { h } from './dom';
import { statusLabel } from './format';
import { STATUSES } from './types';

const TYPING_PAUSE_MS = 400;

export interface IRunFilter {
  status?: string;
  pipeline?: string;
}

export class RunFilters {
  readonly node: HTMLElement;

  constructor(changed: () => void) {
    this._status = h(
      'select',
      {
        className: 'jp-orc-filter-status',
        title: 'Filter by status',
        onchange: () => changed()
      },
      h('option', { value: '' }, 'all statuses'),
      STATUSES.map(s => h('option', { value: s }, statusLabel(s)))
    );
    this._pipeline = h('input', {
      className: 'jp-orc-filter-pipeline',
      type: 'search',
      placeholder: 'pipeline',
      title: 'Filter by pipeline name (exact)',
      oninput: () => {
        window.clearTimeout(this._typing);
        this._typing = window.setTimeout(changed, TYPING_PAUSE_MS);
      }
    });
    this.node = h('div', { className: 'jp-orc-filters' }, this._status, this._pipeline);
  }

  get value(): IRunFilter {
    return {
      status: this._status.value || undefined,
      pipeline: this._pipeline.value.trim() || undefined
    };
  }

  dispose(): void {
    window.clearTimeout(this._typing);
  }

  private _status: HTMLSelectElement;
  private _pipeline: HTMLInputElement;
  private _typing = 0;
}
