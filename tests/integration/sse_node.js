#!/usr/bin/node
// pushpipe's EventSource against node's `eventsource` package (Debian's
// node-eventsource, a W3C EventSource implementation): open, message and
// named events, ids, retry, and the automatic reconnection that sends
// Last-Event-ID, which the handler then sees as LAST_EVENT_ID.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const EventSource = require('/usr/share/nodejs/eventsource');

const PUSHPIPE = process.env.PUSHPIPE || path.join(process.env.TOP_BUILDDIR || '.', 'pushpipe');
process.env.PUSHPIPE_ALLOW_ROOT = process.env.PUSHPIPE_ALLOW_ROOT || '1';
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
    if (ok) return { port, proc, url: `http://127.0.0.1:${port}/events` };
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

// Collect events of the given types until `done(list)` is true or timeout.
function collect(es, types, done, ms) {
  return new Promise((resolve, reject) => {
    const got = [];
    const t = setTimeout(() => reject(new Error('timeout; got ' + JSON.stringify(got))), ms || 10000);
    for (const type of types) {
      es.addEventListener(type, (e) => {
        got.push({ type, data: e.data, id: e.lastEventId });
        if (done(got)) { clearTimeout(t); resolve(got); }
      });
    }
  });
}

function handler(dir, name, text) {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text, { mode: 0o755 });
  return f;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushpipe-sse-node-'));

  // lines mode: open fires, each line is a message
  const lines = handler(dir, 'lines.sh', '#!/bin/sh\necho one\necho "two  spaces"\necho ü\nexec sleep 30\n');
  let p = await startPushpipe(['--', lines]);
  await check('lines mode: open, then one message per line', async () => {
    const es = new EventSource(p.url);
    const opened = new Promise((res) => { es.onopen = res; });
    const got = await collect(es, ['message'], (g) => g.length === 3);
    await opened;
    es.close();
    assert(JSON.stringify(got.map((e) => e.data)) === JSON.stringify(['one', 'two  spaces', 'ü']),
      JSON.stringify(got));
  });
  await stop(p);

  // raw mode: named events, ids, retry; the handler exits, the client
  // reconnects after `retry` ms with Last-Event-ID, the handler resumes.
  const raw = handler(dir, 'raw.sh', `#!/bin/sh
if [ -n "$LAST_EVENT_ID" ]; then
  printf 'event: resumed\\ndata: after %s\\n\\n' "$LAST_EVENT_ID"
  exec sleep 30
fi
printf 'retry: 200\\n\\n'
printf 'id: 1\\ndata: first\\n\\n'
printf 'event: tick\\nid: 2\\ndata: multi\\ndata: line\\n\\n'
`);
  p = await startPushpipe(['--sse', 'raw', '--', raw]);
  await check('raw mode: ids, named events, reconnect with Last-Event-ID', async () => {
    const es = new EventSource(p.url);
    const t0 = Date.now();
    const got = await collect(es, ['message', 'tick', 'resumed'], (g) => g.some((e) => e.type === 'resumed'));
    es.close();
    assert(got[0].type === 'message' && got[0].data === 'first' && got[0].id === '1', JSON.stringify(got));
    assert(got[1].type === 'tick' && got[1].data === 'multi\nline' && got[1].id === '2', JSON.stringify(got));
    const r = got.find((e) => e.type === 'resumed');
    assert(r.data === 'after 2', JSON.stringify(r));
    assert(Date.now() - t0 < 5000, 'reconnect took ' + (Date.now() - t0) + ' ms');
  });
  await stop(p);

  // --sse-retry from pushpipe, and a lastEventId the client sends itself
  const echo = handler(dir, 'echo.sh', '#!/bin/sh\necho "id=${LAST_EVENT_ID:-none}"\n');
  p = await startPushpipe(['--sse-retry', '150', '--', echo]);
  await check('--sse-retry makes the client come back quickly; query lastEventId', async () => {
    const es = new EventSource(p.url + '?lastEventId=7');
    const got = await collect(es, ['message'], (g) => g.length === 3);
    es.close();
    assert(got.every((e) => e.data === 'id=7'), JSON.stringify(got));
  });
  await stop(p);

  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`sse_node: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main();
