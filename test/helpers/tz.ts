import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** The host time zones every value test also runs under. */
export const ZONES = ['Asia/Tokyo', 'America/New_York'] as const;

/** True inside the child run that runTestFileUnderZones starts. */
export const IN_TZ_CHILD = !!process.env.DT_TZ_CHILD;

/** Runs a test file again in a child process under each of ZONES (TZ set, DT_TZ_CHILD=1) and fails when the
 *  child does; `check` reads the child's output (e.g. that it ran its corpus). With `runnerArgs` it runs with
 *  `node --test ...runnerArgs` (its TAP summary; e.g. a --test-name-pattern), else as a plain script.
 *  NODE_TEST_CONTEXT is removed: else the child reports to this runner instead of its stdout. */
export function runTestFileUnderZones(file: string, check: (stdout: string, tz: string) => void, runnerArgs?: string[]): void {
  for (const tz of ZONES) {
    const env: NodeJS.ProcessEnv = { ...process.env, TZ: tz, DT_TZ_CHILD: '1' };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, runnerArgs ? ['--test', ...runnerArgs, file] : [file], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
    check(r.stdout, tz);
    assert.equal(r.status, 0, `under TZ=${tz}:\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`);
  }
}

/** The corpus tests' check: the child printed its "[TZ=zone] ..." summary line, which is echoed here. */
export function printsZoneSummary(stdout: string, tz: string): void {
  const summary = /\[TZ=[^\]]*\][^\n]*/.exec(stdout)?.[0];
  assert.ok(summary, `no summary from the run under TZ=${tz}:\n${stdout.slice(-3000)}`);
  assert.match(summary, new RegExp(`^\\[TZ=${tz}\\]`));
  console.log(summary);
}
