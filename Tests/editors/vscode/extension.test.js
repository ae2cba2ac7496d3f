'use strict';
// Runs the real extension.js (with a stand-in `vscode` module) against the Python fake
// LSP server: initialize with settings, didOpen/didChange in UTF-16, an inline completion
// whose range the server computed from its synced copy, a code action resolved into an
// edit with $/progress and window/logMessage, configuration changes, shutdown.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Module = require('node:module');

const MOCK = path.join(__dirname, 'vscode_mock.js');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? MOCK : resolve.call(this, request, ...rest);
};
const vscode = require('vscode');
const extension = require('../../../editors/vscode/extension.js');
const { settings, workspaceEvents, registered, output, messages, applied, inputs, TextDocument } = vscode._test;

const SERVER = path.join(__dirname, '..', 'nvim', 'fake_server.py');
const SOURCE = 'func add(a: Int, b: Int) -> Int {\n    /* é😀 */ \n}\n';

function serverLog(file) {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function until(predicate, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const noToken = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };

test('the extension drives a whole session against a fake server', { timeout: 20000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'understudy-vscode-'));
  const log = path.join(dir, 'server.log');
  process.env.FAKE_LOG = log;
  Object.assign(settings, {
    'understudy.path': 'python3',
    'understudy.args': [SERVER],
    'understudy.model': '/tmp/fake-model.gguf',
    'understudy.threads': 2,
    'understudy.maxTokens': null,
    'understudy.enabled': true,
    'understudy.languages': ['swift'],
  });
  const doc = new TextDocument(`file://${dir}/add.swift`, 'swift', SOURCE);
  const other = new TextDocument(`file://${dir}/notes.txt`, 'plaintext', 'not served');
  vscode.workspace.textDocuments.push(doc, other);

  const context = { subscriptions: [] };
  const api = extension.activate(context);
  await until(() => api.session && api.session.ready, 'initialize');

  const init = serverLog(log).find((m) => m.method === 'initialize');
  assert.deepEqual(init.params.initializationOptions, { model: '/tmp/fake-model.gguf', threads: 2, enabled: true });
  assert.deepEqual(init.params.capabilities.general.positionEncodings, ['utf-16']);
  await until(() => serverLog(log).some((m) => m.method === 'textDocument/didOpen'), 'didOpen');
  const opens = serverLog(log).filter((m) => m.method === 'textDocument/didOpen');
  assert.equal(opens.length, 1, 'only the swift document is opened');
  assert.equal(opens[0].params.textDocument.text, SOURCE);

  // Type "ret" after the emoji comment; the server sees UTF-16 positions.
  const lineEnd = doc.lineAt(1).text.length; // 14 UTF-16 units: the emoji counts twice
  assert.equal(lineEnd, 14);
  doc.edit(new vscode.Range(1, lineEnd, 1, lineEnd), 'ret');
  const inline = registered.inline[0].provider;
  const list = await inline.provideInlineCompletionItems(
    doc,
    new vscode.Position(1, lineEnd + 3),
    { triggerKind: vscode.InlineCompletionTriggerKind.Automatic },
    noToken,
  );
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0].insertText, 'return a + b');
  assert.deepEqual(list.items[0].range, new vscode.Range(1, lineEnd, 1, lineEnd + 3));
  await until(() => fs.readFileSync(`${log}.doc`, 'utf8') === doc.getText(), 'server copy to match');
  const request = serverLog(log).find((m) => m.method === 'textDocument/inlineCompletion');
  assert.deepEqual(request.params.context, { triggerKind: 2 });

  // A request whose token is already cancelled never reaches the server.
  const asked = serverLog(log).filter((m) => m.method === 'textDocument/inlineCompletion').length;
  const cancelled = await inline.provideInlineCompletionItems(
    doc,
    new vscode.Position(1, lineEnd + 3),
    { triggerKind: 0 },
    { isCancellationRequested: true, onCancellationRequested: () => ({ dispose() {} }) },
  );
  assert.deepEqual(cancelled.items, []);
  assert.equal(serverLog(log).filter((m) => m.method === 'textDocument/inlineCompletion').length, asked);

  // Code action: the title comes first, the edit from resolve (with progress and a log line).
  const actions = registered.codeActions[0].provider;
  const [action] = await actions.provideCodeActions(
    doc,
    new vscode.Range(0, 0, 0, 4),
    { diagnostics: [], triggerKind: 1 },
    noToken,
  );
  assert.equal(action.title, 'Add documentation comment');
  assert.equal(action.kind.value, 'refactor.rewrite');
  assert.equal(action.edit, undefined);
  const resolved = await actions.resolveCodeAction(action, noToken);
  assert.deepEqual(resolved.edit.edits, [
    { uri: doc.uri.toString(), range: new vscode.Range(0, 0, 0, 0), newText: '/// Adds.\n' },
  ]);
  assert.ok(messages.includes('progress: Understudy: Documenting'), messages.join('\n'));
  await until(() => output.some((l) => l.includes('resolved Add documentation comment')), 'logMessage');

  // Edit with instruction: the input box's sentence and the selection go to understudy.instruct;
  // the server's workspace/applyEdit is applied; an error answer is shown, nothing applied.
  vscode.window.activeTextEditor = { document: doc, selection: new vscode.Range(0, 5, 0, 8) };
  inputs.push('add error handling');
  await registered.commands['understudy.instructSelection']();
  const executed = serverLog(log).filter((m) => m.method === 'workspace/executeCommand').pop();
  assert.deepEqual(executed.params, {
    command: 'understudy.instruct',
    arguments: [{ uri: doc.uri.toString(), range: { start: { line: 0, character: 5 }, end: { line: 0, character: 8 } },
                  version: doc.version, instruction: 'add error handling' }],
  });
  await until(() => applied.length === 1, 'the instruction edit applied');
  assert.deepEqual(applied[0].edits, [
    { uri: doc.uri.toString(), range: new vscode.Range(0, 5, 0, 8), newText: '/* add error handling */ add' },
  ]);
  inputs.push('refuse');
  await registered.commands['understudy.instructSelection']();
  assert.ok(messages.some((m) => m.includes('shapes changed since the selection was made')), messages.join('\n'));
  inputs.push('');
  await registered.commands['understudy.instructSelection']();
  vscode.window.activeTextEditor = { document: doc, selection: new vscode.Range(0, 5, 0, 5) };
  await registered.commands['understudy.instructSelection']();
  assert.ok(messages.includes('warning: Understudy: select the code to edit first'));
  assert.equal(applied.length, 1, 'an empty sentence or selection applies nothing');
  applied.length = 0;

  // Turning completions off reaches the server and silences the provider.
  await vscode.workspace.getConfiguration('understudy').update('enabled', false);
  await until(
    () =>
      serverLog(log).some(
        (m) => m.method === 'workspace/didChangeConfiguration' && m.params.settings.understudy.enabled === false,
      ),
    'didChangeConfiguration',
  );
  assert.equal(await inline.provideInlineCompletionItems(doc, new vscode.Position(1, 1), { triggerKind: 0 }, noToken), undefined);

  // Closing sends didClose; deactivating shuts the server down.
  workspaceEvents.close.fire(doc);
  await extension.deactivate();
  const methods = serverLog(log).map((m) => m.method);
  assert.ok(methods.includes('textDocument/didClose'));
  assert.deepEqual(methods.slice(-2), ['shutdown', 'exit']);
  assert.equal(applied.length, 0, 'nothing applied behind the user’s back');
  fs.rmSync(dir, { recursive: true, force: true });
});
