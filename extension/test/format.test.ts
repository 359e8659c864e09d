import { describe, expect, it } from 'vitest';

import {
  chipTooltip,
  emptyMessage,
  money,
  pageLabel,
  runTooltip,
  seconds,
  statusLabel,
  tokens,
  when
} from '../src/format';
import { run, step } from './fixtures';

describe('money', () => {
  it.each([
    [null, '$0'],
    [undefined, '$0'],
    [0, '$0'],
    [0.00042, '$0.0004'],
    [0.0123, '$0.012'],
    [9.5, '$9.500'],
    [12.345, '$12.35']
  ])('%s -> %s', (usd, shown) => expect(money(usd)).toBe(shown));
});

describe('seconds', () => {
  it.each([
    [null, '–'],
    [0.25, '250 ms'],
    [4.25, '4.3 s'],
    [42.4, '42 s'],
    [125, '2 min 5 s'],
    [3 * 3600 + 7 * 60, '3 h 7 min']
  ])('%s -> %s', (s, shown) => expect(seconds(s)).toBe(shown));
});

describe('when', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  it('says how long ago for the last hour', () => {
    expect(when(null, now)).toBe('–');
    expect(when('2026-12-01T11:59:30Z', now)).toBe('just now');
    expect(when('2026-12-01T11:55:00Z', now)).toBe('5 min ago');
  });
  it('gives the clock time within a day and the date after', () => {
    const earlier = '2026-12-01T08:30:00Z';
    expect(when(earlier, now)).toBe(
      new Date(earlier).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    );
    const older = '2026-11-20T08:30:00Z';
    expect(when(older, now)).toBe(
      new Date(older).toLocaleDateString([], { month: 'short', day: 'numeric' })
    );
  });
});

describe('small labels', () => {
  it('formats tokens, statuses and tooltips', () => {
    expect(tokens(9999)).toBe('9999');
    expect(tokens(12345)).toBe('12.3k');
    expect(statusLabel('budget_exceeded')).toBe('budget exceeded');
    expect(chipTooltip({ ...step('fan'), attempt: 2, items_done: 3, items_total: 5 })).toBe(
      'fan: succeeded (attempt 2) · 3/5 items'
    );
    expect(chipTooltip(step('one', 'running'))).toBe('one: running');
    expect(runTooltip(run('r1', { started_at: null, error: 'boom' }))).toBe('r1 · started \nboom');
  });

  it('labels a page of runs', () => {
    expect(pageLabel({ offset: 0, shown: 0, total: 0 })).toBe('');
    expect(pageLabel({ offset: 0, shown: 25, total: 40 })).toBe('1–25 of 40');
    expect(pageLabel({ offset: 25, shown: 15, total: 40 })).toBe('26–40 of 40');
    expect(emptyMessage(0, 0)).toMatch(/^No runs yet/);
    expect(emptyMessage(40, 50)).toBe('No runs on this page.');
  });
});
