import * as vscode from 'vscode';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ToolHost } from '../core/host';
import { PathPolicy, isInside } from '../core/storage/paths';
import type { ResultStore } from './results';
import type { ResultPanel } from './resultPanel';

/** Binary data files open in the grid by default (a double-click); text ones (CSV, TSV, JSON Lines) stay text files
 *  by default, since people edit them, and open in the grid by "Open in Data Grid" or "Reopen Editor With…". */
export const GRID_EDITOR = 'datatools.dataGrid';
export const GRID_EDITOR_TEXT = 'datatools.dataGridText';
/** Rows a file's editor shows (the same as Preview Data File); the status says "First N of TOTAL rows". */
const PREVIEW_ROWS = 10_000;

const COLUMNAR = /\.(parquet|arrow|feather|ipc|arrows)$/i;

interface Doc extends vscode.CustomDocument { panels: Set<vscode.WebviewPanel> }

/** A data file opened in the result grid, read-only: the first rows through core's read_parquet / read_csv, called
 *  as the person's own action (caller 'command', audited like Preview Data File). A file outside the allowed folders
 *  is not read: the editor says so and offers to allow its folder (which lets agents read it too) or the settings. */
export class DataGridEditor implements vscode.CustomReadonlyEditorProvider<Doc> {
  private readonly docs = new Set<Doc>();

  constructor(private readonly host: ToolHost, private readonly results: ResultStore, private readonly panel: ResultPanel,
    private readonly extensionUri: vscode.Uri) {}

  openCustomDocument(uri: vscode.Uri): Doc {
    const doc: Doc = { uri, panels: new Set(), dispose: () => { watcher?.dispose(); this.docs.delete(doc); } };
    // a file rewritten on disk (a pipeline ran again) is read again
    const watcher = uri.scheme === 'file'
      ? vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)))
      : undefined;
    watcher?.onDidChange(() => this.reload(doc));
    watcher?.onDidCreate(() => this.reload(doc));
    this.docs.add(doc);
    return doc;
  }

  async resolveCustomEditor(doc: Doc, panel: vscode.WebviewPanel): Promise<void> {
    doc.panels.add(panel);
    panel.onDidDispose(() => doc.panels.delete(panel));
    await this.render(doc, panel);
  }

  /** Reads every open file again (the allowed folders or limits changed). */
  refresh(): void { for (const d of this.docs) this.reload(d); }

  private reload(doc: Doc): void { for (const p of doc.panels) void this.render(doc, p); }

  private async render(doc: Doc, panel: vscode.WebviewPanel): Promise<void> {
    const uri = doc.uri;
    const name = path.basename(uri.fsPath);
    if (uri.scheme !== 'file') {
      this.message(panel, `${name} is not a local file`, 'Data Tools opens local data files in the grid. Use Preview Data File for s3:// paths.', []);
      return;
    }
    const file = uri.fsPath;
    const roots = this.host.config.allowedPaths;
    let real = file;
    try { real = await fsp.realpath(file); } catch { /* the read below says why */ }
    if (!new PathPolicy(roots, 0).realRoots().some(r => isInside(r, real))) {
      const dir = path.dirname(file);
      this.message(panel, `${name} is outside the folders Data Tools may read`,
        `Data Tools reads files in the workspace folders and in the folders of the setting "Data Tools: Allowed Paths" (now ${roots.map(r => `"${r}"`).join(', ')}). `
        + `Allow the folder ${dir} to open this file here. Agents using Data Tools may then read the files in it too.`,
        [{ label: `Allow ${dir}`, command: 'datatools.allowFolder', args: [dir] },
          { label: 'Open Settings', command: 'workbench.action.openSettings', args: ['datatools.allowedPaths'] }]);
      return;
    }
    const tool = COLUMNAR.test(file) ? 'read_parquet' : 'read_csv';
    const r = await this.host.call(tool, { file_path: file, n_rows: Math.min(PREVIEW_ROWS, this.host.config.limits.maxRows) }, { caller: 'command' });
    if (r.outcome === 'refused') {
      this.message(panel, `Data Tools did not read ${name}`, this.host.isTrusted
        ? 'The request is larger than the configured limits allow. Raise the limits in the settings to open it.'
        : 'This workspace is not trusted, so Data Tools does not read its files. Trust the workspace to open it.',
      this.host.isTrusted ? [{ label: 'Open Settings', command: 'workbench.action.openSettings', args: ['datatools.limits'] }]
        : [{ label: 'Manage Workspace Trust', command: 'workbench.trust.manage', args: [] }]);
      return;
    }
    if (r.isError || r.outcome !== 'ok') {
      // the tool's text names the file and what is wrong, written for a model: its first line, without the path
      const why = r.text.split('\n')[0].split(file).join(name).replace(/\s*Use [a-z_]+ .*$/, '');
      const big = /, over the .* limit\b/.test(why); // (core's message for a file over the size limit)
      this.message(panel, `Data Tools could not open ${name}`, why,
        big ? [{ label: 'Open Settings', command: 'workbench.action.openSettings', args: ['datatools.limits.maxFileSizeMb'] }] : [],
        tool === 'read_csv' ? { label: 'Open as Text', command: 'vscode.openWith', args: [uri.toString(), 'default'] } : undefined);
      return;
    }
    const stored = this.results.add(tool, r, undefined, undefined);
    stored.file = file;
    await this.panel.showIn(panel, stored);
  }

  /** A plain page in the editor: what happened, in a person's words, and buttons that act (command links only). */
  private message(panel: vscode.WebviewPanel, title: string, text: string, buttons: { label: string; command: string; args: unknown[] }[], extra?: { label: string; command: string; args: unknown[] }): void {
    const all = extra ? [...buttons, extra] : buttons;
    panel.webview.options = { enableScripts: false, enableCommandUris: [...new Set(all.map(b => b.command))], localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')] };
    const nonce = randomBytes(16).toString('base64');
    const esc = (s: string) => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
    const link = (b: { label: string; command: string; args: unknown[] }) => `<a class="button" role="button" href="${esc(`command:${b.command}?${encodeURIComponent(JSON.stringify(b.args))}`)}">${esc(b.label)}</a>`;
    panel.webview.html = `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'">
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 24px 32px; max-width: 60em; }
h1 { font-size: 1.3em; font-weight: 600; }
p { line-height: 1.5; }
.button { display: inline-block; margin: 8px 8px 0 0; padding: 4px 12px; border-radius: 2px; text-decoration: none;
  color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); }
.button:hover { background: var(--vscode-button-hoverBackground); }
.button:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
</style><title>${esc(title)}</title></head>
<body><main class="message" role="alert"><h1>${esc(title)}</h1><p>${esc(text)}</p><div>${all.map(link).join('')}</div></main></body></html>`;
  }
}
