import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { YAML } from 'zx';
import { BIN, ensureBuilt, runCli } from '../helpers/cli.ts';
import { removeRoot, snapshot, tempRoot } from '../helpers/context.ts';
import { parseArgs } from '../../src/cli.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const EXAMPLE = await readFile(new URL('../../docs/cloud-init.yaml', import.meta.url), 'utf8');

/** The runcmd entry of docs/cloud-init.yaml (the README shows the same file). */
function exampleCommand(): string[] {
  assert.equal(EXAMPLE.split('\n')[0], '#cloud-config', 'cloud-init only reads user data starting with #cloud-config');
  const doc = YAML.parse(EXAMPLE) as { packages?: string[]; runcmd?: unknown[] };
  assert.ok(doc.packages?.includes('nodejs') && doc.packages.includes('npm'), 'the example installs Node and npx');
  const cmds = (doc.runcmd ?? []).filter((c) => JSON.stringify(c).includes('voip-f2b-install'));
  assert.equal(cmds.length, 1);
  const cmd = cmds[0];
  // A list is run as an argument vector by cloud-init (no shell quoting to get wrong).
  assert.ok(Array.isArray(cmd) && cmd.every((a) => typeof a === 'string'), 'runcmd entry is a list of strings');
  return cmd as string[];
}

/**
 * Runs a command the way cloud-init's runcmd does: no terminal (a new session, so no controlling
 * terminal either), stdin from /dev/null, HOME unset, a minimal PATH, no CI variable.
 */
function runLikeCloudInit(argv: string[]): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      timeout: 60000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - started }));
  });
}

test('the README #cloud-config example runs unattended like cloud-init: exit 0, jail.local written, no prompt', async () => {
  ensureBuilt();
  const cmd = exampleCommand();
  // `npx --yes voip-f2b-install` is the published package; here the built bin stands in for it
  // (test/unit/pack.test.ts runs the packed tarball through npx itself).
  assert.deepEqual(cmd.slice(0, 3), ['npx', '--yes', 'voip-f2b-install']);
  const args = cmd.slice(3);
  assert.ok(args.includes('--yes'), 'the example never waits for an answer');
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '[directories]\n' });
  try {
    const r = await runLikeCloudInit([process.execPath, BIN, ...args, '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /Apply this plan|Which services|Addresses never to ban|cannot ask/, 'no prompt');
    const jail = await readFile(`${root}/etc/fail2ban/jail.local`, 'utf8');
    const wl = args[args.indexOf('--whitelist') + 1]!;
    assert.match(jail, new RegExp(`^ignoreip = .*\\b${wl.replace(/\./g, '\\.')}\\b`, 'm'));
    assert.match(jail, /^bantime = 1d$/m);
    assert.match(jail, /^maxretry = 3$/m);
    assert.match(jail, /^\[voip-asterisk\]\nenabled = true$/m);
    // cloud-init-output.log: every stderr line timestamped, no colour or cursor codes.
    assert.doesNotMatch(r.stdout + r.stderr, /\x1b/);
    for (const line of r.stderr.trimEnd().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /, line);
    assert.match(r.stdout, /Done: \d+ file\(s\) written/);

    // Run again (a re-provisioning, or someone re-running the user data): nothing to do.
    const before = await snapshot(root);
    const again = await runLikeCloudInit([process.execPath, BIN, ...args, '--root', root]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /Nothing to do/);
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});

test('without a terminal and without --yes it still never asks (no TTY = unattended)', async () => {
  ensureBuilt();
  const root = await tempRoot({ '/etc/os-release': DEBIAN12 });
  try {
    const r = await runLikeCloudInit([process.execPath, BIN, '--root', root, '--whitelist', '198.51.100.7']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(await readFile(`${root}/etc/fail2ban/jail.local`, 'utf8'), /^ignoreip = .*198\.51\.100\.7/m);
  } finally {
    await removeRoot(root);
  }
});

/** The install options the environment alone gives. */
const fromEnv = (env: Record<string, string>, argv: string[] = []) => {
  const inv = parseArgs(argv, env);
  assert.equal(inv.command, 'install');
  return inv.command === 'install' ? inv : assert.fail();
};

test('yes/no environment twins: 1/true/yes/on are on, 0/false/no/off/empty are off, anything else is exit 2', () => {
  for (const v of ['1', 'true', 'TRUE', 'yes', 'on', ' 1 ']) assert.equal(fromEnv({ VOIP_F2B_DRY_RUN: v }).options.dryRun, true, v);
  for (const v of ['0', 'false', 'False', 'no', 'off', '']) assert.equal(fromEnv({ VOIP_F2B_DRY_RUN: v }).options.dryRun, false, v);
  for (const v of ['0', 'false']) {
    assert.equal(fromEnv({ VOIP_F2B_YES: v }).options.yes, false);
    assert.equal(fromEnv({ VOIP_F2B_JSON: v }).options.json, false);
    assert.equal(fromEnv({ VOIP_F2B_RESTARTKAMAILIO: v }).options.restartKamailio, false);
  }
  assert.throws(() => fromEnv({ VOIP_F2B_DRY_RUN: 'maybe' }), (e: Error & { exitCode?: number }) => e.exitCode === 2 && /VOIP_F2B_DRY_RUN='maybe'/.test(e.message));
  // A flag on the command line wins over its twin.
  assert.equal(fromEnv({ VOIP_F2B_DRY_RUN: '0' }, ['--dry-run']).options.dryRun, true);
  // --interactive: unset = decided by the terminal; 0 = never ask; 1 = ask.
  assert.equal(fromEnv({}).interactiveFlag, undefined);
  assert.equal(fromEnv({ VOIP_F2B_INTERACTIVE: '0' }).interactiveFlag, false);
  assert.equal(fromEnv({ VOIP_F2B_INTERACTIVE: '1' }).interactiveFlag, true);
  // Twins of the subcommands too.
  const u = parseArgs(['uninstall'], { VOIP_F2B_PURGE_PACKAGES: '0', VOIP_F2B_DRY_RUN: 'yes' });
  assert.ok(u.command === 'uninstall' && u.purgePackages === false && u.dryRun === true);
});

test('--no-protect-admin: VOIP_F2B_NO_PROTECT_ADMIN=1 (like the flag) or VOIP_F2B_PROTECT_ADMIN=0; a contradiction is exit 2', () => {
  assert.equal(fromEnv({}).options.protectAdmin, true);
  assert.equal(fromEnv({ VOIP_F2B_NO_PROTECT_ADMIN: '1' }).options.protectAdmin, false);
  assert.equal(fromEnv({ VOIP_F2B_NO_PROTECT_ADMIN: '0' }).options.protectAdmin, true);
  assert.equal(fromEnv({ VOIP_F2B_PROTECT_ADMIN: '0' }).options.protectAdmin, false);
  assert.equal(fromEnv({ VOIP_F2B_PROTECT_ADMIN: 'true' }).options.protectAdmin, true);
  assert.equal(fromEnv({ VOIP_F2B_PROTECT_ADMIN: '1' }, ['--no-protect-admin']).options.protectAdmin, false);
  assert.throws(() => fromEnv({ VOIP_F2B_PROTECT_ADMIN: '0', VOIP_F2B_NO_PROTECT_ADMIN: '0' }), /contradict/);
});

test('the built CLI: VOIP_F2B_DRY_RUN=0 applies, VOIP_F2B_DRY_RUN=1 does not, =maybe is exit 2 naming it', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12 });
  try {
    const before = await snapshot(root);
    const dry = runCli(['--root', root], { env: { VOIP_F2B_DRY_RUN: '1' } });
    assert.equal(dry.status, 0, dry.stderr);
    assert.deepEqual(await snapshot(root), before);
    const bad = runCli(['--root', root], { env: { VOIP_F2B_DRY_RUN: 'maybe' } });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^voip-f2b-install: invalid VOIP_F2B_DRY_RUN='maybe'/);
    assert.deepEqual(await snapshot(root), before);
    const real = runCli(['--root', root], { env: { VOIP_F2B_DRY_RUN: '0' } });
    assert.equal(real.status, 0, real.stderr);
    assert.ok((await snapshot(root))['etc/fail2ban/jail.local'], 'written');
  } finally {
    await removeRoot(root);
  }
});
