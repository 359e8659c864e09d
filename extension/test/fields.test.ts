import { describe, expect, it } from 'vitest';

import { IField, initialRaw, readField, readFields } from '../src/fields';
import { errorField, inputField, schemaFields } from '../src/formfields';
import { IPipelineInput } from '../src/types';

function input(over: Partial<IPipelineInput>): IPipelineInput {
  return {
    name: 'x',
    type: 'string',
    required: false,
    default: null,
    description: null,
    choices: null,
    ...over
  };
}

describe('inputField', () => {
  it('gives each declared type its control', () => {
    const kind = (over: Partial<IPipelineInput>) => inputField(input(over)).kind;
    expect(kind({ type: 'string', required: true })).toBe('longtext'); // what the run is about
    expect(kind({ type: 'string', default: 'project' })).toBe('text');
    expect(kind({ type: 'string', default: 'line one\nline two' })).toBe('longtext');
    expect(kind({ type: 'integer', default: 3 })).toBe('integer');
    expect(kind({ type: 'number' })).toBe('number');
    expect(kind({ type: 'boolean', default: false })).toBe('boolean');
    expect(kind({ type: 'array', default: [] })).toBe('json');
    expect(kind({ type: 'integer', choices: [1, 2] })).toBe('choice');
    expect(inputField(input({ type: 'object' })).lenient).toBe(true);
  });
});

describe('readField', () => {
  const f = (over: Partial<IField>): IField => ({
    name: 'x',
    kind: 'text',
    required: false,
    ...over
  });

  it('leaves out an empty optional field and refuses an empty required one', () => {
    expect(readField(f({}), '  ')).toEqual({});
    expect(readField(f({ required: true }), '')).toEqual({ error: 'required' });
    expect(readField(f({ kind: 'boolean', required: true }), false)).toEqual({ value: false });
  });

  it('reads numbers, whole numbers and their bounds', () => {
    expect(readField(f({ kind: 'integer' }), '42')).toEqual({ value: 42 });
    expect(readField(f({ kind: 'integer' }), '4.5').error).toMatch(/whole number/);
    expect(readField(f({ kind: 'number' }), 'abc').error).toMatch(/a number/);
    expect(readField(f({ kind: 'number' }), '0.25')).toEqual({ value: 0.25 });
    expect(readField(f({ kind: 'integer', minimum: 1, maximum: 5 }), '9').error).toBe('at most 5');
    expect(readField(f({ kind: 'integer', minimum: 1 }), '0').error).toBe('at least 1');
    expect(readField(f({ kind: 'number', exclusiveMinimum: 0 }), '0').error).toBe('more than 0');
  });

  it('reads choices back as the values they stand for', () => {
    const field = f({ kind: 'choice', choices: [1, 'two'] });
    expect(readField(field, '1')).toEqual({ value: 1 });
    expect(readField(field, '"two"')).toEqual({ value: 'two' });
    expect(readField(field, '"three"').error).toMatch(/choices/);
  });

  it('parses JSON, leniently for pipeline inputs (the server reads YAML too)', () => {
    expect(readField(f({ kind: 'json' }), '[1, 2]')).toEqual({ value: [1, 2] });
    expect(readField(f({ kind: 'json' }), '[1,')).toEqual({ error: 'not valid JSON' });
    expect(readField(f({ kind: 'json', lenient: true }), '- a\n- b')).toEqual({
      value: '- a\n- b'
    });
  });

  it('checks text length and pattern', () => {
    expect(readField(f({ minLength: 3 }), 'ab').error).toBe('at least 3 characters');
    expect(readField(f({ maxLength: 2 }), 'abc').error).toMatch(/at most 2 characters/);
    expect(readField(f({ pattern: '^[a-z]+$' }), 'Ada').error).toBe('must match ^[a-z]+$');
    expect(readField(f({ pattern: '(?<=x' }), 'Ada')).toEqual({ value: 'Ada' }); // the server checks it
  });
});

describe('readFields and initialRaw', () => {
  it('starts from the defaults and collects values and errors by name', () => {
    const fields: IField[] = [
      { name: 'brief', kind: 'longtext', required: true },
      { name: 'words', kind: 'integer', required: false, default: 50 },
      { name: 'tags', kind: 'json', required: false, default: ['a'] },
      { name: 'formal', kind: 'boolean', required: false, default: true }
    ];
    expect(fields.map(initialRaw)).toEqual(['', '50', '[\n  "a"\n]', true]);
    expect(readFields(fields, { brief: '', words: 'x' }).errors).toEqual({
      brief: 'required',
      words: 'a whole number, please'
    });
    expect(readFields(fields, { brief: 'Tides', words: '' })).toEqual({
      values: { brief: 'Tides', tags: ['a'], formal: true },
      errors: {}
    });
  });
});

describe('schemaFields', () => {
  it('makes one field per property of an object schema', () => {
    const fields = schemaFields({
      type: 'object',
      required: ['owner', 'priority'],
      properties: {
        owner: { type: 'string', minLength: 1, description: 'who signs off' },
        priority: { type: 'integer', minimum: 1, maximum: 5 },
        urgent: { type: 'boolean', default: false },
        level: { enum: ['low', 'high'] },
        notes: { type: ['string', 'null'], maxLength: 2000 },
        links: { type: 'array' }
      }
    })!;
    expect(fields.map(f => [f.name, f.kind, f.required])).toEqual([
      ['owner', 'text', true],
      ['priority', 'integer', true],
      ['urgent', 'boolean', false],
      ['level', 'choice', false],
      ['notes', 'longtext', false],
      ['links', 'json', false]
    ]);
    expect(fields[0].description).toBe('who signs off');
    expect([fields[1].minimum, fields[1].maximum]).toEqual([1, 5]);
  });

  it('gives no fields for a schema that is not a flat object', () => {
    expect(schemaFields({ type: 'array' })).toBeNull();
    expect(schemaFields({ type: 'object' })).toBeNull();
    expect(schemaFields(null)).toBeNull();
  });
});

describe('errorField', () => {
  const names = ['owner', 'priority', 'tags'];
  it('finds the field a 400 is about', () => {
    expect(errorField('inputs.tags', "input 'tags': expected array", names)).toBe('tags');
    expect(errorField('inputs.other', 'x', names)).toBeNull();
    expect(
      errorField('input', 'input: $.priority: 9 is greater than the maximum of 5 (...)', names)
    ).toBe('priority');
    expect(errorField('input', "input: $: 'owner' is a required property", names)).toBe('owner');
    expect(errorField('input', 'input: this gate has no form', names)).toBeNull();
    expect(errorField('pipeline', 'no pipeline', names)).toBeNull();
  });
});
