// trace.js - the OTLP JSON trace (GET /api/runs/{id}/trace) in the browser:
// spans with their resource and scope, times relative to the earliest span
// (BigInt for the nanoseconds), the tree (built once per trace, with one
// synthetic node per missing parent), the flattened rows for a collapse
// state, computed attributes and a stable colour per service.

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

// Lower-case hex for an id given as hex, or as base64 (protobuf JSON).
export function normId(id, bytes) {
  if (!id || typeof id !== 'string') return '';
  const b64len = Math.ceil(bytes / 3) * 4; // a base64 id of the full size
  if (/^[0-9a-fA-F]+$/.test(id) && (id.length === bytes * 2 || (id.length < bytes * 2 && id.length !== b64len)))
    return id.toLowerCase().padStart(bytes * 2, '0');
  try {
    const bin = atob(id);
    let hex = '';
    for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, '0');
    return hex;
  } catch {
    return id;
  }
}

function isZeroId(id) {
  return !id || /^0+$/.test(id);
}

// An OTLP AnyValue as display text.
export function anyText(v) {
  if (!v || typeof v !== 'object') return v === undefined || v === null ? '' : String(v);
  if ('stringValue' in v) return String(v.stringValue);
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('boolValue' in v) return v.boolValue ? 'true' : 'false';
  if ('bytesValue' in v) return String(v.bytesValue);
  if ('arrayValue' in v) return JSON.stringify(((v.arrayValue && v.arrayValue.values) || []).map(anyJson));
  if ('kvlistValue' in v) {
    const o = {};
    for (const kv of (v.kvlistValue && v.kvlistValue.values) || []) o[kv.key] = anyJson(kv.value);
    return JSON.stringify(o);
  }
  return '';
}

function anyJson(v) {
  if (!v || typeof v !== 'object') return v;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return ((v.arrayValue && v.arrayValue.values) || []).map(anyJson);
  if ('kvlistValue' in v) {
    const o = {};
    for (const kv of (v.kvlistValue && v.kvlistValue.values) || []) o[kv.key] = anyJson(kv.value);
    return o;
  }
  return anyText(v);
}

function isNumberValue(v) {
  return v && typeof v === 'object' && ('intValue' in v || 'doubleValue' in v);
}

function attrList(list) {
  return (list || []).map((kv) => ({ key: kv.key, value: anyText(kv.value), number: isNumberValue(kv.value) }));
}

function big(s) {
  try {
    return BigInt(s || 0);
  } catch {
    return 0n;
  }
}

// Parses the OTLP JSON; returns {spans, byId, base (BigInt ns), start, end
// (ns relative to base), services (sorted)}.
export function parseTrace(doc) {
  const raw = [];
  const rss = (doc && (doc.resourceSpans || doc.batches)) || [];
  for (const rs of rss) {
    const resource = attrList(rs.resource && rs.resource.attributes);
    const svcAttr = resource.find((a) => a.key === 'service.name');
    const service = svcAttr ? svcAttr.value : 'unknown';
    for (const ss of rs.scopeSpans || rs.instrumentationLibrarySpans || []) {
      const sc = ss.scope || ss.instrumentationLibrary || {};
      const scope = attrList(sc.attributes);
      for (const s of ss.spans || []) raw.push({ s, resource, scope, scopeName: sc.name || '', scopeVersion: sc.version || '', service });
    }
  }
  let base = null;
  for (const r of raw) {
    const st = big(r.s.startTimeUnixNano);
    if (st > 0n && (base === null || st < base)) base = st;
  }
  if (base === null) base = 0n;
  const spans = [];
  const byId = new Map();
  let end = 0;
  for (const { s, resource, scope, scopeName, scopeVersion, service } of raw) {
    const st = big(s.startTimeUnixNano);
    let en = big(s.endTimeUnixNano);
    if (en < st) en = st;
    const span = {
      id: normId(s.spanId, 8),
      traceId: normId(s.traceId, 16),
      parentId: isZeroId(s.parentSpanId) ? '' : normId(s.parentSpanId, 8),
      name: s.name || '',
      kind: KINDS[s.kind | 0] || 'unspecified',
      startAbs: st,
      endAbs: en,
      start: Number(st - base),
      end: Number(en - base),
      attributes: attrList(s.attributes),
      resource,
      scope,
      scopeName,
      scopeVersion,
      service,
      events: (s.events || []).map((e) => ({
        name: e.name || '',
        at: Number(big(e.timeUnixNano) - base),
        attributes: attrList(e.attributes),
      })),
      links: (s.links || []).map((l) => ({
        traceId: normId(l.traceId, 16),
        spanId: normId(l.spanId, 8),
        attributes: attrList(l.attributes),
      })),
      statusCode: STATUS[(s.status && s.status.code) | 0] || 'STATUS_CODE_UNSET',
      statusMessage: (s.status && s.status.message) || '',
    };
    span.duration = span.end - span.start;
    span.error = span.statusCode === 'STATUS_CODE_ERROR';
    if (span.end > end) end = span.end;
    // the key of its row: the span id, unless another span (of another trace
    // of a suite, say) has it already
    span.key = span.id;
    for (let n = 2; byId.has(span.key); n++) span.key = `${span.id}@${span.traceId.slice(0, 8)}${n > 2 ? '.' + n : ''}`;
    byId.set(span.key, span);
    spans.push(span);
  }
  const services = [...new Set(spans.map((s) => s.service))].sort();
  return { spans, byId, base, start: 0, end, services };
}

// The tree: nodes {span | missing id, children, depth, parent}. Children
// by start time; one synthetic node per parent id that is not in the trace.
export function buildTree(trace) {
  const nodes = new Map(); // row key -> node
  const inTrace = new Map(); // traceId/spanId -> node (parents are looked up in their own trace)
  const roots = [];
  const missing = new Map(); // row key -> synthetic node
  const missingBy = new Map(); // traceId/parentId -> synthetic node
  for (const s of trace.spans) {
    const n = { span: s, id: s.key, children: [], depth: 0, parent: null };
    nodes.set(s.key, n);
    const k = s.traceId + '/' + s.id;
    if (!inTrace.has(k)) inTrace.set(k, n);
  }
  for (const s of trace.spans) {
    const n = nodes.get(s.key);
    const p = s.parentId && s.parentId !== s.id ? inTrace.get(s.traceId + '/' + s.parentId) : undefined;
    if (p && p !== n) {
      n.parent = p;
      p.children.push(n);
    } else if (s.parentId && s.parentId !== s.id) {
      const mk = s.traceId + '/' + s.parentId;
      let m = missingBy.get(mk);
      if (!m) {
        let id = s.parentId;
        for (let i = 2; nodes.has(id) || missing.has(id); i++) id = `${s.parentId}@${s.traceId.slice(0, 8)}${i > 2 ? '.' + i : ''}`;
        m = { span: null, missing: true, id, children: [], depth: 0, parent: null, start: s.start, end: s.end };
        missingBy.set(mk, m);
        missing.set(id, m);
        roots.push(m);
      }
      m.start = Math.min(m.start, s.start);
      m.end = Math.max(m.end, s.end);
      n.parent = m;
      m.children.push(n);
    } else roots.push(n);
  }
  const startOf = (n) => (n.span ? n.span.start : n.start);
  const byStart = (a, b) => startOf(a) - startOf(b);
  roots.sort(byStart);
  // depths and child order without recursion (deep traces)
  const stack = roots.map((r) => r).reverse();
  const seen = new Set();
  while (stack.length) {
    const n = stack.pop();
    if (seen.has(n)) continue; // a cycle of parent ids
    seen.add(n);
    n.children.sort(byStart);
    for (let i = n.children.length - 1; i >= 0; i--) {
      n.children[i].depth = n.depth + 1;
      stack.push(n.children[i]);
    }
  }
  // spans caught in a parent cycle are roots too
  for (const n of nodes.values()) {
    if (!seen.has(n) && n.span) {
      if (n.parent) n.parent.children = n.parent.children.filter((c) => c !== n);
      n.parent = null;
      n.depth = 0;
      roots.push(n);
      const st = [n];
      while (st.length) {
        const x = st.pop();
        if (seen.has(x)) continue;
        seen.add(x);
        for (const c of x.children) {
          c.depth = x.depth + 1;
          st.push(c);
        }
      }
    }
  }
  return { roots, nodes, missing, total: trace.spans.length + missing.size };
}

// The rows shown for a set of collapsed node ids (depth-first order).
export function flatten(tree, collapsed) {
  const rows = [];
  const stack = tree.roots.slice().reverse();
  while (stack.length) {
    const n = stack.pop();
    rows.push(n);
    if (n.children.length && !collapsed.has(n.id)) {
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
    }
  }
  return rows;
}

// Computed attributes (docs/language.md, "Span attributes").
export function computedAttributes(span) {
  const own = [span.attributes, span.resource, span.scope];
  const has = (prefix) => own.some((list) => list.some((a) => a.key.startsWith(prefix)));
  let type = 'general';
  for (const [p, t] of [
    ['http.', 'http'],
    ['url.', 'http'],
    ['db.', 'database'],
    ['rpc.', 'rpc'],
    ['messaging.', 'messaging'],
    ['faas.', 'faas'],
    ['exception.', 'exception'],
    ['server.', 'http'],
  ]) {
    if (has(p)) {
      type = t;
      break;
    }
  }
  const attrs = [
    { key: 'tracetest.span.name', value: span.name },
    { key: 'tracetest.span.type', value: type },
    { key: 'tracetest.span.duration', value: String(span.endAbs - span.startAbs), number: true },
    { key: 'tracetest.span.start_time', value: String(span.startAbs), number: true },
    { key: 'tracetest.span.end_time', value: String(span.endAbs), number: true },
    { key: 'tracetest.span.parent_id', value: span.parentId || '0000000000000000' },
    { key: 'tracetest.span.kind', value: span.kind },
    { key: 'tracetest.span.status_code', value: span.statusCode },
  ];
  if (span.statusMessage) attrs.push({ key: 'tracetest.span.status_description', value: span.statusMessage });
  return attrs;
}

// A stable colour index per service name (the same in every run and page).
const PALETTE_SIZE = 12;
export function serviceColor(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % PALETTE_SIZE;
}

// The assertion `attr:KEY = VALUE` for an attribute (numbers bare, text quoted).
export function assertionFor(key, value, number) {
  if (number && /^-?\d+(\.\d+)?$/.test(value)) return `attr:${key} = ${value}`;
  if (!value.includes('"')) return `attr:${key} = "${value}"`;
  if (!value.includes("'")) return `attr:${key} = '${value}'`;
  return `attr:${key} = "${value.replace(/"/g, '\\"')}"`;
}
