import { describe, expect, it } from 'vitest';

import { OrcClient } from '../src/api';
import { OrcSidebar } from '../src/sidebar';
import { approval, json, page, run, scriptedFetch } from './fixtures';

function sidebarWith(answers: Parameters<typeof scriptedFetch>[0]) {
  const fetch = scriptedFetch(answers);
  const sidebar = new OrcSidebar({
    client: new OrcClient(fetch),
    rendermime: null,
    openRun: () => undefined
  });
  document.body.replaceChildren(sidebar.node);
  const q = <T extends HTMLElement>(s: string) => sidebar.node.querySelector<T>(s)!;
  return { sidebar, fetch, q };
}

describe('OrcSidebar.refresh', () => {
  it('asks for the first page of top-level runs and the approvals, and shows both', async () => {
    const { sidebar, fetch, q } = sidebarWith([
      json(200, page([run('r2', { status: 'waiting' }), run('r1')])),
      json(200, { approvals: [approval('r2', 'review')] })
    ]);
    await sidebar.refresh();
    expect(fetch.seen.map(s => s.path).sort()).toEqual([
      'approvals',
      'runs?limit=25&offset=0&top_level=1'
    ]);
    expect(
      [...sidebar.node.querySelectorAll<HTMLElement>('.jp-orc-run')].map(n => n.dataset.runId)
    ).toEqual(['r2', 'r1']);
    expect(q('.jp-orc-approvals').hidden).toBe(false);
    expect(q('.jp-orc-approvals h3').textContent).toBe('Waiting for approval (1)');
    expect(q('.jp-orc-approval').dataset.step).toBe('review');
    expect(q('.jp-orc-message').textContent).toBe('');
  });

  it('keeps an approval card (and its comment) while other approvals come and go', async () => {
    const a = approval('r1', 'review');
    const b = approval('r2', 'check');
    const { sidebar, q } = sidebarWith([
      json(200, page([])),
      json(200, { approvals: [a] }),
      json(200, page([])),
      json(200, { approvals: [b, a] })
    ]);
    await sidebar.refresh();
    const comment = q<HTMLTextAreaElement>('.jp-orc-comment');
    comment.value = 'half typed';
    await sidebar.refresh();
    expect(sidebar.node.querySelectorAll('.jp-orc-approval')).toHaveLength(2);
    expect(q('[data-run-id="r1"] .jp-orc-comment')).toBe(comment);
    expect(comment.value).toBe('half typed');
  });

  it("says why when the server fails, keeps the last list, and clears the message once it's back", async () => {
    const { sidebar, q } = sidebarWith([
      json(200, page([run('r1')])),
      json(200, { approvals: [] }),
      json(503, { message: 'the store is busy: try again', field: null }),
      json(200, { approvals: [] }),
      json(200, page([run('r1')])),
      json(200, { approvals: [] })
    ]);
    await sidebar.refresh();
    await expect(sidebar.refresh()).rejects.toThrow('the store is busy');
    expect(q('.jp-orc-message').textContent).toBe('Cannot load runs: the store is busy: try again');
    expect(sidebar.node.querySelectorAll('.jp-orc-run')).toHaveLength(1);
    await sidebar.refresh();
    expect(q('.jp-orc-message').textContent).toBe('');
  });
});
