// run.js - the Run page (/runs/{id}, /runs/{id}/playground): the run's
// state and timeline, its trigger's request and response, outputs, specs,
// the waterfall with the selected spec's spans lit, the span panel, live
// progress while the run waits (event stream), and the playground.
import {
  html, useState, useEffect, useMemo, useRef, setQuery, fmtDuration, fmtTime, fmtNs, prettyBody,
  StateBadge, ResultBadge, ErrorBox, Spinner, isRunning, resultOf, setTitle,
} from '../lib.js';
import { api, streamEvents } from '../api.js';
import { parseTrace, buildTree, computedAttributes, assertionFor } from '../trace.js';
import { Waterfall } from '../waterfall.js';
import { Playground } from './playground.js';

const EMPTY_TRACE = { spans: [], byId: new Map(), base: 0n, start: 0, end: 0, services: [] };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function addStep(timeline, st) {
  const tl = timeline ? timeline.slice() : [];
  if (!tl.some((x) => x.state === st.state && x.at === st.at)) tl.push({ state: st.state, at: st.at });
  return tl;
}

// The run, its parsed trace and its live progress, followed while it runs.
export function useRun(id) {
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  const [trace, setTrace] = useState(null);
  const [wait, setWait] = useState(null);
  const [spanCount, setSpanCount] = useState(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let alive = true;
    const ac = new AbortController();
    let last = 0;
    let timer = null;
    let inflight = false;
    let pending = false;
    setRun(null);
    setTrace(null);
    setError(null);
    setWait(null);
    const fetchTrace = async () => {
      if (inflight) {
        pending = true;
        return;
      }
      inflight = true;
      last = Date.now();
      try {
        const doc = await api(`/api/runs/${id}/trace`, { signal: ac.signal });
        if (alive) setTrace(parseTrace(doc));
      } catch (e) {
        if (alive && e.status === 404) setTrace((t) => t || EMPTY_TRACE);
      }
      inflight = false;
      if (pending && alive) {
        pending = false;
        schedule();
      }
    };
    const schedule = () => {
      if (timer || !alive) return;
      timer = setTimeout(() => {
        timer = null;
        fetchTrace();
      }, Math.max(0, 500 - (Date.now() - last)));
    };
    const follow = async () => {
      let r;
      try {
        r = await api(`/api/runs/${id}`, { signal: ac.signal });
      } catch (e) {
        if (alive && e.name !== 'AbortError') setError(e);
        return;
      }
      if (!alive) return;
      setRun(r);
      setSpanCount(r.spans);
      fetchTrace();
      if (!isRunning(r.state)) return;
      try {
        await streamEvents(
          `/api/runs/${id}/events`,
          (ev, data) => {
            if (!alive || !data || typeof data !== 'object') return;
            if (ev === 'state') setRun((p) => p && { ...p, state: data.state, timeline: addStep(p.timeline, data) });
            else if (ev === 'spans') {
              setSpanCount(data.count);
              schedule();
            } else if (ev === 'wait') {
              setWait(data);
              if (typeof data.spans === 'number') setSpanCount(data.spans);
            } else if (ev === 'result') {
              setRun(data);
              setSpanCount(data.spans);
              setWait(null);
              schedule();
            }
          },
          ac.signal,
        );
      } catch (e) {
        if (e.name === 'AbortError' || !alive) return;
      }
      // the stream ended (or could not be read): poll until the run ends
      while (alive) {
        let r2 = null;
        try {
          r2 = await api(`/api/runs/${id}`, { signal: ac.signal });
        } catch (e) {
          if (e.name === 'AbortError') return;
        }
        if (!alive) return;
        if (r2) {
          setRun(r2);
          setSpanCount(r2.spans);
          if (!isRunning(r2.state)) {
            setWait(null);
            fetchTrace();
            return;
          }
        }
        schedule();
        await sleep(1000);
      }
    };
    follow();
    return () => {
      alive = false;
      ac.abort();
      clearTimeout(timer);
    };
  }, [id, reload]);
  return { run, error, trace, wait, spanCount, reload: () => setReload((x) => x + 1) };
}

// Every spec of the run (a suite's, test after test), with its test's name.
export function specsOf(run) {
  const res = run && run.results;
  if (!res) return [];
  if (Array.isArray(res.tests)) return res.tests.flatMap((t) => (t.specs || []).map((s) => ({ ...s, test: t.name || t.id })));
  return res.specs || [];
}

export function historyHref(run) {
  return `/${run.kind === 'suite' ? 'testsuites' : 'tests'}/${encodeURIComponent(run.test_id)}`;
}

export function RunSummary({ run, spanCount, compact }) {
  return html`<div class="run-summary">
    <div class="kv"><span class="k">State</span><${StateBadge} state=${run.state} result=${run.result} testid="run-state" /></div>
    <div class="kv"><span class="k">Result</span><${ResultBadge} result=${resultOf(run) === 'running' ? 'empty' : run.result} testid="run-result" /></div>
    <div class="kv"><span class="k">Specs</span><span><span class="ok">${run.passed ?? 0} passed</span> · <span class=${run.failed ? 'bad' : 'muted'}>${run.failed ?? 0} failed</span></span></div>
    <div class="kv"><span class="k">Duration</span><span>${fmtDuration(run.duration_ms)}</span></div>
    <div class="kv"><span class="k">Spans</span><span data-testid="span-count">${spanCount ?? run.spans ?? 0}</span></div>
    ${!compact && html`<div class="kv"><span class="k">Created</span><span title=${run.created}>${fmtTime(run.created)}</span></div>`}
    <div class="kv"><span class="k">Version</span><span>v${run.version}</span></div>
    ${!compact && html`<div class="kv kv-wide"><span class="k">Trace</span><span class="mono small">${run.trace_id || '—'}</span></div>`}
  </div>`;
}

function Timeline({ timeline }) {
  const tl = timeline || [];
  const t0 = tl.length ? new Date(tl[0].at).getTime() : 0;
  return html`<ol class="timeline" data-testid="timeline">
    ${tl.map((st, i) => {
      const t = new Date(st.at).getTime();
      return html`<li class="timeline-step" data-testid="timeline-step" data-state=${st.state} key=${i}>
        <span class="tl-dot"></span><span class="tl-state">${st.state}</span>
        <span class="tl-time mono" title=${st.at}>${fmtTime(st.at).slice(11)}${i ? html` <span class="muted">+${fmtDuration(t - t0)}</span>` : ''}</span>
      </li>`;
    })}
  </ol>`;
}

function Headers({ headers }) {
  if (!headers) return null;
  const list = Array.isArray(headers) ? headers.map((h) => [h.key ?? h.name, h.value]) : Object.entries(headers);
  if (!list.length) return null;
  return html`<table class="kvtable">${list.map(([k, v], i) => html`<tr key=${i}><td class="mono">${k}</td><td class="mono">${String(v)}</td></tr>`)}</table>`;
}

function requestLine(t) {
  const rq = (t && t.request) || {};
  if (t.type === 'traceid') return html`<span class="mono">trace id ${rq.id || ''}</span>`;
  return html`<span class="mono"><b>${rq.method || ''}</b> ${rq.url || rq.address || ''}</span>`;
}

// A suite's triggers, one per step (named after the step's test).
function SuiteTrigger({ trigger, tests }) {
  // a step that did not run is null; a step names its test (and trace)
  const steps = (trigger.steps || []).map((t) => t || { type: 'not run' });
  const name = (i) =>
    (tests && tests[i] && (tests[i].name || tests[i].id)) || steps[i].test || `step ${i + 1}`;
  return html`<div class="card-pair">
    <div class="card" data-testid="trigger-request"><div class="card-title">Triggers <span class="tag">suite</span></div>
      ${steps.length === 0 && html`<div class="muted">None ran.</div>`}
      ${steps.map((t, i) => html`<div class="suite-step" key=${i}><div><b>${i + 1}. ${name(i)}</b> <span class="tag">${t.type}</span></div>${requestLine(t)}</div>`)}
    </div>
    <div class="card" data-testid="trigger-response"><div class="card-title">Responses</div>
      ${steps.map((t, i) => html`<div class="suite-step" key=${i}><div><b>${i + 1}. ${name(i)}</b></div>
        ${t.response
          ? html`<span class=${`status-code s${String(t.response.status || '')[0] || 0}`} data-testid=${i === 0 ? 'response-status' : undefined}>${t.response.status ?? ''}</span>
              ${t.response.body ? html`<pre class="code" data-testid=${i === 0 ? 'response-body' : undefined}>${prettyBody(t.response.body)}</pre>` : ''}`
          : html`<span class="muted">no response</span>`}</div>`)}
    </div>
  </div>`;
}

function Trigger({ trigger, tests }) {
  if (!trigger) return html`<div class="card"><div class="card-title">Trigger</div><div class="muted">—</div></div>`;
  if (trigger.type === 'suite') return html`<${SuiteTrigger} trigger=${trigger} tests=${tests} />`;
  const rq = trigger.request || {};
  const rp = trigger.response;
  let reqView;
  if (trigger.type === 'traceid') reqView = html`<div class="mono">trace id ${rq.id || ''}</div>`;
  else
    reqView = html`<div class="mono req-line"><b>${rq.method || ''}</b> ${rq.url || rq.address || ''}${rq.method_name || rq.methodName ? ' ' + (rq.method_name || rq.methodName) : ''}</div>
      <${Headers} headers=${rq.headers} />
      ${rq.body ? html`<pre class="code">${prettyBody(rq.body)}</pre>` : ''}
      ${!rq.method && !rq.url ? html`<pre class="code">${JSON.stringify(rq, null, 2)}</pre>` : ''}`;
  return html`<div class="card-pair">
    <div class="card" data-testid="trigger-request"><div class="card-title">Trigger request <span class="tag">${trigger.type}</span></div>${reqView}</div>
    <div class="card" data-testid="trigger-response"><div class="card-title">Response</div>
      ${rp
        ? html`<div class="resp-status"><span data-testid="response-status" class=${`status-code s${String(rp.status || '')[0] || 0}`}>${rp.status ?? rp.statusCode ?? ''}</span></div>
          <${Headers} headers=${rp.headers} />
          <pre class="code" data-testid="response-body">${prettyBody(rp.body ?? '')}</pre>`
        : html`<div class="muted">No response${trigger.type === 'traceid' ? ' (a trace id trigger calls nothing)' : ''}.</div>`}
    </div>
  </div>`;
}

function Outputs({ outputs }) {
  const list = outputs ? Object.entries(outputs) : [];
  return html`<div class="card" data-testid="outputs"><div class="card-title">Outputs</div>
    ${list.length
      ? html`<table class="kvtable">${list.map(([k, v]) => html`<tr key=${k}><td class="mono">${k}</td><td class="mono">${typeof v === 'string' ? v : JSON.stringify(v)}</td></tr>`)}</table>`
      : html`<div class="muted">None.</div>`}
  </div>`;
}

export function SpecList({ specs, selected, onSelect }) {
  return html`<ul class="spec-list" data-testid="spec-list">
    ${specs.length === 0 && html`<li class="muted pad">No specs (yet).</li>`}
    ${specs.map((s, i) => {
      const nAss = (s.spans || []).reduce((n, sp) => n + (sp.assertions || []).length, 0);
      const nFail = (s.spans || []).reduce((n, sp) => n + (sp.assertions || []).filter((a) => !a.passed).length, 0);
      return html`<li key=${i} class=${`spec-item${selected === i ? ' is-selected' : ''}${s.passed ? ' pass' : ' fail'}`}
        data-testid="spec-item" data-index=${i} data-passed=${String(!!s.passed)} tabindex="0" role="button"
        aria-pressed=${selected === i ? 'true' : 'false'}
        onClick=${() => onSelect(selected === i ? null : i)}
        onKeyDown=${(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), onSelect(selected === i ? null : i))}>
        <span class=${`spec-mark ${s.passed ? 'ok' : 'bad'}`}>${s.passed ? '✓' : '✗'}</span>
        <div class="spec-body">
          ${s.test && html`<div class="muted small">${s.test}</div>`}
          <div class="spec-name">${s.name || html`<span class="muted">unnamed spec</span>`}</div>
          <div class="spec-selector mono">${s.selector}</div>
          <div class="muted small">${s.selected_spans ?? 0} span${s.selected_spans === 1 ? '' : 's'} · ${nAss - nFail}/${nAss} assertions${s.error ? '' : ''}</div>
          ${s.error && html`<div class="bad small">${s.error}</div>`}
          ${selected === i &&
          html`<ul class="spec-assertions">${(s.spans || []).flatMap((sp, j) =>
            (sp.assertions || []).map((a, k) => html`<li key=${j + ':' + k} class=${a.passed ? 'ok' : 'bad'}>
              <span class="mono">${a.assertion}</span>${sp.name ? html` <span class="muted small">on ${sp.name}</span>` : ''}
              ${!a.passed && html`<div class="small">observed <span class="mono">${a.observed ?? '—'}</span>, expected <span class="mono">${a.expected ?? '—'}</span>${a.error ? ` (${a.error})` : ''}</div>`}
            </li>`),
          )}</ul>`}
        </div>
      </li>`;
    })}
  </ul>`;
}

// An attribute key that may wrap after its dots.
function breakable(key) {
  return key.split('.').flatMap((part, i) => (i ? [html`<wbr />`, '.' + part] : [part]));
}

function copyText(t) {
  if (navigator.clipboard && navigator.clipboard.writeText) return navigator.clipboard.writeText(t).catch(() => {});
  return Promise.resolve();
}

export function SpanPanel({ span, missingId, specs, trace, onClose, onSelect }) {
  const [copied, setCopied] = useState('');
  const [filter, setFilter] = useState('');
  useEffect(() => setCopied(''), [span]);
  if (!span) {
    return html`<div class="span-panel" data-testid="span-panel">
      <div class="panel-head"><b>${missingId ? 'Missing parent' : 'No span'}</b><button class="btn-mini" onClick=${onClose} aria-label="Close">✕</button></div>
      <div class="pad muted">${missingId ? `Span ${missingId} is the parent of spans in this trace but was not received.` : 'Select a span.'}</div>
    </div>`;
  }
  const results = [];
  specs.forEach((s, si) => {
    for (const sp of s.spans || []) {
      if (sp.span_id !== span.id) continue;
      for (const a of sp.assertions || []) results.push({ spec: s, si, a });
    }
  });
  const groups = [
    ['span', span.attributes],
    ['resource', span.resource],
    ['scope', span.scope],
    ['computed', computedAttributes(span)],
  ];
  const f = filter.trim().toLowerCase();
  const parent = span.parentId && trace.byId.get(span.parentId);
  const copy = (a) => {
    const text = assertionFor(a.key, a.value, a.number);
    setCopied(text);
    copyText(text);
  };
  return html`<div class="span-panel" data-testid="span-panel">
    <div class="panel-head">
      <div class="panel-title"><span class="wf-span-name">${span.name}</span>
        <div class="muted small">${span.service} · ${span.kind} · ${fmtNs(span.duration)} · at +${fmtNs(span.start)}</div></div>
      <button class="btn-mini" onClick=${onClose} aria-label="Close the span panel">✕</button>
    </div>
    <div class="panel-ids mono small">
      <div>span ${span.id}</div><div>trace ${span.traceId}</div>
      ${span.parentId && html`<div>parent ${parent ? html`<a href="#" onClick=${(e) => { e.preventDefault(); onSelect(span.parentId); }}>${span.parentId}</a>` : html`${span.parentId} <span class="muted">(missing)</span>`}</div>`}
    </div>
    <div class="panel-section" data-testid="span-status">
      <span class=${`status ${span.error ? 'bad' : span.statusCode === 'STATUS_CODE_OK' ? 'ok' : 'muted'}`}>${span.statusCode.replace('STATUS_CODE_', '')}</span>
      ${span.statusMessage && html` <span class="mono small">${span.statusMessage}</span>`}
    </div>
    ${results.length > 0 &&
    html`<div class="panel-section"><div class="section-title">Assertions on this span</div>
      <ul class="assert-list">${results.map(({ spec, si, a }, i) => html`<li key=${i} class=${`assertion-result ${a.passed ? 'ok' : 'bad'}`}
        data-testid="assertion-result" data-passed=${String(!!a.passed)} data-spec=${si}>
        <span class="spec-mark">${a.passed ? '✓' : '✗'}</span>
        <div><div class="mono">${a.assertion}</div>
          <div class="small">observed <span class="mono" data-testid="observed">${a.observed ?? '—'}</span>${' · '}expected <span class="mono" data-testid="expected">${a.expected ?? '—'}</span></div>
          ${a.error && html`<div class="small bad">${a.error}</div>`}
          <div class="muted small">${spec.name || spec.selector}</div></div>
      </li>`)}</ul></div>`}
    <div class="panel-section">
      <div class="section-title">Attributes
        <input class="input input-sm" type="search" placeholder="filter" value=${filter} onInput=${(e) => setFilter(e.target.value)} aria-label="Filter attributes" /></div>
      ${copied && html`<div class="copied"><span class="muted small">copied</span> <code data-testid="copied-assertion">${copied}</code></div>`}
      <table class="attrs">
        ${groups.map(([scope, list]) => {
          const shown = list.filter((a) => !f || a.key.toLowerCase().includes(f) || a.value.toLowerCase().includes(f));
          if (!shown.length) return null;
          return html`<tbody key=${scope}><tr class="attr-group"><th colspan="3">${scope}</th></tr>
            ${shown.map((a) => html`<tr class="attr-row" data-testid="attr-row" data-key=${a.key} data-scope=${scope} key=${scope + a.key}>
              <td class="attr-key mono" title=${a.key}>${breakable(a.key)}</td>
              <td class="attr-value mono" data-testid="attr-value">${a.value}</td>
              <td class="attr-act"><button class="btn-mini" data-testid="copy-assertion" title="Copy as an assertion"
                onClick=${() => copy(a)}>copy</button></td></tr>`)}</tbody>`;
        })}
      </table>
    </div>
    <div class="panel-section" data-testid="span-events"><div class="section-title">Events (${span.events.length})</div>
      ${span.events.length === 0 && html`<div class="muted small">None.</div>`}
      ${span.events.map((ev, i) => html`<div class="event" key=${i}><div><b>${ev.name}</b> <span class="muted small">+${fmtNs(ev.at - span.start)}</span></div>
        ${ev.attributes.map((a) => html`<div class="mono small" key=${a.key}>${a.key} = ${a.value}</div>`)}</div>`)}
    </div>
    <div class="panel-section" data-testid="span-links"><div class="section-title">Links (${span.links.length})</div>
      ${span.links.length === 0 && html`<div class="muted small">None.</div>`}
      ${span.links.map((l, i) => html`<div class="event mono small" key=${i}>${trace.byId.has(l.spanId)
        ? html`<a href="#" onClick=${(e) => { e.preventDefault(); onSelect(l.spanId); }}>${l.spanId}</a>`
        : l.spanId} in ${l.traceId}
        ${l.attributes.map((a) => html`<div key=${a.key}>${a.key} = ${a.value}</div>`)}</div>`)}
    </div>
  </div>`;
}

function LiveStatus({ run, wait, spanCount }) {
  if (!isRunning(run.state)) return null;
  return html`<div class="live-status" data-testid="live-status" role="status">
    <${Spinner} /> <b>${run.state}</b>
    <span>${spanCount ?? 0} span${spanCount === 1 ? '' : 's'}</span>
    ${wait
      ? html`<span>quiet ${fmtDuration(wait.quiet_ms)} of ${fmtDuration(wait.quiet_window_ms)}</span>
        ${wait.checked === false
          ? html`<span class="muted">completeness not checked yet (after a quiet window)</span>`
          : html`<span class=${wait.missing_parents ? 'warn' : ''}>${wait.missing_parents} missing parent${wait.missing_parents === 1 ? '' : 's'}</span>
            ${wait.unmatched && wait.unmatched.length
              ? html`<span class="warn">waiting for: <span class="mono">${wait.unmatched.join(', ')}</span></span>`
              : html`<span class="muted">no selector waiting</span>`}`}`
      : html`<span class="muted">waiting for the trace to be complete</span>`}
  </div>`;
}

// The waterfall with its selection, spec highlight and span panel, shared
// by the Run and Compare pages. sel/setSel: the selected span id.
export function useTraceView(trace, specs, specIndex, extraLit) {
  const tree = useMemo(() => buildTree(trace || EMPTY_TRACE), [trace]);
  const spec = specIndex !== null && specIndex !== undefined ? specs[specIndex] : null;
  const { lit, asserts } = useMemo(() => {
    const l = new Set();
    const as = new Map();
    if (spec)
      for (const sp of spec.spans || []) {
        if (!sp.span_id) continue;
        l.add(sp.span_id);
        as.set(sp.span_id, sp.passed ? 'pass' : 'fail');
      }
    return { lit: l, asserts: as };
  }, [spec]);
  return { tree, lit: extraLit || lit, asserts };
}

export function RunPage({ id, playground, loc }) {
  const { run, error, trace, wait, spanCount, reload } = useRun(id);
  const specs = useMemo(() => specsOf(run), [run]);
  const q = loc.query;
  const sel = q.get('span') || null;
  const specParam = q.get('spec');
  const specIndex = specParam !== null && specParam !== '' && !Number.isNaN(+specParam) ? +specParam : null;
  const [panelOpen, setPanelOpen] = useState(!!sel);
  const [pgLit, setPgLit] = useState(null);
  const [cancelling, setCancelling] = useState(false);
  const { tree, lit, asserts } = useTraceView(trace, specs, specIndex, playground && pgLit ? pgLit : null);
  useEffect(() => {
    if (run) setTitle(`Run #${run.id} ${run.test_name || run.test_id}`);
  }, [run && run.id]);
  const select = (sid) => setQuery({ span: sid });
  const selectSpec = (i) => {
    const s = i !== null ? specs[i] : null;
    const firstSpan = s && (s.spans || []).find((x) => x.span_id);
    setQuery({ spec: i === null ? null : i, span: firstSpan ? firstSpan.span_id : sel });
    if (firstSpan) setPanelOpen(true);
  };
  const cancel = async () => {
    setCancelling(true);
    try {
      await api(`/api/runs/${id}/cancel`, { method: 'POST' });
    } catch {
      /* the state says */
    }
    setCancelling(false);
    reload();
  };

  if (error) return html`<div class="page"><h1>Run #${id}</h1><${ErrorBox} error=${error} /></div>`;
  if (!run) return html`<div class="page"><div class="loading"><${Spinner} /> Loading run #${id}…</div></div>`;
  const span = sel && trace ? trace.byId.get(sel) : null;
  const missingId = sel && tree.missing.has(sel) ? sel : null;
  const base = `/runs/${run.id}`;
  const keep = new URLSearchParams(loc.query);
  const ks = keep.toString() ? '?' + keep.toString() : '';
  return html`<div class="page page-run">
    <div class="crumbs"><a href="/tests">Tests</a> / <a href=${historyHref(run)}>${run.test_name || run.test_id}</a> / <span>Run #${run.id}</span></div>
    <div class="page-head">
      <h1>${run.test_name || run.test_id} <span class="muted">#${run.id}</span></h1>
      <div class="page-tools">
        <a class=${`btn${playground ? '' : ' btn-primary'}`} href=${playground ? base + ks : base + '/playground' + ks} data-testid="playground-link">
          ${playground ? 'Close playground' : 'Playground'}</a>
        ${isRunning(run.state) && html`<button class="btn btn-danger" onClick=${cancel} disabled=${cancelling}>Cancel run</button>`}
      </div>
    </div>
    <${RunSummary} run=${run} spanCount=${spanCount} />
    <${LiveStatus} run=${run} wait=${wait} spanCount=${spanCount} />
    ${run.error && html`<div class="error-box" data-testid="run-error">${run.error}</div>`}
    <details class="details" open=${!playground}>
      <summary>Timeline, trigger and outputs</summary>
      <div class="details-grid">
        <div class="card"><div class="card-title">Timeline</div><${Timeline} timeline=${run.timeline} /></div>
        <${Trigger} trigger=${run.trigger} tests=${run.results && run.results.tests} />
        <${Outputs} outputs=${run.outputs} />
      </div>
    </details>
    <div class=${`workspace${playground ? ' with-playground' : ''}${panelOpen ? ' with-panel' : ''}`}>
      <aside class="ws-specs">
        <div class="section-title">Specs <span class="muted">${specs.filter((s) => s.passed).length}/${specs.length}</span></div>
        <${SpecList} specs=${specs} selected=${specIndex} onSelect=${selectSpec} />
      </aside>
      <section class="ws-main">
        ${trace
          ? html`<${Waterfall} trace=${trace} tree=${tree} selected=${sel} onSelect=${select}
              onOpen=${() => setPanelOpen(true)} onClose=${() => setPanelOpen(false)} highlighted=${lit} asserts=${asserts} />`
          : html`<div class="loading"><${Spinner} /> Loading the trace…</div>`}
      </section>
      ${(playground || panelOpen) &&
      html`<aside class="ws-side">
        ${playground && html`<${Playground} run=${run} span=${span} onLit=${setPgLit} />`}
        ${panelOpen && trace &&
        html`<${SpanPanel} span=${span} missingId=${missingId} specs=${specs} trace=${trace}
          onClose=${() => setPanelOpen(false)} onSelect=${select} />`}
      </aside>`}
    </div>
  </div>`;
}
