#!/usr/bin/env node
// A scriptable fake trace backend for tracecheck's tests: it serves the
// responses a JSON script lists (HTTP, HTTPS and gRPC, in order, request
// after request), generates paged OpenSearch span results, and records
// every request it gets so a test can assert on how tracecheck polled.
// The script format is described in README.md next to this file.
//
//   node tests/fake/backend.js SCRIPT.json [--log REQUESTS.jsonl] [--ready PORTS_FILE]
'use strict';
const fs = require('fs');
const path = require('path');
const http = require('http');
const https = require('https');
const zlib = require('zlib');
const crypto = require('crypto');

const started = Date.now();

function die(msg) {
  process.stderr.write(`fake backend: ${msg}\n`);
  process.exit(2);
}

// ---- command line -------------------------------------------------------
let scriptFile = null;
let logFile = null;
let readyFile = null;
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--log' || a === '--ready') {
    if (i + 1 >= process.argv.length) die(`${a} needs a file`);
    if (a === '--log') logFile = process.argv[++i];
    else readyFile = process.argv[++i];
  } else if (a.startsWith('-') || scriptFile) {
    die(`usage: backend.js SCRIPT.json [--log REQUESTS.jsonl] [--ready PORTS_FILE] (unexpected "${a}")`);
  } else {
    scriptFile = a;
  }
}
if (!scriptFile) die('usage: backend.js SCRIPT.json [--log REQUESTS.jsonl] [--ready PORTS_FILE]');

// ---- script: read and check ---------------------------------------------
let script;
try {
  script = JSON.parse(fs.readFileSync(scriptFile, 'utf8'));
} catch (e) {
  die(`${scriptFile}: ${e.message}`);
}
const baseDir = path.dirname(path.resolve(scriptFile));

function isObj(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
// Each checker throws `where: problem`; main() turns that into exit 2.
function keys(o, where, allowed) {
  if (!isObj(o)) throw new Error(`${where}: must be an object`);
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new Error(`${where}: unknown key "${k}" (known: ${allowed.join(', ')})`);
  }
}
function want(o, k, type, where) {
  if (o[k] === undefined) return;
  const ok = type === 'array' ? Array.isArray(o[k]) : type === 'object' ? isObj(o[k]) : typeof o[k] === type;
  if (!ok) throw new Error(`${where}: "${k}" must be a ${type}`);
}
function readData(file, where) {
  const p = path.resolve(baseDir, file);
  try { return fs.readFileSync(p); } catch (e) { throw new Error(`${where}: cannot read file "${file}" (${e.code || e.message})`); }
}

// An HTTP response entry (request k on a route gets responses[k], the last
// repeats): "status" (200), "headers", and a body from one of "body" (text),
// "body_b64", "file" (relative to the script), "repeat_bytes" (that many
// bytes of "chunk" repeated) or "stream_forever" ("chunk" every
// "interval_ms", 100, until the client goes away). "gzip" encodes the body,
// "chunked" sends it without content-length, "delay_ms" waits before
// answering, "hang" never answers, "reset" closes the connection.
// "from_ms": when any response of a route has it, the route answers by time
// instead of by count: with the last response whose from_ms is at most the
// time since the route's first request (benchmarks: "whole after 2 s").
// "template": every {{id}} in the body becomes the request's {id} (the rest
// of the path for a prefix route): a trace for whatever id is asked.
// Returns the entry with defaults and the body bytes in "data".
const HTTP_RESPONSE_KEYS = ['status', 'headers', 'body', 'body_b64', 'file', 'gzip', 'delay_ms', 'chunked',
  'stream_forever', 'chunk', 'interval_ms', 'repeat_bytes', 'hang', 'reset', 'from_ms', 'template'];
function checkHttpResponse(r, where) {
  keys(r, where, HTTP_RESPONSE_KEYS);
  for (const k of ['status', 'delay_ms', 'interval_ms', 'repeat_bytes', 'from_ms']) want(r, k, 'number', where);
  for (const k of ['body', 'body_b64', 'file', 'chunk']) want(r, k, 'string', where);
  for (const k of ['gzip', 'chunked', 'stream_forever', 'hang', 'reset', 'template']) want(r, k, 'boolean', where);
  want(r, 'headers', 'object', where);
  const sources = ['body', 'body_b64', 'file', 'stream_forever', 'repeat_bytes'].filter(k => r[k] !== undefined && r[k] !== false);
  if (sources.length > 1) throw new Error(`${where}: only one of ${sources.join(', ')}`);
  if ((r.stream_forever || r.repeat_bytes !== undefined) && !r.chunk) throw new Error(`${where}: "chunk" is needed (a non-empty string)`);
  if (r.stream_forever && r.gzip) throw new Error(`${where}: "gzip" does not go with "stream_forever"`);
  const out = Object.assign({ status: 200, headers: {}, delay_ms: 0, interval_ms: 100 }, r);
  if (r.body !== undefined) out.data = Buffer.from(r.body, 'utf8');
  else if (r.body_b64 !== undefined) out.data = Buffer.from(r.body_b64, 'base64');
  else if (r.file !== undefined) out.data = readData(r.file, where);
  else if (r.repeat_bytes !== undefined) out.data = Buffer.alloc(r.repeat_bytes, r.chunk);
  else out.data = Buffer.alloc(0);
  return out;
}

// A gRPC response entry: the messages of "messages_b64" then of "files"
// (raw protobuf bytes), each after "delay_ms", then the status "code" (0)
// with "message"; "hang" never answers. A unary method answers exactly one
// message with status OK, or a status error.
// Returns {code, message, messages: [Buffer], delay_ms, hang}.
function checkGrpcResponse(r, where, stream) {
  keys(r, where, ['code', 'message', 'messages_b64', 'files', 'delay_ms', 'hang']);
  want(r, 'code', 'number', where); want(r, 'message', 'string', where);
  want(r, 'messages_b64', 'array', where); want(r, 'files', 'array', where);
  want(r, 'delay_ms', 'number', where); want(r, 'hang', 'boolean', where);
  const messages = (r.messages_b64 || []).map(m => Buffer.from(String(m), 'base64'))
    .concat((r.files || []).map((f, i) => readData(String(f), `${where}.files[${i}]`)));
  const code = r.code === undefined ? 0 : r.code;
  if (!stream && !r.hang && (code === 0) !== (messages.length === 1)) {
    throw new Error(`${where}: a unary response is exactly one message (status OK) or a status error without messages`);
  }
  return { code, message: r.message || '', messages, delay_ms: r.delay_ms || 0, hang: !!r.hang };
}

// A route: "method" (any when absent), "path" with {name} placeholders or a
// "prefix", then "responses" or "opensearch_generate"; "by_trace_id" keeps
// a response counter per placeholder value (gRPC: per request message).
// A route path: "/api/traces/{id}" ({name} matches one segment) -> RegExp.
function pathRegExp(p) {
  const parts = p.split(/(\{[A-Za-z_][A-Za-z0-9_]*\})/);
  const src = parts.map((s, i) => (i % 2 ? '([^/]+)' : s.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&'))).join('');
  return new RegExp(`^${src}$`);
}

const httpRoutes = [];
const grpcRoutes = [];
try {
  keys(script, scriptFile, ['max_seconds', 'routes', 'grpc', 'tls']);
  want(script, 'max_seconds', 'number', 'max_seconds');
  want(script, 'routes', 'array', 'routes'); want(script, 'grpc', 'array', 'grpc');
  (script.routes || []).forEach((r, i) => {
    const w = `routes[${i}]`;
    keys(r, w, ['method', 'path', 'prefix', 'responses', 'by_trace_id', 'opensearch_generate']);
    for (const k of ['method', 'path', 'prefix']) want(r, k, 'string', w);
    want(r, 'responses', 'array', w); want(r, 'by_trace_id', 'boolean', w);
    if ((r.path === undefined) === (r.prefix === undefined)) throw new Error(`${w}: exactly one of "path" and "prefix"`);
    if ((r.responses === undefined) === (r.opensearch_generate === undefined)) {
      throw new Error(`${w}: exactly one of "responses" and "opensearch_generate"`);
    }
    if (r.responses && r.responses.length === 0) throw new Error(`${w}: "responses" is empty`);
    let gen = null;
    if (r.opensearch_generate !== undefined) {
      const g = r.opensearch_generate, gw = `${w}.opensearch_generate`;
      keys(g, gw, ['spans', 'services', 'trace_id', 'max_window']);
      for (const k of ['spans', 'services', 'max_window']) want(g, k, 'number', gw);
      want(g, 'trace_id', 'string', gw);
      gen = Object.assign({ spans: 100, services: 3, max_window: 10000 }, g);
    }
    httpRoutes.push({
      label: r.path || r.prefix,
      method: r.method ? r.method.toUpperCase() : null,
      re: r.path !== undefined ? pathRegExp(r.path) : null,
      prefix: r.prefix,
      byId: !!r.by_trace_id,
      responses: (r.responses || []).map((x, j) => checkHttpResponse(x, `${w}.responses[${j}]`)),
      gen,
      counts: new Map(),
    });
  });
  (script.grpc || []).forEach((r, i) => {
    const w = `grpc[${i}]`;
    keys(r, w, ['path', 'stream', 'responses', 'by_trace_id']);
    if (typeof r.path !== 'string' || !/^\/[^/]+\/[^/]+$/.test(r.path)) throw new Error(`${w}: "path" must be "/package.Service/Method"`);
    want(r, 'stream', 'boolean', w); want(r, 'by_trace_id', 'boolean', w);
    if (!Array.isArray(r.responses) || r.responses.length === 0) throw new Error(`${w}: "responses" must be a non-empty array`);
    if (grpcRoutes.some(g => g.label === r.path)) throw new Error(`${w}: "${r.path}" is scripted twice`);
    grpcRoutes.push({
      label: r.path, stream: !!r.stream, byId: !!r.by_trace_id, counts: new Map(),
      responses: r.responses.map((x, j) => checkGrpcResponse(x, `${w}.responses[${j}]`, !!r.stream)),
    });
  });
  if (script.tls !== undefined) {
    keys(script.tls, 'tls', ['cert', 'key']);
    if (typeof script.tls.cert !== 'string' || typeof script.tls.key !== 'string') throw new Error('tls: "cert" and "key" are file names');
    script.tls = { cert: readData(script.tls.cert, 'tls.cert'), key: readData(script.tls.key, 'tls.key') };
  }
} catch (e) {
  die(`${scriptFile}: ${e.message}`);
}

// ---- request log ----------------------------------------------------------
// One JSON line a request, written synchronously before the answer starts.
function record(entry) {
  if (!logFile) return;
  fs.appendFileSync(logFile, JSON.stringify(Object.assign({ t_ms: Date.now() - started }, entry)) + '\n');
}

// The response for request number n on a route (per key when by_trace_id).
function next(route, key) {
  const k = route.byId ? key : '';
  const n = route.counts.get(k) || 0;
  route.counts.set(k, n + 1);
  if (route.responses.some(r => r.from_ms !== undefined)) {
    if (route.first === undefined) route.first = Date.now();
    const el = Date.now() - route.first;
    let pick = route.responses[0];
    for (const r of route.responses) if ((r.from_ms || 0) <= el) pick = r;
    return { n, resp: pick };
  }
  return { n, resp: route.responses.length ? route.responses[Math.min(n, route.responses.length - 1)] : null };
}

const sleep = ms => new Promise(res => setTimeout(res, ms));

// ---- OpenSearch span index generation ------------------------------------
// A trace of g.spans spans in a tree of fan-out 10 (span i's parent is span
// (i-1)/10), four spans a millisecond, each parent ending after its last
// descendant; sorted on [startTime millis, spanId] like the client asks.
const generated = new Map();
function generateTrace(g, traceId) {
  if (generated.has(traceId)) return generated.get(traceId);
  const base = Date.UTC(2024, 0, 1);
  const startMs = i => base + Math.floor(i / 4);
  const ids = [];
  for (let i = 0; i < g.spans; i++) {
    ids.push(crypto.createHash('md5').update(`${traceId}:${i}`).digest('hex').slice(0, 16));
  }
  const docs = [];
  for (let i = 0; i < g.spans; i++) {
    let last = i; // last descendant: keep taking the last child
    while (10 * last + 1 < g.spans) last = Math.min(10 * last + 10, g.spans - 1);
    const s = startMs(i), e = startMs(last) + 1;
    const service = `service-${i % g.services}`;
    docs.push({
      traceId,
      spanId: ids[i],
      parentSpanId: i === 0 ? '' : ids[Math.floor((i - 1) / 10)],
      name: i === 0 ? 'root' : `operation-${i % 10}`,
      kind: 'SPAN_KIND_INTERNAL',
      startTime: new Date(s).toISOString(),
      endTime: new Date(e).toISOString(),
      durationInNanos: (e - s) * 1e6,
      serviceName: service,
      'resource.attributes.service@name': service,
      traceGroup: 'root',
      'status.code': 0,
    });
  }
  const sortKey = d => [Date.parse(d.startTime), d.spanId];
  docs.sort((a, b) => cmpSort(sortKey(a), sortKey(b)));
  const t = { docs, keys: docs.map(sortKey) };
  generated.set(traceId, t);
  return t;
}
function cmpSort(a, b) {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}
// The trace id of a term/match query on "traceId", wherever it is nested.
function findTraceId(q) {
  if (!q || typeof q !== 'object') return null;
  if (q.traceId !== undefined) {
    const v = q.traceId;
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    if (isObj(v) && typeof (v.value ?? v.query) === 'string') return v.value ?? v.query;
  }
  for (const v of Object.values(q)) {
    const id = findTraceId(v);
    if (id) return id;
  }
  return null;
}
function opensearchSearch(g, index, body) {
  let req;
  try { req = JSON.parse(body.toString('utf8') || '{}'); } catch (e) { return [400, { error: `request body: ${e.message}`, status: 400 }]; }
  const traceId = findTraceId(req.query);
  if (!traceId) return [400, { error: 'no term query on "traceId" in the request', status: 400 }];
  const size = req.size === undefined ? 10 : Number(req.size);
  const from = req.from === undefined ? 0 : Number(req.from);
  if (from + size > g.max_window) {
    return [400, { error: { type: 'illegal_argument_exception', reason: `Result window is too large, from + size must be less than or equal to: [${g.max_window}] but was [${from + size}]` }, status: 400 }];
  }
  const t = (g.trace_id === undefined || g.trace_id === traceId) ? generateTrace(g, traceId) : { docs: [], keys: [] };
  let start = 0;
  if (Array.isArray(req.search_after)) {
    const after = [Number(req.search_after[0]), String(req.search_after[1] ?? '')];
    let lo = 0, hi = t.keys.length; // first key > after
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmpSort(t.keys[mid], after) <= 0) lo = mid + 1; else hi = mid;
    }
    start = lo;
  }
  start += from;
  const hits = t.docs.slice(start, start + size).map((d, i) => ({
    _index: index, _id: d.spanId, _score: null, _source: d, sort: t.keys[start + i],
  }));
  return [200, {
    took: 1, timed_out: false, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
    hits: { total: { value: t.docs.length, relation: 'eq' }, max_score: null, hits },
  }];
}

// ---- HTTP(S) ---------------------------------------------------------------
function matchRoute(method, pathname) {
  for (const r of httpRoutes) {
    if (r.method && r.method !== method) continue;
    if (r.re) {
      const m = r.re.exec(pathname);
      if (m) return { route: r, key: m.slice(1).join('/') };
    } else if (pathname.startsWith(r.prefix)) {
      return { route: r, key: pathname.slice(r.prefix.length) };
    }
  }
  return null;
}

async function sendHttp(req, res, r, key) {
  if (r.delay_ms) await sleep(r.delay_ms);
  if (r.hang) return; // keep the connection, never answer
  if (r.reset) { req.socket.destroy(); return; }
  const headers = Object.assign({}, r.headers);
  if (r.stream_forever) {
    res.writeHead(r.status, headers);
    const chunk = Buffer.from(r.chunk);
    const tick = () => { if (!res.destroyed) res.write(chunk); };
    tick();
    const timer = setInterval(tick, r.interval_ms);
    res.on('close', () => clearInterval(timer));
    return;
  }
  let data = r.data;
  if (r.template) data = Buffer.from(data.toString('utf8').split('{{id}}').join(String(key || '')));
  if (r.gzip) { data = zlib.gzipSync(data); headers['content-encoding'] = 'gzip'; }
  if (!r.chunked) headers['content-length'] = data.length;
  res.writeHead(r.status, headers);
  if (r.chunked) res.write(data);
  res.end(r.chunked ? undefined : data);
}

function onHttp(proto) {
  return (req, res) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, 'http://fake');
      const m = matchRoute(req.method, url.pathname);
      const { n, resp } = m ? next(m.route, m.key) : { n: null, resp: null };
      record({
        proto, method: req.method, path: url.pathname, query: url.search.slice(1), route: m ? m.route.label : null,
        headers: req.headers, body_b64: body.toString('base64'), n,
      });
      if (!m) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`fake backend: no route for ${req.method} ${url.pathname}\n`);
      } else if (m.route.gen) {
        const [status, out] = opensearchSearch(m.route.gen, url.pathname.split('/')[1] || '', body);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out));
      } else {
        sendHttp(req, res, resp, m.key).catch(e => { process.stderr.write(`fake backend: ${e.stack}\n`); res.destroy(); });
      }
    });
  };
}

// ---- gRPC -------------------------------------------------------------------
function metadataHeaders(md) {
  const out = {};
  for (const [k, v] of Object.entries(md.getMap())) out[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
  return out;
}

function grpcHandler(route) {
  const begin = call => {
    const request = call.request || Buffer.alloc(0);
    const { n, resp } = next(route, request.toString('hex'));
    record({
      proto: 'grpc', method: 'POST', path: route.label, route: route.label,
      headers: metadataHeaders(call.metadata), body_b64: request.toString('base64'), n,
    });
    return resp;
  };
  if (!route.stream) {
    return async (call, callback) => {
      const r = begin(call);
      if (r.delay_ms) await sleep(r.delay_ms);
      if (r.hang || call.cancelled) return;
      if (r.code !== 0) callback({ code: r.code, details: r.message });
      else callback(null, r.messages[0]);
    };
  }
  return async call => {
    let cancelled = false;
    call.on('cancelled', () => { cancelled = true; });
    const r = begin(call);
    if (r.hang) return;
    // each message after delay_ms, then the status (OK, or the scripted error)
    for (const m of r.messages) {
      if (r.delay_ms) await sleep(r.delay_ms);
      if (cancelled) return;
      call.write(m);
    }
    if (r.messages.length === 0 && r.delay_ms) await sleep(r.delay_ms);
    if (cancelled) return;
    if (r.code !== 0) call.emit('error', { code: r.code, details: r.message });
    else call.end();
  };
}

function startGrpc() {
  const grpc = require(path.join(__dirname, '..', '..', 'demo', 'node_modules', '@grpc', 'grpc-js'));
  const server = new grpc.Server();
  const same = b => b; // raw bytes in and out: no .proto needed
  grpcRoutes.forEach((route, i) => {
    const name = `m${i}`;
    server.addService({
      [name]: {
        path: route.label, requestStream: false, responseStream: route.stream,
        requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same,
      },
    }, { [name]: grpcHandler(route) });
  });
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
}

// ---- main -------------------------------------------------------------------
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function main() {
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
  const maxSeconds = script.max_seconds === undefined ? 120 : script.max_seconds;
  setTimeout(() => {
    process.stderr.write(`fake backend: stopping after max_seconds (${maxSeconds})\n`);
    process.exit(3);
  }, maxSeconds * 1000);
  if (logFile) fs.writeFileSync(logFile, '');
  const ports = { http: await listen(http.createServer(onHttp('http'))), grpc: null, https: null };
  if (grpcRoutes.length) ports.grpc = await startGrpc();
  if (script.tls) ports.https = await listen(https.createServer(script.tls, onHttp('https')));
  const line = JSON.stringify(ports) + '\n';
  if (readyFile) {
    const tmp = `${readyFile}.tmp${process.pid}`;
    fs.writeFileSync(tmp, line);
    fs.renameSync(tmp, readyFile);
  }
  process.stdout.write(line);
}
main().catch(e => {
  process.stderr.write(`fake backend: ${e.message}\n`);
  process.exit(1);
});
