// lib.js - what every page shares: htm bound to Preact, the router (history
// API, plain <a href> links), formatting of times, durations and states.
import { h, render } from './vendor/preact.mjs';
import { useState, useEffect, useRef, useMemo, useCallback } from './vendor/hooks.mjs';
import htm from './vendor/htm.mjs';

export const html = htm.bind(h);
export { h, render, useState, useEffect, useRef, useMemo, useCallback };

// ---- router ----

const NAV_EVENT = 'tc-navigate';

export function navigate(url, replace = false) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new Event(NAV_EVENT));
  if (!replace) window.scrollTo(0, 0);
}

// Replaces query parameters of the current URL (null/'' removes one).
export function setQuery(params) {
  const u = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') u.searchParams.delete(k);
    else u.searchParams.set(k, String(v));
  }
  const next = u.pathname + u.search;
  if (next !== location.pathname + location.search) navigate(next, true);
}

function currentLocation() {
  return { path: location.pathname, query: new URLSearchParams(location.search), href: location.href };
}

export function useLocation() {
  const [loc, setLoc] = useState(currentLocation);
  useEffect(() => {
    const on = () => setLoc(currentLocation());
    window.addEventListener('popstate', on);
    window.addEventListener(NAV_EVENT, on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener(NAV_EVENT, on);
    };
  }, []);
  return loc;
}

// Plain left clicks on same-origin app links become pushState navigations;
// modified clicks, other buttons, targets and /api/ or /ui/ links are left
// to the browser.
export function interceptLinks() {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.hasAttribute('download')) return;
    const target = a.getAttribute('target'); // SVG links too: attributes, not properties
    if (target && target !== '_self') return;
    const u = new URL(a.getAttribute('href'), location.href);
    if (u.origin !== location.origin || u.pathname.startsWith('/api/') || u.pathname.startsWith('/ui/')) return;
    e.preventDefault();
    if (u.pathname + u.search !== location.pathname + location.search) navigate(u.pathname + u.search + u.hash);
  });
}

// ---- formatting ----

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 0) ms = 0;
  if (ms === 0) return '0ms';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 10) return `${parseFloat(ms.toFixed(2))}ms`;
  if (ms < 1000) return `${Math.round(ms * 10) / 10}ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)}s`;
  const m = Math.floor(ms / 60000);
  return `${m}m${Math.round((ms % 60000) / 1000)}s`;
}

export function fmtNs(ns) {
  return fmtDuration(ns / 1e6);
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtAgo(iso) {
  if (!iso) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export const RUNNING_STATES = ['QUEUED', 'CREATED', 'TRIGGERING', 'AWAITING_TRACE', 'EVALUATING'];
export const isRunning = (state) => RUNNING_STATES.includes(state);

// The result class of a run: passed | failed | error | running | empty.
export function resultOf(run) {
  if (!run) return 'empty';
  if (isRunning(run.state)) return 'running';
  return run.result || 'empty';
}

export function StateBadge({ state, result, testid }) {
  const cls = isRunning(state) ? 'running' : result || 'empty';
  return html`<span class=${`badge badge-${cls}`} data-testid=${testid}>${state || '—'}</span>`;
}

export function ResultBadge({ result, testid }) {
  const r = result || 'empty';
  return html`<span class=${`badge badge-${r}`} data-testid=${testid}>${r}</span>`;
}

export function Spinner() {
  return html`<span class="spinner" aria-hidden="true"></span>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  const msg = error.message || String(error);
  return html`<div class="error-box" role="alert">${msg}</div>`;
}

// Debounces a changing value.
export function useDebounced(value, ms) {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

// Pretty-prints JSON text when it parses; else the text unchanged.
export function prettyBody(text) {
  if (typeof text !== 'string') return text === undefined || text === null ? '' : JSON.stringify(text, null, 2);
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch {
      /* not JSON */
    }
  }
  return text;
}

export function setTitle(t) {
  document.title = t ? `${t} · tracecheck` : 'tracecheck';
}
