/**
 * Maps a stage's params JSON Schema (schemars output) to controls, so no stage needs UI code:
 * a number with both bounds is a slider, without them a number box; a boolean a toggle; an
 * enum a select; a string a text box; anything else an editable JSON box.
 */

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  readOnly?: boolean;
  unit?: string;
  'x-unit'?: string;
  [k: string]: unknown;
};

export type ControlKind = 'slider' | 'number' | 'toggle' | 'select' | 'text' | 'json';

export interface SelectOption {
  value: string | number | boolean | null;
  label: string;
}

export interface ControlSpec {
  key: string;
  kind: ControlKind;
  label: string;
  description?: string;
  unit?: string;
  min?: number;
  max?: number;
  step?: number;
  integer?: boolean;
  options?: SelectOption[];
  default?: unknown;
  nullable: boolean;
  readOnly: boolean;
}

/** `min_area` → `Min area`. */
export function humanize(key: string): string {
  const s = key.replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function resolveRef(ref: string, root: JsonSchema): JsonSchema | undefined {
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) return undefined;
  const defs = m[1] === '$defs' ? root.$defs : root.definitions;
  return defs?.[decodeURIComponent(m[2] ?? '')];
}

interface Resolved {
  schema: JsonSchema;
  nullable: boolean;
}

/** Follows `$ref`, single-element `allOf`, and `anyOf`/`oneOf`/`type` unions with null. */
export function resolve(schema: JsonSchema, root: JsonSchema, depth = 0): Resolved {
  if (depth > 16) return { schema, nullable: false };
  // Sibling keywords (description, default) win over the referenced ones.
  const { $ref, allOf, anyOf, oneOf, ...rest } = schema;
  if ($ref) {
    const target = resolveRef($ref, root);
    if (target) {
      const r = resolve(target, root, depth + 1);
      return { schema: { ...r.schema, ...rest }, nullable: r.nullable };
    }
  }
  if (allOf && allOf.length === 1 && allOf[0]) {
    const r = resolve(allOf[0], root, depth + 1);
    return { schema: { ...r.schema, ...rest }, nullable: r.nullable };
  }
  const union = anyOf ?? oneOf;
  if (union) {
    const nonNull = union.filter((s) => !(s.type === 'null' || (s.const === null && !s.type)));
    const nullable = nonNull.length < union.length;
    if (nonNull.length === 1 && nonNull[0]) {
      const r = resolve(nonNull[0], root, depth + 1);
      return { schema: { ...r.schema, ...rest }, nullable: nullable || r.nullable };
    }
    // A union of constants (schemars' documented enum variants).
    if (nonNull.length > 0 && nonNull.every((s) => 'const' in s || (s.enum && s.enum.length === 1))) {
      const values = nonNull.map((s) => ('const' in s ? s.const : s.enum?.[0]));
      const labels = nonNull.map((s) => s.title ?? s.description);
      return {
        schema: { ...rest, enum: values, 'x-enum-labels': labels },
        nullable,
      };
    }
    return { schema: { ...rest, anyOf, oneOf }, nullable };
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    const nullable = types.length < schema.type.length;
    return {
      schema: { ...schema, type: types.length === 1 ? types[0] : types },
      nullable,
    };
  }
  return { schema, nullable: false };
}

function optionLabel(v: unknown, given: unknown): string {
  if (typeof given === 'string' && given.length > 0 && given.length < 40) return given;
  if (v === null) return '(none)';
  return typeof v === 'string' ? humanize(v) : String(v);
}

/** A step that gives about 200 positions over the range, rounded to 1, 2 or 5 × 10^n. */
export function niceStep(min: number, max: number): number {
  const raw = (max - min) / 200;
  if (!(raw > 0) || !Number.isFinite(raw)) return 0.01;
  const exp = Math.floor(Math.log10(raw));
  const base = raw / 10 ** exp;
  const nice = base <= 1 ? 1 : base <= 2 ? 2 : base <= 5 ? 5 : 10;
  return nice * 10 ** exp;
}

/** Control for one property. */
export function controlFor(key: string, prop: JsonSchema, root: JsonSchema): ControlSpec {
  const { schema: s, nullable } = resolve(prop, root);
  const rootDefault = (root.default as Record<string, unknown> | undefined)?.[key];
  const base: ControlSpec = {
    key,
    kind: 'json',
    label: prop.title ?? s.title ?? humanize(key),
    description: prop.description ?? s.description,
    unit: s.unit ?? s['x-unit'],
    default: s.default !== undefined ? s.default : rootDefault,
    nullable,
    readOnly: s.readOnly === true,
  };
  if (Array.isArray(s.enum) && s.enum.length > 0) {
    const labels = (s['x-enum-labels'] as unknown[] | undefined) ?? [];
    const options = s.enum.map((v, i) => ({
      value: v as SelectOption['value'],
      label: optionLabel(v, labels[i]),
    }));
    if (nullable && !s.enum.includes(null)) options.unshift({ value: null, label: '(none)' });
    return { ...base, kind: 'select', options };
  }
  const type = typeof s.type === 'string' ? s.type : undefined;
  if (type === 'boolean') return { ...base, kind: 'toggle' };
  if (type === 'integer' || type === 'number') {
    const integer = type === 'integer';
    const min = s.minimum ?? s.exclusiveMinimum;
    const max = s.maximum ?? s.exclusiveMaximum;
    const bounded = min !== undefined && max !== undefined && Number.isFinite(min) && Number.isFinite(max) && max > min;
    const step = s.multipleOf ?? (integer ? 1 : bounded ? niceStep(min, max) : undefined);
    // Huge integer ranges (pixel counts) are easier to type than to drag.
    const sliderFriendly = bounded && (!integer || max - min <= 100_000);
    return { ...base, kind: sliderFriendly ? 'slider' : 'number', min, max, step, integer };
  }
  if (type === 'string') return { ...base, kind: 'text' };
  return base;
}

/** Controls for every property of an object schema, in declaration order. */
export function controlsFromSchema(schema: JsonSchema | null | undefined): ControlSpec[] {
  if (!schema) return [];
  const { schema: root } = resolve(schema, schema);
  const props = root.properties ?? {};
  const merged = { ...schema, ...root };
  return Object.entries(props).map(([k, p]) => controlFor(k, p, merged));
}

/** Clamps and rounds a number for a control; NaN when the text is not a number. */
export function coerceNumber(spec: ControlSpec, raw: number | string): number {
  let n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(n)) return Number.NaN;
  if (spec.min !== undefined) n = Math.max(spec.min, n);
  if (spec.max !== undefined) n = Math.min(spec.max, n);
  if (spec.integer) n = Math.round(n);
  return n;
}
