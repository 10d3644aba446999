// The chat page: one WebSocket to /broadcast/ROOM.  Messages travel as one
// JSON line each ({"type":"say","name":..,"text":..}); the handler does not
// look inside, it only hands every line to everybody in the room, the
// sender included, so a message shows up here when the room has it.
// Lines that are not our JSON (say, `redis-cli PUBLISH pushpipe:lobby hi`)
// are shown as they are.
'use strict';
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const list = $('messages'), text = $('text'), stateEl = $('state');

function randomName() { return 'guest-' + Math.floor(1000 + Math.random() * 9000); }
let room = params.get('room') || localStorage.getItem('pushpipe.room') || 'lobby';
let name = params.get('name') || localStorage.getItem('pushpipe.name') || randomName();
$('room').value = room;
$('name').value = name;
$('room-label').textContent = room;

let ws = null, retry = 0, timer = null;

function setState(s) {
  stateEl.textContent = s;
  stateEl.className = 'state ' + s;
  text.disabled = $('send').disabled = s !== 'open';
  if (s === 'open') text.focus();
}

function show(cls, who, body) {
  const li = document.createElement('li');
  li.className = cls;
  if (who) {
    const w = document.createElement('span');
    w.className = 'who';
    w.textContent = who;
    li.appendChild(w);
  }
  li.appendChild(document.createTextNode(body));
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  list.appendChild(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function send(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

function onLine(line) {
  let m = null;
  try { m = JSON.parse(line); } catch (e) { /* not ours: show it raw */ }
  if (!m || typeof m !== 'object') { show('', 'server', line); return; }
  if (m.type === 'say') show(m.name === name ? 'mine' : '', m.name === name ? 'you' : String(m.name), String(m.text));
  else if (m.type === 'join') show('note', '', String(m.name) + ' joined');
  else if (m.type === 'leave') show('note', '', String(m.name) + ' left');
  else if (m.type === 'rename') show('note', '', String(m.from) + ' is now ' + String(m.name));
  else show('', 'server', line);
}

function connect() {
  clearTimeout(timer);
  setState(retry ? 'reconnecting' : 'connecting');
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/broadcast/' + encodeURIComponent(room);
  const sock = new WebSocket(url);
  ws = sock;
  sock.onopen = () => {
    retry = 0;
    setState('open');
    show('note', '', 'connected to room ' + room);
    send({ type: 'join', name });
  };
  sock.onmessage = (e) => { if (typeof e.data === 'string') onLine(e.data); };
  sock.onclose = (e) => {
    if (ws !== sock) return;          // replaced on purpose (room change)
    ws = null;
    setState('closed');
    show('note', '', 'disconnected (' + e.code + '); reconnecting…');
    // Back off 0.5 s, 1 s, 2 s ... up to 10 s.
    timer = setTimeout(connect, Math.min(10000, 500 * 2 ** retry++));
  };
}

$('send-form').onsubmit = (e) => {
  e.preventDefault();
  const t = text.value.trim();
  if (!t) return;
  send({ type: 'say', name, text: t });
  text.value = '';
};
$('name').onchange = () => {
  const n = $('name').value.trim() || randomName();
  if (n !== name) send({ type: 'rename', name: n, from: name });
  name = n;
  $('name').value = n;
  localStorage.setItem('pushpipe.name', n);
};
$('room').onchange = () => {
  const r = $('room').value.trim();
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/.test(r) || r === room) { $('room').value = room; return; }
  send({ type: 'leave', name });
  room = r;
  localStorage.setItem('pushpipe.room', r);
  $('room-label').textContent = r;
  list.textContent = '';
  const old = ws;
  ws = null;
  if (old) old.close(1000);
  retry = 0;
  connect();
};
window.addEventListener('beforeunload', () => send({ type: 'leave', name }));
connect();
