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
    await wb.shot('02-role-switched');
  });
});
