// The tests page: every test and suite of the demo is listed (one test-row
// each, its kind), and the filter narrows the list to what the API's ?q=
// finds, kept in the URL (a reload shows the same list).
// Environment: TC_UI_EXPECT ("id:kind,..." of the documents applied).
import { api, check, until, sharedRun, rowAttrs } from './lib.mjs';

const expected = (process.env.TC_UI_EXPECT || '').split(',').filter(Boolean).map((s) => s.split(':'));
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

export const tests = [
  ['tests page lists the demo tests; the filter narrows it', async ({ page, base, shared, log }) => {
    // runs later tests look at, ready by then
    sharedRun(shared, 'failing', 'failing-on-purpose');
    sharedRun(shared, 'declined', 'declined-payment');
    check(expected.length > 0, 'TC_UI_EXPECT names no test');
    await page.goto(`${base}/tests`);
    await page.getByTestId('tests-table').waitFor();
    const rowSel = '[data-testid="test-row"]';
    await until(async () => (await rowAttrs(page, 'data-id', rowSel)).length >= expected.length, 10000,
      `${expected.length} test rows`);
    const ids = await rowAttrs(page, 'data-id', rowSel);
    const kinds = await rowAttrs(page, 'data-kind', rowSel);
    for (const [id, kind] of expected) {
      const i = ids.indexOf(id);
      check(i >= 0, `no test-row for ${id} (rows: ${ids.join(' ')})`);
      check(kinds[i] === kind, `${id}: data-kind ${kinds[i]}, want ${kind}`);
    }
    const row = page.locator(`${rowSel}[data-id="create-order"]`);
    check(await row.getByTestId('run-button').count() === 1, 'create-order row has no run-button');
    check(await row.locator('a[href="/tests/create-order"]').count() >= 1, 'create-order row has no link to /tests/create-order');

    // the filter: the rows the API finds for ?q=
    const q = 'grpc';
    const want = [];
    for (const kind of ['tests', 'testsuites']) {
      const r = await api('GET', `/api/${kind}?q=${q}&limit=500`);
      want.push(...r.body.items.map((it) => it.id));
    }
    check(want.length > 0 && want.length < ids.length, `?q=${q} finds ${want.length} of ${ids.length}`);
    await page.getByTestId('filter-input').fill(q);
    await until(async () => same(await rowAttrs(page, 'data-id', rowSel), want), 5000,
      `the rows to be ${want.join(' ')}`);
    await until(() => new URL(page.url()).searchParams.get('q') === q, 3000, `?q=${q} in the URL (${page.url()})`);
    await page.reload();
    await until(async () => same(await rowAttrs(page, 'data-id', rowSel), want), 10000,
      `after a reload, the rows to be ${want.join(' ')}`);
    check(await page.getByTestId('filter-input').inputValue() === q, 'the filter input lost its text on reload');
    log(`${ids.length} rows; filter "${q}": ${want.join(', ')}`);
  }],
];
