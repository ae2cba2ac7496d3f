'use strict';
// Understudy for VS Code: inline completions and code actions from `understudy serve`.
// Everything LSP-specific lives in lspClient.js (wire) and session.js (lifecycle, sync).

const vscode = require('vscode');
const { Session } = require('./session');
const { toLspPosition, toLspRange, toLspDiagnostic, toInlineItem, toServerCommand, toWorkspaceEdit } = require(
  './convert',
);

const TRIGGER_INVOKED = 1;
const TRIGGER_AUTOMATIC = 2;
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 3 * 60 * 1000;

/** Status bar item with one text per state. */
function createStatus() {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  item.command = 'understudy.toggle';
  item.show();
  const looks = {
    starting: ['$(loading~spin) Understudy', 'Starting the Understudy server'],
    ready: ['$(sparkle) Understudy', 'Understudy completions are on. Click to turn them off.'],
    disabled: ['$(circle-slash) Understudy', 'Understudy completions are off. Click to turn them on.'],
    busy: ['$(loading~spin) Understudy', 'Understudy is working'],
    error: ['$(error) Understudy', 'The Understudy server stopped. Run "Understudy: Restart Server".'],
  };
  return {
    item,
    set(state, detail) {
      const [text, tooltip] = looks[state];
      item.text = text;
      item.tooltip = detail ? `${tooltip}\n${detail}` : tooltip;
      item.backgroundColor = state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    },
  };
}

/** Documents we serve: real files or untitled buffers in the configured languages (all when empty). */
function selectorFor(config) {
  const languages = config.get('languages') || [];
  const schemes = ['file', 'untitled'];
  const documentSelector = languages.length
    ? languages.flatMap((language) => schemes.map((scheme) => ({ scheme, language })))
    : schemes.map((scheme) => ({ scheme }));
  return {
    documentSelector,
    matches: (doc) => vscode.languages.match(documentSelector, doc) > 0,
  };
}

function activate(context) {
  const output = vscode.window.createOutputChannel('Understudy');
  const status = createStatus();
  context.subscriptions.push(output, status.item);
  let selector = selectorFor(vscode.workspace.getConfiguration('understudy'));
  let session = null;
  let crashes = [];
  const rawActions = new WeakMap(); // vscode.CodeAction -> LSP CodeAction, for resolve

  const host = {
    output,
    status,
    selector: (doc) => selector.matches(doc),
    onCrash(reason) {
      const now = Date.now();
      crashes = crashes.filter((t) => now - t < CRASH_WINDOW_MS).concat(now);
      if (crashes.length <= MAX_CRASHES && !/could not start/.test(reason)) {
        output.appendLine(`restarting (crash ${crashes.length} of ${MAX_CRASHES} allowed in 3 minutes)`);
        start();
        return;
      }
      vscode.window.showErrorMessage(`Understudy server stopped: ${reason}`, 'Restart', 'Show Log').then((choice) => {
        if (choice === 'Restart') start();
        if (choice === 'Show Log') output.show();
      });
    },
  };

  async function start() {
    if (session) await session.stop();
    session = new Session(host);
    try {
      await session.start();
    } catch (err) {
      output.appendLine(`could not start the server: ${err.message}`);
      status.set('error', err.message);
    }
  }

  const enabled = () => vscode.workspace.getConfiguration('understudy').get('enabled') !== false;

  const inlineProvider = {
    async provideInlineCompletionItems(document, position, context, token) {
      if (!session || !session.ready || !enabled()) return undefined;
      session.didOpen(document);
      const lspContext = {
        triggerKind:
          context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? TRIGGER_INVOKED : TRIGGER_AUTOMATIC,
      };
      if (context.selectedCompletionInfo) {
        lspContext.selectedCompletionInfo = {
          range: toLspRange(context.selectedCompletionInfo.range),
          text: context.selectedCompletionInfo.text,
        };
      }
      const result = await session.request(
        'textDocument/inlineCompletion',
        { textDocument: { uri: document.uri.toString() }, position: toLspPosition(position), context: lspContext },
        token,
      );
      const items = Array.isArray(result) ? result : (result && result.items) || [];
      return new vscode.InlineCompletionList(items.map(toInlineItem));
    },
  };

  const codeActionProvider = {
    async provideCodeActions(document, range, context, token) {
      if (!session || !session.ready) return undefined;
      session.didOpen(document);
      const result = await session.request(
        'textDocument/codeAction',
        {
          textDocument: { uri: document.uri.toString() },
          range: toLspRange(range),
          context: {
            diagnostics: context.diagnostics.map(toLspDiagnostic),
            only: context.only ? [context.only.value] : undefined,
            triggerKind: context.triggerKind,
          },
        },
        token,
      );
      return (result || []).map((item) => {
        if (typeof item.command === 'string') {
          // A bare Command: run it on the server when chosen.
          const action = new vscode.CodeAction(item.title);
          action.command = toServerCommand(item);
          return action;
        }
        const kind = item.kind ? vscode.CodeActionKind.Empty.append(item.kind) : undefined;
        const action = new vscode.CodeAction(item.title, kind);
        if (item.edit) action.edit = toWorkspaceEdit(item.edit);
        if (item.command) action.command = toServerCommand(item.command);
        if (item.isPreferred) action.isPreferred = true;
        if (item.disabled) action.disabled = { reason: item.disabled.reason };
        rawActions.set(action, item);
        return action;
      });
    },

    // Titles come back at once; the model runs here, when the user picks the action.
    async resolveCodeAction(action, token) {
      const raw = rawActions.get(action);
      const resolvable = session && session.capabilities.codeActionProvider;
      if (!raw || action.edit || !resolvable || !resolvable.resolveProvider) return action;
      const resolved = await session.request('codeAction/resolve', raw, token);
      if (!resolved) return action;
      try {
        if (resolved.edit) action.edit = toWorkspaceEdit(resolved.edit);
      } catch (err) {
        vscode.window.showWarningMessage(`Understudy: ${err.message}`);
        return action;
      }
      if (resolved.command) action.command = toServerCommand(resolved.command);
      return action;
    },
  };

  let registrations = [];
  function registerProviders() {
    for (const r of registrations) r.dispose();
    registrations = [
      vscode.languages.registerInlineCompletionItemProvider(selector.documentSelector, inlineProvider),
      vscode.languages.registerCodeActionsProvider(selector.documentSelector, codeActionProvider, {
        providedCodeActionKinds: [vscode.CodeActionKind.RefactorRewrite, vscode.CodeActionKind.Empty],
      }),
    ];
  }
  registerProviders();
  context.subscriptions.push({ dispose: () => registrations.forEach((r) => r.dispose()) });

  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument((doc) => session && session.didOpen(doc)),
    vscode.workspace.onDidChangeTextDocument((event) => session && session.didChange(event)),
    vscode.workspace.onDidCloseTextDocument((doc) => session && session.didClose(doc)),
    vscode.workspace.onDidSaveTextDocument((doc) => session && session.didSave(doc)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('understudy')) return;
      if (event.affectsConfiguration('understudy.languages')) {
        selector = selectorFor(vscode.workspace.getConfiguration('understudy'));
        registerProviders();
      }
      // A different binary or arguments needs a new process; everything else is live.
      if (event.affectsConfiguration('understudy.path') || event.affectsConfiguration('understudy.args')) {
        start();
      } else if (session) {
        session.configurationChanged();
      }
    }),
    vscode.commands.registerCommand('understudy.toggle', () =>
      vscode.workspace.getConfiguration('understudy').update('enabled', !enabled(), vscode.ConfigurationTarget.Global),
    ),
    vscode.commands.registerCommand('understudy.restart', () => {
      crashes = [];
      return start();
    }),
    vscode.commands.registerCommand('understudy.showLog', () => output.show()),
    vscode.commands.registerCommand('understudy.instructSelection', (instruction) =>
      require('./instruct').instruct(session, typeof instruction === 'string' ? instruction : undefined),
    ),
    vscode.commands.registerCommand('understudy.executeServerCommand', (command) =>
      session ? session.request('workspace/executeCommand', command) : undefined,
    ),
  );

  // deactivate() waits for a polite shutdown instead of leaving the process behind.
  stopServer = () => (session ? session.stop() : undefined);
  start();
  // Exposed for tests and other extensions.
  return {
    get session() {
      return session;
    },
  };
}

// Set by activate(); VS Code runs one instance of the extension per window.
let stopServer = () => undefined;

function deactivate() {
  return stopServer();
}

module.exports = { activate, deactivate };
