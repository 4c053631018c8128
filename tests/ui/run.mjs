// Runs the browser tests of the web UI in one headless Chromium: every
// tests/ui/*.test.mjs (sorted) exports `tests`, a list of [name, fn]; each
// test gets a fresh browser context (1280x800, no stored token) and a page,
// and saves a screenshot NN-NAME.png in the output directory when it ends
// (passed or not). Prints "ok NAME" or "FAIL NAME: why" a test, then
// "N passed, N failed". Every test is bounded (TC_UI_TEST_TIMEOUT ms, 30000)
// and so is the whole run (TC_UI_TOTAL_TIMEOUT ms, 100000): the browser is
// closed on the way out, also on SIGTERM/SIGINT.
//   node run.mjs [FILTER]   only tests whose name contains FILTER
// Environment: TC_UI_URL, TC_OUT (screenshots; default a new temp dir,
// printed), TC_CHROMIUM, and what the tests read (see each file).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, base } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] || '';
const perTest = Number(process.env.TC_UI_TEST_TIMEOUT || 30000);
const total = Number(process.env.TC_UI_TOTAL_TIMEOUT || 100000);
let out = process.env.TC_OUT;
if (!out) {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'tracecheck-ui-shots.'));
  console.log(`screenshots in ${out}`);
}
fs.mkdirSync(out, { recursive: true });

let browser = null;
let pass = 0;
let fail = 0;
async function finish(code) {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(code);
}
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => { console.log(`FAIL stopped by ${sig}`); fail++; finish(1); });
setTimeout(() => { console.log(`FAIL the browser tests took longer than ${total} ms`); fail++; finish(1); }, total).unref();

const files = fs.readdirSync(here).filter((f) => f.endsWith('.test.mjs')).sort();
const tests = [];
for (const f of files) {
  const mod = await import(path.join(here, f));
  for (const [name, fn] of mod.tests) if (name.includes(filter)) tests.push([name, fn]);
}

try {
  browser = await launch();
} catch (e) {
  console.log(`FAIL chromium did not start: ${e.message.split('\n')[0]}`);
  fail++;
  await finish(1);
}

// Shared between tests (a run one test made, another reuses).
const shared = {};
let n = 0;
for (const [name, fn] of tests) {
  n++;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(10000);
  const page = await ctx.newPage();
  const errors = [];
  const watch = (p) => {
    p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    p.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  };
  watch(page);
  ctx.on('page', (p) => { if (p !== page) watch(p); });
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 48);
  const shotFile = path.join(out, `${String(n).padStart(2, '0')}-${slug}.png`);
  const t0 = Date.now();
  let timer;
  let step = '';
  try {
    await Promise.race([
      fn({ page, ctx, base, shared, out, log: (m) => console.log(`  ${m}`), step: (m) => { step = m; } }),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`took longer than ${perTest} ms`)), perTest); }),
    ]);
    console.log(`ok ${name} (${Date.now() - t0} ms)`);
    pass++;
  } catch (e) {
    const where = step ? `${step}: ` : '';
    console.log(`FAIL ${name}: ${where}${String(e && e.message || e).split('\n')[0]} (at ${page.url()}, ${Date.now() - t0} ms)`);
    // playwright's call log: what it waited for
    const more = String(e && e.message || '').split('\n').slice(1).filter((l) => l.trim()).slice(-4);
    for (const l of [...more, ...errors.slice(0, 5)]) console.log(`  ${l.trim().slice(0, 300)}`);
    fail++;
  } finally {
    clearTimeout(timer);
  }
  try {
    const pages = ctx.pages();
    await pages[pages.length - 1].screenshot({ path: shotFile, timeout: 5000 });
  } catch { /* the page may be gone */ }
  await ctx.close().catch(() => {});
}
await finish(fail ? 1 : 0);
