import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, FrameLocator } from 'playwright-core';
import { ROOT, tmpDir } from '../helpers/mcp';
import { Workbench } from './workbench';

// Issue 16: the result grid as a person uses it, by mouse and keyboard in code-server, a screenshot per step.
describe('The result grid by mouse and keyboard (code-server)', { timeout: 15 * 60_000 }, () => {
  const dir = tmpDir('e2e-grid');
  const workspace = path.join(dir, 'workspace');
  const data = path.join(dir, 'data');
  const wb = new Workbench(dir, workspace);

  /** Writes a .sql file, opens it (setup) and clicks the editor's Run Query button, as a person would. */
  const runSql = async (name: string, sql: string, firstHeader: RegExp | string) => {
    await wb.runSqlFile(name, sql);
    return webviewWith(firstHeader);
  };
  /** The result tab showing this (a kept tab stays open beside the live one). */
  const webviewWith = async (what: RegExp | string) => {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const n = await wb.page.locator('iframe.webview.ready').count();
      for (let i = 0; i < n; i++) {
        const v = wb.page.frameLocator('iframe.webview.ready').nth(i).frameLocator('iframe');
        const l = typeof what === 'string' ? v.locator(what) : v.locator('.hname', { hasText: what });
        if (await l.count().catch(() => 0)) { current = v; return v; }
      }
      await wb.page.waitForTimeout(250);
    }
    throw new Error(`no result view shows ${what}`);
  };
  let current: FrameLocator | undefined;
  const clipboard = async () => {
    const r = await wb.execCommand('datatoolsTest.readClipboard');
    assert.equal(r.error, undefined, r.error);
    return String(r.value);
  };
  /** Blanks the clipboard so a copy that does nothing cannot pass for the previous one. */
  const clearClipboard = async () => { await wb.page.evaluate(() => navigator.clipboard.writeText('(empty)')); };
  const frameOf = async (): Promise<Frame> => {
    const h = await current!.locator('body').elementHandle();
    const f = await h!.ownerFrame();
    assert.ok(f);
    return f;
  };

  before(async () => {
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(workspace, { recursive: true });
    await wb.start({ 'datatools.role': 'ml_engineer', 'datatools.allowedPaths': [data], 'datatools.auditLog.path': path.join(dir, 'audit.jsonl') });
    // room for the grid: the chat and the side bar closed, as a person would
    await wb.execCommand('workbench.action.closeAuxiliaryBar');
    await wb.execCommand('workbench.action.closeSidebar');
  }, { timeout: 5 * 60_000 });

  after(async () => { await wb.stop(); });

  const LONG = `${'abcdefghij'.repeat(30)} end`; // ~2,400 px: under the 4,000 px a fit goes to (longer values: the viewer)
  const DOC = '{"a": 1, "big": 12345678901234567890, "n": [1.50, 2], "a": "dup"}';

  test('columns resize by dragging the header edge and fit on a double-click; cells have the full value as tooltip; the value viewer shows JSON pretty-printed exactly, long text wrapped, binary as hex, and copies', async () => {
    const view = await runSql('values.sql', `SELECT 1 AS id, repeat('abcdefghij', 30) || ' end' AS long_text, '${DOC}'::json AS doc, '\\x00ff41'::bytea AS bin;\n`, /^id$/);
    const cell = (c: number) => view.locator('.row').nth(0).locator('.cell').nth(c);
    await cell(1).waitFor();
    await wb.shot('grid-01a-long-value-cut');
    assert.equal(await cell(1).getAttribute('title'), LONG, 'the tooltip holds the whole value');
    const cut = await cell(1).evaluate(e => e.scrollWidth > e.clientWidth + 1);
    assert.ok(cut, 'the long value does not fit the first width');
    // drag the right edge of the long_text header 150 px to the right
    const head = view.locator('.hcell').nth(1);
    const w0 = (await head.boundingBox())!.width;
    const grip = (await head.locator('.resizer').boundingBox())!;
    await wb.page.mouse.move(grip.x + grip.width / 2, grip.y + grip.height / 2);
    await wb.page.mouse.down();
    await wb.page.mouse.move(grip.x + 80, grip.y + grip.height / 2, { steps: 4 });
    await wb.page.mouse.move(grip.x + grip.width / 2 + 150, grip.y + grip.height / 2, { steps: 4 });
    await wb.page.mouse.up();
    const w1 = (await head.boundingBox())!.width;
    assert.ok(Math.abs(w1 - w0 - 150) <= 3, `dragged from ${w0} to ${w1} px`);
    assert.equal(Math.round((await cell(1).boundingBox())!.width), Math.round(w1), 'the cells follow the header');
    assert.equal(await view.locator('.row .cell.sel').count(), 0, 'resizing neither sorts nor selects');
    assert.equal(await head.getAttribute('aria-sort'), 'none');
    await wb.shot('grid-01b-dragged');
    await head.locator('.resizer').dblclick();
    assert.equal(await cell(1).evaluate(e => e.scrollWidth > e.clientWidth + 1), false, 'after fitting, the whole value is in the cell');
    assert.ok((await head.boundingBox())!.width > 1000, 'wider than any former cap');
    await wb.shot('grid-01c-fitted');

    // the value viewer by keyboard: the binary cell, Enter
    const viewer = view.locator('.viewer');
    await cell(3).click();
    await wb.page.keyboard.press('Enter');
    await viewer.waitFor();
    assert.equal(await viewer.locator('.viewer-body').innerText(), `00000000  00 ff 41${' '.repeat(47 - 8)}  ..A`);
    assert.match(await viewer.locator('.viewer-meta').innerText(), /^bytea · binary, 3 bytes as hex/);
    await wb.shot('grid-01d-viewer-hex');
    await wb.page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
    // long text: wrapped in the viewer, no horizontal scrolling
    await cell(1).dblclick();
    await viewer.waitFor();
    const body = viewer.locator('.viewer-body');
    assert.equal(await body.innerText(), LONG);
    assert.equal(await body.evaluate(e => e.scrollWidth <= e.clientWidth + 1), true, 'wrapped, not cut');
    await wb.shot('grid-01e-viewer-long-text');
    await wb.page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
    // a double-click on the JSON cell: pretty-printed exactly; Copy value copies the value as stored
    await cell(2).dblclick();
    await viewer.waitFor();
    assert.equal(await viewer.locator('.viewer-body').innerText(),
      '{\n  "a": 1,\n  "big": 12345678901234567890,\n  "n": [\n    1.50,\n    2\n  ],\n  "a": "dup"\n}', 'pretty-printed, every digit and the duplicate key kept');
    assert.match(await viewer.locator('.viewer-meta').innerText(), /^json · JSON, pretty-printed/);
    await wb.shot('grid-01f-viewer-json');
    await clearClipboard();
    await viewer.locator('vscode-button', { hasText: 'Copy value' }).click();
    await view.locator('.status', { hasText: 'Copied the value' }).waitFor();
    assert.equal(await clipboard(), DOC, 'the value as stored, not the pretty form');
    if (await viewer.count()) await viewer.locator('vscode-button', { hasText: 'Close' }).click();
    await viewer.waitFor({ state: 'detached' });
  });

  test('EXPLAIN is shown as the plan tree it is (a node per plan line, every line kept under "The plan as rows"); EXPLAIN (FORMAT JSON) as a collapsible tree with cost bars', async () => {
    const q = 'SELECT u.plan, count(*) AS n FROM users u JOIN user_behavior b ON b.user_id = u.id WHERE u.id > 10 GROUP BY u.plan ORDER BY u.plan';
    const view = await runSql('explain.sql', `EXPLAIN ${q};\n`, 'section.plan ul.text-tree');
    const textTree = view.locator('section.plan ul.text-tree');
    await textTree.waitFor();
    await wb.shot('grid-02a-explain-text');
    // the rows as the server sent them (the grid under "The plan as rows"), against the tree shown
    await view.locator('details.plan-table > summary').click();
    await view.locator('details.plan-table .row .cell').first().waitFor();
    const rows = await view.locator('details.plan-table .row .cell').allTextContents();
    assert.ok(rows.length >= 3, rows.join('\n'));
    assert.ok(rows.some(r => /^ {2,}->  /.test(r)), 'the plan has indented child nodes');
    assert.equal(await textTree.locator('[role=treeitem]').count(), 1 + rows.filter(r => /^\s*->/.test(r)).length, 'a tree node per plan node');
    assert.match(await textTree.locator('.plan-cost').first().evaluate(e => getComputedStyle(e).fontFamily), /mono|courier|consol|menlo/i);
    await wb.shot('grid-02b-explain-rows');

    const jv = await runSql('explain-json.sql', `EXPLAIN (FORMAT JSON) ${q};\n`, 'section.plan-json .plan-tree');
    const tree = jv.locator('section.plan-json .plan-tree');
    await tree.waitFor();
    const nodes = tree.locator('details.plan-node');
    assert.ok(await nodes.count() >= 3, 'a node per plan node');
    const root = nodes.first();
    assert.match(await root.locator('> summary .plan-label').innerText(), /Sort|Aggregate/);
    assert.equal(await root.locator('> summary .cost-fill').evaluate(e => parseFloat((e as HTMLElement).style.width)), 100);
    const leafShare = await nodes.last().locator('> summary .cost-fill').evaluate(e => parseFloat((e as HTMLElement).style.width));
    assert.ok(leafShare < 100, `a scan costs a part of the whole (${leafShare}%)`);
    assert.match(await nodes.last().locator('> summary .plan-label').innerText(), /Scan/);
    await wb.shot('grid-02c-explain-json-tree');
    await root.locator('> summary').click();
    assert.equal(await nodes.nth(1).isVisible(), false, 'collapsed: the children are hidden');
    await wb.shot('grid-02d-explain-json-collapsed');
    await root.locator('> summary').click();
    assert.equal(await nodes.nth(1).isVisible(), true);
  });

  test('keyboard navigation and a 2×3 range selected with Shift+arrows copy as TSV (Ctrl+C), CSV and JSON with exact values', async () => {
    const view = await runSql('range.sql', 'SELECT g AS n, g * 1.5::float8 AS x, \'r\' || g AS label, (g % 2 = 0) AS even, CASE WHEN g = 2 THEN NULL ELSE 12345678901234567890::numeric + g END AS big, date \'2024-01-01\' + g AS d FROM generate_series(1, 300) g ORDER BY g;\n', /^n$/);
    const grid = view.locator('[role=grid]');
    const active = async () => {
      const id = await grid.getAttribute('aria-activedescendant');
      const c = view.locator(`[id="${id}"]`);
      return { row: await c.evaluate(e => e.closest('[aria-rowindex]')!.getAttribute('aria-rowindex')), col: await c.getAttribute('aria-colindex'), text: await c.textContent() };
    };
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    assert.deepEqual(await active(), { row: '2', col: '1', text: '1' });
    await wb.page.keyboard.press('Control+End');
    assert.deepEqual(await active(), { row: '301', col: '6', text: '2024-10-27' }, 'Ctrl+End: the last cell, scrolled into view');
    await wb.shot('grid-03a-ctrl-end');
    await wb.page.keyboard.press('Control+Home');
    assert.deepEqual(await active(), { row: '2', col: '1', text: '1' });
    await wb.page.keyboard.press('PageDown');
    const paged = await active();
    assert.ok(Number(paged.row) > 10, `PageDown moves a page (${paged.row})`);
    await wb.page.keyboard.press('PageUp');
    assert.equal((await active()).row, '2');
    await wb.page.keyboard.press('End');
    assert.equal((await active()).col, '6');
    await wb.page.keyboard.press('Home');
    assert.equal((await active()).col, '1');
    // the range: row 2 (n = 2), columns even..d, then Shift to row 3
    await wb.page.keyboard.press('ArrowDown');
    for (let i = 0; i < 3; i++) await wb.page.keyboard.press('ArrowRight');
    await wb.page.keyboard.press('Shift+ArrowRight');
    await wb.page.keyboard.press('Shift+ArrowRight');
    await wb.page.keyboard.press('Shift+ArrowDown');
    assert.equal(await view.locator('.row .cell[aria-selected=true]').count(), 6);
    await wb.shot('grid-03b-range-selected');
    // Shift+F10 opens the copy menu at the active cell; the person picks CSV with the arrow keys
    await wb.page.keyboard.press('Shift+F10');
    await view.locator('.menu [role=menuitem]').first().waitFor();
    await wb.page.keyboard.press('ArrowDown');
    await wb.shot('grid-03c-copy-menu');
    await clearClipboard();
    await wb.page.keyboard.press('Enter');
    await view.locator('.status', { hasText: 'Copied 2 × 3 as CSV' }).waitFor();
    assert.equal(await clipboard(), 'even,big,d\r\ntrue,,2024-01-03\r\nfalse,12345678901234567893,2024-01-04\r\n');
    // the same range by mouse (click, Shift+click), Ctrl+C: TSV
    await view.locator('.row').nth(1).locator('.cell').nth(3).click();
    await view.locator('.row').nth(2).locator('.cell').nth(5).click({ modifiers: ['Shift'] });
    await clearClipboard();
    await wb.page.keyboard.press('Control+C');
    await view.locator('.status', { hasText: 'Copied 2 × 3 as TSV' }).waitFor();
    assert.equal(await clipboard(), 'true\t\t2024-01-03\nfalse\t12345678901234567893\t2024-01-04');
    // the context menu copies JSON and Markdown
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await view.locator('.row').nth(1).locator('.cell').nth(1).click({ modifiers: ['Shift'] });
    await view.locator('.row').nth(1).locator('.cell').nth(1).click({ button: 'right' });
    await view.locator('.menu').waitFor();
    await wb.shot('grid-03d-context-menu');
    await clearClipboard();
    await view.locator('.menu [role=menuitem]', { hasText: 'JSON' }).click();
    await view.locator('.status', { hasText: 'Copied 2 × 2 as JSON' }).waitFor();
    assert.equal(await clipboard(), '[\n  {"n": 1, "x": 1.5},\n  {"n": 2, "x": 3}\n]\n');
    // (reading the clipboard went through the command palette, whose Escape reached the grid: select again)
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await view.locator('.row').nth(1).locator('.cell').nth(1).click({ modifiers: ['Shift'] });
    await view.locator('.row').nth(1).locator('.cell').nth(1).click({ button: 'right' });
    await clearClipboard();
    await view.locator('.menu [role=menuitem]', { hasText: 'Markdown' }).click();
    await view.locator('.status', { hasText: 'as Markdown' }).waitFor();
    assert.equal(await clipboard(), '| n | x |\n| --- | --- |\n| 1 | 1.5 |\n| 2 | 3 |\n');
    // Ctrl+A selects every row (not only those painted): 300 lines of TSV
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+A');
    await clearClipboard();
    await wb.page.keyboard.press('Control+C');
    await view.locator('.status', { hasText: 'Copied 300 × 6 as TSV' }).waitFor();
    assert.equal(await view.locator('body').evaluate(() => document.getSelection()!.toString()), '', 'no page text is selected with the cells');
    const all = (await clipboard()).split('\n');
    assert.equal(all.length, 300);
    assert.equal(all[299], '300\t450\tr300\ttrue\t12345678901234568190\t2024-10-27');
    // the header row by keyboard: ArrowUp from the first row, Enter sorts
    await view.locator('.row').nth(0).locator('.cell').nth(1).click();
    await wb.page.keyboard.press('ArrowUp');
    await wb.page.keyboard.press('Enter');
    await wb.page.keyboard.press('Enter');
    assert.equal(await view.locator('.hcell').nth(1).getAttribute('aria-sort'), 'descending');
    assert.equal(await view.locator('.row').nth(0).locator('.cell').nth(1).innerText(), '450');
    await wb.shot('grid-03e-sorted-by-keyboard');
  });

  test('a chart from a result: bar, line and histogram of chosen columns, drawn as inline SVG in the result view', async () => {
    const view = await runSql('chart.sql', 'SELECT plan, count(*) AS users FROM users GROUP BY plan ORDER BY plan;\n', /^plan$/);
    const counts = (await view.locator('.row .cell.num').allTextContents()).map(Number);
    const plans = await view.locator('.row').evaluateAll(rs => rs.map(r => r.querySelector('.cell')!.textContent));
    assert.equal(counts.length, 3);
    await view.locator('vscode-button.chart-toggle').click();
    const chart = view.locator('svg.chart');
    await chart.waitFor();
    assert.equal(await view.locator('select.chart-x').inputValue(), '0', 'x: the first text column');
    assert.equal(await view.locator('select.chart-y').inputValue(), '1', 'y: the first numeric column');
    const bars = chart.locator('.marks rect');
    assert.equal(await bars.count(), 3);
    const heights = await bars.evaluateAll(rs => rs.map(r => Number(r.getAttribute('height'))));
    const max = Math.max(...counts);
    heights.forEach((h, i) => assert.ok(Math.abs(h / Math.max(...heights) - counts[i] / max) < 0.01, `bar ${i} is ${counts[i]} / ${max} of the tallest`));
    assert.deepEqual(await bars.evaluateAll(rs => rs.map(r => r.querySelector('title')!.textContent)), plans.map((p, i) => `${p}: ${counts[i]}`));
    assert.match(await chart.locator('> title').textContent() ?? '', /^Bar chart of users by plan/);
    assert.equal(await chart.evaluate(e => e.getAttribute('role')), 'img');
    await wb.shot('grid-06a-bar-chart');
    await view.locator('select.chart-kind').selectOption('line');
    await view.locator('select.chart-x').selectOption('-1');
    assert.equal((await chart.locator('polyline.line').getAttribute('points'))!.split(' ').length, 3);
    await wb.shot('grid-06b-line-chart');
    await view.locator('select.chart-kind').selectOption('histogram');
    const bins = view.locator('svg.chart .marks rect');
    assert.equal(await bins.count(), 20);
    const binned = await bins.evaluateAll(rs => rs.map(r => Number(/^(\d+) rows/.exec(r.querySelector('title')!.textContent!)![1])));
    assert.equal(binned.reduce((a, b) => a + b, 0), 3, 'every row is in a bin');
    await wb.shot('grid-06c-histogram');
  });

  const THEMES: [string, string][] = [
    ['Default Light Modern', 'vscode-light'], ['Default Dark Modern', 'vscode-dark'],
    ['Default High Contrast', 'vscode-high-contrast'], ['Default High Contrast Light', 'vscode-high-contrast-light'],
  ];

  test('the grid is an ARIA grid and axe-core finds no serious or critical violation in any of the four default themes', async () => {
    const view = await runSql('a11y.sql', "SELECT g AS id, 'name ' || g AS name, CASE WHEN g % 3 = 0 THEN NULL ELSE g * 2.5 END AS score FROM generate_series(1, 40) g;\n", /^id$/);
    const grid = view.locator('[role=grid]');
    // the row count is set by the grid's first paint, a frame after its header is on screen
    await view.locator('[role=grid][aria-rowcount]').waitFor({ timeout: 10_000 });
    assert.equal(await grid.getAttribute('aria-rowcount'), '41');
    assert.equal(await grid.getAttribute('aria-colcount'), '3');
    assert.equal(await view.locator('[role=columnheader]').count(), 3);
    assert.equal(await view.locator('[role=row][aria-rowindex="2"] [role=gridcell]').first().textContent(), '1');
    const axe = fs.readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
    const report: string[] = [];
    for (const [theme, cls] of THEMES) {
      assert.equal((await wb.execCommand('datatoolsTest.setSetting', ['workbench.colorTheme', theme])).value, theme);
      await view.locator(`body.${cls}`).waitFor();
      await wb.page.waitForTimeout(500);
      // a selected range and an active cell, so their colours are checked too
      await view.locator('.row').nth(1).locator('.cell').nth(0).click();
      await wb.page.keyboard.press('Shift+ArrowRight');
      await wb.page.keyboard.press('Shift+ArrowDown');
      const frame = await frameOf();
      if (!(await frame.evaluate('typeof axe !== "undefined"'))) await frame.evaluate(axe);
      const found = await frame.evaluate(`axe.run(document.querySelector('section.table'), { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, example: v.nodes[0] && v.nodes[0].failureSummary })))`) as { id: string; impact: string; nodes: number; example: string }[];
      await wb.shot(`grid-04-axe-${cls}`);
      report.push(`${theme}: ${found.length ? found.map(v => `${v.id} (${v.impact}, ${v.nodes})`).join(', ') : 'no violations'}`);
      const bad = found.filter(v => v.impact === 'serious' || v.impact === 'critical');
      assert.deepEqual(bad, [], `${theme}: ${JSON.stringify(bad, null, 1)}`);
      // the selected cells are visibly different from the others (the selection does not disappear)
      const looks = await view.locator('.row').nth(1).locator('.cell').evaluateAll(cs => cs.map(c => { const s = getComputedStyle(c); return `${s.backgroundColor}|${s.outlineStyle}|${s.outlineColor}`; }));
      assert.notEqual(looks[0], looks[2], `${theme}: a selected cell looks different from an unselected one`);
    }
    console.log(`# axe-core: ${report.join(' · ')}`);
  });

  test('Run Query opens the result beside the SQL editor; Keep keeps that tab and the next run opens a new one; a second click releases it', async () => {
    // a fresh layout: one editor group
    await wb.execCommand('workbench.action.closeAllEditors');
    await wb.execCommand('workbench.action.closeAllGroups');
    const view = await runSql('first.sql', 'SELECT 1 AS first_result;\n', /^first_result$/);
    // the person ran it: no model saw this result, so its text is not called what the model received
    assert.equal((await view.locator('details.model summary').textContent())?.trim(), 'As text (what an agent would receive)');
    const groups = wb.page.locator('.editor-group-container');
    assert.equal(await groups.count(), 2, 'the result opened in a second group');
    assert.ok(await groups.nth(0).locator('.tab.active', { hasText: 'first.sql' }).isVisible(), 'the SQL stays visible');
    assert.ok(await groups.nth(1).locator('.tab.active', { hasText: 'execute_query' }).isVisible());
    await wb.shot('grid-05a-beside');
    await view.locator('header.top .keep').click();
    await view.locator('header.top .keep', { hasText: 'Kept' }).waitFor();
    await wb.page.locator('.tab', { hasText: 'Kept: execute_query' }).first().waitFor();
    await runSql('second.sql', 'SELECT 2 AS second_result;\n', /^second_result$/);
    const resultTabs = wb.page.locator('.tab', { hasText: 'execute_query' });
    assert.equal(await resultTabs.count(), 2, 'a new tab, the kept one stays');
    await wb.shot('grid-05b-kept-and-new');
    // the kept tab still shows the first result
    await wb.page.locator('.tab', { hasText: 'Kept: execute_query' }).first().click();
    await webviewWith(/^first_result$/);
    // and a third run replaces the live (unkept) tab, not the kept one
    await runSql('third.sql', 'SELECT 3 AS third_result;\n', /^third_result$/);
    assert.equal(await resultTabs.count(), 2);
    await wb.shot('grid-05c-live-replaced');
    // Kept is a toggle: a click releases the tab, which the next result then replaces (no third tab)
    await wb.page.locator('.tab', { hasText: 'Kept: execute_query' }).first().click();
    const kept = await webviewWith(/^first_result$/);
    const toggle = kept.locator('header.top .keep');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    await toggle.click();
    await kept.locator('header.top .keep[aria-pressed="false"]', { hasText: 'Keep' }).waitFor();
    // one tab receives new results: the tab that was live until now (the third result) keeps its result, so neither
    // tab is left open with no role
    const keptTabs = wb.page.locator('.tab', { hasText: 'Kept: execute_query' });
    for (const end = Date.now() + 10_000; (await keptTabs.count()) !== 1;) {
      if (Date.now() > end) assert.fail(`expected one kept tab after the release, found ${await keptTabs.count()}`);
      await new Promise(r => setTimeout(r, 200));
    }
    await keptTabs.first().click();
    const nowKept = await webviewWith(/^third_result$/);
    assert.equal(await nowKept.locator('header.top .keep').getAttribute('aria-pressed'), 'true', 'the formerly live tab now says Kept');
    await wb.shot('grid-05d-released');
    await runSql('fourth.sql', 'SELECT 4 AS fourth_result;\n', /^fourth_result$/);
    await webviewWith(/^fourth_result$/);
    let showingFirst = 0;
    const frames = await wb.page.locator('iframe.webview.ready').count();
    for (let i = 0; i < frames; i++) showingFirst += await wb.page.frameLocator('iframe.webview.ready').nth(i).frameLocator('iframe').locator('.hname', { hasText: /^first_result$/ }).count();
    assert.equal(showingFirst, 0, 'the released tab was replaced by the next result');
    assert.equal(await resultTabs.count(), 2, 'no new tab');
  });
});
