/**
 * Issue 13, shared bans through CrowdSec: option and credentials parsing, the member's and the
 * LAPI host's plans over a temp root with a recording runner (what a real host cannot show:
 * systemd hosts, package commands, refusals). The real fleet is test/real/40-crowdsec-fleet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { install } from '../../src/commands/install.ts';
import { parseCredentials, parseLapiUrl, parseListen } from '../../src/core/crowdsec.ts';
import type { InstallOptions } from '../../src/core/options.ts';
import { UsageError } from '../../src/errors.ts';
import { parseArgs } from '../../src/cli.ts';
import { installOptions } from '../helpers/options.ts';
import { recordingRunner, removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const PASSWORD = 'pw-Secret-1234567890abcdef';
const KEY = 'bouncerKey0123456789abcdef';
const CREDS = `url: https://198.51.100.161:8080\nlogin: pbx1\npassword: ${PASSWORD}\napi_key: ${KEY}\n`;

function opts(o: Partial<InstallOptions> = {}): InstallOptions {
  return installOptions({ whitelist: ['198.51.100.170', 'friend.example.net'], yes: true, services: ['kamailio'], ...o });
}

async function credsFile(root: string, text = CREDS, mode = 0o600): Promise<string> {
  const f = path.join(root, '..', `${path.basename(root)}-creds.yaml`);
  await writeFile(f, text);
  await chmod(f, mode);
  return f;
}

test('--crowdsec-lapi and --crowdsec-lapi-server values are checked, with one line naming the value', () => {
  assert.equal(parseLapiUrl('https://198.51.100.161:8080'), 'https://198.51.100.161:8080/');
  assert.equal(parseLapiUrl('https://lapi.example.net/'), 'https://lapi.example.net/');
  assert.equal(parseLapiUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080/', 'http:// to this host only');
  assert.equal(parseLapiUrl('http://[::1]:8080/'), 'http://[::1]:8080/');
  for (const bad of ['ftp://x/', 'https://u:p@198.51.100.161:8080/', 'https://198.51.100.161:8080/v1', 'nonsense']) {
    assert.throws(() => parseLapiUrl(bad), (e: unknown) => e instanceof UsageError && e.message.includes(`'${bad}'`) && /expected the LAPI's URL/.test(e.message));
  }
  assert.equal(parseListen('198.51.100.161:8080'), '198.51.100.161:8080');
  assert.equal(parseListen('[2001:db8::1]:8080'), '[2001:db8::1]:8080');
  for (const bad of ['198.51.100.161', 'lapi:8080', '198.51.100.161:99999', '2001:db8::1:8080']) {
    assert.throws(() => parseListen(bad), (e: unknown) => e instanceof UsageError && e.message.includes(`'${bad}'`));
  }
  const inv = parseArgs(['--crowdsec-lapi', 'https://198.51.100.161:8080', '--crowdsec-credentials', '/root/pbx1.yaml', '--crowdsec-ca', '/root/lapi.crt', '--yes'], {});
  assert.equal(inv.command === 'install' && inv.options.crowdsecLapi, 'https://198.51.100.161:8080/');
  assert.equal(inv.command === 'install' && inv.options.crowdsecCa, '/root/lapi.crt');
  const env = parseArgs(['--yes'], { VOIP_F2B_CROWDSEC_LAPI_SERVER: '198.51.100.161:8080' });
  assert.equal(env.command === 'install' && env.options.crowdsecLapiServer, '198.51.100.161:8080');
});

test("credentials: CrowdSec's format; errors name the file and the key, never a value", () => {
  assert.deepEqual(parseCredentials('f', CREDS), { login: 'pbx1', password: PASSWORD, apiKey: KEY, url: 'https://198.51.100.161:8080' });
  assert.deepEqual(parseCredentials('f', `login: "m 1x"\npassword: 'p'\n`.replace('m 1x', 'm1')), { login: 'm1', password: 'p' });
  for (const [text, re] of [
    [`login: pbx1\n`, /no password: line/],
    [`password: ${PASSWORD}\n`, /no login: line/],
    [`login: pbx1\npassword ${PASSWORD}\n`, /not "key: value"/],
    [`login: pbx1\npassword: ${PASSWORD}\napi_key: a;b\n`, /not a bouncer key/],
  ] as const) {
    assert.throws(() => parseCredentials('/root/c.yaml', text), (e: unknown) => e instanceof UsageError && re.test(e.message) && !e.message.includes(PASSWORD) && e.message.includes('/root/c.yaml'));
  }
});

test('member: files, jail actions, secrets root-only and never shown; second run changes nothing', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const creds = await credsFile(root);
    const ctx = testContext(root);
    const o = opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: creds });
    const first = await install(o, ctx);
    const created = first.files.filter((f) => f.action === 'CREATE').map((f) => f.path);
    for (const p of [
      '/usr/local/sbin/voip-f2b-crowdsec',
      '/etc/voip-f2b-install/crowdsec.json',
      '/etc/fail2ban/action.d/voip-f2b-crowdsec.conf',
      '/etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml',
      '/etc/voip-f2b-install/crowdsec-allow.nft',
      '/usr/local/sbin/voip-f2b-crowdsec-bouncer',
      '/etc/init.d/crowdsec-firewall-bouncer',
    ]) assert.ok(created.includes(p), `${p} created`);
    const jail = await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
    assert.match(jail, /^\[voip-kamailio\][\s\S]*^action = %\(action_\)s\n\s+voip-f2b-crowdsec\[kind=sip-auth-failure-or-flood\]$/m);
    const mode = async (p: string): Promise<number> => (await stat(path.join(root, p))).mode & 0o777;
    assert.equal(await mode('etc/voip-f2b-install/crowdsec.json'), 0o600);
    assert.equal(await mode('etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml'), 0o600);
    assert.equal(await mode('usr/local/sbin/voip-f2b-crowdsec'), 0o755);
    const cfg = JSON.parse(await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec.json'), 'utf8'));
    assert.deepEqual(cfg.allow, ['127.0.0.1/8', '::1', '198.51.100.170']);
    assert.equal(cfg.password, PASSWORD);
    const nft = await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec-allow.nft'), 'utf8');
    assert.match(nft, /elements = \{ 127\.0\.0\.1\/8, 198\.51\.100\.170 \}/);
    assert.match(nft, /elements = \{ ::1 \}/);
    // The secret is in no output: not the plan, not the logs, not the report.
    const shown = `${JSON.stringify(ctx.log.lines)}${JSON.stringify(ctx.log.stdout)}${JSON.stringify(first)}`;
    assert.ok(!shown.includes(PASSWORD) && !shown.includes(KEY), 'no secret in output');
    assert.ok(first.warnings.some((w) => w.includes('friend.example.net')), 'a whitelist name is reported as not enforceable by address');

    const before = await snapshot(root);
    const again = await install(o, testContext(root));
    assert.equal(again.nothingToDo, true);
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});

test('member: the plan never shows a secret, even in a diff', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const creds = await credsFile(root);
    const ctx = testContext(root);
    const r = await install(opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: creds, dryRun: true }), ctx);
    assert.equal(r.dryRun, true);
    const all = `${JSON.stringify(ctx.log.lines)}${JSON.stringify(ctx.log.stdout)}`;
    assert.ok(all.includes('contents not shown: the file holds a secret'));
    assert.ok(!all.includes(PASSWORD) && !all.includes(KEY));
  } finally {
    await removeRoot(root);
  }
});

test('credentials readable by others, missing, or without api_key: exit 2, nothing changed', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const before = await snapshot(root);
    const open = await credsFile(root, CREDS, 0o644);
    await assert.rejects(
      install(opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: open }), testContext(root)),
      (e: unknown) => e instanceof UsageError && e.exitCode === 2 && /mode 0644 lets others read it/.test(e.message) && !e.message.includes(PASSWORD),
    );
    await assert.rejects(install(opts({ crowdsecLapi: 'https://198.51.100.161:8080/' }), testContext(root)), /needs --crowdsec-credentials/);
    await assert.rejects(install(opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: '/nonexistent/c.yaml' }), testContext(root)), /no such file/);
    const nokey = await credsFile(root, `login: pbx1\npassword: ${PASSWORD}\n`);
    await assert.rejects(
      install(opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: nokey }), testContext(root)),
      (e: unknown) => e instanceof UsageError && /no api_key: line/.test(e.message),
    );
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});

test('member on a live systemd host: bouncer package, drop-in, daemon-reload, enable, restart', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n', '/run/systemd/system/.keep': '' });
  try {
    const creds = await credsFile(root);
    const run = recordingRunner();
    const ctx = testContext(root, { run, live: true });
    const plan = await install(opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: creds, dryRun: true }), ctx);
    assert.ok(plan.packagesToInstall.includes('crowdsec-firewall-bouncer'));
    assert.ok(plan.packagesToInstall.includes('nftables'));
    assert.ok(!plan.packagesToInstall.includes('crowdsec'), 'a member needs no crowdsec agent');
    assert.ok(plan.packageCommands.some((c) => c.includes('--no-install-recommends') && c.includes('crowdsec-firewall-bouncer')));
    assert.ok(plan.files.some((f) => f.path === '/etc/systemd/system/crowdsec-firewall-bouncer.service.d/voip-f2b.conf'));
  } finally {
    await removeRoot(root);
  }
});

test('LAPI host: offline crowdsec config, CAPI file before the package, registration commands printed', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const run = recordingRunner();
    const ctx = testContext(root, { run });
    const r = await install(opts({ crowdsecLapiServer: '198.51.100.161:8080' }), ctx);
    const local = await readFile(path.join(root, 'etc/crowdsec/config.yaml.local'), 'utf8');
    assert.match(local, /^ {4}listen_uri: 198\.51\.100\.161:8080$/m);
    assert.match(local, /^ {4}online_client: null$/m);
    assert.match(local, /^prometheus:\n {2}enabled: false$/m);
    assert.match(await readFile(path.join(root, 'etc/crowdsec/online_api_credentials.yaml'), 'utf8'), /^# Central API registration disabled/);
    assert.equal((await stat(path.join(root, 'etc/init.d/crowdsec'))).mode & 0o777, 0o755, 'no systemd: the LAPI gets an init script');
    assert.ok(r.manualSteps.some((s) => s.includes('cscli machines add <member> --auto --url https://198.51.100.161:8080/')));
    assert.ok(r.manualSteps.some((s) => s.includes('cscli bouncers add <member>-firewall -o raw')));
    const again = await install(opts({ crowdsecLapiServer: '198.51.100.161:8080' }), testContext(root, { run }));
    assert.equal(again.nothingToDo, true);
    // An admin's own config.yaml.local is never rewritten.
    await writeFile(path.join(root, 'etc/crowdsec/config.yaml.local'), 'api:\n  server:\n    listen_uri: 0.0.0.0:9999\n');
    await assert.rejects(install(opts({ crowdsecLapiServer: '198.51.100.161:8080' }), testContext(root)), (e: unknown) => e instanceof UsageError && /holds settings of your own/.test(e.message));
  } finally {
    await removeRoot(root);
  }
});

test('LAPI host, live: the CAPI opt-out file is written before crowdsec is installed', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const run = recordingRunner();
    const r = await install(opts({ crowdsecLapiServer: '198.51.100.161:8080', dryRun: true }), testContext(root, { run, live: true }));
    const i = r.packageCommands.findIndex((c) => c.startsWith('tee /etc/crowdsec/online_api_credentials.yaml'));
    const apt = r.packageCommands.findIndex((c) => / install .*\bcrowdsec\b/.test(c));
    assert.ok(i >= 0 && apt > i, `tee before apt-get install: ${r.packageCommands.join(' | ')}`);
  } finally {
    await removeRoot(root);
  }
});

test('without --crowdsec-lapi, a push line left by an earlier run is taken out of the jails', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const creds = await credsFile(root);
    await install(opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: creds }), testContext(root));
    await install(opts(), testContext(root));
    const jail = await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
    assert.doesNotMatch(jail, /voip-f2b-crowdsec/);
  } finally {
    await removeRoot(root);
  }
});

test('status shows the fleet link where this host is a member; a failing pusher is reported, not thrown', async () => {
  const { status, formatStatus } = await import('../../src/commands/status.ts');
  const { fakeFail2banSocket } = await import('../helpers/fake-fail2ban-socket.ts');
  const root = await tempRoot({ '/etc/voip-f2b-install/crowdsec.json': '{}' });
  const noneRoot = await tempRoot();
  // fail2ban, asked over its socket under each root, runs no jail.
  const sockets = [root, noneRoot].map((r) => fakeFail2banSocket(r, () => [0, [['Number of jail', 0], ['Jail list', '']]]));
  try {
    const jailList = { stdout: '' };
    const up = JSON.stringify({ url: 'https://198.51.100.161:8080/', machine: 'pbx1', reachable: false, error: 'timed out', queued: 3, lastPushAt: 1795977000, lastError: 'timed out', lastErrorAt: 1795977100 });
    const run = recordingRunner((c) => (c.args[0] === 'status' && c.cmd.endsWith('voip-f2b-crowdsec') ? { stdout: `${up}\n` } : jailList));
    const r = await status({}, testContext(root, { run, live: true }));
    assert.equal(run.calls.at(-1)!.env!.VOIP_F2B_CROWDSEC_CONFIG, path.join(root, 'etc/voip-f2b-install/crowdsec.json'));
    assert.deepEqual(r.fleet, { lapi: 'https://198.51.100.161:8080/', machine: 'pbx1', reachable: false, error: 'timed out', queued: 3, lastPushAt: 1795977000, lastError: 'timed out', bouncer: 'unknown' });
    const text = formatStatus(r, new Date(1795977060 * 1000));
    assert.match(text, /^CrowdSec fleet link: DOWN \(LAPI https:\/\/198\.51\.100\.161:8080\/, machine pbx1\): timed out$/m);
    assert.match(text, /pushes queued: 3; last push: 60 s ago; last error: timed out/);
    const broken = recordingRunner((c) => (c.cmd.endsWith('voip-f2b-crowdsec') ? { exitCode: 1, stderr: 'Traceback\nPermissionError: denied' } : jailList));
    const b = await status({}, testContext(root, { run: broken, live: true }));
    assert.equal(b.fleet!.reachable, false);
    assert.match(b.fleet!.error!, /exited 1: PermissionError: denied/);
    const none = await status({}, testContext(noneRoot, { run: recordingRunner(() => jailList), live: true }));
    assert.equal(none.fleet, undefined);
  } finally {
    for (const s of await Promise.all(sockets)) await s.close();
    await removeRoot(root);
    await removeRoot(noneRoot);
  }
});

test('uninstall of a member stops the bouncer before its files go, and removes its tables', async () => {
  const { uninstall } = await import('../../src/commands/uninstall.ts');
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const creds = await credsFile(root);
    await install(opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: creds }), testContext(root));
    const run = recordingRunner();
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root, { run, live: true }));
    const lines = run.lines();
    const stop = lines.indexOf('/etc/init.d/crowdsec-firewall-bouncer stop');
    assert.ok(stop >= 0, lines.join('\n'));
    assert.ok(lines.includes('nft delete table ip voip-f2b-crowdsec') && lines.includes('nft delete table ip6 voip-f2b-crowdsec6'));
    assert.ok(r.removed.includes('/etc/init.d/crowdsec-firewall-bouncer') && r.removed.includes('/etc/voip-f2b-install/crowdsec.json'));
    assert.equal(await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec.json'), 'utf8').catch(() => null), null);
  } finally {
    await removeRoot(root);
  }
});

test('doctor: a down link, queued pushes or a stopped bouncer are warnings (local bans still work)', async () => {
  const { fleetWarnings } = await import('../../src/core/crowdsec.ts');
  const base = { lapi: 'https://198.51.100.161:8080/', machine: 'pbx1', reachable: true, error: null, queued: 0, lastPushAt: 1, lastError: null, bouncer: 'running' as const };
  assert.deepEqual(fleetWarnings(base), []);
  assert.match(fleetWarnings({ ...base, reachable: false, error: 'timed out', queued: 2 })[0]!, /fleet link DOWN .*timed out; bans still work here .*2 queued/);
  assert.match(fleetWarnings({ ...base, queued: 1, lastError: 'HTTP 500' })[0]!, /1 push\(es\) still queued \(last error: HTTP 500\)/);
  assert.match(fleetWarnings({ ...base, bouncer: 'stopped' })[0]!, /bouncer is not running/);
});

// ---- Issue 20, hole 7: fleet traffic encrypted ----

test('http:// to another host is refused by the CLI: exit 2, one line naming the URL and the fix, nothing written', async () => {
  const { runCli } = await import('../helpers/cli.ts');
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const creds = await credsFile(root);
    const before = await snapshot(root);
    for (const url of ['http://198.51.100.161:8080/', 'http://lapi.example.net:8080', 'http://[2001:db8::1]:8080/']) {
      const r = runCli(['--root', root, '--yes', '--services', 'kamailio', '--crowdsec-lapi', url, '--crowdsec-credentials', creds], { env: { SSH_CONNECTION: undefined } });
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.match(lines[0]!, new RegExp(`^voip-f2b-install: invalid --crowdsec-lapi '${url.replace(/[.[\]]/g, '\\$&')}': http:// to another host sends this host's machine password and bouncer key unencrypted .*; use https://`));
      assert.ok(!r.stderr.includes(PASSWORD));
    }
    // The environment twin goes through the same check.
    const env = runCli(['--root', root, '--yes', '--services', 'kamailio', '--crowdsec-credentials', creds], { env: { SSH_CONNECTION: undefined, VOIP_F2B_CROWDSEC_LAPI: 'http://198.51.100.161:8080/' } });
    assert.equal(env.status, 2, env.stderr);
    assert.deepEqual(await snapshot(root), before, 'nothing written');
  } finally {
    await removeRoot(root);
  }
});

/** A PEM certificate file beside the temp root (what --crowdsec-lapi-server made on the LAPI host). */
async function certFile(root: string, ip = '198.51.100.161'): Promise<{ cert: string; key: string; certPath: string; keyPath: string }> {
  const { makeSelfSignedCert } = await import('../../src/adapters/tls-files.ts');
  const pair = makeSelfSignedCert(ip);
  const certPath = path.join(root, '..', `${path.basename(root)}-lapi.crt`);
  const keyPath = path.join(root, '..', `${path.basename(root)}-lapi.key`);
  await writeFile(certPath, pair.cert);
  await writeFile(keyPath, pair.key, { mode: 0o600 });
  return { ...pair, certPath, keyPath };
}

test('member with --crowdsec-ca: the CA reaches the pusher and the bouncer; a bad CA file or http:// is exit 2', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const creds = await credsFile(root);
    const { cert, certPath } = await certFile(root);
    const o = opts({ crowdsecLapi: 'https://198.51.100.161:8080/', crowdsecCredentials: creds, crowdsecCa: certPath });
    await install(o, testContext(root));
    assert.equal(await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec-ca.pem'), 'utf8'), cert);
    assert.equal((await stat(path.join(root, 'etc/voip-f2b-install/crowdsec-ca.pem'))).mode & 0o777, 0o644);
    const bouncer = await readFile(path.join(root, 'etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml'), 'utf8');
    assert.match(bouncer, /^api_url: https:\/\/198\.51\.100\.161:8080\/$/m);
    assert.match(bouncer, /^insecure_skip_verify: false$/m);
    assert.match(bouncer, /^ca_cert_path: \/etc\/voip-f2b-install\/crowdsec-ca\.pem$/m);
    const cfg = JSON.parse(await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec.json'), 'utf8'));
    assert.equal(cfg.ca, '/etc/voip-f2b-install/crowdsec-ca.pem');
    assert.equal((await install(o, testContext(root))).nothingToDo, true);

    const before = await snapshot(root);
    const notCert = path.join(root, '..', `${path.basename(root)}-not.pem`);
    await writeFile(notCert, 'hello\n');
    await assert.rejects(install({ ...o, crowdsecCa: notCert }, testContext(root)), (e: unknown) => e instanceof UsageError && e.message.startsWith(`invalid --crowdsec-ca '${notCert}': no PEM certificate in it`));
    await assert.rejects(install({ ...o, crowdsecLapi: 'http://127.0.0.1:8080/' }, testContext(root)), (e: unknown) => e instanceof UsageError && /--crowdsec-ca .* is not https:\/\//.test(e.message));
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});

test('LAPI host serves TLS: a self-signed certificate for the listen address (key 0600, never shown), https:// in the member command', async () => {
  const { X509Certificate } = await import('node:crypto');
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const ctx = testContext(root);
    const r = await install(opts({ crowdsecLapiServer: '198.51.100.161:8080' }), ctx);
    const local = await readFile(path.join(root, 'etc/crowdsec/config.yaml.local'), 'utf8');
    assert.match(local, /^ {4}tls:\n {6}cert_file: \/etc\/voip-f2b-install\/crowdsec-lapi\.crt\n {6}key_file: \/etc\/voip-f2b-install\/crowdsec-lapi\.key$/m);
    const cert = await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec-lapi.crt'), 'utf8');
    const key = await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec-lapi.key'), 'utf8');
    const x = new X509Certificate(cert);
    assert.equal(x.checkIP('198.51.100.161'), '198.51.100.161');
    assert.ok(x.verify(x.publicKey), 'self-signed');
    assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(key)));
    assert.equal((await stat(path.join(root, 'etc/voip-f2b-install/crowdsec-lapi.key'))).mode & 0o777, 0o600);
    assert.ok(!JSON.stringify([ctx.log.lines, ctx.log.stdout, r]).includes(key.split('\n')[1]!), 'the key is in no output');
    assert.ok(r.manualSteps.some((s) => s.includes('cscli machines add <member> --auto --url https://198.51.100.161:8080/')));
    assert.ok(r.manualSteps.some((s) => /copy <member>\.yaml .* and \/etc\/voip-f2b-install\/crowdsec-lapi\.crt .* --crowdsec-lapi https:\/\/198\.51\.100\.161:8080\/ .* --crowdsec-ca /.test(s)), r.manualSteps.join('\n'));
    // A re-run keeps the certificate (members trust it); another address makes a new one.
    assert.equal((await install(opts({ crowdsecLapiServer: '198.51.100.161:8080' }), testContext(root))).nothingToDo, true);
    assert.equal(await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec-lapi.crt'), 'utf8'), cert);
    const moved = await install(opts({ crowdsecLapiServer: '198.51.100.171:8080' }), testContext(root));
    assert.ok(moved.warnings.some((w) => w.includes('a new certificate for the LAPI')));
    assert.ok(new X509Certificate(await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec-lapi.crt'), 'utf8')).checkIP('198.51.100.171'));
    // Every address (0.0.0.0) cannot be in a certificate: exit 2, nothing changed.
    const before = await snapshot(root);
    await assert.rejects(install(opts({ crowdsecLapiServer: '0.0.0.0:8080' }), testContext(root)), (e: unknown) => e instanceof UsageError && e.exitCode === 2 && /'0\.0\.0\.0:8080': the LAPI's certificate must name the address members reach/.test(e.message));
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});

test("LAPI host with the admin's own certificate: used where it is; a key others can read, or not the certificate's, is exit 2", async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '# cfg\n' });
  try {
    const own = await certFile(root, '198.51.100.161');
    const o = opts({ crowdsecLapiServer: '198.51.100.161:8080', crowdsecTlsCert: own.certPath, crowdsecTlsKey: own.keyPath });
    const r = await install(o, testContext(root));
    const local = await readFile(path.join(root, 'etc/crowdsec/config.yaml.local'), 'utf8');
    assert.ok(local.includes(`      cert_file: ${own.certPath}\n      key_file: ${own.keyPath}\n`));
    assert.equal(await readFile(path.join(root, 'etc/voip-f2b-install/crowdsec-lapi.key'), 'utf8').catch(() => null), null, 'no key of our own made');
    assert.ok(r.manualSteps.some((s) => s.includes(`and ${own.certPath} (the LAPI's certificate; or the CA that signed it)`)));
    const before = await snapshot(root);
    await chmod(own.keyPath, 0o644);
    await assert.rejects(install(o, testContext(root)), (e: unknown) => e instanceof UsageError && /invalid --crowdsec-tls-key .*mode 0644 lets others read it/.test(e.message));
    await chmod(own.keyPath, 0o600);
    const other = await certFile(await tempRoot(), '198.51.100.161');
    await assert.rejects(install({ ...o, crowdsecTlsKey: other.keyPath }, testContext(root)), (e: unknown) => e instanceof UsageError && /not the key of/.test(e.message));
    await assert.rejects(install({ ...o, crowdsecTlsKey: undefined }, testContext(root)), (e: unknown) => e instanceof UsageError && /go together/.test(e.message));
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});
