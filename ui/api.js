// api.js - the REST API (docs/api.md) as the UI calls it: the bearer token
// (kept in localStorage, asked for on a 401), JSON in and out, and the run
// event stream read with fetch() and a small SSE parser (EventSource cannot
// send an Authorization header).

const TOKEN_KEY = 'tracecheck.token';
const authListeners = new Set();

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(t) {
  try {
    if (t) localStorage.setItem(TOKEN_KEY, t);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused: the token lives for this page only */
  }
  memToken = t;
}

let memToken = '';
const token = () => getToken() || memToken;

// fn(true) when a call was refused for want of a (good) token.
export function onAuthNeeded(fn) {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

export class ApiError extends Error {
  constructor(status, code, message, extra) {
    super(message);
    this.status = status;
    this.code = code;
    Object.assign(this, extra || {});
  }
}

function headersFor(extra) {
  const hd = { ...extra };
  const t = token();
  if (t) hd.Authorization = `Bearer ${t}`;
  return hd;
}

// Calls the API. opts: method, body (JSON-encoded unless a string), type
// (the body's Content-Type), accept, signal, text (answer as text).
// Returns the parsed JSON (null for 204); throws ApiError.
export async function api(path, opts = {}) {
  const hd = {};
  let body;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    hd['Content-Type'] = opts.type || 'application/json';
  }
  if (opts.accept) hd.Accept = opts.accept;
  let r;
  try {
    r = await fetch(path, { method: opts.method || 'GET', headers: headersFor(hd), body, signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `cannot reach the server: ${e.message}`);
  }
  if (r.status === 401) {
    for (const fn of authListeners) fn(true);
    throw new ApiError(401, 'unauthorized', 'this server needs a token');
  }
  if (r.status === 204) return null;
  const text = await r.text();
  if (!r.ok) {
    let err = {};
    try {
      err = JSON.parse(text).error || {};
    } catch {
      /* not JSON */
    }
    throw new ApiError(r.status, err.code || 'http_' + r.status, err.message || `${r.status} ${r.statusText}`, {
      line: err.line,
      column: err.column,
    });
  }
  if (opts.text) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(r.status, 'bad_json', 'the server answered something that is not JSON');
  }
}

// Every page of a list (at most max items).
export async function apiList(path, max = 1000, signal) {
  const items = [];
  let cursor = null;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${sep}limit=${Math.min(500, max)}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`, { signal });
    items.push(...(page.items || []));
    if (!page.next || items.length >= max) break;
    cursor = page.next;
  }
  return items.slice(0, max);
}

// Reads an SSE stream: onEvent(name, data) per event (data parsed as JSON
// when it parses). Resolves when the stream ends; rejects on failure.
export async function streamEvents(path, onEvent, signal) {
  const r = await fetch(path, { headers: headersFor({ Accept: 'text/event-stream' }), signal });
  if (r.status === 401) {
    for (const fn of authListeners) fn(true);
    throw new ApiError(401, 'unauthorized', 'this server needs a token');
  }
  if (!r.ok || !r.body) throw new ApiError(r.status, 'http_' + r.status, `event stream: ${r.status}`);
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let ev = 'message';
  let data = [];
  const dispatch = () => {
    if (data.length) {
      const text = data.join('\n');
      let v = text;
      try {
        v = JSON.parse(text);
      } catch {
        /* plain text */
      }
      onEvent(ev, v);
    }
    ev = 'message';
    data = [];
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + (buf[i] === '\r' && buf[i + 1] === '\n' ? 2 : 1));
      if (line === '') dispatch();
      else if (line.startsWith(':')) continue;
      else {
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let val = c < 0 ? '' : line.slice(c + 1);
        if (val.startsWith(' ')) val = val.slice(1);
        if (field === 'event') ev = val;
        else if (field === 'data') data.push(val);
      }
    }
  }
  dispatch();
}

// The variables a test document reads (var:X, env:X, ${var:X}, ${env:X}
// anywhere), minus its outputs. Names in order of first use.
export function neededVariables(documents) {
  const seen = new Set();
  const outputs = new Set();
  const re = /\b(?:var|env):([A-Za-z_][A-Za-z0-9_-]*)/g;
  const walk = (v) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(re)) seen.add(m[1].replace(/-+$/, ''));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const doc of documents) {
    walk(doc);
    const outs = doc && doc.spec && Array.isArray(doc.spec.outputs) ? doc.spec.outputs : [];
    for (const o of outs) if (o && o.name) outputs.add(o.name);
  }
  return [...seen].filter((n) => !outputs.has(n));
}
