/// The console's script (`GET /console/console.js`). The admin token comes from the sign-in
/// form or from `#token=<token>` (a fragment: never sent to a server, so never in access logs
/// or Referer headers), is kept in session storage (gone with the tab) and is sent only as
/// `Authorization: Bearer` to this origin. Everything shown is set as text, never as markup.
enum ConsoleScript {
    static let javascript = #"""
'use strict';
const storageKey = 'inlet.adminToken';
const $ = (selector) => document.querySelector(selector);
let previousCounters = null;
// Dead letters replayed from this page (their buttons stay disabled across refreshes).
const replayed = new Set();

function token() { return sessionStorage.getItem(storageKey); }

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { Authorization: `Bearer ${token()}`, 'Content-Type': 'application/json', ...(options.headers || {}) } });
  if (response.status === 401) { signOut('The token was refused.'); throw new Error('unauthorized'); }
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch (_) { body = text; }
  if (!response.ok) { throw new Error((body && body.detail) || `${response.status} ${path}`); }
  return body;
}

function cell(row, value, className) {
  const td = document.createElement('td');
  td.textContent = value === undefined || value === null ? '' : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(tableId, items, render) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement('tr');
    render(row, item);
    body.appendChild(row);
  }
  if (items.length === 0) {
    const row = document.createElement('tr');
    const td = cell(row, 'none');
    td.colSpan = document.querySelectorAll(`#${tableId} thead th`).length;
    body.appendChild(row);
  }
}

function targetText(target) {
  if (!target) return '';
  return [target.eventKey, target.collectionKey, target.collectionEvent, target.appEventKey].filter(Boolean).join(' ');
}

async function loadSubscriptions() {
  const { subscriptions } = await api('/api/v1/subscriptions');
  fill('subscriptions', subscriptions, (row, s) => {
    row.dataset.id = s.id;
    cell(row, s.id);
    cell(row, s.status, `status-${s.status}`);
    cell(row, s.connectorKey);
    cell(row, targetText(s.target));
    cell(row, s.customerId);
    cell(row, s.eventCount === undefined ? '' : s.eventCount, 'number');
    cell(row, s.lastActivityAt || '');
    const pull = s.pullState && s.pullState.lastPull;
    cell(row, pull && pull.finishedAt ? `${pull.finishedAt}: ${pull.events} events${pull.scannedBy ? ` (scanned by ${pull.scannedBy})` : ''}` : '');
    cell(row, s.error ? s.error.message : '');
  });
}

async function loadDeadLetters() {
  const { deadLetters, total } = await api('/api/v1/dead-letters?limit=50');
  // A letter whose original was replayed and failed again is superseded by the newer one.
  const superseded = new Set(deadLetters.map((letter) => letter.replayOf).filter(Boolean));
  fill('dead-letters', deadLetters, (row, letter) => {
    row.dataset.id = letter.id;
    cell(row, letter.failedAt);
    cell(row, letter.stage);
    cell(row, `${letter.reason.code}: ${letter.reason.message}`);
    cell(row, letter.subscriptionId);
    cell(row, `${letter.original.topic}[${letter.original.partition}]@${letter.original.offset}`);
    const td = cell(row, superseded.has(letter.id) ? 'failed again (see the newer one)' : '');
    if (superseded.has(letter.id)) return;
    const button = document.createElement('button');
    button.textContent = replayed.has(letter.id) ? 'Replayed' : 'Replay';
    button.className = 'replay';
    button.disabled = replayed.has(letter.id);
    button.addEventListener('click', () => replay(letter.id, button));
    td.appendChild(button);
  });
  $('#dead-letters').dataset.total = total;
}

async function replay(id, button) {
  button.disabled = true;
  try {
    replayed.add(id);
    const result = await api(`/api/v1/dead-letters/${encodeURIComponent(id)}/replay`, { method: 'POST' });
    const failed = result.failed.map((f) => `${f.id}: ${f.error}`).join('; ');
    $('#replay-result').textContent = result.replayed.length > 0 ? `Replayed ${id} to ${result.replayed[0].topic}.` : `Not replayed: ${failed}`;
    setTimeout(() => loadDeadLetters().catch(show), 1000);
  } catch (error) {
    $('#replay-result').textContent = `Replay failed: ${error.message}`;
    replayed.delete(id);
    button.disabled = false;
  }
}

async function loadTables() {
  const [{ connections }, { customers }] = await Promise.all([api('/api/v1/connections'), api('/api/v1/customers').catch(() => ({ customers: [] }))]);
  fill('connections', connections, (row, c) => { cell(row, c.id); cell(row, c.connectorKey); cell(row, c.customerId); cell(row, c.name); cell(row, c.createdAt); });
  fill('customers', customers, (row, c) => { cell(row, c.id); cell(row, c.name); });
  const { globalWebhooks } = await api('/api/v1/global-webhooks').catch(() => ({ globalWebhooks: [] }));
  fill('global-webhooks', globalWebhooks, (row, w) => { cell(row, w.connectorKey); cell(row, `${w.key} (${w.name})`); cell(row, w.url); });
}

// Prometheus text: { name: [{labels, value}] } for the samples the console shows.
function parseMetrics(text) {
  const samples = {};
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? ([0-9.eE+-]+|NaN)$/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] || '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    (samples[match[1]] = samples[match[1]] || []).push({ labels, value: Number(match[3]) });
  }
  return samples;
}

function sumBy(samples, name, label) {
  const sums = {};
  for (const sample of samples[name] || []) sums[sample.labels[label]] = (sums[sample.labels[label]] || 0) + sample.value;
  return sums;
}

async function loadMetrics() {
  const response = await fetch('/metrics', { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) return;
  const samples = parseMetrics(await response.text());
  const now = Date.now();
  const counters = { at: now, messages: sumBy(samples, 'inlet_stream_messages_total', 'group'), records: sumBy(samples, 'inlet_stream_records_total', 'group') };
  const lag = sumBy(samples, 'inlet_consumer_lag', 'group');
  const groups = Object.keys(counters.messages).sort();
  const seconds = previousCounters ? (now - previousCounters.at) / 1000 : 0;
  // Never negative (a restarted process starts its counters again).
  const rate = (kind, group) => (seconds > 0 ? Math.max(0, (counters[kind][group] || 0) - (previousCounters[kind][group] || 0)) / seconds : 0).toFixed(1);
  fill('stages', groups, (row, group) => {
    cell(row, group); cell(row, rate('messages', group), 'number'); cell(row, rate('records', group), 'number'); cell(row, lag[group] || 0, 'number');
  });
  previousCounters = counters;
  const events = (samples.inlet_events_total || []).slice().sort((a, b) => (a.labels.connector + a.labels.type).localeCompare(b.labels.connector + b.labels.type));
  fill('events', events, (row, s) => { cell(row, s.labels.connector); cell(row, s.labels.type); cell(row, s.value, 'number'); });
}

function show(error) { $('#status').textContent = error.message === 'unauthorized' ? '' : `Error: ${error.message}`; }

let refreshing = false;

async function refresh() {
  if (!token() || refreshing) return;
  refreshing = true;
  try {
    await Promise.all([loadSubscriptions(), loadDeadLetters(), loadTables(), loadMetrics()]);
    $('#status').textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (error) { show(error); } finally { refreshing = false; }
}

// The next refresh 2 s after the last one ended: slow answers never pile up.
async function refreshForever() {
  await refresh();
  setTimeout(refreshForever, 2000);
}

function signIn(value) {
  sessionStorage.setItem(storageKey, value);
  $('#sign-in').hidden = true;
  $('#content').hidden = false;
  $('#sign-out').hidden = false;
  refresh();
}

function signOut(message) {
  sessionStorage.removeItem(storageKey);
  previousCounters = null;
  $('#content').hidden = true;
  $('#sign-out').hidden = true;
  $('#sign-in').hidden = false;
  $('#status').textContent = message || '';
}

document.addEventListener('DOMContentLoaded', () => {
  // #token=<admin token>: taken once, then removed from the address bar and the history.
  if (location.hash.startsWith('#token=')) {
    const given = location.hash.slice('#token='.length);
    let value = given;
    try { value = decodeURIComponent(given); } catch (_) { /* not percent-encoded: as given */ }
    sessionStorage.setItem(storageKey, value);
    history.replaceState(null, '', location.pathname + location.search);
  }
  $('#sign-in').addEventListener('submit', (event) => { event.preventDefault(); signIn($('#token').value); $('#token').value = ''; });
  $('#sign-out').addEventListener('click', () => signOut());
  if (token()) { signIn(token()); } else { signOut(); }
  setTimeout(refreshForever, 2000);
});
"""#
}
