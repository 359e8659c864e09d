/**
 * A set of typed fields as controls (see fields.ts): a label, the control, a line of help, and
 * an error line under each. Long text can be typed, pasted, or loaded from a file (its contents
 * become the value, shown in the textarea so they can be checked before sending).
 */
import { h, setText } from './dom';
import { IField, initialRaw, Raw, readFields } from './fields';

/** Files larger than this are refused in the page (the server's body limit is near). */
export const MAX_FILE_BYTES = 1_000_000;

interface IControl {
  field: IField;
  input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  error: HTMLElement;
}

export class FieldSet {
  readonly node: HTMLElement;

  constructor(readonly fields: readonly IField[]) {
    this._controls = fields.map(f => control(f));
    for (const c of this._controls) {
      // a changed value is no longer the one the error was about
      const clear = () => {
        setText(c.error, '');
        c.input.removeAttribute('aria-invalid');
      };
      c.input.addEventListener('input', clear);
      c.input.addEventListener('change', clear);
    }
    this.node = h(
      'div',
      { className: 'jp-orc-fields' },
      this._controls.map(c => wrap(c))
    );
  }

  /** Every control's current text (or checkbox state), by field name. */
  raws(): Record<string, Raw> {
    const out: Record<string, Raw> = {};
    for (const { field, input } of this._controls) {
      out[field.name] =
        input instanceof HTMLInputElement && input.type === 'checkbox'
          ? input.checked
          : input.value;
    }
    return out;
  }

  /** The typed values, or null after showing what is wrong next to each field. */
  read(): Record<string, unknown> | null {
    const { values, errors } = readFields(this.fields, this.raws());
    this.clearErrors();
    for (const [name, message] of Object.entries(errors)) {
      this.showError(name, message);
    }
    const first = this._controls.find(c => errors[c.field.name]);
    first?.input.focus();
    return first ? null : values;
  }

  /** Show `message` under the field `name`; false if there is no such field. */
  showError(name: string, message: string): boolean {
    const c = this._controls.find(x => x.field.name === name);
    if (!c) {
      return false;
    }
    setText(c.error, message);
    c.input.setAttribute('aria-invalid', 'true');
    return true;
  }

  clearErrors(): void {
    for (const c of this._controls) {
      setText(c.error, '');
      c.input.removeAttribute('aria-invalid');
    }
  }

  private _controls: IControl[];
}

function control(field: IField): IControl {
  const raw = initialRaw(field);
  const attrs = { className: 'jp-orc-field-input', name: field.name };
  let input: IControl['input'];
  switch (field.kind) {
    case 'boolean':
      input = h('input', { ...attrs, type: 'checkbox' });
      input.checked = raw === true;
      break;
    case 'choice':
      input = h(
        'select',
        attrs,
        field.required ? null : h('option', { value: '' }, '(default)'),
        (field.choices || []).map(c =>
          h('option', { value: JSON.stringify(c) }, typeof c === 'string' ? c : JSON.stringify(c))
        )
      );
      input.value = String(raw);
      break;
    case 'number':
    case 'integer':
      input = h('input', {
        ...attrs,
        type: 'number',
        step: field.kind === 'integer' ? '1' : 'any',
        min: field.minimum,
        max: field.maximum
      });
      input.value = String(raw);
      break;
    case 'longtext':
    case 'json':
      input = h('textarea', {
        ...attrs,
        rows: field.kind === 'json' ? 3 : 6,
        spellcheck: field.kind === 'longtext' ? 'true' : 'false',
        placeholder: field.kind === 'json' ? 'JSON' : 'Type, paste, or load a file'
      });
      input.value = String(raw);
      break;
    default:
      input = h('input', { ...attrs, type: 'text', maxlength: field.maxLength });
      input.value = String(raw);
  }
  return { field, input, error: h('div', { className: 'jp-orc-field-error', role: 'alert' }) };
}

function wrap(c: IControl): HTMLElement {
  const { field, input } = c;
  const label = h(
    'label',
    { className: 'jp-orc-field-label' },
    field.kind === 'boolean' ? input : null,
    field.name,
    field.required ? h('span', { className: 'jp-orc-required', title: 'required' }, ' *') : null
  );
  return h(
    'div',
    { className: `jp-orc-field jp-orc-field-${field.kind}`, 'data-field': field.name },
    h(
      'div',
      { className: 'jp-orc-field-head' },
      label,
      field.kind === 'longtext' ? fileButton(input as HTMLTextAreaElement, c.error) : null
    ),
    field.kind === 'boolean' ? null : input,
    field.description ? h('div', { className: 'jp-orc-field-help' }, field.description) : null,
    c.error
  );
}

/** "Load file…": a file's text becomes the field's value. */
function fileButton(target: HTMLTextAreaElement, error: HTMLElement): HTMLElement {
  const picker = h('input', {
    type: 'file',
    className: 'jp-orc-file-input',
    hidden: true,
    accept: '.md,.txt,.markdown,.rst,.yaml,.yml,.json,.csv,text/*',
    onchange: () => void load()
  });
  const button = h(
    'button',
    {
      type: 'button',
      className: 'jp-Button jp-mod-minimal jp-orc-file-button',
      title: 'Load a text file: its contents become the value',
      onclick: () => picker.click()
    },
    'Load file…'
  );
  async function load(): Promise<void> {
    const file = picker.files && picker.files[0];
    picker.value = '';
    if (!file) {
      return;
    }
    if (file.size > MAX_FILE_BYTES) {
      setText(error, `${file.name} is larger than ${MAX_FILE_BYTES / 1000} kB`);
      return;
    }
    target.value = await file.text();
    target.dataset.file = file.name;
    setText(error, '');
    target.dispatchEvent(new Event('input', { bubbles: true }));
  }
  return h('span', { className: 'jp-orc-file' }, picker, button);
}
