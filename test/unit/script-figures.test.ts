import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ToolHost } from '../../src/core/host';
import { resolveConfig } from '../../src/core/config';
import type { ResultPart } from '../../src/core/result';
import { tmpDir } from '../helpers/mcp';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const pngs = (parts: ResultPart[]) => parts.filter(p => p.kind === 'image').map(p => {
  assert.ok(p.kind === 'image' && p.mimeType === 'image/png');
  return Buffer.from(p.data, 'base64');
});
/** Width and height from the PNG's IHDR chunk. */
const size = (b: Buffer) => [b.readUInt32BE(16), b.readUInt32BE(20)];

describe('run_script brings back the matplotlib figures a script makes (local sandbox, real Python in bubblewrap)', () => {
  const root = tmpDir('fig-root');
  let host: ToolHost;
  const runFile = async (name: string, source: string) => {
    fs.writeFileSync(path.join(root, name), source);
    return host.call('run_script', { script_path: path.join(root, name) }, { caller: 'test' });
  };

  before(() => {
    if (!fs.existsSync('/usr/bin/bwrap')) throw new Error('bubblewrap is missing: apt-get install bubblewrap (bash .ci/setup does)');
    execFileSync('/usr/bin/python3', ['-c', 'import matplotlib']);
    host = new ToolHost(resolveConfig({ role: 'data_engineer', allowedPaths: [root], auditLogPath: path.join(root, '..', `${path.basename(root)}-audit.jsonl`) }));
  });
  after(async () => { await host?.dispose(); });

  test('plt.show() twice: each shown figure comes back as a PNG, in order, and the model is told how many', async () => {
    const r = await runFile('show.py', [
      'import matplotlib.pyplot as plt',
      'plt.figure(figsize=(4, 3), dpi=50)', 'plt.plot([1, 3, 2])', 'plt.show()',
      // after show() the figure is closed, as a window the person closed: the next plot is a new figure
      'plt.figure(figsize=(2, 2), dpi=50)', 'plt.bar(["a", "b"], [1, 2])', 'plt.show()',
      'print("figures open after show:", len(plt.get_fignums()))',
    ].join('\n'));
    assert.equal(r.isError, false, r.text);
    const images = pngs(r.parts);
    assert.equal(images.length, 2, r.text);
    for (const b of images) assert.ok(b.subarray(0, 8).equals(PNG_MAGIC));
    assert.deepEqual(images.map(size), [[200, 150], [100, 100]]);
    assert.match(r.text, /figures open after show: 0/);
    assert.match(r.text, /\[figures\] 2 matplotlib figures captured as PNG/);
    // show() on this backend is not the non-interactive Agg one: no "cannot be shown" warning
    assert.doesNotMatch(r.text, /non-interactive|cannot be shown/);
  });

  test('a figure left open at exit (no show, even with an explicit Agg backend) comes back; so does one from a failing script', async () => {
    const open = await runFile('open.py', 'import matplotlib\nmatplotlib.use("Agg")\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2), dpi=40)\nax.plot([0, 1])\n');
    assert.equal(open.isError, false, open.text);
    const [png] = pngs(open.parts);
    assert.ok(png?.subarray(0, 8).equals(PNG_MAGIC), open.text);
    assert.deepEqual(size(png), [120, 80]);
    assert.match(open.text, /\[figures\] 1 matplotlib figure captured/);

    const failing = await runFile('fail.py', 'import matplotlib.pyplot as plt\nplt.plot([1, 2])\nraise ValueError("after plotting")\n');
    assert.equal(failing.isError, true);
    assert.match(failing.text, /ValueError: after plotting/);
    assert.equal(pngs(failing.parts).length, 1, failing.text);
  });

  test('a script without matplotlib returns no image, and matplotlib is never imported for it', async () => {
    const r = await runFile('plain.py', 'import sys\nprint("loaded:", sorted(m for m in sys.modules if m.split(".")[0] in ("matplotlib", "numpy", "PIL")))\n');
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /loaded: \[\]/);
    assert.equal(pngs(r.parts).length, 0);
    assert.doesNotMatch(r.text, /\[figures\]/);
  });

  test('a script that closes its figures itself returns none; the per-run figure folder is gone afterwards', async () => {
    const before = fs.readdirSync(os.tmpdir()).filter(f => f.startsWith('datatools-figures-')).length;
    const r = await runFile('closed.py', 'import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig("out.png")\nplt.close("all")\n');
    assert.equal(r.isError, false, r.text);
    assert.equal(pngs(r.parts).length, 0);
    assert.ok(fs.existsSync(path.join(root, 'out.png')));
    const afterRun = fs.readdirSync(os.tmpdir()).filter(f => f.startsWith('datatools-figures-')).length;
    assert.ok(afterRun <= before);
  });
});
