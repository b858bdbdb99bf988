import * as vscode from 'vscode';
import type { ToolHost } from '../core/host';
import { toolSchema } from '../core/host';
import { buildSystemPrompt, followUps, runToolLoop, type ChatContextInfo, type LoopMessage, type LoopModel, type LoopPart, type SlashCommand } from '../core/chat/loop';
import type { ResultStore } from './results';
import type { LmToolRegistry } from './lmTools';

const COMMANDS: SlashCommand[] = ['schema', 'query', 'explore', 'run'];

/** Told to the person when VS Code has no chat model for @data to use. */
export const NO_MODEL = '**@data needs a language model, and none is available in this VS Code.** Sign in to GitHub Copilot '
  + '(install the GitHub Copilot Chat extension, then sign in from the Accounts menu), or install an extension that provides '
  + 'language models, and pick a model in the chat box. Until then the Data view, Run Query, Preview Data and the Python '
  + 'sandbox commands work without a model, and so does `@data /run` for Python code.';

interface DataChatResult extends vscode.ChatResult {
  metadata: { command?: SlashCommand; calls: { name: string; input: unknown }[]; references: ChatContextInfo['references'] };
}

/** `@data`: the user's chosen model with the core tool loop over the active role's tools. Tool calls go through
 *  vscode.lm.invokeTool with the request's token, so they get the same confirmations as agent mode. */
export function registerParticipant(context: vscode.ExtensionContext, host: ToolHost, results: ResultStore, registry: LmToolRegistry): void {
  const participant = vscode.chat.createChatParticipant('datatools.data', async (request, chatContext, stream, token): Promise<DataChatResult> => {
    const command = COMMANDS.includes(request.command as SlashCommand) ? request.command as SlashCommand : undefined;
    const references = referencesOf(request);
    const meta: DataChatResult['metadata'] = { command, calls: [], references };
    const ac = new AbortController();
    token.onCancellationRequested(() => ac.abort());
    // shown after the answer (VS Code folds what is streamed between tool calls into its "steps" group)
    const sqlRun: string[] = [];
    const notes: string[] = [];
    const buttons: { id: string; title: string }[] = [];
    const skipped: string[] = [];
    const finish = () => {
      if (sqlRun.length) stream.markdown(`\n\n**SQL run${sqlRun.length > 1 ? ` (${sqlRun.length} queries)` : ''}:**\n${sqlRun.map(q => `\n\`\`\`sql\n${q}\n\`\`\`\n`).join('')}`);
      for (const n of notes) stream.markdown(`\n\n> ${n}\n`);
      for (const b of buttons.slice(-3)) stream.button({ command: 'datatools.showResult', arguments: [b.id], title: b.title });
    };

    const runTool = async (name: string, input: unknown, signal: AbortSignal) => {
      const refusal = host.refusal(name);
      if (refusal) {
        notes.push(`**${name} refused:** ${refusal}`);
        return { text: refusal, isError: true };
      }
      const tool = host.find(name);
      const parsed = tool?.input.safeParse(input);
      stream.progress(parsed?.success ? tool!.summary(parsed.data as never) : `Running ${name}…`);
      if (name === 'execute_query' && typeof (input as { query?: unknown })?.query === 'string') sqlRun.push((input as { query: string }).query);
      const cts = new vscode.CancellationTokenSource();
      const abort = () => cts.cancel();
      signal.addEventListener('abort', abort, { once: true });
      // the result this call stores (not an earlier one of the same tool): none when the person chose Skip in the
      // confirmation, since VS Code then answers with its own text and never calls the tool
      let stored: ReturnType<ResultStore['list']>[number] | undefined;
      const off = results.onAdd(x => { if (x.tool === name && x.byModel) stored = x; });
      try {
        const r = await registry.asChat(() => vscode.lm.invokeTool(name, { input: input as object, toolInvocationToken: request.toolInvocationToken }, cts.token));
        off();
        const text = r.content.map(p => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
        if (!stored) {
          skipped.push(name);
          notes.push(`**${name} skipped, nothing ran:** you chose Skip in the confirmation.`);
          return { text, isError: false, skipped: true };
        }
        const isError = !!stored.result.isError;
        if (stored && stored.result.parts.some(p => p.kind === 'table' || p.kind === 'image' || p.kind === 'error')) buttons.push({ id: stored.id, title: `Open ${name} result` });
        if (isError) notes.push(`**${name} failed:** ${text.split('\n')[0]}`);
        return { text, isError };
      } catch (e) {
        const msg = (e as Error)?.message ?? String(e);
        // the user pressed Cancel on the confirmation, or the tool is not registered
        notes.push(`**${name} did not run:** ${msg}`);
        return { text: `The tool did not run: ${msg}`, isError: true };
      } finally {
        off();
        signal.removeEventListener('abort', abort);
        cts.dispose();
      }
    };

    if (command === 'run') {
      const code = codeToRun(request.prompt);
      if (!code) {
        stream.markdown('Type the Python after /run (on the same line, or in a ```python block), or select some Python in an editor, then ask again.');
        return { metadata: meta };
      }
      const r = await runTool('execute_code', { code }, ac.signal);
      if (skipped.length) {
        // nothing ran: say so (no output block, no "failed")
        stream.markdown('Skipped, nothing ran: you chose **Skip** in the confirmation, so the code was not run.');
        return { metadata: meta };
      }
      meta.calls.push({ name: 'execute_code', input: { code } });
      stream.markdown(`\n\`\`\`text\n${r.text.slice(0, 4000)}\n\`\`\`\n`);
      finish();
      return { metadata: meta };
    }

    // no language model at all: say at once what to install or sign into, with buttons (not VS Code's bare error
    // after a wait); /run needs no model
    if (request.model.vendor === NO_MODEL_VENDOR || (await realModels()).length === 0) {
      stream.markdown(NO_MODEL);
      stream.button({ command: 'workbench.extensions.search', arguments: ['GitHub Copilot Chat'], title: 'Install GitHub Copilot Chat' });
      stream.button({ command: 'workbench.extensions.search', arguments: ['@category:"AI" language model'], title: 'Find Another Model Provider' });
      return { metadata: meta };
    }

    const info: ChatContextInfo = {
      role: host.config.role,
      connection: host.config.activeConnection ?? (host.config.databaseUrl ? 'default' : 'sample'),
      tools: host.available().map(t => t.name),
      references,
    };
    const tools: vscode.LanguageModelChatTool[] = host.available().map(t => ({ name: t.name, description: t.description, inputSchema: toolSchema(t) }));
    const messages: LoopMessage[] = [
      { role: 'user', text: buildSystemPrompt(info, command) },
      ...history(chatContext),
      { role: 'user', text: request.prompt || (command ? `/${command}` : '') },
    ];
    const model: LoopModel = {
      send: (msgs, signal) => sendToModel(request.model, msgs, tools, signal),
    };
    try {
      const r = await runToolLoop({ model, messages, runTool, signal: ac.signal, hooks: { onText: t => stream.markdown(t) } });
      meta.calls = r.calls.map(c => ({ name: c.name, input: c.input }));
      if (r.stop === 'max_rounds') stream.markdown('\n\n_Stopped after 12 rounds of tool calls; ask a narrower question to continue._');
    } catch (e) {
      stream.markdown(modelFailure(e));
    }
    finish();
    return { metadata: meta };
  });
  participant.iconPath = new vscode.ThemeIcon('database');
  context.subscriptions.push(registerNoModelPlaceholder());
  participant.followupProvider = {
    provideFollowups: (result: DataChatResult) => {
      const m = result.metadata;
      if (!m) return [];
      return followUps(m.command, m.calls, m.references).map(f => ({ prompt: f.prompt, label: f.label, command: f.command, participant: 'datatools.data' }));
    },
  };
  context.subscriptions.push(participant);
}

const NO_MODEL_VENDOR = 'datatools-nomodel';
const realModels = async () => (await vscode.lm.selectChatModels()).filter(m => m.vendor !== NO_MODEL_VENDOR);

/** VS Code does not call a chat participant at all when it has no language model (it shows a bare "Language model
 *  unavailable"). So while there is none, Data Tools offers a placeholder "model" that only says what to install or
 *  sign into; @data answers with that message and buttons. It disappears as soon as a real model is available. */
function registerNoModelPlaceholder(): vscode.Disposable {
  const changed = new vscode.EventEmitter<void>();
  let none = false;
  const check = async () => {
    const now = (await realModels()).length === 0;
    if (now !== none) { none = now; changed.fire(); }
  };
  const provider: vscode.LanguageModelChatProvider = {
    onDidChangeLanguageModelChatInformation: changed.event,
    provideLanguageModelChatInformation: () => none ? [{
      id: 'none', name: 'No language model (see how to get one)', family: 'none', version: '1', tooltip: NO_MODEL,
      // tool calling, or agent mode (the chat's default mode) does not offer it
      maxInputTokens: 100_000, maxOutputTokens: 1000, capabilities: { toolCalling: true },
    }] : [],
    provideLanguageModelChatResponse: async (_m, _msgs, _o, progress) => { progress.report(new vscode.LanguageModelTextPart(NO_MODEL)); },
    provideTokenCount: async (_m, t) => (typeof t === 'string' ? Math.ceil(t.length / 4) : 1),
  };
  const reg = vscode.lm.registerLanguageModelChatProvider(NO_MODEL_VENDOR, provider);
  const sub = vscode.lm.onDidChangeChatModels(() => void check());
  // model providers register during startup: decide once they have had the chance (not at once, or a placeholder
  // could be picked as the chat's model before the real one arrives)
  const timer = setTimeout(() => void check(), 3000);
  return vscode.Disposable.from(reg, sub, changed, { dispose: () => clearTimeout(timer) });
}

/** One model turn through the LM API, as the core loop's parts. */
async function* sendToModel(model: vscode.LanguageModelChat, msgs: LoopMessage[], tools: vscode.LanguageModelChatTool[], signal: AbortSignal): AsyncIterable<LoopPart> {
  const cts = new vscode.CancellationTokenSource();
  const abort = () => cts.cancel();
  signal.addEventListener('abort', abort, { once: true });
  const out: vscode.LanguageModelChatMessage[] = msgs.map(m => {
    if (m.role === 'user') return vscode.LanguageModelChatMessage.User(m.text);
    if (m.role === 'tool') return vscode.LanguageModelChatMessage.User([new vscode.LanguageModelToolResultPart(m.id, [new vscode.LanguageModelTextPart(m.text)])]);
    return vscode.LanguageModelChatMessage.Assistant(m.parts.map(p => (p.kind === 'text' ? new vscode.LanguageModelTextPart(p.text) : new vscode.LanguageModelToolCallPart(p.id, p.name, p.input as object))));
  });
  try {
    const response = await model.sendRequest(out, { tools }, cts.token);
    for await (const part of response.stream) {
      if (part instanceof vscode.LanguageModelTextPart) yield { kind: 'text', text: part.value };
      else if (part instanceof vscode.LanguageModelToolCallPart) yield { kind: 'call', id: part.callId, name: part.name, input: part.input };
    }
  } finally {
    // one turn's listener and token, released with the turn (a request may take up to 12 turns)
    signal.removeEventListener('abort', abort);
    cts.dispose();
  }
}

function modelFailure(e: unknown): string {
  if (e instanceof vscode.LanguageModelError) {
    if (e.code === vscode.LanguageModelError.NoPermissions.name) return 'The language model is not available to Data Tools: allow it when VS Code asks, or pick another model.';
    if (e.code === vscode.LanguageModelError.NotFound.name) return 'No language model is available. Sign in to Copilot (or install a model provider) and pick a model in the chat box.';
    if (e.code === vscode.LanguageModelError.Blocked.name) return 'The request was blocked by the model provider (quota or policy). Try again later or pick another model.';
  }
  return `The language model request failed: ${(e as Error)?.message ?? String(e)}`;
}

function referencesOf(request: vscode.ChatRequest): ChatContextInfo['references'] {
  const out: NonNullable<ChatContextInfo['references']> = [];
  for (const r of request.references) {
    const v = r.value;
    if (v instanceof vscode.Uri) out.push({ kind: 'file', name: v.fsPath });
    else if (v instanceof vscode.Location) out.push({ kind: 'file', name: v.uri.fsPath });
  }
  for (const m of request.prompt.matchAll(/(?:^|\s)((?:s3:\/\/|\/)[^\s]+\.(?:csv|tsv|parquet|arrow|feather|jsonl|ndjson))\b/gi)) out.push({ kind: 'file', name: m[1] });
  for (const m of request.prompt.matchAll(/\btable\s+([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)?)/g)) out.push({ kind: 'table', name: m[1] });
  return out;
}

/** What `@data /run` runs: exactly what was typed after /run (a fenced block in it, else the rest of the line);
 *  with nothing typed, the editor's selection. Never the whole open file in place of what was typed. */
export function codeToRun(prompt: string): string | undefined {
  const fenced = /```[ \t]*(?:python|py)?[ \t]*\r?\n([\s\S]*?)```/.exec(prompt)?.[1];
  if (fenced?.trim()) return fenced;
  if (prompt.trim()) return prompt.trim();
  const ed = vscode.window.activeTextEditor;
  if (ed && !ed.selection.isEmpty) return ed.document.getText(ed.selection);
  return undefined;
}

function history(ctx: vscode.ChatContext): LoopMessage[] {
  const out: LoopMessage[] = [];
  for (const turn of ctx.history) {
    if (turn instanceof vscode.ChatRequestTurn) out.push({ role: 'user', text: turn.prompt });
    else if (turn instanceof vscode.ChatResponseTurn) {
      const text = turn.response.map(p => (p instanceof vscode.ChatResponseMarkdownPart ? p.value.value : '')).join('');
      if (text) out.push({ role: 'assistant', parts: [{ kind: 'text', text }] });
    }
  }
  return out;
}
