// Hookstack inspector — vanilla JavaScript, no build step. Everything from
// the server is put into the page with textContent (payloads are untrusted).
'use strict';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;
const LIST_LIMIT = 500;

// el builds an element: el('td', {className: 'x'}, 'text', child...).
function el(tag, props, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'dataset') Object.assign(n.dataset, v);
    else if (k.startsWith('aria-') || k === 'role' || k === 'for') n.setAttribute(k, v);
    else n[k] = v;
  }
  for (const c of children) if (c != null) n.append(c instanceof Node ? c : String(c));
  return n;
}

// api fetches a JSON route. It resolves to {ok, status, data, missing}:
// missing is true when the route does not exist on this server (404 from
// the API catch-all), so views can say "not available".
async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: {} };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, data: { error: 'the dev server does not answer: is hookstack dev running?' }, missing: false };
  }
  let data = null;
  const text = await r.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  const unrouted = r.status === 405 || (r.status === 404 && (!data || typeof data.error !== 'string' || /no such API route|404 page not found/i.test(data.error)));
  // A list route (opts.list) that answers 404 does not exist here at all.
  return { ok: r.ok, status: r.status, data, missing: unrouted || (!!opts.list && r.status === 404) };
}

function errText(res) {
  return (res.data && res.data.error) || ('HTTP ' + res.status);
}

function say(id, text, isError) {
  const n = $(id);
  n.textContent = text || '';
  n.classList.toggle('error', !!isError);
}

function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

// ---------- views ----------
const views = ['events', 'dlq', 'endpoints', 'send'];
let currentView = 'events';

function showView(name) {
  if (!views.includes(name)) name = 'events';
  currentView = name;
  for (const v of views) $('view-' + v).hidden = v !== name;
  for (const b of document.querySelectorAll('.tab')) {
    if (b.dataset.view === name) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
  if (name === 'dlq') loadDLQ();
  if (name === 'endpoints') loadEndpoints();
  if (name === 'send') loadSamples();
}

// ---------- received webhooks ----------
const events = new Map(); // id → summary
let selectedId = null;
let renderQueued = false;

function upsert(e) {
  const old = events.get(e.id);
  events.set(e.id, Object.assign({}, old, e));
}

function sortedEvents() {
  // ids are ULIDs: lexical order is time order. Newest first.
  return [...events.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function matches(e) {
  const p = $('f-provider').value, s = $('f-status').value;
  const text = $('f-text').value.trim().toLowerCase();
  if (p && e.provider !== p) return false;
  if (s && e.status !== s) return false;
  if (text) {
    const hay = [e.id, e.event_id, e.type, e.provider, e.status, e.reason, e.queue].join(' ').toLowerCase();
    if (!hay.includes(text)) return false;
  }
  return true;
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; renderEvents(); });
}

function renderEvents() {
  const all = sortedEvents();
  const shown = all.filter(matches);
  // Provider filter options: every provider seen.
  const sel = $('f-provider');
  const have = new Set([...sel.options].map((o) => o.value));
  for (const p of [...new Set(all.map((e) => e.provider))].sort()) {
    if (p && !have.has(p)) sel.append(el('option', { value: p }, p));
  }
  const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.id : null;
  const rows = shown.map((e) => {
    const status = el('td', { className: 'status' },
      el('span', { className: 'badge ' + e.status }, e.status || '?'));
    if (e.http_status && e.status === 'rejected') status.append(' ', el('span', { className: 'muted' }, String(e.http_status)));
    if (e.reason) status.append(el('span', { className: 'reason' }, e.reason));
    const tr = el('tr', {
      tabIndex: 0,
      dataset: { id: e.id, status: e.status || '', provider: e.provider || '' },
      'aria-selected': String(e.id === selectedId),
      'aria-label': `${e.provider} ${e.type || ''} ${e.status}${e.reason ? ': ' + e.reason : ''}, received ${fmtTime(e.received_at)}. Press Enter for details.`,
    },
    el('td', { title: e.received_at || '' }, fmtTime(e.received_at)),
    el('td', {}, e.provider || ''),
    el('td', { title: e.type || '' }, e.type || '—'),
    el('td', { className: 'mono', title: e.event_id || '' }, e.event_id || '—'),
    status,
    el('td', { className: 'num' }, e.receive_count != null ? String(e.receive_count) : ''),
    deliveriesCell(e.deliveries));
    return tr;
  });
  $('events').replaceChildren(...rows);
  $('events-empty').hidden = all.length > 0;
  $('events-nomatch').hidden = all.length === 0 || shown.length > 0;
  $('events-table').hidden = shown.length === 0;
  $('count').textContent = shown.length === all.length ? `${all.length} received` : `${shown.length} of ${all.length} shown`;
  if (focusedId) {
    const again = $('events').querySelector(`tr[data-id="${CSS.escape(focusedId)}"]`);
    if (again) again.focus();
  }
}

// deliveriesCell is the list's delivery indicator: "1/2" delivered of the
// deliveries made, with the newest attempt's outcome as a badge.
function deliveriesCell(d) {
  if (!d || !d.count) return el('td', { className: 'deliveries muted' }, '—');
  const text = `${d.delivered}/${d.count}`;
  return el('td', {
    className: 'deliveries',
    title: `${d.delivered} of ${d.count} deliveries delivered; newest attempt ${d.last_outcome} at ${d.last_at || ''}`,
    dataset: { outcome: d.last_outcome || '' },
  }, text, ' ', el('span', { className: 'badge ' + (d.last_outcome || '') }, d.last_outcome || ''));
}

function deliveriesKey(e) {
  const d = e && e.deliveries;
  return d ? `${d.count}/${d.delivered}/${d.last_outcome}/${d.last_at}` : '';
}

async function loadEvents() {
  const res = await api('/api/events?limit=' + LIST_LIMIT);
  if (!res.ok) {
    setConn('down', 'server unreachable');
    return false;
  }
  const seen = new Set();
  const before = deliveriesKey(events.get(selectedId));
  for (const e of res.data || []) { upsert(e); seen.add(e.id); }
  scheduleRender();
  if (selectedId && seen.has(selectedId)) {
    refreshDetailStatus();
    if (deliveriesKey(events.get(selectedId)) !== before) refreshDetailDeliveries();
  }
  return true;
}

// A delivery attempt names its notification, not the received event: the
// list (whose rows count their deliveries) is read again, at most every
// half second however many attempts arrive.
let deliveryReload = null;
function onDelivery() {
  if (deliveryReload) return;
  deliveryReload = setTimeout(() => { deliveryReload = null; loadEvents(); }, 500);
}

// ---------- live updates: SSE, polling as fallback ----------
let source = null, pollTimer = null, sseFailures = 0;

function setConn(kind, text) {
  const c = $('conn');
  c.className = 'conn ' + kind;
  c.textContent = text;
}

function startPolling() {
  if (pollTimer) return;
  setConn('polling', `polling every ${POLL_MS / 1000} s`);
  pollTimer = setInterval(async () => { if (await loadEvents()) setConn('polling', `polling every ${POLL_MS / 1000} s`); }, POLL_MS);
}

function stopPolling() {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
}

function startStream() {
  if (!('EventSource' in window)) { startPolling(); return; }
  source = new EventSource('/api/stream');
  source.addEventListener('hello', () => {
    sseFailures = 0;
    stopPolling();
    setConn('live', 'live');
    loadEvents(); // catch up on anything missed while (re)connecting
  });
  source.addEventListener('event', (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch { return; }
    upsert(e);
    scheduleRender();
    if (e.id === selectedId) refreshDetailStatus();
  });
  source.addEventListener('delivery', onDelivery);
  source.onerror = () => {
    sseFailures++;
    if (source.readyState === EventSource.CLOSED || sseFailures >= 3) {
      source.close();
      source = null;
      startPolling();
      // Try the stream again later.
      setTimeout(() => { if (!source) startStream(); }, 15000);
    }
  };
}

// ---------- detail ----------
let lastFocus = null;

function openDetail(id, opener) {
  selectedId = id;
  lastFocus = opener || document.activeElement;
  for (const tr of $('events').querySelectorAll('tr')) tr.setAttribute('aria-selected', String(tr.dataset.id === id));
  $('detail').hidden = false;
  document.querySelector('.split').classList.add('open');
  loadDetail(id);
}

function closeDetail() {
  if ($('detail').hidden) return;
  $('detail').hidden = true;
  document.querySelector('.split').classList.remove('open');
  selectedId = null;
  for (const tr of $('events').querySelectorAll('tr[aria-selected="true"]')) tr.setAttribute('aria-selected', 'false');
  if (lastFocus && document.contains(lastFocus)) lastFocus.focus();
}

let detailEntry = null;

async function loadDetail(id) {
  say('detail-msg', 'loading…');
  const res = await api('/api/events/' + encodeURIComponent(id));
  if (selectedId !== id) return;
  if (!res.ok) {
    say('detail-msg', errText(res), true);
    return;
  }
  say('detail-msg', '');
  const e = res.data;
  detailEntry = e;
  $('detail-title').textContent = `${e.provider} ${e.type || ''}`.trim();
  renderSummary(e);
  renderHeaders(e.headers || {});
  const body = prettyBody(e.body || '', contentType(e));
  $('detail-body-kind').textContent = body.kind ? `(${body.kind})` : '';
  $('detail-body').textContent = body.text || '(empty)';
  $('detail-envelope').textContent = e.envelope ? JSON.stringify(e.envelope, null, 2) : 'No envelope: the request was not queued.';
  $('replay').disabled = !e.envelope;
  $('detail').focus();
  loadOutcomes(e);
}

function refreshDetailStatus() {
  const s = events.get(selectedId);
  if (s && detailEntry && detailEntry.id === s.id) {
    Object.assign(detailEntry, { status: s.status, reason: s.reason, receive_count: s.receive_count });
    renderSummary(detailEntry);
  }
}

function renderSummary(e) {
  const rows = [
    ['Status', el('span', { className: 'badge ' + e.status, id: 'detail-status' }, e.status)],
    ['Reason', e.reason],
    ['Received', e.received_at ? `${fmtTime(e.received_at)} (${e.received_at})` : ''],
    ['Provider', e.provider],
    ['Type', e.type],
    ['Event id', e.event_id],
    ['Our id', e.id],
    ['Queue', e.queue],
    ['HTTP answer', e.http_status ? String(e.http_status) : ''],
    ['Receive count', e.receive_count != null ? String(e.receive_count) : ''],
  ];
  $('detail-summary').replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function renderHeaders(h) {
  const names = Object.keys(h).sort();
  if (!names.length) {
    $('detail-headers').replaceChildren(el('tr', {}, el('td', {}, '(none recorded)')));
    return;
  }
  $('detail-headers').replaceChildren(...names.map((k) =>
    el('tr', {}, el('td', {}, k), el('td', {}, [].concat(h[k]).join(', ')))));
}

function contentType(e) {
  const h = e.headers || {};
  for (const k of Object.keys(h)) if (k.toLowerCase() === 'content-type') return [].concat(h[k])[0] || '';
  return (e.envelope && e.envelope.content_type) || '';
}

// prettyBody pretty-prints JSON, indents XML, lays out form fields.
function prettyBody(body, ctype) {
  const t = body.trim();
  if (!t) return { text: '', kind: '' };
  if (/json/i.test(ctype) || t[0] === '{' || t[0] === '[') {
    try { return { text: JSON.stringify(JSON.parse(t), null, 2), kind: 'JSON' }; } catch { /* not JSON after all */ }
  }
  if (/xml/i.test(ctype) || t[0] === '<') return { text: indentXML(t), kind: 'XML' };
  if (/x-www-form-urlencoded/i.test(ctype) || /^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(t)) {
    try {
      const lines = [];
      for (const [k, v] of new URLSearchParams(t)) {
        let val = v;
        try { const j = JSON.parse(v); if (j && typeof j === 'object') val = JSON.stringify(j, null, 2); } catch { /* plain value */ }
        lines.push(`${k} = ${val}`);
      }
      return { text: lines.join('\n'), kind: 'form' };
    } catch { /* fall through */ }
  }
  return { text: body, kind: '' };
}

// indentXML puts each tag on its own line, indented by depth; a text-only
// element stays on one line.
function indentXML(xml) {
  const tokens = xml.replace(/>\s+</g, '><').split(/(<[^>]+>)/).filter((s) => s.trim() !== '');
  const out = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    const isTag = tok.startsWith('<');
    if (isTag && tok.startsWith('</')) {
      depth = Math.max(0, depth - 1);
      out.push('  '.repeat(depth) + tok);
    } else if (isTag && !tok.startsWith('<?') && !tok.startsWith('<!') && !tok.endsWith('/>')) {
      // <a>text</a> on one line.
      if (i + 2 < tokens.length && !tokens[i + 1].startsWith('<') && tokens[i + 2].startsWith('</')) {
        out.push('  '.repeat(depth) + tok + tokens[i + 1].trim() + tokens[i + 2]);
        i += 2;
      } else {
        out.push('  '.repeat(depth) + tok);
        depth++;
      }
    } else {
      out.push('  '.repeat(depth) + tok.trim());
    }
  }
  return out.join('\n');
}

// Records named by a notification subject ("payment:pi_1" → /api/payments/pi_1).
const recordRoutes = { payment: 'payments', subscription: 'subscriptions', inventory: 'inventory', lead: 'leads', chat: 'chats' };

function recordPath(subject) {
  const i = (subject || '').indexOf(':');
  if (i < 0) return null;
  const route = recordRoutes[subject.slice(0, i)];
  return route ? `/api/${route}/${encodeURIComponent(subject.slice(i + 1))}` : null;
}

function belongsTo(n, e) {
  if (!e.event_id) return false;
  if (typeof n.id === 'string' && n.id.startsWith(e.event_id + ':')) return true;
  const ev = n.event || {};
  return ev.source_event_id === e.event_id && (!ev.source || ev.source === e.provider);
}

async function loadOutcomes(e) {
  const notesBox = $('detail-notifications'), delBox = $('detail-deliveries');
  if (!e.envelope) {
    notesBox.replaceChildren(el('p', { className: 'muted' }, 'None: the request was not accepted.'));
    delBox.replaceChildren(el('p', { className: 'muted' }, 'None.'));
    return;
  }
  notesBox.replaceChildren(el('p', { className: 'muted' }, 'loading…'));
  delBox.replaceChildren();
  detailNotes = null;
  const res = await api('/api/notifications?limit=1000', { list: true });
  if (selectedId !== e.id) return;
  if (res.missing) { notesBox.replaceChildren(el('p', { className: 'muted' }, 'Not available on this server.')); return; }
  if (!res.ok) { notesBox.replaceChildren(el('p', { className: 'error' }, errText(res))); return; }
  const notes = (res.data || []).filter((n) => belongsTo(n, e));
  if (!notes.length) {
    const why = e.status === 'queued' ? 'not processed yet' : e.status === 'processed' ? 'this event changed no record and emitted nothing' : 'the event was not processed';
    notesBox.replaceChildren(el('p', { className: 'muted', id: 'no-notifications' }, `No domain events (${why}).`));
    delBox.replaceChildren(el('p', { className: 'muted' }, 'No deliveries.'));
    return;
  }
  const items = [];
  const subjects = new Set();
  for (const n of notes) {
    const li = el('li', { dataset: { notification: n.id } },
      el('span', { className: 'badge processed' }, n.type), ' ',
      el('span', { className: 'mono' }, n.subject || ''), ' ',
      el('span', { className: 'muted' }, fmtTime(n.created_at)));
    items.push(li);
    if (n.subject) subjects.add(n.subject);
  }
  const children = [el('ul', { className: 'notes' }, ...items)];
  for (const subject of subjects) {
    const path = recordPath(subject);
    if (!path) continue;
    const box = el('div', { className: 'note' },
      el('strong', {}, 'Record '), el('a', { href: path, target: '_blank', rel: 'noopener' }, subject));
    const pre = el('pre', { tabIndex: 0, 'aria-label': 'Record ' + subject }, 'loading…');
    box.append(pre);
    children.push(box);
    api(path).then((r) => { pre.textContent = r.ok ? JSON.stringify(r.data, null, 2) : errText(r); });
  }
  notesBox.replaceChildren(...children);
  detailNotes = notes;
  loadDeliveries(e, notes, delBox);
}

// The notifications of the open detail, for refreshDetailDeliveries.
let detailNotes = null;

function refreshDetailDeliveries() {
  if (!detailEntry || detailEntry.id !== selectedId) return;
  if (detailNotes) loadDeliveries(detailEntry, detailNotes, $('detail-deliveries'));
  else loadOutcomes(detailEntry); // its notifications were not there yet
}

async function loadDeliveries(e, notes, box) {
  const rows = [];
  for (const n of notes) {
    const res = await api('/api/deliveries?notification_id=' + encodeURIComponent(n.id), { list: true });
    if (selectedId !== e.id) return;
    if (res.missing) { box.replaceChildren(el('p', { className: 'muted', id: 'deliveries-unavailable' }, 'Delivery log not available on this server.')); return; }
    if (!res.ok) { box.replaceChildren(el('p', { className: 'error' }, errText(res))); return; }
    for (const d of res.data || []) rows.push(d);
  }
  if (!rows.length) { box.replaceChildren(el('p', { className: 'muted' }, 'No delivery attempts (no endpoint subscribes to these events).')); return; }
  const head = el('tr', {}, ...['When', 'Event', 'Endpoint', 'Attempt', 'Outcome', 'HTTP', 'Latency', 'Response'].map((h) => el('th', { scope: 'col' }, h)));
  box.replaceChildren(el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows.map((d) => el('tr', {},
    el('td', {}, fmtTime(d.attempted_at)),
    el('td', {}, d.event_type || d.notification_id || ''),
    el('td', { className: 'mono' }, d.endpoint_id || ''),
    el('td', { className: 'num' }, d.attempt != null ? String(d.attempt) : ''),
    el('td', {}, el('span', { className: 'badge ' + (d.outcome || '') }, d.outcome || ''), d.reason || d.error ? el('span', { className: 'reason' }, d.reason || d.error) : null),
    el('td', {}, d.status_code ? String(d.status_code) : '—'),
    el('td', { className: 'num' }, d.duration_ms != null ? d.duration_ms + ' ms' : ''),
    el('td', { className: 'mono' }, (d.response || '').slice(0, 200)))))));
}

async function replay() {
  if (!detailEntry) return;
  $('replay').disabled = true;
  const res = await api('/api/events/' + encodeURIComponent(detailEntry.id) + '/replay', { method: 'POST' });
  $('replay').disabled = false;
  if (res.missing) say('detail-msg', 'Replay is not available on this server.', true);
  else if (!res.ok) say('detail-msg', errText(res), true);
  else say('detail-msg', `Replayed onto ${res.data.queue} (message ${res.data.message_id}).`);
}

// ---------- dead letters ----------
function dlqMessages(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.messages)) return data.messages;
  return [];
}

async function loadDLQ() {
  const box = $('dlq-body');
  const res = await api('/api/dlq', { list: true });
  if (res.missing) {
    $('dlq-redrive').disabled = true;
    box.replaceChildren(el('div', { className: 'empty', id: 'dlq-unavailable' }, 'The dead-letter view is not available on this server (GET /api/dlq answered 404).'));
    return;
  }
  if (!res.ok) { say('dlq-msg', errText(res), true); return; }
  const list = dlqMessages(res.data);
  $('dlq-redrive').disabled = list.length === 0;
  if (!list.length) { box.replaceChildren(el('div', { className: 'empty', id: 'dlq-empty' }, 'No dead letters. Messages that fail maxReceiveCount times, or that can never succeed, land here.')); return; }
  const head = el('tr', {}, ...['Queue', 'Event', 'Reason', 'Dead since', ''].map((h) => el('th', { scope: 'col' }, h)));
  box.replaceChildren(el('table', { id: 'dlq-table' }, el('thead', {}, head), el('tbody', {}, ...list.map((m) => {
    const q = m.queue || m.source || '';
    const btn = el('button', { type: 'button', 'aria-label': 'Redrive every message of ' + q }, 'Redrive queue');
    btn.onclick = () => redrive(q);
    return el('tr', { dataset: { id: m.message_id || m.id || '' } },
      el('td', {}, q),
      el('td', { className: 'mono' }, [m.event_type, m.event_id || m.message_id || m.id].filter(Boolean).join(' ')),
      el('td', {}, el('span', { className: 'reason' }, m.reason || (m.attributes && m.attributes.reason) || '')),
      el('td', { title: m.sent_at || '' }, fmtTime(m.sent_at || m.dead_at || m.created_at)),
      el('td', {}, btn));
  }))));
}

// redrive moves dead letters back to their queues: every DLQ, or one.
async function redrive(queue) {
  $('dlq-redrive').disabled = true;
  say('dlq-msg', 'redriving…');
  const res = await api('/api/dlq/redrive', { method: 'POST', body: typeof queue === 'string' && queue ? { queue } : {} });
  if (res.missing) say('dlq-msg', 'Redrive is not available on this server.', true);
  else if (!res.ok) say('dlq-msg', errText(res), true);
  else {
    const moved = res.data && (res.data.moved ?? res.data.redriven ?? res.data.count);
    say('dlq-msg', moved != null ? `Redrove ${moved} message(s).` : 'Redrive done.');
  }
  loadDLQ();
  loadEvents();
}

// ---------- endpoints ----------
async function loadEndpoints() {
  const box = $('endpoints-body');
  const res = await api('/api/endpoints', { list: true });
  if (res.missing) {
    $('ep-add').disabled = true;
    box.replaceChildren(el('div', { className: 'empty', id: 'endpoints-unavailable' }, 'Endpoints are not available on this server (GET /api/endpoints answered 404).'));
    return;
  }
  $('ep-add').disabled = false;
  if (!res.ok) { say('endpoints-msg', errText(res), true); return; }
  const list = Array.isArray(res.data) ? res.data : [];
  if (!list.length) { box.replaceChildren(el('div', { className: 'empty', id: 'endpoints-empty' }, 'No endpoints yet: add one above to receive domain events.')); return; }
  const head = el('tr', {}, ...['Type', 'URL', 'Events', 'State', 'Created', ''].map((h) => el('th', { scope: 'col' }, h)));
  box.replaceChildren(el('table', { id: 'endpoints-table' }, el('thead', {}, head), el('tbody', {}, ...list.map((ep) => {
    const disable = el('button', { type: 'button', disabled: !ep.enabled, 'aria-label': 'Disable endpoint ' + ep.url }, 'Disable');
    disable.onclick = () => endpointAction(ep, 'disable');
    const rotate = el('button', { type: 'button', 'aria-label': 'Rotate the signing secret of ' + ep.url }, 'Rotate secret');
    rotate.onclick = () => endpointAction(ep, 'rotate-secret');
    return el('tr', { dataset: { id: ep.id || '' } },
      el('td', {}, ep.type || ''),
      el('td', { className: 'mono' }, ep.url || ''),
      el('td', {}, (ep.events || []).join(', ')),
      el('td', {}, el('span', { className: 'badge ' + (ep.enabled ? 'processed' : 'disabled') }, ep.enabled ? 'enabled' : 'disabled'),
        ep.disabled_reason ? el('span', { className: 'reason' }, ep.disabled_reason) : null),
      el('td', {}, fmtTime(ep.created_at)),
      el('td', {}, disable, ' ', rotate));
  }))));
}

function showSecret(text, secret) {
  const n = $('endpoints-msg');
  n.classList.remove('error');
  n.replaceChildren(text, secret ? el('div', { className: 'secret mono', id: 'endpoint-secret' }, secret) : '');
}

function secretOf(data) {
  if (!data) return '';
  if (typeof data.secret === 'string') return data.secret;
  if (Array.isArray(data.secrets) && data.secrets.length) return data.secrets[0];
  return '';
}

async function endpointAction(ep, action) {
  const res = await api(`/api/endpoints/${encodeURIComponent(ep.id)}/${action}`, { method: 'POST', body: {} });
  if (res.missing) say('endpoints-msg', `This server cannot ${action.replace('-', ' ')} endpoints yet.`, true);
  else if (!res.ok) say('endpoints-msg', errText(res), true);
  else if (action === 'rotate-secret') showSecret(`New signing secret for ${ep.url} (shown once; the old one keeps working for a while):`, secretOf(res.data));
  else say('endpoints-msg', `Disabled ${ep.url}.`);
  loadEndpoints();
}

async function addEndpoint(ev) {
  ev.preventDefault();
  const body = {
    type: $('ep-type').value,
    url: $('ep-url').value.trim(),
    events: $('ep-events').value.split(',').map((s) => s.trim()).filter(Boolean),
  };
  if (!body.url) { say('endpoints-msg', 'Enter the URL to deliver to.', true); $('ep-url').focus(); return; }
  $('ep-add').disabled = true;
  const res = await api('/api/endpoints', { method: 'POST', body });
  $('ep-add').disabled = false;
  if (res.missing) say('endpoints-msg', 'This server cannot add endpoints yet.', true);
  else if (!res.ok) say('endpoints-msg', errText(res), true);
  else {
    $('ep-url').value = '';
    showSecret(`Added ${body.url}. Signing secret (shown once):`, secretOf(res.data));
  }
  loadEndpoints();
}

// ---------- send test event ----------
let samples = null;

async function loadSamples() {
  if (samples) return;
  const res = await api('/api/samples', { list: true });
  if (res.missing || !res.ok) {
    say('send-msg', res.missing ? 'Sending samples is not available on this server.' : errText(res), true);
    $('send-submit').disabled = true;
    return;
  }
  samples = res.data || [];
  const providers = [...new Set(samples.map((s) => s.provider))];
  $('send-provider').replaceChildren(...providers.map((p) => el('option', { value: p }, p)));
  fillSendTypes();
}

function fillSendTypes() {
  const p = $('send-provider').value;
  $('send-type').replaceChildren(...(samples || []).filter((s) => s.provider === p)
    .map((s) => el('option', { value: s.event }, s.event === s.type ? s.event : `${s.event} (${s.type})`)));
}

async function sendTest(ev) {
  ev.preventDefault();
  const body = { provider: $('send-provider').value, type: $('send-type').value };
  $('send-submit').disabled = true;
  say('send-msg', 'sending…');
  const res = await api('/api/samples/send', { method: 'POST', body });
  $('send-submit').disabled = false;
  if (!res.ok) { say('send-msg', errText(res), true); return; }
  const r = res.data;
  const n = $('send-msg');
  n.classList.toggle('error', !r.ok);
  const text = `${body.provider} ${r.type}: HTTP ${r.status}${r.event_id ? ', event ' + r.event_id : ''}. `;
  if (r.id) {
    const open = el('button', { type: 'button', id: 'send-open' }, 'Open it');
    open.onclick = () => { showView('events'); loadEvents().then(() => openDetail(r.id, null)); };
    n.replaceChildren(text, open);
  } else {
    n.replaceChildren(text + (typeof r.response === 'string' ? r.response : JSON.stringify(r.response)));
  }
  loadEvents();
}

// ---------- wiring ----------
function init() {
  $('hook-url').textContent = location.origin + '/webhooks/<provider>';
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => showView(b.dataset.view));
  for (const id of ['f-provider', 'f-status']) $(id).addEventListener('change', renderEvents);
  $('f-text').addEventListener('input', renderEvents);
  $('events').addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (tr) openDetail(tr.dataset.id, tr);
  });
  $('events').addEventListener('keydown', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (!tr) return;
    if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openDetail(tr.dataset.id, tr); }
    else if (ev.key === 'ArrowDown' && tr.nextElementSibling) { ev.preventDefault(); tr.nextElementSibling.focus(); }
    else if (ev.key === 'ArrowUp' && tr.previousElementSibling) { ev.preventDefault(); tr.previousElementSibling.focus(); }
  });
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeDetail(); });
  $('detail-close').addEventListener('click', closeDetail);
  $('replay').addEventListener('click', replay);
  $('dlq-refresh').addEventListener('click', loadDLQ);
  $('dlq-redrive').addEventListener('click', () => redrive(''));
  $('endpoints-refresh').addEventListener('click', loadEndpoints);
  $('endpoint-form').addEventListener('submit', addEndpoint);
  $('send-provider').addEventListener('change', fillSendTypes);
  $('send-form').addEventListener('submit', sendTest);
  window.addEventListener('hashchange', () => showView(location.hash.slice(1)));

  showView(location.hash.slice(1) || 'events');
  loadEvents().then(startStream);
}

document.addEventListener('DOMContentLoaded', init);
