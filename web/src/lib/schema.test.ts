import { describe, expect, it } from 'vitest';
import { coerceNumber, controlsFromSchema, humanize, niceStep, type JsonSchema } from './schema';

// The shape schemars 1 emits for a params struct with defaults, ranges, an enum and options.
const schema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'BlobParams',
  type: 'object',
  properties: {
    threshold: { description: 'Gray level (0–255)', type: 'integer', format: 'uint8', minimum: 0, maximum: 255 },
    invert: { description: 'Find dark blobs', type: 'boolean' },
    min_area: { type: 'integer', format: 'uint32', minimum: 1, maximum: 1000000 },
    max_blobs: { type: 'integer', minimum: 1, maximum: 1024 },
    smoothing: { type: 'number', minimum: 0, maximum: 1 },
    scale: { type: 'number' },
    mode: { $ref: '#/$defs/Mode', description: 'How to pick' },
    reference: { anyOf: [{ $ref: '#/$defs/Reference' }, { type: 'null' }] },
    limit: { type: ['number', 'null'], minimum: 0, maximum: 10 },
    name: { type: 'string' },
    markers: { type: 'array', items: { type: 'object' } },
  },
  default: { threshold: 200, invert: false, min_area: 10, max_blobs: 64, smoothing: 0.5, scale: 1, mode: 'fast', reference: null, limit: null, name: 'x', markers: [] },
  $defs: {
    Mode: { type: 'string', enum: ['fast', 'accurate'] },
    Reference: {
      oneOf: [
        { type: 'string', const: 'horizontal', description: 'Against the horizontal' },
        { type: 'string', const: 'vertical', description: 'Against the vertical' },
      ],
    },
  },
};

describe('controlsFromSchema', () => {
  const controls = controlsFromSchema(schema);
  const by = (k: string) => controls.find((c) => c.key === k)!;

  it('keeps declaration order and labels keys', () => {
    expect(controls.map((c) => c.key)).toEqual(Object.keys(schema.properties!));
    expect(by('min_area').label).toBe('Min area');
    expect(humanize('autoExposure')).toBe('Auto Exposure');
  });

  it('bounded numbers are sliders, integers step by 1', () => {
    expect(by('threshold')).toMatchObject({ kind: 'slider', min: 0, max: 255, step: 1, integer: true, default: 200, description: 'Gray level (0–255)' });
    expect(by('smoothing')).toMatchObject({ kind: 'slider', min: 0, max: 1, step: 0.005, integer: false });
    expect(by('max_blobs').kind).toBe('slider');
  });

  it('unbounded or huge integer ranges are number boxes', () => {
    expect(by('scale')).toMatchObject({ kind: 'number', min: undefined, max: undefined });
    expect(by('min_area')).toMatchObject({ kind: 'number', min: 1, max: 1000000 });
  });

  it('booleans are toggles, strings text, arrays JSON', () => {
    expect(by('invert').kind).toBe('toggle');
    expect(by('name').kind).toBe('text');
    expect(by('markers').kind).toBe('json');
  });

  it('enums (plain, $ref, documented oneOf, nullable) are selects', () => {
    expect(by('mode')).toMatchObject({ kind: 'select', description: 'How to pick', options: [{ value: 'fast', label: 'Fast' }, { value: 'accurate', label: 'Accurate' }] });
    expect(by('reference')).toMatchObject({
      kind: 'select',
      nullable: true,
      options: [
        { value: null, label: '(none)' },
        { value: 'horizontal', label: 'Against the horizontal' },
        { value: 'vertical', label: 'Against the vertical' },
      ],
    });
  });

  it('nullable type arrays keep their kind', () => {
    expect(by('limit')).toMatchObject({ kind: 'slider', nullable: true, min: 0, max: 10 });
  });

  it('handles missing schemas', () => {
    expect(controlsFromSchema(null)).toEqual([]);
    expect(controlsFromSchema({ type: 'object' })).toEqual([]);
  });
});

describe('numbers', () => {
  it('clamps and rounds', () => {
    const spec = controlsFromSchema(schema).find((c) => c.key === 'threshold')!;
    expect(coerceNumber(spec, '300')).toBe(255);
    expect(coerceNumber(spec, -4)).toBe(0);
    expect(coerceNumber(spec, '12.6')).toBe(13);
    expect(coerceNumber(spec, 'abc')).toBeNaN();
  });

  it('nice steps', () => {
    expect(niceStep(0, 24)).toBe(0.2);
    expect(niceStep(1, 1000)).toBe(5);
  });
});
