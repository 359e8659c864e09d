import { describe, expect, it, vi } from 'vitest';

import { RunList } from '../src/runlist';
import { page, run } from './fixtures';

function mounted() {
  const open = vi.fn();
  const move = vi.fn();
  const list = new RunList({ open, move });
  document.body.replaceChildren(list.node);
  const ids = () =>
    [...list.node.querySelectorAll<HTMLElement>('.jp-orc-run')].map(n => n.dataset.runId);
  const q = <T extends HTMLElement>(s: string) => list.node.querySelector<T>(s)!;
  return { list, open, move, ids, q };
}

describe('RunList', () => {
  it('says there are no runs yet, with the pager off', () => {
    const { list, q, ids } = mounted();
    list.update(page([]));
    expect(ids()).toEqual([]);
    expect(q('.jp-orc-empty').hidden).toBe(false);
    expect(q('.jp-orc-empty').textContent).toMatch(/^No runs yet/);
    expect(q<HTMLButtonElement>('.jp-orc-newer').disabled).toBe(true);
    expect(q<HTMLButtonElement>('.jp-orc-older').disabled).toBe(true);
  });

  it('adds a new run on top and keeps the other rows, and the focused button, as they were', () => {
    const { list, q, ids } = mounted();
    list.update(page([run('b'), run('a')]));
    const button = q<HTMLButtonElement>('[data-run-id="a"] .jp-orc-run-open');
    button.focus();
    list.update(page([run('c', { status: 'running' }), run('b'), run('a')]));
    expect(ids()).toEqual(['c', 'b', 'a']);
    expect(q('[data-run-id="a"] .jp-orc-run-open')).toBe(button);
    expect(document.activeElement).toBe(button);
    expect(q('.jp-orc-empty').hidden).toBe(true);
  });

  it('pages: label, buttons, and the direction asked for', () => {
    const { list, q, move } = mounted();
    const runs = Array.from({ length: 25 }, (_, i) => run(`r${i}`));
    list.update(page(runs, { total: 40, offset: 0 }));
    expect(q('.jp-orc-pager').textContent).toContain('1–25 of 40');
    const newer = q<HTMLButtonElement>('.jp-orc-newer');
    const older = q<HTMLButtonElement>('.jp-orc-older');
    expect([newer.disabled, older.disabled]).toEqual([true, false]);
    older.click();
    expect(move).toHaveBeenCalledWith(1);
    list.update(page(runs.slice(0, 15), { total: 40, offset: 25 }));
    expect(q('.jp-orc-pager').textContent).toContain('26–40 of 40');
    expect([newer.disabled, older.disabled]).toEqual([false, true]);
    expect(q('.jp-orc-newer')).toBe(newer); // the same buttons: focus on one survives
  });

  it('says a page past the end is empty', () => {
    const { list, q } = mounted();
    list.update(page([], { total: 3, offset: 25 }));
    expect(q('.jp-orc-empty').textContent).toBe('No runs on this page.');
  });
});
