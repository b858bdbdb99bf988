// Bundles the extension host code, the MCP server and the webview into dist/.
//   node esbuild.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import fs from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const pkg = JSON.parse(fs.readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

// DuckDB's native binding (@duckdb/node-bindings-<platform>-<arch>/duckdb.node, with libduckdb next to it) is
// loaded at run time from dist/duckdb/, copied there below: the bundle's require of it stays a require
const duckdbNative = {
  name: 'duckdb-native',
  setup(b) {
    b.onResolve({ filter: /^@duckdb\/node-bindings-[^/]+\/duckdb\.node$/ }, () => ({ path: './duckdb/duckdb.node', external: true }));
  },
};

const node = {
  plugins: [duckdbNative],
  bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: !production, minify: production,
  logLevel: 'warning', define: { DATATOOLS_VERSION: JSON.stringify(pkg.version) },
  // pg's optional native binding is never used
  external: ['vscode', 'pg-native'],
};
// ESM dependencies (PGlite) locate their files through import.meta.url, which a CJS bundle must provide
node.define = { ...node.define, 'import.meta.url': '__datatools_import_meta_url' };
node.banner = { js: "var __datatools_import_meta_url = require('url').pathToFileURL(__filename).href;" };

const builds = [
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/mcp/main.ts'], outfile: 'dist/mcp.js', banner: { js: `#!/usr/bin/env node\n${node.banner.js}` } },
  { ...node, entryPoints: ['src/core/db/pgliteWorker.ts'], outfile: 'dist/pglite-worker.js' },
  { bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: !production, minify: production,
    logLevel: 'warning', entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' },
];

fs.rmSync('dist', { recursive: true, force: true });
fs.mkdirSync('dist', { recursive: true });
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map(b => esbuild.build(b)));
  fs.chmodSync('dist/mcp.js', 0o755);
}
// WebAssembly and data files that the bundles load from their own folder
for (const f of ['node_modules/libpg-query/wasm/libpg-query.wasm', 'node_modules/@electric-sql/pglite/dist/pglite.wasm',
  'node_modules/@electric-sql/pglite/dist/pglite.data', 'node_modules/@electric-sql/pglite/dist/initdb.wasm']) {
  fs.copyFileSync(f, `dist/${f.split('/').pop()}`);
}
// the native DuckDB engine of this platform (the .node file finds libduckdb through its $ORIGIN run path)
const duckNative = `node_modules/@duckdb/node-bindings-${process.platform}-${process.arch}`;
if (fs.existsSync(duckNative)) {
  fs.mkdirSync('dist/duckdb', { recursive: true });
  for (const f of fs.readdirSync(duckNative)) if (/\.(node|so|dylib|dll)$/.test(f)) fs.copyFileSync(`${duckNative}/${f}`, `dist/duckdb/${f}`);
}
fs.mkdirSync('dist/sandbox', { recursive: true });
fs.copyFileSync('src/core/exec/python/kernel.py', 'dist/sandbox/kernel.py');
fs.copyFileSync('src/core/exec/python/rootwrap.py', 'dist/sandbox/rootwrap.py');
