// The history page of create-order: one chart point and one row per run of
// GET /api/runs?test=create-order (with its result); ticking two runs shows
// compare-link to /compare/A/B, which shows both runs side by side, each
// with its specs and its waterfall. On the tests page, create-order's
// last-run shows the newest run's state and counts, its history-strip one
// strip-run per run, newest last.
import { api, check, until, sharedRun, hasNumber } from './lib.mjs';

export const tests = [
  ['history: a point and a row per run; two ticked runs compare side by side; the strip', async ({ page, base, shared, log }) => {
    const a = await (shared.createOrder || sharedRun(shared, 'createOrder', 'create-order'));
    const b = await sharedRun(shared, 'createOrder2', 'create-order');
    const runs = (await api('GET', '/api/runs?test=create-order&limit=500')).body.items;
    await page.goto(`${base}/tests/create-order`);
    await page.getByTestId('history-chart').waitFor();
    const rowIds = async () => page.$$eval('[data-testid="history-row"]', (els) => els.map((e) => Number(e.getAttribute('data-run-id'))));
    await until(async () => (await rowIds()).length === runs.length, 5000, `${runs.length} history rows`);
    const ids = await rowIds();
    for (const r of runs) check(ids.includes(r.id), `no history-row for run ${r.id}`);
    const points = await page.$$eval('[data-testid="chart-point"]', (els) => els.map((e) => [Number(e.getAttribute('data-run-id')), e.getAttribute('data-result')]));
    for (const r of runs) {
      const p = points.find(([id]) => id === r.id);
      check(p, `no chart-point for run ${r.id}`);
      check(p[1] === r.result, `chart-point ${r.id}: data-result ${p[1]}, the run is ${r.result}`);
    }
    for (const id of [a, b]) await page.locator(`[data-testid="history-row"][data-run-id="${id}"] [data-testid="compare-check"]`).check();
    const link = page.getByTestId('compare-link');
    await link.waitFor({ timeout: 3000 });
    const href = await link.getAttribute('href');
    const want = [`/compare/${a}/${b}`, `/compare/${b}/${a}`];
    check(want.includes(href), `compare-link points to ${href}, not ${want[0]}`);
    await link.click();
    await page.waitForURL(new RegExp(`${href}$`));
    for (const side of ['compare-left', 'compare-right']) {
      const s = page.getByTestId(side);
      await s.waitFor();
      await until(async () => Number(await s.getByTestId('waterfall').getAttribute('data-total-rows')) > 0, 10000, `${side}: a waterfall with rows`);
      check(await s.locator('[data-testid="spec-item"]').count() > 0, `${side}: no spec-item`);
    }

    // the tests page: create-order's last run and its strip, newest last
    await page.goto(`${base}/tests`);
    const row = page.locator('[data-testid="test-row"][data-id="create-order"]');
    await row.waitFor();
    const newest = runs[0];
    const last = (await row.getByTestId('last-run').textContent()).replace(/\s+/g, ' ');
    check(last.includes(newest.state) && hasNumber(last, newest.passed) && hasNumber(last, newest.failed),
      `last-run "${last}", the newest run is ${newest.state} ${newest.passed} passed ${newest.failed} failed`);
    const strip = await row.locator('[data-testid="strip-run"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-result')));
    const oldestFirst = runs.map((r) => r.result).reverse();
    check(JSON.stringify(strip) === JSON.stringify(oldestFirst), `history-strip ${strip.join(" ")}, the runs oldest first: ${oldestFirst.join(" ")}`);
    log(`${runs.length} runs in the history; ${href}; last-run "${last.trim()}"`);
  }],
];
