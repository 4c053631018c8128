// A server with a bearer token (--token-file): the UI's first API call is
// answered 401 and it shows the token form; a wrong token keeps it there,
// the right one shows the tests and is kept (localStorage
// tracecheck.token, a reload asks nothing); a run is then followed live
// through the event stream, which needs the token too (the page is not
// reloaded between AWAITING_TRACE and FINISHED).
// Environment: TC_AUTH_URL, TC_AUTH_OTLP (its receiver), TC_AUTH_TOKEN.
import { check, until, tid } from './lib.mjs';

const url = process.env.TC_AUTH_URL;
const otlp = process.env.TC_AUTH_OTLP;
const token = process.env.TC_AUTH_TOKEN;

export const tests = [
  ['token: the form on 401, the token kept, a run followed live with it', async ({ page, log }) => {
    check(url && token, 'TC_AUTH_URL or TC_AUTH_TOKEN is not set');
    await page.goto(`${url}/tests`);
    const form = page.getByTestId('token-form');
    await form.waitFor();
    await page.getByTestId('token-input').fill(`${token}x`);
    await page.getByTestId('token-submit').click();
    await page.waitForTimeout(500);
    check(await page.getByTestId('tests-table').count() === 0, 'a wrong token showed the tests');
    await form.waitFor({ timeout: 3000 });
    await page.getByTestId('token-input').fill(token);
    await page.getByTestId('token-submit').click();
    await page.locator('[data-testid="test-row"][data-id="live-probe"]').waitFor();
    const kept = await page.evaluate(() => localStorage.getItem('tracecheck.token'));
    check(kept === token, `localStorage tracecheck.token is ${JSON.stringify(kept)}`);

    const traceId = tid();
    const r = await fetch(`${url}/api/tests/live-probe/run`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ variables: { TID: traceId } }),
    });
    check(r.status === 202, `POST run: ${r.status}`);
    const id = (await r.json()).id;
    await page.goto(`${url}/runs/${id}`);
    const state = page.getByTestId('run-state');
    await until(async () => (await state.textContent()).includes('AWAITING_TRACE'), 10000, 'run-state AWAITING_TRACE');
    check(await page.getByTestId('token-form').count() === 0, 'the token form again after a page load');
    await page.evaluate(() => { window.__sameDocument = true; });
    const span = (sid, parent, name) => ({ traceId, spanId: sid, ...(parent ? { parentSpanId: parent } : {}), name, kind: 1,
      startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000010000000' });
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'live' } }] },
      scopeSpans: [{ spans: [span('f000000000000001', null, 'GET /auth'), span('f000000000000002', 'f000000000000001', 'a'), span('f000000000000003', 'f000000000000001', 'b')] }] }] };
    const sent = await fetch(`${otlp}/v1/traces`, { method: 'POST', body: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` } }); // the receiver checks it too
    check(sent.ok, `export: ${sent.status}`);
    await until(async () => (await state.textContent()).includes('FINISHED'), 15000, 'run-state FINISHED without a reload');
    check(await page.evaluate(() => window.__sameDocument === true), 'the page was reloaded');
    await until(async () => Number(await page.getByTestId('waterfall').getAttribute('data-total-rows')) === 3, 5000, '3 waterfall rows');
    log(`run ${id} on the server with a token: followed to FINISHED`);
  }],
];
