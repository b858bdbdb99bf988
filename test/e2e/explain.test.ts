import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/mcp';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';
import { Workbench } from './workbench';

// Issue 16: EXPLAIN's text plan, from a real PostgreSQL, as an indented tree a person can fold by mouse and keys.
describe('EXPLAIN as a collapsible plan tree; completion of CTEs and subqueries (code-server, real PostgreSQL)', { timeout: 15 * 60_000 }, () => {
  const dir = tmpDir('e2e-explain');
  const workspace = path.join(dir, 'workspace');
  const wb = new Workbench(dir, workspace);
  let pg: PgCluster;

  before(async () => {
    fs.mkdirSync(workspace, { recursive: true });
    pg = await startPostgres();
    psql(pg.adminUrl, `CREATE TABLE customers AS SELECT g AS id, (ARRAY['north','south','east'])[g % 3 + 1] AS region FROM generate_series(1, 2000) g;
      CREATE TABLE orders AS SELECT g AS id, g % 2000 + 1 AS cust, (g * 37) % 1000 AS amt FROM generate_series(1, 20000) g;
      ANALYZE customers; ANALYZE orders;`);
    await wb.start({ 'datatools.role': 'data_scientist', 'datatools.allowedPaths': [path.join(dir, 'data')], 'datatools.auditLog.path': path.join(dir, 'audit.jsonl'),
      'datatools.connections': [{ name: 'shop', host: '127.0.0.1', port: pg.port, database: 'postgres', user: 'postgres', ssl: 'disable' }] });
    await wb.execCommand('workbench.action.closeAuxiliaryBar');
    await wb.execCommand('workbench.action.closeSidebar');
  }, { timeout: 5 * 60_000 });

  after(async () => { await wb.stop(); pg?.stop(); });

  const runSql = async (name: string, query: string) => {
    await wb.runSqlFile(name, `-- connection: shop\n${query}\n`);
    return wb.webview();
  };

  const Q = `SELECT c.region, sum(o.amt) AS total FROM orders o JOIN customers c ON c.id = o.cust
    WHERE o.amt > (SELECT avg(amt) FROM orders) GROUP BY c.region ORDER BY total DESC`;

  test('a join\'s text plan is a tree with the server\'s nodes in order, detail lines under their node and cost bars; a click on a toggle hides and shows the children; the keys fold and move', async () => {
    const view = await runSql('explain.sql', `EXPLAIN ${Q};`);
    const tree = view.locator('section.plan ul.text-tree[role=tree]');
    await tree.waitFor({ timeout: 60_000 });
    // the reference: the same EXPLAIN through psql, its node lines (the first line, "->" lines, InitPlan/SubPlan)
    const ref = psql(pg.adminUrl, `EXPLAIN ${Q}`).split('\n');
    const refNodes = ref.filter((l, i) => i === 0 || /^\s*->/.test(l) || /^\s+(InitPlan|SubPlan)\b/.test(l))
      .map(l => l.replace(/^\s*->\s+/, '').replace(/\s+\(cost=.*$/, '').trim());
    assert.ok(refNodes.some(n => /Join/.test(n)), ref.join('\n'));
    const items = tree.locator('[role=treeitem]');
    assert.deepEqual(await tree.locator('.plan-label').allInnerTexts(), refNodes, 'every plan node, in the server\'s order');
    // the join node: its condition under it, its two inputs as its children, at one level deeper
    const join = items.filter({ has: view.locator(':scope > .plan-row .plan-label', { hasText: /Join/ }) }).first();
    const cond = ref.find(l => /(Hash|Merge) Cond:|Join Filter:/.test(l))!.trim();
    assert.deepEqual(await join.locator(':scope > .plan-props li').allInnerTexts(), [cond]);
    assert.equal(await join.locator(':scope > [role=group] > [role=treeitem]').count(), 2);
    const level = Number(await join.getAttribute('aria-level'));
    assert.equal(await join.locator(':scope > [role=group] > [role=treeitem]').first().getAttribute('aria-level'), String(level + 1));
    // costs as the server wrote them; the root's bar is whole, a scan's a part
    const rootItem = items.first();
    assert.equal(await rootItem.locator(':scope > .plan-row .plan-cost').innerText(), /\(cost=.*$/.exec(ref[0])![0]);
    assert.equal(await rootItem.locator(':scope > .plan-row .cost-fill').evaluate(e => parseFloat((e as HTMLElement).style.width)), 100);
    const scan = items.filter({ has: view.locator(':scope > .plan-row .plan-label', { hasText: /Scan on customers/ }) }).first();
    assert.ok(await scan.locator(':scope > .plan-row .cost-fill').evaluate(e => parseFloat((e as HTMLElement).style.width)) < 100);
    await wb.shot('explain-01-text-plan-tree');

    // a click on the join's toggle hides its children; another shows them
    const kids = join.locator(':scope > [role=group]');
    await join.locator(':scope > .plan-row .plan-toggle').click();
    assert.equal(await join.getAttribute('aria-expanded'), 'false');
    assert.equal(await kids.isVisible(), false, 'collapsed: the children are hidden');
    assert.equal(await scan.isVisible(), false);
    assert.ok(await rootItem.isVisible());
    await wb.shot('explain-02-join-collapsed');
    await join.locator(':scope > .plan-row .plan-toggle').click();
    assert.equal(await join.getAttribute('aria-expanded'), 'true');
    assert.ok(await scan.isVisible(), 'expanded again');

    // by keyboard: the root, ArrowLeft folds the whole plan, ArrowRight opens it, ArrowDown moves to the next node
    await rootItem.locator(':scope > .plan-row .plan-label').click();
    assert.equal(await rootItem.evaluate(e => e === document.activeElement), true, 'the clicked node has the focus');
    await wb.page.keyboard.press('ArrowLeft');
    assert.equal(await rootItem.getAttribute('aria-expanded'), 'false');
    assert.equal(await items.nth(1).isVisible(), false);
    await wb.shot('explain-03-root-folded-by-key');
    await wb.page.keyboard.press('ArrowRight');
    assert.equal(await items.nth(1).isVisible(), true);
    await wb.page.keyboard.press('ArrowDown');
    assert.equal(await items.nth(1).evaluate(e => e === document.activeElement), true);
    await wb.page.keyboard.press('ArrowLeft');
    await wb.page.keyboard.press('ArrowLeft');
    assert.equal(await rootItem.evaluate(e => e === document.activeElement), true, 'ArrowLeft on a folded node goes to its parent');

    // the rows as the server sent them, under "The plan as rows"
    await view.locator('details.plan-table > summary').click();
    await view.locator('details.plan-table .row .cell').first().waitFor();
    assert.deepEqual(await view.locator('details.plan-table .row .cell').allTextContents(), ref);
  });

  test('EXPLAIN ANALYZE: the timing lines after the tree stay with the whole plan; YAML output, which is not a text plan, is shown as it is', async () => {
    const view = await runSql('analyze.sql', `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${Q};`);
    const tree = view.locator('section.plan ul.text-tree[role=tree]');
    await tree.waitFor({ timeout: 60_000 });
    assert.match(await view.locator('section.plan .plan-footer').innerText(), /^Planning Time: .*\nExecution Time: /m);
    assert.match(await tree.locator('.plan-cost').first().innerText(), /^\(actual rows=3(\.00)? loops=1\)$/);
    await wb.shot('explain-04-analyze');
    const yaml = await runSql('yaml.sql', `EXPLAIN (FORMAT YAML) ${Q};`);
    const pre = yaml.locator('section.plan pre.plan-lines');
    await pre.waitFor({ timeout: 60_000 });
    assert.match(await pre.innerText(), /^- Plan:\s*\n/);
    assert.equal(await yaml.locator('ul.text-tree').count(), 0);
    await wb.shot('explain-05-yaml-as-is');
  });

  test('completion knows the statement\'s own relations: "t." after a CTE lists its columns (its "*" expanded from the catalog), "s." a FROM subquery\'s', async () => {
    const f = path.join(workspace, 'cte.sql');
    fs.writeFileSync(f, '-- connection: shop\nWITH t AS (SELECT region, id AS cid, count(*) FROM customers GROUP BY 1, 2), w AS (SELECT * FROM orders)\nSELECT  FROM t;\n');
    await wb.execCommand('vscode.open', [`file://${f}`]);
    await wb.page.locator('.tab.active', { hasText: 'cte.sql' }).first().waitFor();
    const line = (text: string) => wb.page.locator('.editor-instance .monaco-editor .view-line', { hasText: text }).first();
    const suggest = wb.page.locator('.suggest-widget.visible');
    const labels = async (expect: string) => {
      await suggest.locator('.monaco-list-row', { hasText: expect }).first().waitFor({ timeout: 30_000 });
      return suggest.locator('.monaco-list-row .label-name').allInnerTexts();
    };
    await line('SELECT  FROM t;').click();
    await wb.page.keyboard.press('Home');
    for (let i = 0; i < 'SELECT '.length; i++) await wb.page.keyboard.press('ArrowRight');
    // while typing: "SELECT t. FROM t" is not valid SQL yet
    await wb.page.keyboard.type('t.');
    await wb.page.keyboard.press('Control+Space');
    assert.deepEqual((await labels('cid')).sort(), ['cid', 'count', 'region']);
    await wb.shot('explain-06-completion-cte-columns');
    await wb.page.keyboard.press('Escape');
    // a subquery in FROM, and a CTE whose "*" is the columns of orders
    const g = path.join(workspace, 'sub.sql');
    fs.writeFileSync(g, '-- connection: shop\nWITH w AS (SELECT * FROM orders)\nSELECT  FROM (SELECT o.id AS oid, o.amt * 2 AS double_amt FROM orders o) s JOIN w ON w.id = s.oid;\n');
    await wb.execCommand('vscode.open', [`file://${g}`]);
    await wb.page.locator('.tab.active', { hasText: 'sub.sql' }).first().waitFor();
    await line('SELECT  FROM (SELECT').click();
    await wb.page.keyboard.press('Home');
    for (let i = 0; i < 'SELECT '.length; i++) await wb.page.keyboard.press('ArrowRight');
    await wb.page.keyboard.type('s.');
    await wb.page.keyboard.press('Control+Space');
    assert.deepEqual((await labels('double_amt')).sort(), ['double_amt', 'oid']);
    await wb.page.keyboard.press('Escape');
    await wb.page.keyboard.type('oid, w.');
    await wb.page.keyboard.press('Control+Space');
    assert.deepEqual((await labels('cust')).sort(), ['amt', 'cust', 'id']);
    await wb.shot('explain-07-completion-cte-star');
    await wb.page.keyboard.press('Escape');
  });
});
