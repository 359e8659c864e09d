/**
 * How numbers, times and runs read in the UI. Pure functions (no DOM), so the unit tests can pin
 * every case down.
 */
import { IRun, IRunsPage, IStepChip } from './types';

export function money(usd: number | null | undefined): string {
  const v = usd || 0;
  if (v === 0) {
    return '$0';
  }
  if (v < 0.01) {
    return `$${v.toFixed(4)}`;
  }
  return `$${v.toFixed(v < 10 ? 3 : 2)}`;
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) {
    return '–';
  }
  if (s < 1) {
    return `${Math.round(s * 1000)} ms`;
  }
  if (s < 60) {
    return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${Math.round(s % 60)} s`;
  }
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A start time relative to `now`: "just now", "5 min ago", then the clock time, then the date. */
export function when(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) {
    return '–';
  }
  const t = new Date(iso);
  const ago = (now - t.getTime()) / 1000;
  if (ago < 45) {
    return 'just now';
  }
  if (ago < 3600) {
    return `${Math.round(ago / 60)} min ago`;
  }
  if (ago < 86400) {
    return t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  return t.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function fullTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

export function tokens(n: number | null | undefined): string {
  const v = n || 0;
  return v >= 10000 ? `${(v / 1000).toFixed(1)}k` : String(v);
}

export function statusLabel(status: string): string {
  return status.replace(/_/g, ' ');
}

/** The tooltip of a run row: its id, when it started, and its error if any. */
export function runTooltip(r: IRun): string {
  return `${r.run_id} · started ${fullTime(r.started_at)}${r.error ? '\n' + r.error : ''}`;
}

/** The tooltip of a step chip: status, attempt and for_each progress. */
export function chipTooltip(s: IStepChip): string {
  return (
    `${s.id}: ${s.status}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}` +
    (s.items_total ? ` · ${s.items_done}/${s.items_total} items` : '')
  );
}

/** "1–25 of 40" under the list ('' when there is nothing). */
export function pageLabel(page: Pick<IRunsPage, 'offset' | 'total'> & { shown: number }): string {
  if (!page.total) {
    return '';
  }
  const last = Math.min(page.offset + page.shown, page.total);
  return `${page.offset + 1}–${last} of ${page.total}`;
}

/** What the list says when a page is empty. */
export function emptyMessage(total: number, offset: number): string {
  return total || offset
    ? 'No runs on this page.'
    : 'No runs yet. Run a pipeline with %%orc in a notebook or `orc run` in a terminal.';
}
