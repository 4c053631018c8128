// tests.js - the Tests page (/ and /tests): every test and suite with its
// last run and recent history, a filter kept in the URL (?q=), and the Run
// button (asking for the variables the test needs first).
import {
  html, useState, useEffect, useRef, navigate, setQuery, useDebounced, fmtDuration, fmtAgo, fmtTime,
  StateBadge, ErrorBox, Spinner, isRunning, setTitle,
} from '../lib.js';
import { api, apiList, neededVariables } from '../api.js';

const STRIP_RUNS = 20;

// A small queue so a long list does not fire every history request at once.
const queue = [];
let active = 0;
function limited(fn) {
  return new Promise((resolve, reject) => {
    queue.push({ fn, resolve, reject });
    pump();
  });
}
function pump() {
  while (active < 4 && queue.length) {
    const { fn, resolve, reject } = queue.shift();
    active++;
    fn()
      .then(resolve, reject)
      .finally(() => {
        active--;
        pump();
      });
  }
}

function HistoryStrip({ id, kind, reload }) {
  const [runs, setRuns] = useState(null);
  useEffect(() => {
    let live = true;
    limited(() => api(`/api/runs?test=${encodeURIComponent(id)}&limit=${STRIP_RUNS}`))
      .then((p) => live && setRuns((p.items || []).filter((r) => r.kind === kind).reverse()))
      .catch(() => live && setRuns([]));
    return () => {
      live = false;
    };
  }, [id, kind, reload]);
  return html`<div class="strip" data-testid="history-strip" aria-label="Recent runs, newest last">
    ${(runs || []).map(
      (r) => html`<a key=${r.id} href=${`/runs/${r.id}`} class=${`strip-run r-${isRunning(r.state) ? 'running' : r.result || 'empty'}`}
        data-testid="strip-run" data-result=${isRunning(r.state) ? 'running' : r.result || 'empty'} data-run-id=${r.id}
        title=${`#${r.id} ${r.state} ${r.result || ''} ${fmtTime(r.created)}`}></a>`,
    )}
    ${runs && runs.length === 0 && html`<span class="muted small">no runs</span>`}
  </div>`;
}

// The variables of a test or suite: its documents (each step's for a suite).
export async function variablesOf(kind, id) {
  const res = await api(`/api/${kind === 'suite' ? 'testsuites' : 'tests'}/${encodeURIComponent(id)}`);
  if (kind !== 'suite') return neededVariables([res.document]);
  const steps = (res.document && res.document.spec && res.document.spec.steps) || [];
  const docs = [];
  for (const s of steps) {
    const sid = typeof s === 'string' ? s : s && (s.id || s.test);
    if (!sid) continue;
    try {
      docs.push((await api(`/api/tests/${encodeURIComponent(sid)}`)).document);
    } catch {
      /* the POST says what is wrong */
    }
  }
  return neededVariables([res.document, ...docs]);
}

export function VarsForm({ kind, names, varsets, onSubmit, onCancel, busy, error }) {
  const [vals, setVals] = useState({});
  const [sets, setSets] = useState([]);
  const first = useRef(null);
  useEffect(() => first.current && first.current.focus(), []);
  const submit = (e) => {
    e.preventDefault();
    const variables = {};
    for (const n of names) if (vals[n] !== undefined && vals[n] !== '') variables[n] = vals[n];
    onSubmit({ variables, variableSets: sets });
  };
  return html`<form class="vars-form" data-testid="vars-form" onSubmit=${submit}>
    <div class="vars-title">This ${kind === 'suite' ? 'suite' : 'test'} reads ${names.length} variable${names.length === 1 ? '' : 's'}</div>
    ${varsets.length > 0 &&
    html`<div class="vars-sets"><span class="muted small">Variable sets:</span>
      ${varsets.map(
        (v) => html`<label class="chk" key=${v.id}><input type="checkbox" checked=${sets.includes(v.id)}
          onChange=${(e) => setSets(e.target.checked ? [...sets, v.id] : sets.filter((x) => x !== v.id))} />
          ${v.name || v.id}</label>`,
      )}</div>`}
    <div class="vars-grid">
      ${names.map(
        (n, i) => html`<label key=${n} class="var-label"><span class="mono">${n}</span>
          <input class="input mono" data-testid="var-input" data-name=${n} ref=${i === 0 ? first : undefined}
            value=${vals[n] || ''} onInput=${(e) => setVals({ ...vals, [n]: e.target.value })}
            placeholder=${sets.length ? 'from the variable set' : ''} autocomplete="off" spellcheck="false" /></label>`,
      )}
    </div>
    <${ErrorBox} error=${error} />
    <div class="vars-actions">
      <button type="submit" class="btn btn-primary" data-testid="vars-submit" disabled=${busy}>${busy ? 'Starting…' : 'Run'}</button>
      <button type="button" class="btn" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

function TestRow({ item, kind, reload }) {
  const [form, setForm] = useState(null); // {names, varsets}
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const base = kind === 'suite' ? 'testsuites' : 'tests';
  const lr = item.last_run;
  const start = async (body) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api(`/api/${base}/${encodeURIComponent(item.id)}/run`, { method: 'POST', body: body || {} });
      navigate(`/runs/${r.id}`);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const onRun = async () => {
    if (form) {
      setForm(null);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const names = await variablesOf(kind, item.id);
      if (names.length === 0) {
        await start({});
        return;
      }
      let varsets = [];
      try {
        varsets = await apiList('/api/variablesets', 200);
      } catch {
        /* none */
      }
      setForm({ names, varsets });
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  return html`<tr class="test-row" data-testid="test-row" data-id=${item.id} data-kind=${kind}>
      <td class="col-kind"><span class=${`kind kind-${kind}`}>${kind}</span></td>
      <td class="col-name">
        <a class="test-link" href=${`/${base}/${encodeURIComponent(item.id)}`}>${item.name || item.id}</a>
        <div class="muted small mono">${item.id} · v${item.version}</div>
      </td>
      <td class="col-last" data-testid="last-run">
        ${lr
          ? html`<a href=${`/runs/${lr.id}`} class="last-run-link">
              <${StateBadge} state=${lr.state} result=${lr.result} />
              <span class="counts"><span class="ok">${lr.passed ?? 0} passed</span> <span class=${lr.failed ? 'bad' : 'muted'}>${lr.failed ?? 0} failed</span></span>
              <span class="muted small">${fmtDuration(lr.duration_ms)} · ${fmtAgo(lr.created)}</span></a>`
          : html`<span class="muted">never run</span>`}
      </td>
      <td class="col-strip"><${HistoryStrip} id=${item.id} kind=${kind} reload=${reload} /></td>
      <td class="col-actions">
        <button class="btn btn-primary btn-sm" data-testid="run-button" disabled=${busy} onClick=${onRun}>
          ${busy ? html`<${Spinner} />` : '▶'} Run</button>
      </td>
    </tr>
    ${(form || (error && !form)) &&
    html`<tr class="test-row-extra"><td colspan="5">
      ${form
        ? html`<${VarsForm} kind=${kind} names=${form.names} varsets=${form.varsets} busy=${busy} error=${error}
            onSubmit=${start} onCancel=${() => { setForm(null); setError(null); }} />`
        : html`<${ErrorBox} error=${error} />`}
    </td></tr>`}`;
}

export function TestsPage({ loc }) {
  const q0 = loc.query.get('q') || '';
  const [q, setQ] = useState(q0);
  const dq = useDebounced(q, 200);
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [reload, setReload] = useState(0);
  useEffect(() => setTitle('Tests'), []);
  useEffect(() => {
    if (q0 !== q && document.activeElement && document.activeElement.dataset.testid !== 'filter-input') setQ(q0);
  }, [q0]);
  useEffect(() => setQuery({ q: dq }), [dq]);
  useEffect(() => {
    let live = true;
    Promise.all([apiList('/api/tests', 2000), apiList('/api/testsuites', 2000)])
      .then(([tests, suites]) => live && (setData({ tests, suites }), setError(null)))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [reload]);
  // refresh the last runs now and then while the page is open
  useEffect(() => {
    const t = setInterval(() => !document.hidden && setReload((r) => r + 1), 15000);
    return () => clearInterval(t);
  }, []);
  const needle = q.trim().toLowerCase();
  const match = (it) => !needle || it.id.toLowerCase().includes(needle) || (it.name || '').toLowerCase().includes(needle);
  const rows = data
    ? [...data.suites.filter(match).map((it) => ({ it, kind: 'suite' })), ...data.tests.filter(match).map((it) => ({ it, kind: 'test' }))]
    : [];
  const total = data ? data.tests.length + data.suites.length : 0;
  return html`<div class="page">
    <div class="page-head">
      <h1>Tests</h1>
      <div class="page-tools">
        <input class="input filter" type="search" data-testid="filter-input" placeholder="Filter by id or name"
          value=${q} onInput=${(e) => setQ(e.target.value)} aria-label="Filter tests" />
        <button class="btn" onClick=${() => setReload((r) => r + 1)} title="Reload">↻</button>
      </div>
    </div>
    <${ErrorBox} error=${error} />
    ${!data && !error && html`<div class="loading"><${Spinner} /> Loading…</div>`}
    ${data &&
    html`<table class="table tests-table" data-testid="tests-table">
      <thead><tr><th class="col-kind">Kind</th><th>Test</th><th>Last run</th><th>History</th><th></th></tr></thead>
      <tbody>${rows.map(({ it, kind }) => html`<${TestRow} key=${kind + ':' + it.id} item=${it} kind=${kind} reload=${reload} />`)}</tbody>
    </table>
    ${rows.length === 0 &&
    html`<div class="empty">${total === 0
      ? html`No tests yet. Apply some with <code>tracecheck apply FILE.yaml</code> or <code>PUT /api/resources</code>.`
      : html`No test matches “${q}”.`}</div>`}
    <div class="muted small foot-note">${rows.length} of ${total} shown</div>`}
  </div>`;
}
