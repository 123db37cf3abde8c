/**
 * Validates JSON against the schemas of docs/*.schema.json with ajv.
 *
 * The schemas are JSON Schema 2020-12; the ajv here is 6 (draft-07: the one npm already installs for
 * eslint). Every keyword the schemas use means the same in both drafts once `$defs` is spelled
 * `definitions`, so {@link toDraft07} renames that and refuses the two constructs whose meaning changed
 * (`$ref` with sibling assertions, the array form of `items`); `strictKeywords` makes any keyword draft-07
 * does not know (a 2020-12 addition such as `prefixItems` or `unevaluatedProperties`) an error rather
 * than something silently not checked.
 */
import fs from 'node:fs';
import Ajv from 'ajv';

type Schema = Record<string, unknown>;

/** What may stand next to `$ref` with the same meaning in both drafts: no assertion, only these. */
const REF_SIBLINGS = new Set(['$ref', '$defs', '$schema', '$id', '$comment', 'title', 'description']);

/** `schema` (2020-12) as draft-07; throws on a construct whose meaning differs between the two. */
export function toDraft07(schema: unknown, at = '$'): unknown {
  if (Array.isArray(schema)) return schema.map((s, i) => toDraft07(s, `${at}[${i}]`));
  if (typeof schema !== 'object' || schema === null) return schema;
  const obj = schema as Schema;
  if (typeof obj['$ref'] === 'string' && Object.keys(obj).some((k) => !REF_SIBLINGS.has(k)))
    throw new Error(`${at}: $ref with sibling keywords means different things in draft-07 and 2020-12`);
  if (Array.isArray(obj['items'])) throw new Error(`${at}: the array form of items is prefixItems in 2020-12`);
  const out: Schema = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === '$schema') continue;
    if (key === '$ref' && typeof value === 'string') out[key] = value.replace(/^#\/\$defs\//, '#/definitions/');
    else out[key === '$defs' ? 'definitions' : key] = toDraft07(value, `${at}.${key}`);
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strictKeywords: true, strictDefaults: true });

/** The problems of `value` against `schema` (empty when valid), each with its JSON path. */
export function validate(value: unknown, schema: Schema): string[] {
  const check = ajv.compile(toDraft07(schema) as Schema);
  if (check(value) === true) return [];
  return (check.errors ?? []).map((e) => `$${e.dataPath}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
}

/** Loads a schema file (relative to the repository root). */
export function loadSchema(file: string): Schema {
  return JSON.parse(fs.readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as Schema;
}
