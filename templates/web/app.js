// voip-f2b-install web view. Every string that comes from fail2ban or a log line is attacker
// text: it reaches the page only through textContent / text nodes (never innerHTML), and the
// server's Content-Security-Policy forbids inline script anyway.
'use strict';

const VIEWS = ['overview', 'bans', 'attackers', 'history', 'test'];
const $ = (id) => document.getElementById(id);

/** Builds an element; children that are strings become text nodes (never parsed as HTML). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
const svg = (tag, attrs) => {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
};

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (res.status === 401) { showLogin(); throw new Error('not logged in'); }
  if (!res.ok && !(data && 'ok' in data)) throw new Error((data && data.error) || `HTTP ${res.status}`);
  return data;
}

function message(text, kind) {
  const m = $('message');
  m.textContent = text;
  m.className = `message ${kind || ''}`;
}

// One formatter for every time on the page: Date#toLocaleString builds one per call, which
// costs tens of ms over the 2,000 times of 1,000 bans (see docs/BENCHMARKS.md, section 9).
const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });
const fmtTime = (s) => (s === null || s === undefined ? 'never' : TIME_FORMAT.format(new Date(s * 1000)));
const fmtDuration = (s) => {
  if (s === null || s === undefined) return '';
  if (s < 0) return 'forever';
  if (s % 86400 === 0) return `${s / 86400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
};

/** In-page confirmation: resolves true only on Confirm. */
function confirmAction(text) {
  return new Promise((resolve) => {
    const box = $('confirm');
    $('confirm-text').textContent = text;
    box.hidden = false;
    const done = (v) => () => { box.hidden = true; $('confirm-yes').onclick = null; $('confirm-no').onclick = null; resolve(v); };
    $('confirm-yes').onclick = done(true);
    $('confirm-no').onclick = done(false);
  });
}

// ---- login -------------------------------------------------------------------------------

function showLogin() {
  $('nav').hidden = true;
  for (const v of VIEWS) $(`view-${v}`).hidden = true;
  $('login').hidden = false;
}

async function login(token) {
  const res = await fetch('/api/login', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
  if (res.ok) return true;
  $('login-error').textContent = res.status === 429 ? 'Too many wrong tokens: wait a little.' : 'Wrong token.';
  return false;
}

// ---- views ---------------------------------------------------------------------------------

const state = { jails: [], bans: [], search: '', showAll: false };
/**
 * Rows of the Bans table drawn at first (newest first); "Show all" draws the rest. With 1,000
 * bans the view takes ~0.1 s to its first 250 rows and ~0.2 s more for all (docs/BENCHMARKS.md, 9).
 */
const BAN_ROWS = 250;

async function renderOverview() {
  const d = await api('GET', '/api/jails');
  state.jails = d.jails;
  const v = $('view-overview');
  const uptime = d.startedAt ? Math.max(0, Math.floor(Date.now() / 1000 - d.startedAt)) : null;
  const banned = d.jails.reduce((n, j) => n + j.currentlyBanned, 0);
  const rows = d.jails.map((j) =>
    el('tr', { 'data-jail': j.jail },
      el('td', {}, el('strong', { text: j.jail })),
      el('td', {}, el('span', { class: 'verdict ok' }, 'running')),
      doctorCell(j, d.doctor),
      el('td', { class: 'num' }, j.currentlyFailed), el('td', { class: 'num' }, j.totalFailed),
      el('td', { class: 'num' }, j.currentlyBanned), el('td', { class: 'num' }, j.totalBanned),
      el('td', {}, `${fmtDuration(j.bantime)} / ${fmtDuration(j.findtime)} / ${j.maxretry ?? ''}`),
      el('td', { class: 'mono' }, j.files.map((f) => el('div', {}, f))),
    ));
  const form = el('form', { class: 'row', id: 'whitelist-form' },
    el('input', { id: 'whitelist-entry', placeholder: '203.0.113.7 or 2001:db8::/32', 'aria-label': 'address to whitelist', required: 'required' }),
    el('button', { type: 'submit' }, 'Add to whitelist'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const entry = $('whitelist-entry').value.trim();
    if (!(await confirmAction(`Add ${entry} to the whitelist (ignoreip in jail.local, fail2ban is tested and reloaded)?`))) return;
    message('Applying…');
    const r = await api('POST', '/api/whitelist', { entry });
    message(r.message, r.ok ? 'ok' : 'error');
    if (r.ok) renderOverview();
  });
  v.replaceChildren(
    watchBanner(d.watch),
    el('div', { class: 'cards' },
      el('div', { class: 'card' }, el('div', { class: 'k' }, 'fail2ban'), el('div', { class: 'v', id: 'f2b-version' }, d.version)),
      el('div', { class: 'card' }, el('div', { class: 'k' }, 'up for'), el('div', { class: 'v' }, uptime === null ? '?' : uptime < 60 ? '<1m' : fmtDuration(uptime - (uptime % 60)))),
      el('div', { class: 'card' }, el('div', { class: 'k' }, 'jails'), el('div', { class: 'v' }, d.jails.length)),
      el('div', { class: 'card' }, el('div', { class: 'k' }, 'banned now'), el('div', { class: 'v' }, banned)),
    ),
    el('h2', {}, 'Jails'),
    el('table', { id: 'jails' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Jail'), el('th', {}, 'State'), el('th', {}, 'Doctor'), el('th', { class: 'num' }, 'Failing'), el('th', { class: 'num' }, 'Failures total'), el('th', { class: 'num' }, 'Banned'), el('th', { class: 'num' }, 'Bans total'), el('th', {}, 'bantime / findtime / maxretry'), el('th', {}, 'Log files'))),
      el('tbody', {}, rows)),
    doctorNote(d.doctor),
    el('h2', {}, 'Whitelist (never banned)'),
    el('div', { id: 'whitelist' }, d.whitelist.map((w) => el('span', { class: 'tag' }, w))),
    form,
  );
}

const VERDICTS = ['ok', 'warning', 'broken'];

/**
 * The doctor verdict of one jail, and each check that is not ok with what to do. Check details
 * can quote log text: text nodes only.
 */
function doctorCell(j, doctor) {
  if (!j.doctor) {
    const why = !doctor ? 'not available' : doctor.running ? 'checking…' : doctor.error ? 'doctor failed' : 'not checked yet';
    return el('td', { class: 'doctor', 'data-verdict': 'none' }, el('span', { class: 'muted' }, why));
  }
  const v = VERDICTS.includes(j.doctor.verdict) ? j.doctor.verdict : 'broken';
  return el('td', { class: 'doctor', 'data-verdict': v },
    el('span', { class: `verdict ${v}` }, v),
    j.doctor.checks.length
      ? el('ul', { class: 'checks' }, j.doctor.checks.map((c) =>
        el('li', { class: VERDICTS.includes(c.verdict) ? c.verdict : 'broken' },
          el('strong', {}, c.name), `: ${c.detail}`,
          c.fix ? el('div', { class: 'fix' }, `Fix: ${c.fix}`) : null)))
      : null);
}

/** The watch's last finding (voip-f2b-install watch, its state file): a banner while a problem lasts. */
function watchBanner(watch) {
  if (!watch || !Array.isArray(watch.problems) || !watch.problems.length) return null;
  const broken = watch.problems.some((p) => p.severity === 'broken');
  return el('div', { id: 'watch-banner', class: `watch-banner ${broken ? 'broken' : 'warning'}`, role: 'alert' },
    el('strong', { text: broken ? 'Protection is broken' : 'The watch found a problem' }),
    el('span', { class: 'muted', text: ` (voip-f2b-install watch, ${watch.checkedAt})` }),
    el('ul', {}, watch.problems.map((p) => el('li', { class: p.severity === 'broken' ? 'broken' : 'warning' }, p.message, p.fix ? el('div', { class: 'muted', text: `fix: ${p.fix}` }) : null))));
}

/** When the verdicts were computed, and how (doctor without its ban round trip). */
function doctorNote(doctor) {
  if (!doctor) return null;
  const age = doctor.checkedAt ? Math.max(0, Math.floor(Date.now() / 1000 - doctor.checkedAt)) : null;
  const parts = [
    age === null ? 'Doctor verdicts: not computed yet' : `Doctor verdicts computed ${age < 60 ? `${age} s` : `${Math.floor(age / 60)} min`} ago`,
    `(voip-f2b-install doctor without the ban test, every ${doctor.everySeconds} s in the background${doctor.running ? '; a new check is running' : ''}).`,
  ];
  return el('div', { id: 'doctor-note', class: 'muted' },
    parts.join(' '),
    doctor.error ? el('div', { class: 'error' }, `The last doctor run failed: ${doctor.error}`) : null,
    ' Run "voip-f2b-install doctor" on the server for the full check, ban round trip included.');
}

function banRow(b) {
  const unbanBtn = el('button', { class: 'danger', 'data-unban': b.ip, onclick: async () => {
    if (!(await confirmAction(`Unban ${b.ip} from ${b.jail}?`))) return;
    const r = await api('POST', '/api/unban', { ip: b.ip, jail: b.jail });
    message(r.ok ? `${b.ip} unbanned from ${b.jail}` : r.message, r.ok ? 'ok' : 'error');
    renderBans();
  } }, 'Unban');
  return el('tr', { 'data-ip': b.ip },
    el('td', { class: 'mono' }, b.ip), el('td', {}, b.jail),
    el('td', {}, fmtTime(b.bannedAt)), el('td', {}, b.endsAt === null ? 'never' : fmtTime(b.endsAt)),
    el('td', { class: 'num' }, b.previousBans),
    el('td', {}, b.context.users.slice(0, 3).map((u) => el('span', { class: 'tag' }, u))),
    el('td', {}, unbanBtn));
}

async function renderBans() {
  const d = await api('GET', '/api/bans');
  state.bans = d.bans;
  const v = $('view-bans');
  const tbody = el('tbody', {});
  const more = el('button', { id: 'ban-more', type: 'button', onclick: () => { state.showAll = true; fill(); } });
  const fill = () => {
    const q = state.search.toLowerCase();
    const list = state.bans.filter((b) => !q || b.ip.includes(q) || b.jail.toLowerCase().includes(q) || b.context.users.some((u) => u.toLowerCase().includes(q)));
    const shown = state.showAll ? list : list.slice(0, BAN_ROWS);
    tbody.replaceChildren(...shown.map(banRow));
    $('ban-count').textContent = `${list.length} of ${state.bans.length} banned addresses${shown.length < list.length ? `, the newest ${shown.length} shown` : ''}`;
    more.textContent = `Show all ${list.length}`;
    more.hidden = shown.length === list.length;
  };
  const search = el('input', { id: 'ban-search', type: 'search', placeholder: 'search address, jail, user', 'aria-label': 'search bans' });
  search.value = state.search;
  search.addEventListener('input', () => { state.search = search.value; fill(); });
  const jailSel = el('select', { id: 'ban-jail', 'aria-label': 'jail' }, state.jails.map((j) => el('option', { value: j.jail }, j.jail)));
  const ipIn = el('input', { id: 'ban-ip', placeholder: 'address to ban', 'aria-label': 'address to ban' });
  const banForm = el('form', { class: 'row', id: 'ban-form' }, 'Ban by hand:', ipIn, jailSel, el('button', { type: 'submit', class: 'danger' }, 'Ban'));
  banForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ip = ipIn.value.trim();
    if (!(await confirmAction(`Ban ${ip} in ${jailSel.value}?`))) return;
    const r = await api('POST', '/api/ban', { ip, jail: jailSel.value });
    message(r.ok ? `${ip} banned in ${jailSel.value}` : r.message || r.error, r.ok ? 'ok' : 'error');
    renderBans();
  });
  v.replaceChildren(
    el('div', { class: 'row' }, search, el('span', { id: 'ban-count', class: 'muted' })),
    el('table', { id: 'bans' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Address'), el('th', {}, 'Jail'), el('th', {}, 'Banned at'), el('th', {}, 'Ban ends'), el('th', { class: 'num' }, 'Banned before'), el('th', {}, 'SIP users tried'), el('th', {}, ''))),
      tbody),
    more,
    banForm,
  );
  if (!state.jails.length) api('GET', '/api/jails').then((j) => { state.jails = j.jails; jailSel.replaceChildren(...state.jails.map((x) => el('option', { value: x.jail }, x.jail))); }).catch(() => {});
  fill();
}

async function renderAttackers() {
  const d = await api('GET', '/api/bans');
  const v = $('view-attackers');
  const items = d.bans.slice(0, 200).map((b) =>
    el('article', { class: 'card attacker', 'data-ip': b.ip },
      el('h2', {}, el('span', { class: 'mono' }, b.ip), ' ', el('span', { class: 'muted' }, `in ${b.jail}, ${b.failures ?? '?'} failures, banned ${b.banCount} time(s)`)),
      el('div', {}, 'SIP users / extensions: ', b.context.users.length ? b.context.users.map((u) => el('span', { class: 'tag sip-user' }, u)) : el('span', { class: 'muted' }, 'none in the log lines')),
      el('div', {}, 'User-Agent: ', b.context.userAgents.length ? b.context.userAgents.map((u) => el('span', { class: 'tag' }, u)) : el('span', { class: 'muted' }, 'not in the log')),
      el('div', {}, 'Failure kinds: ', b.context.kinds.map((k) => el('span', { class: 'tag' }, k))),
      el('div', { class: 'muted' }, 'Log lines that caused the ban:'),
      el('pre', { class: 'lines' }, b.lines.join('\n')),
    ));
  v.replaceChildren(el('h2', {}, `Attackers banned now (${d.bans.length})`), ...(items.length ? items : [el('p', { class: 'muted' }, 'No address is banned.')]));
}

function barChart(counts, label) {
  const w = 900, h = 180, pad = 24;
  const max = Math.max(1, ...counts);
  const bw = (w - 2 * pad) / counts.length;
  const s = svg('svg', { class: 'chart', viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': label });
  counts.forEach((c, i) => {
    const bh = ((h - 2 * pad) * c) / max;
    const r = svg('rect', { class: 'bar', x: pad + i * bw + 1, y: h - pad - bh, width: Math.max(1, bw - 2), height: bh });
    const t = svg('title', {});
    t.textContent = `${c}`;
    r.append(t);
    s.append(r);
  });
  const t1 = svg('text', { x: pad, y: 14 });
  t1.textContent = `${label} (max ${max})`;
  s.append(t1);
  return s;
}

async function renderHistory() {
  const d = await api('GET', '/api/history');
  const v = $('view-history');
  v.replaceChildren(
    el('div', { class: 'cards' }, el('div', { class: 'card' }, el('div', { class: 'k' }, 'bans in 30 days'), el('div', { class: 'v', id: 'history-total' }, d.total))),
    el('h2', {}, 'Bans per hour, last 24 hours'), barChart(d.perHour, 'bans per hour'),
    el('h2', {}, 'Bans per day, last 30 days'), barChart(d.perDay, 'bans per day'),
    el('div', { class: 'grid2' },
      el('div', {}, el('h2', {}, 'Top attacked SIP users'), el('table', { id: 'top-users' }, el('tbody', {}, d.topUsers.map((u) => el('tr', {}, el('td', { class: 'mono' }, u.user), el('td', { class: 'num' }, u.count)))))),
      el('div', {}, el('h2', {}, 'Top attacking networks'), el('table', { id: 'top-networks' }, el('tbody', {}, d.topNetworks.map((n) => el('tr', {}, el('td', { class: 'mono' }, n.network), el('td', { class: 'num' }, n.count)))))),
    ),
    el('h2', {}, 'Audit log (changes made from this page)'),
    el('table', { id: 'audit' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Time'), el('th', {}, 'Client'), el('th', {}, 'Action'), el('th', {}, 'Target'), el('th', {}, 'Result'))),
      el('tbody', {}, d.audit.map((a) => el('tr', {}, el('td', {}, TIME_FORMAT.format(new Date(a.time))), el('td', { class: 'mono' }, a.client), el('td', {}, a.action), el('td', { class: 'mono' }, a.target), el('td', {}, a.result))))),
  );
}

async function renderTest() {
  const v = $('view-test');
  if (!state.jails.length) state.jails = (await api('GET', '/api/jails')).jails;
  const jailSel = el('select', { id: 'test-jail', 'aria-label': 'jail' }, state.jails.map((j) => el('option', { value: j.jail }, j.jail)));
  const ta = el('textarea', { id: 'test-lines', placeholder: 'paste log lines here', 'aria-label': 'log lines' });
  const out = el('div', { id: 'test-result' });
  const form = el('form', {}, el('div', { class: 'row' }, 'Jail:', jailSel, el('button', { type: 'submit' }, 'Test with fail2ban-regex')), ta);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.replaceChildren(el('p', { class: 'muted' }, 'Running fail2ban-regex…'));
    try {
      const r = await api('POST', '/api/test-line', { jail: jailSel.value, lines: ta.value });
      const n = r.results.filter((x) => x.matched).length;
      out.replaceChildren(
        el('p', {}, `filter ${r.filter}: ${n} of ${r.results.length} line(s) matched`),
        el('table', {}, el('tbody', {}, r.results.map((x) => el('tr', {}, el('td', { class: x.matched ? 'matched' : 'missed' }, x.matched ? `matched: ${x.ip}` : 'no match'), el('td', { class: 'mono' }, x.line))))),
      );
    } catch (e) {
      out.replaceChildren(el('p', { class: 'error' }, e.message));
    }
  });
  v.replaceChildren(el('p', {}, 'The lines are run through the jail\'s filter by the real fail2ban-regex.'), form, out);
}

const RENDER = { overview: renderOverview, bans: renderBans, attackers: renderAttackers, history: renderHistory, test: renderTest };

async function show() {
  const view = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'overview';
  $('login').hidden = true;
  $('nav').hidden = false;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === view);
  // The view is shown once drawn: its previous content (1,000 rows of an earlier visit) is
  // never laid out and painted just to be replaced.
  for (const v of VIEWS) $(`view-${v}`).hidden = true;
  try {
    await RENDER[view]();
    $(`view-${view}`).hidden = false;
    document.body.dataset.loaded = view;
  } catch (e) {
    if (e.message === 'not logged in') return;
    message(e.message, 'error');
    $(`view-${view}`).hidden = false;
  }
}

async function start() {
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (await login($('token').value.trim())) { $('token').value = ''; $('login-error').textContent = ''; show(); }
  });
  $('logout').addEventListener('click', async () => { await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' }); showLogin(); });
  window.addEventListener('hashchange', () => { message(''); if (!$('nav').hidden) show(); });
  // The URL printed on first start carries the token in the fragment (never sent to the server):
  // log in with it, then drop it from the address bar and history.
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', `${location.pathname}#overview`);
    if (await login(decodeURIComponent(m[1]))) return show();
    return showLogin();
  }
  const res = await fetch('/api/session', { credentials: 'same-origin' });
  if (res.ok) show(); else showLogin();
}

document.addEventListener('DOMContentLoaded', start);
