import { describe, expect, it, vi } from 'vitest';

import { IRunAction, RunRow } from '../src/runrow';
import { IRun } from '../src/types';
import { run, step } from './fixtures';

const NOW = Date.parse('2026-12-01T10:00:20Z');

function mounted(r: IRun, actions: IRunAction[] = []) {
  const open = vi.fn();
  const row = new RunRow(r, { open, actions });
  row.update(r, NOW);
  document.body.replaceChildren(row.node);
  return { row, open, node: row.node };
}

/** The elements whose content or attributes changed while `act` ran. */
function touched(root: Node, act: () => void): Set<string> {
  const observer = new MutationObserver(() => undefined);
  observer.observe(root, { childList: true, subtree: true, characterData: true, attributes: true });
  act();
  const names = new Set<string>();
  for (const r of observer.takeRecords()) {
    const el = (r.target instanceof Element ? r.target : r.target.parentElement)!;
    names.add(el.className.split(' ').find(c => c.startsWith('jp-orc-')) ?? el.tagName);
  }
  observer.disconnect();
  return names;
}

describe('RunRow', () => {
  it('shows the run', () => {
    const { node } = mounted(run('abcdef123456', { pipeline: 'essay', cost_usd: 0.5 }));
    expect(node.dataset.runId).toBe('abcdef123456');
    expect(node.dataset.status).toBe('succeeded');
    expect(node.querySelector('.jp-orc-run-open')!.textContent).toBe('essay');
    expect(node.querySelector('.jp-orc-run-cost')!.textContent).toBe('$0.500');
    expect(node.querySelector('.jp-orc-run-started')!.textContent).toBe('just now');
    expect(node.querySelector('.jp-orc-run-duration')!.textContent).toBe('4.2 s');
    expect(node.querySelector('.jp-orc-run-id')!.textContent).toBe('abcdef12');
    const chips = [...node.querySelectorAll<HTMLElement>('.jp-orc-step-chip')];
    expect(chips.map(c => [c.dataset.step, c.dataset.status])).toEqual([
      ['draft', 'succeeded'],
      ['polish', 'succeeded']
    ]);
    expect(node.querySelector('.jp-orc-run-actions')!.hasAttribute('hidden')).toBe(true);
  });

  it('touches nothing when the run did not change', () => {
    const r = run('r1');
    const { row, node } = mounted(r);
    expect(touched(node, () => row.update({ ...r }, NOW))).toEqual(new Set());
  });

  it('touches only the cells whose value changed', () => {
    const r = run('r1', { status: 'running', cost_usd: 0.01, steps: [step('a', 'running')] });
    const { row, node } = mounted(r);
    expect(touched(node, () => row.update({ ...r, cost_usd: 0.02 }, NOW))).toEqual(
      new Set(['jp-orc-run-cost'])
    );
    const done = { ...r, cost_usd: 0.02, status: 'succeeded' as const };
    const changed = touched(node, () =>
      row.update({ ...done, steps: [step('a', 'succeeded')] }, NOW)
    );
    expect(changed).toEqual(new Set(['jp-orc-run', 'jp-orc-status', 'jp-orc-step-chip']));
    expect(node.querySelector('.jp-orc-status')!.textContent).toBe('succeeded');
  });

  it('keeps a step chip node while its step stays and adds new steps', () => {
    const r = run('r1', { steps: [step('a', 'running')] });
    const { row, node } = mounted(r);
    const chip = node.querySelector('[data-step="a"]');
    row.update({ ...r, steps: [step('a'), step('b', 'running')] }, NOW);
    expect(node.querySelector('[data-step="a"]')).toBe(chip);
    expect(chip!.className).toBe('jp-orc-step-chip jp-orc-status-succeeded');
    expect(
      [...node.querySelectorAll<HTMLElement>('.jp-orc-step-chip')].map(c => c.dataset.step)
    ).toEqual(['a', 'b']);
  });

  it('opens the run on a click anywhere in the row, once', () => {
    const { node, open } = mounted(run('r1'));
    node.querySelector<HTMLButtonElement>('.jp-orc-run-open')!.click();
    node.querySelector<HTMLElement>('.jp-orc-steps')!.click();
    expect(open.mock.calls).toEqual([['r1'], ['r1']]);
  });

  it('does not open the run when the click ends a text selection in the row', () => {
    const { node, open } = mounted(run('r1'));
    const id = node.querySelector('.jp-orc-run-id')!;
    const range = document.createRange();
    range.selectNodeContents(id);
    window.getSelection()!.removeAllRanges();
    window.getSelection()!.addRange(range);
    id.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 1 }));
    expect(open).not.toHaveBeenCalled();
    node.querySelector<HTMLButtonElement>('.jp-orc-run-open')!.click(); // Enter on the button
    expect(open).toHaveBeenCalledTimes(1);
    window.getSelection()!.removeAllRanges();
    id.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 1 }));
    expect(open).toHaveBeenCalledTimes(2);
  });

  it('shows an action only for the runs it applies to; its click does not open the run', () => {
    const resume = vi.fn();
    const action: IRunAction = {
      id: 'resume',
      label: 'Resume',
      title: 'Resume this run',
      applies: r => r.status === 'waiting',
      run: r => void resume(r.run_id)
    };
    const r = run('r1', { status: 'waiting' });
    const { row, node, open } = mounted(r, [action]);
    const button = node.querySelector<HTMLButtonElement>('.jp-orc-run-resume')!;
    expect(button.hidden).toBe(false);
    button.click();
    expect(resume).toHaveBeenCalledWith('r1');
    expect(open).not.toHaveBeenCalled();
    row.update({ ...r, status: 'succeeded' }, NOW);
    expect(button.hidden).toBe(true);
    expect(node.querySelector<HTMLElement>('.jp-orc-run-actions')!.hidden).toBe(true);
  });
});
