// needs: root, tmux
/**
 * Issue 20, holes 2, 5 and 6 as the web command meets them, through the built CLI over a --root
 * tree (loopback only, nothing on this machine changed): a json.py planted in the directory the
 * admin starts `web` from is never run; the login token reaches only a terminal; a token file
 * another user owns, or a link, is refused. And every child of the runner runs in / with a
 * fixed environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, ensureBuilt, runCli } from '../helpers/cli.ts';
import { Terminal } from '../helpers/tty.ts';
import { removeRoot, tempRoot } from '../helpers/context.ts';
import { waitFor } from '../helpers/system.ts';
import { CHILD_PATH, execaRunner } from '../../src/adapters/runner.ts';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root (the web command, owners)' : false;
const TOKEN_FILE = 'etc/voip-f2b-install/web-token';
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root' };

/** Starts `web` over `root` from `cwd`, stdout a pipe; resolves with its first line once it listens. */
async function startWeb(root: string, cwd: string, json: boolean) {
  ensureBuilt();
  const p = spawn(process.execPath, [BIN, 'web', '--root', root, '--listen', '127.0.0.1:0', ...(json ? ['--json'] : [])], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const ok = await waitFor(() => (json ? out.includes('\n') : /^Listening on \S+\n.*\n/m.test(out)) || p.exitCode !== null, 20000);
  assert.ok(ok && p.exitCode === null, `web did not start: ${err}`);
  const stop = async (): Promise<void> => {
    if (p.exitCode === null) p.kill('SIGTERM');
    await waitFor(() => p.exitCode !== null || p.signalCode !== null, 10000);
  };
  return { out: () => out, err: () => err, stop };
}

test('a json.py planted in the directory web is started from is never run, even on a page load', { skip }, async () => {
  const root = await tempRoot();
  const planted = mkdtempSync(path.join(tmpdir(), 'voip-f2b-planted-'));
  const marker = path.join(planted, 'RAN-AS-ROOT');
  writeFileSync(path.join(planted, 'json.py'), `open(${JSON.stringify(marker)}, "w").write("planted json.py ran")\n`);
  chmodSync(planted, 0o777);
  const web = await startWeb(root, planted, true);
  try {
    const notice = JSON.parse(web.out().split('\n')[0]!) as { url: string };
    const token = readFileSync(path.join(root, TOKEN_FILE), 'utf8').trim();
    for (const api of ['/api/bans', '/api/jails']) {
      const r = await fetch(new URL(api, notice.url), { headers: { Authorization: `Bearer ${token}` } });
      await r.text(); // fail2ban is not running over this tree: an error answer, after Python ran
    }
    assert.equal(existsSync(marker), false, 'the planted module was imported by the root Python');
  } finally {
    await web.stop();
    await removeRoot(root);
    rmSync(planted, { recursive: true, force: true });
  }
});

test('the runner: every child runs in / with a fixed PATH, nothing else from the caller but proxies', async () => {
  const here = process.cwd();
  const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-cwd-'));
  try {
    process.chdir(dir);
    const run = execaRunner({ PATH: `${dir}:/usr/bin:/bin`, PYTHONPATH: dir, PYTHONSTARTUP: `${dir}/x.py`, https_proxy: 'http://198.51.100.1:3128' });
    const r = await run({ cmd: 'sh', args: ['-c', 'pwd; echo "$PATH"; echo "${PYTHONPATH-unset} ${PYTHONSTARTUP-unset}"; echo "$https_proxy"'] });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['/', CHILD_PATH, 'unset unset', 'http://198.51.100.1:3128']);
  } finally {
    process.chdir(here);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the login URL with the token goes only to a terminal: a pipe gets the token file and the command that prints it', { skip }, async () => {
  const piped = await tempRoot();
  const web = await startWeb(piped, '/', false);
  try {
    const token = readFileSync(path.join(piped, TOKEN_FILE), 'utf8').trim();
    assert.ok(!web.out().includes(token) && !web.err().includes(token), `no token in output that is not a terminal:\n${web.out()}`);
    assert.match(web.out(), /Log in with the token in \/etc\/voip-f2b-install\/web-token \(made now, mode 0600; not printed: this output is not a terminal\)\./);
    const cmd = /The login URL, on this server: (.*)\n/.exec(web.out())![1]!;
    const url = /^Listening on (\S+)/m.exec(web.out())![1]!;
    const printed = await new Promise<string>((resolve) => {
      const sh = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      sh.stdout.on('data', (c: Buffer) => (o += c.toString()));
      sh.on('close', () => resolve(o.trim()));
    });
    assert.equal(printed, `${url}#token=${token}`, 'the command prints the login URL');
  } finally {
    await web.stop();
    await removeRoot(piped);
  }

  // A real terminal: the admin sees the login URL once.
  const root = await tempRoot();
  const term = Terminal.start([process.execPath, BIN, 'web', '--root', root, '--listen', '127.0.0.1:0'], { env: ENV, dir: root });
  try {
    const screen = await term.waitFor(/#token=\S+/, 20000);
    const token = readFileSync(path.join(root, TOKEN_FILE), 'utf8').trim();
    assert.ok(screen.includes(`#token=${token}`), screen);
  } finally {
    term.kill();
    await removeRoot(root);
  }
});

test('a token file another user owns (0600, its content chosen by them), or a link, is refused: exit 2, one line', { skip }, async () => {
  const root = await tempRoot();
  try {
    const dir = path.join(root, 'etc/voip-f2b-install');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(root, TOKEN_FILE);
    writeFileSync(file, `${'A'.repeat(43)}\n`, { mode: 0o600 });
    chownSync(file, 2001, 2001);
    const r = runCli(['web', '--root', root, '--listen', '127.0.0.1:0'], { timeoutMs: 20000 });
    assert.equal(r.status, 2, `exit 2, not serving with that token: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr.split('\n')[0]!, /^voip-f2b-install: refusing the token file \/etc\/voip-f2b-install\/web-token: it is owned by uid 2001, not by uid 0 that runs the tool/);
    assert.doesNotMatch(r.stdout, /Listening/);

    rmSync(file);
    const real = path.join(root, 'root-token');
    writeFileSync(real, `${'B'.repeat(43)}\n`, { mode: 0o600 });
    symlinkSync(real, file);
    const l = runCli(['web', '--root', root, '--listen', '127.0.0.1:0'], { timeoutMs: 20000 });
    assert.equal(l.status, 2, `${l.stdout}${l.stderr}`);
    assert.match(l.stderr.split('\n')[0]!, /^voip-f2b-install: refusing the token file \/etc\/voip-f2b-install\/web-token: it is a symbolic link$/);
  } finally {
    await removeRoot(root);
  }
});
