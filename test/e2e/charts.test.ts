import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpDir } from '../helpers/mcp';
import { Workbench } from './workbench';

// Issue 16: Run Python File with plt.show() showed no chart (only Run Selection did). Driven by clicks and keys.
describe('Charts from Run Python File in Sandbox (code-server, clicks and keys)', { timeout: 10 * 60_000 }, () => {
  const dir = tmpDir('e2e-charts');
  const workspace = path.join(dir, 'workspace');
  const data = path.join(dir, 'data');
  const wb = new Workbench(dir, workspace);

  before(async () => {
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(workspace, { recursive: true });
    await wb.start({ 'datatools.role': 'data_engineer', 'datatools.allowedPaths': [data], 'datatools.auditLog.path': path.join(dir, 'audit.jsonl') });
  }, { timeout: 5 * 60_000 });

  after(async () => { await wb.stop(); });

  test('a script that ends with plt.show(): the chart appears in the result view after the person clicks Run Python File', async () => {
    await wb.page.locator('.statusbar-item', { hasText: 'Data engineer' }).first().waitFor({ timeout: 60_000 });
    const py = path.join(workspace, 'chart.py');
    fs.writeFileSync(py, 'import matplotlib.pyplot as plt\nplt.figure(figsize=(5, 3), dpi=80)\nplt.bar(["north", "south", "east"], [3, 1, 2])\nplt.title("sales by region")\nprint("plotted")\nplt.show()\n');
    // the person opens the file with Quick Open and clicks the editor's Run Python File button
    await wb.page.locator('.part.statusbar').click({ position: { x: 3, y: 3 } });
    await wb.page.keyboard.press('Control+P');
    const input = wb.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill('chart.py');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'chart.py' }).first().waitFor();
    await wb.page.keyboard.press('Enter');
    await wb.page.locator('.tab', { hasText: 'chart.py' }).first().waitFor();
    const run = wb.page.locator('.editor-actions .action-label[aria-label*="Run Python File in Sandbox"]').first();
    await run.waitFor();
    await run.click();
    const view = wb.webview();
    const img = view.locator('section.image img');
    await img.waitFor({ timeout: 90_000 });
    const size = await img.evaluate(e => [(e as HTMLImageElement).naturalWidth, (e as HTMLImageElement).naturalHeight]);
    assert.deepEqual(size, [400, 240], 'the PNG of the 5×3 in, 80 dpi figure decoded');
    assert.match(await view.locator('section.stream.stdout pre').innerText(), /plotted/);
    await wb.shot('charts-01-run-python-file-plt-show');
  });
});
