// compare.js - two runs side by side (/compare/{a}/{b}): each one's summary,
// specs and waterfall, and what changed between them (specs that flipped,
// span names that appear in only one trace).
import { html, useState, useMemo, useEffect, fmtDuration, ErrorBox, Spinner, setTitle } from '../lib.js';
import { useRun, specsOf, RunSummary, SpecList, useTraceView, historyHref } from './run.js';
import { Waterfall } from '../waterfall.js';

function Side({ id, state, testid }) {
  const { run, error, trace, spanCount } = state;
  const specs = useMemo(() => specsOf(run), [run]);
  const [spec, setSpec] = useState(null);
  const [sel, setSel] = useState(null);
  const { tree, lit, asserts } = useTraceView(trace, specs, spec, null);
  return html`<section class="compare-side" data-testid=${testid}>
    ${error && html`<${ErrorBox} error=${error} />`}
    ${!run && !error && html`<div class="loading"><${Spinner} /> Loading run #${id}…</div>`}
    ${run &&
    html`<h2><a href=${`/runs/${run.id}`}>Run #${run.id}</a> <span class="muted small">of <a href=${historyHref(run)}>${run.test_name || run.test_id}</a></span></h2>
      <${RunSummary} run=${run} spanCount=${spanCount} compact=${true} />
      ${run.error && html`<div class="error-box">${run.error}</div>`}
      <${SpecList} specs=${specs} selected=${spec} onSelect=${(i) => {
        setSpec(i);
        const f = i !== null && (specs[i].spans || []).find((x) => x.span_id);
        if (f) setSel(f.span_id);
      }} />
      ${trace
        ? html`<${Waterfall} trace=${trace} tree=${tree} selected=${sel} onSelect=${setSel} highlighted=${lit} asserts=${asserts} compact=${true} />`
        : html`<div class="loading"><${Spinner} /> Loading the trace…</div>`}`}
  </section>`;
}

function Changes({ a, b }) {
  if (!a.run || !b.run) return null;
  const sa = specsOf(a.run);
  const sb = specsOf(b.run);
  const key = (s) => `${s.test || ''}|${s.name || ''}|${s.selector}`;
  const mb = new Map(sb.map((s) => [key(s), s]));
  const ma = new Map(sa.map((s) => [key(s), s]));
  const flipped = sa.filter((s) => mb.has(key(s)) && !!mb.get(key(s)).passed !== !!s.passed);
  const onlyA = sa.filter((s) => !mb.has(key(s)));
  const onlyB = sb.filter((s) => !ma.has(key(s)));
  const names = (t) => new Set(t ? t.spans.map((s) => `${s.service} · ${s.name}`) : []);
  const na = names(a.trace);
  const nb = names(b.trace);
  const spansOnlyA = [...na].filter((x) => !nb.has(x));
  const spansOnlyB = [...nb].filter((x) => !na.has(x));
  const dd = (b.run.duration_ms ?? 0) - (a.run.duration_ms ?? 0);
  return html`<div class="card compare-changes" data-testid="compare-changes">
    <div class="card-title">What changed from #${a.run.id} to #${b.run.id}</div>
    <ul class="changes">
      <li>Result: <b>${a.run.result || a.run.state}</b> → <b>${b.run.result || b.run.state}</b>;
        duration ${fmtDuration(a.run.duration_ms)} → ${fmtDuration(b.run.duration_ms)}
        <span class=${dd > 0 ? 'bad' : 'ok'}>(${dd > 0 ? '+' : dd < 0 ? '−' : '±'}${fmtDuration(Math.abs(dd))})</span>;
        spans ${a.trace ? a.trace.spans.length : '…'} → ${b.trace ? b.trace.spans.length : '…'}; version v${a.run.version} → v${b.run.version}</li>
      ${flipped.map((s, i) => html`<li key=${'f' + i}><span class=${s.passed ? 'bad' : 'ok'}>${s.passed ? 'now fails' : 'now passes'}</span>: ${s.name || html`<span class="mono">${s.selector}</span>`}</li>`)}
      ${onlyA.map((s, i) => html`<li key=${'a' + i}><span class="muted">only in #${a.run.id}:</span> ${s.name || s.selector}</li>`)}
      ${onlyB.map((s, i) => html`<li key=${'b' + i}><span class="muted">only in #${b.run.id}:</span> ${s.name || s.selector}</li>`)}
      ${spansOnlyA.slice(0, 20).map((x) => html`<li key=${'sa' + x}><span class="muted">spans only in #${a.run.id}:</span> <span class="mono">${x}</span></li>`)}
      ${spansOnlyB.slice(0, 20).map((x) => html`<li key=${'sb' + x}><span class="muted">spans only in #${b.run.id}:</span> <span class="mono">${x}</span></li>`)}
      ${!flipped.length && !onlyA.length && !onlyB.length && html`<li class="muted">The same specs, with the same outcome.</li>`}
    </ul>
  </div>`;
}

export function ComparePage({ a, b }) {
  const ra = useRun(a);
  const rb = useRun(b);
  useEffect(() => setTitle(`Compare #${a} and #${b}`), [a, b]);
  return html`<div class="page page-compare">
    <div class="crumbs"><a href="/tests">Tests</a> / <span>Compare #${a} and #${b}</span></div>
    <${Changes} a=${ra} b=${rb} />
    <div class="compare-grid">
      <${Side} id=${a} state=${ra} testid="compare-left" />
      <${Side} id=${b} state=${rb} testid="compare-right" />
    </div>
  </div>`;
}
