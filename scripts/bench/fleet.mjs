// Section 7 of `npm run bench`: the CrowdSec fleet (issue 13).
//  - propagation: test/real/40-crowdsec-fleet.test.ts run n times (namespaces, Debian's LAPI,
//    two PBXs with a private fail2ban and crowdsec-firewall-bouncer each); each run prints the
//    time from pbx1's ban to the address in pbx2's bouncer set, the unban the same way, and the
//    catch-up after a LAPI outage. What sets it: the bouncer's poll interval (update_frequency).
//  - action return: the wall time of the fail2ban action's command (`voip-f2b-crowdsec ban`)
//    with the LAPI unreachable, beside bare `python3 -c pass`: fail2ban never waits on the network.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, REPO, repeat, timed } from './lib.mjs';

const PUSHER = join(REPO, 'templates/usr/local/sbin/voip-f2b-crowdsec');
export const POLL = /update_frequency: \{\{update_frequency\}\}/.test(readFileSync(join(REPO, 'templates/etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml'), 'utf8'))
  ? /BOUNCER_POLL = '([^']+)'/.exec(readFileSync(join(REPO, 'src/core/crowdsec.ts'), 'utf8'))?.[1] ?? '?'
  : '?';

/** Runs the fleet test `n` times; returns the figures (seconds) it printed. */
export function fleetPropagation(n) {
  const out = { ban: [], unban: [], catchUp: [], failed: 0 };
  for (let i = 0; i < n; i++) {
    const r = timed(process.execPath, ['--import', 'tsx', '--test', 'test/real/40-crowdsec-fleet.test.ts'], { cwd: REPO });
    if (r.status !== 0) out.failed++;
    const grab = (re) => Number(re.exec(r.stdout)?.[1] ?? NaN);
    const b = grab(/propagation pbx1 ban -> pbx2 set: ([\d.]+) s/);
    const u = grab(/propagation pbx1 unban -> pbx2: ([\d.]+) s/);
    const c = grab(/catch-up after the LAPI returned: ([\d.]+) s/);
    if (!Number.isNaN(b)) out.ban.push(b);
    if (!Number.isNaN(u)) out.unban.push(u);
    if (!Number.isNaN(c)) out.catchUp.push(c);
  }
  return out;
}

/** Wall time (ms) of the action's command with the LAPI unreachable, and of bare python3. */
export function actionReturn(n) {
  const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-push-'));
  try {
    const cfg = join(dir, 'crowdsec.json');
    // 198.51.100.254: a documentation address routed nowhere here; bans of 1 s expire at once,
    // so the detached flusher gives up within seconds.
    writeFileSync(cfg, JSON.stringify({ url: 'http://198.51.100.254:8080/', login: 'bench', password: 'bench', allow: ['127.0.0.1/8'], spool: join(dir, 'spool') }), { mode: 0o600 });
    const env = { ...process.env, VOIP_F2B_CROWDSEC_CONFIG: cfg };
    const ours = repeat(n, (i) => timed(PUSHER, ['ban', 'voip-bench', `203.0.113.${10 + i}`, '1', 'sip-auth-failure'], { env }).ms, 2);
    const bare = repeat(n, () => timed('/usr/bin/python3', ['-c', 'pass']).ms, 2);
    return { ours: median(ours), max: Math.max(...ours), bare: median(bare) };
  } finally {
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 0).unref?.();
  }
}
