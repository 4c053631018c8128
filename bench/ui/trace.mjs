// Writes a big OTLP JSON trace in pieces for the UI benchmark: N spans (and
// their root) of trace TID across six services, a tree four levels deep
// (root -> 20 requests -> their calls -> database queries), with a few
// attributes each and some error spans. One file PREFIX.K.json per 2,000
// spans, each an ExportTraceServiceRequest for the OTLP/HTTP receiver.
// Usage: node trace.mjs TID N PREFIX   (prints the number of files)
import fs from 'node:fs';

const [tid, nArg, prefix] = process.argv.slice(2);
const n = Number(nArg);
if (!/^[0-9a-f]{32}$/.test(tid || '') || !(n > 0) || !prefix) {
  console.error('usage: node trace.mjs TID N PREFIX');
  process.exit(2);
}
const services = ['gateway', 'orders', 'payments', 'inventory', 'search', 'mailer'];
const hex = (i) => (0x1000000000000000n + BigInt(i)).toString(16);
const t0 = 1700000000000000000n;
const ns = (ms) => (t0 + BigInt(Math.round(ms * 1e6))).toString();
const attr = (k, v) => ({ key: k, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: String(v) } });

// spans[i] = {service, span}; span 0 is the root
const spans = [];
const add = (parent, service, name, kind, start, dur, attrs, error) => {
  const i = spans.length;
  const s = {
    traceId: tid, spanId: hex(i), name, kind,
    startTimeUnixNano: ns(start), endTimeUnixNano: ns(start + dur), attributes: attrs,
  };
  if (parent != null) s.parentSpanId = hex(parent);
  if (error) s.status = { code: 2, message: 'failed on purpose' };
  spans.push({ service, span: s });
  return i;
};
add(null, 'gateway', 'POST /checkout', 2, 0, 4000, [attr('http.request.method', 'POST'), attr('http.route', '/checkout')]);
const perRequest = Math.ceil(n / 20);
for (let r = 0; r < 20 && spans.length <= n; r++) {
  const start = r * 190;
  const svc = services[1 + (r % (services.length - 1))];
  const req = add(0, svc, `POST /${svc}/${r}`, 2, start, 180, [attr('http.response.status_code', 200), attr('request.index', r)]);
  for (let c = 0; spans.length <= n && c < perRequest - 1; c++) {
    const cs = start + (c % 170) + 1;
    if (c % 3 === 0) {
      add(req, svc, `SELECT ${svc}.items`, 3, cs, 0.8, [attr('db.system.name', 'postgresql'),
        attr('db.query.text', `SELECT * FROM items WHERE id = $1 /* ${c} */`)], c % 97 === 0);
    } else {
      const call = add(req, svc, `call ${services[(c + r) % services.length]} #${c}`, 3, cs, 1.5, [attr('rpc.system', 'grpc'), attr('call.index', c)]);
      if (spans.length <= n && c % 3 === 2) add(call, svc, 'cache lookup', 1, cs + 0.2, 0.3, [attr('cache.hit', c % 2 ? 'true' : 'false')]);
    }
  }
}
let files = 0;
for (let i = 0; i < spans.length; i += 2000) {
  const bySvc = new Map();
  for (const { service, span } of spans.slice(i, i + 2000)) {
    if (!bySvc.has(service)) bySvc.set(service, []);
    bySvc.get(service).push(span);
  }
  const body = {
    resourceSpans: [...bySvc].map(([service, list]) => ({
      resource: { attributes: [attr('service.name', service)] },
      scopeSpans: [{ scope: { name: 'bench' }, spans: list }],
    })),
  };
  fs.writeFileSync(`${prefix}.${files++}.json`, JSON.stringify(body));
}
console.log(files);
