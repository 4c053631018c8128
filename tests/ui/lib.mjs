// Helpers shared by the browser tests (tests/ui/*.test.mjs), the
// screenshots (tests/ui/screenshots.mjs) and the UI benchmark (bench/ui):
// the headless Chromium, calls to the REST API (docs/api.md), and bounded
// polls. Settings come from the environment (tests/sh/ui.sh sets them):
//   TC_UI_URL       the server (`tracecheck serve`): UI and API
//   TC_CHROMIUM     the browser (default /usr/bin/chromium)
import { chromium } from 'playwright-core';

export const base = (process.env.TC_UI_URL || 'http://127.0.0.1:11633').replace(/\/$/, '');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.TC_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-first-run', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

// api('GET', '/api/runs/1') -> {status, body (parsed JSON when it parses), text}
export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(20000) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (!init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(base + path, init);
  const text = await r.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body: parsed, text, headers: r.headers };
}

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// Polls fn() (sync or async) every `every` ms until it returns a truthy
// value, which it returns; throws "timed out: WHAT (last: ...)" after ms
// (WHAT a string, or a function giving it then).
export async function until(fn, ms, what, every = 50) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      const l = last instanceof Error ? last.message : JSON.stringify(last);
      const w = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${ms} ms: ${w} (last: ${String(l).slice(0, 300)})`);
    }
    await sleep(every);
  }
}

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// POST /api/{kind}/{id}/run -> the run id
export async function startRun(testId, body = {}, kind = 'tests') {
  const r = await api('POST', `/api/${kind}/${testId}/run`, body);
  check(r.status === 202, `POST /api/${kind}/${testId}/run: ${r.status} ${r.text.slice(0, 300)}`);
  return r.body.id;
}

// Waits (bounded) until run ID has ended; returns GET /api/runs/{id}.
export async function waitRun(id, ms = 30000) {
  return until(async () => {
    const r = await api('GET', `/api/runs/${id}`);
    return r.status === 200 && r.body.finished != null ? r.body : null;
  }, ms, `run ${id} to end`, 100);
}

// The spans of an OTLP JSON trace (ExportTraceServiceRequest).
export function traceSpans(trace) {
  const out = [];
  for (const rs of trace?.resourceSpans || [])
    for (const ss of rs.scopeSpans || []) for (const s of ss.spans || []) out.push(s);
  return out;
}

// The rows of a waterfall with everything expanded: the spans and one
// "missing parent" row per parent span id that is not in the trace.
export function waterfallRows(trace) {
  const spans = traceSpans(trace);
  const ids = new Set(spans.map((s) => (s.spanId || '').toLowerCase()));
  const missing = new Set();
  for (const s of spans) {
    const p = (s.parentSpanId || '').toLowerCase();
    if (p && !/^0+$/.test(p) && !ids.has(p)) missing.add(p);
  }
  return { spans: spans.length, missing: missing.size, rows: spans.length + missing.size };
}

// Attribute values of the span rows in the DOM (the waterfall is virtualized:
// only the rows in view are there).
export async function rowAttrs(page, attr = 'data-span-id', sel = '[data-testid="span-row"]') {
  return page.$$eval(sel, (els, a) => els.map((e) => e.getAttribute(a)), attr);
}

export const tid = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');

// The demo's variables (tests/sh/ui.sh passes the addresses it started).
export const demoVars = () => ({
  GATEWAY_URL: process.env.GATEWAY_URL || 'http://127.0.0.1:8080',
  INVENTORY_ADDR: process.env.INVENTORY_ADDR || '127.0.0.1:8083',
});

// A finished run of TEST started through the API, once for every test that
// asks (shared[KEY] holds the promise of its id).
export function sharedRun(shared, key, testId) {
  if (!shared[key]) {
    shared[key] = (async () => {
      const id = await startRun(testId, { variables: demoVars() });
      await waitRun(id);
      return id;
    })();
    shared[key].catch(() => {});
  }
  return shared[key];
}

// Whether TEXT shows the number N on its own (not inside another number;
// text nodes run together in textContent: "FINISHED6 passed").
export const hasNumber = (text, n) => new RegExp(`(?<![0-9.])${n}(?![0-9]|\\.[0-9])`).test(text || '');
