import { describe, expect, it, vi } from 'vitest';

import { OrcClient } from '../src/api';
import { NewRunForm, pipelineLabel } from '../src/newrun';
import { IPipelineInfo } from '../src/types';
import { json, scriptedFetch } from './fixtures';

const GATED: IPipelineInfo = {
  id: 'pipelines/gated.yaml',
  name: 'gated',
  description: 'Draft, review, sign off',
  builtin: false,
  path: 'pipelines/gated.yaml',
  steps: 4,
  approvals: ['review', 'signoff'],
  inputs: [
    {
      name: 'brief',
      type: 'string',
      required: true,
      default: null,
      description: 'what to write',
      choices: null
    },
    {
      name: 'words',
      type: 'integer',
      required: false,
      default: 50,
      description: null,
      choices: null
    },
    { name: 'tags', type: 'array', required: false, default: [], description: null, choices: null }
  ]
};
const PROJECT: IPipelineInfo = {
  ...GATED,
  id: 'project',
  name: 'project',
  builtin: true,
  path: null,
  inputs: []
};

async function opened(answers: Parameters<typeof scriptedFetch>[0]) {
  const fetch = scriptedFetch([json(200, { pipelines: [PROJECT, GATED], errors: [] }), ...answers]);
  const onStarted = vi.fn();
  const form = new NewRunForm({ client: new OrcClient(fetch), onStarted });
  document.body.replaceChildren(form.node);
  await form.open();
  form.choose(GATED.id);
  const q = <T extends HTMLElement>(s: string) => form.node.querySelector<T>(s)!;
  return { form, fetch, onStarted, q };
}

describe('pipelineLabel', () => {
  it('names built-ins and files', () => {
    expect(pipelineLabel(PROJECT)).toBe('project (built-in)');
    expect(pipelineLabel(GATED)).toBe('gated — pipelines/gated.yaml');
  });
});

describe('NewRunForm', () => {
  it('builds the form from the pipeline inputs, prefilled with their defaults', async () => {
    const { q, form } = await opened([]);
    expect(form.isOpen).toBe(true);
    const fields = [...form.node.querySelectorAll<HTMLElement>('.jp-orc-field')];
    expect(fields.map(f => [f.dataset.field, f.className.split('jp-orc-field-')[1]])).toEqual([
      ['brief', 'longtext'],
      ['words', 'integer'],
      ['tags', 'json']
    ]);
    expect(q<HTMLInputElement>('[data-field="words"] input').value).toBe('50');
    expect(q('[data-field="brief"] .jp-orc-file-button').textContent).toBe('Load file…');
    expect(q('.jp-orc-newrun-about').textContent).toBe('Draft, review, sign off');
  });

  it('refuses a missing required input in the page, before asking the server', async () => {
    const { form, fetch, q } = await opened([]);
    await form.submit();
    expect(q('[data-field="brief"] .jp-orc-field-error').textContent).toBe('required');
    expect(fetch.seen.map(s => s.path)).toEqual(['pipelines']);
  });

  it('starts the run with typed inputs and the approval policy', async () => {
    const { form, fetch, q, onStarted } = await opened([
      json(202, { run_id: 'r9', status: 'pending' })
    ]);
    q<HTMLTextAreaElement>('[data-field="brief"] textarea').value = 'Tides';
    q<HTMLSelectElement>('.jp-orc-newrun-approval').value = 'auto';
    await form.submit();
    expect(JSON.parse(fetch.seen[1].body!)).toEqual({
      pipeline: 'pipelines/gated.yaml',
      inputs: { brief: 'Tides', words: 50, tags: [] },
      approval: 'auto'
    });
    expect(onStarted).toHaveBeenCalledWith({ run_id: 'r9', status: 'pending' }, GATED);
    expect(form.isOpen).toBe(false);
  });

  it("shows the server's 400 next to the field it names, or under the form", async () => {
    const { form, q } = await opened([
      json(400, { message: "input 'tags': expected array, got '[1,'", field: 'inputs.tags' }),
      json(400, { message: 'the pipeline does not load', field: 'pipeline' })
    ]);
    q<HTMLTextAreaElement>('[data-field="brief"] textarea').value = 'Tides';
    q<HTMLTextAreaElement>('[data-field="tags"] textarea').value = '[1,';
    await form.submit();
    expect(q('[data-field="tags"] .jp-orc-field-error').textContent).toBe(
      "input 'tags': expected array, got '[1,'"
    );
    const tags = q<HTMLTextAreaElement>('[data-field="tags"] textarea');
    expect(tags.getAttribute('aria-invalid')).toBe('true');
    tags.value = '["tides"]';
    tags.dispatchEvent(new Event('input'));
    expect(q('[data-field="tags"] .jp-orc-field-error').textContent).toBe(''); // changed: cleared
    expect(tags.hasAttribute('aria-invalid')).toBe(false);
    await form.submit();
    expect(q('.jp-orc-newrun > .jp-orc-error').textContent).toBe('the pipeline does not load');
    expect(form.isOpen).toBe(true);
  });
});
