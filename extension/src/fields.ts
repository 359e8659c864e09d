/**
 * Typed form fields, whatever they come from (a pipeline's inputs, a gate's JSON Schema): what
 * control each one gets, and reading a control's text back as a typed value, checked where that
 * is cheap (required, number, integer, JSON, choices, bounds). The server checks everything
 * again; its 400 names the field and is shown next to it.
 */

import { IJsonSchema } from './types';

/** The control: one-line text, long text (a textarea that can load a file), number, checkbox,
 * menu of choices, or JSON text. */
export type FieldKind = 'text' | 'longtext' | 'number' | 'integer' | 'boolean' | 'choice' | 'json';

/** The bounds a control checks before sending, as JSON Schema names them. */
export type Bounds = Pick<
  IJsonSchema,
  | 'minimum'
  | 'maximum'
  | 'exclusiveMinimum'
  | 'exclusiveMaximum'
  | 'minLength'
  | 'maxLength'
  | 'pattern'
>;

export interface IField extends Bounds {
  name: string;
  kind: FieldKind;
  required: boolean;
  default?: unknown;
  description?: string | null;
  choices?: unknown[] | null;
  /** JSON that does not parse is sent as text (the server reads it as JSON or YAML). */
  lenient?: boolean;
}

/** What a control holds: text, or a checkbox's state. */
export type Raw = string | boolean;

/** A value read from a control, or why it cannot be one. `value` undefined: leave it out. */
export type Read = { value?: unknown; error?: undefined } | { error: string };

/** The control's starting text (or checkbox state) for a field's default. */
export function initialRaw(field: IField): Raw {
  const d = field.default;
  if (field.kind === 'boolean') {
    return d === true;
  }
  if (d === undefined || d === null) {
    return '';
  }
  if (field.kind === 'choice') {
    return JSON.stringify(d);
  }
  return typeof d === 'string' ? d : JSON.stringify(d, null, field.kind === 'json' ? 2 : 0);
}

/** Read one control. An empty optional field is left out (its default applies). */
export function readField(field: IField, raw: Raw): Read {
  if (field.kind === 'boolean') {
    return { value: raw === true };
  }
  const text = typeof raw === 'string' ? raw : String(raw);
  if (!text.trim()) {
    return field.required ? { error: 'required' } : {};
  }
  switch (field.kind) {
    case 'number':
    case 'integer':
      return readNumber(field, text.trim());
    case 'choice':
      return readChoice(field, text);
    case 'json':
      return readJson(field, text);
    default:
      return checkText(field, text);
  }
}

/** Read every field: the values to send, and an error per field name (none: all good). */
export function readFields(
  fields: readonly IField[],
  raws: Record<string, Raw>
): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const read = readField(f, raws[f.name] ?? initialRaw(f));
    if (read.error !== undefined) {
      errors[f.name] = read.error;
    } else if (read.value !== undefined) {
      values[f.name] = read.value;
    }
  }
  return { values, errors };
}

function readNumber(field: IField, text: string): Read {
  const value = Number(text);
  if (!Number.isFinite(value)) {
    return { error: `${field.kind === 'integer' ? 'a whole number' : 'a number'}, please` };
  }
  if (field.kind === 'integer' && !Number.isInteger(value)) {
    return { error: 'a whole number, please' };
  }
  const { minimum: min, maximum: max, exclusiveMinimum: xmin, exclusiveMaximum: xmax } = field;
  if (min !== undefined && value < min) {
    return { error: `at least ${min}` };
  }
  if (max !== undefined && value > max) {
    return { error: `at most ${max}` };
  }
  if (xmin !== undefined && value <= xmin) {
    return { error: `more than ${xmin}` };
  }
  if (xmax !== undefined && value >= xmax) {
    return { error: `less than ${xmax}` };
  }
  return { value };
}

function readChoice(field: IField, text: string): Read {
  // a menu's option values are the choices as JSON, so numbers stay numbers
  const choices = field.choices || [];
  const found = choices.find(c => JSON.stringify(c) === text);
  return found === undefined ? { error: 'pick one of the choices' } : { value: found };
}

function readJson(field: IField, text: string): Read {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return field.lenient ? { value: text } : { error: 'not valid JSON' };
  }
}

function checkText(field: IField, text: string): Read {
  if (field.minLength !== undefined && text.length < field.minLength) {
    return { error: `at least ${field.minLength} characters` };
  }
  if (field.maxLength !== undefined && text.length > field.maxLength) {
    return { error: `at most ${field.maxLength} characters (now ${text.length})` };
  }
  if (field.pattern !== undefined) {
    let re: RegExp | null = null;
    try {
      re = new RegExp(field.pattern, 'u');
    } catch {
      re = null; // a pattern JavaScript cannot read: the server checks it
    }
    if (re && !re.test(text)) {
      return { error: `must match ${field.pattern}` };
    }
  }
  return { value: text };
}
