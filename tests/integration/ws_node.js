#!/usr/bin/node
// pushpipe against node `ws` (Debian's node-ws): framed and lines echo with
// `cat`, large, fragmented and empty messages, ping/pong, close codes.
'use strict';
const { spawn } = require('child_process');
const net = require('net');
const path = require('path');
const WebSocket = require('/usr/share/nodejs/ws');

const PUSHPIPE = process.env.PUSHPIPE || path.join(process.env.TOP_BUILDDIR || '.', 'pushpipe');
let passed = 0, failed = 0;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startPushpipe(args) {
  const port = await freePort();
  const proc = spawn(PUSHPIPE, ['--listen', `127.0.0.1:${port}`, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
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

function open(url, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, Object.assign({ perMessageDeflate: false, maxPayload: 0 }, opts || {}));
    const queue = [], waiters = [];
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

function assert(cond, msg) { if (!cond) throw new Error(msg); }

async function check(name, fn) {
  try { await fn(); passed++; console.log('ok   ' + name); }
  catch (e) { failed++; console.log('FAIL ' + name + ': ' + (e.stack || e)); }
}

async function main() {
  let p = await startPushpipe(['--mode', 'framed', '--', 'cat']);
  await check('framed: text, binary, empty, 1 MiB, 16 MiB exact echo', async () => {
    const ws = await open(p.url);
    const cases = [['hello', false], ['', false], ['a\nb\n', false], [Buffer.alloc(0), true],
      [Buffer.from([0, 255, 10, 13]), true], [require('crypto').randomBytes(1 << 20), true],
      [require('crypto').randomBytes(16 << 20), true], ['é'.repeat(300000), false]];
    for (const [msg, bin] of cases) {
      ws.send(msg, { binary: bin });
      const m = await ws.next();
      assert(m.isBinary === bin, 'type differs');
      assert(Buffer.compare(Buffer.from(m.data), Buffer.from(msg)) === 0, 'payload differs');
    }
    ws.close(1000);
    const c = await ws.closed;
    assert(c.code === 1000, 'close code ' + c.code);
  });
  await check('framed: fragmented message and ping between fragments', async () => {
    const ws = await open(p.url);
    ws.send('frag', { fin: false });
    ws.ping(Buffer.from('between'));
    const pong = new Promise((res) => ws.once('pong', res));
    ws.send('mented', { fin: true });
    const got = await pong;
    assert(got.toString() === 'between', 'pong payload ' + got);
    const m = await ws.next();
    assert(m.data.toString() === 'fragmented' && !m.isBinary, 'got ' + m.data);
    ws.close();
    await ws.closed;
  });
  await stop(p);

  p = await startPushpipe(['--', 'cat']);
  await check('lines: echo like websocketd', async () => {
    const ws = await open(p.url);
    ws.send('hello');
    assert((await ws.next()).data.toString() === 'hello', 'hello');
    ws.send('x\ny');
    assert((await ws.next()).data.toString() === 'x', 'x');
    assert((await ws.next()).data.toString() === 'y', 'y');
    ws.close(1000, 'done');
    const c = await ws.closed;
    assert(c.code === 1000, 'close code ' + c.code);
  });
  await stop(p);

  p = await startPushpipe(['--', 'sh', '-c', 'echo oops; exit 1']);
  await check('handler failure closes with 1011', async () => {
    const ws = await open(p.url);
    assert((await ws.next()).data.toString() === 'oops', 'oops');
    const c = await ws.closed;
    assert(c.code === 1011, 'close code ' + c.code);
  });
  await stop(p);

  console.log(`ws_node: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((e) => { console.log('FAIL ' + e.stack); process.exit(1); });
