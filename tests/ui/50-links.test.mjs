// Links: a run page, its playground and a history page opened directly by
// URL in a new page (the server answers them with the app); a ctrl-click
// opens a new tab; the tests page -> history -> run by plain clicks without
// reloading the document (pushState), then the back button twice returns
// to the tests page.
import { check, until, sharedRun } from './lib.mjs';

export const tests = [
  ['links: a run page URL opened directly works; back returns to the tests page', async ({ page, ctx, base, shared, log }) => {
    const id = await (shared.createOrder || sharedRun(shared, 'createOrder', 'create-order'));

    const direct = await ctx.newPage();
    await direct.goto(`${base}/runs/${id}?spec=1`);
    await until(async () => (await direct.getByTestId('run-state').textContent()).includes('FINISHED'), 10000, 'run-state FINISHED on a direct load');
    await until(async () => Number(await direct.getByTestId('waterfall').getAttribute('data-total-rows')) > 0, 10000, 'waterfall rows on a direct load');
    const item = direct.locator('[data-testid="spec-item"][data-index="1"]');
    await item.waitFor();
    await until(async () => (await direct.locator('[data-testid="span-row"][data-highlighted="true"]').count()) > 0, 5000,
      '?spec=1 lights its spans on a direct load');
    await direct.goto(`${base}/runs/${id}/playground`);
    await direct.getByTestId('selector-input').waitFor();
    await direct.goto(`${base}/tests/create-order`);
    await direct.locator('[data-testid="history-row"]').first().waitFor();
    await direct.close();

    await page.goto(`${base}/tests`);
    await page.getByTestId('tests-table').waitFor();
    const startPath = new URL(page.url()).pathname;
    await page.evaluate(() => { window.__sameDocument = true; });
    const historyLink = page.locator('[data-testid="test-row"][data-id="create-order"] a[href="/tests/create-order"]').first();
    // ctrl-click: a new tab, this page stays
    const [tab] = await Promise.all([ctx.waitForEvent('page', { timeout: 5000 }), historyLink.click({ modifiers: ['Control'] })]);
    await tab.waitForURL(/\/tests\/create-order$/);
    await tab.close();
    check(new URL(page.url()).pathname === startPath, `ctrl-click navigated this page to ${page.url()}`);
    await historyLink.click();
    await page.waitForURL(/\/tests\/create-order$/);
    const link = page.locator(`[data-testid="history-row"][data-run-id="${id}"] a[href="/runs/${id}"]`);
    await link.waitFor();
    await link.click();
    await page.waitForURL(new RegExp(`/runs/${id}$`));
    await page.getByTestId('run-state').waitFor();
    check(await page.evaluate(() => window.__sameDocument === true), 'a click on a link reloaded the document (no pushState)');
    await page.goBack();
    await page.waitForURL(/\/tests\/create-order$/);
    await page.locator('[data-testid="history-row"]').first().waitFor();
    await page.goBack();
    await until(() => new URL(page.url()).pathname === startPath, 5000, `back at ${startPath} (${page.url()})`);
    await page.getByTestId('tests-table').waitFor();
    await page.locator('[data-testid="test-row"][data-id="create-order"]').waitFor();
    check(await page.evaluate(() => window.__sameDocument === true), 'back reloaded the document');
    log(`/runs/${id} direct; /tests -> /tests/create-order -> /runs/${id} -> back -> back`);
  }],
];
