#!/usr/bin/node
// Servers that pushcat's integration tests talk to, all on 127.0.0.1:
//
//   node pushcat_servers.js ws PORT [--deflate] [--tls CERT KEY]
//        [--client-ca CERT] [--max-tls TLSv1.2]
//   node pushcat_servers.js faye PORT
//   node pushcat_servers.js tlsfront PORT BACKEND_PORT CERT KEY
//
// Prints "ready PORT" once listening, then one line per event the tests
// check: "open PATH PROTOCOL EXTENSIONS SNI", "header NAME VALUE" for the
// X-Test-*, Origin and Authorization request headers, "close CODE REASON".
//
// Echo servers: each message comes back with its type, except the
// commands "close CODE REASON" (the server closes with that code),
// "send N" (a binary message of N bytes) and "headers".  Path /protocol
// sends the chosen subprotocol first.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');

const [kind, portArg, ...rest] = process.argv.slice(2);
const port = +portArg;
const opt = (name) => { const i = rest.indexOf(name); return i < 0 ? null : rest.slice(i + 1); };
const say = (line) => process.stdout.write(line + '\n');

function command(text, close, send) {
  let m = /^close (\d+) ?(.*)$/.exec(text);
  if (m) { close(+m[1], m[2]); return true; }
  m = /^send (\d+)$/.exec(text);
  if (m) { send(Buffer.alloc(+m[1], 0x61), true); return true; }
  return false;
}

function logRequest(req, protocol, extensions) {
  say(`open ${req.url} ${protocol || '-'} ${extensions || '-'} ${req.socket.servername || '-'}`);
  for (const [name, value] of Object.entries(req.headers))
    if (/^(x-test-|origin$|authorization$)/.test(name)) say(`header ${name} ${value}`);
}

function httpServer() {
  const t = opt('--tls');
  if (!t) return http.createServer();
  const o = { cert: fs.readFileSync(t[0]), key: fs.readFileSync(t[1]) };
  const ca = opt('--client-ca');
  if (ca) Object.assign(o, { ca: fs.readFileSync(ca[0]), requestCert: true, rejectUnauthorized: true });
  const max = opt('--max-tls');
  if (max) o.maxVersion = max[0];
  return https.createServer(o);
}

if (kind === 'ws') {
  const WebSocket = require('/usr/share/nodejs/ws');
  const server = httpServer();
  const wss = new WebSocket.Server({
    server,
    perMessageDeflate: rest.includes('--deflate') ? { threshold: 0 } : false,
    maxPayload: 0,
    handleProtocols: (protocols) => (protocols.size ? protocols.values().next().value : false),
  });
  wss.on('connection', (ws, req) => {
    logRequest(req, ws.protocol, ws.extensions);
    if (req.url === '/protocol') ws.send(ws.protocol || '(none)');
    ws.on('message', (data, isBinary) => {
      if (!isBinary && command(data.toString(), (c, r) => ws.close(c, r), (d, b) => ws.send(d, { binary: b })))
        return;
      ws.send(data, { binary: isBinary });
    });
    ws.on('close', (code, reason) => say(`close ${code} ${reason.toString()}`));
    ws.on('error', (e) => say(`error ${e.message}`));
  });
  server.on('tlsClientError', (e) => say(`tlserror ${e.code || e.message}`));
  server.listen(port, '127.0.0.1', () => say(`ready ${server.address().port}`));
} else if (kind === 'faye') {
  const WebSocket = require('/usr/share/nodejs/faye-websocket');
  const server = http.createServer();
  server.on('upgrade', (req, socket, body) => {
    if (!WebSocket.isWebSocket(req)) return socket.destroy();
    const ws = new WebSocket(req, socket, body, ['chat', 'superchat']);
    logRequest(req, ws.protocol, null);
    ws.on('message', (ev) => {
      const text = typeof ev.data === 'string' ? ev.data : null;
      if (text !== null && command(text, (c, r) => ws.close(c, r), (d) => ws.send(d))) return;
      ws.send(ev.data);
    });
    ws.on('close', (ev) => say(`close ${ev.code} ${ev.reason}`));
  });
  server.listen(port, '127.0.0.1', () => say(`ready ${server.address().port}`));
} else if (kind === 'tlsfront') {
  // TLS termination in front of a plain server (pushpipe has no TLS
  // listener yet): bytes are piped both ways, half-closes included.
  const [backend, cert, key] = rest;
  const server = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), allowHalfOpen: true }, (c) => {
    const b = net.connect({ port: +backend, host: '127.0.0.1', allowHalfOpen: true });
    c.pipe(b);
    b.pipe(c);
    c.on('error', () => b.destroy());
    b.on('error', () => c.destroy());
  });
  server.on('tlsClientError', (e) => say(`tlserror ${e.code || e.message}`));
  server.listen(port, '127.0.0.1', () => say(`ready ${server.address().port}`));
} else {
  console.error('unknown server kind ' + kind);
  process.exit(2);
}
