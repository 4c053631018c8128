// waterfall.js - the trace as a tree of rows with bars on one time axis.
// Rows have a fixed height and only those in view are in the DOM, so a
// trace of 10,000 spans scrolls as one of ten. The tree is built once per
// trace (trace.js); collapsing only re-flattens it. Zoom: drag on the axis.
// Keys: ArrowUp/ArrowDown select, ArrowLeft/ArrowRight collapse/expand (or
// go to the parent / first child), Home/End, Enter opens the span panel,
// Escape closes it.
import { html, useState, useEffect, useRef, useMemo, fmtNs } from './lib.js';
import { flatten, serviceColor } from './trace.js';

const ROW_H = 24;
const OVERSCAN = 12;

// The tallest the rows' viewport gets: most of the window.
const maxBody = (compact) => Math.max(300, Math.round((window.innerHeight || 800) * (compact ? 0.48 : 0.66)));

function niceStep(range, target) {
  const raw = range / target;
  const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

function Axis({ z0, z1, onZoom, empty }) {
  const ref = useRef(null);
  const [drag, setDrag] = useState(null); // {a, b} fractions
  const range = Math.max(1, z1 - z0);
  const step = niceStep(range, 6);
  const ticks = [];
  for (let t = Math.ceil(z0 / step) * step; !empty && t <= z1 && ticks.length < 40; t += step)
    if ((t - z0) / range < 0.94) ticks.push(t); // the last label would be cut off
  const frac = (e) => {
    const r = ref.current.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / (r.width || 1)));
  };
  const down = (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    ref.current.setPointerCapture && ref.current.setPointerCapture(e.pointerId);
    const f = frac(e);
    setDrag({ a: f, b: f });
  };
  const move = (e) => drag && setDrag({ a: drag.a, b: frac(e) });
  const up = (e) => {
    if (!drag) return;
    const b = frac(e);
    const lo = Math.min(drag.a, b);
    const hi = Math.max(drag.a, b);
    setDrag(null);
    const w = ref.current.getBoundingClientRect().width || 1;
    if ((hi - lo) * w >= 4) onZoom(z0 + lo * range, z0 + hi * range);
  };
  return html`<div class="wf-axis" data-testid="time-axis" ref=${ref} onPointerDown=${down} onPointerMove=${move}
      onPointerUp=${up} onPointerCancel=${() => setDrag(null)} title="Drag to zoom into a time range">
    ${ticks.map(
      (t) => html`<span class="wf-tick" key=${t} style=${{ left: `${((t - z0) / range) * 100}%` }}>${fmtNs(t)}</span>`,
    )}
    ${drag &&
    html`<div class="wf-drag" style=${{
      left: `${Math.min(drag.a, drag.b) * 100}%`,
      width: `${Math.abs(drag.b - drag.a) * 100}%`,
    }}></div>`}
  </div>`;
}

// props: trace, tree, selected (id), onSelect(id), onOpen(id), onClose(), highlighted
// (Set of ids or null), asserts (Map id -> 'pass'|'fail'), compact (bool)
export function Waterfall({ trace, tree, selected, onSelect, onOpen, onClose, highlighted, asserts, compact }) {
  const [collapsed, setCollapsed] = useState(() => new Set());
  const [zoom, setZoom] = useState(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(480);
  const body = useRef(null);
  const raf = useRef(0);

  const rows = useMemo(() => flatten(tree, collapsed), [tree, collapsed]);
  const index = useMemo(() => {
    const m = new Map();
    rows.forEach((n, i) => m.set(n.id, i));
    return m;
  }, [rows]);

  useEffect(() => {
    const el = body.current;
    if (!el) return undefined;
    setViewH(el.clientHeight || 480);
    if (typeof ResizeObserver === 'undefined') return undefined;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight || 480));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // keep the selected row in view (keyboard, ?span= on load)
  useEffect(() => {
    const i = index.get(selected);
    const el = body.current;
    if (i === undefined || !el) return;
    const top = i * ROW_H;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_H - el.clientHeight;
  }, [selected, index]);

  const onScroll = () => {
    if (raf.current) return;
    raf.current = requestAnimationFrame(() => {
      raf.current = 0;
      if (body.current) setScrollTop(body.current.scrollTop);
    });
  };
  useEffect(() => () => raf.current && cancelAnimationFrame(raf.current), []);

  const z0 = zoom ? zoom[0] : trace.start;
  const z1 = zoom ? zoom[1] : Math.max(trace.end, trace.start + 1);
  const range = Math.max(1, z1 - z0);

  const toggle = (id, open) => {
    const next = new Set(collapsed);
    const isOpen = !collapsed.has(id);
    const want = open === undefined ? !isOpen : open;
    if (want) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };
  const collapseAll = () => {
    const next = new Set();
    for (const n of tree.roots) if (n.children.length) next.add(n.id);
    setCollapsed(next);
  };

  const onKey = (e) => {
    if (e.target.tagName === 'INPUT' || e.target.tagName === 'TEXTAREA') return;
    if (!rows.length) return;
    let i = index.get(selected);
    const cur = i === undefined ? null : rows[i];
    const go = (j) => {
      e.preventDefault();
      onSelect(rows[Math.max(0, Math.min(rows.length - 1, j))].id);
    };
    switch (e.key) {
      case 'ArrowDown':
        return go(i === undefined ? 0 : i + 1);
      case 'ArrowUp':
        return go(i === undefined ? 0 : i - 1);
      case 'Home':
        return go(0);
      case 'End':
        return go(rows.length - 1);
      case 'PageDown':
        return go((i || 0) + Math.floor(viewH / ROW_H));
      case 'PageUp':
        return go((i || 0) - Math.floor(viewH / ROW_H));
      case 'ArrowLeft':
        e.preventDefault();
        if (!cur) return go(0);
        if (cur.children.length && !collapsed.has(cur.id)) toggle(cur.id, false);
        else if (cur.parent) onSelect(cur.parent.id);
        return undefined;
      case 'ArrowRight':
        e.preventDefault();
        if (!cur) return go(0);
        if (cur.children.length && collapsed.has(cur.id)) toggle(cur.id, true);
        else if (cur.children.length) onSelect(cur.children[0].id);
        return undefined;
      case 'Escape':
        if (onClose) onClose();
        return undefined;
      case 'Enter':
        e.preventDefault();
        if (cur && onOpen) onOpen(cur.id);
        return undefined;
      default:
        return undefined;
    }
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewH) / ROW_H) + OVERSCAN);
  const lit = highlighted && highlighted.size ? highlighted : null;

  const rowEls = [];
  for (let i = first; i < last; i++) {
    const n = rows[i];
    const s = n.span;
    const start = s ? s.start : n.start;
    const end = s ? s.end : n.end;
    const left = ((start - z0) / range) * 100;
    const width = Math.max(((end - start) / range) * 100, 0.15);
    const service = s ? s.service : '';
    const color = s ? serviceColor(service) : -1;
    const isLit = s && lit && lit.has(n.id);
    const assert = s && asserts ? asserts.get(n.id) : undefined;
    const open = !collapsed.has(n.id);
    const cls = ['wf-row'];
    if (n.id === selected) cls.push('is-selected');
    if (lit && !isLit) cls.push('is-dim');
    if (isLit) cls.push('is-lit');
    if (n.missing) cls.push('is-missing');
    // the duration: after the bar, else inside it (a wide bar), else before it
    const durLeft = Math.min(Math.max(left + width, 0), 100);
    let durClass = 'wf-dur';
    let durAt = durLeft;
    if (durLeft > 82 && width >= 10) durClass = 'wf-dur wf-dur-in';
    else if (durLeft > 82) {
      durClass = 'wf-dur wf-dur-before';
      durAt = Math.max(left, 0);
    }
    rowEls.push(html`<div
      key=${n.id}
      class=${cls.join(' ')}
      data-testid="span-row"
      data-span-id=${n.id}
      data-depth=${n.depth}
      data-service=${service}
      data-error=${s && s.error ? 'true' : undefined}
      data-highlighted=${isLit ? 'true' : undefined}
      data-assert=${assert}
      data-selected=${n.id === selected ? 'true' : undefined}
      data-missing=${n.missing ? 'true' : undefined}
      role="treeitem"
      aria-level=${n.depth + 1}
      aria-selected=${n.id === selected ? 'true' : 'false'}
      aria-expanded=${n.children.length ? String(open) : undefined}
      onClick=${() => {
        onSelect(n.id);
        if (onOpen) onOpen(n.id);
      }}
    >
      <div class="wf-name">
        <span class="wf-indent" style=${{ width: `${n.depth * 14}px` }}></span>
        ${n.children.length
          ? html`<button class="wf-toggle" data-testid="toggle" tabindex="-1" aria-label=${open ? 'Collapse' : 'Expand'}
              onClick=${(e) => {
                e.stopPropagation();
                toggle(n.id);
              }}>${open ? '▾' : '▸'}</button>`
          : html`<span class="wf-toggle-pad"></span>`}
        ${s
          ? html`<span class=${`svc-dot c${color}`}></span>
              <span class="wf-span-name" data-testid="span-name" title=${s.name}>${s.name}</span>
              ${assert && html`<span class=${`wf-assert ${assert}`} title=${`assertion ${assert === 'pass' ? 'passed' : 'failed'}`}>${assert === 'pass' ? '✓' : '✗'}</span>`}
              ${s.error && html`<span class="wf-err" title="status error">!</span>`}
              <span class="wf-meta"><span class="wf-svc">${service}</span> <span class="wf-kind">${s.kind}</span></span>`
          : html`<span class="wf-span-name wf-missing-name" data-testid="span-name">missing parent ${n.id}</span>
              <span class="wf-meta">${n.children.length} child${n.children.length === 1 ? '' : 'ren'}</span>`}
      </div>
      <div class="wf-track">
        <div class=${s ? `wf-bar c${color}${s.error ? ' is-error' : ''}` : 'wf-bar wf-bar-missing'}
          style=${{ left: `${left}%`, width: `${width}%` }}></div>
        <span class=${durClass} style=${{ left: `${durAt}%` }}>
          ${fmtNs(end - start)}</span>
      </div>
    </div>`);
  }

  const services = trace.services;
  return html`<div class=${compact ? 'wf wf-compact' : 'wf'} data-testid="waterfall" data-total-rows=${tree.total}
      data-visible-rows=${rows.length} data-rendered-rows=${last - first} tabindex="0" role="tree"
      aria-label="Trace waterfall" onKeyDown=${onKey}>
    <div class="wf-toolbar">
      <span class="wf-count">${trace.spans.length} span${trace.spans.length === 1 ? '' : 's'}${tree.missing.size ? ` · ${tree.missing.size} missing parent${tree.missing.size === 1 ? '' : 's'}` : ''}</span>
      <span class="wf-tools">
        <button class="btn-mini" onClick=${() => setCollapsed(new Set())} title="Expand every span">Expand all</button>
        <button class="btn-mini" onClick=${collapseAll} title="Collapse to the roots">Collapse all</button>
        <button class="btn-mini" data-testid="zoom-reset" disabled=${!zoom} onClick=${() => setZoom(null)}
          title="Show the whole trace">Reset zoom</button>
      </span>
    </div>
    <div class="wf-head">
      <div class="wf-head-name muted small">Span <span class="wf-head-hint">↑↓ select · ←→ fold · Enter details · drag the axis to zoom</span></div>
      <${Axis} z0=${z0} z1=${z1} empty=${!trace.spans.length} onZoom=${(a, b) => setZoom([a, b])} />
    </div>
    <div class="wf-body" ref=${body} onScroll=${onScroll}
      style=${{ height: `${Math.max(72, Math.min(rows.length * ROW_H + 2, maxBody(compact)))}px` }}>
      ${rows.length === 0 && html`<div class="wf-empty">No spans.</div>`}
      <div class="wf-spacer" style=${{ height: `${rows.length * ROW_H}px` }}>
        <div class="wf-rows" style=${{ transform: `translateY(${first * ROW_H}px)` }}>${rowEls}</div>
      </div>
    </div>
    <div class="wf-legend">
      ${services.slice(0, 24).map(
        (sv) => html`<span class="wf-legend-item" key=${sv}><span class=${`svc-dot c${serviceColor(sv)}`}></span>${sv}</span>`,
      )}
      ${services.length > 24 && html`<span class="muted">+${services.length - 24} more</span>`}
      ${zoom && html`<span class="muted wf-zoom-note">zoomed: ${fmtNs(z0)} – ${fmtNs(z1)}</span>`}
    </div>
  </div>`;
}
