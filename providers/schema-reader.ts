/**
 * Compiles a lenient zod schema into one plain reader function that returns exactly what
 * `z.safeParse(schema, value).data` returns (a fresh value, same keys in the same order), or FAIL where zod
 * would fail. zod's interpreter walks every leaf through generic `_zod.run` calls and allocates a
 * `{ value, issues }` payload per leaf; under 64 concurrent calls that megamorphic code and its garbage cost
 * ~30 µs per call in the proxy (#15; a reader takes 0.05-0.7 µs where zod took 3-12). The schema stays the contract: the reader is derived from its `_zod.def`
 * once, and a construct this compiler does not model throws `UnsupportedSchema`, so `read()` keeps zod for it.
 * Modelled: loose/strip objects, catch with a constant value, optional, pipe, sync transform, string, number
 * (safe-int format, inclusive/exclusive bounds), boolean, unknown, array, union — what providers/ uses.
 */
import type * as z from 'zod/mini';

/** Returned where zod's parse would report issues. */
export const FAIL: unique symbol = Symbol('schema-reader.fail');

export type Reader = (value: unknown) => unknown;

export class UnsupportedSchema extends Error {}

// The internals read here (`_zod.def`, `optin`, `optout`) are zod's documented core shape; typed loosely on purpose.
interface Internals {
  def: Record<string, unknown> & { type: string; checks?: readonly Node[] };
  optin?: string;
  optout?: string;
  traits: Set<string>;
}
interface Node {
  _zod: Internals;
}

// zod's tag on the thunk it synthesises for `z.catch(schema, value)` (util.CONSTANT_CATCH).
const CONSTANT_CATCH = '~constantCatch';

class Emitter {
  readonly lines: string[] = [];
  readonly constants: unknown[] = [];
  private counter = 0;

  name(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  constant(value: unknown): string {
    const index = this.constants.indexOf(value);
    return `k${index === -1 ? this.constants.push(value) - 1 : index}`;
  }

  write(line: string): void {
    this.lines.push(line);
  }
}

const unsupported = (what: string): never => {
  throw new UnsupportedSchema(`schema reader: ${what} is not compiled`);
};

const noChecks = (schema: Node, type: string): void => {
  const checks = schema._zod.def.checks;
  if (checks !== undefined && checks.length > 0) unsupported(`${type} with checks`);
  if (schema._zod.def.coerce) unsupported(`coerced ${type}`);
};

/** Binds a non-trivial expression to a local so that children read it once. */
const bind = (out: Emitter, expression: string): string => {
  if (/^[A-Za-z_$][\w$]*$/.test(expression)) return expression;
  const local = out.name('x');
  out.write(`const ${local} = ${expression};`);
  return local;
};

/** The number checks zod runs after its type check; any failing check fails the value. */
const numberChecks = (out: Emitter, schema: Node, value: string, fail: string): void => {
  const def = schema._zod.def;
  // z.int() is itself its number_format check.
  if (def.check === 'number_format') {
    if (def.format !== 'safeint') unsupported(`number format ${String(def.format)}`);
    out.write(`if (!Number.isSafeInteger(${value})) break ${fail};`);
  } else if (def.check !== undefined) {
    unsupported(`number check ${String(def.check)}`);
  }
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.when !== undefined || typeof c.value !== 'number') unsupported('a conditional or non-number bound');
    const bound = out.constant(c.value);
    if (c.check === 'greater_than') {
      out.write(`if (!(${value} ${c.inclusive ? '>=' : '>'} ${bound})) break ${fail};`);
    } else if (c.check === 'less_than') {
      out.write(`if (!(${value} ${c.inclusive ? '<=' : '<'} ${bound})) break ${fail};`);
    } else {
      unsupported(`number check ${String(c.check)}`);
    }
  }
};

/**
 * Emits code that computes `schema`'s output from the expression `input`: returns the expression that holds
 * it, or emits `break fail` where zod would report an issue.
 */
const emit = (out: Emitter, schema: Node, input: string, fail: string): string => {
  const def = schema._zod.def;
  switch (def.type) {
    case 'unknown':
    case 'any':
      noChecks(schema, def.type);
      return input;
    case 'string':
      noChecks(schema, 'string');
      if (def.format !== undefined || def.pattern !== undefined) unsupported('string format');
      out.write(`if (typeof ${input} !== 'string') break ${fail};`);
      return input;
    case 'boolean':
      noChecks(schema, 'boolean');
      out.write(`if (typeof ${input} !== 'boolean') break ${fail};`);
      return input;
    case 'number': {
      if (def.coerce) unsupported('coerced number');
      const value = bind(out, input);
      out.write(`if (typeof ${value} !== 'number' || !Number.isFinite(${value})) break ${fail};`);
      numberChecks(out, schema, value, fail);
      return value;
    }
    case 'optional': {
      noChecks(schema, 'optional');
      const inner = def.innerType as Node;
      if (inner._zod.optin === 'defaulted') unsupported('optional around a default');
      const value = bind(out, input);
      const result = out.name('o');
      out.write(`let ${result};`);
      out.write(`if (${value} !== undefined) {`);
      out.write(`${result} = ${emit(out, inner, value, fail)};`);
      out.write('}');
      return result;
    }
    case 'catch': {
      noChecks(schema, 'catch');
      const thunk = def.catchValue as (() => unknown) & { [CONSTANT_CATCH]?: boolean };
      if (typeof thunk !== 'function' || thunk[CONSTANT_CATCH] !== true) unsupported('catch with a callback');
      const fallback = thunk();
      if (typeof fallback === 'object' && fallback !== null) unsupported('catch with an object value');
      const value = bind(out, input);
      const result = out.name('o');
      const label = out.name('L');
      out.write(`let ${result} = ${out.constant(fallback)};`);
      out.write(`${label}: {`);
      out.write(`${result} = ${emit(out, def.innerType as Node, value, label)};`);
      out.write('}');
      return result;
    }
    case 'pipe': {
      noChecks(schema, 'pipe');
      const left = emit(out, def.in as Node, input, fail);
      return emit(out, def.out as Node, bind(out, left), fail);
    }
    case 'transform': {
      noChecks(schema, 'transform');
      const transform = def.transform as (value: unknown) => unknown;
      // A transform that reads zod's payload (to add issues) or is async needs the interpreter.
      if (transform.length > 1 || transform.constructor.name !== 'Function') unsupported('this transform');
      const result = out.name('t');
      out.write(`const ${result} = ${out.constant(transform)}(${input});`);
      return result;
    }
    case 'array': {
      noChecks(schema, 'array');
      const list = bind(out, input);
      const result = out.name('a');
      const index = out.name('i');
      out.write(`if (!Array.isArray(${list})) break ${fail};`);
      out.write(`const ${result} = new Array(${list}.length);`);
      out.write(`for (let ${index} = 0; ${index} < ${list}.length; ${index}++) {`);
      const element = emit(out, def.element as Node, `${list}[${index}]`, fail);
      out.write(`${result}[${index}] = ${element};`);
      out.write('}');
      return result;
    }
    case 'union': {
      noChecks(schema, 'union');
      const options = def.options as Node[];
      if (def.discriminator !== undefined || def.inclusive === false) unsupported('this union');
      if (options.length === 1) return emit(out, options[0] as Node, input, fail);
      const value = bind(out, input);
      const result = out.name('u');
      const done = out.name('U');
      out.write(`let ${result};`);
      out.write(`${done}: {`);
      for (const option of options) {
        const next = out.name('N');
        out.write(`${next}: {`);
        out.write(`${result} = ${emit(out, option, value, next)};`);
        out.write(`break ${done};`);
        out.write('}');
      }
      out.write(`break ${fail};`);
      out.write('}');
      return result;
    }
    case 'object':
      return emitObject(out, schema, input, fail);
    default:
      return unsupported(`schema type ${def.type}`);
  }
};

const emitObject = (out: Emitter, schema: Node, input: string, fail: string): string => {
  noChecks(schema, 'object');
  const def = schema._zod.def;
  const shape = def.shape as Record<string, Node>;
  if (Object.getOwnPropertySymbols(shape).length > 0) unsupported('symbol keys');
  const catchall = def.catchall as Node | undefined;
  if (catchall !== undefined && catchall._zod.def.type !== 'unknown') unsupported('this catchall');
  const keys = Object.keys(shape);
  const value = bind(out, input);
  const result = out.name('r');
  out.write(
    `if (typeof ${value} !== 'object' || ${value} === null || Array.isArray(${value})) break ${fail};`,
  );
  out.write(`const ${result} = {};`);
  for (const key of keys) {
    // zod never writes a shape's __proto__ into its output.
    if (key === '__proto__') continue;
    const property = shape[key] as Node;
    // Only "optional in and out" members: an absent key then contributes nothing and cannot fail.
    if (property._zod.optin !== 'optional' || property._zod.optout !== 'optional') {
      unsupported(`required member ${key}`);
    }
    const literal = JSON.stringify(key);
    out.write(`if (${literal} in ${value}) {`);
    const member = emit(out, property, `${value}[${literal}]`, fail);
    out.write(`${result}[${literal}] = ${member};`);
    out.write('}');
  }
  if (catchall !== undefined) {
    const key = out.name('p');
    out.write(`for (const ${key} in ${value}) {`);
    out.write(`switch (${key}) {`);
    for (const known of [...keys, '__proto__']) out.write(`case ${JSON.stringify(known)}:`);
    out.write('continue;');
    out.write('}');
    out.write(`${result}[${key}] = ${value}[${key}];`);
    out.write('}');
  }
  return result;
};

/** The reader for `schema`; throws UnsupportedSchema when some part of it is not modelled. */
export const compileReader = (schema: z.core.$ZodType): Reader => {
  const out = new Emitter();
  out.write('top: {');
  out.write(`return ${emit(out, schema as unknown as Node, 'input', 'top')};`);
  out.write('}');
  out.write('return FAIL;');
  const body = out.lines.join('\n');
  const hoisted = out.constants.map((_, index) => `const k${index} = k[${index}];\n`).join('');
  let factory: (constants: unknown[], fail: symbol) => Reader;
  try {
    // Generated once per schema from its definition (never from input): straight-line code the JIT can specialise.
    factory = new Function('k', 'FAIL', `${hoisted}return (input) => {\n${body}\n};`) as typeof factory;
  } catch (error) {
    // A Node run with --disallow-code-generation-from-strings: zod's interpreter reads instead.
    throw new UnsupportedSchema(`schema reader: cannot generate code (${String(error)})`);
  }
  return factory(out.constants, FAIL);
};
