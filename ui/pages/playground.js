// playground.js - the selector and expression playground of a run (on
// /runs/{id}/playground): a selector lights the spans it matches (POST
// /api/select, as you type), an expression is evaluated on the selected
// span (POST /api/eval), and "Add as spec" appends both to the test.
import { html, useState, useEffect, useDebounced } from '../lib.js';
import { api } from '../api.js';

// The document as the server gave it; JSON text (a document put as JSON)
// is shown as block YAML, which says the same.
function asYaml(text) {
  const t = text.trim();
  if (!t.startsWith('{')) return text;
  try {
    return toYaml(JSON.parse(t), 0).replace(/^\n/, '') + '\n';
  } catch {
    return text;
  }
}

function scalar(v) {
  if (v === null) return 'null';
  if (typeof v !== 'string') return String(v);
  if (/^[A-Za-z_][A-Za-z0-9_ ./()-]*$/.test(v) && !/ $/.test(v) && !/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(v)) return v;
  if (!/[\n\r\t]/.test(v)) return `'${v.replace(/'/g, "''")}'`;
  return JSON.stringify(v);
}

function toYaml(v, ind) {
  const pad = '  '.repeat(ind);
  if (Array.isArray(v)) {
    if (!v.length) return ' []';
    return v.map((x) => {
      if (x && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length)
        return `\n${pad}- ` + toYaml(x, ind + 1).replace(/^\n\s*/, '');
      return `\n${pad}-` + (x && typeof x === 'object' ? toYaml(x, ind + 1) : ' ' + scalar(x));
    }).join('');
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    if (!keys.length) return ' {}';
    return keys.map((k) => `\n${pad}${scalar(k)}:` + (v[k] && typeof v[k] === 'object' ? toYaml(v[k], ind + 1) : ' ' + scalar(v[k]))).join('');
  }
  return ' ' + scalar(v);
}

const COMPARATOR = /(^|\s)(=|!=|<|<=|>|>=|contains|not-contains)(\s|$)/;

export function Playground({ run, span, onLit }) {
  const [selector, setSelector] = useState('');
  const [expr, setExpr] = useState('');
  const ds = useDebounced(selector, 120);
  const de = useDebounced(expr, 120);
  const [sel, setSel] = useState(null); // {count} | {error, column}
  const [val, setVal] = useState(null);
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState(null); // {version, yaml} | {error}

  useEffect(() => {
    let live = true;
    if (!ds.trim()) {
      setSel(null);
      onLit(null);
      return undefined;
    }
    api('/api/select', { method: 'POST', body: { run: run.id, selector: ds } })
      .then((r) => {
        if (!live) return;
        const ids = r.spans || [];
        setSel({ count: ids.length, first: ids[0] || null });
        onLit(new Set(ids));
      })
      .catch((e) => {
        if (!live) return;
        setSel({ error: e.message, column: e.column });
        onLit(new Set());
      });
    return () => {
      live = false;
    };
  }, [ds, run.id]);
  useEffect(() => () => onLit(null), []);

  useEffect(() => {
    let live = true;
    if (!de.trim()) {
      setVal(null);
      return undefined;
    }
    const target = span ? span.id : sel && sel.first; // else the selector's first match
    if (!target) {
      setVal({ note: 'select a span in the waterfall' });
      return undefined;
    }
    api('/api/eval', { method: 'POST', body: { run: run.id, span: target, expression: de } })
      .then((r) => live && setVal(r))
      .catch((e) => live && setVal({ error: e.message, column: e.column }));
    return () => {
      live = false;
    };
  }, [de, span && span.id, sel && sel.first, run.id]);

  const canAdd = run.kind !== 'suite' && selector.trim() && sel && !sel.error && !adding;
  const addSpec = async () => {
    setAdding(true);
    setAdded(null);
    try {
      const res = await api(`/api/tests/${encodeURIComponent(run.test_id)}`);
      const doc = res.document;
      if (!doc || typeof doc !== 'object' || !doc.spec) throw new Error('the test document has no spec');
      const spec = { selector: selector.trim(), assertions: [] };
      if (COMPARATOR.test(expr.trim())) spec.assertions.push(expr.trim());
      else spec.assertions.push('attr:tracetest.selected_spans.count > 0');
      doc.spec.specs = Array.isArray(doc.spec.specs) ? [...doc.spec.specs, spec] : [spec];
      const put = await api('/api/resources', { method: 'PUT', body: doc });
      const item = (put.items || [])[0] || {};
      let yaml = '';
      try {
        yaml = await api(`/api/tests/${encodeURIComponent(run.test_id)}`, { accept: 'application/yaml', text: true });
        yaml = asYaml(yaml);
      } catch (e) {
        yaml = `(could not read it back: ${e.message})`;
      }
      setAdded({ version: item.version, created: item.created, yaml, warnings: put.warnings || [] });
    } catch (e) {
      setAdded({ error: e.message });
    }
    setAdding(false);
  };

  let valView = null;
  if (val && val.error)
    valView = html`<span class="bad" data-column=${val.column ?? ''}>${val.error}</span>`;
  else if (val && val.note) valView = html`<span class="muted">${val.note}</span>`;
  else if (val && 'passed' in val)
    valView = html`<span class=${val.passed ? 'ok' : 'bad'}>${val.passed ? '✓ passes' : '✗ fails'}</span>
      <span class="small"> observed <span class="mono">${val.observed}</span>, expected <span class="mono">${val.expected}</span></span>`;
  else if (val) valView = html`<span class="mono">${val.value}</span> <span class="muted small">${val.type}</span>`;

  return html`<div class="playground" data-testid="playground">
    <div class="section-title">Playground</div>
    <label class="pg-label">Selector
      <input class="input mono" data-testid="selector-input" value=${selector} spellcheck="false" autocomplete="off"
        placeholder='span[tracetest.span.type="http"]' onInput=${(e) => setSelector(e.target.value)} /></label>
    <div class="pg-out">
      ${sel && !sel.error && html`<span><b data-testid="selector-count">${sel.count}</b> span${sel.count === 1 ? '' : 's'} match</span>`}
      ${sel && sel.error && html`<span class="bad" data-testid="selector-error" data-column=${sel.column ?? ''}>${sel.error}</span>`}
      ${!sel && html`<span class="muted small">matches light up in the waterfall</span>`}
    </div>
    <label class="pg-label">Expression ${span
        ? html`<span class="muted small">on ${span.name}</span>`
        : sel && sel.first ? html`<span class="muted small">on the first match</span>` : ''}
      <input class="input mono" data-testid="expr-input" value=${expr} spellcheck="false" autocomplete="off"
        placeholder="attr:http.status_code = 200" onInput=${(e) => setExpr(e.target.value)} /></label>
    <div class="pg-out" data-testid="expr-value">${valView || html`<span class="muted small">evaluated on the selected span</span>`}</div>
    <div class="pg-actions">
      <button class="btn btn-primary btn-sm" data-testid="add-spec-button" disabled=${!canAdd} onClick=${addSpec}
        title=${run.kind === 'suite' ? 'A suite run: open a run of the test itself' : 'Append this selector (and the expression, when it is an assertion) to the test'}>
        ${adding ? 'Adding…' : 'Add as spec'}</button>
    </div>
    ${added && added.error && html`<div class="error-box">${added.error}</div>`}
    ${added && !added.error &&
    html`<div class="pg-added">
      <div data-testid="spec-added" class="ok">Saved: ${run.test_id} version ${added.version}</div>
      ${added.warnings.map((w, i) => html`<div class="warn small" key=${i}>line ${w.line}: ${w.message}</div>`)}
      <pre class="code" data-testid="spec-yaml">${added.yaml}</pre>
    </div>`}
  </div>`;
}
