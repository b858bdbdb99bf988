import * as vscode from 'vscode';

export interface Cell { index: number; start: number; end: number; code: string }

const MARKER = /^#\s*%%/;

/** Jupyter-style cells of a .py file: each "# %%" line starts one, running to the next (code before the first
 *  marker is not a cell, as in VS Code's Jupyter extension). */
export function cellsOf(text: string): Cell[] {
  const lines = text.split(/\r?\n/);
  const starts = lines.map((l, i) => (MARKER.test(l) ? i : -1)).filter(i => i >= 0);
  return starts.map((start, index) => {
    const end = (starts[index + 1] ?? lines.length) - 1;
    return { index, start, end, code: lines.slice(start + 1, end + 1).join('\n') };
  });
}

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
