/**
 * "One failed attempt is one failure": a real, private fail2ban-server (no firewall, no host
 * state) runs the jails exactly as the installer writes them (voip-asterisk[count=once] over
 * the messages AND the security log; voip-freeswitch[count=once] over freeswitch.log), and,
 * beside each on the same files, the same filter with count=lines (what stock fail2ban and
 * this tool did before: every line counts). The test appends, attempt by attempt, the exact
 * lines Asterisk (chan_sip, PJSIP) and FreeSWITCH write for one attempt to each file, and
 * checks fail2ban's own counters after every attempt: the count=once jail counts exactly one
 * failure per attempt and bans at exactly the maxretry-th attempt (not one earlier, not one
 * later); the count=lines jail shows the double count the issue measured.
 *
 * Knowing fail2ban has read everything: after each attempt one sync line per file, from an
 * address of its own (never near maxretry), is appended; the expected total includes them.
 *
 * The lines per attempt follow the sources: Asterisk res_pjsip/pjsip_distributor.c
 * (log_failed_request + ast_sip_report_*), chan_sip.c handle_request_register /
 * sip_report_security_event, res_pjsip/security_events.c (AccountID "<unknown>" for the
 * artificial endpoint); FreeSWITCH sofia_reg.c ("Can't find user", then "SIP auth failure").
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startPrivateFail2ban, waitFor, asteriskStamp, freeswitchStamp, type PrivateFail2ban } from '../helpers/private-fail2ban.ts';

const MAXRETRY = 5;

interface Attempt {
  messages: string[];
  security: string[];
}

let n = 0;
const iso = () => new Date().toISOString().replace('Z', '+0000');
const sec = (event: string, service: string, account: string, ip: string, tail = '', severity = 'Error', version = '1') =>
  `[${asteriskStamp()}] SECURITY[2418] res_security_log.c: SecurityEvent="${event}",EventTV="${iso()}",Severity="${severity}",Service="${service}",EventVersion="${version}",AccountID="${account}",SessionID="${service === 'SIP' ? `0x7f00000${(++n).toString(16)}` : `c${++n}@192.0.2.10`}",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${ip}/5060"${tail}`;
const msg = (file: string, text: string) => `[${asteriskStamp()}] NOTICE[2417] ${file}: ${text}`;
const challengeSent = (service: string, account: string, ip: string) => sec('ChallengeSent', service, account, ip, ',Challenge="1704164645/0a1b2c"', 'Informational');

/** One attempt of each kind, as Asterisk writes it to the messages and the security log. */
const ASTERISK: Record<string, { lines: (ip: string) => Attempt; perAttemptWhenEveryLineCounts: number; once?: 0 | 1 }> = {
  'chan_sip REGISTER, wrong password (challenge, then credentials)': {
    lines: (ip) => ({
      messages: [msg('chan_sip.c', `Registration from '"1000" <sip:1000@192.0.2.10>' failed for '${ip}:5060' - Wrong password`)],
      security: [
        challengeSent('SIP', '1000', ip),
        sec('InvalidPassword', 'SIP', '1000', ip, ',Challenge="5e1d2c3b",ReceivedChallenge="5e1d2c3b",ReceivedHash="7a6a3a2e95a05260aee612896e1b4a39"', 'Error', '2'),
      ],
    }),
    perAttemptWhenEveryLineCounts: 2,
  },
  'chan_sip INVITE, wrong password': {
    lines: (ip) => ({
      // the messages line names the From header, not the source: no filter may ban from it
      messages: [msg('chan_sip.c', 'Failed to authenticate device "1000" <sip:1000@192.0.2.10>;tag=as5f3e')],
      security: [sec('InvalidPassword', 'SIP', '1000', ip, ',Challenge="6f2e",ReceivedChallenge="6f2e",ReceivedHash="00112233445566778899aabbccddeeff"', 'Error', '2')],
    }),
    perAttemptWhenEveryLineCounts: 1,
  },
  'chan_sip REGISTER, unknown user': {
    lines: (ip) => ({
      messages: [msg('chan_sip.c', `Registration from '<sip:9999@192.0.2.10>' failed for '${ip}:5060' - No matching peer found`)],
      security: [sec('InvalidAccountID', 'SIP', '9999', ip)],
    }),
    perAttemptWhenEveryLineCounts: 2,
  },
  'PJSIP REGISTER, wrong password (challenge, then credentials)': {
    lines: (ip) => ({
      messages: [msg('res_pjsip/pjsip_distributor.c', `Request 'REGISTER' from '<sip:1000@192.0.2.10>' failed for '${ip}:5060' (callid: a${n}) - Failed to authenticate`)],
      security: [
        challengeSent('PJSIP', '1000', ip),
        sec('ChallengeResponseFailed', 'PJSIP', '1000', ip, ',Challenge="1704164645/0a1b2c",Response="8e181448412899ccb20ea585efc8bab0",ExpectedResponse=""'),
      ],
    }),
    perAttemptWhenEveryLineCounts: 2,
  },
  // No password was tried (an OPTIONS ping writes the same lines): count=once never counts it.
  'PJSIP REGISTER, unknown user, no credentials (a svwar probe)': {
    lines: (ip) => ({
      messages: [msg('res_pjsip/pjsip_distributor.c', `Request 'REGISTER' from '<sip:9999@192.0.2.10>' failed for '${ip}:5060' (callid: b${n}) - No matching endpoint found`)],
      security: [sec('InvalidAccountID', 'PJSIP', '9999', ip), challengeSent('PJSIP', '<unknown>', ip)],
    }),
    perAttemptWhenEveryLineCounts: 2,
    once: 0,
  },
  'PJSIP REGISTER, unknown user, with credentials (a svcrack guess)': {
    lines: (ip) => ({
      messages: [
        msg('res_pjsip/pjsip_distributor.c', `Request 'REGISTER' from '<sip:9999@192.0.2.10>' failed for '${ip}:5060' (callid: c${n}) - No matching endpoint found`),
        msg('res_pjsip/pjsip_distributor.c', `Request 'REGISTER' from '<sip:9999@192.0.2.10>' failed for '${ip}:5060' (callid: c${n}) - Failed to authenticate`),
      ],
      security: [
        sec('InvalidAccountID', 'PJSIP', '9999', ip),
        sec('ChallengeResponseFailed', 'PJSIP', '<unknown>', ip, ',Challenge="1704164645/0a1b2c",Response="0000",ExpectedResponse=""'),
      ],
    }),
    perAttemptWhenEveryLineCounts: 4,
  },
};

const fsLine = (text: string) => `${freeswitchStamp()} [WARNING] sofia_reg.c:1842 ${text}`;
const FREESWITCH: Record<string, { lines: (ip: string) => string[]; perAttemptWhenEveryLineCounts: number }> = {
  'FreeSWITCH, wrong password (challenge, then credentials)': {
    lines: (ip) => [
      fsLine(`SIP auth challenge (REGISTER) on sofia profile 'internal' for [1000@192.0.2.10] from ip ${ip}`),
      fsLine(`SIP auth failure (REGISTER) on sofia profile 'internal' for [1000@192.0.2.10] from ip ${ip}`),
    ],
    perAttemptWhenEveryLineCounts: 1,
  },
  'FreeSWITCH, unknown user (challenge, then credentials)': {
    lines: (ip) => [
      fsLine(`SIP auth challenge (REGISTER) on sofia profile 'internal' for [9999@192.0.2.10] from ip ${ip}`),
      `${freeswitchStamp()} [WARNING] sofia_reg.c:3210 Can't find user [9999@192.0.2.10] from ${ip}`,
      "You must define a domain called '192.0.2.10' in your directory and add a user with the id=\"9999\" attribute",
      'and you must configure your device to use the proper domain in its authentication credentials.',
      fsLine(`SIP auth failure (REGISTER) on sofia profile 'internal' for [9999@192.0.2.10] from ip ${ip}`),
    ],
    perAttemptWhenEveryLineCounts: 2,
  },
};

const jailLocal = (jails: Array<{ name: string; filter: string; logs: string[] }>) =>
  jails
    .map((j) => `[${j.name}]\nenabled = true\nfilter = ${j.filter}\nlogpath = ${j.logs.map((l) => `%(dir)s/${l}`).join('\n          ')}\nmaxretry = ${MAXRETRY}\nfindtime = 10m\nbantime = 1h\n`)
    .join('\n');

/** Sync lines (one per file), from addresses used once each. */
let syncHost = 0;
const syncIp = () => `203.0.113.${++syncHost}`;

describe('count once: a real fail2ban-server, the exact lines of each attempt', () => {
  let f2b: PrivateFail2ban;
  before(async () => {
    f2b = await startPrivateFail2ban(
      'h8c-count',
      jailLocal([
        { name: 'ast-once', filter: 'voip-asterisk[count=once]', logs: ['messages', 'security'] },
        { name: 'ast-lines', filter: 'voip-asterisk', logs: ['messages', 'security'] },
        { name: 'fs-once', filter: 'voip-freeswitch[count=once]', logs: ['freeswitch.log'] },
        { name: 'fs-lines', filter: 'voip-freeswitch', logs: ['freeswitch.log'] },
      ]),
      ['messages', 'security', 'freeswitch.log'],
    );
  });
  after(async () => {
    await f2b?.stop();
  });

  /**
   * Feed MAXRETRY attempts from `ip`, checking both jails after each.
   * `feed(ip)` appends one attempt; `sync()` appends the sync lines and returns how many
   * failures they add to each jail.
   */
  async function run(label: string, ip: string, once: string, lines: string, perLine: number, feed: (ip: string) => void, sync: () => number, perOnce: 0 | 1 = 1) {
    const base = { once: f2b.status(once).totalFailed, lines: f2b.status(lines).totalFailed };
    let expectOnce = base.once;
    let expectLines = base.lines;
    const linesBanAt = Math.ceil(MAXRETRY / perLine);
    for (let attempt = 1; attempt <= MAXRETRY; attempt++) {
      feed(ip);
      const syncs = sync();
      expectOnce += perOnce + syncs;
      expectLines += perLine + syncs;
      const s = await waitFor(`${label}: ${once} total failed ${expectOnce} after attempt ${attempt}`, () => {
        const st = f2b.status(once);
        return st.totalFailed >= expectOnce ? st : undefined;
      });
      assert.equal(s.totalFailed, expectOnce, `${label}: attempt ${attempt} must count exactly once in ${once}`);
      if (attempt <= linesBanAt) {
        const l = await waitFor(`${label}: ${lines} total failed`, () => {
          const st = f2b.status(lines);
          return st.totalFailed >= expectLines ? st : undefined;
        });
        assert.equal(l.totalFailed, expectLines, `${label}: attempt ${attempt} counts ${perLine} in ${lines}`);
      }
      if (attempt < MAXRETRY || perOnce === 0) {
        assert.ok(!f2b.status(once).banned.includes(ip), `${label}: banned by ${once} at attempt ${attempt}${perOnce ? `, before maxretry ${MAXRETRY}` : ' (never counted)'}`);
      } else {
        await waitFor(`${label}: ban by ${once} at attempt ${MAXRETRY}`, () => (f2b.status(once).banned.includes(ip) ? true : undefined));
      }
      if (attempt === linesBanAt) await waitFor(`${label}: ban by ${lines}`, () => (f2b.status(lines).banned.includes(ip) ? true : undefined));
      if (attempt < linesBanAt) assert.ok(!f2b.status(lines).banned.includes(ip), `${label}: ${lines} banned too early`);
    }
    console.log(`${label}: count=once ${perOnce ? `banned at attempt ${MAXRETRY} of maxretry ${MAXRETRY}` : 'never counted'}; every line counting (stock) banned at attempt ${linesBanAt} (${perLine} per attempt)`);
  }

  let host = 10;
  for (const [label, s] of Object.entries(ASTERISK)) {
    it(`Asterisk: ${label}`, async () => {
      const ip = `198.51.100.${++host}`;
      await run(
        label,
        ip,
        'ast-once',
        'ast-lines',
        s.perAttemptWhenEveryLineCounts,
        (addr) => {
          const a = s.lines(addr);
          f2b.append('messages', a.messages);
          f2b.append('security', a.security);
        },
        () => {
          f2b.append('messages', [msg('manager.c', `${syncIp()} failed to authenticate as 'sync'`)]);
          f2b.append('security', [sec('InvalidAccountID', 'SIP', 'sync', syncIp())]);
          return 2;
        },
        s.once ?? 1,
      );
    });
  }
  for (const [label, s] of Object.entries(FREESWITCH)) {
    it(label, async () => {
      const ip = `198.51.100.${++host}`;
      await run(
        label,
        ip,
        'fs-once',
        'fs-lines',
        s.perAttemptWhenEveryLineCounts,
        (addr) => f2b.append('freeswitch.log', s.lines(addr)),
        () => {
          f2b.append('freeswitch.log', [fsLine(`SIP auth failure (REGISTER) on sofia profile 'internal' for [sync@192.0.2.10] from ip ${syncIp()}`)]);
          return 1;
        },
      );
    });
  }
});
