import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { Workbench } from './workbench';

// Issue 15: the grid over results bigger than what it holds. A table preview holds the first max_rows (20,000) rows of a
// 50,000-row table; a click on a column header sorts the WHOLE table on the server, not the loaded rows.
describe('Big results in the grid (code-server)', { timeout: 15 * 60_000 }, () => {
  const dir = tmpDir('e2e-paging');
  const workspace = path.join(dir, 'workspace');
  const data = path.join(dir, 'data');
  const wb = new Workbench(dir, workspace);
  let pg: PgCluster;

  before(async () => {
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(workspace, { recursive: true });
    pg = await startPostgres();
    // v is scrambled (7919 is prime, coprime to 100003): the first 1,000 rows do not hold the table's smallest or largest v;
    // every 97th row has no v (nulls go last both ways)
    psql(pg.adminUrl, `CREATE TABLE big AS SELECT g AS id, CASE WHEN g % 97 = 0 THEN NULL ELSE (g::bigint * 7919) % 100003 END AS v, md5(g::text) AS h
      FROM generate_series(1, 50000) g;`);
    await wb.start({ 'datatools.role': 'ml_engineer', 'datatools.allowedPaths': [data], 'datatools.auditLog.path': path.join(dir, 'audit.jsonl'),
      'datatools.limits.maxRows': 20000,
      'datatools.connections': [{ name: 'bigpg', host: '127.0.0.1', port: pg.port, database: 'postgres', user: 'postgres', ssl: 'disable' }] });
    await wb.execCommand('workbench.action.closeAuxiliaryBar');
  }, { timeout: 5 * 60_000 });

  after(async () => { await wb.stop(); pg?.stop(); });

  const sql = (q: string) => psql(pg.adminUrl, q).split('\n');

  /** Writes a .sql file that runs on bigpg, opens it and clicks the editor's Run Query button, as a person would. */
  const runSql = (name: string, query: string) => wb.runSqlFile(name, `-- connection: bigpg\n${query}\n`);

  test('a 50,000-row table preview says it holds the first 20,000 rows (max_rows); a header click sorts the whole table on the server (smallest, then largest v first, as SQL says)', async () => {
    await wb.execCommand('workbench.view.extension.datatools');
    const tree = wb.page.locator('.pane', { hasText: 'Data Explorer' }).first();
    const row = (text: string | RegExp) => tree.locator('.monaco-list-row', { hasText: text }).first();
    await row('bigpg').waitFor();
    await row('bigpg').click();
    await row('public').waitFor();
    await row('public').click();
    await row(/^big\b/).waitFor();
    await row(/^big\b/).hover();
    await row(/^big\b/).locator('.action-label[aria-label="Preview Data"]').click();
    const view = wb.webview();
    await view.locator('.table-title', { hasText: 'public.big' }).waitFor({ timeout: 60_000 });
    const status = view.locator('.status');
    assert.match(await status.innerText(), /^First 20,000 of 50,000 rows \(preview\) · a click on a column sorts the whole table on the server/);
    assert.match(await view.locator('vscode-textfield.filter').getAttribute('placeholder') ?? '', /first 20,000 rows/);
    const loaded = sql('SELECT min(v), max(v) FROM (SELECT v FROM big ORDER BY id LIMIT 1000) f')[0].split('|');
    await wb.shot('paging-01-preview');

    const vOf = async (n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(await view.locator('.row').nth(i).locator('.cell').nth(1).innerText());
      return out;
    };
    const head = view.locator('.hcell', { has: view.locator('.hname', { hasText: /^v/ }) });
    await head.click();
    await status.filter({ hasText: /sorted by v over all 50,000 rows on the server/ }).waitFor({ timeout: 60_000 });
    const asc = sql('SELECT v FROM big ORDER BY v NULLS LAST LIMIT 5');
    assert.deepEqual(await vOf(5), asc, 'the smallest v of the whole table first');
    assert.ok(Number(asc[0]) < Number(loaded[0]), `the table's smallest v (${asc[0]}) is below the first 1,000 rows' (${loaded[0]}): the sort is over the whole table`);
    assert.equal(await view.locator('.hname', { hasText: /^v/ }).innerText(), 'v ▲');
    assert.match(await status.innerText(), /^First 20,000 of 50,000 rows \(preview\) · sorted by v over all 50,000 rows on the server/);
    await wb.shot('paging-02-sorted-ascending');

    await view.locator('.hcell', { has: view.locator('.hname', { hasText: /^v/ }) }).click();
    await status.filter({ hasText: /sorted by v descending over all 50,000 rows/ }).waitFor({ timeout: 60_000 });
    const desc = sql('SELECT v FROM big ORDER BY v DESC NULLS LAST LIMIT 5');
    assert.deepEqual(await vOf(5), desc, 'the largest v of the whole table first');
    assert.ok(Number(desc[0]) > Number(loaded[1]), `the table's largest v (${desc[0]}) is above the first 1,000 rows' (${loaded[1]})`);
    assert.equal(await view.locator('.hname', { hasText: /^v/ }).innerText(), 'v ▼');
    await wb.shot('paging-03-sorted-descending');

    // a third click: the table's own order again
    await view.locator('.hcell', { has: view.locator('.hname', { hasText: /^v/ }) }).click();
    await status.filter({ hasText: /a click on a column sorts the whole table/ }).waitFor({ timeout: 60_000 });
    assert.equal(await view.locator('.row').nth(0).locator('.cell').nth(0).innerText(), sql('SELECT id FROM big LIMIT 1')[0]);
    assert.equal(await view.locator('.hname', { hasText: /^v/ }).innerText(), 'v');
  });

  test('Run Query: a header click sorts the whole result and the status says so; a result cut at max_rows says its sort covers only the rows held', async () => {
    await runSql('whole.sql', 'SELECT id, v FROM big WHERE id <= 15000');
    const view = wb.webview();
    const status = view.locator('.status');
    await status.filter({ hasText: /^15,000 rows · 2 columns/ }).waitFor({ timeout: 60_000 });
    await view.locator('.hcell', { has: view.locator('.hname', { hasText: /^v/ }) }).click();
    await status.filter({ hasText: /sorted by v over all 15,000 rows/ }).waitFor();
    assert.equal(await view.locator('.row').nth(0).locator('.cell').nth(1).innerText(), sql('SELECT min(v) FROM big WHERE id <= 15000')[0]);
    await wb.shot('paging-04-run-query-sorted');

    // more rows than max_rows (20,000): the result holds the first 20,000 and a sort orders those only, said plainly
    await runSql('cut.sql', 'SELECT id, v FROM big');
    await status.filter({ hasText: /^20,000 rows/ }).waitFor({ timeout: 60_000 });
    await view.locator('.hcell', { has: view.locator('.hname', { hasText: /^v/ }) }).click();
    await status.filter({ hasText: /sorted by v over the 20,000 rows held, not the whole query/ }).waitFor();
    assert.match(await status.innerText(), /^20,000 rows (of 50,000 \(truncated\)|\(truncated: the first 20,000 of at least 20,001\)) · 2 columns/);
    await wb.shot('paging-05-run-query-cut-sorted');

    // the rows held do not hold the query's smallest v: only a sort on the server can show it first
    const heldMin = sql('SELECT min(v) FROM (SELECT v FROM big ORDER BY id LIMIT 20000) s')[0];
    const [allMin, allMax] = sql('SELECT min(v), max(v) FROM big')[0].split('|');
    assert.notEqual(heldMin, allMin);
    const firstV = () => view.locator('.row').nth(0).locator('.cell').nth(1).innerText();
    assert.equal(await firstV(), heldMin);
    // a click on the button runs the whole query again, sorted on the server: its first rows are SQL's
    const serverSort = view.locator('vscode-button.server-sort');
    await serverSort.filter({ hasText: /Sort the whole query by v on the server/ }).click();
    await status.filter({ hasText: /· the first 20,000 rows of the whole query sorted by v on the server/ }).waitFor({ timeout: 60_000 });
    assert.equal(await firstV(), allMin);
    assert.equal(await view.locator('.hcell', { has: view.locator('.hname', { hasText: /^v/ }) }).getAttribute('aria-sort'), 'ascending');
    assert.equal(await serverSort.isVisible(), false, 'nothing more to offer: the rows are the whole query in that order');
    await wb.shot('paging-05b-run-query-sorted-on-server');
    // a click on v goes on from the server's order: descending over the rows held, and the button offers the same
    // on the server, which shows the query's largest v first (NULLs last both ways)
    await view.locator('.hcell', { has: view.locator('.hname', { hasText: /^v/ }) }).click();
    await status.filter({ hasText: /sorted by v descending over the 20,000 rows held, not the whole query/ }).waitFor();
    const heldNowMax = sql('SELECT max(v) FROM (SELECT v FROM big ORDER BY v NULLS LAST LIMIT 20000) s')[0];
    assert.notEqual(heldNowMax, allMax);
    assert.equal(await firstV(), heldNowMax);
    await serverSort.filter({ hasText: /Sort the whole query by v descending on the server/ }).click();
    // (the finished status, not "Running the whole query sorted by v descending on the server…" said on the click)
    await status.filter({ hasText: /· the first 20,000 rows of the whole query sorted by v descending on the server/ }).waitFor({ timeout: 60_000 });
    assert.equal(await firstV(), allMax);
  });

  /** The grid's active cell: its row (aria-rowindex: 2 is the first row) and text. */
  const active = async (view: ReturnType<Workbench['webview']>) => {
    const id = await view.locator('[role=grid]').getAttribute('aria-activedescendant');
    const c = view.locator(`[id="${id}"]`);
    return { row: Number(await c.evaluate(e => e.closest('[aria-rowindex]')!.getAttribute('aria-rowindex'))), text: await c.textContent() };
  };
  /** The texts of the painted row showing result row `n` (1-based), once its window has arrived. */
  const rowTexts = async (view: ReturnType<Workbench['webview']>, n: number) => {
    const row = view.locator(`.row[aria-rowindex="${n + 1}"]`);
    await row.locator('.cell').first().waitFor();
    await view.locator(`.row[aria-rowindex="${n + 1}"] .cell.loading`).first().waitFor({ state: 'detached', timeout: 60_000 });
    return row.locator('.cell').allInnerTexts();
  };

  test('Run Query of 1,000,000 rows: the grid holds windows of the stored result, Ctrl+End shows row 1,000,000 as SQL says, a header sort and the filter cover all 1,000,000 rows', async () => {
    assert.equal((await wb.execCommand('datatoolsTest.setSetting', ['datatools.limits.maxRows', 1_000_000])).value, 1_000_000);
    assert.equal((await wb.execCommand('datatoolsTest.setSetting', ['datatools.limits.queryTimeoutSeconds', 600])).value, 600);
    const before = (await wb.execCommand('workbench.action.focusActiveEditorGroup')).paints?.at(-1)?.id;
    await runSql('million.sql', 'SELECT g AS id, g * 0.5 AS x, md5(g::text) AS s FROM generate_series(1, 1000000) g');
    const view = wb.webview();
    const status = view.locator('.status');
    // streamed: the first rows are on screen while the rest arrive, and the status says how many so far
    const loading = status.filter({ hasText: /^Loading… [\d,]+ rows so far · 3 columns/ });
    await loading.waitFor({ timeout: 10 * 60_000 });
    const soFar = Number((await loading.textContent())!.match(/Loading… ([\d,]+)/)![1].replace(/,/g, ''));
    assert.ok(soFar >= 1000 && soFar < 1_000_000, `rows so far: ${soFar}`);
    assert.deepEqual(await rowTexts(view, 1), sql('SELECT g, g * 0.5, md5(g::text) FROM generate_series(1, 1) g')[0].split('|'));
    await wb.shot('paging-05-million-loading');
    await status.filter({ hasText: /^1,000,000 rows · 3 columns · sort, filter and statistics over all 1,000,000 rows/ }).waitFor({ timeout: 10 * 60_000 });
    const paints = (await wb.execCommand('workbench.action.focusActiveEditorGroup')).paints ?? [];
    const firstPaint = paints.find(p => p.id !== before && p.loading);
    assert.ok(firstPaint && firstPaint.complete === false && firstPaint.rows === 1000, `a paint of the first rows while loading: ${JSON.stringify(paints.slice(-3))}`);
    // the paint report: the webview holds the first window only, and covers the whole result
    let paint: { id: string; rows: number; ms: number; total?: number } | undefined;
    for (let i = 0; i < 50 && !paint; i++) {
      paint = (await wb.execCommand('workbench.action.focusActiveEditorGroup')).paints?.find(p => p.id !== before && p.total === 1_000_000);
      if (!paint) await new Promise(r => setTimeout(r, 200));
    }
    assert.ok(paint, 'a paint report for the 1,000,000-row result');
    assert.ok(paint.rows > 0 && paint.rows <= 1000, `the webview holds a first window (${paint.rows} rows), not the whole result`);
    console.log(`# 1,000,000-row Run Query: first rows painted ${paint.ms} ms after the extension posted them`);
    assert.deepEqual(await rowTexts(view, 1), sql('SELECT g, g * 0.5, md5(g::text) FROM generate_series(1, 1) g')[0].split('|'));
    await wb.shot('paging-06-million-first-rows');

    // Ctrl+End: the last cell of the last row, its window asked for and shown
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+End');
    assert.equal((await active(view)).row, 1_000_001, 'Ctrl+End: row 1,000,000');
    const last = sql('SELECT g, g * 0.5, md5(g::text) FROM generate_series(1000000, 1000000) g')[0].split('|');
    assert.deepEqual(await rowTexts(view, 1_000_000), last);
    assert.deepEqual(await rowTexts(view, 999_999), sql('SELECT g, g * 0.5, md5(g::text) FROM generate_series(999999, 999999) g')[0].split('|'));
    const bar = await view.locator('.viewport').evaluate(e => ({ top: e.scrollTop, max: e.scrollHeight - e.clientHeight }));
    assert.ok(bar.max > 0 && Math.abs(bar.top - bar.max) <= 2, `the scrollbar is at its end (${bar.top} of ${bar.max})`);
    await wb.shot('paging-07-million-ctrl-end');
    // Ctrl+Home: back to the first row
    await wb.page.keyboard.press('Control+Home');
    assert.equal((await active(view)).row, 2);

    // the column statistics are over the whole result: the largest id is 1,000,000, not the first window's
    await view.locator('.hcell', { has: view.locator('.hname', { hasText: /^id/ }) }).locator('.hstats', { hasText: 'distinct' }).waitFor({ timeout: 120_000 });
    assert.match(await view.locator('.hcell').nth(0).getAttribute('title') ?? '', /min: 1\nmax: 1000000\n/);
    assert.match(await view.locator('.hstats').nth(0).innerText(), /0 null · ≥100,000 distinct/);

    // a sort on s: the smallest md5 of all 1,000,000 rows first, then (descending) the largest
    const sHead = view.locator('.hcell', { has: view.locator('.hname', { hasText: /^s$|^s / }) });
    await sHead.click();
    await status.filter({ hasText: /sorted by s over all 1,000,000 rows/ }).waitFor({ timeout: 120_000 });
    const [minS, maxS] = sql('SELECT min(md5(g::text) COLLATE "C"), max(md5(g::text) COLLATE "C") FROM generate_series(1, 1000000) g')[0].split('|');
    assert.equal((await rowTexts(view, 1))[2], minS, 'the smallest s of all rows first');
    await wb.shot('paging-08-million-sorted-s');
    await sHead.click();
    await status.filter({ hasText: /sorted by s descending over all 1,000,000 rows/ }).waitFor({ timeout: 120_000 });
    assert.equal((await rowTexts(view, 1))[2], maxS, 'the largest s of all rows first');
    // the sorted order goes all the way: the last row holds the smallest s
    await view.locator('[role=grid]').focus();
    await wb.page.keyboard.press('Control+End');
    assert.equal((await rowTexts(view, 1_000_000))[2], minS);
    await sHead.click(); // back to the stored order
    await status.filter({ hasText: /^1,000,000 rows · 3 columns · sort, filter/ }).waitFor({ timeout: 120_000 });
    // x is numeric: sorted by value, not as text ("500000.0" above "99999.5")
    const xHead = view.locator('.hcell', { has: view.locator('.hname', { hasText: /^x/ }) });
    await xHead.click();
    await xHead.click();
    await status.filter({ hasText: /sorted by x descending over all 1,000,000 rows/ }).waitFor({ timeout: 120_000 });
    // (the grid keeps the focus; a click on a cell would scroll it first)
    await view.locator('[role=grid]').focus();
    await wb.page.keyboard.press('Control+Home');
    assert.deepEqual(await rowTexts(view, 1), last);
    await wb.shot('paging-09-million-sorted-x-desc');

    // the filter box: rows of the whole result whose text contains "abcde" (only s can), counted as SQL counts them
    await view.locator('vscode-textfield.filter input').fill('abcde');
    const n = Number(sql("SELECT count(*) FROM generate_series(1, 1000000) g WHERE md5(g::text) LIKE '%abcde%'")[0]);
    assert.ok(n > 0);
    await status.filter({ hasText: new RegExp(`^${n.toLocaleString('en-US')} of 1,000,000 \\(filtered\\) rows`) }).waitFor({ timeout: 120_000 });
    const firstMatch = sql("SELECT g, g * 0.5, md5(g::text) FROM generate_series(1, 1000000) g WHERE md5(g::text) LIKE '%abcde%' ORDER BY g DESC LIMIT 1")[0].split('|');
    assert.deepEqual(await rowTexts(view, 1), firstMatch, 'the filter keeps the sort (x descending)');
    await wb.shot('paging-10-million-filtered');
  });

  test('a paged result: Ctrl+A Ctrl+C copies all 50,000 rows as SQL has them; dropped from the result store it says so in the grid, runs again on a click, and reopened from the history after a drop it shows its first rows and says the rest are gone', async () => {
    await runSql('dropped.sql', 'SELECT id, v FROM big ORDER BY id');
    const view = wb.webview();
    const status = view.locator('.status');
    await status.filter({ hasText: /^50,000 rows · 2 columns/ }).waitFor({ timeout: 120_000 });
    // Ctrl+A, Ctrl+C copies every row, the windows the grid does not hold included (asked for from the store)
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+A');
    await wb.page.evaluate(() => navigator.clipboard.writeText('(empty)'));
    await wb.page.keyboard.press('Control+C');
    await status.filter({ hasText: 'Copied 50,000 × 2 as TSV' }).waitFor({ timeout: 60_000 });
    const copied = String((await wb.execCommand('datatoolsTest.readClipboard')).value).split('\n');
    const want = sql("SELECT id || E'\\t' || coalesce(v::text, '') FROM big ORDER BY id");
    assert.equal(copied.length, 50_000);
    assert.deepEqual(copied, want, 'every row copied as SQL has it');
    assert.ok(Number((await wb.execCommand('datatoolsTest.dropResults')).value) >= 1, 'the store held the result');
    // the person scrolls to rows not yet held by the grid: the store no longer has them
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+End');
    const gone = view.locator('.gone');
    await gone.waitFor({ timeout: 30_000 });
    assert.match(await gone.innerText(), /These rows are no longer kept: results are dropped after a while unused, or when newer results need the room\. Run it again to see them\./);
    assert.match(await status.innerText(), /no longer kept/);
    assert.ok(await view.locator('.row .cell:not(.loading)').count() > 0 || await gone.isVisible(), 'never a blank grid');
    await wb.shot('paging-11-dropped');
    await gone.locator('vscode-button', { hasText: 'Run again' }).click();
    await gone.waitFor({ state: 'detached', timeout: 120_000 });
    await status.filter({ hasText: /^50,000 rows · 2 columns/ }).waitFor({ timeout: 120_000 });
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+End');
    const lastRow = sql('SELECT id, v FROM big ORDER BY id DESC LIMIT 1')[0].split('|');
    assert.deepEqual(await rowTexts(view, 50_000), lastRow);
    await wb.shot('paging-12-run-again');
    // reopened from the Query History after the store dropped it: the extension holds only its first rows (its
    // memory is bounded; the store held the rest), so those are shown and the grid says the others are gone
    const id = (await wb.execCommand('workbench.action.focusActiveEditorGroup')).paints!.at(-1)!.id;
    assert.ok(Number((await wb.execCommand('datatoolsTest.dropResults')).value) >= 1);
    await wb.execCommand('datatools.history.open', [{ id, sql: 'SELECT id, v FROM big ORDER BY id', connection: 'bigpg', time: new Date().toISOString(), outcome: 'ok' }]);
    const gone2 = view.locator('.gone');
    await gone2.waitFor({ timeout: 60_000 });
    assert.match(await gone2.innerText(), /These rows are no longer kept/);
    assert.equal(await gone2.locator('vscode-button', { hasText: 'Run again' }).count(), 1);
    const firstRow = sql('SELECT id, v FROM big ORDER BY id LIMIT 1')[0].split('|');
    assert.deepEqual(await rowTexts(view, 1), firstRow, 'the first rows the view holds are still shown');
    await wb.shot('paging-12b-history-after-drop');
    await gone2.locator('vscode-button', { hasText: 'Run again' }).click();
    await gone2.waitFor({ state: 'detached', timeout: 120_000 });
    await status.filter({ hasText: /^50,000 rows · 2 columns · sort, filter and statistics over all 50,000 rows/ }).waitFor({ timeout: 120_000 });
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+End');
    assert.deepEqual(await rowTexts(view, 50_000), lastRow);
  });
  test('Run Query that fails after rows arrived: the rows received stay on screen, labelled, with the error said plainly', async () => {
    assert.equal((await wb.execCommand('datatoolsTest.setSetting', ['datatools.limits.maxRows', 1_000_000])).value, 1_000_000);
    await runSql('fails.sql', 'SELECT g AS id, 100 / (300000 - g) AS q FROM generate_series(1, 400000) g');
    const view = wb.webview();
    const status = view.locator('.status');
    await status.filter({ hasText: /rows received before the query stopped, not the whole result \(PostgreSQL ERROR 22012: division by zero/ }).waitFor({ timeout: 120_000 });
    const n = Number((await status.innerText()).match(/^([\d,]+) rows received/)![1].replace(/,/g, ''));
    // PostgreSQL sends rows 1..299,999 before the error; the ones that arrived are kept, none past the error
    assert.ok(n >= 1000 && n <= 299_999, `rows kept: ${n}`);
    assert.match(await view.locator('section.error').innerText(), new RegExp(`The query failed after ${n.toLocaleString('en-US')} rows: PostgreSQL ERROR 22012: division by zero`));
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+End');
    assert.deepEqual(await rowTexts(view, n), [String(n), String(Math.trunc(100 / (300000 - n)))]);
    await wb.shot('paging-13-failed-mid-stream');
  });
  test('a chart of a paged result covers all its rows (the histogram counts as SQL width_bucket, a line is drawn as min and max per bucket, bars say how many of all); a double-click on a column edge fits a value far beyond the loaded rows', async () => {
    assert.equal((await wb.execCommand('datatoolsTest.setSetting', ['datatools.limits.maxRows', 1_000_000])).value, 1_000_000);
    // s: the longest value is in row 45,000, far from the first rows the grid holds
    await runSql('chart.sql', "SELECT id, v, CASE WHEN id = 45000 THEN repeat('w', 150) ELSE 'x' || id END AS s FROM big ORDER BY id");
    const view = wb.webview();
    const status = view.locator('.status');
    await status.filter({ hasText: /^50,000 rows · 3 columns · sort, filter and statistics over all 50,000 rows/ }).waitFor({ timeout: 120_000 });
    const note = view.locator('.chart-area .chart-note');
    const chart = view.locator('svg.chart');
    /** The chart's note once it says `text` (else the test fails with what the chart area shows). */
    const waitNote = async (text: string | RegExp) => {
      try { await note.filter({ hasText: text }).waitFor({ timeout: 60_000 }); } catch {
        assert.fail(`the chart note never said ${String(text)}; the chart area says: ${await view.locator('.chart-area').innerText().catch(() => '(none)')}`);
      }
      return note.innerText();
    };

    // the fit first (before anything loads row 45,000): the column gets as wide as the widest value of all rows
    const sHead = view.locator('.hcell').nth(2);
    const w0 = (await sHead.boundingBox())!.width;
    const need = await view.locator('.rows').evaluate(rows => {
      const c = document.createElement('div');
      c.className = 'cell';
      c.textContent = 'w'.repeat(150);
      c.style.cssText = 'position:absolute;visibility:hidden;width:auto;overflow:visible';
      rows.append(c);
      const w = c.getBoundingClientRect().width;
      c.remove();
      return w;
    });
    assert.ok(w0 < need, `the first width (${w0} px) is narrower than row 45,000's value (${need} px)`);
    await sHead.locator('.resizer').dblclick();
    for (let i = 0; i < 100 && (await sHead.boundingBox())!.width < need; i++) await new Promise(r => setTimeout(r, 100));
    const w1 = (await sHead.boundingBox())!.width;
    assert.ok(w1 >= need && w1 < need + 60, `fitted to ${w1} px for a ${need} px value`);
    // sorted by s, the long value comes first ('w' < 'x'): it is whole in its cell
    await sHead.click();
    await status.filter({ hasText: /sorted by s over all 50,000 rows/ }).waitFor({ timeout: 60_000 });
    const first = view.locator('.row[aria-rowindex="2"] .cell').nth(2);
    assert.equal(await first.innerText(), 'w'.repeat(150));
    assert.equal(await first.evaluate(e => e.scrollWidth > e.clientWidth + 1), false, 'after fitting, the whole value is in the cell');
    await wb.shot('paging-14-fit-beyond-loaded-rows');
    await sHead.click();
    await sHead.click(); // back to the stored order
    await status.filter({ hasText: /^50,000 rows · 3 columns · sort, filter/ }).waitFor({ timeout: 60_000 });

    // bar (x: s, y: id by default): the first 60 bars, and the note says of how many
    await view.locator('vscode-button.chart-toggle').click();
    await waitNote(/^The first 60 of 50,000 bars/);
    assert.equal(await chart.locator('.marks rect').count(), 60);
    assert.deepEqual(await chart.locator('.marks rect').evaluateAll(rs => rs.slice(0, 2).map(r => r.querySelector('title')!.textContent)), ['x1: 1', 'x2: 2']);
    await wb.shot('paging-15-chart-bars');

    // histogram of v over all 50,000 rows: the bars' counts are PostgreSQL's width_bucket counts
    await view.locator('select.chart-kind').selectOption('histogram');
    await view.locator('select.chart-y').selectOption('1');
    const values = Number(sql('SELECT count(v) FROM big')[0]);
    await waitNote(`Over all 50,000 rows: ${values.toLocaleString('en-US')} numeric values of v in 20 bins (exact counts).`);
    const counts = await chart.locator('.marks rect').evaluateAll(rs => rs.map(r => Number(/^(\d+) rows/.exec(r.querySelector('title')!.textContent!)![1])));
    const want = new Array<number>(20).fill(0);
    for (const line of sql(`WITH m AS (SELECT min(v)::float8 lo, max(v)::float8 hi FROM big)
      SELECT least(width_bucket(v::float8, lo, hi, 20), 20), count(*) FROM big, m WHERE v IS NOT NULL GROUP BY 1 ORDER BY 1`)) {
      const [b, n] = line.split('|').map(Number);
      want[b - 1] = n;
    }
    assert.deepEqual(counts, want, 'every bin counts all 50,000 rows as SQL does');
    await wb.shot('paging-16-chart-histogram-all-rows');

    // line of v over the row number: every row of the result, drawn as its ends and the min and max per bucket;
    // the y axis reaches the whole result's smallest and largest v
    await view.locator('select.chart-kind').selectOption('line');
    await view.locator('select.chart-x').selectOption('-1');
    const lineNote = await waitNote(/^Over all 50,000 rows: [\d,]+ points, drawn as ([\d,]+) points: the minimum and maximum of v in each of 999 equal ranges of the row number\.$/);
    const drawn = Number(lineNote.match(/drawn as ([\d,]+) points/)![1].replace(/,/g, ''));
    assert.equal((await chart.locator('polyline.line').getAttribute('points'))!.split(' ').length, drawn);
    assert.ok(drawn > 999 && drawn <= 2000, `${drawn} points`);
    const [lo, hi] = sql('SELECT min(v), max(v) FROM big')[0].split('|');
    const axis = await chart.locator('.axis text').allTextContents();
    assert.equal(axis[0], lo);
    assert.equal(axis[2], hi);
    await wb.shot('paging-17-chart-line-downsampled');

    // the chart follows the grid's filter: rows whose text contains "x4999" (x4999 and x49990..x49999)
    await view.locator('select.chart-kind').selectOption('histogram');
    await view.locator('vscode-textfield.filter input').fill('x4999');
    await status.filter({ hasText: /^11 of 50,000 \(filtered\) rows/ }).waitFor({ timeout: 60_000 });
    const nf = Number(sql("SELECT count(v) FROM big WHERE 'x' || id LIKE '%x4999%'")[0]);
    await waitNote(`Over all 11 rows that match the filter: ${nf} numeric values of v in 20 bins (exact counts).`);
    const fc = await chart.locator('.marks rect').evaluateAll(rs => rs.map(r => Number(/^(\d+) rows/.exec(r.querySelector('title')!.textContent!)![1])));
    assert.equal(fc.reduce((a, b) => a + b, 0), nf);
    await wb.shot('paging-18-chart-filtered');
  });
});
