import { describe, expect, it, vi } from 'vitest';

import { OrcClient } from '../src/api';
import { canCancel, canResume, runActions } from '../src/runactions';
import { json, run, scriptedFetch } from './fixtures';

describe('which runs get Resume and Cancel', () => {
  it('resumes top-level runs that stopped, cancels those still going', () => {
    const states = [
      'waiting',
      'failed',
      'cancelled',
      'budget_exceeded',
      'succeeded',
      'running',
      'pending'
    ] as const;
    expect(states.filter(status => canResume({ status, parent_run_id: null }))).toEqual([
      'waiting',
      'failed',
      'cancelled',
      'budget_exceeded'
    ]);
    expect(states.filter(status => canCancel({ status, parent_run_id: null }))).toEqual([
      'waiting',
      'running',
      'pending'
    ]);
    // a sub-pipeline run is controlled through its outermost run
    expect(canResume({ status: 'failed', parent_run_id: 'top' })).toBe(false);
    expect(canCancel({ status: 'running', parent_run_id: 'top' })).toBe(false);
  });
});

describe('runActions', () => {
  it('posts a resume and says the run changed', async () => {
    const fetch = scriptedFetch([
      json(202, { run_id: 'r1', status: 'pending', previous: 'failed' })
    ]);
    const changed = vi.fn();
    const [resume] = runActions({ client: new OrcClient(fetch), changed });
    resume.run(run('r1', { status: 'failed' }));
    await vi.waitFor(() => expect(changed).toHaveBeenCalledWith('r1'));
    expect(fetch.seen).toEqual([{ path: 'runs/r1/resume', method: 'POST', body: '{}' }]);
  });

  it('cancels only once confirmed', async () => {
    const fetch = scriptedFetch([json(200, { run_id: 'r1', status: 'cancelled' })]);
    const changed = vi.fn();
    const answers = [false, true];
    const confirm = vi.fn(() => Promise.resolve(answers.shift()!));
    const [, cancel] = runActions({ client: new OrcClient(fetch), changed, confirm });
    cancel.run(run('r1', { status: 'running' }));
    await vi.waitFor(() => expect(confirm).toHaveBeenCalledTimes(1));
    expect(fetch.seen).toEqual([]);
    cancel.run(run('r1', { status: 'running' }));
    await vi.waitFor(() => expect(changed).toHaveBeenCalledWith('r1'));
    expect(fetch.seen).toEqual([{ path: 'runs/r1/cancel', method: 'POST', body: '{}' }]);
  });

  it('refreshes even when the server refuses (the run moved on meanwhile)', async () => {
    const fetch = scriptedFetch([
      json(409, { message: 'run r1 cannot be resumed: it is still running' })
    ]);
    const changed = vi.fn();
    const [resume] = runActions({ client: new OrcClient(fetch), changed });
    resume.run(run('r1', { status: 'waiting' }));
    await vi.waitFor(() => expect(changed).toHaveBeenCalledWith('r1'));
  });
});
