/**
 * PBX distributions (issue 21): install over trees built from the real files of FreePBX 17,
 * FusionPBX 5 (with its installer's fail2ban setup) and Issabel (test/fixtures/pbx/SOURCES.md),
 * on top of this machine's stock fail2ban configuration. fail2ban's own `fail2ban-client -d`
 * (read-only: it parses the tree's configuration and prints it) says which jails would run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { install } from '../../src/commands/install.ts';
import { uninstall } from '../../src/commands/uninstall.ts';
import { detectPbxDistro } from '../../src/core/pbx-distro.ts';
import { ADOPTED_JAILS, duplicateJails, existingJails, sameFailures } from '../../src/core/pbx-distro-jails.ts';
import { loggerChannels, pickLoggerLogs } from '../../src/core/editors/asterisk-logger.ts';
import { duplicateJailWarnings } from '../../src/doctor/duplicate-jails.ts';
import { installOptions } from '../helpers/options.ts';
import { removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/pbx/', import.meta.url));
const STOCK = '/etc/fail2ban';

/** A tree: this machine's stock fail2ban (no jail.d, no .local files), the distribution's files on top, and the logs its jails read. */
async function distroTree(name: string, logs: string[]): Promise<string> {
  const root = await tempRoot();
  cpSync(STOCK, path.join(root, 'etc/fail2ban'), { recursive: true, filter: (s) => !/\/(?:jail\.d|fail2ban\.d)\/.|\.local$|__pycache__/.test(s.slice(STOCK.length)) });
  cpSync(path.join(FIXTURES, name), root, { recursive: true });
  for (const l of logs) {
    mkdirSync(path.join(root, path.dirname(l)), { recursive: true });
    writeFileSync(path.join(root, l), '');
  }
  return root;
}

/**
 * `fail2ban-client -d` over the tree's configuration: the jails it would start, each with its
 * log paths as the configuration names them (fail2ban resolves logpath against this machine's
 * files, so the paths are read from the tree's files by the tool's own reader).
 */
function f2bDump(root: string): { jails: Map<string, string[]>; errors: string[] } {
  const r = spawnSync('fail2ban-client', ['-c', path.join(root, 'etc/fail2ban'), '-d'], { encoding: 'utf8', timeout: 60000 });
  const conf = path.join(root, 'etc/fail2ban');
  const files = [...readdirSync(conf).filter((n) => /^(?:jail\.(?:conf|local)|paths-[\w-]+\.conf)$/.test(n)).map((n) => `/etc/fail2ban/${n}`), ...readdirSync(path.join(conf, 'jail.d')).map((n) => `/etc/fail2ban/jail.d/${n}`)];
  const config = existingJails(files.map((f) => ({ path: f, text: read(root, f) })));
  const jails = new Map<string, string[]>();
  for (const m of r.stdout.matchAll(/^\['add', '([^']+)'/gm)) jails.set(m[1]!, config.find((j) => j.name === m[1])?.logpaths ?? []);
  return { jails, errors: r.stderr.split('\n').filter((l) => /ERROR/.test(l)) };
}

/** Running jails whose filters count the same failures (by name) on the same service's logs — must be none. */
function duplicates(dump: Map<string, string[]>, kinds: string[][]): string[][] {
  const out: string[][] = [];
  for (const kind of kinds) {
    const on = [...dump].filter(([j]) => kind.includes(j));
    for (const [a, la] of on) for (const [b, lb] of on) if (a < b && la.some((l) => lb.some((m) => m === l || path.dirname(m) === path.dirname(l)))) out.push([a, b]);
  }
  return out;
}

const read = (root: string, p: string): string => readFileSync(path.join(root, p), 'utf8');
const fixture = (name: string, p: string): string => readFileSync(path.join(FIXTURES, name, p), 'utf8');
const opts = (o = {}) => installOptions({ whitelist: ['203.0.113.7'], yes: true, ...o });

/** The sections of `original` (an INI text) each found verbatim in `text`. */
function sectionsKept(original: string, text: string): void {
  for (const block of original.split(/\n(?=\[)/)) assert.ok(text.includes(block.trimEnd()), `section kept byte for byte:\n${block}`);
}

/** File channels with the security level across logger.conf and what it includes. */
function securityChannels(root: string): string[] {
  const dir = path.join(root, 'etc/asterisk');
  const rd = (p: string): string | null => (existsSync(path.join(root, p)) ? read(root, p) : null);
  return loggerChannels('/etc/asterisk/logger.conf', read(root, 'etc/asterisk/logger.conf'), '/etc/asterisk', rd)
    .filter((c) => c.name !== 'console' && (c.levels.includes('security') || c.levels.includes('*')))
    .map((c) => `${c.name} (${path.relative(dir, path.join(root, c.definedIn))})`);
}

test('detection: each distribution from its marker files; a FreePBX-made logger.conf without them; plain otherwise', () => {
  assert.equal(detectPbxDistro(new Set(['/etc/freepbx.conf']), null).id, 'freepbx');
  assert.equal(detectPbxDistro(new Set(['/etc/amportal.conf', '/etc/issabel.conf']), null).id, 'issabel');
  assert.equal(detectPbxDistro(new Set(['/etc/fusionpbx/config.conf']), null).id, 'fusionpbx');
  assert.equal(detectPbxDistro(new Set(['/etc/asterisk/vitalpbx']), null).id, 'vitalpbx');
  assert.equal(detectPbxDistro(new Set(['/etc/wazo-confd']), null).id, 'wazo');
  assert.equal(detectPbxDistro(new Set(), fixture('freepbx17', 'etc/asterisk/logger.conf')).id, 'freepbx');
  assert.equal(detectPbxDistro(new Set(), fixture('issabel', 'etc/asterisk/logger.conf')).id, 'issabel');
  assert.equal(detectPbxDistro(new Set(), '[logfiles]\nmessages => notice\n').id, 'plain');
});

test('jail inventory: fail2ban order (jail.conf, jail.d/*.conf, jail.local), %(…)s paths from paths-*.conf; adoption by filter and log', () => {
  const files = [
    { path: '/etc/fail2ban/jail.conf', text: read('/', 'etc/fail2ban/jail.conf') },
    { path: '/etc/fail2ban/paths-common.conf', text: read('/', 'etc/fail2ban/paths-common.conf') },
    { path: '/etc/fail2ban/paths-debian.conf', text: read('/', 'etc/fail2ban/paths-debian.conf') },
    { path: '/etc/fail2ban/jail.d/issabel.conf', text: fixture('issabel', 'etc/fail2ban/jail.d/issabel.conf') },
    { path: '/etc/fail2ban/jail.local', text: '[asterisk]\nenabled = false\n' },
  ];
  const jails = existingJails(files);
  const ast = jails.find((j) => j.name === 'asterisk')!;
  assert.deepEqual({ enabled: ast.enabled, filter: ast.filter, logpaths: ast.logpaths, file: ast.file }, { enabled: false, filter: 'asterisk', logpaths: ['/var/log/asterisk/messages'], file: '/etc/fail2ban/jail.local' });
  const on = existingJails(files.slice(0, 4)).find((j) => j.name === 'asterisk')!;
  assert.equal(on.enabled, true);
  assert.equal(sameFailures(on, ['asterisk'], ['/var/log/asterisk/messages.log', '/var/log/asterisk/security']), true);
  assert.equal(sameFailures(on, ['freeswitch'], ['/var/log/asterisk/messages']), false);
  // doctor's view: two enabled jails with filters of one kind on one log.
  const dup = duplicateJails([on, { ...on, name: 'voip-asterisk', filter: 'voip-asterisk', file: '/etc/fail2ban/jail.local', files: [] }], [['voip-asterisk', 'asterisk']]);
  assert.deepEqual(dup.map((g) => g.map((j) => j.name)), [['asterisk', 'voip-asterisk']]);
});

test('logger channels: a channel with notice and security is one log (Issabel); FreePBX defaults have neither a messages nor a security channel', () => {
  const rd = (name: string) => (p: string) => {
    const f = path.join(FIXTURES, name, p);
    return existsSync(f) ? readFileSync(f, 'utf8') : null;
  };
  const iss = pickLoggerLogs(loggerChannels('/etc/asterisk/logger.conf', fixture('issabel', 'etc/asterisk/logger.conf'), '/etc/asterisk', rd('issabel')));
  assert.equal(iss.messages?.name, 'messages');
  assert.equal(iss.security, iss.messages);
  const fpbx = pickLoggerLogs(loggerChannels('/etc/asterisk/logger.conf', fixture('freepbx17', 'etc/asterisk/logger.conf'), '/etc/asterisk', rd('freepbx17')));
  assert.deepEqual(fpbx, { messages: null, security: null });
});

test('FreePBX 17: logger.conf and its generated includes untouched, channels in logger_logfiles_custom.conf, security defined once; the admin\'s [asterisk] adopted; re-run, edit, re-run, uninstall', async () => {
  const root = await distroTree('freepbx17', ['/var/log/auth.log']);
  try {
    const generated = ['etc/asterisk/logger.conf', 'etc/asterisk/logger_general_additional.conf', 'etc/asterisk/logger_logfiles_additional.conf'];
    const ctx = testContext(root);
    const first = await install(opts(), ctx);
    assert.match(first.notes?.[0] ?? '', /^FreePBX found \(\/etc\/freepbx\.conf\)/);
    assert.ok(first.notes?.some((n) => /^\[asterisk\] \(\/etc\/fail2ban\/jail\.local\) counts the same failures as \[voip-asterisk\]: adopted/.test(n)), JSON.stringify(first.notes));
    assert.match(ctx.log.stdout.join(''), /NOTE {6}FreePBX found/);
    for (const g of generated) assert.equal(read(root, g), fixture('freepbx17', g), `${g} untouched`);
    assert.ok(!first.files.some((f) => f.path === '/etc/asterisk/logger.conf'), 'logger.conf is not even in the plan');
    assert.equal(read(root, 'etc/asterisk/logger_logfiles_custom.conf'), '; voip-f2b-install: channels fail2ban reads (logger.conf is generated: not edited)\nmessages.log => notice,warning,error\nsecurity => security\n');
    assert.deepEqual(securityChannels(root), ['security (logger_logfiles_custom.conf)']);
    sectionsKept(fixture('freepbx17', 'etc/fail2ban/jail.local'), read(root, 'etc/fail2ban/jail.local'));
    let dump = f2bDump(root);
    assert.deepEqual(dump.errors, []);
    assert.ok(!dump.jails.has('asterisk') && dump.jails.has('voip-asterisk'), [...dump.jails.keys()].join(' '));
    assert.deepEqual(dump.jails.get('voip-asterisk'), ['/var/log/asterisk/messages.log', '/var/log/asterisk/security']);
    assert.deepEqual(duplicates(dump.jails, [['asterisk', 'voip-asterisk']]), []);

    // Re-run: nothing to do, nothing written.
    const before = await snapshot(root);
    const again = await install(opts(), testContext(root));
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(again.files));
    assert.deepEqual(await snapshot(root), before);

    // The admin adds a channel of their own to the custom file and retunes their [asterisk]; re-run keeps both.
    writeFileSync(path.join(root, 'etc/asterisk/logger_logfiles_custom.conf'), `${read(root, 'etc/asterisk/logger_logfiles_custom.conf')}debug.log => debug\n`);
    const jl = read(root, 'etc/fail2ban/jail.local').replace('[asterisk]\nenabled = true\n', '[asterisk]\nenabled = true\nmaxretry = 3\n');
    writeFileSync(path.join(root, 'etc/fail2ban/jail.local'), jl);
    const edited = { custom: read(root, 'etc/asterisk/logger_logfiles_custom.conf'), jail: jl };
    const third = await install(opts(), testContext(root));
    assert.ok(third.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(third.files));
    assert.equal(read(root, 'etc/asterisk/logger_logfiles_custom.conf'), edited.custom);
    assert.equal(read(root, 'etc/fail2ban/jail.local'), edited.jail);
    dump = f2bDump(root);
    assert.ok(!dump.jails.has('asterisk') && dump.jails.has('voip-asterisk'));

    // Uninstall: the override is gone (it was the tool's), the generated files still untouched.
    await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.equal(existsSync(path.join(root, ADOPTED_JAILS)), false, 'the override file is removed by uninstall');
    for (const g of generated) assert.equal(read(root, g), fixture('freepbx17', g));
    assert.ok(f2bDump(root).jails.has('asterisk'), "the admin's [asterisk] runs again");
  } finally {
    await removeRoot(root);
  }
});

test("FusionPBX 5: its [freeswitch] and [sip-auth-failure] adopted (its jail.local sections byte for byte), the admin's [nginx-http-auth] untouched, sofia profiles not edited; re-run, edit, re-run", async () => {
  const root = await distroTree('fusionpbx5', ['/var/log/auth.log', '/var/log/syslog', '/var/log/nginx/access.log', '/var/log/nginx/error.log']);
  try {
    const first = await install(opts(), testContext(root));
    assert.match(first.notes?.[0] ?? '', /^FusionPBX found/);
    assert.deepEqual(
      first.notes?.filter((n) => n.startsWith('[')).map((n) => n.replace(/ \(.*$/, '').replace(/:.*$/, '')),
      ['[freeswitch]', '[sip-auth-failure]', '[nginx-http-auth] is the admin\'s, in jail.local'],
    );
    const jail = read(root, 'etc/fail2ban/jail.local');
    sectionsKept(fixture('fusionpbx5', 'etc/fail2ban/jail.local'), jail);
    // Their keys stay theirs: not `http,https`, no `backend = auto` in their section.
    assert.match(jail, /\[nginx-http-auth\]\nenabled {2}= true\nport {5}= 80,443\nprotocol = tcp\nfilter {3}= nginx-http-auth\nlogpath {2}= \/var\/log\/nginx\/error\.log\n(?:\n\[|$)/);
    assert.equal(read(root, 'etc/freeswitch/sip_profiles/internal.xml'), fixture('fusionpbx5', 'etc/freeswitch/sip_profiles/internal.xml'), 'FusionPBX regenerates it: not edited');
    assert.ok(first.manualSteps.some((m) => /^FusionPBX: Advanced > SIP Profiles > internal: set log-auth-failures to true/.test(m)), JSON.stringify(first.manualSteps));
    assert.match(read(root, ADOPTED_JAILS), /\[freeswitch\]\n#[^\n]*\nenabled = false\n\n\[sip-auth-failure\]\n#[^\n]*\nenabled = false\n$/);
    let dump = f2bDump(root);
    assert.deepEqual(dump.errors, []);
    assert.ok(dump.jails.has('voip-freeswitch') && !dump.jails.has('freeswitch') && !dump.jails.has('sip-auth-failure'), [...dump.jails.keys()].join(' '));
    assert.ok(dump.jails.has('nginx-http-auth') && dump.jails.has('freeswitch-acl'), 'their other jails still run');
    assert.deepEqual(duplicates(dump.jails, [['freeswitch', 'sip-auth-failure', 'voip-freeswitch']]), []);

    const before = await snapshot(root);
    const again = await install(opts(), testContext(root));
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(again.files));
    assert.deepEqual(await snapshot(root), before);

    // The admin retunes FusionPBX's [freeswitch] (maxretry 10 → 4): their edit stays, and it stays adopted.
    const edited = read(root, 'etc/fail2ban/jail.local').replace('maxretry = 10\nfindtime = 60\nbantime  = 3600\n#          sendmail-whois[name=FreeSwitch', 'maxretry = 4\nfindtime = 60\nbantime  = 3600\n#          sendmail-whois[name=FreeSwitch');
    assert.notEqual(edited, read(root, 'etc/fail2ban/jail.local'));
    writeFileSync(path.join(root, 'etc/fail2ban/jail.local'), edited);
    const third = await install(opts(), testContext(root));
    assert.ok(third.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(third.files));
    assert.equal(read(root, 'etc/fail2ban/jail.local'), edited);
    dump = f2bDump(root);
    assert.ok(dump.jails.has('voip-freeswitch') && !dump.jails.has('freeswitch'));
  } finally {
    await removeRoot(root);
  }
});

test('FusionPBX 5 with --keep-existing-jails: theirs kept, ours not enabled, no override file', async () => {
  const root = await distroTree('fusionpbx5', ['/var/log/auth.log', '/var/log/syslog', '/var/log/nginx/access.log', '/var/log/nginx/error.log']);
  try {
    const r = await install(opts({ keepExistingJails: true }), testContext(root));
    assert.ok(!r.jails.includes('voip-freeswitch'), r.jails.join(' '));
    assert.ok(r.notes?.some((n) => /^\[freeswitch\] .* kept \(--keep-existing-jails\), \[voip-freeswitch\] not enabled$/.test(n)), JSON.stringify(r.notes));
    assert.equal(existsSync(path.join(root, ADOPTED_JAILS)), false);
    const dump = f2bDump(root);
    assert.ok(dump.jails.has('freeswitch') && dump.jails.has('sip-auth-failure') && !dump.jails.has('voip-freeswitch'), [...dump.jails.keys()].join(' '));
    // Back to the default: ours replaces theirs.
    await install(opts(), testContext(root));
    const after = f2bDump(root);
    assert.ok(!after.jails.has('freeswitch') && after.jails.has('voip-freeswitch'));
  } finally {
    await removeRoot(root);
  }
});

test("Issabel: its messages channel (notice and security) is the one log, nothing written in Asterisk's files; its jail.d [asterisk] adopted, its web jails kept as they are", async () => {
  const root = await distroTree('issabel', ['/var/log/secure', '/var/log/maillog']);
  try {
    const r = await install(opts(), testContext(root));
    assert.match(r.notes?.[0] ?? '', /^Issabel found \(\/etc\/issabel\.conf\)/);
    assert.ok(!r.files.some((f) => f.path.startsWith('/etc/asterisk/')), JSON.stringify(r.files));
    for (const f of ['etc/asterisk/logger.conf', 'etc/asterisk/logger_logfiles_additional.conf', 'etc/asterisk/logger_general_additional.conf', 'etc/fail2ban/jail.d/issabel.conf']) assert.equal(read(root, f), fixture('issabel', f));
    assert.deepEqual(securityChannels(root), ['messages (logger_logfiles_additional.conf)']);
    const dump = f2bDump(root);
    // Issabel's own jail.d names a filter fail2ban 1.0 no longer ships (sshd-ddos): its error, not ours.
    assert.deepEqual(dump.errors.filter((e) => !/sshd-ddos/.test(e)), []);
    assert.ok(!dump.jails.has('asterisk') && dump.jails.has('voip-asterisk') && dump.jails.has('apache-auth'), [...dump.jails.keys()].join(' '));
    assert.deepEqual(dump.jails.get('voip-asterisk'), ['/var/log/asterisk/messages']);
    assert.doesNotMatch(read(root, 'etc/fail2ban/jail.local'), /^\[apache-auth\]/m, 'Issabel\'s apache jails are not overridden from jail.local');
  } finally {
    await removeRoot(root);
  }
});

test("doctor's duplicate check on any host: FusionPBX's own [freeswitch] and [sip-auth-failure], its [ssh] beside Debian's [sshd]; after install only the two SSH jails it does not manage", async () => {
  const root = await distroTree('fusionpbx5', ['/var/log/auth.log', '/var/log/syslog', '/var/log/nginx/access.log', '/var/log/nginx/error.log']);
  try {
    const before = await duplicateJailWarnings(testContext(root));
    assert.deepEqual(
      before.map((w) => /^duplicate jails: (.*?) count/.exec(w)?.[1]),
      ['[sshd] (/etc/fail2ban/jail.d/defaults-debian.conf) and [ssh] (/etc/fail2ban/jail.local)', '[freeswitch] (/etc/fail2ban/jail.local) and [sip-auth-failure] (/etc/fail2ban/jail.local)'],
    );
    assert.match(before[1]!, /on \/var\/log\/freeswitch\/freeswitch\.log: each failure is counted 2 times/);
    await install(opts(), testContext(root));
    const after = await duplicateJailWarnings(testContext(root));
    assert.deepEqual(after.map((w) => /^duplicate jails: (.*?) count/.exec(w)?.[1]), ['[sshd] (/etc/fail2ban/jail.d/defaults-debian.conf) and [ssh] (/etc/fail2ban/jail.local)']);
    // An admin who enables FusionPBX's [freeswitch] again beside ours is told.
    writeFileSync(path.join(root, 'etc/fail2ban/jail.d/zz-admin.local'), '[freeswitch]\nenabled = true\n');
    const again = await duplicateJailWarnings(testContext(root));
    assert.ok(again.some((w) => /\[freeswitch\] \(\/etc\/fail2ban\/jail\.d\/zz-admin\.local\) and \[voip-freeswitch\] \(\/etc\/fail2ban\/jail\.local\)/.test(w)), again.join('\n'));
  } finally {
    await removeRoot(root);
  }
});

test("--keep-existing-jails is a flag of install; doctor reads the channels of logger.conf's includes (Issabel: messages has notice and security)", async () => {
  const { parseArgs } = await import('../../src/cli.ts');
  const inv = parseArgs(['--keep-existing-jails'], {});
  assert.equal(inv.command === 'install' && inv.options.keepExistingJails, true);
  const { asterisk } = await import('../../src/core/services/asterisk.ts');
  const rd = (p: string): string | null => {
    const f = path.join(FIXTURES, 'issabel', p);
    return existsSync(f) ? readFileSync(f, 'utf8') : null;
  };
  const facts = { services: { asterisk: { configDir: '/etc/asterisk', logDir: '/var/log/asterisk' } } } as unknown as Parameters<NonNullable<typeof asterisk.doctorSource>>[0]['facts'];
  const check = asterisk.doctorSource!({ facts, logFiles: ['/var/log/asterisk/messages'], files: { read: rd } });
  assert.equal(check.verdict, 'ok', check.detail);
});

test('FreePBX with a date format of its own (set in its web interface): overridden in logger_general_custom.conf, with a warning', async () => {
  const root = await distroTree('freepbx17', ['/var/log/auth.log']);
  try {
    const additional = 'etc/asterisk/logger_general_additional.conf';
    writeFileSync(path.join(root, additional), read(root, additional).replace('dateformat=%F %T', 'dateformat=%b %d %T'));
    const r = await install(opts(), testContext(root));
    assert.equal(read(root, 'etc/asterisk/logger_general_custom.conf'), '; voip-f2b-install: a date fail2ban reads (logger.conf is generated: not edited)\ndateformat=%F %T\n');
    assert.equal(read(root, additional), fixture('freepbx17', additional).replace('dateformat=%F %T', 'dateformat=%b %d %T'), 'the generated file untouched');
    assert.ok(r.warnings.some((w) => /^Asterisk: the distribution's dateformat %b %d %T is overridden by dateformat=%F %T in logger_general_custom\.conf/.test(w)), r.warnings.join('\n'));
  } finally {
    await removeRoot(root);
  }
});

test('--keep-existing-jails is a setting: a plain re-run keeps it; --reset-settings goes back to adopting', async () => {
  const { parseArgs } = await import('../../src/cli.ts');
  const parsed = (argv: string[]) => {
    const inv = parseArgs([...argv, '--yes', '--whitelist', '203.0.113.7'], {});
    if (inv.command !== 'install') throw new Error('install expected');
    return inv.options;
  };
  const root = await distroTree('fusionpbx5', ['/var/log/auth.log', '/var/log/syslog', '/var/log/nginx/access.log', '/var/log/nginx/error.log']);
  try {
    await install(parsed(['--keep-existing-jails']), testContext(root));
    const again = await install(parsed([]), testContext(root));
    assert.ok(again.kept.includes('keep-existing-jails on'), again.kept.join(', '));
    assert.ok(!again.jails.includes('voip-freeswitch') && f2bDump(root).jails.has('freeswitch'));
    const reset = await install(parsed(['--reset-settings']), testContext(root));
    assert.ok(reset.jails.includes('voip-freeswitch'));
    const dump = f2bDump(root);
    assert.ok(dump.jails.has('voip-freeswitch') && !dump.jails.has('freeswitch'), [...dump.jails.keys()].join(' '));
  } finally {
    await removeRoot(root);
  }
});

test("a channel that names a path (an include the asterisk account owns) is never the jail's log: root would create it", () => {
  const ch = (name: string, levels: string[]) => ({ name, levels, definedIn: '/etc/asterisk/logger_logfiles_additional.conf' });
  for (const name of ['/etc/cron.d/messages', '../../etc/cron.d/security', 'sub/messages', '.hidden']) {
    const pick = pickLoggerLogs([ch(name, ['notice', 'warning', 'security'])]);
    assert.deepEqual(pick, { messages: null, security: null }, name);
  }
  // A plain name in the log directory is still used.
  assert.equal(pickLoggerLogs([ch('full', ['notice', 'security'])]).security?.name, 'full');
});
