'use strict';
// A small, dependency-free LSP client: spawns the server, frames JSON-RPC messages
// with Content-Length headers, matches responses to requests, cancels through
// $/cancelRequest, and routes server requests/notifications to handlers.
// It does not import 'vscode', so plain node can test it.

const { spawn } = require('child_process');
const { EventEmitter } = require('events');

/** JSON-RPC error codes the client produces or reacts to. */
const ErrorCodes = Object.freeze({
  MethodNotFound: -32601,
  InternalError: -32603,
  RequestCancelled: -32800,
});

/** An error response from the server, or a request that ended without one. */
class ResponseError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = 'ResponseError';
    this.code = code;
    this.data = data;
  }
}

/** Splits a byte stream into JSON-RPC messages; headers or bodies may span chunks. */
class MessageReader {
  constructor() {
    this.buffer = Buffer.alloc(0);
    this.expected = -1; // body length once a header was read
  }

  /** Appends `chunk` and returns every complete message body (as a string) it finished. */
  push(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const bodies = [];
    for (;;) {
      if (this.expected < 0) {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end < 0) break;
        const header = this.buffer.subarray(0, end).toString('ascii');
        this.buffer = this.buffer.subarray(end + 4);
        this.expected = parseContentLength(header);
      }
      if (this.buffer.length < this.expected) break;
      bodies.push(this.buffer.subarray(0, this.expected).toString('utf8'));
      this.buffer = this.buffer.subarray(this.expected);
      this.expected = -1;
    }
    return bodies;
  }
}

function parseContentLength(header) {
  for (const line of header.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-length') {
      const value = Number(line.slice(colon + 1).trim());
      if (Number.isInteger(value) && value >= 0) return value;
      throw new Error(`bad Content-Length header: ${JSON.stringify(line)}`);
    }
  }
  throw new Error(`message header without Content-Length: ${JSON.stringify(header)}`);
}

/** Frames one message for the wire. */
function encodeMessage(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

/**
 * A connection to one server process.
 * Events: 'exit' (code, signal), 'stderr' (text), 'protocolError' (Error), 'trace' (direction, message).
 */
class LspClient extends EventEmitter {
  /** @param {{command: string, args?: string[], cwd?: string, env?: object}} options */
  constructor(options) {
    super();
    this.options = options;
    this.process = null;
    this.reader = new MessageReader();
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, method, dispose}
    this.requestHandlers = new Map();
    this.notificationHandlers = new Map();
    this.exited = false;
  }

  /** Starts the server process; throws if it cannot be spawned. */
  start() {
    const { command, args = [], cwd, env } = this.options;
    const child = spawn(command, args, { cwd, env: env || process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.process = child;
    child.stdout.on('data', (chunk) => this.onData(chunk));
    child.stderr.on('data', (chunk) => this.emit('stderr', chunk.toString('utf8')));
    child.stdin.on('error', () => {}); // EPIPE after the server died; 'exit' reports it
    child.on('error', (err) => this.onExit(null, null, err));
    child.on('exit', (code, signal) => this.onExit(code, signal));
  }

  onData(chunk) {
    let bodies;
    try {
      bodies = this.reader.push(chunk);
    } catch (err) {
      // The stream is unrecoverable once framing is lost.
      this.emit('protocolError', err);
      this.kill();
      return;
    }
    for (const body of bodies) {
      let message;
      try {
        message = JSON.parse(body);
      } catch (err) {
        this.emit('protocolError', new Error(`invalid JSON from server: ${err.message}`));
        continue;
      }
      this.emit('trace', 'receive', message);
      this.dispatch(message);
    }
  }

  dispatch(message) {
    if (message.method !== undefined && message.id !== undefined) {
      this.handleServerRequest(message);
    } else if (message.method !== undefined) {
      const handler = this.notificationHandlers.get(message.method);
      if (handler) {
        try {
          handler(message.params);
        } catch (err) {
          this.emit('protocolError', err);
        }
      }
    } else if (message.id !== undefined) {
      const entry = this.pending.get(message.id);
      if (!entry) return; // answer to a request we already gave up on
      this.pending.delete(message.id);
      entry.dispose();
      if (message.error) {
        entry.reject(new ResponseError(message.error.code, message.error.message, message.error.data));
      } else {
        entry.resolve(message.result === undefined ? null : message.result);
      }
    }
  }

  async handleServerRequest(message) {
    const handler = this.requestHandlers.get(message.method);
    if (!handler) {
      this.write({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: ErrorCodes.MethodNotFound, message: `client does not handle ${message.method}` },
      });
      return;
    }
    try {
      const result = await handler(message.params);
      this.write({ jsonrpc: '2.0', id: message.id, result: result === undefined ? null : result });
    } catch (err) {
      this.write({
        jsonrpc: '2.0',
        id: message.id,
        error: { code: ErrorCodes.InternalError, message: String((err && err.message) || err) },
      });
    }
  }

  write(message) {
    if (this.exited || !this.process) return false;
    this.emit('trace', 'send', message);
    this.process.stdin.write(encodeMessage(message));
    return true;
  }

  /**
   * Sends a request. `token` is a VS Code-style CancellationToken (isCancellationRequested,
   * onCancellationRequested); when it fires the client sends $/cancelRequest and rejects
   * with ResponseError(RequestCancelled) without waiting for the server.
   */
  request(method, params, token) {
    return new Promise((resolve, reject) => {
      if (this.exited || !this.process) {
        reject(new ResponseError(ErrorCodes.InternalError, `server is not running (${method})`));
        return;
      }
      if (token && token.isCancellationRequested) {
        reject(new ResponseError(ErrorCodes.RequestCancelled, `${method} cancelled`));
        return;
      }
      const id = this.nextId++;
      let subscription = null;
      const entry = { resolve, reject, method, dispose: () => subscription && subscription.dispose() };
      this.pending.set(id, entry);
      if (token) {
        subscription = token.onCancellationRequested(() => {
          if (!this.pending.has(id)) return;
          this.pending.delete(id);
          entry.dispose();
          this.notify('$/cancelRequest', { id });
          reject(new ResponseError(ErrorCodes.RequestCancelled, `${method} cancelled`));
        });
      }
      this.write({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** Sends a notification. */
  notify(method, params) {
    this.write({ jsonrpc: '2.0', method, params });
  }

  /** Handles server-to-client requests of `method`; the handler may return a promise. */
  onRequest(method, handler) {
    this.requestHandlers.set(method, handler);
  }

  /** Handles server-to-client notifications of `method`. */
  onNotification(method, handler) {
    this.notificationHandlers.set(method, handler);
  }

  onExit(code, signal, err) {
    if (this.exited) return;
    this.exited = true;
    const reason = err ? `could not start server: ${err.message}` : `server exited (code ${code}, signal ${signal})`;
    for (const [, entry] of this.pending) {
      entry.dispose();
      entry.reject(new ResponseError(ErrorCodes.InternalError, `${reason} before answering ${entry.method}`));
    }
    this.pending.clear();
    this.emit('exit', code, signal, err);
  }

  /** Polite stop: shutdown request, exit notification, then kill after `timeoutMs`. */
  async stop(timeoutMs = 2000) {
    if (this.exited || !this.process) return;
    const exited = new Promise((resolve) => this.once('exit', resolve));
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      await Promise.race([this.request('shutdown', null), exited]);
      this.notify('exit', null);
      this.process.stdin.end();
    } catch (_) {
      this.kill();
    }
    await exited;
    clearTimeout(timer);
  }

  kill() {
    if (this.process && !this.exited) this.process.kill('SIGKILL');
  }
}

module.exports = { LspClient, MessageReader, ResponseError, ErrorCodes, encodeMessage };
