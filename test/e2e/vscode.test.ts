import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/mcp';
import { Workbench } from './workbench';

const ML_TOOLS = ['describe_table', 'execute_code', 'execute_query', 'get_environment', 'get_schema', 'get_table_sample',
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
    assert.match(c.text ?? '', /columns: a int64, b string/);
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
});
