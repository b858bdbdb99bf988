import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { languageModelToolsContribution } from '../../src/core/manifest';
import { CATALOG } from '../../src/core/catalog';
import { ROOT } from '../helpers/mcp';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('package.json languageModelTools equal the catalog (run "npm run gen:manifest" after changing a tool)', () => {
  assert.deepEqual(pkg.contributes.languageModelTools, languageModelToolsContribution());
});

test('every tool has a #reference name, a when clause and a strict object schema', () => {
  for (const t of pkg.contributes.languageModelTools) {
    assert.equal(t.toolReferenceName, t.name);
    assert.equal(t.when, `datatools.tool.${t.name}`);
    assert.equal(t.inputSchema.type, 'object');
    assert.equal(t.inputSchema.additionalProperties, false, `${t.name} refuses unknown fields`);
  }
  assert.equal(pkg.contributes.languageModelTools.length, CATALOG.length);
});

test('tools that run code, install or write ask for confirmation; nothing else does', () => {
  const confirming = CATALOG.filter(t => t.confirm).map(t => t.name).sort();
  assert.deepEqual(confirming, ['execute_code', 'install_package', 'run_script', 'write_file']);
});

test('src/core never imports vscode', () => {
  const offenders: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ts$/.test(e.name) && /(from\s+|require\()\s*['"]vscode['"]/.test(fs.readFileSync(p, 'utf8'))) offenders.push(p);
    }
  };
  walk(path.join(ROOT, 'src', 'core'));
  walk(path.join(ROOT, 'src', 'mcp'));
  assert.deepEqual(offenders, []);
});
