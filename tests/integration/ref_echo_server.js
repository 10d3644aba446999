// ref_echo_server.js - a reference echo server for conformance.py.
//
// node's `ws` passes the Autobahn|Testsuite server cases without failures,
// so conformance.py must pass 100% against this server before its verdicts
// on pushpipe mean anything.
//
// usage: node ref_echo_server.js PORT
'use strict';

const WebSocket = require('/usr/share/nodejs/ws');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write('usage: node ref_echo_server.js PORT\n');
    process.exit(2);
}

const wss = new WebSocket.WebSocketServer({
    host: '127.0.0.1',
    port: port,
    maxPayload: 64 * 1024 * 1024,
    perMessageDeflate: false,
});

wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    // A protocol error is reported here after ws has sent its close frame;
    // without a listener node would treat it as unhandled.
    ws.on('error', () => {});
});

wss.on('listening', () => process.stdout.write(`listening on ${port}\n`));
