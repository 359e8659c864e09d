/**
 * Step outputs, rendered: text as Markdown (through JupyterLab's sanitizing renderer), lists of
 * records as tables, anything else as indented JSON.
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';

import { h } from './dom';

const MAX_ROWS = 50;
const MAX_TEXT = 20000;

export function renderOutput(value: unknown, rendermime: IRenderMimeRegistry | null): HTMLElement {
  if (value === null || value === undefined) {
    return h('div', { className: 'jp-orc-output jp-orc-output-empty' }, 'no output');
  }
  if (typeof value === 'string') {
    return markdown(value, rendermime);
  }
  if (isRecordList(value)) {
    return table(value);
  }
  if (Array.isArray(value) && value.length && value.every(v => typeof v === 'string')) {
    return h(
      'ol',
      { className: 'jp-orc-output jp-orc-output-list', start: 0 },
      value.slice(0, MAX_ROWS).map(v => h('li', {}, markdown(String(v), rendermime)))
    );
  }
  return h(
    'pre',
    { className: 'jp-orc-output jp-orc-output-json' },
    clip(JSON.stringify(value, null, 2))
  );
}

export function markdown(text: string, rendermime: IRenderMimeRegistry | null): HTMLElement {
  const host = h('div', { className: 'jp-orc-output jp-orc-output-markdown' });
  if (!rendermime) {
    host.appendChild(h('pre', {}, clip(text)));
    return host;
  }
  const renderer = rendermime.createRenderer('text/markdown');
  const model = new MimeModel({
    data: { 'text/markdown': clip(text) },
    trusted: false
  });
  renderer
    .renderModel(model)
    .then(() => host.appendChild(renderer.node))
    .catch(() => host.appendChild(h('pre', {}, clip(text))));
  return host;
}

function isRecordList(value: unknown): value is Record<string, unknown>[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(v => v !== null && typeof v === 'object' && !Array.isArray(v))
  );
}

function table(rows: Record<string, unknown>[]): HTMLElement {
  const columns: string[] = [];
  for (const row of rows.slice(0, MAX_ROWS)) {
    for (const key of Object.keys(row)) {
      if (!columns.includes(key)) {
        columns.push(key);
      }
    }
  }
  const cell = (v: unknown) =>
    typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
  return h(
    'div',
    { className: 'jp-orc-output jp-orc-output-table' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map(c => h('th', {}, c))
        )
      ),
      h(
        'tbody',
        {},
        rows.slice(0, MAX_ROWS).map(r =>
          h(
            'tr',
            {},
            columns.map(c => h('td', {}, cell(r[c])))
          )
        )
      )
    ),
    rows.length > MAX_ROWS
      ? h('div', { className: 'jp-orc-muted' }, `${rows.length - MAX_ROWS} more rows`)
      : null
  );
}

export function clip(text: string): string {
  return text.length > MAX_TEXT
    ? `${text.slice(0, MAX_TEXT)}\n… (${text.length - MAX_TEXT} more characters)`
    : text;
}
