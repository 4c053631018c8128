// A run started from the UI: the Run button of create-order opens the
// variables form (the test reads GATEWAY_URL; ORDER_ID is its own output,
// not asked), the app goes to /runs/{id}, the page follows the run live
// (the state text changes while the page is open; live-status or span-count
// shows; the spans so far are on the waterfall while the run waits) and ends
// FINISHED / passed, with one waterfall row per span of
// GET /api/runs/{id}/trace (plus one per missing parent), each row with its
// span's service and depth.
// Environment: GATEWAY_URL, INVENTORY_ADDR (the demo's addresses).
import { api, check, until, demoVars, waterfallRows, hasNumber } from './lib.mjs';

// Records every text the run-state element shows, and whether live-status or
// span-count appeared, from the first moment of each page.
function recorder() {
  window.__states = [];
  window.__live = [];
  window.__rowsWhileWaiting = 0;
  const look = () => {
    const st = document.querySelector('[data-testid="run-state"]');
    const t = st ? st.textContent.trim() : null;
    if (t && window.__states[window.__states.length - 1] !== t) window.__states.push(t);
    const wf = document.querySelector('[data-testid="waterfall"]');
    if (t && t.includes('AWAITING_TRACE') && wf)
      window.__rowsWhileWaiting = Math.max(window.__rowsWhileWaiting, Number(wf.getAttribute('data-total-rows')) || 0);
    for (const id of ['live-status', 'span-count']) {
      const el = document.querySelector(`[data-testid="${id}"]`);
      if (el && !window.__live.includes(id)) window.__live.push(id);
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

export const tests = [
  ['run create-order from the UI: live, then FINISHED and passed, one row a span', async ({ page, ctx, base, shared, log }) => {
    await ctx.addInitScript(recorder);
    await page.goto(`${base}/tests`);
    const row = page.locator('[data-testid="test-row"][data-id="create-order"]');
    await row.getByTestId('run-button').click();
    const form = page.getByTestId('vars-form');
    await form.waitFor({ timeout: 5000 });
    const names = await form.getByTestId('var-input').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
    check(names.includes('GATEWAY_URL'), `the variables form asks for ${names.join(', ') || 'nothing'}, not GATEWAY_URL`);
    check(!names.includes('ORDER_ID'), 'the variables form asks for ORDER_ID, an output of the test');
    const vars = demoVars();
    for (const n of names) await form.locator(`[data-testid="var-input"][data-name="${n}"]`).fill(vars[n] || 'x');
    await form.getByTestId('vars-submit').click();
    await page.waitForURL(/\/runs\/\d+$/, { timeout: 10000 });
    const id = Number(new URL(page.url()).pathname.split('/')[2]);
    shared.createOrder = Promise.resolve(id);

    await until(async () => (await page.getByTestId('run-state').textContent()).includes('FINISHED'), 30000,
      'run-state FINISHED');
    const result = (await page.getByTestId('run-result').textContent()).trim();
    check(/passed/.test(result), `run-result is "${result}"`);
    const run = (await api('GET', `/api/runs/${id}`)).body;
    check(run.state === 'FINISHED' && run.result === 'passed', `the API says ${run.state} ${run.result}`);
    check(run.variables && run.variables.GATEWAY_URL === vars.GATEWAY_URL, `the run's GATEWAY_URL: ${JSON.stringify(run.variables)}`);

    const states = await page.evaluate(() => window.__states);
    const live = await page.evaluate(() => window.__live);
    check(states.length >= 2, `the run-state text never changed while the page was open: ${states.join(' > ')}`);
    check(live.length > 0, 'neither live-status nor span-count appeared');
    const whileWaiting = await page.evaluate(() => window.__rowsWhileWaiting);
    check(whileWaiting > 0, 'no waterfall row while the run waited for its trace (spans so far)');

    const trace = (await api('GET', `/api/runs/${id}/trace`)).body;
    const want = waterfallRows(trace);
    check(want.spans > 0, 'the trace has no span');
    const wf = page.getByTestId('waterfall');
    await until(async () => Number(await wf.getAttribute('data-total-rows')) === want.rows, 10000,
      `waterfall data-total-rows = ${want.rows} (${want.spans} spans, ${want.missing} missing parents)`);
    const inDom = await page.locator('[data-testid="span-row"]').count();
    check(inDom > 0, 'no span-row in the DOM');
    // each row: its span's service and depth (the root at 0, a child one below its parent)
    const service = new Map();
    const parent = new Map();
    for (const rs of trace.resourceSpans) {
      const svc = (rs.resource?.attributes || []).find((a) => a.key === 'service.name')?.value?.stringValue;
      for (const ss of rs.scopeSpans || []) for (const sp of ss.spans || []) { service.set(sp.spanId, svc); parent.set(sp.spanId, sp.parentSpanId || ''); }
    }
    const depth = (sid) => (parent.get(sid) && parent.has(parent.get(sid)) ? 1 + depth(parent.get(sid)) : 0);
    const rows = await page.$$eval('[data-testid="span-row"]:not([data-missing="true"])',
      (els) => els.map((e) => [e.getAttribute('data-span-id'), e.getAttribute('data-service'), e.getAttribute('data-depth')]));
    for (const [sid, svc, d] of rows) {
      check(service.get(sid) === svc, `row ${sid}: data-service ${svc}, the span's service.name ${service.get(sid)}`);
      if (want.missing === 0) check(Number(d) === depth(sid), `row ${sid}: data-depth ${d}, the span is ${depth(sid)} deep`);
    }
    await until(async () => hasNumber(await page.getByTestId('span-count').textContent(), run.spans), 5000,
      `span-count showing ${run.spans}`);
    log(`run ${id}: states ${states.join(' > ')}; seen ${live.join(', ')}; ${whileWaiting} rows while waiting, ${want.rows} at the end (${inDom} in the DOM)`);
  }],
];
