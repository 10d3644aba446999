// The demo page: one WebSocket per card, to the handler of the same name.
'use strict';
function wsUrl(path) {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
}

function log(list, text, cls) {
  const li = document.createElement('li');
  li.textContent = text;
  if (cls) li.className = cls;
  list.appendChild(li);
  list.scrollTop = list.scrollHeight;
}

const echoLog = document.getElementById('echo-log');
const echo = new WebSocket(wsUrl('/echo'));
echo.onmessage = (e) => log(echoLog, '← ' + e.data);
echo.onclose = (e) => log(echoLog, 'closed (' + e.code + ')', 'sent');
document.getElementById('echo-form').onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById('echo-input');
  if (!input.value) return;
  echo.send(input.value);
  log(echoLog, '→ ' + input.value, 'sent');
  input.value = '';
};

const clock = new WebSocket(wsUrl('/clock'));
clock.onmessage = (e) => {
  // 2026-11-27T14:53:09Z: the time large, the date below it.
  document.getElementById('clock').textContent = e.data.slice(11, 19) + ' UTC';
  document.getElementById('clock-date').textContent = e.data.slice(0, 10);
};
clock.onclose = () => { document.getElementById('clock').textContent = 'disconnected'; };
