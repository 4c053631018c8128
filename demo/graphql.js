// graphql.js - a tiny hand-written GraphQL executor for the gateway's
// POST /graphql, for one small schema:
//
//   type Query { order(id: ID!): Order }
//   type Order { id: ID!  item: String!  quantity: Int!  amount: Int!  status: String! }
//
// It reads the executable subset of GraphQL the demo needs: query
// operations (named or shorthand), variables with defaults, aliases,
// arguments (any literal), nested selections, __typename, @include and
// @skip. Fragments, mutations, subscriptions and introspection are
// refused with a GraphQL error. Answers follow the GraphQL response form:
// {"data": ...} and, when anything went wrong, "errors": [{message,
// locations, path}]. Field resolvers are given by the caller.
'use strict';

class GraphQLError extends Error {
  constructor(message, loc, path) {
    super(message);
    this.locations = loc ? [{ line: loc.line, column: loc.column }] : undefined;
    this.path = path;
  }

  toJSON() {
    const out = { message: this.message };
    if (this.locations) out.locations = this.locations;
    if (this.path) out.path = this.path;
    return out;
  }
}

// ---- lexer ----------------------------------------------------------------

const PUNCT = new Set(['!', '$', '&', '(', ')', ':', '=', '@', '[', ']', '{', '|', '}']);

function lex(src) {
  const tokens = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const loc = (at) => ({ line, column: at - lineStart + 1 });
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') { i += 1; line += 1; lineStart = i; continue; }
    if (c === ' ' || c === '\t' || c === '\r' || c === ',' || c === '\ufeff') { i += 1; continue; }
    if (c === '#') { while (i < src.length && src[i] !== '\n') i += 1; continue; }
    const at = loc(i);
    if (c === '.' && src.startsWith('...', i)) { tokens.push({ kind: '...', loc: at }); i += 3; continue; }
    if (PUNCT.has(c)) { tokens.push({ kind: c, loc: at }); i += 1; continue; }
    if (/[_A-Za-z]/.test(c)) {
      const m = /^[_A-Za-z][_0-9A-Za-z]*/.exec(src.slice(i));
      tokens.push({ kind: 'name', value: m[0], loc: at });
      i += m[0].length;
      continue;
    }
    if (c === '-' || /[0-9]/.test(c)) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i));
      if (!m) throw new GraphQLError(`Syntax Error: Invalid number, unexpected "${c}".`, at);
      tokens.push({ kind: m[2] || m[3] ? 'float' : 'int', value: m[0], loc: at });
      i += m[0].length;
      continue;
    }
    if (src.startsWith('"""', i)) {
      const end = src.indexOf('"""', i + 3);
      if (end < 0) throw new GraphQLError('Syntax Error: Unterminated string.', at);
      const raw = src.slice(i + 3, end);
      tokens.push({ kind: 'string', value: raw.trim(), loc: at });
      for (const ch of raw) if (ch === '\n') line += 1;
      i = end + 3;
      if (raw.includes('\n')) lineStart = src.lastIndexOf('\n', i) + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let out = '';
      for (;;) {
        if (j >= src.length || src[j] === '\n') throw new GraphQLError('Syntax Error: Unterminated string.', at);
        const d = src[j];
        if (d === '"') break;
        if (d === '\\') {
          const e = src[j + 1];
          const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
          if (e in simple) { out += simple[e]; j += 2; continue; }
          if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(src.slice(j + 2, j + 6))) {
            out += String.fromCharCode(parseInt(src.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          throw new GraphQLError('Syntax Error: Invalid escape sequence.', loc(j));
        }
        out += d;
        j += 1;
      }
      tokens.push({ kind: 'string', value: out, loc: at });
      i = j + 1;
      continue;
    }
    throw new GraphQLError(`Syntax Error: Unexpected character "${c}".`, at);
  }
  tokens.push({ kind: '<EOF>', loc: loc(i) });
  return tokens;
}

// ---- parser ---------------------------------------------------------------

function parse(src) {
  const t = lex(src);
  let p = 0;
  const peek = (kind, value) => t[p].kind === kind && (value === undefined || t[p].value === value);
  const KINDS = { name: 'Name', string: 'String', int: 'Int', float: 'Float' };
  const describe = (tok) => {
    if (KINDS[tok.kind]) return `${KINDS[tok.kind]} "${tok.value}"`;
    return tok.kind === '<EOF>' ? '<EOF>' : `"${tok.kind}"`;
  };
  const expect = (kind, value) => {
    if (!peek(kind, value)) {
      throw new GraphQLError(`Syntax Error: Expected ${value ? `"${value}"` : kind === 'name' ? 'Name' : `"${kind}"`}, found ${describe(t[p])}.`, t[p].loc);
    }
    return t[p++];
  };
  const skip = (kind) => (peek(kind) ? t[p++] : null);

  function value(isConst) {
    const tok = t[p];
    if (tok.kind === '$' && !isConst) {
      p += 1;
      return { kind: 'var', name: expect('name').value, loc: tok.loc };
    }
    if (tok.kind === 'int') { p += 1; return { kind: 'const', value: parseInt(tok.value, 10), type: 'Int' }; }
    if (tok.kind === 'float') { p += 1; return { kind: 'const', value: Number(tok.value), type: 'Float' }; }
    if (tok.kind === 'string') { p += 1; return { kind: 'const', value: tok.value, type: 'String' }; }
    if (tok.kind === 'name') {
      p += 1;
      if (tok.value === 'true' || tok.value === 'false') return { kind: 'const', value: tok.value === 'true', type: 'Boolean' };
      if (tok.value === 'null') return { kind: 'const', value: null, type: 'null' };
      return { kind: 'const', value: tok.value, type: 'Enum' };
    }
    if (tok.kind === '[') {
      p += 1;
      const items = [];
      while (!skip(']')) items.push(value(isConst));
      return { kind: 'list', items };
    }
    if (tok.kind === '{') {
      p += 1;
      const fields = {};
      while (!skip('}')) {
        const name = expect('name').value;
        expect(':');
        fields[name] = value(isConst);
      }
      return { kind: 'object', fields };
    }
    throw new GraphQLError(`Syntax Error: Unexpected ${describe(tok)}.`, tok.loc);
  }

  function args() {
    const out = {};
    if (!skip('(')) return out;
    do {
      const name = expect('name');
      expect(':');
      out[name.value] = value(false);
    } while (!skip(')'));
    return out;
  }

  function directives() {
    const out = [];
    while (peek('@')) {
      const at = t[p++];
      out.push({ name: expect('name').value, args: args(), loc: at.loc });
    }
    return out;
  }

  function type() {
    let ty;
    if (skip('[')) {
      const inner = type();
      expect(']');
      ty = `[${inner}]`;
    } else {
      ty = expect('name').value;
    }
    return skip('!') ? `${ty}!` : ty;
  }

  function selectionSet() {
    expect('{');
    const sels = [];
    do {
      if (peek('...')) throw new GraphQLError('Fragments are not supported by this server.', t[p].loc);
      const first = expect('name');
      let name = first.value;
      if (skip(':')) name = expect('name').value;
      const field = { alias: first.value, name, args: args(), directives: directives(), loc: first.loc, selections: null };
      if (peek('{')) field.selections = selectionSet();
      sels.push(field);
    } while (!skip('}'));
    return sels;
  }

  const ops = [];
  while (!peek('<EOF>')) {
    const tok = t[p];
    if (tok.kind === '{') {
      ops.push({ type: 'query', name: null, vars: [], selections: selectionSet(), loc: tok.loc });
      continue;
    }
    if (tok.kind === 'name' && tok.value === 'fragment') {
      throw new GraphQLError('Fragments are not supported by this server.', tok.loc);
    }
    if (tok.kind !== 'name' || !['query', 'mutation', 'subscription'].includes(tok.value)) {
      throw new GraphQLError(`Syntax Error: Unexpected ${describe(tok)}.`, tok.loc);
    }
    p += 1;
    const op = { type: tok.value, name: peek('name') ? t[p++].value : null, vars: [], loc: tok.loc };
    if (skip('(')) {
      do {
        const at = expect('$');
        const name = expect('name').value;
        expect(':');
        const ty = type();
        const def = skip('=') ? value(true) : undefined;
        op.vars.push({ name, type: ty, def, loc: at.loc });
      } while (!skip(')'));
    }
    directives();
    op.selections = selectionSet();
    ops.push(op);
  }
  if (ops.length === 0) throw new GraphQLError('Syntax Error: Unexpected <EOF>.', t[p].loc);
  return ops;
}

// ---- schema and execution -------------------------------------------------

const SCHEMA = {
  Query: { order: { type: 'Order', args: { id: 'ID!' } } },
  Order: {
    id: { type: 'ID!' }, item: { type: 'String!' }, quantity: { type: 'Int!' },
    amount: { type: 'Int!' }, status: { type: 'String!' },
  },
};

function baseType(ty) { return ty.replace(/[[\]!]/g, ''); }
function isObjectType(ty) { return Object.prototype.hasOwnProperty.call(SCHEMA, baseType(ty)); }

// Coerces an input value (from JSON variables or a literal) to a scalar type.
function coerce(v, ty, what) {
  const nonNull = ty.endsWith('!');
  const base = nonNull ? ty.slice(0, -1) : ty;
  if (v === null || v === undefined) {
    if (nonNull) throw new Error(`${what} of non-null type "${ty}" must not be null.`);
    return null;
  }
  switch (base) {
    case 'ID':
      if (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))) return String(v);
      break;
    case 'String':
      if (typeof v === 'string') return v;
      break;
    case 'Int':
      if (Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return v;
      break;
    case 'Float':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      break;
    case 'Boolean':
      if (typeof v === 'boolean') return v;
      break;
    default:
      throw new Error(`${what}: unknown type "${ty}".`);
  }
  throw new Error(`${what}: ${JSON.stringify(v)} is not a valid ${base}.`);
}

function literal(node, vars) {
  if (node.kind === 'var') return vars[node.name];
  if (node.kind === 'const') return node.value;
  if (node.kind === 'list') return node.items.map((n) => literal(n, vars));
  const out = {};
  for (const [k, n] of Object.entries(node.fields)) out[k] = literal(n, vars);
  return out;
}

function included(field, vars) {
  for (const d of field.directives) {
    if (d.name !== 'include' && d.name !== 'skip') {
      throw new GraphQLError(`Unknown directive "@${d.name}".`, d.loc);
    }
    if (!d.args.if) throw new GraphQLError(`Directive "@${d.name}" argument "if" of type "Boolean!" is required, but it was not provided.`, d.loc);
    const on = literal(d.args.if, vars) === true;
    if ((d.name === 'include' && !on) || (d.name === 'skip' && on)) return false;
  }
  return true;
}

// Checks the selections against the schema (before anything runs).
function validate(selections, typeName, vars, errors) {
  const fields = SCHEMA[typeName];
  for (const f of selections) {
    if (f.name === '__typename') {
      if (f.selections) errors.push(new GraphQLError('Field "__typename" must not have a selection since type "String!" has no subfields.', f.loc));
      continue;
    }
    if (f.name === '__schema' || f.name === '__type') {
      errors.push(new GraphQLError('Introspection is not supported by this server.', f.loc));
      continue;
    }
    const def = fields[f.name];
    if (!def) {
      errors.push(new GraphQLError(`Cannot query field "${f.name}" on type "${typeName}".`, f.loc));
      continue;
    }
    const argDefs = def.args || {};
    for (const a of Object.keys(f.args)) {
      if (!argDefs[a]) errors.push(new GraphQLError(`Unknown argument "${a}" on field "${typeName}.${f.name}".`, f.loc));
    }
    for (const [a, ty] of Object.entries(argDefs)) {
      if (ty.endsWith('!') && !f.args[a]) {
        errors.push(new GraphQLError(`Field "${f.name}" argument "${a}" of type "${ty}" is required, but it was not provided.`, f.loc));
      }
    }
    for (const a of Object.values(f.args)) {
      if (a.kind === 'var' && !Object.prototype.hasOwnProperty.call(vars, a.name)) {
        errors.push(new GraphQLError(`Variable "$${a.name}" is not defined.`, a.loc));
      }
    }
    if (isObjectType(def.type)) {
      if (!f.selections) {
        errors.push(new GraphQLError(`Field "${f.name}" of type "${def.type.replace('!', '')}" must have a selection of subfields. Did you mean "${f.name} { ... }"?`, f.loc));
      } else {
        validate(f.selections, baseType(def.type), vars, errors);
      }
    } else if (f.selections) {
      errors.push(new GraphQLError(`Field "${f.name}" must not have a selection since type "${def.type}" has no subfields.`, f.loc));
    }
  }
}

// Completes an object value: picks the selected fields of obj (of typeName).
function complete(obj, selections, typeName, vars) {
  const out = {};
  for (const f of selections) {
    if (!included(f, vars)) continue;
    if (f.name === '__typename') { out[f.alias] = typeName; continue; }
    const def = SCHEMA[typeName][f.name];
    out[f.alias] = coerce(obj[f.name], def.type, `${typeName}.${f.name}`);
  }
  return out;
}

// execute({query, variables, operationName}, resolvers) -> {data?, errors?}
// resolvers.order({id}) resolves to the order (an object with the Order
// fields), null when there is none, or throws (the message is the error).
async function execute(request, resolvers) {
  const { query, variables, operationName } = request || {};
  if (typeof query !== 'string' || query === '') {
    return { errors: [new GraphQLError('Must provide query string.')] };
  }
  let ops;
  try {
    ops = parse(query);
  } catch (err) {
    if (err instanceof GraphQLError) return { errors: [err] };
    throw err;
  }
  let op;
  if (operationName) {
    op = ops.find((o) => o.name === operationName);
    if (!op) return { errors: [new GraphQLError(`Unknown operation named "${operationName}".`)] };
  } else if (ops.length > 1) {
    return { errors: [new GraphQLError('Must provide operation name if query contains multiple operations.')] };
  } else {
    [op] = ops;
  }
  if (op.type !== 'query') {
    return { errors: [new GraphQLError(`Schema is not configured to execute ${op.type} operation.`, op.loc)] };
  }

  const given = variables && typeof variables === 'object' && !Array.isArray(variables) ? variables : {};
  const vars = {};
  const errors = [];
  for (const v of op.vars) {
    try {
      if (Object.prototype.hasOwnProperty.call(given, v.name)) {
        vars[v.name] = coerce(given[v.name], v.type, `Variable "$${v.name}"`);
      } else if (v.def) {
        vars[v.name] = coerce(literal(v.def, {}), v.type, `Variable "$${v.name}"`);
      } else if (v.type.endsWith('!')) {
        throw new Error(`Variable "$${v.name}" of required type "${v.type}" was not provided.`);
      } else {
        vars[v.name] = null;
      }
    } catch (err) {
      errors.push(new GraphQLError(err.message, v.loc));
    }
  }
  if (errors.length) return { errors };
  const declared = Object.fromEntries(op.vars.map((v) => [v.name, true]));
  validate(op.selections, 'Query', declared, errors);
  if (errors.length) return { errors };

  const data = {};
  for (const f of op.selections) {
    if (!included(f, vars)) continue;
    if (f.name === '__typename') { data[f.alias] = 'Query'; continue; }
    // the one root field: order(id: ID!)
    try {
      const id = coerce(literal(f.args.id, vars), 'ID!', 'Argument "id"');
      const found = await resolvers.order({ id });
      data[f.alias] = found == null ? null : complete(found, f.selections, 'Order', vars);
    } catch (err) {
      data[f.alias] = null;
      errors.push(new GraphQLError(err.message, f.loc, [f.alias]));
    }
  }
  return errors.length ? { data, errors } : { data };
}

module.exports = { execute, parse, GraphQLError };
