// The run page of create-order in detail: one timeline-step per state of
// the run's timeline, the trigger's response body pretty-printed, the
// keyboard (ArrowDown moves the selection, ArrowLeft/ArrowRight fold and
// unfold a span's children, Enter opens the panel), the toggle button, the
// zoom (a drag on the time axis, zoom-reset), and the span panel: attr-row
// with their scope, copy-assertion giving `attr:KEY = VALUE`. And the run
// page of a run whose trigger failed (run-error).
import { api, check, until, sharedRun, rowAttrs, startRun, waitRun, demoVars } from './lib.mjs';

export const tests = [
  ['run page: timeline, response body, keyboard, fold, zoom, copy an assertion', async ({ page, base, shared, log, step }) => {
    const id = await (shared.createOrder || sharedRun(shared, 'createOrder', 'create-order'));
    const run = (await api('GET', `/api/runs/${id}`)).body;
    await page.goto(`${base}/runs/${id}`);
    const wf = page.getByTestId('waterfall');
    await until(async () => Number(await wf.getAttribute('data-total-rows')) > 0, 10000, 'waterfall rows');

    const steps = await page.locator('[data-testid="timeline-step"]').count();
    check(steps === run.timeline.length, `${steps} timeline-step, the run's timeline has ${run.timeline.length}`);
    const status = (await page.getByTestId('response-status').textContent()).trim();
    check(status.includes(String(run.trigger.response.status)), `response-status "${status}"`);
    const bodyText = await page.getByTestId('response-body').textContent();
    check(/\n\s+"/.test(bodyText), 'response-body is not pretty-printed JSON');

    step('keyboard');
    // keyboard: select the root, ArrowDown, ArrowLeft folds (visible rows go down), ArrowRight unfolds
    const rows = '[data-testid="span-row"]';
    const visible = async () => Number(await wf.getAttribute('data-visible-rows'));
    const total = Number(await wf.getAttribute('data-total-rows'));
    check(await visible() === total, `data-visible-rows ${await visible()} of ${total} with everything expanded`);
    const ids = await rowAttrs(page, 'data-span-id', rows);
    await page.locator(rows).first().click();
    await until(async () => (await page.locator(`${rows}[data-selected="true"]`).getAttribute('data-span-id')) === ids[0], 3000, 'the first row selected');
    await page.keyboard.press('ArrowDown');
    await until(async () => (await page.locator(`${rows}[data-selected="true"]`).getAttribute('data-span-id')) === ids[1], 3000, 'ArrowDown selects the second row');
    await page.keyboard.press('ArrowLeft');
    await until(async () => (await visible()) < total, 3000, 'ArrowLeft folds the selected span');
    await page.keyboard.press('ArrowRight');
    await until(async () => (await visible()) === total, 3000, 'ArrowRight unfolds it');
    await page.keyboard.press('Enter');
    const panel = page.getByTestId('span-panel');
    await panel.waitFor({ timeout: 3000 });

    step('toggle');
    // the toggle button folds the root's children
    await page.locator(rows).first().getByTestId('toggle').click();
    await until(async () => (await visible()) === 1, 3000, 'the root folded: one visible row');
    await page.locator(rows).first().getByTestId('toggle').click();
    await until(async () => (await visible()) === total, 3000, 'the root unfolded');

    step('zoom');
    // a drag on the time axis zooms in (zoom-reset enabled, other ticks); zoom-reset zooms out
    const axis = page.getByTestId('time-axis');
    const reset = page.getByTestId('zoom-reset');
    const ticks = await axis.textContent();
    const bb = await axis.boundingBox();
    await page.mouse.move(bb.x + bb.width * 0.3, bb.y + bb.height / 2);
    await page.mouse.down();
    await page.mouse.move(bb.x + bb.width * 0.45, bb.y + bb.height / 2, { steps: 4 });
    await page.mouse.move(bb.x + bb.width * 0.6, bb.y + bb.height / 2, { steps: 4 });
    await page.mouse.up();
    await until(async () => !(await reset.isDisabled()) && (await axis.textContent()) !== ticks, 3000, 'zoomed in by a drag on the time axis');
    await reset.click();
    await until(async () => (await axis.textContent()) === ticks, 3000, 'zoom-reset: the whole trace again');

    step('span panel');
    // the panel's attributes and copy-assertion
    const scopes = await panel.locator('[data-testid="attr-row"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-scope')));
    check(scopes.length > 0 && scopes.every((s) => ['resource', 'scope', 'span', 'computed'].includes(s)), `attr-row scopes: ${[...new Set(scopes)].join(' ')}`);
    const attr = panel.locator('[data-testid="attr-row"][data-scope="span"]').first();
    const key = await attr.getAttribute('data-key');
    const value = (await attr.getByTestId('attr-value').textContent()).trim();
    await attr.getByTestId('copy-assertion').click();
    const copied = (await page.getByTestId('copied-assertion').textContent()).trim();
    check(copied.includes(`attr:${key} = `) && copied.includes(value), `copied-assertion "${copied}" for ${key} = ${value}`);
    log(`${steps} timeline steps; ${total} rows; copied ${copied}`);
  }],
  ['run page of a run whose trigger failed: state, result error, run-error', async ({ page, base }) => {
    // nothing listens on port 9 of 127.0.0.1 (discard): the call fails at once
    const id = await startRun('create-order', { variables: { ...demoVars(), GATEWAY_URL: 'http://127.0.0.1:9' } });
    const run = await waitRun(id);
    check(run.state === 'TRIGGER_FAILED' && run.error, `run ${id}: ${run.state} ${run.error}`);
    await page.goto(`${base}/runs/${id}`);
    await until(async () => (await page.getByTestId('run-state').textContent()).includes('TRIGGER_FAILED'), 10000, 'run-state TRIGGER_FAILED');
    check((await page.getByTestId('run-result').textContent()).includes('error'), 'run-result is not "error"');
    const err = (await page.getByTestId('run-error').textContent()).trim();
    check(err.includes(run.error.slice(0, 40)), `run-error "${err}", the run's error "${run.error}"`);
  }],
];
