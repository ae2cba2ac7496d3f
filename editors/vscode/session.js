'use strict';
// One running `understudy serve`: starts it, performs initialize, keeps open
// documents in sync (incremental, UTF-16), answers the server's requests, and
// reports logs, progress and crashes to the output channel and status bar.

const vscode = require('vscode');
const { LspClient, ErrorCodes } = require('./lspClient');
const { toLspChange, toWorkspaceEdit, StaleEditError } = require('./convert');

const LOG_LEVELS = { 1: 'error', 2: 'warn', 3: 'info', 4: 'log', 5: 'debug' };
const SYNC_FULL = 1;
const SYNC_INCREMENTAL = 2;

/** The `understudy` settings the server reads, without unset values. */
function serverSettings(config) {
  const out = {};
  for (const key of ['model', 'teacher', 'threads', 'maxTokens', 'timeBudgetMs', 'temperature', 'enabled', 'candidates', 'draft', 'lookup', 'tiered']) {
    const value = config.get(key);
    if (value !== undefined && value !== null && value !== '') out[key] = value;
  }
  return out;
}

class Session {
  /**
   * @param {{output: vscode.OutputChannel, status: object, selector: (doc) => boolean}} host
   */
  constructor(host) {
    this.host = host;
    this.client = null;
    this.capabilities = {};
    this.syncKind = SYNC_INCREMENTAL;
    this.open = new Set(); // URIs the server has seen didOpen for
    this.progress = new Map(); // token -> {resolve, report}
    this.ready = false;
    this.stopping = false;
  }

  config() {
    return vscode.workspace.getConfiguration('understudy');
  }

  /** Spawns the server and completes the initialize handshake. */
  async start() {
    const config = this.config();
    const command = config.get('path') || 'understudy';
    const args = config.get('args') || ['serve'];
    const output = this.host.output;
    output.appendLine(`starting ${command} ${args.join(' ')}`);
    this.host.status.set('starting');
    const client = new LspClient({ command, args, cwd: this.rootPath() });
    this.client = client;
    client.on('stderr', (text) => output.append(text));
    client.on('protocolError', (err) => output.appendLine(`protocol error: ${err.message}`));
    client.on('trace', (direction, message) => {
      if (this.config().get('trace.server') === 'messages') {
        output.appendLine(`${direction === 'send' ? '-->' : '<--'} ${JSON.stringify(message).slice(0, 2000)}`);
      }
    });
    client.on('exit', (code, signal, err) => this.onExit(code, signal, err));
    this.registerHandlers(client);
    client.start();

    const folders = vscode.workspace.workspaceFolders || [];
    const result = await client.request('initialize', {
      processId: process.pid,
      clientInfo: { name: vscode.env.appName, version: vscode.version },
      rootUri: folders.length ? folders[0].uri.toString() : null,
      workspaceFolders: folders.map((f) => ({ uri: f.uri.toString(), name: f.name })),
      initializationOptions: serverSettings(config),
      capabilities: {
        general: { positionEncodings: ['utf-16'] },
        window: { workDoneProgress: true, showMessage: {} },
        workspace: {
          configuration: true,
          applyEdit: true,
          workspaceEdit: { documentChanges: true, resourceOperations: ['create', 'rename', 'delete'] },
          didChangeConfiguration: { dynamicRegistration: false },
          executeCommand: {},
        },
        textDocument: {
          synchronization: { didSave: true, dynamicRegistration: false },
          inlineCompletion: { dynamicRegistration: false },
          codeAction: {
            dataSupport: true,
            resolveSupport: { properties: ['edit', 'command'] },
            codeActionLiteralSupport: {
              codeActionKind: { valueSet: ['', 'quickfix', 'refactor', 'refactor.rewrite', 'source'] },
            },
          },
        },
      },
    });
    this.capabilities = (result && result.capabilities) || {};
    const encoding = this.capabilities.positionEncoding || 'utf-16';
    if (encoding !== 'utf-16') {
      // VS Code positions are UTF-16; any other encoding would shift every column.
      throw new Error(`server chose position encoding ${encoding}; this extension speaks only utf-16`);
    }
    const sync = this.capabilities.textDocumentSync;
    this.syncKind = typeof sync === 'number' ? sync : (sync && sync.change) || SYNC_INCREMENTAL;
    client.notify('initialized', {});
    const info = (result && result.serverInfo) || {};
    output.appendLine(`initialized ${info.name || 'server'} ${info.version || ''}`.trim());
    this.ready = true;
    this.host.status.set(config.get('enabled') === false ? 'disabled' : 'ready');
    for (const doc of vscode.workspace.textDocuments) this.didOpen(doc);
  }

  rootPath() {
    const folders = vscode.workspace.workspaceFolders || [];
    return folders.length && folders[0].uri.scheme === 'file' ? folders[0].uri.fsPath : undefined;
  }

  registerHandlers(client) {
    const output = this.host.output;
    client.onNotification('window/logMessage', (p) => {
      output.appendLine(`[${LOG_LEVELS[p.type] || p.type} ${new Date().toISOString()}] ${p.message}`);
    });
    client.onNotification('window/showMessage', (p) => this.showMessage(p.type, p.message, []));
    client.onRequest('window/showMessageRequest', async (p) => {
      const titles = (p.actions || []).map((a) => a.title);
      const chosen = await this.showMessage(p.type, p.message, titles);
      return chosen ? { title: chosen } : null;
    });
    client.onRequest('window/workDoneProgress/create', () => null);
    client.onNotification('$/progress', (p) => this.onProgress(p));
    client.onRequest('workspace/configuration', (p) =>
      (p.items || []).map((item) => {
        if (item.section === 'understudy') return serverSettings(this.config());
        if (item.section && item.section.startsWith('understudy.')) {
          const value = this.config().get(item.section.slice('understudy.'.length));
          return value === undefined ? null : value;
        }
        return null;
      }),
    );
    client.onRequest('workspace/applyEdit', async (p) => {
      try {
        return { applied: await vscode.workspace.applyEdit(toWorkspaceEdit(p.edit)) };
      } catch (err) {
        if (err instanceof StaleEditError) return { applied: false, failureReason: err.message };
        throw err;
      }
    });
    client.onRequest('client/registerCapability', () => null);
    client.onRequest('client/unregisterCapability', () => null);
  }

  showMessage(type, message, actions) {
    const show =
      type === 1
        ? vscode.window.showErrorMessage
        : type === 2
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    return show(`Understudy: ${message}`, ...actions);
  }

  // Server-initiated work (code actions running the model) shows in the window's progress area.
  onProgress({ token, value }) {
    if (!value || typeof value !== 'object') return;
    if (value.kind === 'begin') {
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Understudy: ${value.title || 'working'}` },
        (progress) =>
          new Promise((resolve) => {
            this.progress.set(token, { resolve, progress });
            progress.report({ message: value.message });
          }),
      );
      this.host.status.set('busy', value.title);
    } else if (value.kind === 'report') {
      const entry = this.progress.get(token);
      if (entry) entry.progress.report({ message: value.message });
    } else if (value.kind === 'end') {
      const entry = this.progress.get(token);
      this.progress.delete(token);
      if (entry) entry.resolve();
      if (this.progress.size === 0) this.host.status.set(this.config().get('enabled') === false ? 'disabled' : 'ready');
    }
  }

  /** Sends didOpen for `doc` if it is one we serve and the server has not seen it. */
  didOpen(doc) {
    const uri = doc.uri.toString();
    if (!this.ready || this.open.has(uri) || !this.host.selector(doc)) return;
    this.open.add(uri);
    this.client.notify('textDocument/didOpen', {
      textDocument: { uri, languageId: doc.languageId, version: doc.version, text: doc.getText() },
    });
  }

  didChange(event) {
    const doc = event.document;
    const uri = doc.uri.toString();
    if (!this.ready || !this.open.has(uri) || event.contentChanges.length === 0) return;
    // VS Code orders the changes of one event so that applying them in sequence is correct.
    const contentChanges =
      this.syncKind === SYNC_FULL ? [{ text: doc.getText() }] : event.contentChanges.map(toLspChange);
    this.client.notify('textDocument/didChange', { textDocument: { uri, version: doc.version }, contentChanges });
  }

  didClose(doc) {
    const uri = doc.uri.toString();
    if (!this.ready || !this.open.delete(uri)) return;
    this.client.notify('textDocument/didClose', { textDocument: { uri } });
  }

  didSave(doc) {
    const uri = doc.uri.toString();
    if (this.ready && this.open.has(uri)) this.client.notify('textDocument/didSave', { textDocument: { uri } });
  }

  /** Pushes the current settings to the server. */
  configurationChanged() {
    if (!this.ready) return;
    this.client.notify('workspace/didChangeConfiguration', { settings: { understudy: serverSettings(this.config()) } });
    this.host.status.set(this.config().get('enabled') === false ? 'disabled' : 'ready');
  }

  /** Sends a request once initialized; resolves to null when cancelled. */
  async request(method, params, token) {
    if (!this.ready) return null;
    try {
      return await this.client.request(method, params, token);
    } catch (err) {
      if (err.code === ErrorCodes.RequestCancelled || err.code === -32801) return null;
      this.host.output.appendLine(`${method} failed: ${err.message}`);
      return null;
    }
  }

  onExit(code, signal, err) {
    this.ready = false;
    this.open.clear();
    for (const entry of this.progress.values()) entry.resolve();
    this.progress.clear();
    if (this.stopping) return;
    const reason = err ? err.message : `exited with code ${code}${signal ? `, signal ${signal}` : ''}`;
    this.host.output.appendLine(`server ${reason}`);
    this.host.status.set('error', reason);
    this.host.onCrash(reason);
  }

  /** Shuts the server down politely. */
  async stop() {
    this.stopping = true;
    this.ready = false;
    if (this.client) await this.client.stop();
  }
}

module.exports = { Session, serverSettings };
