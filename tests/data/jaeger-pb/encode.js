// encode.js - writes the protobuf bodies of this folder (one
// jaeger.api_v2.SpansResponseChunk each, as Jaeger's gRPC query service
// streams from GetTrace) from Jaeger's JSON fixtures, and the query
// service's HTTP JSON form ({"data": [...]}) of the fixtures Jaeger has no
// such form of. Uses protobufjs and tracecheck's .proto files; the output is
// deterministic. Run: node tests/data/jaeger-pb/encode.js
'use strict';
const fs = require('fs');
const path = require('path');
const protobuf = require('../../../demo/node_modules/protobufjs');

const here = __dirname;
const protoDir = path.join(here, '../../../proto');
const root = new protobuf.Root();
root.resolvePath = (origin, target) => (path.isAbsolute(target) ? target : path.join(protoDir, target));
root.loadSync('jaeger/api_v2/query.proto', { keepCase: true });
const Chunk = root.lookupType('jaeger.api_v2.SpansResponseChunk');

// JSON.parse, keeping integers of 16 digits or more exact (as strings).
function readJson(name) {
  const text = fs.readFileSync(path.join(here, name), 'utf8');
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

// An id as n bytes: hex (Jaeger's own JSON form, zero-padded on the left)
// or base64 (the protobuf JSON form).
function idBytes(s, n) {
  const b = /^[0-9a-fA-F]{1,32}$/.test(s) ? Buffer.from(s.padStart(2 * n, '0'), 'hex') : Buffer.from(s, 'base64');
  if (b.length > n) throw new Error(`id ${s} is longer than ${n} bytes`);
  return Buffer.concat([Buffer.alloc(n - b.length), b]);
}

// RFC 3339 with up to nine fraction digits -> {seconds, nanos}.
function timestamp(s) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) throw new Error(`bad time ${s}`);
  return { seconds: Date.parse(m[1] + m[3]) / 1000, nanos: parseInt((m[2] || '').padEnd(9, '0'), 10) };
}

// A Go duration ("5000ns", "1.5s", "1m0s") -> {seconds, nanos}.
function duration(s) {
  const unit = { ns: 1n, us: 1000n, 'µs': 1000n, ms: 1000000n, s: 1000000000n, m: 60000000000n, h: 3600000000000n };
  let ns = 0n;
  for (const m of s.matchAll(/(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h)/g)) {
    const frac = m[2] || '';
    ns += (BigInt(m[1] + frac) * unit[m[3]]) / 10n ** BigInt(frac.length);
  }
  return nanosTime(ns);
}

function nanosTime(ns) {
  return { seconds: Number(ns / 1000000000n), nanos: Number(ns % 1000000000n) };
}

function domainKv(t) {
  const kv = { key: t.key, v_type: t.vType || 'STRING' };
  if (t.vStr !== undefined) kv.v_str = t.vStr;
  if (t.vBool !== undefined) kv.v_bool = t.vBool;
  if (t.vInt64 !== undefined) kv.v_int64 = String(t.vInt64);
  if (t.vFloat64 !== undefined) kv.v_float64 = t.vFloat64;
  if (t.vBinary !== undefined) kv.v_binary = Buffer.from(t.vBinary, 'base64');
  return kv;
}

// A span of Jaeger's protobuf JSON (api_v2 model) as a protobufjs object.
function fromDomain(s) {
  return {
    trace_id: idBytes(s.traceId, 16),
    span_id: idBytes(s.spanId, 8),
    operation_name: s.operationName || '',
    references: (s.references || []).map((r) => ({
      trace_id: idBytes(r.traceId, 16),
      span_id: idBytes(r.spanId, 8),
      ref_type: r.refType || 'CHILD_OF',
    })),
    ...(s.flags ? { flags: s.flags } : {}),
    start_time: timestamp(s.startTime),
    duration: duration(s.duration),
    tags: (s.tags || []).map(domainKv),
    logs: (s.logs || []).map((l) => ({ timestamp: timestamp(l.timestamp), fields: (l.fields || []).map(domainKv) })),
    process: s.process && { service_name: s.process.serviceName || '', tags: (s.process.tags || []).map(domainKv) },
    warnings: s.warnings || [],
  };
}

// A typed value of the query service's JSON; without a type, the JSON
// value's type is taken (as jaeger_json_decode does).
function uiKv(t) {
  const inferred =
    typeof t.value === 'string' ? 'STRING'
    : typeof t.value === 'boolean' ? 'BOOL'
    : Number.isInteger(t.value) ? 'INT64' : 'FLOAT64';
  const kv = { key: t.key, v_type: t.type ? t.type.toUpperCase() : inferred };
  switch (kv.v_type) {
    case 'BOOL': kv.v_bool = t.value === true || t.value === 'true'; break;
    case 'INT64': kv.v_int64 = String(t.value); break;
    case 'FLOAT64': kv.v_float64 = Number(t.value); break;
    case 'BINARY': kv.v_binary = Buffer.from(t.value, 'base64'); break;
    default: kv.v_str = t.value;
  }
  return kv;
}

function microsTime(us) {
  return nanosTime(BigInt(us) * 1000n);
}

// The spans of one trace of the query service's JSON as protobufjs objects.
function fromUi(t) {
  return t.spans.map((s) => {
    const p = s.process || t.processes[s.processID];
    return {
      trace_id: idBytes(s.traceID, 16),
      span_id: idBytes(s.spanID, 8),
      operation_name: s.operationName,
      references: (s.references || []).map((r) => ({
        trace_id: idBytes(r.traceID, 16),
        span_id: idBytes(r.spanID, 8),
        ref_type: r.refType,
      })),
      ...(s.flags ? { flags: s.flags } : {}),
      start_time: microsTime(s.startTime),
      duration: microsTime(s.duration),
      tags: (s.tags || []).map(uiKv),
      logs: (s.logs || []).map((l) => ({ timestamp: microsTime(l.timestamp), fields: (l.fields || []).map(uiKv) })),
      process: { service_name: p.serviceName, tags: (p.tags || []).map(uiKv) },
      warnings: s.warnings || [],
    };
  });
}

// Jaeger's TraceID.String(): the low half alone when the high half is zero.
function traceIdText(b) {
  const hex = b.toString('hex');
  return hex.startsWith('0000000000000000') ? hex.slice(16) : hex;
}

function micros(t) {
  return Number((BigInt(t.seconds) * 1000000000n + BigInt(t.nanos)) / 1000n);
}

function uiValue(kv) {
  switch (kv.v_type) {
    case 'BOOL': return { type: 'bool', value: !!kv.v_bool };
    case 'INT64': {
      const n = BigInt(kv.v_int64 || 0);
      return { type: 'int64', value: n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER) ? String(n) : Number(n) };
    }
    case 'FLOAT64': return { type: 'float64', value: kv.v_float64 || 0 };
    case 'BINARY': return { type: 'binary', value: Buffer.from(kv.v_binary || []).toString('base64') };
    default: return { type: 'string', value: kv.v_str || '' };
  }
}

function uiTags(kvs) {
  return kvs.map((kv) => ({ key: kv.key, ...uiValue(kv) }));
}

// Spans (protobufjs objects) as the query service's JSON, with one
// processes entry (p1, p2, ...) per distinct process, in order of first use.
function toUi(spans) {
  const processes = {};
  const keys = new Map();
  const out = spans.map((s) => {
    const proc = { serviceName: s.process.service_name, tags: uiTags(s.process.tags) };
    const k = JSON.stringify(proc);
    if (!keys.has(k)) {
      keys.set(k, `p${keys.size + 1}`);
      processes[keys.get(k)] = proc;
    }
    return {
      traceID: traceIdText(s.trace_id),
      spanID: s.span_id.toString('hex'),
      operationName: s.operation_name,
      references: s.references.map((r) => ({
        refType: r.ref_type,
        traceID: traceIdText(r.trace_id),
        spanID: r.span_id.toString('hex'),
      })),
      startTime: micros(s.start_time),
      duration: micros(s.duration),
      tags: uiTags(s.tags),
      logs: s.logs.map((l) => ({ timestamp: micros(l.timestamp), fields: uiTags(l.fields) })),
      processID: keys.get(k),
      warnings: s.warnings.length ? s.warnings : null,
    };
  });
  const trace = { traceID: out[0].traceID, spans: out, processes, warnings: null };
  return { data: [trace], total: 0, limit: 0, offset: 0, errors: null };
}

function writeChunk(name, spans) {
  const msg = Chunk.fromObject({ spans });
  const err = Chunk.verify(msg);
  if (err) throw new Error(`${name}: ${err}`);
  fs.writeFileSync(path.join(here, name), Chunk.encode(msg).finish());
}

function writeJson(name, obj) {
  fs.writeFileSync(path.join(here, name), JSON.stringify(obj, null, 2) + '\n');
}

// domain_01: Jaeger has the JSON form too (ui_01.json).
writeChunk('domain_01.pb', readJson('domain_01.json').spans.map(fromDomain));

// integration fixtures: protobuf, the JSON form, and the trace cut in two chunks
for (const name of ['example_trace', 'process_tags_trace']) {
  const spans = readJson(`${name}.json`).spans.map(fromDomain);
  writeChunk(`${name}.pb`, spans);
  writeJson(`${name}.ui.json`, toUi(spans));
  if (spans.length > 2) {
    writeChunk(`${name}.1.pb`, spans.slice(0, 2));
    writeChunk(`${name}.2.pb`, spans.slice(2));
  }
}

// the query service's JSON of an OTLP trace: back to protobuf
writeChunk('otlp2jaeger-out.pb', readJson('otlp2jaeger-out.json').data.flatMap(fromUi));

// tracecheck's own Jaeger JSON cases (tests/data/jaeger), for the mapping
// rules Jaeger's fixtures do not reach (status, scopes, kinds, processes)
for (const name of ['status-kinds', 'logs-links', 'multi-process']) {
  writeChunk(`jaeger-${name}.pb`, readJson(`../jaeger/${name}.json`).data.flatMap(fromUi));
}
