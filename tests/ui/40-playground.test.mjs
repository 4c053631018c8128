// The playground (/runs/{id}/playground) on a run of create-order: a
// selector typed lights as many rows as POST /api/select finds (and says so
// in selector-count); one that does not parse shows selector-error with
// the column the API gives; an expression is evaluated on the selected
// span; "add spec" stores the test with one more spec (selector and
// assertion), read back through GET /api/tests/create-order.
import { api, check, until, sharedRun, rowAttrs, hasNumber } from './lib.mjs';

async function litRows(page) {
  const ids = await rowAttrs(page, 'data-span-id');
  const hl = await rowAttrs(page, 'data-highlighted');
  return { ids, lit: ids.filter((_, i) => hl[i] === 'true') };
}

export const tests = [
  ['playground: selector lights the rows /api/select finds; a bad one shows its error; add a spec', async ({ page, base, shared, log }) => {
    const id = await (shared.createOrder || sharedRun(shared, 'createOrder', 'create-order'));
    await page.goto(`${base}/runs/${id}/playground`);
    const input = page.getByTestId('selector-input');
    await input.waitFor();
    await page.getByTestId('waterfall').waitFor();

    const sel = 'span[tracetest.span.type="database"]';
    const found = (await api('POST', '/api/select', { run: id, selector: sel })).body.spans;
    check(found.length > 0, `${sel} selects nothing through the API`);
    await input.fill(sel);
    let got;
    await until(async () => {
      got = await litRows(page);
      const want = got.ids.filter((x) => found.includes(x));
      return want.length > 0 && JSON.stringify(got.lit) === JSON.stringify(want);
    }, 5000, () => `the ${found.length} rows /api/select finds lit (lit: ${got && got.lit.join(' ')})`);
    await until(async () => hasNumber(await page.getByTestId('selector-count').textContent(), found.length),
      3000, `selector-count ${found.length}`);
    const total = Number(await page.getByTestId('waterfall').getAttribute('data-total-rows'));
    if (got.ids.length >= total) // every row in view
      check(got.lit.length === found.length, `${got.lit.length} rows lit, the API finds ${found.length}`);

    // a selector that does not parse
    const broken = 'span[name=';
    const apiErr = (await api('POST', '/api/select', { run: id, selector: broken })).body.error;
    await input.fill(broken);
    const err = page.getByTestId('selector-error');
    await err.waitFor({ timeout: 3000 });
    check((await err.textContent()).trim().length > 0, 'selector-error is empty');
    const col = await err.getAttribute('data-column');
    check(col === String(apiErr.column), `selector-error data-column=${col}, the API says ${apiErr.column}`);

    // an expression on a selected span, then add the spec
    const specSel = 'span[service.name="payments" name="authorize card"]';
    const expr = 'attr:payment.card_last4 = "4242"';
    await input.fill(specSel);
    await until(async () => (await litRows(page)).lit.length === 1, 5000, `one row lit for ${specSel}`);
    const target = (await litRows(page)).lit[0];
    await page.locator(`[data-testid="span-row"][data-span-id="${target}"]`).click();
    await page.getByTestId('expr-input').fill(expr);
    await until(async () => (await page.getByTestId('expr-value').textContent()).trim().length > 0, 3000, 'expr-value shown');
    const before = (await api('GET', '/api/tests/create-order')).body;
    await page.getByTestId('add-spec-button').click();
    await page.getByTestId('spec-added').waitFor({ timeout: 5000 });
    const after = (await api('GET', '/api/tests/create-order')).body;
    check(after.version === before.version + 1, `version ${before.version} -> ${after.version}`);
    const specs = after.document.spec.specs;
    check(specs.length === before.document.spec.specs.length + 1, `${specs.length} specs after adding one`);
    const added = specs[specs.length - 1];
    check(added.selector === specSel, `the new spec's selector: ${added.selector}`);
    check((added.assertions || []).includes(expr), `the new spec's assertions: ${JSON.stringify(added.assertions)}`);
    const yaml = await page.getByTestId('spec-yaml').textContent();
    check(yaml.includes('authorize card') && yaml.includes('card_last4'), 'spec-yaml does not show the new spec');
    const addedText = await page.getByTestId('spec-added').textContent();
    check(addedText.includes(String(after.version)), `spec-added says "${addedText.trim()}", the version is ${after.version}`);
    log(`run ${id}: ${found.length} database spans lit; bad selector column ${col}; create-order is now version ${after.version}`);
  }],
];
