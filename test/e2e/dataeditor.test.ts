import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { tmpDir } from '../helpers/mcp';
import { Workbench } from './workbench';

// Issue 16: data files open in the grid as a read-only editor: a double-click on a Parquet file in VS Code's
// Explorer, "Open in Data Grid" on a CSV; values read from the grid equal DuckDB's; a corrupt file and a file
// outside the allowed folders say so in the editor, in a person's words, with buttons that act.
describe('Data files in the grid editor (code-server)', { timeout: 15 * 60_000 }, () => {
  const dir = tmpDir('e2e-dataeditor');
  const workspace = path.join(dir, 'workspace');
  const outside = path.join(dir, 'elsewhere');
  const parquet = path.join(workspace, 'sales.parquet');
  const wb = new Workbench(dir, workspace);

  /** Columns whose wrong decoding shows: a 20-digit unsigned id, int64 near its minimum, decimals (int64 and
   *  fixed-length storage), dates before 1970, timestamps with fractions, NULLs; 12,000 rows in 3 row groups,
   *  more than the editor's 10,000-row preview. */
  const SELECT = `SELECT (12345678901234567000 + i)::UBIGINT AS id, (i * 1000003 - 9223372036854775000)::BIGINT AS big,
    CAST(((i * 7919) % 10000000 - 5000000) / 1000.0 AS DECIMAL(18,3)) AS amount,
    CAST(CASE WHEN i % 3 = 0 THEN '-' ELSE '' END || i::VARCHAR || '23456789012345678.' || lpad(i::VARCHAR, 10, '0') AS DECIMAL(38,10)) AS wide,
    DATE '1969-12-25' + (i % 20000)::INTEGER AS d, TIMESTAMP '1999-12-31 23:59:59.5' + i * INTERVAL 61 SECOND AS ts,
    CASE WHEN i % 97 = 0 THEN NULL ELSE 'name ' || i END AS name FROM range(12000) t(i)`;
  let expected: string[] = [];

  /** The webview (of any editor or result tab) that shows this. */
  const webviewWith = async (css: string, text?: RegExp | string): Promise<FrameLocator> => {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const n = await wb.page.locator('iframe.webview.ready').count();
      for (let i = 0; i < n; i++) {
        const v = wb.page.frameLocator('iframe.webview.ready').nth(i).frameLocator('iframe');
        const l = text === undefined ? v.locator(css) : v.locator(css, { hasText: text });
        if (await l.count().catch(() => 0)) return v;
      }
      await wb.page.waitForTimeout(250);
    }
    throw new Error(`no webview shows ${css} ${text ?? ''}`);
  };
  const clipboard = async () => {
    const r = await wb.execCommand('datatoolsTest.readClipboard');
    assert.equal(r.error, undefined, r.error);
    return String(r.value);
  };
  const explorerRow = (name: string) => wb.page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
  const closeEditors = async () => { await wb.execCommand('workbench.action.closeAllEditors'); };

  before(async () => {
    fs.mkdirSync(workspace, { recursive: true });
    fs.mkdirSync(outside, { recursive: true });
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    await duck.run(`COPY (${SELECT}) TO '${parquet}' (FORMAT parquet, ROW_GROUP_SIZE 5000)`);
    await duck.run(`COPY (${SELECT}) TO '${path.join(outside, 'far.parquet')}' (FORMAT parquet)`);
    // the reference: DuckDB's own text of each value, in the value model's forms (timestamps ISO with T, trailing
    // zeros of the fraction trimmed), NULL as an empty TSV field
    const ref = await duck.runAndReadAll(`SELECT coalesce(id::VARCHAR, ''), coalesce(big::VARCHAR, ''), coalesce(amount::VARCHAR, ''),
      coalesce(wide::VARCHAR, ''), coalesce(d::VARCHAR, ''), coalesce(rtrim(rtrim(strftime(ts, '%Y-%m-%dT%H:%M:%S.%f'), '0'), '.'), ''),
      coalesce(name, '') FROM read_parquet('${parquet}') LIMIT 10000`);
    expected = ref.getRows().map(r => r.join('\t'));
    duck.closeSync();
    fs.writeFileSync(path.join(workspace, 'broken.parquet'), Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(200, 7), Buffer.from('PAR1')]));
    // an Arrow IPC file (apache-arrow's writer): 64-bit integers past 2^53, a float, a string with a NULL
    fs.writeFileSync(path.join(workspace, 'events.arrow'), tableToIPC(tableFromArrays({
      n: BigInt64Array.from([9007199254740993n, -9223372036854775808n, 0n]), x: Float64Array.from([0.1, -2.5e-300, 1e21]), s: ['a', 'ü', 'z'] }), 'file'));
    fs.writeFileSync(path.join(workspace, 'zips.csv'), 'zip,id,city\n00501,9007199254740993,Holtsville\n02134,12345678901234567890,"Boston, MA"\n');
    // the server and the browser in Tokyo: dates and timestamps must not move with the host's zone
    await wb.start({ 'datatools.role': 'data_scientist', 'datatools.allowedPaths': [path.join(dir, 'agent-data')], 'datatools.auditLog.path': path.join(dir, 'audit.jsonl') }, { TZ: 'Asia/Tokyo' });
    await wb.execCommand('workbench.action.closeAuxiliaryBar');
  }, { timeout: 5 * 60_000 });

  after(async () => { await wb.stop(); });

  test('a double-click on a .parquet file in the Explorer opens the grid in the editor area: "First 10,000 of 12,000 rows (preview)", every value equal to DuckDB\'s', async () => {
    // the Explorer, by its activity bar icon (a click on it when it shows would close it)
    if (!(await wb.page.locator('.explorer-folders-view').isVisible())) await wb.page.locator('.activitybar .action-label[aria-label^="Explorer"]').first().click();
    await explorerRow('sales.parquet').waitFor();
    await wb.shot('dataeditor-01a-explorer');
    await explorerRow('sales.parquet').dblclick();
    const view = await webviewWith('.hname', /^id$/);
    // an editor tab named after the file (not a result tab beside it)
    await wb.page.locator('.tab.active', { hasText: 'sales.parquet' }).first().waitFor();
    const status = view.locator('.status');
    await status.filter({ hasText: /^First 10,000 of 12,000 rows \(preview\)/ }).waitFor();
    assert.deepEqual(await view.locator('.hname').allInnerTexts(), ['id', 'big', 'amount', 'wide', 'd', 'ts', 'name']);
    assert.equal(await view.locator('.keep').count(), 0, 'a file\'s own tab has nothing to keep');
    assert.equal(await view.locator('details.model').count(), 0, 'no model saw this');
    await wb.shot('dataeditor-01b-parquet-grid');
    // every cell of the preview: select all, copy as TSV, compare with DuckDB's values row by row
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+A');
    await wb.page.keyboard.press('Control+C');
    await view.locator('.status', { hasText: 'Copied 10,000 × 7 as TSV' }).waitFor();
    const got = (await clipboard()).split('\n');
    assert.equal(got.length, expected.length);
    for (let i = 0; i < expected.length; i++) assert.equal(got[i], expected[i], `row ${i + 1}`);
    // the last row of the preview, reached by keyboard, shows DuckDB's 10,000th row
    await view.locator('.row').nth(0).locator('.cell').nth(0).click();
    await wb.page.keyboard.press('Control+End');
    const last = view.locator('.row[data-row="9999"]');
    await last.waitFor();
    assert.deepEqual(await last.locator('.cell').allInnerTexts(), expected[9999].split('\t').map(s => s || 'NULL'));
    await wb.shot('dataeditor-01c-parquet-last-row');
    const audit = fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as { tool: string; caller: string; outcome: string });
    const e = audit.filter(x => x.tool === 'read_parquet').at(-1)!;
    assert.deepEqual([e.caller, e.outcome], ['command', 'ok'], 'read as the person\'s own action, audited');
    await closeEditors();
  });

  test('an Arrow IPC file opens in the grid on a double-click too, its 64-bit integers and floats exact', async () => {
    await explorerRow('events.arrow').dblclick();
    const view = await webviewWith('.hname', /^n$/);
    const rows = view.locator('.row');
    await rows.nth(2).waitFor();
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await rows.nth(i).locator('.cell').allInnerTexts());
    assert.deepEqual(got, [['9007199254740993', '0.1', 'a'], ['-9223372036854775808', '-2.5e-300', 'ü'], ['0', '1e+21', 'z']]);
    assert.deepEqual(await view.locator('.htype').allInnerTexts(), ['int64', 'float64', 'string']);
    await wb.shot('dataeditor-05-arrow-grid');
    await closeEditors();
  });

  test('a CSV opens as text; the editor\'s "Open in Data Grid" button shows it in the grid with its values exact (leading zeros, 64-bit ids, quoted commas); "Open as Text" goes back', async () => {
    await explorerRow('zips.csv').dblclick();
    await wb.page.locator('.tab.active', { hasText: 'zips.csv' }).first().waitFor();
    await wb.page.locator('.editor-instance .monaco-editor .view-line', { hasText: '00501' }).first().waitFor();
    await wb.shot('dataeditor-02a-csv-as-text');
    const b = wb.page.locator('.editor-actions .action-label[aria-label*="Open in Data Grid"]').first();
    await b.click();
    const view = await webviewWith('.hname', /^zip$/);
    const rows = view.locator('.row');
    await rows.nth(1).waitFor();
    assert.deepEqual(await rows.nth(0).locator('.cell').allInnerTexts(), ['00501', '9007199254740993', 'Holtsville']);
    assert.deepEqual(await rows.nth(1).locator('.cell').allInnerTexts(), ['02134', '12345678901234567890', 'Boston, MA']);
    assert.match(await view.locator('.status').innerText(), /^2 rows · 3 columns/);
    // VS Code closes the text tab just after the grid opens: wait for it (a count read at once can still see both)
    const tabs = wb.page.locator('.tab', { hasText: 'zips.csv' });
    for (const end = Date.now() + 10_000; (await tabs.count()) !== 1 && Date.now() < end;) await new Promise(r => setTimeout(r, 200));
    assert.equal(await tabs.count(), 1, 'the grid replaced the text tab, as Reopen Editor With does');
    await wb.shot('dataeditor-02b-csv-in-grid');
    await wb.page.locator('.editor-actions .action-label[aria-label*="Open as Text"]').first().click();
    await wb.page.locator('.editor-instance .monaco-editor .view-line', { hasText: 'Holtsville' }).first().waitFor();
    for (const end = Date.now() + 10_000; (await tabs.count()) !== 1 && Date.now() < end;) await new Promise(r => setTimeout(r, 200));
    assert.equal(await tabs.count(), 1);
    await wb.shot('dataeditor-02c-csv-back-to-text');
    await closeEditors();
  });

  test('a corrupt Parquet file: the editor says it could not be read, in a person\'s words, no stack trace', async () => {
    await explorerRow('broken.parquet').dblclick();
    const view = await webviewWith('main.message');
    const text = await view.locator('main.message').innerText();
    assert.match(text, /^Data Tools could not open broken\.parquet\n/);
    assert.doesNotMatch(text, /\bat .*\.js:\d+|TypeError|RangeError|Error:/, text);
    assert.ok(!text.includes(workspace), 'the file is named, not its whole path');
    assert.match(text, /truncated or corrupt/);
    assert.equal(await view.locator('a.button').count(), 0, 'no setting fixes a corrupt file: no button');
    await wb.shot('dataeditor-03-corrupt-file');
    await closeEditors();
  });

  test('a Parquet file outside the allowed folders: the editor says so with "Allow <folder>"; a click allows it and the grid opens', async () => {
    await wb.execCommand('vscode.open', [`file://${path.join(outside, 'far.parquet')}`]);
    const view = await webviewWith('main.message');
    assert.match(await view.locator('main.message h1').innerText(), /^far\.parquet is outside the folders Data Tools may read$/);
    assert.match(await view.locator('main.message p').innerText(), /Agents using Data Tools may then read the files in it too\./);
    await wb.shot('dataeditor-04a-outside-roots');
    await view.locator('a.button', { hasText: `Allow ${outside}` }).click();
    const grid = await webviewWith('.hname', /^id$/);
    await grid.locator('.status').filter({ hasText: /^First 10,000 of 12,000 rows \(preview\)/ }).waitFor();
    assert.equal(await grid.locator('.row').nth(0).locator('.cell').nth(0).innerText(), expected[0].split('\t')[0]);
    await wb.shot('dataeditor-04b-outside-allowed');
  });
});
