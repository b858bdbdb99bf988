// Writes contributes.languageModelTools in package.json from the tool catalog (src/core/catalog.ts).
//   node scripts/gen-manifest.mjs          rewrite package.json
//   node scripts/gen-manifest.mjs --check  exit 1 if package.json is out of date
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'out', 'gen-manifest.cjs');
await esbuild.build({ entryPoints: [path.join(root, 'src/core/manifest.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'error', packages: 'external' });
const tools = createRequire(import.meta.url)(out).languageModelToolsContribution();
const file = path.join(root, 'package.json');
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
if (process.argv.includes('--check')) {
  const same = JSON.stringify(pkg.contributes.languageModelTools) === JSON.stringify(tools);
  console.log(same ? 'package.json languageModelTools match the catalog' : 'package.json languageModelTools differ from the catalog: run npm run gen:manifest');
  process.exit(same ? 0 : 1);
}
pkg.contributes.languageModelTools = tools;
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
console.log(`wrote ${tools.length} languageModelTools to package.json`);
