'use strict';
// Conversions between LSP JSON shapes and VS Code API objects. VS Code counts
// positions in UTF-16 code units, which is the encoding we negotiate, so positions
// map one to one.

const vscode = require('vscode');

/** LSP Position for a VS Code Position. */
function toLspPosition(p) {
  return { line: p.line, character: p.character };
}

/** LSP Range for a VS Code Range. */
function toLspRange(r) {
  return { start: toLspPosition(r.start), end: toLspPosition(r.end) };
}

/** VS Code Range for an LSP Range. */
function toRange(r) {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

/** LSP TextDocumentContentChangeEvent for one VS Code content change. */
function toLspChange(change) {
  return { range: toLspRange(change.range), rangeLength: change.rangeLength, text: change.text };
}

// vscode.DiagnosticSeverity counts from 0 (Error); LSP counts from 1.
function toLspDiagnostic(d) {
  const out = { range: toLspRange(d.range), message: d.message, severity: d.severity + 1 };
  if (d.source) out.source = d.source;
  if (typeof d.code === 'string' || typeof d.code === 'number') out.code = d.code;
  else if (d.code && d.code.value !== undefined) out.code = d.code.value;
  return out;
}

/** A VS Code command that forwards an LSP Command to the server. */
function toServerCommand(command) {
  return {
    title: command.title,
    command: 'understudy.executeServerCommand',
    arguments: [{ command: command.command, arguments: command.arguments }],
  };
}

/** VS Code InlineCompletionItem for an LSP InlineCompletionItem. */
function toInlineItem(item) {
  const text =
    typeof item.insertText === 'string' ? item.insertText : new vscode.SnippetString(item.insertText.value);
  const result = new vscode.InlineCompletionItem(
    text,
    item.range ? toRange(item.range) : undefined,
    item.command ? toServerCommand(item.command) : undefined,
  );
  if (item.filterText) result.filterText = item.filterText;
  return result;
}

/** Thrown when an edit was computed for an older version of a document. */
class StaleEditError extends Error {}

function checkVersion(uri, version) {
  if (version === null || version === undefined) return;
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
  if (doc && doc.version !== version) {
    throw new StaleEditError(`edit for ${uri} targets version ${version} but the document is at ${doc.version}`);
  }
}

/** VS Code WorkspaceEdit for an LSP WorkspaceEdit; throws StaleEditError on a version mismatch. */
function toWorkspaceEdit(lspEdit) {
  const edit = new vscode.WorkspaceEdit();
  const parse = (u) => vscode.Uri.parse(u);
  if (Array.isArray(lspEdit.documentChanges)) {
    for (const change of lspEdit.documentChanges) {
      if (change.kind === 'create') {
        edit.createFile(parse(change.uri), change.options || {});
      } else if (change.kind === 'rename') {
        edit.renameFile(parse(change.oldUri), parse(change.newUri), change.options || {});
      } else if (change.kind === 'delete') {
        edit.deleteFile(parse(change.uri), change.options || {});
      } else {
        checkVersion(change.textDocument.uri, change.textDocument.version);
        for (const e of change.edits) edit.replace(parse(change.textDocument.uri), toRange(e.range), e.newText);
      }
    }
  } else if (lspEdit.changes) {
    for (const [uri, edits] of Object.entries(lspEdit.changes)) {
      for (const e of edits) edit.replace(parse(uri), toRange(e.range), e.newText);
    }
  }
  return edit;
}

module.exports = {
  toLspPosition,
  toLspRange,
  toRange,
  toLspChange,
  toLspDiagnostic,
  toServerCommand,
  toInlineItem,
  toWorkspaceEdit,
  StaleEditError,
};
