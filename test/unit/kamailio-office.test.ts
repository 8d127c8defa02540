/**
 * Offices behind one address on Kamailio: the guard of the auth jail (not the pike jail) with
 * usrloc's registered contacts (`kamcmd ul.dump`, the running Kamailio's own control tool) and
 * the login line of our kamailio.cfg blocks; the guard's parsing of a real `kamcmd ul.dump`
 * answer and of real login lines, with the system's Python; its refusal to run a console
 * program that is not root's alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildInstallPlan, guardActionLine } from '../../src/core/install-plan.ts';
import { kamailio } from '../../src/core/services/kamailio.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import type { HostFacts } from '../../src/core/facts.ts';
import { loadTemplates } from '../../src/adapters/templates.ts';
import { installOptions } from '../helpers/options.ts';
import { hostFacts } from '../helpers/facts.ts';
import { REPO } from '../helpers/cli.ts';

const templates = await loadTemplates();
const os = parseOsRelease(await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8'));
const distro = detectDistro(os);
const GUARD = path.join(REPO, 'templates/etc/fail2ban/action.d/voip-f2b-guard.py');
const STOCK_CFG = await readFile(new URL('../fixtures/upstream/kamailio/kamailio.cfg', import.meta.url), 'utf8');
/** `kamcmd ul.dump` of Debian 12's kamailio 5.6.3 (stock kamailio.cfg, WITH_AUTH), one phone registered (test/real/50-kamailio-office). */
const UL_DUMP = await readFile(new URL('../fixtures/upstream/kamailio/kamcmd-ul-dump.txt', import.meta.url), 'utf8');

const base = hostFacts(os);
const kam = (running: boolean): HostFacts =>
  hostFacts(os, { services: { ...base.services, kamailio: { present: true, running, configFile: '/etc/kamailio/kamailio.cfg' } } });

function python(body: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const prelude = `import importlib.util, json, sys\nspec = importlib.util.spec_from_file_location('g', ${JSON.stringify(GUARD)})\ng = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(g)\n`;
  const r = spawnSync('/usr/bin/python3', ['-B', '-c', prelude + body], { encoding: 'utf8', timeout: 30000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const hasFail2ban = (): boolean => spawnSync('/usr/bin/python3', ['-c', 'import fail2ban']).status === 0;

test('the guard line: the running Kamailio\'s usrloc through kamcmd, and the logins of our kamailio.cfg blocks; stopped: logins only', () => {
  assert.equal(guardActionLine(kamailio, kam(true)), 'voip-f2b-guard.py[port="%(port)s", window=2, pause=0, office="/usr/sbin/kamcmd ul.dump", office_logins=1]');
  assert.equal(guardActionLine(kamailio, kam(false)), 'voip-f2b-guard.py[port="%(port)s", window=2, pause=0, office_logins=1]');
});

test('the plan: the auth jail gets the guard with offices, the pike jail none (a flood is a flood); a re-run with Kamailio stopped keeps the console', () => {
  const plan = (f: HostFacts, files: Record<string, string> = {}) =>
    buildInstallPlan({
      options: installOptions({ yes: true, services: ['kamailio'], kamailioAuthLog: true }),
      facts: f, distro, installed: new Set(), repoReady: true, templates,
      files: { '/etc/kamailio/kamailio.cfg': STOCK_CFG, ...files },
    });
  const p = plan(kam(true));
  const jail = p.files.find((c) => c.path === '/etc/fail2ban/jail.local')!.after!;
  assert.equal(getIniValue(jail, 'voip-kamailio', 'action'), '%(action_)s\nvoip-f2b-guard.py[port="%(port)s", window=2, pause=0, office="/usr/sbin/kamcmd ul.dump", office_logins=1]');
  assert.equal(getIniValue(jail, 'voip-kamailio-pike', 'action'), undefined, 'the pike jail keeps the default action');
  assert.ok(p.files.some((c) => c.path === '/etc/fail2ban/action.d/voip-f2b-guard.py'), 'the guard is installed');
  const again = plan(kam(false), { '/etc/fail2ban/jail.local': jail }).files.find((c) => c.path === '/etc/fail2ban/jail.local')!;
  assert.equal(again.after, jail, 'Kamailio stopped on a re-run: jail.local unchanged, the console kept');
  // an earlier run's guard line on the pike jail (by hand, or an older plan) is taken out
  const handEdited = jail.replace('[voip-kamailio-pike]\n', '[voip-kamailio-pike]\naction = %(action_)s\n         voip-f2b-guard.py[port="%(port)s", window=2]\n');
  assert.notEqual(handEdited, jail);
  const fixed = plan(kam(true), { '/etc/fail2ban/jail.local': handEdited }).files.find((c) => c.path === '/etc/fail2ban/jail.local')!.after!;
  assert.equal(getIniValue(fixed, 'voip-kamailio-pike', 'action'), '%(action_)s');
});

test('the guard reads the registered addresses of a real `kamcmd ul.dump` answer (Address, and Received where set)', (t) => {
  if (!hasFail2ban()) return t.skip('fail2ban (Python) is not installed');
  // a NAT'ed phone: its Received (the source address) counts, not its private contact
  const nat = UL_DUMP.replace(/^(\s*)Received: \[not set\]$/m, '$1Received: sip:198.51.100.20:41000');
  const r = python(`for text in json.loads(${JSON.stringify(JSON.stringify([UL_DUMP, nat, '']))}): print(sorted(g._registered(text)))\n`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    "['203.0.113.66']",
    "['198.51.100.20', '203.0.113.66']",
    '[]',
  ]);
});

test('the guard takes a Kamailio login only from the line our blocks write, ending the log line (a Call-ID cannot forge one)', (t) => {
  if (!hasFail2ban()) return t.skip('fail2ban (Python) is not installed');
  const H = '2026-12-07T05:10:00.123456+00:00 pbx /usr/sbin/kamailio[2185]:';
  const L = (a: string) => `voip-f2b: login src=${a} port=5060 method=REGISTER: an office for a day (logged once a day)`;
  const fail = 'voip-f2b: auth failure src=198.51.100.66 port=5060 method=REGISTER user=x rc=-2';
  const lines = [
    `${H} NOTICE: {1 2 REGISTER abc} <script>: ${L('203.0.113.5')}`,
    `Dec  7 05:10:03 pbx kamailio[2185]: NOTICE: <script>: ${L('2001:db8::5')}`,
    // a Call-ID holding a login line; the real line is a failure: no login
    `${H} WARNING: {1 2 REGISTER x} <script>: ${L('198.51.100.66')}} <script>: ${fail}`,
    // a Call-ID holding "<script>: " and a login line, then a real login: none. The line cannot be
    // told from another script line whose peer text ends with a copy (below), so neither is taken:
    // no office is made from text a peer wrote (that phone's address keeps the normal threshold).
    `${H} NOTICE: {1 2 REGISTER x} <script>: ${L('198.51.100.66')}} <script>: ${L('203.0.113.7')}`,
    // another level, another program, text after it: none
    `${H} WARNING: <script>: ${L('198.51.100.66')}`,
    `2026-12-07T05:10:00.123456+00:00 pbx asterisk[1]: NOTICE: <script>: ${L('198.51.100.66')}`,
    `${H} NOTICE: <script>: ${L('198.51.100.66')} x`,
    // another script line whose peer text (a User-Agent) ends with a copy: no login
    `${H} NOTICE: {1 2 REGISTER x} <script>: new contact ua=x} ${L('198.51.100.66')}`,
  ];
  const now = Date.UTC(2026, 11, 7, 6, 0, 0) / 1000;
  const r = python(`for line in json.loads(${JSON.stringify(JSON.stringify(lines))}):\n  print(json.dumps(g._kamailioLogin(line, ${now}) if 'login src=' in line else None))\n  assert g._login(line) == (tuple(g._kamailioLogin(line)) if g._kamailioLogin(line) else None)\n`);
  assert.equal(r.status, 0, r.stderr);
  const t0 = Date.UTC(2026, 11, 7, 5, 10, 0) / 1000;
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [['203.0.113.5', t0], ['2001:db8::5', t0 + 3], null, null, null, null, null, null]);
  // A traditional stamp is local time, as rsyslog writes it: 05:10:03 in New York is 10:10:03 UTC.
  const ny = python(`print(json.dumps(g._kamailioLogin(${JSON.stringify(lines[1])}, ${now + 86400})))\n`, { TZ: 'America/New_York' });
  assert.equal(ny.status, 0, ny.stderr);
  assert.deepEqual(JSON.parse(ny.stdout), ['2001:db8::5', t0 + 3 + 5 * 3600]);
});

test('the guard runs a console program only while it and its directories are root\'s alone', (t) => {
  if (!hasFail2ban()) return t.skip('fail2ban (Python) is not installed');
  const r = python(`for p in ['/usr/bin/python3', '/tmp', '/nonexistent/kamcmd', '/usr/bin']:\n  print(json.dumps(g._notRootsAlone(p)))\n`);
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as string | null);
  assert.equal(out[1], "/tmp is not root's alone (/tmp)");
  assert.equal(out[2], null, 'not there: running it says so (the console failing, said once)');
  assert.equal(out[3], "/usr/bin is not root's alone (/usr/bin)", 'a directory is no program');
  // /usr/bin/python3 is a symlink on Debian: refused like any symlink (lstat), as /bin (-> usr/bin) is
  assert.equal(out[0], "/usr/bin/python3 is not root's alone (/usr/bin/python3)");
  const bin = python(`print(json.dumps([g._notRootsAlone('/bin/cat'), g._notRootsAlone('/usr/bin/cat')]))\n`);
  assert.deepEqual(JSON.parse(bin.stdout), ["/bin/cat is not root's alone (/bin)", null]);
});

test('a console program under a symlink or a directory others can write is never run: the console fails, said once, no office from it', (t) => {
  if (!hasFail2ban()) return t.skip('fail2ban (Python) is not installed');
  const r = python(`
import logging, time, tempfile, os
logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(message)s', stream=sys.stdout)
from fail2ban.server.failmanager import FailManager
fm = FailManager(); fm.setMaxRetry(5); fm.setMaxTime(600)
class Filter: failManager = fm
class Jail:
  name = 'voip-kamailio'; filter = Filter()
d = tempfile.mkdtemp()
a = g.GuardAction(Jail(), 'voip-f2b-guard', backend='nft', office='/bin/cat /etc/hostname', office_state=os.path.join(d, 'office.json'))
a._enqueue = lambda item: None
a._refresh(time.time()); a._refresh(time.time())
print('console', a._console)
import shutil; shutil.rmtree(d)
`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    "WARNING [voip-kamailio] voip-f2b-guard: office detection: /bin/cat /etc/hostname cannot be run (/bin/cat is not root's alone (/bin)): registered devices make no office until it can; the jail works as before",
    "console failing: /bin/cat is not root's alone (/bin)",
  ]);
});

test('pause=0 (Kamailio stops sources itself): the guard sets no firewall at all, every failure counts (no count-once), an account under attack still bans; a bad value is refused', (t) => {
  if (!hasFail2ban()) return t.skip('fail2ban (Python) is not installed');
  const r = python(`
import time
from fail2ban.server.failmanager import FailManager
from fail2ban.server.ticket import FailTicket
fm = FailManager(); fm.setMaxRetry(3); fm.setMaxTime(600)
class Filter: failManager = fm; sleeptime = 1
class Actions:
  banned = []
  def addBannedIP(self, ip): self.banned.append(ip)
class Jail:
  name = 'voip-kamailio'; filter = Filter(); actions = Actions()
def guard(**kw):
  a = g.GuardAction(Jail(), 'voip-f2b-guard', backend='nft', **kw)
  a.ran = []
  a._run = lambda argv, data=None, check=True, quiet=False: a.ran.append(argv[0]) or 0
  return a
a = guard(pause='0')
a.start()
now = time.time()
print('counts', [fm.addFailure(FailTicket('203.0.113.5', now, data={'user': 'carol'})) for i in range(2)])
fm.addFailure(FailTicket('203.0.113.6', now, data={'user': 'carol'}))
time.sleep(0.3)
a.stop()
print('firewall', a.ran, 'banned', sorted(Jail.actions.banned))
b = guard(pause='1')
b.start(); b.stop()
print('paused firewall', b.ran)
try:
  guard(pause='maybe')
except ValueError as e:
  print('refused', e)
`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'counts [1, 2]',
    "firewall [] banned ['203.0.113.5']",
    "paused firewall ['nft', 'nft', 'nft']",
    "refused pause must be 1 or 0, not 'maybe'",
  ]);
});
