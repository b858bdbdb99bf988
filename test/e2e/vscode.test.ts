import { after, before, describe, test } from 'node:test';
import { defaultWorkDir } from '../../src/core/config';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/mcp';
import { Workbench } from './workbench';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';

const ML_TOOLS = ['describe_table', 'execute_code', 'execute_query', 'get_environment', 'get_result', 'get_schema', 'get_table_sample',
  'install_package', 'list_files', 'list_tables', 'read_csv', 'read_file', 'read_parquet', 'write_file'];

describe('Data Tools in a real VS Code (code-server + Playwright + chromium)', { timeout: 15 * 60_000 }, () => {
  const dir = tmpDir('e2e');
  const workspace = path.join(dir, 'workspace');
  const data = path.join(dir, 'data');
  const audit = path.join(dir, 'audit.jsonl');
  const wb = new Workbench(dir, workspace);

  before(async () => {
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(workspace, { recursive: true });
    fs.writeFileSync(path.join(workspace, 'README.md'), '# e2e workspace\n');
    await wb.start({ 'datatools.role': 'ml_engineer', 'datatools.allowedPaths': [data], 'datatools.auditLog.path': audit });
  }, { timeout: 5 * 60_000 });

  after(async () => {
    await wb.stop();
  });

  test('the extension activates and the status bar shows the role', async () => {
    await wb.page.locator('.statusbar-item', { hasText: 'ML engineer' }).first().waitFor({ timeout: 60_000 });
    await wb.shot('01-activated');
  });

  test('the role\'s tools are registered and invokeTool reaches the catalog; a tool the role lacks has no implementation', async () => {
    const r = await wb.invokeTool('get_environment', {});
    for (const t of ML_TOOLS) assert.ok(r.tools.includes(t), `${t} is contributed`);
    assert.ok(r.text !== undefined, `invokeTool answered: ${JSON.stringify(r)}`);
    const lines = fs.readFileSync(audit, 'utf8').trim().split('\n').map(l => JSON.parse(l));
    const last = lines[lines.length - 1];
    assert.equal(last.tool, 'get_environment');
    assert.equal(last.caller, 'copilot');
    const lacking = await wb.invokeTool('run_script', { script_path: 'x.py' });
    assert.match(lacking.error ?? '', /does not have an implementation registered/);
  });

  test('extension-host checks: the tree provider level by level, an error node for a broken connection, settings reach the host, commands exist', async () => {
    const r = await wb.execCommand('datatoolsTest.hostChecks');
    assert.equal(r.error, undefined, r.error);
    const v = r.value as Record<string, unknown>;
    assert.deepEqual(v.roots, ['sample', 'Data files']);
    assert.deepEqual(v.schemas, ['public']);
    assert.deepEqual(v.relations, ['raw_logs:table:40000', 'user_behavior:table:60000', 'users:table:2000']);
    assert.equal((v.columns as string[])[0], 'id:integer:pk');
    assert.ok((v.columns as string[]).includes('country:character(2):'), JSON.stringify(v.columns));
    assert.deepEqual(v.fileRoots, [data, workspace]);
    assert.equal((v.broken as string[]).length, 1);
    assert.match((v.broken as string[])[0], /^message:error:.*(ECONNREFUSED|connect)/);
    assert.equal(v.maxRowsApplied, true);
    for (const c of ['datatools.runQuery', 'datatools.previewDataFile', 'datatools.runPythonFile', 'datatools.runSelectionInSandbox', 'datatools.restartSandbox',
      'datatools.addConnection', 'datatools.testConnection', 'datatools.removeConnection', 'datatools.selectRole', 'datatools.openAuditLog',
      'datatools.setE2bApiKey', 'datatools.clearE2bApiKey', 'datatools.explorer.preview', 'datatools.explorer.askData']) {
      assert.ok((v.commands as string[]).includes(c), `${c} is registered`);
    }
  });

  test('a malformed input through the LM tools API gets the catalog\'s field-level error', async () => {
    const r = await wb.invokeTool('execute_query', { query: 7 });
    assert.match(r.text ?? r.error ?? '', /`query`: expected string, got number/);
  });

  test('each tool family works through vscode.lm.invokeTool in the extension host', async () => {
    const q = await wb.invokeTool('execute_query', { query: 'SELECT plan, count(*) AS n FROM users GROUP BY plan ORDER BY plan' });
    assert.match(q.text ?? q.error ?? '', /3 rows returned in \d+ ms \(complete\)[\s\S]*free \| \d+/);
    const d = await wb.invokeTool('describe_table', { table_name: 'users' });
    assert.match(d.text ?? '', /PRIMARY KEY \(id\)/);
    fs.writeFileSync(path.join(data, 'e2e.csv'), 'a,b\n1,x\n2,y\n');
    const c = await wb.invokeTool('read_csv', { file_path: path.join(data, 'e2e.csv') });
    assert.match(c.text ?? '', /columns: a int32, b string/);
    const pending = await wb.startInvoke('execute_code', { code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nprint(6 * 7)' });
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Run Python code in the sandbox?' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /plt\.plot\(\[1, 2, 3\]\)/, 'the confirmation shows the code');
    await wb.shot('02-confirm-code');
    await dialog.getByRole('button', { name: 'Yes' }).click();
    const py = await pending.result();
    assert.match(py.text ?? py.error ?? '', /42[\s\S]*\[image\] PNG figure #1/);
    assert.deepEqual(py.images, ['image/png']);
    await wb.shot('02-tool-families');
  });

  test('write_file asks first: Cancel writes nothing, Yes writes the file', async () => {
    const target = path.join(data, 'from-agent.txt');
    const cancelled = await wb.startInvoke('write_file', { file_path: target, content: 'hello from the agent' });
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Write this file?' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), new RegExp(`Write 20 characters to ${target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    await wb.shot('04-confirm-write');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.match((await cancelled.result()).error ?? '', /Cancel/);
    assert.ok(!fs.existsSync(target), 'nothing was written after Cancel');
    const accepted = await wb.startInvoke('write_file', { file_path: target, content: 'hello from the agent' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Yes' }).click();
    assert.match((await accepted.result()).text ?? '', /Wrote 20 B to/);
    assert.equal(fs.readFileSync(target, 'utf8'), 'hello from the agent');
  });

  test('Preview Data File opens the result view: a virtualized grid with types, stats, sorting, and values shown as text', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},${i === 3 ? '"<img src=x onerror=alert(1)>"' : `city${i % 9}`},${((i * 37) % 1000) / 10}`);
    const file = path.join(data, 'orders.csv');
    fs.writeFileSync(file, `id,city,amount\n${rows.join('\n')}\n`);
    const r = await wb.execCommand('datatools.previewDataFile', [`file://${file}`]);
    assert.equal(r.error, undefined, r.error);
    const view = wb.webview();
    await view.locator('.row .cell').first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await view.locator('.hname').allInnerTexts(), ['id', 'city', 'amount']);
    assert.deepEqual(await view.locator('.htype').allInnerTexts(), ['int32', 'string', 'float64']);
    assert.match(await view.locator('.status').innerText(), /^5,000 rows · 3 columns/);
    // only the visible rows exist in the DOM
    const rendered = await view.locator('.row').count();
    assert.ok(rendered > 5 && rendered < 200, `${rendered} rows rendered`);
    assert.deepEqual(await view.locator('.row').nth(0).locator('.cell').allInnerTexts(), ['0', 'city0', '0']);
    // a cell holding markup is text: no image element is created for it
    assert.equal(await view.locator('.row').nth(3).locator('.cell').nth(1).innerText(), '<img src=x onerror=alert(1)>');
    assert.equal(await view.locator('.rows img').count(), 0);
    // stats arrive after the first paint
    await view.locator('.hstats', { hasText: 'distinct' }).first().waitFor();
    assert.match(await view.locator('.hstats').nth(1).innerText(), /0 null · 10 distinct/);
    // sort descending by amount: click twice
    await view.locator('.hcell', { hasText: 'amount' }).click();
    await view.locator('.hcell', { hasText: 'amount' }).click();
    assert.equal(await view.locator('.row').nth(0).locator('.cell').nth(2).innerText(), '99.9');
    // filter: rows containing "city3" (every 9th row, except row 3 which holds the markup)
    await view.locator('vscode-textfield.filter input').fill('city3');
    await view.locator('.status', { hasText: 'filtered' }).waitFor();
    assert.match(await view.locator('.status').innerText(), /^555 of 5,000 \(filtered\) rows/);
    assert.equal(await view.locator('.row').nth(0).locator('.cell').nth(1).innerText(), 'city3');
    await wb.shot('05-preview-data-file');
    // export the whole table through the save dialog (VS Code's own file dialog in code-server)
    for (const [label, name] of [['Export CSV', 'exported.csv'], ['Export Parquet', 'exported.parquet']]) {
      const target = path.join(data, name);
      await view.locator('vscode-button', { hasText: label }).click();
      const input = wb.page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      // the simple file dialog completes what is typed: replace its text by typing, as a user would
      for (let i = 0; i < 3; i++) {
        await input.press('ControlOrMeta+A');
        await input.pressSequentially(target, { delay: 15 });
        await new Promise(r => setTimeout(r, 400));
        if (await input.inputValue() === target) break;
      }
      assert.equal(await input.inputValue(), target, 'the dialog holds the path typed');
      await wb.page.keyboard.press('Enter');
      const pressed = Date.now();
      const end = pressed + 20_000;
      let again = false;
      while (!fs.existsSync(target) && Date.now() < end) {
        await new Promise(r => setTimeout(r, 200));
        // the simple file dialog can still be judging a path it completed while the name was typed ("The folder
        // already exists") when Enter comes: a person presses Enter again once the field shows the whole path
        if (!again && Date.now() - pressed > 3000 && await input.isVisible() && await input.inputValue() === target) { again = true; await input.press('Enter'); }
      }
      if (!fs.existsSync(target)) await wb.shot(`05b-export-failed-${name}`);
      assert.ok(fs.existsSync(target), `${label} wrote ${target}`);
    }
    const exported = fs.readFileSync(path.join(data, 'exported.csv'), 'utf8').trim().split(/\r?\n/);
    assert.equal(exported.length, 5001, 'the whole table, not the filtered view');
    assert.equal(exported[0], 'id,city,amount');
    assert.equal(fs.readFileSync(path.join(data, 'exported.parquet')).subarray(0, 4).toString(), 'PAR1');
    // the Parquet export (streamed from the result store) holds the same 5,000 rows as the CSV export, per DuckDB
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    const pq = (await duck.runAndReadAll(`SELECT id, city, amount FROM '${path.join(data, 'exported.parquet')}'`)).getRowsJS();
    assert.deepEqual(pq, exported.slice(1).map(l => l.split(',')).map(([a, b, c]) => [Number(a), b, Number(c)]));
    assert.equal(fs.readdirSync(data).filter(f => f.endsWith('.tmp')).length, 0, 'no temporary file left');
  });

  test('Run Query runs the .sql editor\'s text on the sample database and shows the rows', async () => {
    const sql = path.join(workspace, 'plans.sql');
    fs.writeFileSync(sql, 'SELECT plan, count(*) AS users FROM users GROUP BY plan ORDER BY plan;\n');
    await wb.execCommand('vscode.open', [`file://${sql}`]);
    await wb.page.locator('.tab', { hasText: 'plans.sql' }).first().waitFor();
    const r = await wb.execCommand('datatools.runQuery');
    assert.equal(r.error, undefined, r.error);
    const view = wb.webview();
    await view.locator('.hname', { hasText: 'plan' }).first().waitFor({ timeout: 30_000 });
    assert.equal(await view.locator('.row').nth(0).locator('.cell').nth(0).innerText(), 'free');
    assert.match(await view.locator('.status').innerText(), /^3 rows · 2 columns/);
    await wb.shot('06-run-query');
  });

  test('Run Selection in Sandbox plots and the result view shows the image and the output', async () => {
    const py = path.join(workspace, 'plot.py');
    fs.writeFileSync(py, 'import matplotlib.pyplot as plt\nplt.bar(["a", "b", "c"], [3, 1, 2])\nprint("plotted", 6 * 7)\n');
    await wb.execCommand('vscode.open', [`file://${py}`]);
    await wb.page.locator('.tab', { hasText: 'plot.py' }).first().waitFor();
    const r = await wb.execCommand('datatools.runSelectionInSandbox');
    assert.equal(r.error, undefined, r.error);
    const view = wb.webview();
    const img = view.locator('section.image img');
    await img.waitFor({ timeout: 60_000 });
    const width = await img.evaluate(e => (e as HTMLImageElement).naturalWidth);
    assert.ok(width > 100, `the PNG decoded (${width} px wide)`);
    assert.match(await view.locator('section.stream.stdout pre').innerText(), /plotted 42/);
    await wb.shot('07-python-plot');
  });

  test('the Data view: expand the sample database to a table and its columns, preview it, and see the run in Runs', async () => {
    await wb.execCommand('workbench.view.extension.datatools');
    const tree = wb.page.locator('.pane', { hasText: 'Data Explorer' }).first();
    const row = (text: string | RegExp) => tree.locator('.monaco-list-row', { hasText: text }).first();
    await row('sample').waitFor();
    await row('sample').click();
    await row('public').waitFor();
    await row('public').click();
    await row('user_behavior').waitFor();
    assert.match(await row('raw_logs').innerText(), /raw_logs\s*~40,000 rows/);
    await row('users').click();
    await tree.locator('.monaco-list-row', { hasText: 'country' }).first().waitFor();
    assert.match(await tree.locator('.monaco-list-row', { hasText: /^id/ }).first().innerText(), /integer not null/);
    assert.equal(await tree.locator('.monaco-list-row', { hasText: /^id/ }).first().locator('.codicon-key').count(), 1, 'the primary key has a key icon');
    await wb.shot('09-data-explorer');
    // the inline "Preview Data" action on the users row
    await row('users').hover();
    await row('users').locator('.action-label[aria-label="Preview Data"]').click();
    const view = wb.webview();
    await view.locator('.table-title', { hasText: 'public.users' }).waitFor({ timeout: 30_000 });
    assert.match(await view.locator('.status').innerText(), /^All 2,000 rows of public\.users · 7 columns · sort, filter, column statistics and export cover all 2,000 rows/);
    assert.equal(await view.locator('.row').nth(0).locator('.cell').nth(0).innerText(), '1');
    await wb.shot('10-preview-table');
    // a data file under a root: a click previews it (collapse the database first: the tree renders only what fits)
    await row('sample').click();
    await row('Data files').click();
    await row(/^data$/).click(); // a root is shown by its folder name (issue 16), its full path in the tooltip
    await row('orders.csv').click();
    await view.locator('.table-title', { hasText: 'orders.csv' }).waitFor({ timeout: 30_000 });
    // the first 2,000 rows paint at once ("First 2,000 of 5,000 rows shown · loading the rest…"), then the whole table
    await view.locator('.status', { hasText: /^5,000 rows · 3 columns/ }).waitFor({ timeout: 30_000 });
    const runs = wb.page.locator('.pane', { hasText: 'Runs' }).last();
    const header = runs.locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    await runs.locator('.monaco-list-row', { hasText: 'execute_query' }).first().waitFor();
    assert.match(await runs.locator('.monaco-list-row', { hasText: 'execute_query' }).first().innerText(), /ok · \d+ ms · command/);
    await wb.shot('11-runs');
  });

  test('Add Connection keeps the password out of settings; the tools use the connection once active; Remove deletes it', async () => {
    const pg: PgCluster = await startPostgres();
    try {
      psql(pg.adminUrl, 'CREATE TABLE kpis (k text, v int); INSERT INTO kpis VALUES (\'a\', 1); CREATE ROLE reader LOGIN; GRANT SELECT ON kpis TO reader;');
      const added = await wb.execCommand('datatools.addConnection', [{ name: 'e2epg', host: '127.0.0.1', port: pg.port, database: 'postgres', user: 'reader', password: 'pw-secret-e2e', ssl: 'disable' }]);
      assert.equal(added.error, undefined, added.error);
      assert.equal((added.value as { ok: boolean; user: string }).ok, true, JSON.stringify(added.value));
      const settingsText = () => ['User', 'Machine'].map(s => { try { return fs.readFileSync(path.join(dir, 'user-data', s, 'settings.json'), 'utf8'); } catch { return ''; } }).join('\n');
      assert.match(settingsText(), /"e2epg"/);
      assert.doesNotMatch(settingsText(), /pw-secret-e2e/);
      await wb.execCommand('datatools.selectConnection', ['e2epg']);
      await wb.page.locator('.statusbar-item', { hasText: 'e2epg' }).first().waitFor();
      let q = await wb.invokeTool('execute_query', { query: 'SELECT current_user AS who, count(*) AS n FROM kpis' });
      for (let i = 0; i < 20 && !/reader/.test(q.text ?? ''); i++) { await new Promise(r => setTimeout(r, 250)); q = await wb.invokeTool('execute_query', { query: 'SELECT current_user AS who, count(*) AS n FROM kpis' }); }
      assert.match(q.text ?? q.error ?? '', /\nreader \| 1/);
      await wb.shot('08-connection-active');
      const removed = await wb.execCommand('datatools.removeConnection', ['e2epg']);
      assert.equal(removed.value, true);
      assert.doesNotMatch(settingsText(), /"e2epg"/);
      await wb.page.locator('.statusbar-item', { hasText: '· sample' }).first().waitFor();
    } finally { pg.stop(); }
  });

  test('@data /query runs execute_query with the scripted model, shows the SQL and the answer', async () => {
    wb.setModelScript({ 'users per plan': [
      { tool: 'execute_query', input: { query: 'SELECT plan, count(*) AS users FROM users GROUP BY plan ORDER BY plan' } },
      { text: 'Answer: there are three plans; see the result view for the counts.' },
    ] });
    await wb.chat('@data /query how many users per plan?');
    const answer = wb.page.locator('.interactive-item-container', { hasText: 'Answer: there are three plans' }).last();
    await answer.waitFor({ timeout: 60_000 });
    // the SQL and the button come after the answer's text: wait for the end of the response
    await answer.getByRole('button', { name: /Open execute_query result/ }).waitFor();
    // the SQL block is a Monaco editor that clips long lines: check its start
    assert.match(await answer.innerText(), /SQL run:\s+SELECT\s+plan,\s+count\(\*\)\s+AS\s+users\s+FROM\s+users/);
    const log = fs.readFileSync(path.join(wb.io, 'model-log.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l));
    assert.ok(log.some(l => l.key === 'users per plan' && l.tools.includes('execute_query')), 'the model was offered the role\'s tools');
    await wb.shot('12-chat-query');
  });

  test('@data /explore on a Parquet file reads it, runs Python after the confirmation, and shows the chart', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const n = 500;
    const file = path.join(data, 'orders.parquet');
    fs.writeFileSync(file, new Uint8Array(parquetWriteBuffer({ columnData: [
      { name: 'order_id', type: 'INT32', data: Array.from({ length: n }, (_, i) => i + 1) },
      { name: 'amount', type: 'DOUBLE', data: Array.from({ length: n }, (_, i) => ((i * 37) % 200) + 0.5) },
    ] })));
    // the extension host's work folder: under code-server's own HOME (scripts/vscode-server.mjs)
    const csv = path.join(defaultWorkDir([data], { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME || path.join(dir, 'home', '.cache') }), 'results', 'orders.csv');
    wb.setModelScript({ 'orders.parquet': [
      { tool: 'read_parquet', input: { file_path: file, n_rows: 500, save_as: 'orders.csv' } },
      { tool: 'execute_code', input: { code: `import pandas as pd, matplotlib.pyplot as plt\ndf = pd.read_csv(${JSON.stringify(csv)})\nprint(df.shape, int(df.amount.isna().sum()))\ndf.amount.plot.hist(bins=20)\nplt.title("amount")` } },
      { text: 'Explored: 500 orders, no nulls; the histogram of amount is in the result view.' },
    ] });
    await wb.chat(`@data /explore ${file}`);
    // execute_code asks first, inside the chat
    const allow = wb.page.locator('.interactive-session').getByRole('button', { name: /^(Allow|Continue|Run)\b/ }).first();
    await allow.waitFor({ timeout: 60_000 }).catch(async e => { await wb.shot('13-chat-confirm-missing'); throw e; });
    await wb.shot('13-chat-confirm');
    await allow.click();
    const answer = wb.page.locator('.interactive-item-container', { hasText: 'Explored: 500 orders' }).last();
    await answer.waitFor({ timeout: 90_000 });
    // a follow-up suggestion from what was done
    await wb.page.locator('.interactive-session', { hasText: 'Top values' }).first().waitFor();
    await answer.getByRole('button', { name: /Open execute_code result/ }).click();
    const audit = fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l));
    assert.equal(audit.filter(e => e.tool === 'execute_code').pop()?.caller, 'chat', 'the audit log says @data asked');
    const img = wb.webview().locator('section.image img');
    await img.waitFor({ timeout: 30_000 });
    assert.match(await wb.webview().locator('section.stream.stdout pre').innerText(), /\(500, 2\) 0/);
    await wb.shot('14-chat-explore-chart');
  });

  test('Run Python File in Sandbox (data engineer): output streams to the output channel and opens in the result view', async () => {
    assert.equal((await wb.execCommand('datatoolsTest.setSetting', ['datatools.role', 'data_engineer'])).value, 'data_engineer');
    await wb.page.locator('.statusbar-item', { hasText: 'Data engineer' }).first().waitFor();
    const py = path.join(workspace, 'plot.py');
    fs.writeFileSync(py, 'import sys, matplotlib\nmatplotlib.use("Agg")\nimport matplotlib.pyplot as plt\nprint("from a script", sys.argv[0].endswith("plot.py"))\nplt.plot([3, 1, 2])\nplt.savefig("/tmp/fig.png")\n');
    await wb.execCommand('vscode.open', [`file://${py}`]);
    const r = await wb.execCommand('datatools.runPythonFile');
    assert.equal(r.error, undefined, r.error);
    assert.match(await wb.webview().locator('section.stream.stdout pre').innerText(), /from a script True/);
    await wb.page.locator('.panel .monaco-editor', { hasText: 'from a script True' }).first().waitFor();
    await wb.shot('08b-run-python-file');
    await wb.execCommand('datatoolsTest.setSetting', ['datatools.role', 'ml_engineer']);
    await wb.page.locator('.statusbar-item', { hasText: 'ML engineer' }).first().waitFor();
  });

  test('switching role through the settings re-registers the tools', async () => {
    await wb.runCommand('Data Tools: Select Role');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Data scientist' }).first().click();
    await wb.page.locator('.statusbar-item', { hasText: 'Data scientist' }).first().waitFor();
    // the registrations follow the configuration change
    let write = await wb.invokeTool('write_file', { file_path: 'x', content: 'y' });
    for (let i = 0; i < 20 && !write.error; i++) { await new Promise(res => setTimeout(res, 250)); write = await wb.invokeTool('write_file', { file_path: 'x', content: 'y' }); }
    assert.match(write.error ?? '', /does not have an implementation registered/);
    const install = await wb.invokeTool('install_package', { packages: [] });
    assert.match(install.text ?? '', /Invalid input for install_package/, 'install_package is registered for data scientists');
    await wb.shot('03-role-switched');
  });

  test('@data says why when the model asks for a tool the role lacks', async () => {
    // the role is data scientist now (previous test): write_file is not available
    wb.setModelScript({ 'save a note': [
      { tool: 'write_file', input: { file_path: path.join(data, 'note.txt'), content: 'hi' } },
      { text: 'I could not save the note: my role does not allow writing files.' },
    ] });
    await wb.chat('@data save a note for me');
    const answer = wb.page.locator('.interactive-item-container', { hasText: 'I could not save the note' }).last();
    await answer.waitFor({ timeout: 60_000 });
    // the refusal note is written after the model's answer: wait for the end of the response
    await wb.page.locator('.interactive-item-container', { hasText: 'write_file refused' }).last().waitFor();
    assert.match(await answer.innerText(), /write_file refused: `?write_file`? is not allowed for the role Data scientist/);
    assert.ok(!fs.existsSync(path.join(data, 'note.txt')));
    await wb.shot('15-chat-refused');
  });
});
