// JSON <-> protobuf as a Mesos agent does it, over the schema subset in mesos-proto.ts:
// - parseJsonLikePicojson: the agent's JSON::parse (picojson): no NaN/Infinity literals, a lone
//   UTF-16 surrogate escape is an error (JSON.parse would accept it).
// - parseMessage: stout's protobuf::parse<T> (3rdparty/stout/include/stout/protobuf.hpp:415-755):
//   fields by proto name only, unknown names ignored, null = unset, enums by NAME only (a number
//   is an error; an unknown name is an error for a required field and silently dropped for an
//   optional one), bytes through stout's base64::decode, numbers and booleans may come as
//   strings, then IsInitialized() -> "Missing required fields: a.b, c".
// - writeMessage: stout's JSON::Protobuf (protobuf.hpp:833-990): declaration order, set fields
//   plus unset optional ones with a non-deprecated [default], bytes as standard padded base64,
//   enums by name.
// A parsed message is a plain object holding only set fields; bytes are Uint8Array.
import { resolveType, type FieldSpec } from './mesos-proto.js';

export type ProtoMessage = { [field: string]: unknown };
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

// ---- picojson ----

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Parses like stout's JSON::parse (picojson underneath); errors are strings. */
export function parseJsonLikePicojson(text: string): Parsed<unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const bad = findLoneSurrogate(value);
  return bad === undefined ? { ok: true, value } : { ok: false, error: `syntax error at line 1 near: ${bad}` };
}

function findLoneSurrogate(value: unknown): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? JSON.stringify(value) : undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const bad = findLoneSurrogate(item);
      if (bad !== undefined) return bad;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const bad = findLoneSurrogate(key) ?? findLoneSurrogate(item);
      if (bad !== undefined) return bad;
    }
  }
  return undefined;
}

// ---- stout base64 (3rdparty/stout/include/stout/base64.hpp) ----

const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const SPACE = new Set([' ', '\t', '\n', '\v', '\f', '\r']);

/** stout's base64::decode: stops at the first '=', skips whitespace, refuses other characters. */
export function stoutBase64Decode(text: string): Parsed<Uint8Array> {
  const out: number[] = [];
  const quad: number[] = [];
  for (const c of text) {
    if (c === '=') break;
    if (SPACE.has(c)) continue;
    const v = STANDARD.indexOf(c);
    if (v < 0 || c.length !== 1) return { ok: false, error: `Invalid character '${c}'` };
    quad.push(v);
    if (quad.length === 4) {
      out.push(((quad[0] as number) << 2) | ((quad[1] as number) >> 4), (((quad[1] as number) & 0xf) << 4) | ((quad[2] as number) >> 2),
        (((quad[2] as number) & 0x3) << 6) | (quad[3] as number));
      quad.length = 0;
    }
  }
  if (quad.length > 0) {
    const n = quad.length;
    while (quad.length < 4) quad.push(0);
    const bytes = [((quad[0] as number) << 2) | ((quad[1] as number) >> 4), (((quad[1] as number) & 0xf) << 4) | ((quad[2] as number) >> 2)];
    for (let j = 0; j < n - 1; j++) out.push((bytes[j] as number) & 0xff);
  }
  return { ok: true, value: Uint8Array.from(out, (b) => b & 0xff) };
}

// ---- JSON -> protobuf ----

class ParseError extends Error {}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** stout's protobuf::parse<T>(JSON::Value) for the message `type`. */
export function parseMessage(type: string, json: unknown): Parsed<ProtoMessage> {
  if (!isObject(json)) return { ok: false, error: 'Expecting a JSON object' };
  const kind = resolveType(type);
  if (kind.kind !== 'message') throw new Error(`stout-json: '${type}' is not a message`);
  const message: ProtoMessage = {};
  try {
    parseInto(message, kind.fields, json);
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, error: err.message };
    throw err;
  }
  const missing = missingRequired(kind.fields, message, '');
  if (missing.length > 0) return { ok: false, error: `Missing required fields: ${missing.join(', ')}` };
  return { ok: true, value: message };
}

function parseInto(message: ProtoMessage, fields: readonly FieldSpec[], json: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(json)) {
    const field = fields.find((f) => f.name === name);
    if (field !== undefined) apply(message, field, value);
  }
}

function store(message: ProtoMessage, field: FieldSpec, value: unknown): void {
  if (field.label === 'repeated') {
    const list = (message[field.name] as unknown[] | undefined) ?? [];
    list.push(value);
    message[field.name] = list;
  } else {
    message[field.name] = value;
  }
}

function apply(message: ProtoMessage, field: FieldSpec, value: unknown): void {
  const name = field.name;
  const kind = resolveType(field.type);
  if (value === null) return;
  if (Array.isArray(value)) {
    if (field.label !== 'repeated' && field.label !== 'map') throw new ParseError(`Not expecting a JSON array for field '${name}'`);
    for (const item of value) apply(message, field, item);
    return;
  }
  if (isObject(value)) {
    if (kind.kind !== 'message') throw new ParseError(`Not expecting a JSON object for field '${name}'`);
    if (field.label === 'map') {
      const entries = (message[name] as Record<string, ProtoMessage> | undefined) ?? {};
      for (const [key, item] of Object.entries(value)) {
        if (item === null) continue;
        if (!isObject(item)) throw new ParseError(`Not expecting a JSON ${jsonKind(item)} for field 'value'`);
        const entry: ProtoMessage = {};
        parseInto(entry, kind.fields, item);
        entries[key] = entry;
      }
      message[name] = entries;
      return;
    }
    const sub: ProtoMessage = field.label === 'repeated' ? {} : ((message[name] as ProtoMessage | undefined) ?? {});
    parseInto(sub, kind.fields, value);
    store(message, field, sub);
    return;
  }
  if (typeof value === 'string') return applyString(message, field, value);
  if (typeof value === 'number') {
    if (kind.kind !== 'scalar' || !isNumeric(kind.type)) throw new ParseError(`Not expecting a JSON number for field '${name}'`);
    return store(message, field, toNumber(kind.type, value));
  }
  if (typeof value === 'boolean') {
    if (kind.kind !== 'scalar' || kind.type !== 'bool') throw new ParseError(`Not expecting a JSON boolean for field '${name}'`);
    return store(message, field, value);
  }
}

function applyString(message: ProtoMessage, field: FieldSpec, text: string): void {
  const name = field.name;
  const kind = resolveType(field.type);
  if (kind.kind === 'enum') {
    if (kind.values.includes(text)) return store(message, field, text);
    if (field.label === 'required') throw new ParseError(`Failed to find enum for '${text}'`);
    return; // proto2: an unknown value of an optional enum is dropped
  }
  if (kind.kind === 'message') throw new ParseError(`Not expecting a JSON string for field '${name}'`);
  switch (kind.type) {
    case 'string':
      return store(message, field, text);
    case 'bytes': {
      const bytes = stoutBase64Decode(text);
      if (!bytes.ok) throw new ParseError(`Failed to base64 decode bytes field '${name}': ${bytes.error}`);
      return store(message, field, bytes.value);
    }
    case 'bool': {
      const parsed = parseJsonLikePicojson(text);
      if (!parsed.ok || typeof parsed.value !== 'boolean') {
        throw new ParseError(`Failed to parse '${text}' as a JSON boolean for field '${name}'`);
      }
      return store(message, field, parsed.value);
    }
    default: {
      if (kind.type === 'double' && (text === 'Infinity' || text === '-Infinity')) {
        return store(message, field, text === 'Infinity' ? Infinity : -Infinity);
      }
      const parsed = parseJsonLikePicojson(text);
      if (!parsed.ok || typeof parsed.value !== 'number') {
        throw new ParseError(`Failed to parse '${text}' as a JSON number for field '${name}'`);
      }
      return store(message, field, toNumber(kind.type, parsed.value));
    }
  }
}

function isNumeric(type: string): boolean {
  return type === 'double' || type === 'int32' || type === 'int64' || type === 'uint64';
}

/** JSON::Number::as<T>(): integer fields truncate (a C++ cast). */
function toNumber(type: string, value: number): number {
  return type === 'double' ? value : Math.trunc(value);
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  return value === null ? 'null' : typeof value;
}

/** protobuf's InitializationErrorString(): the paths of unset required fields. */
function missingRequired(fields: readonly FieldSpec[], message: ProtoMessage, prefix: string): string[] {
  const out: string[] = [];
  for (const field of fields) {
    const value = message[field.name];
    if (value === undefined) {
      if (field.label === 'required') out.push(prefix + field.name);
      continue;
    }
    const kind = resolveType(field.type);
    if (kind.kind !== 'message') continue;
    if (field.label === 'repeated') {
      (value as ProtoMessage[]).forEach((item, i) => out.push(...missingRequired(kind.fields, item, `${prefix}${field.name}[${i}].`)));
    } else if (field.label === 'map') {
      Object.values(value as Record<string, ProtoMessage>).forEach((item, i) =>
        out.push(...missingRequired(kind.fields, item, `${prefix}${field.name}[${i}].value.`)));
    } else {
      out.push(...missingRequired(kind.fields, value as ProtoMessage, `${prefix}${field.name}.`));
    }
  }
  return out;
}

// ---- protobuf -> JSON ----

/**
 * stout's JSON::Protobuf for the message `type`: `message` holds set fields (bytes as
 * Uint8Array, enums as names, map fields as plain objects). Throws on a field the schema does
 * not know: the simulator must never send what the real agent could not.
 */
export function writeMessage(type: string, message: ProtoMessage): Record<string, unknown> {
  const kind = resolveType(type);
  if (kind.kind !== 'message') throw new Error(`stout-json: '${type}' is not a message`);
  for (const name of Object.keys(message)) {
    if (message[name] !== undefined && !kind.fields.some((f) => f.name === name)) {
      throw new Error(`stout-json: ${type} has no field '${name}'`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const field of kind.fields) {
    const value = message[field.name];
    if (field.label === 'repeated') {
      if (Array.isArray(value) && value.length > 0) out[field.name] = value.map((v) => writeValue(field.type, v));
    } else if (field.label === 'map') {
      if (isObject(value) && Object.keys(value).length > 0) {
        out[field.name] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, writeValue(field.type, v)]));
      }
    } else if (value !== undefined) {
      out[field.name] = writeValue(field.type, value);
    } else if (field.defaultValue !== undefined && field.deprecated !== true) {
      out[field.name] = field.defaultValue;
    }
  }
  return out;
}

function writeValue(type: string, value: unknown): unknown {
  const kind = resolveType(type);
  if (kind.kind === 'message') return writeMessage(type, value as ProtoMessage);
  if (kind.kind === 'enum') {
    if (typeof value !== 'string' || !kind.values.includes(value)) throw new Error(`stout-json: '${String(value)}' is not a ${type}`);
    return value;
  }
  if (kind.type === 'bytes') {
    if (!(value instanceof Uint8Array)) throw new Error('stout-json: a bytes field needs a Uint8Array');
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  }
  return value;
}
