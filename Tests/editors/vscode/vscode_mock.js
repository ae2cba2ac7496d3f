'use strict';
// Just enough of the `vscode` module for extension.test.js to run the extension under
// plain node: the classes it constructs, the registration calls it makes (captured so
// the test can call the providers), events the test can fire, and a configuration store.

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}

class Range {
  constructor(sl, sc, el, ec) {
    this.start = sl instanceof Position ? sl : new Position(sl, sc);
    this.end = sl instanceof Position ? sc : new Position(el, ec);
  }
}

class Emitter {
  constructor() {
    this.listeners = [];
    this.event = (fn) => {
      this.listeners.push(fn);
      return { dispose: () => this.listeners.splice(this.listeners.indexOf(fn), 1) };
    };
  }
  fire(value) {
    for (const fn of [...this.listeners]) fn(value);
  }
}

class Uri {
  constructor(value) {
    this.value = value;
    this.scheme = value.split(':')[0];
    this.fsPath = value.replace(/^file:\/\//, '');
  }
  static parse(value) {
    return new Uri(value);
  }
  toString() {
    return this.value;
  }
}

/** A text document whose edits fire onDidChangeTextDocument with UTF-16 ranges, like VS Code's. */
class TextDocument {
  constructor(uri, languageId, text) {
    this.uri = Uri.parse(uri);
    this.languageId = languageId;
    this.text = text;
    this.version = 1;
  }
  getText() {
    return this.text;
  }
  offsetAt(p) {
    const lines = this.text.split('\n');
    let offset = 0;
    for (let i = 0; i < p.line; i++) offset += lines[i].length + 1;
    return offset + p.character;
  }
  lineAt(line) {
    return { text: this.text.split('\n')[line] };
  }
  edit(range, text) {
    const a = this.offsetAt(range.start);
    const b = this.offsetAt(range.end);
    this.text = this.text.slice(0, a) + text + this.text.slice(b);
    this.version++;
    workspaceEvents.change.fire({ document: this, contentChanges: [{ range, rangeLength: b - a, text }] });
  }
}

class WorkspaceEdit {
  constructor() {
    this.edits = [];
  }
  replace(uri, range, newText) {
    this.edits.push({ uri: uri.toString(), range, newText });
  }
  createFile(uri) {
    this.edits.push({ create: uri.toString() });
  }
  renameFile(from, to) {
    this.edits.push({ rename: [from.toString(), to.toString()] });
  }
  deleteFile(uri) {
    this.edits.push({ delete: uri.toString() });
  }
}

class CodeActionKind {
  constructor(value) {
    this.value = value;
  }
  append(part) {
    return new CodeActionKind(this.value ? `${this.value}.${part}` : part);
  }
}
CodeActionKind.Empty = new CodeActionKind('');
CodeActionKind.RefactorRewrite = new CodeActionKind('refactor.rewrite');

const settings = {};
const workspaceEvents = {
  open: new Emitter(),
  change: new Emitter(),
  close: new Emitter(),
  save: new Emitter(),
  configuration: new Emitter(),
};
const registered = { inline: [], codeActions: [], commands: {} };
const output = [];
const messages = [];
const applied = [];
const inputs = [];

const workspace = {
  textDocuments: [],
  workspaceFolders: undefined,
  getConfiguration: (section) => ({
    get: (key) => settings[`${section}.${key}`],
    update: async (key, value) => {
      settings[`${section}.${key}`] = value;
      workspaceEvents.configuration.fire({ affectsConfiguration: (s) => `${section}.${key}`.startsWith(s) });
    },
  }),
  applyEdit: async (edit) => {
    applied.push(edit);
    return true;
  },
  onDidOpenTextDocument: workspaceEvents.open.event,
  onDidChangeTextDocument: workspaceEvents.change.event,
  onDidCloseTextDocument: workspaceEvents.close.event,
  onDidSaveTextDocument: workspaceEvents.save.event,
  onDidChangeConfiguration: workspaceEvents.configuration.event,
};

const show = (level) => async (message) => {
  messages.push(`${level}: ${message}`);
  return undefined;
};

module.exports = {
  Position,
  Range,
  Uri,
  WorkspaceEdit,
  CodeActionKind,
  SnippetString: class {
    constructor(value) {
      this.value = value;
    }
  },
  InlineCompletionItem: class {
    constructor(insertText, range, command) {
      Object.assign(this, { insertText, range, command });
    }
  },
  InlineCompletionList: class {
    constructor(items) {
      this.items = items;
    }
  },
  CodeAction: class {
    constructor(title, kind) {
      Object.assign(this, { title, kind });
    }
  },
  ThemeColor: class {
    constructor(id) {
      this.id = id;
    }
  },
  InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  ConfigurationTarget: { Global: 1 },
  env: { appName: 'Mock Code' },
  version: '1.99.0',
  workspace,
  window: {
    createOutputChannel: () => ({
      append: (t) => output.push(t),
      appendLine: (t) => output.push(`${t}\n`),
      show() {},
      dispose() {},
    }),
    createStatusBarItem: () => ({ show() {}, dispose() {} }),
    showErrorMessage: show('error'),
    showWarningMessage: show('warning'),
    showInformationMessage: show('info'),
    withProgress: (options, task) => {
      messages.push(`progress: ${options.title}`);
      return task({ report() {} }, { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) });
    },
    // Test hooks: the editor commands act on, and the answers input boxes give (in order).
    activeTextEditor: undefined,
    showInputBox: async (options) => {
      messages.push(`input: ${options.prompt}`);
      return inputs.shift();
    },
  },
  languages: {
    registerInlineCompletionItemProvider: (selector, provider) => {
      registered.inline.push({ selector, provider });
      return { dispose() {} };
    },
    registerCodeActionsProvider: (selector, provider) => {
      registered.codeActions.push({ selector, provider });
      return { dispose() {} };
    },
    match: (selector, doc) =>
      selector.some((s) => s.scheme === doc.uri.scheme && (!s.language || s.language === doc.languageId)) ? 10 : 0,
  },
  commands: {
    registerCommand: (name, fn) => {
      registered.commands[name] = fn;
      return { dispose() {} };
    },
  },
  // Test-only handles.
  _test: { settings, workspaceEvents, registered, output, messages, applied, inputs, TextDocument },
};
