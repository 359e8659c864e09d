import { describe, expect, it, vi } from 'vitest';

import { OrcClient } from '../src/api';
import { editedValue } from '../src/approvaledit';
import { approvalCard } from '../src/approvals';
import { IApproval } from '../src/types';
import { approval, json, scriptedFetch } from './fixtures';

describe('editedValue', () => {
  it('sends text as text and structured content as data', () => {
    expect(editedValue('Tides rise.', 'Tides rise twice a day.')).toEqual({
      value: 'Tides rise twice a day.'
    });
    expect(editedValue('{\n  "a": 1\n}', '{"a": 2}')).toEqual({ value: { a: 2 } });
    expect(editedValue('[1]', '[1,').error).toMatch(/keep it valid JSON/);
    expect(editedValue('[not json', '[still text')).toEqual({ value: '[still text' });
    expect(editedValue('x', '  ').error).toMatch(/empty/);
  });
});

function card(a: IApproval, answers: Parameters<typeof scriptedFetch>[0]) {
  const fetch = scriptedFetch(answers);
  const onDecided = vi.fn();
  const node = approvalCard(a, { client: new OrcClient(fetch), rendermime: null, onDecided });
  document.body.replaceChildren(node);
  const q = <T extends HTMLElement>(s: string) => node.querySelector<T>(s)!;
  return { node, fetch, onDecided, q };
}

const DECIDED = {
  run_id: 'r1',
  step_id: 's',
  round: 1,
  decision: 'approved',
  live: false,
  next: 'orc resume r1'
};

describe('approval card: edit', () => {
  it('approves with the edited content, prefilled with the content under review', async () => {
    const a = { ...approval('r1', 'review'), show: 'Tides rise.', revise: 'draft', editable: true };
    const { q, fetch, onDecided } = card(a, [json(201, DECIDED)]);
    expect(q('.jp-orc-edit').hidden).toBe(true);
    q('.jp-orc-edit-toggle').click();
    expect(q('.jp-orc-edit').hidden).toBe(false);
    const text = q<HTMLTextAreaElement>('.jp-orc-edit-text');
    expect(text.value).toBe('Tides rise.');
    text.value = 'Tides rise twice a day.';
    q('.jp-orc-approve-edited').click();
    await vi.waitFor(() => expect(onDecided).toHaveBeenCalled());
    expect(JSON.parse(fetch.seen[0].body!)).toEqual({
      run_id: 'r1',
      step_id: 'review',
      decision: 'approve',
      comment: null,
      edited: 'Tides rise twice a day.'
    });
  });

  it('has no Edit when the gate reviews no step output', () => {
    const { node } = card(approval('r1', 'review'), []);
    expect(node.querySelector('.jp-orc-edit-toggle')).toBeNull();
  });
});

describe('approval card: a gate with a form', () => {
  const gate = {
    ...approval('r1', 'signoff'),
    input_schema: {
      type: 'object',
      required: ['owner', 'priority'],
      properties: {
        owner: { type: 'string' },
        priority: { type: 'integer', minimum: 1, maximum: 5 }
      }
    }
  };

  it('checks the form in the page, then sends it as input', async () => {
    const { q, fetch, onDecided } = card(gate, [json(201, DECIDED)]);
    q<HTMLInputElement>('[data-field="priority"] input').value = '9';
    q('.jp-orc-approve').click();
    expect(q('[data-field="owner"] .jp-orc-field-error').textContent).toBe('required');
    expect(q('[data-field="priority"] .jp-orc-field-error').textContent).toBe('at most 5');
    expect(fetch.seen).toEqual([]);
    q<HTMLInputElement>('[data-field="owner"] input').value = 'ada';
    q<HTMLInputElement>('[data-field="priority"] input').value = '2';
    q('.jp-orc-approve').click();
    await vi.waitFor(() => expect(onDecided).toHaveBeenCalled());
    expect((JSON.parse(fetch.seen[0].body!) as { input: unknown }).input).toEqual({
      owner: 'ada',
      priority: 2
    });
  });

  it("shows the server's objection next to the field", async () => {
    const { q, onDecided } = card(gate, [
      json(400, {
        message: "input: $.owner: 'x' is too short (this gate's form has: owner, priority)",
        field: 'input'
      })
    ]);
    q<HTMLInputElement>('[data-field="owner"] input').value = 'x';
    q<HTMLInputElement>('[data-field="priority"] input').value = '2';
    q('.jp-orc-approve').click();
    await vi.waitFor(() =>
      expect(q('[data-field="owner"] .jp-orc-field-error').textContent).toMatch(/too short/)
    );
    expect(onDecided).not.toHaveBeenCalled();
    expect(q<HTMLButtonElement>('.jp-orc-approve').disabled).toBe(false);
  });
});
