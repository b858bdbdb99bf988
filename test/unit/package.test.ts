import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../helpers/mcp';

test('the .vsix holds only what the extension needs: no tests, sources, source maps or node_modules', () => {
  const vsix = path.join(ROOT, 'datatools.vsix');
  assert.ok(fs.existsSync(vsix), `${vsix} is missing: npm test runs "npm run package" first`);
  const listing = execFileSync('python3', ['-c', 'import sys,zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', vsix], { encoding: 'utf8' });
  const files = listing.trim().split('\n').filter(f => f.startsWith('extension/')).map(f => f.slice('extension/'.length));
  for (const f of files) {
    assert.doesNotMatch(f, /^(src|test|out|bench|scripts|webview|\.ci|node_modules)\//, `${f} must not be packaged`);
    assert.doesNotMatch(f, /\.(map|ts)$/, `${f} must not be packaged`);
    assert.doesNotMatch(f, /(^|\/)node_modules\//, `${f}: no node_modules`);
  }
  for (const needed of ['package.json', 'dist/extension.js', 'dist/mcp.js', 'dist/webview.js', 'media/icon.svg', 'readme.md', 'LICENSE.txt']) {
    assert.ok(files.some(f => f.toLowerCase() === needed.toLowerCase()), `${needed} is packaged (got ${files.join(', ')})`);
  }
});
