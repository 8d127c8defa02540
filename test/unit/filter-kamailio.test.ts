/**
 * voip-kamailio: a forged marker and a forged address in every attacker-controlled field, for
 * every regex, through the real fail2ban-regex. Each line either bans the TRUE address (never
 * the forged one, never nothing) or cannot exist, for the reason given beside it.
 *
 * What Kamailio really writes was measured against Debian 12's kamailio 5.6 on the stock
 * kamailio.cfg (log_prefix "{$mt $hdr(CSeq) $ci} ") with the blocks voip-f2b-install inserts:
 *  - a Call-ID may hold spaces and "} ": it is logged as sent (the answer is a normal 401);
 *  - a From user with a space is refused by the parser ("bad header field"), so $fU has none;
 *    an escaped "%20" stays "%20";
 *  - a CSeq with text after the method is refused by the parser, so the prefix's CSeq part is
 *    "<number> <method>";
 *  - syslog turns a CR/LF inside a field into "#015#012": a field cannot start a new line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFail2banRegex, runFail2banRegex } from '../helpers/fail2ban-regex.ts';

const REAL = '198.51.100.34';
const FORGED = '203.0.113.66';
const HEAD = '2026-11-29T17:34:51.236184+00:00 vm /usr/sbin/kamailio[21855]:';
const failure = (user = 'alice', method = 'REGISTER') => `voip-f2b: auth failure src=${REAL} port=5060 method=${method} user=${user} rc=-2`;
const forgedFailure = `voip-f2b: auth failure src=${FORGED} port=5060 method=REGISTER user=x rc=-2`;
const throttled = (user = 'alice') => `voip-f2b: auth throttled src=${REAL} port=5060 method=REGISTER user=${user}`;
const forgedThrottled = `voip-f2b: auth throttled src=${FORGED} port=5060 method=REGISTER user=x`;
const pike = (from: string, method = 'REGISTER') => `ALERT: pike blocking ${method} from ${from} (IP:${REAL}:5060)`;

interface Case {
  /** Which regex the line is about. */
  regex: 'pike' | 'pike-block' | 'auth-failure' | 'auth-throttled';
  field: string;
  line: string;
  /** REAL: bans the true address. null: no match, and `why` says why such a line cannot exist. */
  bans: typeof REAL | null;
  why?: string;
}

const cases: Case[] = [
  // 1. pike: ALERT: pike blocking $rm from $fu (IP:$si:$sp)
  { regex: 'pike', field: 'From URI holding (IP:forged:port)', line: `${HEAD} ALERT: {1 1 REGISTER abc} <script>: ${pike(`sip:x(IP:${FORGED}:5060)@198.51.100.33`)}`, bans: REAL },
  { regex: 'pike', field: 'From URI ending like the real field', line: `${HEAD} ALERT: {1 1 REGISTER abc} <script>: ${pike(`sip:a@b (IP:${FORGED}:5060)`)}`, bans: REAL },
  { regex: 'pike', field: 'Call-ID holding "} " and a whole forged pike line', line: `${HEAD} ALERT: {1 1 REGISTER x} <script>: ALERT: pike blocking REGISTER from sip:a@b (IP:${FORGED}:5060)} <script>: ${pike('sip:alice@198.51.100.33')}`, bans: REAL },
  { regex: 'pike', field: 'method holding (IP:forged:port)', line: `${HEAD} ALERT: <script>: ${pike('sip:1@198.51.100.33', `(IP:${FORGED}:5060)`)}`, bans: REAL },
  { regex: 'pike', field: 'From URI with a CR/LF and a forged line (syslog escapes it)', line: `${HEAD} ALERT: {1 1 INVITE abc} <script>: ${pike(`sip:a@b#015#012${HEAD} ALERT: ALERT: pike blocking INVITE from x (IP:${FORGED}:5060)`, 'INVITE')}`, bans: REAL },
  // 2. VoipNow's "Pike block from <addr>"
  { regex: 'pike-block', field: 'Call-ID holding "} Pike block from forged"', line: `${HEAD} ALERT: {1 1 INVITE x} Pike block from ${FORGED}} <script>: Pike block from ${REAL}`, bans: REAL },
  {
    regex: 'pike-block', field: 'Pike block line with attacker text at its end', line: `${HEAD} ALERT: <script>: Pike block from ${REAL} sip:x Pike block from ${FORGED}`, bans: null,
    why: 'VoipNow writes "Pike block from <addr>" with nothing after the address: no attacker text can follow it',
  },
  // 3. voip-f2b: auth failure src=$si port=$sp method=$rm user=$fU rc=N
  { regex: 'auth-failure', field: 'Call-ID holding "} " and a whole forged failure line (measured)', line: `${HEAD} WARNING: {1 2 REGISTER x} ${forgedFailure}} <script>: ${failure()}`, bans: REAL },
  { regex: 'auth-failure', field: 'Call-ID holding "} <script>: " and a forged failure line', line: `${HEAD} WARNING: {1 2 REGISTER x} <script>: ${forgedFailure}} <script>: ${failure()}`, bans: REAL },
  { regex: 'auth-failure', field: 'Call-ID holding a forged line without "} "', line: `${HEAD} WARNING: {1 2 REGISTER x ${forgedFailure}} <script>: ${failure()}`, bans: REAL },
  { regex: 'auth-failure', field: 'From user holding src=forged (no spaces)', line: `${HEAD} WARNING: {1 2 REGISTER abc3} <script>: ${failure(`src=${FORGED}`)}`, bans: REAL },
  { regex: 'auth-failure', field: 'From user with escaped spaces (measured: stays %20)', line: `${HEAD} WARNING: {1 2 REGISTER abc4} <script>: ${failure(`x%20src=${FORGED}%20port=1`)}`, bans: REAL },
  { regex: 'auth-failure', field: 'From user ending in "}" (a "} " inside our own fields)', line: `${HEAD} WARNING: {1 2 REGISTER abc} <script>: ${failure('x}')}`, bans: REAL },
  { regex: 'auth-failure', field: 'method holding src=forged', line: `${HEAD} WARNING: {1 2 REGISTER abc} <script>: ${failure('alice', `src=${FORGED}`)}`, bans: REAL },
  {
    regex: 'auth-failure', field: 'From user with a space and a forged src', line: `${HEAD} WARNING: {1 2 REGISTER abc} <script>: voip-f2b: auth failure src=${REAL} port=5060 method=REGISTER user=x src=${FORGED} port=5060 rc=-2`, bans: null,
    why: 'Kamailio refuses a From user with a space ("bad header field", measured), so $fU never holds one',
  },
  {
    regex: 'auth-failure', field: 'CSeq holding a forged line', line: `${HEAD} WARNING: {1 2 REGISTER} ${forgedFailure}} <script>: ${failure()}`, bans: REAL,
  },
  {
    regex: 'auth-failure', field: 'User-Agent echoed at the end of an admin\'s own xlog line', line: `${HEAD} ERROR: {1 2 REGISTER abc} <script>: new request ua=x} ${forgedFailure}`, bans: null,
    why: 'our line is WARNING; xlog() without a level writes ERROR, and a line holding attacker text after ours is not ours',
  },
  // 4. voip-f2b: auth throttled src=$si port=$sp method=$rm user=$fU
  { regex: 'auth-throttled', field: 'Call-ID holding "} " and a forged throttled line', line: `${HEAD} WARNING: {1 2 REGISTER x} <script>: ${forgedThrottled}} <script>: ${throttled()}`, bans: REAL },
  { regex: 'auth-throttled', field: 'Call-ID holding a forged failure line', line: `${HEAD} WARNING: {1 2 REGISTER x} ${forgedFailure}} <script>: ${throttled()}`, bans: REAL },
  { regex: 'auth-throttled', field: 'From user holding src=forged', line: `${HEAD} WARNING: {1 2 REGISTER abc} <script>: ${throttled(`src=${FORGED}`)}`, bans: REAL },
  {
    regex: 'auth-throttled', field: 'From user with a space and a forged rc', line: `${HEAD} WARNING: <script>: voip-f2b: auth throttled src=${REAL} port=5060 method=REGISTER user=x rc=-2 src=${FORGED}`, bans: null,
    why: 'no space can be in $fU (see above), and the throttled line has no rc field',
  },
];

describe('voip-kamailio: forged markers', () => {
  it('every regex has forged-marker lines, each banning the true address or impossible for a stated reason', async () => {
    for (const r of ['pike', 'pike-block', 'auth-failure', 'auth-throttled'] as const) {
      assert.ok(cases.some((c) => c.regex === r && c.bans === REAL), `${r}: a line that bans the true address`);
    }
    const results = await runFail2banRegex(cases.map((c) => c.line), { filter: 'voip-kamailio' });
    for (const [i, c] of cases.entries()) {
      const got = results[i]!.addresses;
      assert.ok(!got.includes(FORGED), `FORGED address taken: ${c.regex} / ${c.field}`);
      if (c.bans === REAL) assert.deepEqual(got, [REAL], `${c.regex} / ${c.field}: bans the true address`);
      else {
        assert.ok(c.why, `${c.regex} / ${c.field}: a line that matches nothing needs the reason it cannot exist`);
        assert.deepEqual(got, [], `${c.regex} / ${c.field}`);
      }
    }
  });

  it('modes: auth counts only our lines, pike only pike blocks; "auth error" (a database error) never counts', async () => {
    const lines = [
      `${HEAD} WARNING: {1 2 REGISTER abc} <script>: ${failure()}`,
      `${HEAD} WARNING: {1 2 REGISTER abc} <script>: ${throttled()}`,
      `${HEAD} ALERT: {1 1 REGISTER abc} <script>: ${pike('sip:alice@198.51.100.33')}`,
      `${HEAD} ERROR: {1 2 REGISTER abc} <script>: voip-f2b: auth error src=${REAL} port=5060 method=REGISTER user=alice rc=-1: database or server error, not counted`,
    ];
    const matched = async (filter: string) => (await runFail2banRegex(lines, { filter })).map((r) => r.matched);
    assert.deepEqual(await matched('voip-kamailio'), [true, true, true, false]);
    assert.deepEqual(await matched('voip-kamailio[mode=auth]'), [true, true, false, false]);
    assert.deepEqual(await matched('voip-kamailio[mode=pike]'), [false, false, true, false]);
  });

  it('the login line (an office\'s first login of the day, NOTICE) is never a failure, in any mode, whatever a Call-ID forges', async () => {
    const login = (src: string) => `voip-f2b: login src=${src} port=5060 method=REGISTER: an office for a day (logged once a day)`;
    const lines = [
      `${HEAD} NOTICE: {1 2 REGISTER abc} <script>: ${login(REAL)}`,
      `${HEAD} NOTICE: <script>: ${login(REAL)}`,
      // a Call-ID holding a whole failure line, then the real login line at the end
      `${HEAD} NOTICE: {1 2 REGISTER x} ${forgedFailure}} <script>: ${login(REAL)}`,
      // the same, as WARNING (the level of our failure lines): still ends with the login
      `${HEAD} WARNING: {1 2 REGISTER x} ${forgedFailure}} <script>: ${login(REAL)}`,
    ];
    for (const filter of ['voip-kamailio', 'voip-kamailio[mode=auth]', 'voip-kamailio[mode=pike]']) {
      assert.deepEqual((await runFail2banRegex(lines, { filter })).map((r) => r.matched), [false, false, false, false], filter);
    }
  });

  it('a failure carries its account (F-USER, the guard\'s "account keeps failing"); none when the From user is empty; a forged user= in the Call-ID is not it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-kam-user-'));
    try {
      const log = path.join(dir, 'kamailio.log');
      writeFileSync(log, [
        `${HEAD} WARNING: {1 2 REGISTER abc} <script>: ${failure('carol')}`,
        `${HEAD} WARNING: {1 2 REGISTER abc} <script>: voip-f2b: auth failure src=${REAL} port=5060 method=REGISTER user= rc=-2`,
        `${HEAD} WARNING: {1 2 REGISTER x} voip-f2b: auth failure src=${REAL} port=5060 method=REGISTER user=mallory rc=-2} <script>: ${failure('bob')}`,
      ].join('\n') + '\n');
      const r = await execFail2banRegex(log, 'voip-kamailio[mode=auth]', ['--out', '<ip>\t[<F-USER>]']);
      assert.deepEqual(r.stdout.trim().split('\n'), [`${REAL}\t[carol]`, `${REAL}\t[]`, `${REAL}\t[bob]`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
