import { describe, expect, it } from 'vitest';

import { OrcClient } from '../src/api';
import { CostPanel, cells, latency } from '../src/costs';
import { OrcSidebar } from '../src/sidebar';
import { IStatsRow } from '../src/types';
import { json, page, scriptedFetch } from './fixtures';

function row(key: string | undefined, over: Partial<IStatsRow> = {}): IStatsRow {
  return {
    key,
    calls: 3,
    errors: 0,
    cached: 0,
    tokens_in: 120,
    tokens_out: 40,
    cost_usd: 0.0042,
    p50_ms: 850,
    p95_ms: 2400,
    retries: 1,
    fallbacks: 0,
    ...over
  };
}

describe('cost and latency figures', () => {
  it('reads latency in ms or s, and a dash when nothing answered', () => {
    expect(latency(850)).toBe('850 ms');
    expect(latency(2400)).toBe('2.4 s');
    expect(latency(null)).toBe('–');
    expect(cells(row('anthropic:claude-sonnet-4-5'))).toEqual([
      'anthropic:claude-sonnet-4-5',
      '3',
      '$0.0042',
      '850 ms',
      '2.4 s',
      '1',
      '0'
    ]);
  });

  it('shows a row per model and the total, and keeps the table when nothing changed', () => {
    const panel = new CostPanel(new OrcClient(scriptedFetch([])), () => undefined);
    const stats = {
      total: row(undefined, { calls: 5 }),
      model: [row('a:x'), row('b:y', { calls: 2 })]
    };
    panel.update(stats);
    const rows = [...panel.node.querySelectorAll('tbody tr')];
    expect(rows.map(r => r.firstChild!.textContent)).toEqual(['a:x', 'b:y', '(all)']);
    expect(panel.node.querySelector('summary')!.textContent).toBe(
      'Cost and latency today: $0.0042 · 5 calls'
    );
    panel.update(structuredClone(stats));
    expect(panel.node.querySelector('tbody tr')).toBe(rows[0]);
    panel.update({ total: row(undefined, { calls: 0 }), model: [] });
    expect(panel.node.querySelector('.jp-orc-costs-note')!.textContent).toBe(
      'No model calls today (UTC).'
    );
  });
});

describe('the sidebar asks for stats only while the section is open', () => {
  it('fetches stats?by=model&since=today once opened', async () => {
    const fetch = scriptedFetch([
      json(200, page([])),
      json(200, { approvals: [] }),
      json(200, page([])),
      json(200, { approvals: [] }),
      json(200, { total: row(undefined), model: [row('a:x')] })
    ]);
    const sidebar = new OrcSidebar({
      client: new OrcClient(fetch),
      rendermime: null,
      openRun: () => undefined
    });
    document.body.replaceChildren(sidebar.node);
    await sidebar.refresh();
    expect(fetch.seen.map(s => s.path)).not.toContain('stats?by=model&since=today');
    sidebar.node.querySelector('details')!.open = true;
    await sidebar.refresh();
    expect(fetch.seen.map(s => s.path)).toContain('stats?by=model&since=today');
    expect(sidebar.node.querySelector('.jp-orc-costs tbody td')!.textContent).toBe('a:x');
  });
});
