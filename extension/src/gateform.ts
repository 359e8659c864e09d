/**
 * The form of a gate with `input: {schema}`: one field per property of its JSON Schema (or one
 * JSON text when the schema is not a flat object). Approving sends its values as `input`; they
 * are checked here where that is cheap, and the server's 400 is shown next to the field.
 */
import { OrcApiError } from './api';
import { h, setText } from './dom';
import { IField } from './fields';
import { FieldSet } from './fieldset';
import { errorField, schemaFields } from './formfields';
import { IJsonSchema } from './types';

/** The field for a whole value when the schema gives no properties to make a form of. */
const WHOLE: IField = { name: 'input', kind: 'json', required: true, description: 'a JSON object' };

export class GateForm {
  readonly node: HTMLElement;

  constructor(schema: IJsonSchema) {
    const fields = schemaFields(schema);
    this._whole = fields === null;
    this._set = new FieldSet(fields ?? [WHOLE]);
    this._error = h('div', { className: 'jp-orc-field-error', role: 'alert' });
    this.node = h(
      'div',
      { className: 'jp-orc-gate-form' },
      schema.title || schema.description
        ? h('div', { className: 'jp-orc-field-help' }, schema.title || schema.description)
        : null,
      this._set.node,
      this._error
    );
  }

  /** The form's values as the gate's `input`, or null after showing what is wrong. */
  read(): Record<string, unknown> | null {
    setText(this._error, '');
    const values = this._set.read();
    if (values === null) {
      return null;
    }
    if (!this._whole) {
      return values;
    }
    const whole = values[WHOLE.name];
    if (whole === null || typeof whole !== 'object' || Array.isArray(whole)) {
      this._set.showError(WHOLE.name, 'a JSON object, please');
      return null;
    }
    return whole as Record<string, unknown>;
  }

  /** Show a server error about `input` by its field (or under the form); true if it was one. */
  showError(e: OrcApiError): boolean {
    if (e.field !== 'input') {
      return false;
    }
    const names = this._set.fields.map(f => f.name);
    const field = this._whole ? WHOLE.name : errorField(e.field, e.message, names);
    if (!(field && this._set.showError(field, e.message))) {
      setText(this._error, e.message);
    }
    return true;
  }

  private _whole: boolean;
  private _set: FieldSet;
  private _error: HTMLElement;
}
