'use strict';
// node --test Tests/editors/vscode/*.test.js
const nodeTest = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { LspClient, MessageReader, ResponseError, ErrorCodes, encodeMessage } = require(
  '../../../editors/vscode/lspClient.js',
);

const FAKE = path.join(__dirname, 'fake_server.js');

// A hung client must fail its test, not stall the run.
const test = (name, fn) => nodeTest(name, { timeout: 10000 }, fn);

/** The shape of VS Code's CancellationTokenSource, enough for the client. */
function tokenSource() {
  const listeners = [];
  const token = {
    isCancellationRequested: false,
    onCancellationRequested(fn) {
      listeners.push(fn);
      return { dispose: () => listeners.splice(listeners.indexOf(fn), 1) };
    },
  };
  return {
    token,
    listeners,
    cancel() {
      token.isCancellationRequested = true;
      for (const fn of [...listeners]) fn();
    },
  };
}

function startFake(env = {}) {
  const client = new LspClient({ command: process.execPath, args: [FAKE], env: { ...process.env, ...env } });
  const protocolErrors = [];
  client.on('protocolError', (e) => protocolErrors.push(e));
  client.start();
  return { client, protocolErrors };
}

test('reader reassembles messages split at every byte, including inside UTF-8 sequences', () => {
  const messages = [
    { jsonrpc: '2.0', id: 1, result: 'é😀 naïve' },
    { jsonrpc: '2.0', method: 'x', params: { text: '\r\n\r\nContent-Length: 5' } },
  ];
  const bytes = Buffer.concat(messages.map(encodeMessage));
  const reader = new MessageReader();
  const out = [];
  for (let i = 0; i < bytes.length; i++) out.push(...reader.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(out.map((b) => JSON.parse(b)), messages);
  assert.equal(reader.buffer.length, 0);
});

test('reader returns several messages from one chunk and accepts extra headers in any case', () => {
  const body = '{"jsonrpc":"2.0","id":7,"result":null}';
  const framed = `content-length: ${body.length}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n${body}`;
  const reader = new MessageReader();
  assert.deepEqual(reader.push(Buffer.from(framed + framed + framed.slice(0, 10))), [body, body]);
  assert.deepEqual(reader.push(Buffer.from(framed.slice(10))), [body]);
});

test('reader rejects a header without Content-Length', () => {
  const reader = new MessageReader();
  assert.throws(() => reader.push(Buffer.from('Content-Type: x\r\n\r\n{}')), /without Content-Length/);
});

test('encodeMessage counts bytes, not characters', () => {
  const framed = encodeMessage({ s: '😀' }).toString('utf8');
  assert.equal(framed, 'Content-Length: 12\r\n\r\n{"s":"😀"}');
});

test('responses match requests even when they arrive out of order', async () => {
  const { client } = startFake();
  const slow = client.request('slow', { ms: 150, value: 'slow' });
  const fast = client.request('slow', { ms: 5, value: 'fast' });
  const echo = client.request('echo', { a: [1, 2, { b: 'ü' }] });
  const order = [];
  await Promise.all([
    slow.then((v) => order.push(v)),
    fast.then((v) => order.push(v)),
    echo.then((v) => assert.deepEqual(v, { a: [1, 2, { b: 'ü' }] })),
  ]);
  assert.deepEqual(order, ['fast', 'slow']);
  await client.stop();
});

test('server responses dribbled one byte at a time are reassembled', async () => {
  const { client, protocolErrors } = startFake({ FAKE_CHUNK: '1' });
  const results = await Promise.all([1, 2, 3].map((n) => client.request('echo', { n, text: 'é😀' })));
  assert.deepEqual(results, [1, 2, 3].map((n) => ({ n, text: 'é😀' })));
  assert.equal(protocolErrors.length, 0);
  await client.stop();
});

test('error responses reject with the server code and message', async () => {
  const { client } = startFake();
  await assert.rejects(client.request('fail', { code: -32602 }), (err) => {
    assert.ok(err instanceof ResponseError);
    assert.equal(err.code, -32602);
    assert.equal(err.message, 'failed on purpose');
    return true;
  });
  await client.stop();
});

test('cancelling sends $/cancelRequest with the request id and rejects at once', async () => {
  const { client } = startFake();
  const source = tokenSource();
  const hung = client.request('hang', {}, source.token);
  assert.equal(source.listeners.length, 1);
  await client.request('echo', 1); // the hang request is surely on the server now
  source.cancel();
  await assert.rejects(hung, (err) => err.code === ErrorCodes.RequestCancelled);
  assert.equal(source.listeners.length, 0, 'the cancellation listener is disposed');
  const received = await client.request('received', null);
  const hangId = received.find((m) => m.method === 'hang').id;
  const cancels = received.filter((m) => m.method === '$/cancelRequest');
  assert.deepEqual(cancels.map((m) => m.params), [{ id: hangId }]);
  assert.equal(cancels[0].id, undefined, '$/cancelRequest is a notification');
  // The server's late -32800 answer for the cancelled id is ignored; the client keeps working.
  assert.equal(await client.request('echo', 'still alive'), 'still alive');
  assert.equal(client.pending.size, 0);
  await client.stop();
});

test('a token cancelled before sending sends nothing', async () => {
  const { client } = startFake();
  const source = tokenSource();
  source.cancel();
  await assert.rejects(client.request('echo', 1, source.token), (err) => err.code === ErrorCodes.RequestCancelled);
  const received = await client.request('received', null);
  assert.deepEqual(received.map((m) => m.method), []);
  await client.stop();
});

test('a listener disposed after a normal answer does not cancel later', async () => {
  const { client } = startFake();
  const source = tokenSource();
  assert.equal(await client.request('echo', 'x', source.token), 'x');
  assert.equal(source.listeners.length, 0);
  source.cancel();
  const received = await client.request('received', null);
  assert.equal(received.filter((m) => m.method === '$/cancelRequest').length, 0);
  await client.stop();
});

test('server requests reach handlers; unknown ones get MethodNotFound', async () => {
  const { client } = startFake();
  client.onRequest('workspace/configuration', async (params) => params.items.map((i) => ({ section: i.section })));
  client.onRequest('boom', () => {
    throw new Error('handler broke');
  });
  const ok = await client.request('askClient', {
    method: 'workspace/configuration',
    params: { items: [{ section: 'understudy' }] },
  });
  assert.deepEqual(ok, { result: [{ section: 'understudy' }] });
  const unknown = await client.request('askClient', { method: 'window/unknown', params: {} });
  assert.equal(unknown.error.code, ErrorCodes.MethodNotFound);
  const broken = await client.request('askClient', { method: 'boom', params: {} });
  assert.deepEqual(broken.error, { code: ErrorCodes.InternalError, message: 'handler broke' });
  await client.stop();
});

test('server notifications reach their handler', async () => {
  const { client } = startFake();
  const got = new Promise((resolve) => client.onNotification('window/logMessage', resolve));
  await client.request('notifyClient', { method: 'window/logMessage', params: { type: 3, message: 'hi' } });
  assert.deepEqual(await got, { type: 3, message: 'hi' });
  await client.stop();
});

test('server exit rejects pending requests and reports the exit code', async () => {
  const { client } = startFake();
  const exit = new Promise((resolve) => client.on('exit', (code) => resolve(code)));
  const pending = client.request('hang', {});
  const crash = client.request('crash', { code: 3 });
  await assert.rejects(pending, /server exited \(code 3.*before answering hang/);
  await assert.rejects(crash, /before answering crash/);
  assert.equal(await exit, 3);
  await assert.rejects(client.request('echo', 1), /server is not running/);
  client.notify('anything', {}); // no throw after exit
});

test('stop() sends shutdown then exit and the server ends with code 0', async () => {
  const { client } = startFake();
  const exit = new Promise((resolve) => client.on('exit', (code) => resolve(code)));
  await client.request('echo', 1);
  await client.stop();
  assert.equal(await exit, 0);
});

test('a command that cannot be spawned reports exit with the error', async () => {
  const client = new LspClient({ command: '/nonexistent/understudy', args: ['serve'] });
  const exit = new Promise((resolve) => client.on('exit', (code, signal, err) => resolve(err)));
  client.start();
  const err = await exit;
  assert.match(err.message, /ENOENT/);
});
