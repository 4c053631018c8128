// The documentation's screenshots of the web UI (docs/ui/*.png), taken from
// the real UI on the demo: `bash tests/sh/ui.sh --screenshots docs/ui`
// starts everything and runs this. It makes a small history first (runs of
// the demo's tests through the API, one create-order run with a gateway
// address that answers nothing), then saves, at 1280x800:
//   tests.png       the tests page
//   run.png         a create-order run, a spec selected, a span's panel open
//   playground.png  the playground with a selector and an expression
//   history.png     create-order's history page
// Usage: node screenshots.mjs DIR   (environment: as run.mjs)
import path from 'node:path';
import { launch, base, until, startRun, waitRun, demoVars, rowAttrs } from './lib.mjs';

const dir = process.argv[2];
if (!dir) { console.error('usage: node screenshots.mjs DIR'); process.exit(2); }
const vars = demoVars();
const run = async (test, v = vars) => {
  const r = await waitRun(await startRun(test, { variables: v }));
  if (r.state !== 'FINISHED' && v.GATEWAY_URL === vars.GATEWAY_URL) console.log(`run ${r.id} of ${test}: ${r.state}: ${r.error}`);
  return r;
};

// the history: a few runs of create-order (one failing to reach the gateway), the others once
// (the ones reading ORDER_ID with the last create-order's), the suite
const order = [];
for (let i = 0; i < 6; i++) {
  const r = await run('create-order', i === 2 ? { ...vars, GATEWAY_URL: 'http://127.0.0.1:9' } : vars);
  order.push(r);
}
const orderId = order[order.length - 1].outputs.ORDER_ID;
for (const t of ['declined-payment', 'invalid-order', 'unknown-order', 'failing-on-purpose', 'grpc-reserve', 'grpc-watch'])
  await run(t);
for (const t of ['get-order', 'graphql-order']) await run(t, { ...vars, ORDER_ID: orderId });
const suite = await startRun('demo-suite', { variables: vars }, 'testsuites');
await waitRun(suite, 60000);
const last = order[order.length - 1];
console.log(`runs made: create-order ${order.map((r) => `${r.id}:${r.result}`).join(' ')}, suite ${suite}`);

const browser = await launch();
let status = 0;
const stop = async () => { await browser.close().catch(() => {}); };
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, async () => { await stop(); process.exit(1); });
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  const settle = () => page.waitForTimeout(400); // transitions and the last fetches
  const shot = async (name) => {
    await settle();
    await page.screenshot({ path: path.join(dir, name) });
    if (process.env.TC_SHOTS_FULL) await page.screenshot({ path: path.join(dir, name.replace('.png', '-full.png')), fullPage: true });
    console.log(`saved ${name}`);
  };

  await page.goto(`${base}/tests`);
  await page.locator('[data-testid="test-row"][data-id="create-order"] [data-testid="last-run"]').waitFor();
  await until(async () => (await page.locator('[data-testid="strip-run"]').count()) >= 6, 10000, 'history strips');
  await shot('tests.png');

  const specs = last.results.specs;
  const spec = Math.max(0, specs.findIndex((s) => /authorize/.test(s.selector)));
  await page.goto(`${base}/runs/${last.id}?spec=${spec}`);
  await until(async () => (await page.locator('[data-testid="span-row"][data-highlighted="true"]').count()) > 0, 10000, 'lit rows');
  const lit = (await rowAttrs(page, 'data-span-id', '[data-testid="span-row"][data-highlighted="true"]'))[0];
  const row = page.locator(`[data-testid="span-row"][data-span-id="${lit}"]`);
  await row.click();
  if (!(await page.getByTestId('span-panel').isVisible())) await row.press('Enter');
  await page.getByTestId('span-panel').waitFor();
  // the summary, the specs and the waterfall in view (the trigger's details folded)
  await page.evaluate(() => {
    const d = document.querySelector('[data-testid="timeline"]')?.closest('details');
    if (d) d.open = false;
    window.scrollTo(0, 0);
  });
  await shot('run.png');

  await page.goto(`${base}/runs/${last.id}/playground`);
  await page.getByTestId('selector-input').fill('span[tracetest.span.type="database"]');
  await until(async () => (await page.locator('[data-testid="span-row"][data-highlighted="true"]').count()) > 0, 10000, 'lit rows');
  await page.locator('[data-testid="span-row"][data-highlighted="true"]').filter({ hasText: 'INSERT' }).first().click();
  await page.getByTestId('expr-input').fill('attr:db.query.text contains "INSERT INTO orders"');
  await until(async () => (await page.getByTestId('expr-value').textContent()).trim().length > 0, 5000, 'expr-value');
  // the playground and the waterfall above it
  await page.evaluate(() => {
    const b = document.querySelector('[data-testid="add-spec-button"]').getBoundingClientRect();
    window.scrollBy(0, b.bottom + 16 - innerHeight);
  });
  await shot('playground.png');

  await page.goto(`${base}/tests/create-order`);
  await until(async () => (await page.locator('[data-testid="chart-point"]').count()) >= 6, 10000, 'chart points');
  // two runs ticked: the link to compare them shows
  for (const r of [order[order.length - 1], order[order.length - 2]])
    await page.locator(`[data-testid="history-row"][data-run-id="${r.id}"] [data-testid="compare-check"]`).check();
  await page.getByTestId('compare-link').waitFor();
  await shot('history.png');
} catch (e) {
  console.log(`screenshots: ${e.message.split('\n')[0]}`);
  status = 1;
}
await stop();
process.exit(status);
