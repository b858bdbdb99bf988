// A second reporter for `npm test`: counts tests (not suites) into the file named by DATATOOLS_TEST_COUNTS, so the
// unit and end-to-end runs (two runner processes) end with one total.
import fs from 'node:fs';

export default async function* countReporter(source) {
  const c = { passed: 0, failed: 0, skipped: 0 };
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    if (ev.data.details?.type === 'suite') continue;
    if (ev.data.skip || ev.data.todo) c.skipped++;
    else if (ev.type === 'test:pass') c.passed++;
    else c.failed++;
  }
  const f = process.env.DATATOOLS_TEST_COUNTS;
  if (f) fs.appendFileSync(f, JSON.stringify(c) + '\n');
  yield '';
}
