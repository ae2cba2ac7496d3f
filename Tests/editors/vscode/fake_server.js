'use strict';
// A scripted LSP peer on stdio for lspClient.test.js. It answers by method name:
//   echo          -> result = params
//   slow          -> answers after params.ms milliseconds with params.value
//   hang          -> never answers until $/cancelRequest, then answers -32800 (late, ignored)
//   fail          -> error response with code params.code
//   askClient     -> sends the client a request (params.method, params.params), answers with its reply
//   received      -> result = list of every message received so far
//   crash         -> exits with code params.code without answering
//   shutdown      -> null; `exit` ends the process with code 0
// Every message is written to stdout in pieces of FAKE_CHUNK bytes (default: all at once),
// with a short pause between pieces, to exercise the client's reassembly.

const received = [];
const hanging = new Map();
const waitingOnClient = new Map();
let nextServerId = 1000;
const chunkSize = Number(process.env.FAKE_CHUNK || 0);

let queue = Promise.resolve();
function send(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const bytes = Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
  queue = queue.then(async () => {
    if (!chunkSize) return void process.stdout.write(bytes);
    for (let i = 0; i < bytes.length; i += chunkSize) {
      process.stdout.write(bytes.subarray(i, i + chunkSize));
      await new Promise((r) => setTimeout(r, 1));
    }
  });
}

function handle(msg) {
  received.push(msg);
  if (msg.method === undefined) {
    const reply = waitingOnClient.get(msg.id);
    if (reply) {
      waitingOnClient.delete(msg.id);
      send({ jsonrpc: '2.0', id: reply, result: msg.error ? { error: msg.error } : { result: msg.result } });
    }
    return;
  }
  const { id, method, params } = msg;
  switch (method) {
    case 'echo':
      return send({ jsonrpc: '2.0', id, result: params });
    case 'slow':
      return void setTimeout(() => send({ jsonrpc: '2.0', id, result: params.value }), params.ms);
    case 'hang':
      return void hanging.set(id, true);
    case '$/cancelRequest':
      if (hanging.delete(params.id)) {
        send({ jsonrpc: '2.0', id: params.id, error: { code: -32800, message: 'cancelled' } });
      }
      return;
    case 'fail':
      return send({ jsonrpc: '2.0', id, error: { code: params.code, message: 'failed on purpose' } });
    case 'askClient': {
      const serverId = nextServerId++;
      waitingOnClient.set(serverId, id);
      return send({ jsonrpc: '2.0', id: serverId, method: params.method, params: params.params });
    }
    case 'notifyClient':
      send({ jsonrpc: '2.0', method: params.method, params: params.params });
      return send({ jsonrpc: '2.0', id, result: null });
    case 'received':
      return send({ jsonrpc: '2.0', id, result: received.slice(0, -1) });
    case 'crash':
      return void queue.then(() => process.exit(params.code));
    case 'shutdown':
      return send({ jsonrpc: '2.0', id, result: null });
    case 'exit':
      return void queue.then(() => process.exit(0));
  }
}

let buffer = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const length = Number(/content-length:\s*(\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    handle(JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString('utf8')));
    buffer = buffer.subarray(end + 4 + length);
  }
});
