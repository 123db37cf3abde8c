/**
 * A small JSON Schema validator for the subset docs/*.schema.json use: type (one or a list), enum,
 * properties, required, additionalProperties: false, items, minimum, pattern, oneOf, $ref to #/$defs.
 * An unknown keyword is an error, so a schema cannot quietly use something this does not check.
 */
import fs from 'node:fs';

type Schema = Record<string, unknown>;

const KNOWN = new Set(['$schema', '$id', 'title', 'description', 'type', 'enum', 'properties', 'required', 'additionalProperties', 'items', 'minimum', 'pattern', 'oneOf', '$ref', '$defs']);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

/** The problems of `value` against `schema` (empty when valid), each with its JSON path. */
export function validate(value: unknown, schema: Schema, root: Schema = schema, at = '$'): string[] {
  const errors: string[] = [];
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) errors.push(`${at}: schema keyword '${key}' is not supported by the test validator`);
  if (typeof schema['$ref'] === 'string') {
    const name = /^#\/\$defs\/(.+)$/.exec(schema['$ref'])?.[1];
    const target = name === undefined ? undefined : (root['$defs'] as Record<string, Schema> | undefined)?.[name];
    if (target === undefined) return [`${at}: unresolved $ref ${schema['$ref']}`];
    return validate(value, target, root, at);
  }
  if (Array.isArray(schema['oneOf'])) {
    const passing = (schema['oneOf'] as Schema[]).filter((s) => validate(value, s, root, at).length === 0).length;
    if (passing !== 1) errors.push(`${at}: matches ${passing} of the oneOf alternatives, not exactly 1`);
  }
  if (schema['type'] !== undefined) {
    const types = Array.isArray(schema['type']) ? (schema['type'] as string[]) : [schema['type'] as string];
    if (!types.some((t) => matchesType(value, t))) return [...errors, `${at}: expected ${types.join(' or ')}, got ${typeOf(value)}`];
  }
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema['enum'])}`);
  if (typeof schema['minimum'] === 'number' && typeof value === 'number' && value < schema['minimum']) errors.push(`${at}: ${value} < minimum ${schema['minimum']}`);
  if (typeof schema['pattern'] === 'string' && typeof value === 'string' && !new RegExp(schema['pattern']).test(value)) errors.push(`${at}: '${value}' does not match ${schema['pattern']}`);
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const r of (schema['required'] ?? []) as string[]) if (!(r in obj)) errors.push(`${at}: missing required '${r}'`);
    for (const [k, v] of Object.entries(obj)) {
      const p = props[k];
      if (p !== undefined) errors.push(...validate(v, p, root, `${at}.${k}`));
      else if (schema['additionalProperties'] === false) errors.push(`${at}: unexpected property '${k}'`);
    }
  }
  if (Array.isArray(value) && schema['items'] !== undefined) {
    value.forEach((v, i) => errors.push(...validate(v, schema['items'] as Schema, root, `${at}[${i}]`)));
  }
  return errors;
}

/** Loads a schema file (relative to the repository root). */
export function loadSchema(file: string): Schema {
  return JSON.parse(fs.readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as Schema;
}
