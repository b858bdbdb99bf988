import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/mcp';
import { Workbench } from './workbench';
import { psql, startPostgres, type PgCluster } from '../helpers/pg';

// Issue 27 (items 3-5 and smaller ones): what a person met, driven by clicks and keys in code-server.
describe('Issue 27: /run, Add Connection, a quiet Runs view, roles and messages (code-server)', { timeout: 15 * 60_000 }, () => {
  const dir = tmpDir('e2e-i27');
  const workspace = path.join(dir, 'workspace');
  const data = path.join(workspace, 'data');
  const auditFile = path.join(dir, 'audit.jsonl');
  const wb = new Workbench(dir, workspace);
  let pg: PgCluster;

  const toast = (text: string | RegExp) => wb.page.locator('.notification-toast', { hasText: text }).first();
  const audit = () => { try { return fs.readFileSync(auditFile, 'utf8').trim().split('\n').filter(Boolean).map(l => JSON.parse(l) as { tool: string; caller: string; outcome: string; input: Record<string, unknown> }); } catch { return []; } };
  const settingsText = () => ['User', 'Machine'].map(s => { try { return fs.readFileSync(path.join(dir, 'user-data', s, 'settings.json'), 'utf8'); } catch { return ''; } }).join('\n');
  const pane = (title: string) => wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: title }) }).first();
  const treeRow = (text: string | RegExp) => pane('Data Explorer').locator('.monaco-list-row', { hasText: text }).first();
  const showDataView = async () => {
    if (!(await pane('Data Explorer').isVisible())) await wb.page.locator('.activitybar .action-label[aria-label^="Data"]').first().click();
    await pane('Data Explorer').waitFor();
  };
  const quick = () => wb.page.locator('.quick-input-widget');
  const quickInput = () => quick().locator('input').first();
  const closeToasts = async () => {
    for (const b of await wb.page.locator('.notification-toast .codicon-notifications-clear').all()) await b.click().catch(() => undefined);
  };
  const readCsvRuns = () => audit().filter(e => e.tool === 'read_csv' || e.tool === 'read_parquet').length;
  /** The Data Tools output channel as VS Code writes it to its log folder. */
  const outputLog = () => {
    const found: string[] = [];
    const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (e.name === 'Data Tools.log') found.push(p); } };
    try { walk(path.join(dir, 'user-data', 'logs')); } catch { /* none yet */ }
    return found.map(f => fs.readFileSync(f, 'utf8')).join('\n');
  };

  before(async () => {
    fs.mkdirSync(data, { recursive: true });
    fs.writeFileSync(path.join(data, 'sales.csv'), 'region,amount\nnorth,3\nsouth,1\n');
    fs.writeFileSync(path.join(workspace, 'analysis.py'), 'print("FROM THE WHOLE FILE")\n');
    pg = await startPostgres();
    psql(pg.adminUrl, "CREATE TABLE kpis (k text, v int); INSERT INTO kpis VALUES ('a', 1); CREATE ROLE reader LOGIN PASSWORD 'pw-url-secret'; GRANT SELECT ON kpis TO reader; CREATE ROLE strict LOGIN PASSWORD 'right-one';");
    // the cluster trusts every local login: the user "strict" must give its password (scram), so a wrong one fails
    const hba = path.join(pg.dataDir, 'pg_hba.conf');
    fs.writeFileSync(hba, `host all strict 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(hba, 'utf8')}`);
    psql(pg.adminUrl, 'SELECT pg_reload_conf()');
    await wb.start({ 'datatools.role': 'ml_engineer', 'datatools.allowedPaths': [data], 'datatools.auditLog.path': auditFile });
    await wb.page.locator('.statusbar-item', { hasText: 'ML engineer' }).first().waitFor({ timeout: 60_000 });
  }, { timeout: 5 * 60_000 });

  after(async () => { await wb.stop(); pg?.stop(); });

  test('a CSV open in the grid is read once: a click on "Open in Data Grid" records one read_csv run', async () => {
    await wb.execCommand('vscode.open', [`file://${path.join(data, 'sales.csv')}`]);
    await wb.page.locator('.tab.active', { hasText: 'sales.csv' }).first().waitFor();
    await wb.page.locator('.editor-actions .action-label[aria-label*="Open in Data Grid"]').first().click();
    await wb.page.frameLocator('iframe.webview.ready').last().frameLocator('iframe').locator('.hname', { hasText: /^region$/ }).first().waitFor({ timeout: 60_000 });
    assert.equal(readCsvRuns(), 1);
    await wb.shot('i27-01-csv-in-grid');
  });

  test('Select Role: each role says what agents may do; picking one switches the status bar and the output channel logs it', async () => {
    await wb.runCommand('Data Tools: Select Role');
    await quick().locator('.quick-input-list .monaco-list-row', { hasText: 'Data engineer' }).first().waitFor();
    const list = await quick().locator('.quick-input-list').innerText();
    assert.match(list, /Data scientist[\s\S]*Agents may not write files or run Python files; they may query databases, read data files, run Python code, install Python packages/);
    assert.match(list, /Data engineer[\s\S]*Agents may not install Python packages; they may .*write files, run Python files/);
    assert.match(list, /ML engineer[\s\S]*current/);
    await wb.shot('i27-02a-select-role-details');
    await quickInput().fill('Data engineer');
    await quickInput().press('Enter');
    await wb.page.locator('.statusbar-item', { hasText: 'Data engineer' }).first().waitFor();
    for (const end = Date.now() + 10_000; !/Role changed from ml_engineer to data_engineer/.test(outputLog()) && Date.now() < end;) await new Promise(r => setTimeout(r, 300));
    assert.match(outputLog(), /Role changed from ml_engineer to data_engineer/);
    await wb.shot('i27-02b-role-switched');
  });

  test('@data /run with Skip in the confirmation says "skipped, nothing ran", not "execute_code failed"', async () => {
    await wb.execCommand('vscode.open', [`file://${path.join(workspace, 'analysis.py')}`]);
    await wb.page.locator('.tab.active', { hasText: 'analysis.py' }).first().waitFor();
    const before = audit().filter(x => x.tool === 'execute_code').length;
    await wb.chat('@data /run print(7*8)');
    const session = wb.page.locator('.interactive-session');
    const skip = session.getByRole('button', { name: /^Skip\b/ }).last();
    await skip.waitFor({ timeout: 60_000 }).catch(async e => { await wb.shot('i27-04x-no-skip'); throw e; });
    await skip.click();
    const answer = session.locator('.interactive-item-container', { hasText: /Skipped, nothing ran/ }).last();
    await answer.waitFor({ timeout: 60_000 }).catch(async e => { await wb.shot('i27-04x-no-skip-text'); throw e; });
    const text = await answer.innerText();
    assert.doesNotMatch(text, /failed/);
    assert.doesNotMatch(text, /\b56\b/);
    assert.equal(audit().filter(x => x.tool === 'execute_code').length, before, 'nothing ran');
    await wb.shot('i27-04-run-skipped');
  });

  test('@data /run print(6*7) with analysis.py open runs exactly the typed code after the confirmation: 42, not the file', async () => {
    await wb.execCommand('vscode.open', [`file://${path.join(workspace, 'analysis.py')}`]);
    await wb.page.locator('.tab.active', { hasText: 'analysis.py' }).first().waitFor();
    await wb.chat('@data /run print(6*7)');
    const session = wb.page.locator('.interactive-session');
    const allow = session.getByRole('button', { name: /^(Allow|Continue|Run)\b/ }).first();
    await allow.waitFor({ timeout: 60_000 }).catch(async e => { await wb.shot('i27-03x-no-confirm'); throw e; });
    const confirm = await session.innerText();
    assert.match(confirm, /print\(6\*7\)/, 'the confirmation shows the typed code');
    assert.doesNotMatch(confirm, /FROM THE WHOLE FILE/);
    await wb.shot('i27-03a-run-confirm');
    await allow.click();
    // the output is a code block (a Monaco editor in the answer)
    const answer = session.locator('.interactive-item-container .view-line', { hasText: /^42$/ }).last();
    await answer.waitFor({ timeout: 90_000 }).catch(async e => { await wb.shot('i27-03x-no-42'); throw e; });
    assert.doesNotMatch(await session.innerText(), /FROM THE WHOLE FILE/);
    const e = audit().filter(x => x.tool === 'execute_code').at(-1)!;
    assert.equal(e.input.code, 'print(6*7)');
    await wb.shot('i27-03b-run-42');
  });

  test('Add Connection: the first step takes a pasted URL with no error shown before typing; the password goes to SecretStorage; the tree shows it at once', async () => {
    await showDataView();
    await wb.runCommand('Data Tools: Add Connection');
    await quick().locator('.quick-input-title', { hasText: 'Add PostgreSQL connection' }).waitFor();
    await wb.page.waitForTimeout(400);
    assert.equal(await quick().locator('.monaco-inputbox.error, .quick-input-message .codicon-error').count(), 0, 'no error before the person typed');
    assert.match(await quick().innerText(), /Enter the host, port, database and user one by one/);
    await wb.shot('i27-05a-add-connection-start');
    await quickInput().fill(`postgresql://reader:pw-url-secret@127.0.0.1:${pg.port}/postgres`);
    await quick().locator('.monaco-list-row', { hasText: 'Use this connection URL' }).waitFor();
    assert.match(await quick().innerText(), new RegExp(`reader@127\\.0\\.0\\.1:${pg.port}/postgres`));
    assert.doesNotMatch(await quick().locator('.quick-input-list').innerText(), /pw-url-secret/, 'the password is not shown back');
    await wb.shot('i27-05b-url-recognised');
    await quickInput().press('Enter');
    await quick().locator('.quick-input-title', { hasText: /\(2\/2\): name/ }).waitFor();
    assert.equal(await quickInput().inputValue(), 'postgres', 'the name is suggested from the URL');
    await quickInput().fill('pgurl');
    await quickInput().press('Enter');
    await toast(/Saved pgurl\. Connected to .* as reader/).waitFor({ timeout: 60_000 });
    await treeRow('pgurl').waitFor({ timeout: 10_000 }).catch(async e => { await wb.shot('i27-05x-not-in-tree'); throw e; });
    assert.match(settingsText(), /"pgurl"/);
    assert.doesNotMatch(settingsText(), /pw-url-secret/, 'the password is not in the settings');
    await wb.shot('i27-05c-saved-in-tree');
    await closeToasts();
  });

  test('Add Connection by fields: step 1 shows no error; a URL pasted into Host is offered as a URL; a wrong password is said in a sentence naming the connection', async () => {
    await wb.runCommand('Data Tools: Add Connection');
    await quick().locator('.quick-input-title', { hasText: 'Add PostgreSQL connection' }).waitFor();
    await quick().locator('.monaco-list-row', { hasText: 'one by one' }).click();
    await quick().locator('.quick-input-title', { hasText: /\(1\/7\)/ }).waitFor();
    await wb.page.waitForTimeout(400);
    assert.doesNotMatch(await quick().innerText(), /Use 1 to 64 letters/, 'no error before the person typed');
    await wb.shot('i27-06a-step1-no-error');
    await quickInput().fill('pgbad');
    await quickInput().press('Enter');
    await quick().locator('.quick-input-title', { hasText: /\(2\/7\)/ }).waitFor();
    await quickInput().fill(`postgres://strict:wrong-one@127.0.0.1:${pg.port}/postgres`);
    await quick().getByText(/That is a connection URL .*press Enter to use it/).waitFor();
    await wb.shot('i27-06b-url-in-host');
    await quickInput().press('Enter');
    const failed = toast('Could not connect to pgbad');
    await failed.waitFor({ timeout: 60_000 });
    assert.match(await failed.innerText(), /Could not connect to pgbad: the server refused the password for the user strict\. Check the user and the password\./);
    assert.equal(await failed.locator('.monaco-button', { hasText: 'Edit Connection' }).count(), 1);
    await wb.shot('i27-06c-bad-password');
    // Edit Connection: the fields again, with what was taken from the URL
    await failed.locator('.monaco-button', { hasText: 'Edit Connection' }).click();
    await quick().locator('.quick-input-title', { hasText: /\(1\/7\)/ }).waitFor();
    await quickInput().press('Enter');
    await quick().locator('.quick-input-title', { hasText: /\(2\/7\)/ }).waitFor();
    assert.equal(await quickInput().inputValue(), '127.0.0.1');
    await quickInput().press('Escape');
    assert.doesNotMatch(settingsText(), /"pgbad"/);
    await closeToasts();
  });

  test('a closed port and an unknown host are said in a sentence naming the connection; Save Anyway saves it, and the output channel logs the failure', async () => {
    await wb.runCommand('Data Tools: Add Connection');
    await quickInput().fill('postgres://reader@no-such-host.invalid:5432/postgres');
    await quick().locator('.monaco-list-row', { hasText: 'Use this connection URL' }).waitFor();
    await quickInput().press('Enter');
    await quick().locator('.quick-input-title', { hasText: /\(2\/2\)/ }).waitFor();
    await quickInput().fill('pgnohost');
    await quickInput().press('Enter');
    const nohost = toast('Could not connect to pgnohost');
    await nohost.waitFor({ timeout: 60_000 });
    assert.match(await nohost.innerText(), /the host name no-such-host\.invalid is not known/);
    await wb.shot('i27-07a-unknown-host');
    await closeToasts();

    await wb.runCommand('Data Tools: Add Connection');
    await quickInput().fill('postgres://reader@127.0.0.1:1/postgres');
    await quick().locator('.monaco-list-row', { hasText: 'Use this connection URL' }).waitFor();
    await quickInput().press('Enter');
    await quick().locator('.quick-input-title', { hasText: /\(2\/2\)/ }).waitFor();
    await quickInput().fill('pgclosed');
    await quickInput().press('Enter');
    const failed = toast('Could not connect to pgclosed');
    await failed.waitFor({ timeout: 60_000 });
    assert.match(await failed.innerText(), /Could not connect to pgclosed: nothing accepts connections at 127\.0\.0\.1 port 1 \(the connection was refused\)\. Check that PostgreSQL is running there and that the host and port are right\./);
    await wb.shot('i27-07b-refused');
    await failed.locator('.monaco-button', { hasText: 'Save Anyway' }).click();
    await treeRow('pgclosed').waitFor({ timeout: 10_000 });
    assert.match(outputLog(), /Connection pgclosed \(reader@127\.0\.0\.1:1\/postgres\) failed: nothing accepts connections/);
    assert.match(outputLog(), /Connection pgnohost .* failed: the host name/);
    await closeToasts();
    // the person reads it in the Output panel
    await wb.runCommand('Output: Show Output Channels');
    await quickInput().fill('Data Tools');
    await quick().locator('.monaco-list-row', { hasText: /^Data Tools/ }).first().waitFor();
    await quickInput().press('Enter');
    await wb.page.locator('.part.panel .view-line', { hasText: 'Connection pgclosed' }).first().waitFor();
    await wb.shot('i27-07c-output-channel');
  });

  test('Remove Connection asks in a modal naming the connection, then says "Removed connection pgclosed" and the tree drops it', async () => {
    await showDataView();
    await wb.runCommand('Data Tools: Remove Connection');
    await quick().locator('.monaco-list-row', { hasText: 'pgclosed' }).first().waitFor();
    await quickInput().fill('pgclosed');
    await quickInput().press('Enter');
    const dialog = wb.page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /Remove the connection pgclosed\?/);
    await wb.shot('i27-08a-remove-confirm');
    await dialog.locator('.monaco-button', { hasText: /^Remove$/ }).click();
    await toast('Removed connection pgclosed').waitFor();
    await treeRow('pgclosed').waitFor({ state: 'detached', timeout: 10_000 });
    assert.doesNotMatch(settingsText(), /"pgclosed"/);
    assert.equal(await treeRow('pgurl').count(), 1, 'the other connection stays');
    await wb.shot('i27-08b-removed');
    await closeToasts();
  });

  test('Clear E2B API Key with no key set says so (not "removed")', async () => {
    await wb.runCommand('Data Tools: Clear E2B API Key');
    const t = toast(/E2B API key/);
    await t.waitFor();
    assert.match(await t.innerText(), /No E2B API key was set, so there was nothing to remove/);
    await wb.shot('i27-09-clear-e2b-none');
    await closeToasts();
  });

  test('Run All Statements: the last statement failing says nothing about "the other 0"', async () => {
    const f = path.join(workspace, 'two.sql');
    fs.writeFileSync(f, 'SELECT 1 AS a;\nSELECT nosuchcol FROM users;\n');
    await wb.execCommand('vscode.open', [`file://${f}`]);
    await wb.page.locator('.tab.active', { hasText: 'two.sql' }).first().waitFor();
    await wb.page.locator('.editor-actions .action-label[aria-label*="Run All Statements"]').first().click();
    const t = toast('Statement 2 of 2 (line 2)');
    await t.waitFor({ timeout: 60_000 });
    assert.match(await t.innerText(), /Statement 2 of 2 \(line 2\) failed: PostgreSQL ERROR 42703/);
    assert.doesNotMatch(await t.innerText(), /other 0|not run/);
    await wb.shot('i27-10-run-all-last-fails');
    await closeToasts();
  });

  test('after a role change and saved and removed connections, the CSV open in the grid was not read again: no new read_csv run', async () => {
    assert.equal(readCsvRuns(), 1, 'one read_csv in the audit log, from the click that opened it');
    await showDataView();
    const runs = pane('Runs');
    if (!(await runs.locator('.monaco-list-row').first().isVisible().catch(() => false))) await runs.locator('.pane-header').click();
    await runs.locator('.monaco-list-row').first().waitFor();
    const labels = await runs.locator('.monaco-list-row').allInnerTexts();
    assert.equal(labels.filter(l => /^read_csv/.test(l)).length, 1, `the Runs view: ${labels.join(' | ')}`);
    await wb.shot('i27-11-runs-view-quiet');
  });
});
