// Test-only extension. Talks to the Playwright tests through JSON files in $DT_E2E_DIR:
//  - activated.json: written at activation (which of our tools the LM API lists)
//  - invoke.json -> command "Data Tools Test: Invoke Tool From Request File" -> invoke-result-<id>.json
//  - exec.json {id, command, args} -> command "Data Tools Test: Execute Command From Request File" -> exec-result-<id>.json
//    (string args starting with file:// become Uris; the result also carries the result view's last paint report)
//  - model-script.json: the scripted model. { "<prompt substring>": [step, ...] }; step = { "tool": name, "input": {...} }
//    or { "text": "..." } ("{{last}}" is replaced by the last tool result). The step index is the number of tool
//    results already in the conversation, so the model asks for tool calls in a fixed order.
const vscode = require('vscode');
const fs = require('fs');
const path = require('path');

const dir = () => process.env.DT_E2E_DIR || '/tmp/dt-e2e';
const write = (name, data) => { fs.mkdirSync(dir(), { recursive: true }); fs.writeFileSync(path.join(dir(), name), JSON.stringify(data, null, 2)); };
const read = name => JSON.parse(fs.readFileSync(path.join(dir(), name), 'utf8'));
const textOf = content => content.map(p => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');

// request ids already started: a palette retry of the same request must not run it twice
const started = new Set();

function activate(context) {
  const activationStarted = performance.now();
  context.subscriptions.push(vscode.commands.registerCommand('datatoolsTest.invoke', async () => {
    const req = read('invoke.json');
    if (started.has(`i${req.id}`)) return;
    started.add(`i${req.id}`);
    write(`invoke-started-${req.id}.json`, { id: req.id });
    const out = { id: req.id, name: req.name };
    try {
      const r = await vscode.lm.invokeTool(req.name, { input: req.input, toolInvocationToken: undefined });
      out.text = textOf(r.content);
      out.images = r.content.filter(p => p instanceof vscode.LanguageModelDataPart).map(p => p.mimeType);
    } catch (e) { out.error = String(e && e.message || e); }
    out.tools = vscode.lm.tools.filter(t => t.tags.includes('datatools')).map(t => t.name).sort();
    write(`invoke-result-${req.id}.json`, out);
  }));

  context.subscriptions.push(vscode.commands.registerCommand('datatoolsTest.exec', async () => {
    const req = read('exec.json');
    if (started.has(`e${req.id}`)) return;
    started.add(`e${req.id}`);
    write(`exec-started-${req.id}.json`, { id: req.id });
    const out = { id: req.id, command: req.command };
    const args = (req.args || []).map(a => (typeof a === 'string' && a.startsWith('file://') ? vscode.Uri.parse(a) : a));
    try {
      const v = await vscode.commands.executeCommand(req.command, ...args);
      out.value = v === undefined ? null : JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x)));
    } catch (e) { out.error = String(e && e.message || e); }
    const api = vscode.extensions.getExtension('datatools.datatools')?.exports;
    out.paint = api && api.panel ? api.panel.lastPaint : undefined;
    out.paints = api && api.panel ? api.panel.paints : undefined;
    out.activationMs = api ? api.activationMs : undefined;
    write(`exec-result-${req.id}.json`, out);
  }));

  // drops every result the result store holds, as eviction would (the grid must say so, not go blank)
  context.subscriptions.push(vscode.commands.registerCommand('datatoolsTest.dropResults', () => {
    const store = vscode.extensions.getExtension('datatools.datatools').exports.host.results;
    return store.list().filter(r => store.remove(r.id)).length;
  }));

  // what a person would get by pasting: the text the extension put on the clipboard
  context.subscriptions.push(vscode.commands.registerCommand('datatoolsTest.readClipboard', () => vscode.env.clipboard.readText()));

  context.subscriptions.push(vscode.commands.registerCommand('datatoolsTest.setSetting', async (key, value) => {
    await vscode.workspace.getConfiguration().update(key, value, vscode.ConfigurationTarget.Global);
    const api = vscode.extensions.getExtension('datatools.datatools').exports;
    for (let i = 0; i < 80 && key === 'datatools.role' && api.host.config.role !== value; i++) await new Promise(r => setTimeout(r, 100));
    return vscode.workspace.getConfiguration().get(key);
  }));

  // Extension-host checks of the Data Tools tree provider, settings and commands, run inside VS Code.
  context.subscriptions.push(vscode.commands.registerCommand('datatoolsTest.hostChecks', async () => {
    const api = vscode.extensions.getExtension('datatools.datatools').exports;
    const ex = api.explorer;
    const cfg = () => vscode.workspace.getConfiguration('datatools');
    const until = async pred => { for (let i = 0; i < 80 && !pred(); i++) await new Promise(r => setTimeout(r, 100)); return pred(); };
    const out = {};
    const roots = await ex.getChildren();
    out.roots = roots.map(n => String(ex.getTreeItem(n).label));
    const sample = roots.find(n => n.kind === 'connection' && n.name === 'sample');
    const schemas = await ex.getChildren(sample);
    out.schemas = schemas.map(n => n.name);
    const rels = await ex.getChildren(schemas.find(n => n.name === 'public'));
    out.relations = rels.map(n => `${n.name}:${n.relKind}:${n.rows}`);
    const cols = await ex.getChildren(rels.find(n => n.name === 'users'));
    out.columns = cols.map(n => `${n.name}:${n.type}:${n.pk ? 'pk' : ''}`);
    const files = await ex.getChildren(roots.find(n => n.kind === 'files'));
    out.fileRoots = files.map(n => n.path);
    await cfg().update('connections', [{ name: 'broken', host: '127.0.0.1', port: 1, database: 'x', user: 'u' }], vscode.ConfigurationTarget.Global);
    await until(() => api.host.config.connections.some(c => c.name === 'broken'));
    const broken = (await ex.getChildren()).find(n => n.kind === 'connection' && n.name === 'broken');
    out.broken = broken ? (await ex.getChildren(broken)).map(n => `${n.kind}:${n.error ? 'error' : ''}:${n.text}`) : 'missing';
    await cfg().update('connections', undefined, vscode.ConfigurationTarget.Global);
    await cfg().update('limits.maxRows', 123, vscode.ConfigurationTarget.Global);
    out.maxRowsApplied = await until(() => api.host.config.limits.maxRows === 123);
    await cfg().update('limits.maxRows', undefined, vscode.ConfigurationTarget.Global);
    await until(() => api.host.config.limits.maxRows !== 123);
    out.commands = (await vscode.commands.getCommands(true)).filter(c => c.startsWith('datatools.')).sort();
    out.activationMs = api.activationMs;
    return out;
  }));

  // DT_E2E_NO_MODEL: a VS Code without any language model (what a person without Copilot has)
  if (!process.env.DT_E2E_NO_MODEL) {
    context.subscriptions.push(vscode.lm.registerLanguageModelChatProvider('datatools-test', {
      provideLanguageModelChatInformation: () => [{
        id: 'scripted', name: 'Scripted Test Model', family: 'scripted', version: '1.0.0', tooltip: 'scripted test model',
        maxInputTokens: 200000, maxOutputTokens: 10000, capabilities: { toolCalling: true },
      }],
      async provideLanguageModelChatResponse(_model, messages, options, progress) {
        let script = {};
        try { script = read('model-script.json'); } catch { /* no script: echo */ }
        const all = messages.map(m => m.content.map(p => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('')).join('\n');
        const key = Object.keys(script).find(k => all.includes(k));
        const results = messages.flatMap(m => m.content.filter(p => p instanceof vscode.LanguageModelToolResultPart));
        const log = { key, toolResults: results.length, tools: (options.tools || []).map(t => t.name).sort(), prompts: messages.length };
        fs.appendFileSync(path.join(dir(), 'model-log.jsonl'), JSON.stringify(log) + '\n');
        const steps = key ? script[key] : [{ text: 'no script for this prompt' }];
        const step = steps[Math.min(results.length, steps.length - 1)];
        if (step.tool) {
          progress.report(new vscode.LanguageModelToolCallPart(`call-${results.length}-${Date.now()}`, step.tool, step.input || {}));
        } else {
          const last = results.length ? textOf(results[results.length - 1].content) : '';
          progress.report(new vscode.LanguageModelTextPart(step.text.replace('{{last}}', last)));
        }
      },
      provideTokenCount: async (_m, t) => (typeof t === 'string' ? Math.ceil(t.length / 4) : 1),
    }));
    // models resolve lazily: without this warm-up the first chat request may find no model
    void vscode.lm.selectChatModels({ vendor: 'datatools-test' }).then(ms => write('models-warm.json', ms.map(m => m.id)));
  }
  write('activated.json', { time: Date.now(), version: vscode.version, activationMs: performance.now() - activationStarted });
}
module.exports = { activate, deactivate() {} };
