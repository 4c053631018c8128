// The run page with a big trace in headless Chromium: for REPEAT page loads
// of /runs/RUN, the time from navigation to the waterfall knowing all its
// rows (data-total-rows = ROWS) with rows rendered; then the time for rows
// to show after jumping to the middle and to the end of the list, and a
// smooth scroll (40 px a frame for 120 frames: frame times). Prints a
// table of medians (and the worst). The rows in the DOM show what the
// virtualization keeps.
// Usage: node waterfall.mjs RUN ROWS [REPEAT]   (TC_UI_URL, TC_CHROMIUM as tests/ui)
import { launch, base } from '../../tests/ui/lib.mjs';

const [runArg, rowsArg, repArg] = process.argv.slice(2);
const run = Number(runArg);
const rows = Number(rowsArg);
const repeat = Number(repArg || 5);
if (!(run > 0) || !(rows > 0)) {
  console.error('usage: node waterfall.mjs RUN ROWS [REPEAT]');
  process.exit(2);
}

// In the page: scroll to FRACTION of the list; resolves with the ms until the
// rows in the DOM are others than before (when the DOM holds them all: the
// next frame) and one of them is in view.
function jump(fraction) {
  const wf = document.querySelector('[data-testid="waterfall"]');
  const ok = (e) => e && e.scrollHeight > e.clientHeight + 20 && /(auto|scroll)/.test(getComputedStyle(e).overflowY);
  let sc = ok(wf) ? wf : null;
  if (!sc) for (const e of wf.querySelectorAll('*')) if (ok(e)) { sc = e; break; }
  if (!sc) for (let e = wf.parentElement; e && !sc; e = e.parentElement) if (ok(e)) sc = e;
  sc = sc || document.scrollingElement;
  const ids = () => [...document.querySelectorAll('[data-testid="span-row"]')].map((r) => r.getAttribute('data-span-id')).join(',');
  const before = ids();
  const box = sc === document.scrollingElement ? { top: 0, bottom: innerHeight } : sc.getBoundingClientRect();
  return new Promise((resolve) => {
    const t0 = performance.now();
    sc.scrollTop = fraction >= 1 ? sc.scrollHeight : Math.round((sc.scrollHeight - sc.clientHeight) * fraction);
    const check = () => {
      const now = ids();
      const inView = [...document.querySelectorAll('[data-testid="span-row"]')].some((r) => {
        const b = r.getBoundingClientRect();
        return b.bottom > box.top && b.top < box.bottom && b.height > 0;
      });
      const all = document.querySelectorAll('[data-testid="span-row"]').length >= Number(wf.getAttribute('data-total-rows'));
      if ((now !== before || all) && inView) resolve({ ms: performance.now() - t0, dom: document.querySelectorAll('[data-testid="span-row"]').length });
      else if (performance.now() - t0 > 10000) resolve({ ms: NaN, dom: 0 });
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
}

// In the page: scroll STEP px a frame for FRAMES frames from the top; frame times.
function smooth([step, frames]) {
  const wf = document.querySelector('[data-testid="waterfall"]');
  const ok = (e) => e && e.scrollHeight > e.clientHeight + 20 && /(auto|scroll)/.test(getComputedStyle(e).overflowY);
  let sc = ok(wf) ? wf : null;
  if (!sc) for (const e of wf.querySelectorAll('*')) if (ok(e)) { sc = e; break; }
  if (!sc) for (let e = wf.parentElement; e && !sc; e = e.parentElement) if (ok(e)) sc = e;
  sc = sc || document.scrollingElement;
  sc.scrollTop = 0;
  return new Promise((resolve) => {
    const times = [];
    let last = performance.now();
    let i = 0;
    const tick = () => {
      const now = performance.now();
      times.push(now - last);
      last = now;
      if (++i >= frames) {
        times.sort((a, b) => a - b);
        resolve({ mean: times.reduce((a, b) => a + b, 0) / times.length, p95: times[Math.floor(times.length * 0.95)], max: times[times.length - 1] });
        return;
      }
      sc.scrollTop += step;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

const browser = await launch();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, async () => { await browser.close().catch(() => {}); process.exit(1); });
const m = { load: [], dom: [], mid: [], end: [], mean: [], p95: [], max: [] };
let failed = null;
try {
  for (let i = 0; i < repeat; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(`${base}/runs/${run}`, { waitUntil: 'commit' });
    // since navigation start (performance.now() of the new document)
    const handle = await page.waitForFunction((want) => {
      const wf = document.querySelector('[data-testid="waterfall"]');
      return wf && Number(wf.getAttribute('data-total-rows')) >= want &&
        document.querySelector('[data-testid="span-row"]') ? performance.now() : false;
    }, rows, { polling: 'raf', timeout: 60000 });
    m.load.push(await handle.jsonValue());
    m.dom.push(await page.locator('[data-testid="span-row"]').count());
    const mid = await page.evaluate(jump, 0.5);
    const end = await page.evaluate(jump, 1);
    m.mid.push(mid.ms);
    m.end.push(end.ms);
    const s = await page.evaluate(smooth, [40, 120]);
    m.mean.push(s.mean);
    m.p95.push(s.p95);
    m.max.push(s.max);
    await ctx.close();
  }
} catch (e) {
  failed = e.message.split('\n')[0];
}
await browser.close();
if (failed) {
  console.log(`waterfall bench failed: ${failed}`);
  process.exit(1);
}
const line = (what, xs, unit = 'ms') => console.log(`| ${what.padEnd(52)} | ${fmt(median(xs)).padStart(8)} | ${fmt(Math.max(...xs)).padStart(8)} | ${unit}`);
console.log(`run ${run}: ${rows} rows, ${repeat} page loads, Chromium headless 1280x800`);
console.log(`| ${'measure'.padEnd(52)} | ${'median'.padStart(8)} | ${'worst'.padStart(8)} |`);
console.log(`|${'-'.repeat(54)}|${'-'.repeat(10)}|${'-'.repeat(10)}|`);
line('navigation -> waterfall with all rows, rows shown', m.load);
line('span-row elements in the DOM (virtualized)', m.dom, 'rows');
line('jump to the middle -> rows in view', m.mid);
line('jump to the end -> rows in view', m.end);
line('smooth scroll 40 px/frame: mean frame time', m.mean);
line('smooth scroll: 95th percentile frame time', m.p95);
line('smooth scroll: longest frame', m.max);
