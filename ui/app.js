// app.js - the tracecheck web UI: the frame (top bar, token form) and the
// routes of docs/ui.md. Plain ES modules with Preact and htm (ui/vendor/);
// it talks to the REST API only.
import { html, render, useState, useEffect, useLocation, interceptLinks } from './lib.js';
import { api, onAuthNeeded, setToken, getToken } from './api.js';
import { TestsPage } from './pages/tests.js';
import { RunPage } from './pages/run.js';
import { HistoryPage } from './pages/history.js';
import { ComparePage } from './pages/compare.js';

function route(loc) {
  const p = loc.path.replace(/\/+$/, '') || '/';
  let m;
  if (p === '/' || p === '/tests') return { page: 'tests' };
  if ((m = p.match(/^\/tests\/([^/]+)$/))) return { page: 'history', kind: 'test', id: decodeURIComponent(m[1]) };
  if ((m = p.match(/^\/testsuites\/([^/]+)$/))) return { page: 'history', kind: 'suite', id: decodeURIComponent(m[1]) };
  if ((m = p.match(/^\/runs\/(\d+)(\/playground)?$/))) return { page: 'run', id: +m[1], playground: !!m[2] };
  if ((m = p.match(/^\/compare\/(\d+)\/(\d+)$/))) return { page: 'compare', a: +m[1], b: +m[2] };
  return { page: 'missing' };
}

function TokenForm({ onDone }) {
  const [t, setT] = useState('');
  const [err, setErr] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    setToken(t.trim());
    try {
      await api('/api/tests?limit=1');
      onDone();
    } catch (x) {
      setErr(x.status === 401 ? 'The server refused this token.' : x.message);
    }
  };
  return html`<div class="overlay" role="dialog" aria-modal="true" aria-labelledby="token-title">
    <form class="token-form" data-testid="token-form" onSubmit=${submit}>
      <h2 id="token-title">This server needs a token</h2>
      <p class="muted">It was started with <code>--token-file</code>. The token is kept in this browser's local storage.</p>
      <input class="input mono" type="password" data-testid="token-input" value=${t} autocomplete="off"
        onInput=${(e) => setT(e.target.value)} placeholder="token" autofocus />
      ${err && html`<div class="bad small">${err}</div>`}
      <div class="vars-actions"><button class="btn btn-primary" type="submit" data-testid="token-submit">Use this token</button></div>
    </form>
  </div>`;
}

function Health() {
  const [h, setH] = useState(null);
  useEffect(() => {
    fetch('/api/health')
      .then((r) => r.json())
      .then(setH)
      .catch(() => setH({ status: 'unreachable' }));
  }, []);
  if (!h) return null;
  return html`<span class=${`health ${h.status === 'ok' ? 'ok' : 'bad'}`} title=${h.error || ''}>
    ${h.store ? `${h.store} · ` : ''}${h.version ? `v${h.version}` : h.status}</span>`;
}

function App() {
  const loc = useLocation();
  const [needToken, setNeedToken] = useState(false);
  const [gen, setGen] = useState(0);
  useEffect(() => onAuthNeeded(() => setNeedToken(true)), []);
  const r = route(loc);
  let page;
  switch (r.page) {
    case 'tests':
      page = html`<${TestsPage} loc=${loc} />`;
      break;
    case 'history':
      page = html`<${HistoryPage} key=${r.kind + r.id} kind=${r.kind} id=${r.id} />`;
      break;
    case 'run':
      page = html`<${RunPage} key=${r.id} id=${r.id} playground=${r.playground} loc=${loc} />`;
      break;
    case 'compare':
      page = html`<${ComparePage} key=${r.a + '-' + r.b} a=${r.a} b=${r.b} />`;
      break;
    default:
      page = html`<div class="page"><h1>Not found</h1><p>No page at <code>${loc.path}</code>. <a href="/tests">All tests</a></p></div>`;
  }
  return html`<div class="app">
    <header class="topbar">
      <a class="brand" href="/tests"><span class="brand-mark">◆</span> tracecheck</a>
      <nav class="nav"><a href="/tests" class=${r.page === 'tests' ? 'active' : ''}>Tests</a></nav>
      <span class="spacer"></span>
      <${Health} />
      ${getToken() && html`<button class="btn-mini" title="Forget the token kept in this browser"
        onClick=${() => { setToken(''); location.reload(); }}>Sign out</button>`}
    </header>
    <main key=${gen}>${page}</main>
    ${needToken && html`<${TokenForm} onDone=${() => { setNeedToken(false); setGen((g) => g + 1); }} />`}
  </div>`;
}

interceptLinks();
render(html`<${App} />`, document.getElementById('app'));
