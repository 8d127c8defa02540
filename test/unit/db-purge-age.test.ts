/**
 * fail2ban's dbpurgeage (issue 12: a history to show; issue 8: repeat offenders are forgotten
 * after Debian's 1 day): the install raises it to 30 days in fail2ban.local, keeps a longer value
 * of the admin's and every other byte of the file. Checked on the real Debian 12 fail2ban.conf.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { DB_PURGE_AGE_MIN, FAIL2BAN_CONF, FAIL2BAN_LOCAL, dbPurgeAgeLocal, effectiveDbPurgeAge } from '../../src/core/db-purge-age.ts';
import { fail2banSeconds } from '../../src/core/duration.ts';
import { buildInstallPlan } from '../../src/core/install-plan.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import { loadTemplates } from '../../src/adapters/templates.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import { hostFacts } from '../helpers/facts.ts';
import { installOptions } from '../helpers/options.ts';

const templates = await loadTemplates();
const TEMPLATE = templates['etc/fail2ban/fail2ban.local']!;
/** Debian 12's fail2ban.conf: dbpurgeage = 1d in [DEFAULT] (the host's copy when installed). */
const DEBIAN_CONF = existsSync('/etc/fail2ban/fail2ban.conf')
  ? await readFile('/etc/fail2ban/fail2ban.conf', 'utf8')
  : '[DEFAULT]\nloglevel = INFO\ndbpurgeage = 1d\n\n[Definition]\n\n[Thread]\n';

test('fail2ban time values in seconds, as fail2ban reads them', () => {
  assert.equal(fail2banSeconds('86400'), 86400);
  assert.equal(fail2banSeconds('1d'), 86400);
  assert.equal(fail2banSeconds('30d'), 2592000);
  assert.equal(fail2banSeconds('30 days'), 2592000);
  assert.equal(fail2banSeconds('1w 2d'), 9 * 86400);
  assert.equal(fail2banSeconds('10m'), 600); // m is minutes
  assert.equal(fail2banSeconds('2mo'), 60 * 86400);
  assert.equal(fail2banSeconds('1y'), 365 * 86400);
  assert.equal(fail2banSeconds('soon'), null);
  assert.equal(fail2banSeconds('%(x)s'), null);
});

test("Debian 12's fail2ban.conf keeps 1 day, from [DEFAULT]; the new fail2ban.local raises it to 30 days", () => {
  assert.deepEqual(effectiveDbPurgeAge(DEBIAN_CONF, null), { value: '1d', from: `${FAIL2BAN_CONF} [DEFAULT]` });
  const r = dbPurgeAgeLocal(DEBIAN_CONF, null, TEMPLATE);
  assert.equal(r.after, TEMPLATE);
  assert.equal(getIniValue(r.after!, 'Definition', 'dbpurgeage'), '30d');
  assert.equal(fail2banSeconds(effectiveDbPurgeAge(DEBIAN_CONF, r.after).value), DB_PURGE_AGE_MIN);
  // fail2ban not installed yet (the package comes in the same run): its default, 1 day, is raised.
  assert.equal(dbPurgeAgeLocal(null, null, TEMPLATE).after, TEMPLATE);
});

test("an admin's fail2ban.local: other settings and comments survive; a short value is raised in place", () => {
  const mine = '# my settings\n[Definition]\nloglevel = NOTICE   ; quieter\ndbpurgeage = 2d ; two days\n\n[Thread]\nstacksize = 0\n';
  const r = dbPurgeAgeLocal(DEBIAN_CONF, mine, TEMPLATE);
  assert.equal(r.after, '# my settings\n[Definition]\nloglevel = NOTICE   ; quieter\ndbpurgeage = 30d ; two days\n\n[Thread]\nstacksize = 0\n');
  // No dbpurgeage of the admin's: added to [Definition], nothing else moves.
  const other = '# mine\n[Definition]\nloglevel = DEBUG\n';
  assert.equal(dbPurgeAgeLocal(DEBIAN_CONF, other, TEMPLATE).after, '# mine\n[Definition]\nloglevel = DEBUG\ndbpurgeage = 30d\n');
  // The admin's own key in [DEFAULT] (where Debian has it) is raised there.
  assert.equal(dbPurgeAgeLocal(DEBIAN_CONF, '[DEFAULT]\ndbpurgeage = 86400\n', TEMPLATE).after, '[DEFAULT]\ndbpurgeage = 30d\n');
});

test('a value of 30 days or more is kept: only raised, never lowered', () => {
  for (const v of ['30d', '2592000', '8w', '1y', '45 days']) {
    const mine = `[Definition]\ndbpurgeage = ${v}\n`;
    assert.equal(dbPurgeAgeLocal(DEBIAN_CONF, mine, TEMPLATE).after, mine, v);
  }
  // A long value in fail2ban.conf itself: no fail2ban.local needed at all.
  assert.equal(dbPurgeAgeLocal('[DEFAULT]\ndbpurgeage = 90d\n', null, TEMPLATE).after, null);
  // [DEFAULT] of fail2ban.local is shadowed by a [Definition] key of fail2ban.conf: set where it wins.
  const r = dbPurgeAgeLocal('[Definition]\ndbpurgeage = 1d\n', '[DEFAULT]\ndbpurgeage = 2d\n', TEMPLATE);
  assert.equal(fail2banSeconds(effectiveDbPurgeAge('[Definition]\ndbpurgeage = 1d\n', r.after).value), DB_PURGE_AGE_MIN);
});

test('a value this tool cannot read is left alone, with a warning naming it', () => {
  const mine = '[Definition]\ndbpurgeage = %(mine)s\n';
  const r = dbPurgeAgeLocal(DEBIAN_CONF, mine, TEMPLATE);
  assert.equal(r.after, mine);
  assert.match(r.warning!, /dbpurgeage '%\(mine\)s' \(\/etc\/fail2ban\/fail2ban\.local \[Definition\]\)/);
});

test('the plan shows fail2ban.local (the admin owns it: its diff is shown in --dry-run); a re-run leaves it UNCHANGED', () => {
  const os = parseOsRelease('ID=debian\nVERSION_ID="12"\n');
  const base = { options: installOptions({ yes: true }), facts: hostFacts(os), distro: detectDistro(os), installed: new Set<string>(), repoReady: true, templates };
  const first = buildInstallPlan({ ...base, files: { [FAIL2BAN_CONF]: DEBIAN_CONF } });
  const f = first.files.find((x) => x.path === FAIL2BAN_LOCAL)!;
  assert.equal(f.before, null);
  assert.equal(f.adminOwned, true);
  assert.match(f.why, /30 days/);
  const again = buildInstallPlan({ ...base, files: { [FAIL2BAN_CONF]: DEBIAN_CONF, [FAIL2BAN_LOCAL]: f.after } });
  const g = again.files.find((x) => x.path === FAIL2BAN_LOCAL)!;
  assert.equal(g.before, g.after);
  // Long enough in fail2ban.conf and no fail2ban.local: the file is not in the plan at all.
  const none = buildInstallPlan({ ...base, files: { [FAIL2BAN_CONF]: '[DEFAULT]\ndbpurgeage = 60d\n' } });
  assert.equal(none.files.some((x) => x.path === FAIL2BAN_LOCAL), false);
});
