/**
 * Cost per step as a horizontal bar chart in plain SVG. When no call had a price (local or
 * scripted models), the same chart shows tokens instead, and says so.
 */
import { h, svg } from './dom';
import { money, tokens } from './format';
import { ITimelineStep } from './types';

const ROW = 22;
const LABEL = 130;
const WIDTH = 520;
const VALUE = 70;

export function costChart(steps: ITimelineStep[]): HTMLElement {
  const rows = steps.filter(s => s.calls > 0);
  if (!rows.length) {
    return h('div', { className: 'jp-orc-muted' }, 'No model calls in this run.');
  }
  const total = rows.reduce((sum, s) => sum + (s.cost_usd || 0), 0);
  const byCost = total > 0;
  const value = (s: ITimelineStep) =>
    byCost ? s.cost_usd || 0 : (s.tokens_in || 0) + (s.tokens_out || 0);
  const label = (s: ITimelineStep) => (byCost ? money(s.cost_usd) : `${tokens(value(s))} tok`);
  const max = Math.max(...rows.map(value), 1e-12);
  const bars = WIDTH - LABEL - VALUE;
  const height = rows.length * ROW + 4;
  const chart = svg(
    'svg',
    {
      class: 'jp-orc-chart',
      viewBox: `0 0 ${WIDTH} ${height}`,
      width: '100%',
      role: 'img',
      'aria-label': byCost ? 'Cost per step' : 'Tokens per step'
    },
    ...rows.map((s, i) => {
      const y = i * ROW + 2;
      const w = Math.max((value(s) / max) * bars, value(s) > 0 ? 2 : 0);
      return svg(
        'g',
        { class: 'jp-orc-chart-row', 'data-step': s.id, 'data-value': value(s) },
        svg(
          'title',
          {},
          `${s.id}: ${money(s.cost_usd)}, ${s.tokens_in} in / ${s.tokens_out} out, ${s.calls} call(s)`
        ),
        svg(
          'text',
          { x: LABEL - 6, y: y + ROW / 2 + 4, 'text-anchor': 'end', class: 'jp-orc-chart-label' },
          s.id
        ),
        svg('rect', {
          x: LABEL,
          y: y + 3,
          width: w.toFixed(1),
          height: ROW - 6,
          rx: 2,
          class: 'jp-orc-chart-bar'
        }),
        svg('text', { x: LABEL + w + 4, y: y + ROW / 2 + 4, class: 'jp-orc-chart-value' }, label(s))
      );
    })
  );
  return h(
    'div',
    { className: 'jp-orc-chart-box' },
    chart,
    h(
      'div',
      { className: 'jp-orc-muted' },
      byCost
        ? `Total ${money(total)} over ${rows.length} step(s).`
        : 'These models have no known price: the bars show tokens (in + out).'
    )
  );
}
