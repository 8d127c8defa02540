/**
 * The planner is a fold over fragments (issue 22): the features beside the services (alert mail,
 * postfix, dbpurgeage, CrowdSec, the web view's service, the watch) are pieces of the same list
 * as the services; a piece added to the list (test-only here) reaches the plan, its printed lines
 * and its packages with no edit of the planner; a package already installed is never planned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildInstallPlan, packageCandidates, type PlanFeature } from '../../src/core/install-plan.ts';
import { PLAN_FEATURES } from '../../src/core/plan-features.ts';
import { FAIL2BAN_LOCAL } from '../../src/core/db-purge-age.ts';
import type { ServiceModule } from '../../src/core/services/types.ts';
import { SERVICE_MODULES } from '../../src/core/services/index.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import { loadTemplates } from '../../src/adapters/templates.ts';
import { formatPlan } from '../../src/commands/install.ts';
import { installOptions } from '../helpers/options.ts';
import { hostFacts } from '../helpers/facts.ts';

const templates = await loadTemplates();
const os = parseOsRelease(await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8'));
const distro = detectDistro(os);
const facts = hostFacts(os, { live: true, init: 'systemd', fail2ban: { installed: true, version: '1.0.2', running: true } });

/** A test-only feature: one file of its own, a warning, a follow-up and a package. */
const probe: PlanFeature = {
  name: 'probe',
  candidates: () => ['probe-tools'],
  reads: () => ['/etc/probe.conf'],
  piece: () => ({
    packages: ['probe-tools'],
    plan: (s) => ({
      changes: [s.change('/etc/probe.conf', `ignoreip ${s.ignoreip.join(' ')}\n`, 'the probe feature', false)],
      warnings: ['probe: planned by the fold'],
      after: [{ service: 'probe', why: 'reload the probe', command: { cmd: '/usr/sbin/probe', args: ['reload'] } }],
    }),
  }),
};

const plan = (features: PlanFeature[] | undefined, installed: string[] = []) =>
  buildInstallPlan({
    options: installOptions({ yes: true, services: ['asterisk'], watch: undefined }),
    facts,
    distro,
    installed: new Set(installed),
    repoReady: true,
    templates,
    files: {},
    ...(features ? { features } : {}),
  });

test('a feature added to the list is folded like the others: its file, warning, follow-up and package reach the plan and its printed lines', async () => {
  const p = plan([...PLAN_FEATURES, probe]);
  const file = p.files.at(-1)!;
  assert.equal(file.path, '/etc/probe.conf');
  assert.equal(file.before, null);
  assert.match(file.after, /^ignoreip 127\.0\.0\.1\/8 ::1\n$/); // the [DEFAULT] step ran before it
  assert.ok(p.warnings.includes('probe: planned by the fold'));
  assert.deepEqual(p.afterCommands.at(-1), { service: 'probe', why: 'reload the probe', command: { cmd: '/usr/sbin/probe', args: ['reload'] } });
  assert.ok(p.packages.includes('probe-tools'));
  const printed = await formatPlan(p);
  assert.match(printed, /^ {2}CREATE {4}\/etc\/probe\.conf {2}\(the probe feature\)$/m);
  assert.match(printed, /^ {2}THEN {6}\/usr\/sbin\/probe reload {2}\(probe: reload the probe\)$/m);
  // Installed: not planned again.
  assert.ok(!plan([...PLAN_FEATURES, probe], ['probe-tools']).packages.includes('probe-tools'));
  // Without it in the list, nothing of it is planned.
  const without = plan(undefined);
  assert.ok(!without.files.some((f) => f.path === '/etc/probe.conf'));
  assert.ok(!without.warnings.includes('probe: planned by the fold'));
});

test('dbpurgeage is a fragment of the same fold: fail2ban.local comes from its feature, in its place after jail.local', () => {
  const p = plan(undefined);
  const i = p.files.findIndex((f) => f.path === FAIL2BAN_LOCAL);
  assert.ok(i > 0, 'fail2ban.local is planned');
  assert.equal(p.files[0]!.path, '/etc/fail2ban/jail.local');
  assert.ok(p.files.slice(1, i).every((f) => f.path.startsWith('/etc/fail2ban/')));
  const without = plan(PLAN_FEATURES.filter((f) => f.name !== 'dbpurgeage'));
  assert.ok(!without.files.some((f) => f.path === FAIL2BAN_LOCAL));
  // Everything else is the same plan.
  assert.deepEqual(without.files.map((f) => f.path), p.files.map((f) => f.path).filter((x) => x !== FAIL2BAN_LOCAL));
});

test('the packages install asks about are the plan\'s candidates: a service module\'s package and each feature\'s, so an installed one is never planned again', () => {
  const yate: ServiceModule = { name: 'yate', label: 'Yate', detect: () => true, filters: [], jails: [], reads: () => [], packages: () => ['yate-tools'], plan: () => ({}) };
  const names = packageCandidates(distro, facts, [...SERVICE_MODULES, yate], [...PLAN_FEATURES, probe]);
  for (const n of ['fail2ban', 'iptables', 'nftables', 'ipset', 'postfix', 'crowdsec', 'crowdsec-firewall-bouncer', 'cron', 'yate-tools', 'probe-tools']) assert.ok(names.includes(n), n);
  assert.equal(new Set(names).size, names.length);
  const p = buildInstallPlan({ options: installOptions({ yes: true, services: ['yate'], watch: undefined }), facts, distro, installed: new Set(['yate-tools']), repoReady: true, templates, files: {}, modules: [...SERVICE_MODULES, yate] });
  assert.ok(!p.packages.includes('yate-tools'));
});
