/**
 * The Kamailio part of an install, through the install command on a temp root with a recording
 * runner: the pike jail beside the auth jail, kamailio.cfg counting and throttling with the
 * jail's own numbers, and --restartkamailio that checks kamailio really runs afterwards
 * (Debian's init script without RUN_KAMAILIO=yes prints "failed!" and exits 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { install } from '../../src/commands/install.ts';
import { kamailioRunEnabled } from '../../src/core/services/kamailio.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import { RolledBackError, UsageError } from '../../src/errors.ts';
import { installOptions } from '../helpers/options.ts';
import { liveDebian12Root, liveDebian12Runner, removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const STOCK_CFG = await readFile(new URL('../fixtures/upstream/kamailio/kamailio.cfg', import.meta.url), 'utf8');
/** Debian 12's /etc/default/kamailio, as the package ships it (RUN_KAMAILIO commented out). */
const DEBIAN_DEFAULTS = '#\n# Kamailio startup options\n#\n\n# Set to yes to enable kamailio, once configured properly.\n#RUN_KAMAILIO=yes\n\n# User to run as\n#USER=kamailio\n';
/** The part of Debian's init script that matters here. */
const INIT_SCRIPT = '#! /bin/sh\nRUN_KAMAILIO=no\n[ -f $DEFAULTS ] && . $DEFAULTS\nif [ "$RUN_KAMAILIO" != "yes" ]; then\n    log_failure_msg "Kamailio not yet configured. Edit /etc/default/$NAME first."\n    exit 0\nfi\n';

const opts = (o: Parameters<typeof installOptions>[0] = {}) =>
  installOptions({ whitelist: ['198.51.100.38', 'office.example.org'], yes: true, services: ['kamailio'], kamailioAuthLog: true, ...o });

function liveRoot(extra: Record<string, string> = {}): Promise<string> {
  return liveDebian12Root({ '/etc/init.d/kamailio': INIT_SCRIPT, '/etc/kamailio/kamailio.cfg': STOCK_CFG, ...extra });
}

const liveRunner = () =>
  liveDebian12Runner(['voip-kamailio', 'voip-kamailio-pike'], (c) =>
    c.cmd === 'service' && c.args[0] === 'kamailio' ? { stdout: 'Restarting Kamailio SIP server: kamailio failed!\n' } : undefined,
  );

test('kamailio: an auth jail and a pike jail (maxretry 1) on the same log; kamailio.cfg counts with maxretry, findtime and ignoreip', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': STOCK_CFG });
  try {
    const r = await install(opts({ maxretry: 4, findtime: '15m' }), testContext(root));
    assert.deepEqual(r.jails, ['voip-kamailio', 'voip-kamailio-pike']);
    const jail = await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
    assert.equal(getIniValue(jail, 'voip-kamailio', 'filter'), 'voip-kamailio[mode=auth]');
    assert.equal(getIniValue(jail, 'voip-kamailio-pike', 'filter'), 'voip-kamailio[mode=pike]');
    assert.equal(getIniValue(jail, 'voip-kamailio-pike', 'maxretry'), '1');
    assert.equal(getIniValue(jail, 'voip-kamailio-pike', 'logpath'), getIniValue(jail, 'voip-kamailio', 'logpath'));
    assert.equal(getIniValue(jail, 'voip-kamailio-pike', 'banaction'), '%(banaction_allports)s');
    const cfg = await readFile(path.join(root, 'etc/kamailio/kamailio.cfg'), 'utf8');
    assert.match(cfg, /^#!define VOIPF2B_MAXRETRY 4$/m);
    assert.match(cfg, /voipf2b=>size=10;autoexpire=900;/);
    // the whitelist Kamailio tests: loopback and the address; a host name only fail2ban can use
    assert.match(cfg, /^#!define VOIPF2B_IGNOREIP "127\.0\.0\.1\/8,::1\/128,198\.51\.100\.38\/32"$/m);
    // a re-run changes nothing; another maxretry rewrites the define in place
    const again = await install(opts({ maxretry: 4, findtime: '15m' }), testContext(root));
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(again.files));
    await install(opts({ maxretry: 6, findtime: '15m' }), testContext(root));
    const cfg6 = await readFile(path.join(root, 'etc/kamailio/kamailio.cfg'), 'utf8');
    assert.match(cfg6, /^#!define VOIPF2B_MAXRETRY 6$/m);
    assert.equal(cfg6.split('# voip-f2b-install: log every failed digest attempt for fail2ban (begin)').length, 2, 'one block, not two');
    // Kamailio no longer selected: both jails off, never deleted
    await writeFile(path.join(root, 'etc/asterisk/asterisk.conf'), '', { flag: 'w' }).catch(async () => {
      await mkdir(path.join(root, 'etc/asterisk'), { recursive: true });
      await writeFile(path.join(root, 'etc/asterisk/asterisk.conf'), '');
    });
    await install(opts({ services: ['asterisk'] }), testContext(root));
    const jail2 = await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
    assert.equal(getIniValue(jail2, 'voip-kamailio', 'enabled'), 'false');
    assert.equal(getIniValue(jail2, 'voip-kamailio-pike', 'enabled'), 'false');
  } finally {
    await removeRoot(root);
  }
});

test('RUN_KAMAILIO: only an uncommented RUN_KAMAILIO=yes (the last one) lets Debian\'s init script start kamailio', () => {
  assert.equal(kamailioRunEnabled(null), false);
  assert.equal(kamailioRunEnabled(DEBIAN_DEFAULTS), false);
  assert.equal(kamailioRunEnabled(`${DEBIAN_DEFAULTS}RUN_KAMAILIO=yes\n`), true);
  assert.equal(kamailioRunEnabled('RUN_KAMAILIO="yes"  # on\n'), true);
  assert.equal(kamailioRunEnabled('RUN_KAMAILIO=yes\nRUN_KAMAILIO=no\n'), false);
  assert.equal(kamailioRunEnabled('RUN_KAMAILIO=yesplease\n'), false);
});

test('--restartkamailio with RUN_KAMAILIO commented out (Debian\'s default) is exit 2 naming it, before anything changes', async () => {
  const root = await liveRoot({ '/etc/default/kamailio': DEBIAN_DEFAULTS });
  try {
    const before = await snapshot(root);
    const run = liveRunner();
    await assert.rejects(install(opts({ restartKamailio: true }), testContext(root, { run, live: true })), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /^--restartkamailio: \/etc\/default\/kamailio does not set RUN_KAMAILIO=yes, so Debian's init script would not start kamailio \(it prints "failed!" and exits 0\)$/);
      assert.match(e.hint ?? '', /set RUN_KAMAILIO=yes in \/etc\/default\/kamailio/);
      return true;
    });
    assert.deepEqual(await snapshot(root), before, 'nothing changed');
    assert.deepEqual(run.lines().filter((l) => !/^(dpkg-query|iptables -V)/.test(l)), []);
  } finally {
    await removeRoot(root);
  }
});

test('--restartkamailio: "failed!" with exit 0 and no kamailio process is exit 1; every file restored and kamailio restarted on it', async () => {
  const root = await liveRoot({ '/etc/default/kamailio': `${DEBIAN_DEFAULTS}RUN_KAMAILIO=yes\n` });
  try {
    const before = await snapshot(root);
    const run = liveRunner();
    await assert.rejects(install(opts({ restartKamailio: true }), testContext(root, { run, live: true })), (e: unknown) => {
      assert.ok(e instanceof RolledBackError);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /^kamailio is not running after `service kamailio restart` \(exit 0; no live process in \/run\/kamailio\/kamailio\.pid or \/var\/run\/kamailio\/kamailio\.pid within 10 s\); every file was restored/);
      assert.match(e.message, /kamailio failed!/);
      return true;
    });
    assert.deepEqual(await snapshot(root), before, 'byte-identical after rollback');
    const lines = run.lines();
    assert.deepEqual(lines.filter((l) => l.startsWith('service kamailio')), ['service kamailio restart', 'service kamailio restart'], 'restarted again on the restored kamailio.cfg');
    assert.ok(lines.indexOf('service fail2ban stop') > lines.indexOf('service kamailio restart'), 'the fail2ban this run started is stopped again');
  } finally {
    await removeRoot(root);
  }
});

test('--restartkamailio: kamailio running afterwards is a success; a re-run shows no restart at all', async () => {
  const root = await liveRoot({ '/etc/default/kamailio': 'RUN_KAMAILIO=yes\n', '/run/kamailio/kamailio.pid': `${process.pid}\n` });
  try {
    const run = liveRunner();
    const first = testContext(root, { run, live: true });
    const r = await install(opts({ restartKamailio: true }), first);
    assert.ok(r.services.includes('kamailio (--restartkamailio)'), JSON.stringify(r.services));
    assert.match(first.log.stdout.join(''), /THEN\s+service kamailio restart/, 'the first plan shows the restart');
    await mkdir(path.join(root, 'run/fail2ban'), { recursive: true });
    await writeFile(path.join(root, 'run/fail2ban/fail2ban.pid'), `${process.pid}\n`);
    const ctx = testContext(root, { run: liveRunner(), live: true });
    const again = await install(opts({ restartKamailio: true }), ctx);
    assert.equal(again.nothingToDo, true);
    assert.doesNotMatch(ctx.log.stdout.join(""), /THEN\s+service kamailio restart/, 'the plan of a re-run shows no restart');
  } finally {
    await removeRoot(root);
  }
});

test("kamailio: an auth_check() block followed by `else` gets no login block, and the plan says what that costs", async () => {
  const cfg = 'loadmodule "auth.so"\nrequest_route {\n\troute(AUTH);\n}\nroute[AUTH] {\n\tif (!auth_check("$fd", "subscriber", "1")) {\n\t\tauth_challenge("$fd", "0");\n\t\texit;\n\t} else {\n\t\txlog("ok\\n");\n\t}\n}\n';
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': cfg });
  try {
    const r = await install(opts(), testContext(root));
    assert.ok(r.warnings.some((w) => /followed by `else`, so no login block was written/.test(w)), JSON.stringify(r.warnings));
    const stock = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': STOCK_CFG });
    try {
      const s = await install(opts(), testContext(stock));
      assert.ok(!s.warnings.some((w) => /no login block/.test(w)), 'the stock auth route gets its login block');
    } finally {
      await removeRoot(stock);
    }
  } finally {
    await removeRoot(root);
  }
});
