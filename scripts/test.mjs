// npm test: install what is missing (.ci/setup), build and package the extension, compile the tests, then run
// every test with Node's test runner.
//   node scripts/test.mjs [--only unit|e2e] [file filters...]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const filters = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--only');

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...opts });
  if (r.status !== 0) { console.error(`\n${cmd} ${argv.join(' ')} failed (exit ${r.status ?? r.signal})`); process.exit(r.status || 1); }
}

// apt packages and npm ci, only what is missing (fast when nothing is)
run('bash', [path.join('.ci', 'setup')]);

if (!process.env.DATATOOLS_SKIP_BUILD) {
  run('npm', ['run', '--silent', 'package']);
  fs.rmSync('out', { recursive: true, force: true });
  run('npx', ['tsc', '-p', '.']);
}

const files = [];
const walk = d => {
  if (!fs.existsSync(d)) return;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p); else if (e.name.endsWith('.test.js')) files.push(p);
  }
};
for (const kind of ['unit', 'e2e']) if (!only || only === kind) walk(path.join('out', 'test', kind));
const selected = filters.length ? files.filter(f => filters.some(x => f.includes(x))) : files;
if (!selected.length) { console.error('no test files selected'); process.exit(1); }
// e2e drives a real VS Code and is slow: it runs after the unit tests, in its own runner process
const unit = selected.filter(f => !f.includes(`${path.sep}e2e${path.sep}`));
const e2e = selected.filter(f => f.includes(`${path.sep}e2e${path.sep}`));
// The end-to-end tests need a real VS Code: install it (once, into its cache) before any test starts, so a
// failed install is reported as such and does not race the unit tests for the machine's two cores.
if (e2e.length) {
  const { setupVsCode } = await import('./vscode-server.mjs');
  try { setupVsCode(); } catch (e) { console.error(`\n${e.message}`); process.exit(1); }
}
let failed = false;
const counts = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dt-counts-')), 'counts.jsonl');
const node = (list, concurrency) => {
  if (!list.length) return;
  const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${path.join(root, 'scripts', 'count-reporter.mjs')}`, '--test-reporter-destination=/dev/null', ...list],
  { stdio: 'inherit', env: { ...process.env, DATATOOLS_TEST_COUNTS: counts } });
  if (r.status !== 0) failed = true;
};
node(unit, 2);
// one VS Code and one browser at a time: two at once on a 2-core machine make both slow and flaky
node(e2e, 1);
const total = { passed: 0, failed: 0, skipped: 0 };
for (const line of (fs.existsSync(counts) ? fs.readFileSync(counts, 'utf8') : '').split('\n').filter(Boolean)) {
  const c = JSON.parse(line);
  for (const k of Object.keys(total)) total[k] += c[k];
}
console.log(`\nTotal (unit + e2e): ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(failed || total.failed ? 1 : 0);
