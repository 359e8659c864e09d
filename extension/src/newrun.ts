/**
 * "New run": pick a pipeline the server can start (GET pipelines), fill the form made from its
 * typed inputs, choose what its approval steps do, Start (POST runs). The run starts in a worker
 * process of the server; a 400 is shown next to the field it names.
 */
import { OrcApiError, OrcClient } from './api';
import { h, setText } from './dom';
import { FieldSet } from './fieldset';
import { errorField, inputField } from './formfields';
import { ApprovalPolicy, IPipelineInfo, IStarted } from './types';

export interface INewRunOptions {
  client: OrcClient;
  onStarted: (started: IStarted, pipeline: IPipelineInfo) => void;
}

const POLICIES: [ApprovalPolicy, string][] = [
  ['defer', 'wait for a decision (defer)'],
  ['auto', 'approve automatically (auto)'],
  ['reject', 'reject (reject)'],
  ['fail', 'fail the run (fail)']
];

/** How a pipeline is named in the menu: its name, and where it comes from. */
export function pipelineLabel(p: IPipelineInfo): string {
  return p.builtin ? `${p.name} (built-in)` : `${p.name} — ${p.id}`;
}

export class NewRunForm {
  readonly node: HTMLElement;

  constructor(private options: INewRunOptions) {
    this._pipeline = h('select', {
      className: 'jp-orc-newrun-pipeline',
      'aria-label': 'Pipeline',
      onchange: () => this.choose(this._pipeline.value)
    });
    this._about = h('div', { className: 'jp-orc-field-help jp-orc-newrun-about' });
    this._fields = h('div', { className: 'jp-orc-newrun-fields' });
    this._approval = h(
      'select',
      { className: 'jp-orc-newrun-approval', 'aria-label': 'Approval steps' },
      POLICIES.map(([value, label]) => h('option', { value }, label))
    );
    this._error = h('div', { className: 'jp-orc-error', role: 'alert' });
    this._start = h(
      'button',
      { type: 'submit', className: 'jp-Button jp-mod-styled jp-mod-accept jp-orc-newrun-start' },
      'Start'
    );
    this._broken = h('div', { className: 'jp-orc-muted jp-orc-newrun-broken' });
    this.node = h(
      'form',
      {
        className: 'jp-orc-newrun',
        hidden: true,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.submit();
        }
      },
      h('h3', {}, 'New run'),
      h('label', { className: 'jp-orc-field-label' }, 'Pipeline'),
      this._pipeline,
      this._about,
      this._fields,
      h('label', { className: 'jp-orc-field-label' }, 'Approval steps'),
      this._approval,
      this._error,
      h(
        'div',
        { className: 'jp-orc-buttons' },
        this._start,
        h(
          'button',
          {
            type: 'button',
            className: 'jp-Button jp-mod-styled jp-orc-newrun-close',
            onclick: () => this.close()
          },
          'Close'
        )
      ),
      this._broken
    );
  }

  get isOpen(): boolean {
    return !this.node.hidden;
  }

  /** Show the form with the server's pipelines as they are now. */
  async open(): Promise<void> {
    this.node.hidden = false;
    setText(this._error, '');
    try {
      const { pipelines, errors } = await this.options.client.listPipelines();
      this._list = pipelines;
      const keep = this._chosen && pipelines.some(p => p.id === this._chosen?.id);
      this._pipeline.replaceChildren(
        ...pipelines.map(p => h('option', { value: p.id }, pipelineLabel(p)))
      );
      setText(
        this._broken,
        errors.length ? `Not listed (cannot be read): ${errors.map(e => e.path).join(', ')}` : ''
      );
      this._broken.title = errors.map(e => e.message).join('\n');
      if (!pipelines.length) {
        setText(this._error, 'No pipelines: put a pipeline YAML file under the server root.');
      }
      this.choose(keep ? this._chosen!.id : (pipelines[0]?.id ?? ''));
    } catch (e) {
      setText(this._error, `Cannot list pipelines: ${message(e)}`);
    }
  }

  close(): void {
    this.node.hidden = true;
  }

  /** Select a pipeline and build its form (kept while the same pipeline stays selected). */
  choose(id: string): void {
    const p = this._list.find(x => x.id === id) ?? null;
    this._pipeline.value = id;
    if (p && this._chosen && p.id === this._chosen.id && this._form) {
      this._chosen = p;
      return;
    }
    this._chosen = p;
    this._form = p ? new FieldSet(p.inputs.map(inputField)) : null;
    this._fields.replaceChildren(...(this._form ? [this._form.node] : []));
    setText(this._about, p ? p.description || '' : '');
    this._start.disabled = !p;
  }

  async submit(): Promise<void> {
    const p = this._chosen;
    const form = this._form;
    setText(this._error, '');
    if (!p || !form) {
      return;
    }
    const inputs = form.read();
    if (!inputs) {
      setText(this._error, 'Fix the fields marked above.');
      return;
    }
    this._start.disabled = true;
    try {
      const started = await this.options.client.startRun({
        pipeline: p.id,
        inputs,
        approval: this._approval.value as ApprovalPolicy
      });
      this.close();
      this.options.onStarted(started, p);
    } catch (e) {
      const field =
        e instanceof OrcApiError
          ? errorField(
              e.field,
              e.message,
              form.fields.map(f => f.name)
            )
          : null;
      if (!(field && form.showError(field, message(e)))) {
        setText(this._error, message(e));
      }
    } finally {
      this._start.disabled = false;
    }
  }

  private _list: IPipelineInfo[] = [];
  private _chosen: IPipelineInfo | null = null;
  private _form: FieldSet | null = null;
  private _pipeline: HTMLSelectElement;
  private _about: HTMLElement;
  private _fields: HTMLElement;
  private _approval: HTMLSelectElement;
  private _error: HTMLElement;
  private _start: HTMLButtonElement;
  private _broken: HTMLElement;
}

function message(e: unknown): string {
  return e instanceof OrcApiError ? e.message : String(e);
}
