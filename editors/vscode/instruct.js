'use strict';
// "Understudy: Edit with Instruction": asks for a sentence ("add error handling") in an input
// box and sends the selection to the server's `understudy.instruct` command; the server answers
// with `workspace/applyEdit` (applied by the session, one undo step). Offered only when the
// server's model has a chat template; otherwise the command says why.

const vscode = require('vscode');

const COMMAND = 'understudy.instruct';

/** Whether the server offers the command, and why not. */
function availability(capabilities) {
  const commands = ((capabilities || {}).executeCommandProvider || {}).commands || [];
  if (commands.includes(COMMAND)) return { available: true };
  const instruct = ((capabilities || {}).experimental || {}).instruct || {};
  return { available: false, reason: instruct.reason || `the server does not offer ${COMMAND}` };
}

/** Runs the command on the active editor's selection with `session` (a Session). */
async function instruct(session, instruction) {
  const editor = vscode.window.activeTextEditor;
  if (!session || !session.ready || !editor) {
    vscode.window.showWarningMessage('Understudy: the server is not running for this editor');
    return;
  }
  const { available, reason } = availability(session.capabilities);
  if (!available) {
    vscode.window.showWarningMessage(`Understudy: edit with instruction is not available: ${reason}`);
    return;
  }
  const selection = editor.selection;
  if (!selection || (selection.start.line === selection.end.line && selection.start.character === selection.end.character)) {
    vscode.window.showWarningMessage('Understudy: select the code to edit first');
    return;
  }
  const text =
    instruction ||
    (await vscode.window.showInputBox({
      prompt: 'Understudy: how should the selection change?',
      placeHolder: 'add error handling',
    }));
  if (!text || !text.trim()) return;
  const doc = editor.document;
  const params = {
    command: COMMAND,
    arguments: [
      {
        uri: doc.uri.toString(),
        range: {
          start: { line: selection.start.line, character: selection.start.character },
          end: { line: selection.end.line, character: selection.end.character },
        },
        version: doc.version,
        instruction: text,
      },
    ],
  };
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Understudy: editing the selection', cancellable: true },
    async (_progress, token) => {
      try {
        await session.client.request('workspace/executeCommand', params, token);
      } catch (err) {
        if (err.code !== -32800) vscode.window.showWarningMessage(`Understudy: ${err.message}`);
      }
    },
  );
}

module.exports = { instruct, availability, COMMAND };
