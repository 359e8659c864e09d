/**
 * Where form fields come from: a pipeline's declared inputs (the "New run" form) and a gate's
 * JSON Schema (`input: {schema}`, the approval form). Also which field a server error is about.
 */
import { IField } from './fields';
import { IJsonSchema, IPipelineInput } from './types';

/** Text longer than this (or on several lines) gets a textarea. */
const LONG = 80;

/** The field of one pipeline input. A required text input with no default (what the run is
 * about: requirements, a brief) is long text that can also be loaded from a file. */
export function inputField(input: IPipelineInput): IField {
  const base = {
    name: input.name,
    required: input.required,
    default: input.default,
    description: input.description
  };
  if (input.choices && input.choices.length) {
    return { ...base, kind: 'choice', choices: input.choices };
  }
  switch (input.type) {
    case 'boolean':
      return { ...base, kind: 'boolean' };
    case 'integer':
    case 'number':
      return { ...base, kind: input.type };
    case 'array':
    case 'object':
    case 'any':
      return { ...base, kind: 'json', lenient: true };
    default: {
      const d = typeof input.default === 'string' ? input.default : '';
      const long = (input.required && input.default == null) || d.includes('\n') || d.length > LONG;
      return { ...base, kind: long ? 'longtext' : 'text' };
    }
  }
}

/** The fields of a gate's form: one per property of an object schema, or null when the schema
 * is not a flat object (then the form is one JSON text for the whole value). */
export function schemaFields(schema: IJsonSchema | null | undefined): IField[] | null {
  if (!schema || typeof schema !== 'object' || !schema.properties) {
    return null;
  }
  if (schema.type !== undefined && typeOf(schema) !== 'object') {
    return null;
  }
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties).map(([name, p]) =>
    propertyField(name, p || {}, required)
  );
}

function propertyField(name: string, p: IJsonSchema, required: Set<string>): IField {
  const base: IField = {
    name,
    kind: 'text',
    required: required.has(name),
    default: p.default,
    description: p.description || p.title || null
  };
  if (Array.isArray(p.enum) && p.enum.length) {
    return { ...base, kind: 'choice', choices: p.enum };
  }
  const type = typeOf(p);
  if (type === 'boolean') {
    return { ...base, kind: 'boolean' };
  }
  if (type === 'integer' || type === 'number') {
    return {
      ...base,
      kind: type,
      minimum: p.minimum,
      maximum: p.maximum,
      exclusiveMinimum: p.exclusiveMinimum,
      exclusiveMaximum: p.exclusiveMaximum
    };
  }
  if (type === 'string') {
    const long = (p.maxLength ?? 0) > LONG * 1.5 || p.format === 'textarea';
    return {
      ...base,
      kind: long ? 'longtext' : 'text',
      minLength: p.minLength,
      maxLength: p.maxLength,
      pattern: p.pattern
    };
  }
  return { ...base, kind: 'json' }; // arrays, objects, anything else: typed as JSON
}

/** A schema's type word (the first that is not "null" when it lists several). */
function typeOf(s: IJsonSchema): string | undefined {
  return Array.isArray(s.type) ? s.type.find(t => t !== 'null') : s.type;
}

/**
 * Which field a 400 is about, from its `field` and message: `inputs.<name>` for a run's input,
 * `input` with a message naming `$.<name>` (or a missing required property) for a gate's form.
 * null: the form as a whole.
 */
export function errorField(
  field: string | null,
  message: string,
  names: readonly string[]
): string | null {
  if (field && field.startsWith('inputs.')) {
    const name = field.slice('inputs.'.length);
    return names.includes(name) ? name : null;
  }
  if (field === 'input') {
    const path = /^input: \$\.([^.[:\s]+)/.exec(message);
    if (path && names.includes(path[1])) {
      return path[1];
    }
    const missing = /'([^']+)' is a required property/.exec(message);
    if (missing && names.includes(missing[1])) {
      return missing[1];
    }
  }
  return null;
}
