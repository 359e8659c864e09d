/**
 * "Cost and latency": a collapsed section at the foot of the sidebar. Opened, it shows today's
 * model calls (UTC day) per model: calls, cost, p50/p95 latency, retries and fallbacks, from
 * `GET stats` (the figures of `orc stats`), and follows the sidebar's refreshes while open.
 */
import { OrcClient } from './api';
import { h, setText } from './dom';
import { money } from './format';
import { IStats, IStatsRow } from './types';

export const COLUMNS = ['model', 'calls', 'cost', 'p50', 'p95', 'retries', 'fallbacks'] as const;

/** Latency as the table shows it: "850 ms", "2.4 s", or "–" when no call was answered. */
export function latency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) {
    return '–';
  }
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function cells(row: IStatsRow): string[] {
  return [
    row.key ?? '(all)',
    String(row.calls),
    money(row.cost_usd),
    latency(row.p50_ms),
    latency(row.p95_ms),
    String(row.retries),
    String(row.fallbacks)
  ];
}

export class CostPanel {
  readonly node: HTMLDetailsElement;

  /** `opened`: the section was just opened (the sidebar fetches at once). */
  constructor(
    private readonly client: OrcClient,
    opened: () => void
  ) {
    this._summary = h('summary', {}, 'Cost and latency today');
    this._body = h('tbody');
    this._note = h('div', { className: 'jp-orc-costs-note' });
    this.node = h(
      'details',
      { className: 'jp-orc-costs' },
      this._summary,
      this._note,
      h(
        'table',
        { className: 'jp-orc-costs-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            COLUMNS.map(c => h('th', {}, c))
          )
        ),
        this._body
      )
    );
    this.node.addEventListener('toggle', () => {
      if (this.node.open) {
        opened();
      }
    });
  }

  get open(): boolean {
    return this.node.open;
  }

  /** Today's figures per model (only asked while the section is open). */
  fetch(): Promise<IStats> {
    return this.client.stats({ by: 'model', since: 'today' });
  }

  update(stats: IStats): void {
    const rows = stats.model ?? [];
    const total = stats.total;
    setText(
      this._summary,
      total && total.calls
        ? `Cost and latency today: ${money(total.cost_usd)} · ${total.calls} calls`
        : 'Cost and latency today'
    );
    setText(this._note, rows.length ? '' : 'No model calls today (UTC).');
    const text = JSON.stringify([rows, total]);
    if (text === this._shown) {
      return; // unchanged: keep the table (and any selection in it) as it is
    }
    this._shown = text;
    const lines = rows.map(r =>
      h(
        'tr',
        { 'data-model': r.key ?? '' },
        cells(r).map(c => h('td', {}, c))
      )
    );
    if (total && rows.length > 1) {
      lines.push(
        h(
          'tr',
          { className: 'jp-orc-costs-total' },
          cells(total).map(c => h('td', {}, c))
        )
      );
    }
    this._body.replaceChildren(...lines);
  }

  private _summary: HTMLElement;
  private _body: HTMLTableSectionElement;
  private _note: HTMLElement;
  private _shown = '';
}
