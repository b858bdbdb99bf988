import * as vscode from 'vscode';
import { cellsOf } from './parse';
export { cellsOf, type Cell } from './parse';

/** "Run Cell in Sandbox" and "Run Above" above each "# %%" line. */
export class CellLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  refresh(): void { this.changed.fire(); }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('datatools').get<boolean>('python.cellLenses', true)) return [];
    const out: vscode.CodeLens[] = [];
    for (const c of cellsOf(doc.getText())) {
      const range = new vscode.Range(c.start, 0, c.start, 0);
      out.push(new vscode.CodeLens(range, { title: 'Run Cell in Sandbox', command: 'datatools.runCell', arguments: [doc.uri, c.index] }));
      if (c.index > 0) out.push(new vscode.CodeLens(range, { title: 'Run Above', command: 'datatools.runCellsAbove', arguments: [doc.uri, c.index] }));
    }
    return out;
  }
}
