// The deliberately failing test (demo/tests/failing.yaml) on its run page:
// its failing spec is shown failed; clicking it lights the spans it
// selected (data-highlighted, and data-assert="fail" where the assertion
// failed, nothing else lit) and puts ?spec=N in the URL; the span panel of
// such a span shows the failed assertion with the observed value of the
// run's results. And a declined card's run: its error spans are marked.
import { api, check, until, sharedRun, rowAttrs, traceSpans } from './lib.mjs';

export const tests = [
  ['the failing test: its failing spec lights its spans, the panel shows the observed value', async ({ page, base, shared, log }) => {
    const id = await sharedRun(shared, 'failing', 'failing-on-purpose');
    const run = (await api('GET', `/api/runs/${id}`)).body;
    check(run.state === 'FINISHED' && run.result === 'failed', `run ${id}: ${run.state} ${run.result}`);
    const specs = run.results.specs;
    const idx = specs.findIndex((s) => s.passed === false);
    check(idx >= 0, 'no failing spec in the results');
    const spec = specs[idx];
    const selected = new Set(spec.spans.map((s) => s.span_id).filter(Boolean));
    const failing = spec.spans.filter((s) => s.passed === false && s.span_id);
    check(selected.size > 0 && failing.length > 0, `spec ${idx} selected ${selected.size} spans, ${failing.length} failing`);

    await page.goto(`${base}/runs/${id}`);
    const item = page.locator(`[data-testid="spec-item"][data-index="${idx}"]`);
    await item.waitFor();
    check(await item.getAttribute('data-passed') === 'false', `spec-item ${idx}: data-passed=${await item.getAttribute('data-passed')}`);
    await page.getByTestId('waterfall').waitFor();
    await item.click();
    await until(() => new URL(page.url()).searchParams.get('spec') === String(idx), 3000, `?spec=${idx} in the URL (${page.url()})`);

    const rows = '[data-testid="span-row"]';
    let lit = [];
    await until(async () => {
      const ids = await rowAttrs(page, 'data-span-id', rows);
      const hl = await rowAttrs(page, 'data-highlighted', rows);
      lit = ids.filter((_, i) => hl[i] === 'true');
      const want = ids.filter((x) => selected.has(x));
      return want.length > 0 && JSON.stringify(lit) === JSON.stringify(want);
    }, 5000, () => `exactly the selected spans in view lit (lit: ${lit.join(' ')}; selected: ${[...selected].join(' ')})`);
    for (const f of failing) {
      const row = page.locator(`${rows}[data-span-id="${f.span_id}"]`);
      if (await row.count() === 0) continue; // out of view
      check(await row.getAttribute('data-assert') === 'fail', `span ${f.span_id}: data-assert=${await row.getAttribute('data-assert')}`);
    }
    const passing = spec.spans.filter((s) => s.passed === true && s.span_id);
    for (const p of passing) {
      const row = page.locator(`${rows}[data-span-id="${p.span_id}"]`);
      if (await row.count() === 0) continue;
      check(await row.getAttribute('data-assert') === 'pass', `span ${p.span_id}: data-assert=${await row.getAttribute('data-assert')}`);
    }

    // the span panel of the first failing span in view
    const f = failing.find((x) => lit.includes(x.span_id));
    check(f, 'no failing span in view');
    const bad = f.assertions.find((a) => a.passed === false);
    const row = page.locator(`${rows}[data-span-id="${f.span_id}"]`);
    await row.click();
    const panel = page.getByTestId('span-panel');
    try { await panel.waitFor({ timeout: 2000 }); } catch { await row.press('Enter'); await panel.waitFor({ timeout: 3000 }); }
    await until(async () => await row.getAttribute('data-selected') === 'true', 3000, 'the clicked row data-selected');
    const res = panel.locator('[data-testid="assertion-result"][data-passed="false"]');
    await res.first().waitFor();
    const observed = (await res.first().getByTestId('observed').textContent()).trim();
    const expected = (await res.first().getByTestId('expected').textContent()).trim();
    check(observed.includes(bad.observed), `observed shows "${observed}", the results say "${bad.observed}"`);
    check(expected.includes(bad.expected), `expected shows "${expected}", the results say "${bad.expected}"`);
    log(`run ${id}, spec ${idx}: ${lit.length} spans lit; ${f.name}: observed ${bad.observed}, expected ${bad.expected}`);
  }],
  ['a declined card: the error spans (and only they) are marked data-error', async ({ page, base, shared, log }) => {
    const id = await sharedRun(shared, 'declined', 'declined-payment');
    const trace = (await api('GET', `/api/runs/${id}/trace`)).body;
    const errors = new Set(traceSpans(trace).filter((s) => s.status && (s.status.code === 2 || s.status.code === 'STATUS_CODE_ERROR')).map((s) => s.spanId));
    check(errors.size > 0, 'the trace has no error span');
    await page.goto(`${base}/runs/${id}`);
    await until(async () => Number(await page.getByTestId('waterfall').getAttribute('data-total-rows')) > 0, 10000, 'waterfall rows');
    const ids = await rowAttrs(page, 'data-span-id');
    const marked = await rowAttrs(page, 'data-error');
    const want = ids.filter((x) => errors.has(x));
    const got = ids.filter((_, i) => marked[i] === 'true');
    check(want.length > 0 && JSON.stringify(got) === JSON.stringify(want), `data-error on ${got.join(' ')}, the error spans in view: ${want.join(' ')}`);
    log(`run ${id}: ${got.length} error spans marked`);
  }],
];
