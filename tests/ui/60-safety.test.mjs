// Untrusted text stays text: a traceid-triggered test named with an HTML
// payload, whose trace (exported by curl to the server's receiver) has the
// payload in a span name and an attribute value. Its row on the tests page,
// its run page, its spec and the span panel show the payload literally,
// no <img src="x"> gets into the DOM and its onerror never runs. And the
// server's Content-Security-Policy forbids inline and eval'd scripts; the
// pages load nothing from another origin, and no web font.
// Environment: TC_XSS_RUN (the run's id), TC_XSS_TEXT (the payload).
import { api, check, until, base as apiBase } from './lib.mjs';

const payload = process.env.TC_XSS_TEXT || '<img src=x onerror=window.__xss=1>';

async function noInjection(page) {
  const r = await page.evaluate(() => ({
    xss: typeof window.__xss,
    imgs: [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src') === 'x').length,
  }));
  check(r.xss === 'undefined', `window.__xss is set: the payload ran (${page.url()})`);
  check(r.imgs === 0, `${r.imgs} <img src="x"> in the DOM (${page.url()})`);
}

export const tests = [
  ['XSS: a span name and attribute value with HTML show as text, nothing runs', async ({ page, base, log }) => {
    const id = Number(process.env.TC_XSS_RUN);
    check(id > 0, 'TC_XSS_RUN is not set');
    const run = (await api('GET', `/api/runs/${id}`)).body;
    check(run && run.finished, `run ${id} has not ended`);

    await page.goto(`${base}/tests?q=xss`);
    const row = page.locator('[data-testid="test-row"][data-id="xss-probe"]');
    await row.waitFor();
    check((await row.textContent()).includes(payload), 'the test name is not shown literally on the tests page');
    await noInjection(page);

    await page.goto(`${base}/runs/${id}`);
    await page.getByTestId('waterfall').waitFor();
    const span = page.locator('[data-testid="span-row"]').filter({ has: page.getByTestId('span-name').getByText(payload, { exact: true }) });
    await until(async () => (await span.count()) === 1, 5000, 'one span-row whose span-name is the payload, literally');
    const spec = page.locator('[data-testid="spec-item"]').first();
    await spec.waitFor();
    check((await spec.textContent()).includes(payload), 'the spec name is not shown literally');
    await span.click();
    const panel = page.getByTestId('span-panel');
    try { await panel.waitFor({ timeout: 2000 }); } catch { await span.press('Enter'); await panel.waitFor({ timeout: 3000 }); }
    const attr = panel.locator('[data-testid="attr-row"][data-key="xss.payload"]');
    await attr.waitFor();
    const value = (await attr.getByTestId('attr-value').textContent()).trim();
    check(value.includes(payload), `attr-value is "${value}"`);
    check((await panel.textContent()).includes(payload), 'the span panel does not show the name literally');
    await page.waitForTimeout(300); // an onerror would fire on the failed image load by now
    await noInjection(page);
    log(`run ${id}: payload shown as text in the tests page, span name, spec, attribute`);
  }],
  ['the server sends a Content-Security-Policy without inline or eval for scripts; nothing loaded from elsewhere', async ({ page, base }) => {
    const r = await fetch(`${apiBase}/tests`);
    const csp = r.headers.get('content-security-policy');
    check(csp, 'no Content-Security-Policy header on the app page');
    const dirs = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map((d) => [d[0].toLowerCase(), d.slice(1)]));
    const script = dirs['script-src'] || dirs['default-src'];
    check(script, `no script-src or default-src in "${csp}"`);
    check(!script.includes("'unsafe-inline'") && !script.includes("'unsafe-eval'"), `scripts: ${script.join(' ')}`);
    const html = await r.text();
    check(/<script[^>]+src="\/ui\/app\.js"/.test(html), 'the app page does not load /ui/app.js');
    // the app runs under the policy, loading nothing from elsewhere (no CDN, no web font)
    const requests = [];
    page.on('request', (rq) => requests.push(rq.url()));
    await page.goto(`${base}/tests`);
    await page.getByTestId('tests-table').waitFor();
    await page.goto(`${base}/runs/${process.env.TC_XSS_RUN || 1}`);
    await page.getByTestId('waterfall').waitFor();
    const foreign = requests.filter((u) => !u.startsWith(`${base}/`) && !u.startsWith('data:'));
    check(foreign.length === 0, `requests elsewhere: ${foreign.slice(0, 3).join(' ')}`);
    const fonts = requests.filter((u) => /\.(woff2?|ttf|otf|eot)(\?|$)/.test(u));
    check(fonts.length === 0, `web fonts: ${fonts.join(' ')}`);
  }],
];
