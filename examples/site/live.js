// The live page: two EventSources.  /clock sends the time every second;
// /tail/FILE sends each new line of FILE with `id:` set, so after pushpipe
// restarts (or the network drops) the browser reconnects with
// Last-Event-ID and the handler continues after that line.
'use strict';
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const file = params.get('file') || 'pushpipe.log';
$('file-label').textContent = file;

function setState(el, s) {
  el.textContent = s;
  el.className = 'state ' + s;
}

// What the page has seen, for people and for the browser tests.
const stats = window.liveStats = { lines: 0, reconnects: 0, lastId: '', opens: 0 };

const clock = new EventSource('/clock');
clock.onopen = () => setState($('clock-state'), 'open');
clock.onmessage = (e) => { $('clock').textContent = e.data.replace('T', ' ').replace('Z', ' UTC'); };
clock.onerror = () => setState($('clock-state'), clock.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');

const list = $('tail');
function note(text) {
  const li = document.createElement('li');
  li.className = 'note';
  li.textContent = text;
  list.appendChild(li);
  list.scrollTop = list.scrollHeight;
}

const tail = new EventSource('/tail/' + encodeURIComponent(file));
tail.onopen = () => {
  if (stats.opens++) {
    stats.reconnects++;
    $('reconnects').textContent = stats.reconnects;
    note('reconnected' + (stats.lastId ? ', resuming after byte ' + stats.lastId : ''));
  }
  setState($('tail-state'), 'open');
};
tail.onmessage = (e) => {
  const li = document.createElement('li');
  li.dataset.id = e.lastEventId;
  const id = document.createElement('span');
  id.className = 'id';
  id.textContent = e.lastEventId;
  const text = document.createElement('span');
  text.className = 'line';
  text.textContent = e.data;
  li.append(id, text);
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  list.appendChild(li);
  if (list.children.length > 500) list.removeChild(list.firstChild);
  if (atBottom) list.scrollTop = list.scrollHeight;
  stats.lines++;
  stats.lastId = e.lastEventId;
  $('count').textContent = stats.lines;
  $('last-id').textContent = e.lastEventId || 'none';
};
// The handler refused (no such file, no PUSHPIPE_TAIL_DIR ...): say why
// and stop, rather than reconnect forever.
tail.addEventListener('failure', (e) => {
  tail.close();
  setState($('tail-state'), 'closed');
  note('tail: ' + e.data);
});
tail.onerror = () => {
  if (tail.readyState === EventSource.CLOSED) {
    setState($('tail-state'), 'closed');
    note('the server refused the stream');
  } else {
    setState($('tail-state'), 'reconnecting');
  }
};
