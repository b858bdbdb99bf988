import * as vscode from 'vscode';
import type { CallResult, ToolHost } from '../core/host';
import type { Caller } from '../core/tool';

/** Called with every result so the Runs view and the result webview can show it. */
export type ResultSink = (tool: string, input: unknown, result: CallResult) => void;

/** Registers the active role's tools with the LM tools API; re-run on role or trust changes. */
export class LmToolRegistry implements vscode.Disposable {
  private regs: vscode.Disposable[] = [];
  /** Set while @data invokes a tool, so the audit log says who asked (the LM API does not tell). */
  private chatCalls = 0;

  async asChat<T>(fn: () => Thenable<T>): Promise<T> {
    this.chatCalls++;
    try { return await fn(); } finally { this.chatCalls--; }
  }

  constructor(private readonly host: ToolHost, private readonly sink: ResultSink) {}

  refresh(): void {
    this.disposeRegs();
    const available = new Set(this.host.available().map(t => t.name));
    for (const t of this.host.all()) {
      // the contribution's `when` clause hides tools the role lacks from the tools picker
      void vscode.commands.executeCommand('setContext', `datatools.tool.${t.name}`, available.has(t.name));
    }
    for (const t of this.host.available()) {
      this.regs.push(vscode.lm.registerTool<unknown>(t.name, {
        prepareInvocation: (options) => {
          const parsed = t.input.safeParse(options.input ?? {});
          const invocationMessage = parsed.success ? t.summary(parsed.data) : `${t.title} (invalid input)`;
          if (!t.confirm || !parsed.success) return { invocationMessage };
          const c = t.confirm(parsed.data, this.host.config);
          return { invocationMessage, confirmationMessages: { title: c.title, message: new vscode.MarkdownString(c.message) } };
        },
        invoke: async (options, token) => {
          const r = await invokeWithToken(this.host, t.name, options.input, this.chatCalls > 0 ? 'chat' : 'copilot', token);
          this.sink(t.name, options.input, r);
          return toLmResult(r);
        },
      }));
    }
  }

  private disposeRegs(): void {
    for (const r of this.regs) r.dispose();
    this.regs = [];
  }

  dispose(): void { this.disposeRegs(); }
}

export async function invokeWithToken(host: ToolHost, name: string, input: unknown, caller: Caller, token?: vscode.CancellationToken): Promise<CallResult> {
  const ac = new AbortController();
  const sub = token?.onCancellationRequested(() => ac.abort());
  try {
    return await host.call(name, input, { caller, signal: ac.signal });
  } finally {
    sub?.dispose();
  }
}

export function toLmResult(r: CallResult): vscode.LanguageModelToolResult {
  const parts: (vscode.LanguageModelTextPart | vscode.LanguageModelDataPart)[] = [new vscode.LanguageModelTextPart(r.text)];
  for (const p of r.parts) {
    if (p.kind === 'image' && p.mimeType === 'image/png') parts.push(vscode.LanguageModelDataPart.image(Buffer.from(p.data, 'base64'), p.mimeType));
  }
  return new vscode.LanguageModelToolResult(parts);
}
