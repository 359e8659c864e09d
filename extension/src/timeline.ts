/**
 * The step timeline: one row per step, one bar per attempt (and per for_each item), placed by
 * start and end time on the run's clock, coloured by status. Plain SVG.
 */
import { h, svg } from './dom';
import { seconds } from './format';
import { ACTIVE, ITimelineStep } from './types';

const ROW = 22;
const LABEL = 130;
const WIDTH = 520;

export function timelineChart(
  steps: ITimelineStep[],
  runStarted: string | null,
  runEnded: string | null
): HTMLElement {
  const times = (iso: string | null) => (iso ? Date.parse(iso) : NaN);
  const now = Date.now();
  const starts = steps
    .flatMap(s => s.attempts.map(a => times(a.started_at)))
    .filter(t => !isNaN(t));
  const t0 = !isNaN(times(runStarted)) ? times(runStarted) : Math.min(...starts, now);
  const ends = steps.flatMap(s =>
    s.attempts.map(a => (ACTIVE.includes(a.status) || !a.ended_at ? now : times(a.ended_at)))
  );
  const t1 = Math.max(!isNaN(times(runEnded)) ? times(runEnded) : now, ...ends, t0 + 1);
  const span = t1 - t0;
  const area = WIDTH - LABEL - 8;
  const x = (t: number) => LABEL + ((t - t0) / span) * area;
  const height = steps.length * ROW + 18;
  const rows = steps.map((s, i) => {
    const y = i * ROW;
    const bars = s.attempts.map(a => {
      const start = times(a.started_at);
      if (isNaN(start)) {
        return null;
      }
      const end = ACTIVE.includes(a.status) || !a.ended_at ? now : times(a.ended_at);
      const left = x(start);
      const width = Math.max(x(end) - left, 2);
      const what = a.item_index >= 0 ? `item ${a.item_index}` : `attempt ${a.attempt}`;
      return svg(
        'rect',
        {
          x: left.toFixed(1),
          y: y + (a.item_index >= 0 ? 7 : 4),
          width: width.toFixed(1),
          height: a.item_index >= 0 ? ROW - 14 : ROW - 8,
          rx: 2,
          class: `jp-orc-bar jp-orc-bar-${a.status}`
        },
        svg('title', {}, `${s.id} ${what}: ${a.status}, ${seconds(a.duration_s)}`)
      );
    });
    return svg(
      'g',
      { class: 'jp-orc-timeline-row', 'data-step': s.id, 'data-status': s.status },
      svg(
        'text',
        { x: LABEL - 6, y: y + ROW / 2 + 4, 'text-anchor': 'end', class: 'jp-orc-chart-label' },
        s.id
      ),
      svg('line', {
        x1: LABEL,
        x2: WIDTH - 8,
        y1: y + ROW - 1,
        y2: y + ROW - 1,
        class: 'jp-orc-grid'
      }),
      ...bars.filter((b): b is SVGElement => b !== null)
    );
  });
  const axis = svg(
    'g',
    { class: 'jp-orc-axis' },
    svg('text', { x: LABEL, y: height - 4, class: 'jp-orc-chart-value' }, '0'),
    svg(
      'text',
      { x: WIDTH - 8, y: height - 4, 'text-anchor': 'end', class: 'jp-orc-chart-value' },
      seconds(span / 1000)
    )
  );
  return h(
    'div',
    { className: 'jp-orc-timeline' },
    svg(
      'svg',
      {
        viewBox: `0 0 ${WIDTH} ${height}`,
        width: '100%',
        role: 'img',
        'aria-label': 'Step timeline'
      },
      ...rows,
      axis
    )
  );
}
