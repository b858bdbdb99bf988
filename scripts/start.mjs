import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { freePort, startVsCode } from './vscode-server.mjs';
import { writeSampleFiles } from './sample-files.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = process.env.DATATOOLS_START_DIR || path.join(os.homedir(), '.cache', 'datatools-start');
const workspace = path.join(dir, 'workspace');
const portFree = p => new Promise(resolve => {
  const s = net.createServer();
  s.once('error', () => resolve(false));
  s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
});
let port = Number(process.env.PORT || 8080);
if (!(await portFree(port))) {
  if (process.env.PORT) { console.error(`Port ${port} is in use. Stop what uses it or pick another: PORT=8081 npm start`); process.exit(1); }
  const other = await freePort();
  console.log(`port ${port} is in use; using ${other} (set PORT to choose)`);
  port = other;
}
fs.mkdirSync(workspace, { recursive: true });
await writeSampleFiles(path.join(workspace, 'data'));
console.log('starting VS Code (code-server) ...');
const server = await startVsCode({
  dir, workspace, port, vsixes: [path.join(root, 'datatools.vsix')],
  // the settings file is the person's after the first start: a theme or a connection they saved stays
  keepSettings: true,
  settings: { 'datatools.role': 'data_scientist' },
  forceSettings: process.env.DATATOOLS_ROLE ? { 'datatools.role': process.env.DATATOOLS_ROLE } : {},
});
console.log(`\nData Tools is running in VS Code: ${server.folderUrl}\n(open it in a browser; Ctrl-C stops it; server log: ${server.logFile})`);
const stop = async () => { await server.stop(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
