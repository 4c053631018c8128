// history.js - the History page of a test or suite (/tests/{id},
// /testsuites/{id}): a chart of its runs' durations (failures marked), the
// runs in a table, and two of them picked to compare.
import {
  html, useState, useEffect, useRef, navigate, fmtDuration, fmtTime, fmtAgo, StateBadge, ResultBadge, ErrorBox, Spinner,
  isRunning, setTitle,
} from '../lib.js';
import { api, apiList } from '../api.js';
import { variablesOf, VarsForm } from './tests.js';

const H = 200;
const PAD = { l: 56, r: 16, t: 14, b: 28 };

function Chart({ runs }) {
  // drawn at the element's own width, so text is not stretched
  const ref = useRef(null);
  const [W, setW] = useState(900);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const upd = () => el.clientWidth && setW(el.clientWidth);
    upd();
    if (typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(upd);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // oldest first, left to right
  const pts = runs.slice().reverse();
  const ds = pts.map((r) => r.duration_ms).filter((d) => typeof d === 'number');
  const max = Math.max(1, ...ds);
  const n = pts.length;
  const x = (i) => PAD.l + (n <= 1 ? (W - PAD.l - PAD.r) / 2 : (i * (W - PAD.l - PAD.r)) / (n - 1));
  const y = (d) => PAD.t + (H - PAD.t - PAD.b) * (1 - (d || 0) / max);
  const line = pts
    .map((r, i) => (typeof r.duration_ms === 'number' ? `${x(i).toFixed(1)},${y(r.duration_ms).toFixed(1)}` : null))
    .filter(Boolean)
    .join(' ');
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  return html`<svg class="chart" data-testid="history-chart" ref=${ref} viewBox=${`0 0 ${W} ${H}`}
      role="img" aria-label="Run durations, oldest to newest">
    ${grid.map((g) => html`<g key=${g}><line class="chart-grid" x1=${PAD.l} x2=${W - PAD.r} y1=${y(g)} y2=${y(g)} />
      <text class="chart-label" x=${PAD.l - 6} y=${y(g) + 4} text-anchor="end">${fmtDuration(g)}</text></g>`)}
    <polyline class="chart-line" points=${line} />
    ${pts.map((r, i) => {
      const res = isRunning(r.state) ? 'running' : r.result || 'empty';
      const cx = x(i);
      const cy = y(r.duration_ms);
      const bad = res === 'failed' || res === 'error';
      return html`<a key=${r.id} href=${`/runs/${r.id}`} class=${`chart-point r-${res}`} data-testid="chart-point"
          data-run-id=${r.id} data-result=${res}>
        <title>#${r.id} ${r.state} ${r.result || ''} ${fmtDuration(r.duration_ms)} ${fmtTime(r.created)}</title>
        ${bad
          ? html`<path class="chart-x" d=${`M${cx - 5},${cy - 5}L${cx + 5},${cy + 5}M${cx - 5},${cy + 5}L${cx + 5},${cy - 5}`} />
              <rect class="chart-hit" x=${cx - 7} y=${cy - 7} width="14" height="14" />`
          : html`<circle class="chart-dot" cx=${cx} cy=${cy} r="4.5" />`}
      </a>`;
    })}
    ${n > 0 && html`<text class="chart-label" x=${PAD.l} y=${H - 8}>#${pts[0].id}</text>
      <text class="chart-label" x=${W - PAD.r} y=${H - 8} text-anchor="end">#${pts[n - 1].id}</text>`}
  </svg>`;
}

export function HistoryPage({ kind, id }) {
  const [res, setRes] = useState(null);
  const [runs, setRuns] = useState(null);
  const [error, setError] = useState(null);
  const [checked, setChecked] = useState([]);
  const [reload, setReload] = useState(0);
  const [busy, setBusy] = useState(false);
  const plural = kind === 'suite' ? 'testsuites' : 'tests';
  useEffect(() => {
    let live = true;
    api(`/api/${plural}/${encodeURIComponent(id)}`)
      .then((r) => live && (setRes(r), setTitle(r.name || id)))
      .catch((e) => live && e.status !== 404 && setError(e));
    apiList(`/api/runs?test=${encodeURIComponent(id)}`, 500)
      .then((items) => live && setRuns(items.filter((r) => r.kind === kind)))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kind, id, reload]);
  useEffect(() => {
    if (!runs || !runs.some((r) => isRunning(r.state))) return undefined;
    const t = setTimeout(() => setReload((x) => x + 1), 2000);
    return () => clearTimeout(t);
  }, [runs]);
  const toggle = (rid, on) => {
    const next = checked.filter((x) => x !== rid);
    if (on) next.push(rid);
    setChecked(next.slice(-2));
  };
  const [form, setForm] = useState(null); // {names, varsets} while asking for variables
  const start = async (body) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api(`/api/${plural}/${encodeURIComponent(id)}/run`, { method: 'POST', body: body || {} });
      navigate(`/runs/${r.id}`);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const runAgain = async () => {
    if (form) return setForm(null);
    setBusy(true);
    setError(null);
    try {
      const names = await variablesOf(kind, id);
      if (!names.length) return start({});
      setForm({ names, varsets: await apiList('/api/variablesets', 200).catch(() => []) });
    } catch (e) {
      setError(e);
    }
    setBusy(false);
    return undefined;
  };
  const pair = checked.length === 2 ? checked.slice().sort((a, b) => a - b) : null;
  const fails = runs ? runs.filter((r) => r.result === 'failed' || r.result === 'error').length : 0;
  return html`<div class="page">
    <div class="crumbs"><a href="/tests">Tests</a> / <span>${res ? res.name || id : id}</span></div>
    <div class="page-head">
      <h1>${res ? res.name || id : id} <span class="muted small">${kind}${res ? ` · v${res.latest_version ?? res.version}` : ''}</span></h1>
      <div class="page-tools">
        ${pair && html`<a class="btn btn-primary" data-testid="compare-link" href=${`/compare/${pair[0]}/${pair[1]}`}>Compare #${pair[0]} and #${pair[1]}</a>`}
        <button class="btn" data-testid="history-run" onClick=${runAgain} disabled=${busy || (res && res.deleted)}>▶ Run</button>
      </div>
    </div>
    ${form &&
    html`<div class="card"><${VarsForm} kind=${kind} names=${form.names} varsets=${form.varsets} busy=${busy} error=${error}
      onSubmit=${start} onCancel=${() => { setForm(null); setError(null); }} /></div>`}
    ${res && res.deleted && html`<div class="warn-box">This ${kind} was deleted; its runs stay readable.</div>`}
    ${!form && html`<${ErrorBox} error=${error} />`}
    ${!runs && !error && html`<div class="loading"><${Spinner} /> Loading…</div>`}
    ${runs &&
    html`<div class="card chart-card">
        <div class="card-title chart-title">Duration of the last ${runs.length} run${runs.length === 1 ? '' : 's'}
          <span class="muted small">${' · '}${fails} failed · <span class="legend-dot ok"></span> passed <span class="legend-x">✗</span> failed or error</span></div>
        ${runs.length ? html`<${Chart} runs=${runs} />` : html`<div class="muted">No runs yet.</div>`}
      </div>
      <div class="muted small">Tick two runs to compare them.</div>
      <table class="table history-table">
        <thead><tr><th></th><th>Run</th><th>State</th><th>Result</th><th>Specs</th><th>Duration</th><th>Version</th><th>Created</th></tr></thead>
        <tbody>${runs.map((r) => html`<tr key=${r.id} data-testid="history-row" data-run-id=${r.id} class=${checked.includes(r.id) ? 'is-checked' : ''}>
          <td><input type="checkbox" data-testid="compare-check" aria-label=${`Compare run ${r.id}`}
            checked=${checked.includes(r.id)} onChange=${(e) => toggle(r.id, e.target.checked)} /></td>
          <td><a href=${`/runs/${r.id}`}>#${r.id}</a></td>
          <td><${StateBadge} state=${r.state} result=${r.result} /></td>
          <td>${isRunning(r.state) ? html`<span class="muted">…</span>` : html`<${ResultBadge} result=${r.result} />`}</td>
          <td><span class="ok">${r.passed ?? 0}</span> / <span class=${r.failed ? 'bad' : 'muted'}>${r.failed ?? 0}</span></td>
          <td class="num">${fmtDuration(r.duration_ms)}</td>
          <td>v${r.version}</td>
          <td title=${r.created}>${fmtTime(r.created)} <span class="muted small">${fmtAgo(r.created)}</span></td>
        </tr>`)}</tbody>
      </table>`}
  </div>`;
}
