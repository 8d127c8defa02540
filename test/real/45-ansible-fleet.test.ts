/**
 * Issue 13: docs/ansible (playbook + role) run by Debian's ansible-playbook against this machine
 * with a local connection; three --root trees stand in for one LAPI host and two members.
 * Shown: check mode (--dry-run) predicts changes and writes nothing; the first run is "changed"
 * on every host; the second run is "ok" everywhere (nothingToDo from --json); no secret reaches
 * ansible's output. No host state is touched (everything lives in a temp directory).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, REPO, ensureBuilt } from '../helpers/cli.ts';
import { snapshot } from '../helpers/context.ts';
import { sh } from '../helpers/system.ts';

let tmp = '';
after(() => {
  if (tmp && tmp.startsWith(tmpdir())) rmSync(tmp, { recursive: true, force: true });
});

/** Per host: "ok=N changed=N …" from ansible's PLAY RECAP. */
function recap(stdout: string): Record<string, { ok: number; changed: number; failed: number }> {
  const out: Record<string, { ok: number; changed: number; failed: number }> = {};
  for (const m of stdout.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/gm)) {
    out[m[1]!] = { ok: Number(m[2]), changed: Number(m[3]), failed: Number(m[4]) };
  }
  return out;
}

test('docs/ansible: check mode changes nothing; first run changed, second run ok, on 1 LAPI host + 2 members', { timeout: 300000 }, async () => {
  assert.ok(existsSync('/usr/bin/ansible-playbook'), 'ansible-playbook missing: run scripts/install-test-deps.sh');
  ensureBuilt();
  tmp = mkdtempSync(path.join(tmpdir(), 'h13-ansible-'));
  const hosts = ['lapi1', 'pbx1', 'pbx2'];
  const secrets: string[] = [];
  mkdirSync(path.join(tmp, 'credentials'));
  for (const h of hosts) {
    const root = path.join(tmp, 'hosts', h);
    mkdirSync(path.join(root, 'etc/kamailio'), { recursive: true });
    cpSync(path.join(REPO, 'test/fixtures/os-release/debian-12'), path.join(root, 'etc/os-release'));
    writeFileSync(path.join(root, 'etc/kamailio/kamailio.cfg'), '# stand-in\n');
    if (h !== 'lapi1') {
      const password = `pw-${h}-0123456789abcdefXYZ`;
      secrets.push(password);
      const f = path.join(tmp, 'credentials', `${h}.yaml`);
      writeFileSync(f, `url: https://198.51.100.161:8080\nlogin: ${h}\npassword: ${password}\napi_key: key${h}0123456789abcdef\n`);
      chmodSync(f, 0o600);
    }
  }
  const argv = JSON.stringify([process.execPath, BIN]);
  const inventory = [
    '[lapi]',
    `lapi1 crowdsec_listen=198.51.100.161:8080 voip_f2b_root=${tmp}/hosts/lapi1`,
    '[members]',
    ...['pbx1', 'pbx2'].map((h) => `${h} voip_f2b_root=${tmp}/hosts/${h} voip_f2b_crowdsec_credentials_dest=${tmp}/hosts/${h}.creds.yaml voip_f2b_crowdsec_ca_dest=${tmp}/hosts/${h}.ca.pem`),
    '[all:vars]',
    'ansible_connection=local',
    `ansible_python_interpreter=/usr/bin/python3`,
    'crowdsec_lapi_url=https://198.51.100.161:8080/',
    'voip_f2b_whitelist=198.51.100.170',
    'voip_f2b_maxretry=3',
    'voip_f2b_services=kamailio',
    `voip_f2b_crowdsec_credentials_dir=${tmp}/credentials`,
    '',
  ].join('\n');
  writeFileSync(path.join(tmp, 'inventory.ini'), inventory);
  const play = (extra: string[]) => {
    const r = sh(
      'ansible-playbook',
      ['-i', path.join(tmp, 'inventory.ini'), path.join(REPO, 'docs/ansible/playbook.yml'), '-e', `{"voip_f2b_command": ${argv}}`, ...extra],
      { timeoutMs: 240000, env: { ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_LOCAL_TEMP: path.join(tmp, '.ansible-tmp'), ANSIBLE_REMOTE_TEMP: path.join(tmp, '.ansible-tmp'), ANSIBLE_RETRY_FILES_ENABLED: '0', SSH_CONNECTION: '' } },
    );
    for (const s of secrets) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), 'no secret in ansible output');
    return { ...r, recap: recap(r.stdout) };
  };
  const trees = async () => snapshot(path.join(tmp, 'hosts'));

  const before = await trees();
  const check = play(['--check']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  for (const h of hosts) assert.ok(check.recap[h]!.changed >= 1, `${h} would change: ${check.stdout}`);
  const afterCheck = await trees();
  for (const k of Object.keys(afterCheck)) if (!k.endsWith('.creds.yaml')) assert.equal(afterCheck[k], before[k], `check mode wrote ${k}`);

  const t0 = Date.now();
  const first = play([]);
  console.log(`# first run: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(first.status, 0, first.stdout + first.stderr);
  for (const h of hosts) {
    assert.equal(first.recap[h]!.failed, 0);
    assert.ok(first.recap[h]!.changed >= 1, `${h} changed on the first run`);
  }
  assert.ok(existsSync(path.join(tmp, 'hosts/lapi1/etc/crowdsec/config.yaml.local')), 'the LAPI host got its config');
  assert.ok(existsSync(path.join(tmp, 'hosts/pbx1/etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml')), 'members got the bouncer config');
  assert.ok(!existsSync(path.join(tmp, 'hosts/lapi1/etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml')), 'the LAPI host is no member here');
  // TLS: the LAPI host's certificate went to the controller, and from there to every member.
  const lapiCert = readFileSync(path.join(tmp, 'hosts/lapi1/etc/voip-f2b-install/crowdsec-lapi.crt'), 'utf8');
  assert.equal(readFileSync(path.join(tmp, 'credentials/crowdsec-lapi.crt'), 'utf8'), lapiCert);
  for (const h of ['pbx1', 'pbx2']) {
    assert.equal(readFileSync(path.join(tmp, 'hosts', h, 'etc/voip-f2b-install/crowdsec-ca.pem'), 'utf8'), lapiCert, `${h} trusts the LAPI's certificate`);
    assert.match(readFileSync(path.join(tmp, 'hosts', h, 'etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml'), 'utf8'), /^api_url: https:\/\/198\.51\.100\.161:8080\/\n[\s\S]*^ca_cert_path: /m);
  }

  const second = play([]);
  assert.equal(second.status, 0, second.stdout + second.stderr);
  for (const h of hosts) assert.equal(second.recap[h]!.changed, 0, `${h} ok on the second run: ${second.stdout}`);
});
