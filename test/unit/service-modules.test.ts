/**
 * The service-module shape: one registry, the planner composing fragments, a file snapshot
 * that refuses undeclared paths, sshd as a module (implicit, or chosen with --services sshd),
 * and the package commands (install and purge) built in one place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildInstallPlan, filesToRead, strictSnapshot } from '../../src/core/install-plan.ts';
import { SERVICE_MODULES, serviceNames } from '../../src/core/services/index.ts';
import type { ServiceModule } from '../../src/core/services/types.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import { purgeCommand, packageCommands } from '../../src/core/packages.ts';
import { formatCommand } from '../../src/core/command.ts';
import type { HostFacts } from '../../src/core/facts.ts';
import { loadTemplates } from '../../src/adapters/templates.ts';
import { parseArgs } from '../../src/cli.ts';
import { UsageError } from '../../src/errors.ts';
import { installOptions } from '../helpers/options.ts';
import { hostFacts } from '../helpers/facts.ts';

const templates = await loadTemplates();
const os = parseOsRelease(await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8'));
const distro = detectDistro(os);

const facts = (o: Partial<HostFacts> = {}): HostFacts => hostFacts(os, o);

const plan = (f: HostFacts, o: Parameters<typeof installOptions>[0] = {}, modules?: ServiceModule[]) =>
  buildInstallPlan({ options: installOptions({ yes: true, ...o }), facts: f, distro, installed: new Set(), repoReady: true, templates, files: {}, ...(modules ? { modules } : {}) });

test('one registry: --services accepts every module name (sshd too), and names them all when wrong', () => {
  assert.deepEqual(serviceNames(), ['sshd', 'asterisk', 'freeswitch', 'kamailio', 'web-panel']);
  const inv = parseArgs(['--services', 'asterisk,SSHD'], {});
  assert.ok(inv.command === 'install');
  assert.deepEqual(inv.options.services, ['asterisk', 'sshd']);
  assert.throws(
    () => parseArgs(['--services', 'asterisk,yate'], {}),
    (e: unknown) => e instanceof UsageError && e.message === "invalid --services entry 'yate': expected a comma-separated list of sshd, asterisk, freeswitch, kamailio, web-panel",
  );
});

test('every module declares what it reads; the planner reads nothing else (a stray read throws)', () => {
  const snap = strictSnapshot({ '/a': 'x' }, ['/a', '/b']);
  assert.equal(snap.read('/a'), 'x');
  assert.equal(snap.read('/b'), null);
  assert.throws(() => snap.read('/etc/shadow'), /no service module declares/);

  const sneaky: ServiceModule = {
    name: 'sneaky',
    label: 'Sneaky',
    detect: () => true,
    filters: [],
    jails: [],
    reads: () => ['/etc/sneaky.conf'],
    plan: (ctx) => ({ warnings: [String(ctx.files.read('/etc/sneaky.conf')), String(ctx.files.read('/etc/undeclared.conf'))] }),
  };
  assert.ok(filesToRead(installOptions(), facts(), [sneaky]).includes('/etc/sneaky.conf'));
  assert.throws(() => plan(facts(), {}, [sneaky]), /the plan read \/etc\/undeclared\.conf/);
});

test('sshd, implicit: with an auth log nothing changes; with neither log nor journal Debian\'s jail is disabled with a warning', () => {
  const withLog = plan(facts(), { services: ['asterisk'] });
  assert.doesNotMatch(withLog.files[0]!.after, /^\[sshd\]/m);
  assert.ok(!withLog.jails.includes('sshd'));
  const none = plan(facts({ authLogExists: false }), { services: ['asterisk'] });
  assert.match(none.files[0]!.after, /^\[sshd\]\nenabled = false$/m);
  assert.ok(none.warnings.some((w) => w.startsWith('sshd jail disabled: no /var/log/auth.log')));
  const journal = plan(facts({ authLogExists: false, journald: true }), { services: ['asterisk'] });
  assert.match(journal.files[0]!.after, /^\[sshd\]\nbackend = systemd$/m);
  assert.ok(journal.jails.includes('sshd'));
});

test('sshd, chosen with --services sshd: its jail is enabled and checked; no VoIP warning about an empty choice', () => {
  const p = plan(facts(), { services: ['sshd'] });
  assert.match(p.files[0]!.after, /^\[sshd\]\nenabled = true$/m);
  assert.deepEqual(p.jails, ['sshd']);
  assert.ok(!p.warnings.some((w) => /no service jail/.test(w)));
  assert.deepEqual(p.services.map((s) => `${s.name}:${s.selected}`), ['sshd:true']);
  const j = plan(facts({ authLogExists: false, journald: true }), { services: ['sshd'] });
  assert.match(j.files[0]!.after, /^\[sshd\]\nenabled = true\nbackend = systemd$/m);
  assert.deepEqual(j.jails, ['sshd']);
});

test('nothing chosen or detected: the warning names every module that can be chosen', () => {
  const p = plan(facts());
  assert.ok(p.warnings.includes('no Asterisk, FreeSWITCH, Kamailio or Web panel (Apache/nginx) found: no service jail enabled (name them with --services)'), p.warnings.join('\n'));
  assert.deepEqual(p.services.map((s) => s.name), ['sshd']);
});

test('package commands: the purge uses the same dpkg lock timeout and environment as the install', () => {
  const install = packageCommands(distro, ['fail2ban'], { installed: new Set(), aptListsFresh: true, repoReady: true })[0]!;
  const purge = purgeCommand(distro, ['fail2ban', 'python3-pyinotify']);
  assert.equal(formatCommand({ ...purge, env: {} }), 'apt-get -o DPkg::Lock::Timeout=120 -q -y purge fail2ban python3-pyinotify');
  assert.deepEqual(purge.env, install.env);
  const rocky = detectDistro(parseOsRelease('ID=rocky\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'));
  assert.equal(formatCommand(purgeCommand(rocky, ['fail2ban-server'])), 'dnf -y remove fail2ban-server');
});

test('the registry order is the jail.local order: sshd, then the VoIP services', () => {
  assert.deepEqual(SERVICE_MODULES.map((m) => m.name), ['sshd', 'asterisk', 'freeswitch', 'kamailio', 'web-panel']);
  const p = plan(facts({ authLogExists: false, journald: true }), { services: ['kamailio', 'asterisk'] });
  const sections = [...p.files[0]!.after.matchAll(/^\[([^\]]+)\]/gm)].map((m) => m[1]);
  assert.deepEqual(sections.slice(sections.indexOf('sshd')), ['sshd', 'voip-asterisk', 'voip-kamailio', 'voip-kamailio-pike']);
});
