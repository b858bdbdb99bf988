import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/mcp';
import { Workbench } from './workbench';

// Issue 16: the person's own commands and the habits of SQL editors and Jupyter, driven by clicks and keys.
describe('The person at the keyboard: own authority, history, run all, completion, cells, data files (code-server)', { timeout: 15 * 60_000 }, () => {
  const dir = tmpDir('e2e-human');
  const workspace = path.join(dir, 'workspace');
  const data = path.join(workspace, 'data');
  const notYet = path.join(dir, 'agent-data-not-yet');
  const auditFile = path.join(dir, 'audit.jsonl');
  const wb = new Workbench(dir, workspace);

  const toast = (text: string | RegExp) => wb.page.locator('.notification-toast', { hasText: text }).first();
  const audit = () => fs.readFileSync(auditFile, 'utf8').trim().split('\n').map(l => JSON.parse(l) as { tool: string; caller: string; role: string; outcome: string; input: Record<string, unknown> });
  /** Opens a file (setup, not what is tested). */
  const openFile = async (file: string) => {
    await wb.execCommand('vscode.open', [`file://${file}`]);
    await wb.page.locator('.tab.active', { hasText: path.basename(file) }).first().waitFor();
  };
  const clickEditorAction = async (label: string) => {
    const b = wb.page.locator(`.editor-actions .action-label[aria-label*="${label}"]`).first();
    await b.waitFor();
    await b.click();
  };
  const pane = (title: string) => wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: title }) }).first();
  /** Clicks the Data icon in the activity bar unless the Data view is already showing (a click would close it). */
  const showDataView = async () => {
    if (!(await pane('Data Explorer').isVisible())) await wb.page.locator('.activitybar .action-label[aria-label^="Data"]').first().click();
    await pane('Data Explorer').waitFor();
  };
  const line = (text: string) => wb.page.locator('.editor-instance .monaco-editor .view-line', { hasText: text }).first();

  before(async () => {
    fs.mkdirSync(data, { recursive: true });
    fs.writeFileSync(path.join(data, 'sales.csv'), 'region,amount\nnorth,3\nsouth,1\n');
    fs.writeFileSync(path.join(data, 'clean.py'), 'print("not data")\n');
    fs.writeFileSync(path.join(data, 'notes.txt'), 'not data either\n');
    await wb.start({ 'datatools.role': 'data_scientist', 'datatools.allowedPaths': [data, notYet], 'datatools.auditLog.path': auditFile });
    await wb.page.locator('.statusbar-item', { hasText: 'Data scientist' }).first().waitFor({ timeout: 60_000 });
  }, { timeout: 5 * 60_000 });

  after(async () => { await wb.stop(); });

  test('a data scientist clicks Run Python File: it runs (the person\'s own action), sandboxed and audited as command', async () => {
    const py = path.join(workspace, 'hello.py');
    fs.writeFileSync(py, 'print("hello from a file", 6 * 7)\n');
    await openFile(py);
    await clickEditorAction('Run Python File in Sandbox');
    const view = wb.webview();
    await view.locator('section.stream.stdout pre', { hasText: 'hello from a file 42' }).first().waitFor({ timeout: 90_000 });
    assert.equal(await wb.page.locator('.notification-toast', { hasText: /role|Ask the user/ }).count(), 0, 'no refusal is shown');
    const e = audit().filter(x => x.tool === 'run_script').at(-1)!;
    assert.deepEqual([e.caller, e.role, e.outcome], ['command', 'data_scientist', 'ok']);
    await wb.shot('human-01-run-python-file-as-data-scientist');
  });

  test('a file naming a connection that is not set up: a message for a person, and its Add Connection button starts the wizard', async () => {
    const sql = path.join(workspace, 'elsewhere.sql');
    fs.writeFileSync(sql, '-- connection: warehouse\nSELECT 1 AS x;\n');
    await openFile(sql);
    await clickEditorAction('Run Query');
    const t = toast('names a connection that is not set up');
    await t.waitFor({ timeout: 30_000 });
    assert.match(await t.innerText(), /"-- connection: warehouse" line names a connection that is not set up\. Add it, or run on the active connection \(sample\) instead\./);
    await wb.shot('human-02a-unknown-connection');
    await t.locator('.monaco-button', { hasText: 'Add Connection' }).click();
    // the wizard's first step: paste a URL, or enter the fields one by one
    await wb.page.locator('.quick-input-title', { hasText: 'Add PostgreSQL connection' }).waitFor();
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'one by one' }).waitFor();
    await wb.shot('human-02b-add-connection-wizard');
    await wb.page.keyboard.press('Escape');
    assert.equal(audit().filter(x => x.tool === 'execute_query').length, 0, 'nothing ran on the wrong database');
  });

  test('Query History: two queries are listed; clicking Re-run on the first runs it again and opens its result', async () => {
    for (const [name, sql] of [['one.sql', 'SELECT 1 AS first_col;\n'], ['two.sql', "SELECT 'b' AS second_col, 2 AS n;\n"]]) {
      const f = path.join(workspace, name);
      fs.writeFileSync(f, sql);
      await openFile(f);
      await clickEditorAction('Run Query');
      await wb.webview().locator('.hname', { hasText: name === 'one.sql' ? 'first_col' : 'second_col' }).first().waitFor({ timeout: 60_000 });
    }
    await showDataView();
    const history = pane('Query History');
    const header = history.locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const rows = history.locator('.monaco-list-row');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    assert.match(await rows.nth(0).innerText(), /SELECT 'b' AS second_col, 2 AS n[\s\S]*sample · 1 row/);
    assert.match(await rows.nth(1).innerText(), /SELECT 1 AS first_col[\s\S]*sample · 1 row/);
    await wb.shot('human-03a-history');
    // a click on the first query reopens its result (it is still in memory)
    await rows.nth(1).click();
    await wb.webview().locator('.hname', { hasText: 'first_col' }).first().waitFor({ timeout: 30_000 });
    await wb.shot('human-03b-history-reopened');
    const before = audit().filter(x => x.tool === 'execute_query').length;
    assert.equal(before, 2, 'reopening ran nothing');
    // the inline Re-run button runs it again: a third entry, on top
    await rows.nth(1).hover();
    await rows.nth(1).locator('.action-label[aria-label="Re-run"]').click();
    await history.locator('.monaco-list-row').nth(2).waitFor({ timeout: 60_000 });
    assert.match(await history.locator('.monaco-list-row').nth(0).innerText(), /SELECT 1 AS first_col/);
    assert.equal(audit().filter(x => x.tool === 'execute_query').length, 3);
    assert.equal(audit().filter(x => x.tool === 'execute_query').at(-1)!.input.query, 'SELECT 1 AS first_col');
    await wb.webview().locator('.hname', { hasText: 'first_col' }).first().waitFor({ timeout: 30_000 });
    await wb.shot('human-03c-history-rerun');
  });

  test('Run All Statements runs each statement into its own run and stops at the first error, saying which', async () => {
    const f = path.join(workspace, 'all.sql');
    fs.writeFileSync(f, "SELECT 10 AS a;\nSELECT nosuchcol FROM users;\nSELECT 30 AS c;\n");
    await openFile(f);
    const before = audit().filter(x => x.tool === 'execute_query').length;
    await clickEditorAction('Run All Statements');
    const t = toast('failed, so');
    await t.waitFor({ timeout: 60_000 });
    assert.match(await t.innerText(), /Statement 2 of 3 \(line 2\) failed, so the last one was not run: PostgreSQL ERROR 42703: column "nosuchcol" does not exist/);
    const runs = audit().filter(x => x.tool === 'execute_query').slice(before);
    assert.deepEqual(runs.map(x => [x.input.query, x.outcome]), [['SELECT 10 AS a', 'ok'], ['SELECT nosuchcol FROM users', 'error']]);
    // the server's error position is a squiggle under the column name (back in the file: the result may cover it)
    await wb.page.locator('.tab', { hasText: 'all.sql' }).first().click();
    const squiggle = wb.page.locator('.editor-instance .monaco-editor .squiggly-error');
    await squiggle.first().waitFor({ timeout: 10_000 }).catch(async e => { await wb.shot('human-04x-no-squiggle'); throw e; });
    await wb.shot('human-04-run-all-stops-at-error');
  });

  test('completion: Ctrl+Space after "u." lists the columns of users; a typo run shows a squiggle that an edit clears', async () => {
    const f = path.join(workspace, 'complete.sql');
    fs.writeFileSync(f, 'SELECT  FROM users u;\n');
    await openFile(f);
    await line('FROM users u').click();
    await wb.page.keyboard.press('Home');
    for (let i = 0; i < 'SELECT '.length; i++) await wb.page.keyboard.press('ArrowRight');
    await wb.page.keyboard.type('u.');
    await wb.page.keyboard.press('Control+Space');
    const suggest = wb.page.locator('.suggest-widget.visible');
    await suggest.locator('.monaco-list-row', { hasText: 'email' }).first().waitFor({ timeout: 30_000 });
    const labels = await suggest.locator('.monaco-list-row .label-name').allInnerTexts();
    for (const c of ['id', 'name', 'email', 'country', 'plan', 'signup_date', 'is_active']) assert.ok(labels.includes(c), `${c} in ${labels.join(', ')}`);
    await wb.shot('human-05a-completion-columns');
    // choosing one inserts it
    await suggest.locator('.monaco-list-row', { hasText: 'email' }).first().click();
    await line('SELECT u.email FROM users u').waitFor();
    // after SELECT, with the FROM table known, columns are offered too
    await wb.page.keyboard.type(', ');
    await wb.page.keyboard.press('Control+Space');
    await suggest.locator('.monaco-list-row', { hasText: 'signup_date' }).first().waitFor({ timeout: 30_000 });
    await wb.page.keyboard.press('Escape');
    // a typo: the squiggle sits on it
    const typo = path.join(workspace, 'typo.sql');
    fs.writeFileSync(typo, 'SELECT id,\n       nmae\nFROM users;\n');
    await openFile(typo);
    await clickEditorAction('Run Query');
    await wb.webview().locator('text=column "nmae" does not exist').first().waitFor({ timeout: 60_000 });
    await wb.page.locator('.tab', { hasText: 'typo.sql' }).first().click();
    const squiggle = wb.page.locator('.editor-instance .monaco-editor .squiggly-error');
    await squiggle.first().waitFor({ timeout: 30_000 });
    const box = await squiggle.first().boundingBox();
    const word = await line('nmae').boundingBox();
    assert.ok(box && word && Math.abs(box.y - word.y) < word.height, 'the squiggle is on the line of the typo');
    // the person points at the squiggle (the text layer above it takes the pointer: move the mouse there)
    await wb.page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
    await wb.page.locator('.monaco-hover', { hasText: 'column "nmae" does not exist' }).first().waitFor({ timeout: 10_000 });
    await wb.shot('human-05b-error-squiggle');
    await wb.page.keyboard.press('Escape');
    // the person fixes the word: the squiggle goes with the edit
    await line('nmae').click();
    await wb.page.keyboard.press('End');
    await wb.page.keyboard.press('Control+Shift+ArrowLeft');
    await wb.page.keyboard.type('name');
    await squiggle.first().waitFor({ state: 'detached', timeout: 10_000 });
    await clickEditorAction('Run Query');
    await wb.webview().locator('.hname', { hasText: /^name$/ }).first().waitFor({ timeout: 60_000 });
    assert.equal(await squiggle.count(), 0);
    await wb.shot('human-05c-fixed');
  });

  test('# %% cells: clicking the CodeLenses of the second cell runs the cells above, then the cell; Shift+Enter runs a line', async () => {
    const f = path.join(workspace, 'cells.py');
    fs.writeFileSync(f, '# %%\nx = 20\nprint("cell one", x)\n\n# %%\nprint("cell two", x + 1)\n\nprint("line", x * 2)\n');
    await openFile(f);
    const lenses = wb.page.locator('.editor-instance .codelens-decoration a');
    await lenses.filter({ hasText: 'Run Above' }).first().waitFor({ timeout: 30_000 });
    assert.deepEqual(await lenses.allInnerTexts(), ['Run Cell in Sandbox', 'Run Cell in Sandbox', 'Run Above']);
    await wb.shot('human-06a-cell-lenses');
    await lenses.filter({ hasText: 'Run Above' }).first().click();
    const view = wb.webview();
    await view.locator('section.stream.stdout pre', { hasText: 'cell one 20' }).first().waitFor({ timeout: 90_000 });
    await wb.page.locator('.tab', { hasText: 'cells.py' }).first().click();
    await lenses.nth(1).click();
    await view.locator('section.stream.stdout pre', { hasText: 'cell two 21' }).first().waitFor({ timeout: 90_000 });
    await wb.shot('human-06b-second-cell');
    await wb.page.locator('.tab', { hasText: 'cells.py' }).first().click();
    await line('print("line"').click();
    await wb.page.keyboard.press('Shift+Enter');
    // only that line ran (the cell's output had "line 40" too: the new result holds nothing else)
    await view.locator('section.stream.stdout pre', { hasText: /^line 40\s*$/ }).first().waitFor({ timeout: 90_000 });
    const code = audit().filter(x => x.tool === 'execute_code').map(x => [x.input.code, x.caller]);
    assert.deepEqual(code.slice(-3), [['x = 20\nprint("cell one", x)\n', 'command'], ['print("cell two", x + 1)\n\nprint("line", x * 2)\n', 'command'], ['print("line", x * 2)', 'command']]);
    await wb.shot('human-06c-shift-enter');
  });

  test('Data files: roots by name (full path in the tooltip), data files only, and a missing root offered to create', async () => {
    await showDataView();
    const ex = pane('Data Explorer');
    const row = (t: string | RegExp) => ex.locator('.monaco-list-row', { hasText: t }).first();
    await row('Data files').click();
    await row(/^data$/).waitFor();
    const missing = row('agent-data-not-yet');
    await missing.waitFor();
    assert.match(await missing.innerText(), /not created yet/);
    assert.equal(await ex.locator('.monaco-list-row', { hasText: dir }).count(), 0, 'no absolute path as a label');
    await row(/^data$/).click();
    await row('sales.csv').waitFor();
    assert.equal(await row('clean.py').count(), 0, '.py is not a data file');
    assert.equal(await row('notes.txt').count(), 0);
    await wb.shot('human-07a-data-files');
    await missing.click();
    await row('agent-data-not-yet').locator('.monaco-icon-description-container', { hasText: 'not created yet' }).waitFor({ state: 'detached', timeout: 10_000 });
    assert.ok(fs.existsSync(notYet), 'the click created the folder');
    // "Show All Files" in the view's "..." menu lists the rest
    await ex.locator('.pane-header').first().hover();
    await ex.locator('.pane-header .action-label[aria-label="More Actions..."]').first().click();
    await wb.page.locator('.monaco-menu .action-item', { hasText: 'Show All Files' }).first().click();
    await row('clean.py').waitFor({ timeout: 10_000 });
    await wb.shot('human-07b-all-files');
  });
});

// Issue 16, first run: the walkthrough, and @data in a VS Code without any language model (no Copilot).
describe('First run without a language model: the walkthrough and @data\'s own message (code-server)', { timeout: 10 * 60_000 }, () => {
  const dir = tmpDir('e2e-nomodel');
  const workspace = path.join(dir, 'workspace');
  const wb = new Workbench(dir, workspace);

  before(async () => {
    fs.mkdirSync(workspace, { recursive: true });
    await wb.start({ 'datatools.allowedPaths': [workspace], 'datatools.auditLog.path': path.join(dir, 'audit.jsonl') }, { DT_E2E_NO_MODEL: '1' });
    await wb.page.locator('.statusbar-item', { hasText: 'Data scientist' }).first().waitFor({ timeout: 60_000 });
  }, { timeout: 5 * 60_000 });

  after(async () => { await wb.stop(); });

  test('the walkthrough opens from Welcome: Open Walkthrough, and its "Preview users" step shows the sample table', async () => {
    await wb.runCommand('Welcome: Open Walkthrough...');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Get Started with Data Tools' }).first().click();
    const step = (t: string) => wb.page.locator('.getting-started-step', { hasText: t }).first();
    await step('Open the Data view').waitFor({ timeout: 30_000 });
    await wb.shot('human-08a-walkthrough');
    await step('Preview a sample table').click();
    await wb.page.locator('.getting-started-step.expanded a, .getting-started-step.expanded .button-link', { hasText: 'Preview users' }).first().click();
    await wb.webview().locator('.hname', { hasText: /^email$/ }).first().waitFor({ timeout: 90_000 });
    await wb.shot('human-08b-walkthrough-preview');
  });

  test('@data with no language model says what to install or sign into, at once, with a button', async () => {
    const started = Date.now();
    await wb.chat('@data what tables are in the sample database?');
    const answer = wb.page.locator('.interactive-item-container', { hasText: 'needs a language model' }).last();
    await answer.waitFor({ timeout: 30_000 }).catch(async e => { await wb.shot('human-09x-no-answer'); throw e; });
    console.log(`# the no-model message came ${Date.now() - started} ms after sending (informational)`);
    assert.match(await answer.innerText(), /Sign in to GitHub Copilot/);
    assert.equal(await wb.page.getByText('Language model unavailable').count(), 0, 'not VS Code\'s bare message');
    const button = answer.locator('.monaco-button, a', { hasText: 'Install GitHub Copilot Chat' }).first();
    await button.waitFor();
    await wb.shot('human-09a-no-model-message');
    await button.click();
    const search = wb.page.locator('.extensions-viewlet .suggest-input-container, .extensions-viewlet .monaco-editor').first();
    await search.waitFor({ timeout: 30_000 });
    assert.match((await search.innerText()).replace(/\s+/g, ' '), /GitHub Copilot Chat/, 'the extension search holds what the button asked for');
    await wb.shot('human-09b-extensions-search');
  });
});
