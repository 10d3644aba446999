#!/usr/bin/node
// Issue 4 with node clients: `ws` with perMessageDeflate (defaults and every
// parameter), --no-deflate, lines mode; faye-websocket's client (subprotocol,
// ping callback, close codes) and its websocket-driver used directly; and
// faye-websocket's own draft-75/76 *server* as the reference for pushpipe's
// hixie handshake bytes.
'use strict';
const { spawn } = require('child_process');
const crypto = require('crypto');
const http = require('http');
const net = require('net');
const path = require('path');
// Debian's node looks in /usr/share/nodejs for the modules that
// faye-websocket requires by name; another node build (nodesource) does
// not, so it is added to the global search path.
if (!(process.env.NODE_PATH || '').split(':').includes('/usr/share/nodejs')) {
  process.env.NODE_PATH = ['/usr/share/nodejs', process.env.NODE_PATH].filter(Boolean).join(':');
  require('module').Module._initPaths();
}
const WebSocket = require('/usr/share/nodejs/ws');
const Faye = require('/usr/share/nodejs/faye-websocket');
const Driver = require('/usr/share/nodejs/websocket-driver');

const PUSHPIPE = process.env.PUSHPIPE || path.join(process.env.TOP_BUILDDIR || '.', 'pushpipe');
// Handlers refuse to run as root unless told.
const ROOT = process.getuid && process.getuid() === 0 ? ['--allow-root'] : [];
let passed = 0, failed = 0;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startPushpipe(args) {
  const port = await freePort();
  const proc = spawn(PUSHPIPE, ['--listen', `127.0.0.1:${port}`, ...ROOT, ...args],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 500; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return { port, proc, url: `ws://127.0.0.1:${port}/` };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('pushpipe did not start');
}

function stop(p) {
  return new Promise((resolve) => { p.proc.on('exit', resolve); p.proc.kill('SIGTERM'); });
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }

async function check(name, fn) {
  try { await fn(); passed++; console.log('ok   ' + name); }
  catch (e) { failed++; console.log('FAIL ' + name + ': ' + (e.stack || e)); }
}

// A `ws` client with a message queue; resolves once open, with the
// Sec-WebSocket-Extensions response header in ws.extHeader.
function open(url, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, Object.assign({ maxPayload: 0 }, opts || {}));
    const queue = [], waiters = [];
    ws.on('upgrade', (res) => { ws.extHeader = res.headers['sec-websocket-extensions']; });
    ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      if (waiters.length) waiters.shift()(m); else queue.push(m);
    });
    ws.next = () => new Promise((res, rej) => {
      if (queue.length) return res(queue.shift());
      const t = setTimeout(() => rej(new Error('timeout waiting for a message')), 10000);
      waiters.push((m) => { clearTimeout(t); res(m); });
    });
    ws.closed = new Promise((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

function words(n, seed) {
  const w = ['alpha', 'beta', 'gamma', 'ü', '✓', 'push', 'pipe', 'x'];
  const out = [];
  let size = 0, i = seed;
  while (size < n) {
    i = (i * 1103515245 + 12345) & 0x7fffffff;
    const word = w[i % w.length] + ' ';
    out.push(word);
    size += Buffer.byteLength(word);
  }
  return out.join('');
}

async function echo(ws, msg, binary) {
  ws.send(msg, { binary });
  const m = await ws.next();
  assert(m.isBinary === binary, 'type differs');
  assert(Buffer.compare(Buffer.from(m.data), Buffer.from(msg)) === 0, 'payload differs');
}

async function deflateEchoes(ws) {
  const text = words(200000, 1);
  for (let i = 0; i < 2; i++) await echo(ws, text, false);
  await echo(ws, 'short', false);
  await echo(ws, '', false);
  await echo(ws, Buffer.alloc(0), true);
  await echo(ws, crypto.randomBytes(1 << 20), true);
  const before = ws._socket.bytesRead;
  await echo(ws, Buffer.alloc(4 << 20), true);
  // 4 MiB of zeros came back compressed, so far fewer bytes were read.
  const read = ws._socket.bytesRead - before;
  assert(read < 100000, `server did not compress: ${read} bytes for 4 MiB of zeros`);
}

async function main() {
  let p = await startPushpipe(['--mode', 'framed', '--', 'cat']);
  await check('ws perMessageDeflate: true: negotiated, compressed echo both ways', async () => {
    const ws = await open(p.url, { perMessageDeflate: true });
    assert(ws.extHeader === 'permessage-deflate', 'header ' + ws.extHeader);
    assert(ws.extensions === 'permessage-deflate', 'extensions ' + ws.extensions);
    await deflateEchoes(ws);
    ws.close(1000);
    assert((await ws.closed).code === 1000, 'close code');
  });
  const variants = [
    [{ serverNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover'],
    [{ clientNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover'],
    [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10'],
    [{ clientMaxWindowBits: 9 }, 'permessage-deflate; client_max_window_bits=9'],
    [{ serverMaxWindowBits: 9, clientMaxWindowBits: 15, serverNoContextTakeover: true,
      clientNoContextTakeover: true, threshold: 0 },
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; ' +
      'server_max_window_bits=9; client_max_window_bits=15'],
  ];
  for (const [opts, want] of variants) {
    await check('ws perMessageDeflate ' + JSON.stringify(opts), async () => {
      const ws = await open(p.url, { perMessageDeflate: opts });
      assert(ws.extHeader === want, 'header ' + ws.extHeader);
      await deflateEchoes(ws);
      ws.close();
      await ws.closed;
    });
  }
  await check('ws serverMaxWindowBits: 8 is declined (zlib cannot): no extension, still works', async () => {
    const ws = await open(p.url, { perMessageDeflate: { serverMaxWindowBits: 8 } });
    assert(ws.extHeader === undefined && ws.extensions === '', 'header ' + ws.extHeader);
    await echo(ws, words(10000, 2), false);
    ws.close();
    await ws.closed;
  });
  await stop(p);

  p = await startPushpipe(['--no-deflate', '--mode', 'framed', '--', 'cat']);
  await check('--no-deflate: no Sec-WebSocket-Extensions even when offered', async () => {
    const ws = await open(p.url, { perMessageDeflate: true });
    assert(ws.extHeader === undefined && ws.extensions === '', 'header ' + ws.extHeader);
    await echo(ws, words(100000, 3), false);
    const before = ws._socket.bytesRead;
    await echo(ws, Buffer.alloc(1 << 20), true);
    assert(ws._socket.bytesRead - before >= 1 << 20, 'compressed without the extension?');
    ws.close();
    await ws.closed;
  });
  await stop(p);

  p = await startPushpipe(['--', 'cat']);
  await check('ws perMessageDeflate in lines mode', async () => {
    const ws = await open(p.url, { perMessageDeflate: { threshold: 0 } });
    assert(ws.extHeader === 'permessage-deflate', 'header ' + ws.extHeader);
    const line = words(300000, 4);
    for (const m of ['hello', 'ünï', line, line]) {
      ws.send(m);
      assert((await ws.next()).data.toString() === m, 'echo');
    }
    ws.send('a\nb');
    assert((await ws.next()).data.toString() === 'a', 'a');
    assert((await ws.next()).data.toString() === 'b', 'b');
    ws.close();
    await ws.closed;
  });
  await stop(p);

  p = await startPushpipe(['--protocol', 'a', '--protocol', 'b', '--mode', 'framed', '--',
    'sh', '-c', 'printf "t %d\\n%s\\n" ${#PUSHPIPE_WS_PROTOCOL} "$PUSHPIPE_WS_PROTOCOL"; exec cat']);
  await check('faye-websocket client: subprotocol by the client\'s order, echo, ping callback', async () => {
    const ws = new Faye.Client(p.url, ['b', 'a']);
    const msgs = [];
    let waiter = null;
    ws.on('message', (e) => { if (waiter) { const w = waiter; waiter = null; w(e.data); } else msgs.push(e.data); });
    const next = () => new Promise((res, rej) => {
      if (msgs.length) return res(msgs.shift());
      const t = setTimeout(() => rej(new Error('timeout')), 10000);
      waiter = (d) => { clearTimeout(t); res(d); };
    });
    await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
    assert(ws.protocol === 'b', 'protocol ' + ws.protocol);
    assert(ws.headers['sec-websocket-protocol'] === 'b', 'header');
    assert((await next()) === 'b', 'handler saw the protocol');
    ws.send('hello ü');
    assert((await next()) === 'hello ü', 'text echo');
    ws.send(Buffer.from([0, 1, 255]));
    const b = await next();
    assert(Buffer.isBuffer(b) && Buffer.compare(b, Buffer.from([0, 1, 255])) === 0, 'binary echo');
    await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error('no pong')), 5000);
      ws.ping('are you there', () => { clearTimeout(t); res(); });
    });
    const closed = new Promise((res) => ws.on('close', (e) => res(e.code)));
    ws.close(4000, 'bye');
    assert((await closed) === 4000, 'close code');
  });
  await check('faye-websocket client: no common subprotocol: none, and the handler sees none', async () => {
    const ws = new Faye.Client(p.url, ['c']);
    const got = new Promise((res) => ws.on('message', (e) => res(e.data)));
    await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
    assert(!ws.protocol, 'protocol ' + ws.protocol);
    assert((await got) === '', 'handler saw ' + (await got));
    ws.close();
  });
  await stop(p);

  p = await startPushpipe(['--', 'sh', '-c', 'read x; echo "got $x"; exit 3']);
  await check('faye-websocket client: handler failure is 1011', async () => {
    const ws = new Faye.Client(p.url);
    const got = new Promise((res) => ws.on('message', (e) => res(e.data)));
    const closed = new Promise((res) => ws.on('close', (e) => res(e.code)));
    ws.on('open', () => ws.send('it'));
    assert((await got) === 'got it', 'message');
    assert((await closed) === 1011, 'close code');
  });
  await stop(p);

  p = await startPushpipe(['--mode', 'framed', '--', 'cat']);
  await check('websocket-driver client over a raw socket: text, binary, ping, close', async () => {
    const sock = net.connect(p.port, '127.0.0.1');
    const driver = Driver.client(p.url);
    sock.pipe(driver.io).pipe(sock);
    const msgs = [];
    driver.messages.on('data', (d) => msgs.push(d));
    await new Promise((res, rej) => {
      driver.on('open', res);
      driver.on('error', (e) => rej(e.message ? new Error(e.message) : e));
      sock.on('connect', () => driver.start());
    });
    assert(driver.getState() === 'open', 'state');
    driver.text('über');
    driver.binary(Buffer.from('bin'));
    const pong = new Promise((res) => driver.ping('p1', res));
    await pong;
    for (let i = 0; i < 200 && msgs.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert(msgs[0] === 'über', 'text ' + msgs[0]);
    assert(Buffer.isBuffer(msgs[1]) && msgs[1].toString() === 'bin', 'binary');
    const closed = new Promise((res) => driver.on('close', (e) => res(e.code)));
    driver.close('done', 1000);
    assert((await closed) === 1000, 'close code');
    sock.destroy();
  });
  await stop(p);

  // faye-websocket's draft-75/76 server is the reference pushpipe follows:
  // the same request must get the same bytes back.
  const ref = http.createServer();
  ref.on('upgrade', (req, socket, body) => {
    const ws = new Faye(req, socket, body);
    ws.on('message', (e) => ws.send(e.data));
  });
  await new Promise((res) => ref.listen(0, '127.0.0.1', res));
  p = await startPushpipe(['--', 'cat']);
  const exchange = (port, request, want) => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => { s.destroy(); reject(new Error('short answer: ' + buf.toString('latin1'))); }, 5000);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0 && buf.length >= end + 4 + want) { clearTimeout(t); s.destroy(); resolve(buf); }
    });
    s.on('error', reject);
  });
  const req76 = 'GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nUpgrade: WebSocket\r\n' +
    'Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\n^n:ds[4U' +
    '\x00echo\xff';
  const req75 = 'GET /demo HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n' +
    'Host: example.com\r\nOrigin: http://example.com\r\n\r\n\x00echo\xff';
  for (const [name, req, extra] of [['draft-76', req76, 16 + 6], ['draft-75', req75, 6]]) {
    await check(`${name}: pushpipe answers byte for byte as faye-websocket does`, async () => {
      const theirs = await exchange(ref.address().port, Buffer.from(req, 'latin1'), extra);
      const ours = await exchange(p.port, Buffer.from(req, 'latin1'), extra);
      assert(Buffer.compare(theirs, ours) === 0,
        `faye: ${JSON.stringify(theirs.toString('latin1'))}\npushpipe: ${JSON.stringify(ours.toString('latin1'))}`);
      if (name === 'draft-76') assert(ours.toString('latin1').includes("\r\n\r\n8jKS'y:G*Co,Wxa-\x00echo\xff"), 'answer');
    });
  }
  await stop(p);
  ref.close();

  console.log(`ws_protocols_node: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((e) => { console.log('FAIL ' + e.stack); process.exit(1); });
