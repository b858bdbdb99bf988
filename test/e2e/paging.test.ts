import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { Workbench } from './workbench';

// Issue 15: the grid over results bigger than what it holds. A table preview holds the first 1,000 rows of a
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
  const runSql = async (name: string, query: string) => {
    const file = path.join(workspace, name);
    fs.writeFileSync(file, `-- connection: bigpg\n${query}\n`);
    await wb.execCommand('vscode.open', [`file://${file}`]);
    await wb.page.locator('.tab.active', { hasText: name }).first().waitFor();
    const b = wb.page.locator('.editor-actions .action-label[aria-label*="Run Query"]').first();
    await b.waitFor();
    await b.click();
  };

  test('a 50,000-row table preview says it holds the first 1,000 rows; a header click sorts the whole table on the server (smallest, then largest v first, as SQL says)', async () => {
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
    assert.match(await status.innerText(), /^First 1,000 of 50,000 rows \(preview\) · a click on a column sorts the whole table on the server/);
    assert.match(await view.locator('vscode-textfield.filter').getAttribute('placeholder') ?? '', /first 1,000 rows/);
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
    assert.match(await status.innerText(), /^First 1,000 of 50,000 rows \(preview\) · sorted by v over all 50,000 rows on the server/);
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
  });
});
