// A run followed live while it waits for its trace: the test live-probe
// (traceid trigger, a PollingProfile with a 2 s quiet window) is started,
// its run page opened, then two spans whose parent has not arrived are
// exported to the receiver: while the run still waits, the waterfall shows
// them with a "missing parent" row and live-status is shown; the parent
// follows, the missing row goes and the run ends FINISHED / passed.
// Environment: TC_OTLP_URL (the server's OTLP/HTTP receiver).
import { api, check, until, startRun, tid, hasNumber } from './lib.mjs';

const otlp = process.env.TC_OTLP_URL;

function spans(traceId, which) {
  const s = (id, parent, name, start, end) => ({
    traceId, spanId: id, ...(parent ? { parentSpanId: parent } : {}), name, kind: 1,
    startTimeUnixNano: `17000000000${start}000000`, endTimeUnixNano: `17000000000${end}000000`,
    attributes: [{ key: 'live.part', value: { stringValue: which } }],
  });
  const list = which === 'children'
    ? [s('e000000000000002', 'e000000000000001', 'SELECT live', '10', '20'), s('e000000000000003', 'e000000000000001', 'publish live', '30', '40')]
    : [s('e000000000000001', null, 'GET /live', '00', '50')];
  return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'live' } }] }, scopeSpans: [{ spans: list }] }] };
}

async function send(body) {
  const r = await fetch(`${otlp}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  check(r.ok, `export to ${otlp}: ${r.status}`);
}

export const tests = [
  ['a run waiting for its trace: spans show as they arrive (missing parent row), then FINISHED', async ({ page, base, log }) => {
    check(otlp, 'TC_OTLP_URL is not set');
    const traceId = tid();
    const id = await startRun('live-probe', { variables: { TID: traceId } });
    await page.goto(`${base}/runs/${id}`);
    const state = page.getByTestId('run-state');
    await until(async () => (await state.textContent()).includes('AWAITING_TRACE'), 10000, 'run-state AWAITING_TRACE');
    await page.getByTestId('live-status').waitFor({ timeout: 5000 });

    await send(spans(traceId, 'children'));
    const wf = page.getByTestId('waterfall');
    await until(async () => Number(await wf.getAttribute('data-total-rows')) === 3 &&
      await page.locator('[data-testid="span-row"][data-missing="true"]').count() === 1, 5000,
      '3 rows (2 spans, 1 missing parent) while the run waits');
    const waiting = (await state.textContent()).trim();
    check(/AWAITING_TRACE/.test(waiting), `the run no longer waits (${waiting}) when its first spans showed`);
    const status = (await page.getByTestId('live-status').textContent()).trim().replace(/\s+/g, ' ');
    check(hasNumber(status, 2), `live-status does not show the 2 spans: "${status}"`);

    await send(spans(traceId, 'root'));
    await until(async () => (await state.textContent()).includes('FINISHED'), 15000, 'run-state FINISHED');
    await until(async () => Number(await wf.getAttribute('data-total-rows')) === 3 &&
      await page.locator('[data-testid="span-row"][data-missing="true"]').count() === 0, 5000, '3 rows, no missing parent');
    const result = (await page.getByTestId('run-result').textContent()).trim();
    check(/passed/.test(result), `run-result "${result}"`);
    check(await page.getByTestId('live-status').count() === 0, 'live-status still shown after the run ended');
    const run = (await api('GET', `/api/runs/${id}`)).body;
    check(run.result === 'passed', `the API says ${run.state} ${run.result}`);
    log(`run ${id}: while waiting "${status}"`);
  }],
];
