/**
 * The three fail2ban filters (templates/etc/fail2ban/filter.d/voip-*.conf),
 * proven with the real fail2ban-regex against annotated fixtures in
 * test/fixtures/logs (format: test/fixtures/logs/README.md), and compared
 * with stock fail2ban's asterisk.conf / freeswitch.conf on the same lines.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAIL2BAN_REGEX, fail2banConfigDir, runFail2banRegex, TEMPLATE_FILTER_DIR, type LineResult } from '../helpers/fail2ban-regex.ts';
import { spawnSync } from 'node:child_process';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/logs');

/** Annotation of one fixture line (`# expect: {...}`). */
interface Expect {
  /** Whether OUR filter matches the line. */
  match: boolean;
  /** Address our filter must extract (real lines). */
  addr?: string;
  /** Real lines: whether the stock filter matches. Injection lines: address stock extracts, or null. */
  stock?: boolean | string | null;
  /** FreeSWITCH: matched only with mode=aggressive. */
  aggressiveOnly?: boolean;
  /** Injection lines: the attacker-controlled field, the real source, the forged address. */
  field?: string;
  real?: string | null;
  injected?: string;
  /** Line is a continuation line without date (SIP debug echo). */
  undated?: boolean;
  /** Line contains literal `\x1b` to be turned into ESC. */
  esc?: boolean;
}

interface FixtureLine {
  readonly file: string;
  readonly lineNo: number;
  readonly source: string;
  readonly line: string;
  readonly expect: Expect;
}

function loadFixture(file: string): FixtureLine[] {
  const text = readFileSync(join(FIXTURES, file), 'utf8');
  const out: FixtureLine[] = [];
  let source = '';
  let pending: Expect | undefined;
  text.split('\n').forEach((raw, index) => {
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const src = /^# source: (\S+)/.exec(raw);
      if (src) source = src[1] ?? '';
      const exp = /^# expect: (\{.*\})\s*$/.exec(raw);
      if (exp) pending = JSON.parse(exp[1] ?? '{}') as Expect;
      return;
    }
    assert.ok(pending, `${file}:${index + 1}: log line without a preceding "# expect:" annotation`);
    assert.ok(source, `${file}:${index + 1}: log line without a "# source:"`);
    const line = pending.esc ? raw.replaceAll('\\x1b', '\x1b') : raw;
    out.push({ file, lineNo: index + 1, source, line, expect: pending });
    pending = undefined;
  });
  assert.ok(out.length > 0, `${file} has no lines`);
  return out;
}

const pad = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A benign line stamped with the current local time, in each service's format. */
function nowLine(service: Service): string {
  const d = new Date();
  const ymd = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  switch (service) {
    case 'asterisk':
      return `[${ymd} ${hms}] VERBOSE[1] asterisk.c: Asterisk Ready.`;
    case 'freeswitch':
      return `${ymd} ${hms}.000000 [INFO] switch_core.c:2500 FreeSWITCH Started`;
    case 'kamailio':
      return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${hms} sip1 kamailio[1]: INFO: <core> [main.c:2987]: main(): started`;
  }
}

type Service = 'asterisk' | 'freeswitch' | 'kamailio';

/**
 * Run a filter over fixture lines in one fail2ban-regex call. Undated lines are
 * put after a line stamped "now" so fail2ban treats them as it does in live
 * operation (it reuses the last date seen less than 60 s ago).
 */
async function run(service: Service, filter: string, lines: readonly FixtureLine[]): Promise<Map<FixtureLine, LineResult>> {
  const dated = lines.filter((l) => !l.expect.undated);
  const undated = lines.filter((l) => l.expect.undated);
  const ordered = undated.length > 0 ? [...dated, undefined, ...undated] : dated;
  const texts = ordered.map((l) => (l === undefined ? nowLine(service) : l.line));
  const results = await runFail2banRegex(texts, { filter });
  const map = new Map<FixtureLine, LineResult>();
  ordered.forEach((l, i) => {
    if (l !== undefined) map.set(l, results[i] as LineResult);
  });
  if (undated.length > 0) {
    const now = results[dated.length];
    assert.equal(now?.matched, false, `the "now" line must not match ${filter}`);
  }
  return map;
}

const where = (l: FixtureLine) => `${l.file}:${l.lineNo} [${l.source}] ${l.line.slice(0, 160)}`;

function assertReal(lines: readonly FixtureLine[], results: Map<FixtureLine, LineResult>, opts: { aggressive?: boolean } = {}): void {
  for (const l of lines) {
    const r = results.get(l);
    assert.ok(r, where(l));
    const expected = l.expect.match && (opts.aggressive === true || !l.expect.aggressiveOnly);
    assert.equal(r.matched, expected, `match ${expected}: ${where(l)} -> ${JSON.stringify(r.addresses)}`);
    if (expected) {
      assert.ok(r.addresses.length > 0);
      for (const a of r.addresses) assert.equal(a, l.expect.addr, `address: ${where(l)}`);
    }
  }
}

function assertInjection(lines: readonly FixtureLine[], results: Map<FixtureLine, LineResult>, opts: { aggressive?: boolean } = {}): void {
  for (const l of lines) {
    const r = results.get(l);
    assert.ok(r, where(l));
    assert.ok(l.expect.injected, `injection line needs "injected": ${where(l)}`);
    for (const a of r.addresses) {
      assert.notEqual(a, l.expect.injected, `INJECTED address taken: ${where(l)}`);
      assert.equal(a, l.expect.real, `only the real source may be taken: ${where(l)}`);
    }
    const expected = l.expect.match && (opts.aggressive === true || !l.expect.aggressiveOnly);
    assert.equal(r.matched, expected, `match ${expected}: ${where(l)} -> ${JSON.stringify(r.addresses)}`);
  }
}

function assertBenign(lines: readonly FixtureLine[], results: Map<FixtureLine, LineResult>): void {
  for (const l of lines) {
    assert.equal(l.expect.match, false, `benign fixture must expect no match: ${where(l)}`);
    const r = results.get(l);
    assert.equal(r?.matched, false, `benign line matched: ${where(l)} -> ${JSON.stringify(r?.addresses)}`);
  }
}

/** Stock on real lines: annotation holds, and stock's matches are a subset of ours. */
function assertStockSubset(
  lines: readonly FixtureLine[],
  ours: Map<FixtureLine, LineResult>,
  stock: Map<FixtureLine, LineResult>,
  opts: { aggressive: boolean },
): { stockCount: number; oursCount: number } {
  let stockCount = 0;
  let oursCount = 0;
  for (const l of lines) {
    const s = stock.get(l);
    const o = ours.get(l);
    assert.ok(s && o, where(l));
    const stockExpected = l.expect.stock === true && (opts.aggressive || !l.expect.aggressiveOnly);
    assert.equal(s.matched, stockExpected, `stock match ${stockExpected}: ${where(l)} -> ${JSON.stringify(s.addresses)}`);
    if (s.matched) {
      stockCount++;
      assert.ok(o.matched, `stock bans a real line ours does not: ${where(l)}`);
      assert.deepEqual([...new Set(o.addresses)], [...new Set(s.addresses)], `same address as stock: ${where(l)}`);
    }
    if (o.matched) oursCount++;
  }
  assert.ok(oursCount > stockCount, `ours (${oursCount}) must ban more real lines than stock (${stockCount})`);
  return { stockCount, oursCount };
}

/** Stock on injection lines: record exactly what stock extracts. Returns the lines where stock is fooled. */
function assertStockInjection(lines: readonly FixtureLine[], ours: Map<FixtureLine, LineResult>, stock: Map<FixtureLine, LineResult>): FixtureLine[] {
  const fooled: FixtureLine[] = [];
  for (const l of lines) {
    const s = stock.get(l);
    assert.ok(s, where(l));
    if (l.expect.stock === null || l.expect.stock === undefined) {
      assert.equal(s.matched, false, `stock expected not to match: ${where(l)} -> ${JSON.stringify(s.addresses)}`);
    } else {
      assert.ok(s.matched, `stock expected to match: ${where(l)}`);
      for (const a of s.addresses) assert.equal(a, l.expect.stock, `stock address: ${where(l)}`);
    }
    if (s.addresses.includes(l.expect.injected ?? '') && !(ours.get(l)?.addresses ?? []).includes(l.expect.injected ?? '')) {
      fooled.push(l);
    }
  }
  return fooled;
}

/** Every attacker field the brief names must have at least one injection line. */
function assertFieldsCovered(lines: readonly FixtureLine[], needles: readonly RegExp[]): void {
  const fields = lines.map((l) => l.expect.field ?? '');
  for (const n of needles) assert.ok(fields.some((f) => n.test(f)), `no injection line for field ${n}`);
}

describe('filter templates', () => {
  it('are plain fail2ban filters (no {{ placeholders}}, journalmatch set)', () => {
    const names = readdirSync(TEMPLATE_FILTER_DIR).filter((n) => n.startsWith('voip-'));
    assert.deepEqual(names.sort(), ['voip-asterisk.conf', 'voip-freeswitch.conf', 'voip-kamailio.conf']);
    for (const n of names) {
      const text = readFileSync(join(TEMPLATE_FILTER_DIR, n), 'utf8');
      assert.ok(!text.includes('{{'), `${n} contains a {{ placeholder`);
      const service = n.replace(/^voip-|\.conf$/g, '');
      assert.match(text, new RegExp(`^journalmatch = _SYSTEMD_UNIT=${service}\\.service$`, 'm'));
      assert.doesNotMatch(text, /<HOST>/, `${n}: use <ADDR> (no DNS names from attacker text)`);
    }
  });
});

describe('voip-asterisk', () => {
  const real = loadFixture('asterisk-real.log');
  const journal = loadFixture('asterisk-journal.log');
  const injection = loadFixture('asterisk-injection.log');
  const benign = loadFixture('asterisk-benign.log');

  it('matches every real attack line with the right address, and bans every line stock bans', async () => {
    const [ours, stock] = await Promise.all([run('asterisk', 'voip-asterisk', real), run('asterisk', 'asterisk', real)]);
    assertReal(real, ours);
    const counts = assertStockSubset(real, ours, stock, { aggressive: false });
    assert.deepEqual(counts, { stockCount: 53, oursCount: 59 });
  });

  it('matches the journald forms (logtype=journal)', async () => {
    const [ours, stock] = await Promise.all([
      run('asterisk', 'voip-asterisk[logtype=journal]', journal),
      run('asterisk', 'asterisk[logtype=journal]', journal),
    ]);
    assertReal(journal, ours);
    assertStockSubset(journal, ours, stock, { aggressive: false });
  });

  it('never takes an injected address; stock is fooled where recorded', async () => {
    assertFieldsCovered(injection, [
      /SIP user/,
      /From display name/,
      /From URI/,
      /User-Agent/,
      /Call-ID/,
      /echoed in SIP debug/,
      /AccountID/,
      /both sides/,
      /escaped quotes/,
      /Response/,
      /PJSIP Call \.\.\. rejected/,
      /AMI Username/,
      /IAX2/,
    ]);
    const [ours, stock] = await Promise.all([run('asterisk', 'voip-asterisk', injection), run('asterisk', 'asterisk', injection)]);
    assertInjection(injection, ours);
    const fooled = assertStockInjection(injection, ours, stock);
    assert.deepEqual(
      fooled.map((l) => l.expect.field),
      [
        'From display name (PJSIP)',
        'Call-ID (PJSIP)',
        'SIP user (Call from caller)',
        'AMI Username',
        'AMI Username (nonexistent user)',
        'Digest Response (security log, after RemoteAddress)',
        'From display name and Call-ID (PJSIP)',
        'From display name with escaped quotes (PJSIP)',
        'AMI Username and Key (security log)',
        'User-Agent header echoed in SIP debug',
        'Contact header echoed in SIP debug (syslog form)',
      ],
    );
  });

  it('never matches benign lines', async () => {
    assertBenign(benign, await run('asterisk', 'voip-asterisk', benign));
  });

  /**
   * count = once (the jail reads the messages AND the security log): SIP and PJSIP failures
   * are counted from the security log only, everything else from the messages log only.
   */
  const twinnedInMessages = (line: string) =>
    /chan_sip\.c(?::\d+(?: in)? \w+)?: (?:Registration from|Call from) |pjsip_distributor\.c(?::\d+(?: in)? \w+)?: Request /.test(line);
  const otherSecurity = (line: string) => /SecurityEvent="[^"]*".*?,Service="(?!SIP"|PJSIP")/.test(line);
  // PJSIP's InvalidAccountID comes with every request naming no endpoint, credentials or not (an
  // OPTIONS ping, a first REGISTER): not a failed password. A guess at an unknown account is its
  // own ChallengeResponseFailed (AccountID "<unknown>"), which counts.
  const noCredentials = (line: string) => /SecurityEvent="InvalidAccountID".*?Service="PJSIP"/.test(line);

  it('count=once: each failure from one log only (SIP/PJSIP from the security log), same addresses', async () => {
    const [once, dflt] = await Promise.all([run('asterisk', 'voip-asterisk[count=once]', real), run('asterisk', 'voip-asterisk', real)]);
    let counted = 0;
    for (const l of real) {
      const expected = l.expect.match && !twinnedInMessages(l.line) && !otherSecurity(l.line) && !noCredentials(l.line);
      const r = once.get(l);
      assert.equal(r?.matched, expected, `count=once match ${expected}: ${where(l)}`);
      if (expected) {
        counted++;
        assert.deepEqual([...new Set(r?.addresses)], [l.expect.addr], where(l));
        assert.equal(dflt.get(l)?.matched, true, where(l));
      }
    }
    // every security-log SIP/PJSIP line but PJSIP's InvalidAccountID, and every messages-only line of the real corpus
    assert.equal(counted, 27);
    // the corpus has both: an unknown account's guess (counted) and PJSIP's InvalidAccountID (not)
    const unknownGuess = real.filter((l) => /SecurityEvent="ChallengeResponseFailed".*?Service="PJSIP",EventVersion="\d+",AccountID="<unknown>",/.test(l.line));
    assert.ok(unknownGuess.length >= 1 && unknownGuess.every((l) => once.get(l)?.matched), 'a guess at an unknown account counts');
    assert.ok(real.some((l) => noCredentials(l.line)), 'the corpus has a PJSIP InvalidAccountID');
  });

  it('count=once: never takes an injected address either', async () => {
    const once = await run('asterisk', 'voip-asterisk[count=once]', injection);
    for (const l of injection) {
      for (const a of once.get(l)?.addresses ?? []) assert.equal(a, l.expect.real, `only the real source: ${where(l)}`);
    }
  });
});

describe('voip-freeswitch', () => {
  const real = loadFixture('freeswitch-real.log');
  const journal = loadFixture('freeswitch-journal.log');
  const injection = loadFixture('freeswitch-injection.log');
  const benign = loadFixture('freeswitch-benign.log');

  it('mode=normal (default): failures and unknown users, not challenges; superset of stock mode=normal', async () => {
    const [ours, stock] = await Promise.all([
      run('freeswitch', 'voip-freeswitch', real),
      run('freeswitch', 'freeswitch[mode=normal]', real),
    ]);
    assertReal(real, ours, { aggressive: false });
    assert.deepEqual(assertStockSubset(real, ours, stock, { aggressive: false }), { stockCount: 9, oursCount: 11 });
  });

  it('mode=aggressive also matches the challenge lines normal mode does not; superset of stock default (extra)', async () => {
    const [ours, normal, stock] = await Promise.all([
      run('freeswitch', 'voip-freeswitch[mode=aggressive]', real),
      run('freeswitch', 'voip-freeswitch[mode=normal]', real),
      run('freeswitch', 'freeswitch', real),
    ]);
    assertReal(real, ours, { aggressive: true });
    const challenges = real.filter((l) => l.expect.aggressiveOnly);
    assert.ok(challenges.length >= 3);
    for (const l of challenges) {
      assert.match(l.line, /SIP auth challenge/);
      assert.equal(ours.get(l)?.matched, true, where(l));
      assert.equal(normal.get(l)?.matched, false, where(l));
    }
    assert.deepEqual(assertStockSubset(real, ours, stock, { aggressive: true }), { stockCount: 11, oursCount: 14 });
  });

  it('matches the journald form (logtype=journal)', async () => {
    const [ours, stock] = await Promise.all([
      run('freeswitch', 'voip-freeswitch[logtype=journal]', journal),
      run('freeswitch', 'freeswitch[logtype=journal]', journal),
    ]);
    assertReal(journal, ours);
    assertStockSubset(journal, ours, stock, { aggressive: false });
  });

  it('never takes an injected address (both modes); stock is fooled by echoed SIP headers', async () => {
    assertFieldsCovered(injection, [/SIP user/, /From/, /User-Agent/, /Call-ID/, /echoed/]);
    const [normal, aggressive, stock] = await Promise.all([
      run('freeswitch', 'voip-freeswitch', injection),
      run('freeswitch', 'voip-freeswitch[mode=aggressive]', injection),
      run('freeswitch', 'freeswitch', injection),
    ]);
    assertInjection(injection, normal);
    assertInjection(injection, aggressive, { aggressive: true });
    const fooled = assertStockInjection(injection, normal, stock);
    assert.deepEqual(
      fooled.map((l) => l.expect.field),
      ['User-Agent header echoed by siptrace', 'Call-ID header echoed by siptrace', 'From display name echoed by siptrace'],
    );
  });

  it("count=once: an unknown user's request counts once (\"SIP auth failure\" only, not \"Can't find user\")", async () => {
    const [once, onceAggressive] = await Promise.all([
      run('freeswitch', 'voip-freeswitch[count=once]', real),
      run('freeswitch', 'voip-freeswitch[count=once,mode=aggressive]', real),
    ]);
    for (const l of real) {
      const cantFind = /Can't find user/.test(l.line);
      for (const [res, aggressive] of [[once, false], [onceAggressive, true]] as const) {
        const expected = l.expect.match && !cantFind && (aggressive || !l.expect.aggressiveOnly);
        assert.equal(res.get(l)?.matched, expected, `count=once${aggressive ? ' aggressive' : ''}: ${where(l)}`);
        if (expected) assert.deepEqual([...new Set(res.get(l)?.addresses)], [l.expect.addr], where(l));
      }
    }
  });

  it('never matches benign lines (both modes)', async () => {
    const [normal, aggressive] = await Promise.all([
      run('freeswitch', 'voip-freeswitch', benign),
      run('freeswitch', 'voip-freeswitch[mode=aggressive]', benign),
    ]);
    assertBenign(benign, normal);
    assertBenign(benign, aggressive);
  });
});

describe('voip-kamailio', () => {
  const real = loadFixture('kamailio-real.log');
  const journal = loadFixture('kamailio-journal.log');
  const injection = loadFixture('kamailio-injection.log');
  const benign = loadFixture('kamailio-benign.log');

  it('matches pike, VoipNow and voip-f2b auth-failure lines with the right address', async () => {
    assertReal(real, await run('kamailio', 'voip-kamailio', real));
  });

  it('matches the journald forms (logtype=journal)', async () => {
    assertReal(journal, await run('kamailio', 'voip-kamailio[logtype=journal]', journal));
  });

  it('never takes an injected address', async () => {
    assertFieldsCovered(injection, [/SIP user/, /From/, /User-Agent/, /Call-ID/, /echoed/]);
    assertInjection(injection, await run('kamailio', 'voip-kamailio', injection));
  });

  it('never matches benign lines', async () => {
    assertBenign(benign, await run('kamailio', 'voip-kamailio', benign));
  });
});

/**
 * Every failregex has a forged-marker line: run fail2ban-regex -v over the injection lines and
 * read its per-regex hit counts. A regex without a hit must be one that cannot meet attacker
 * text (the line holds none), or one that refuses an undetermined line (its forged lines are in
 * the fixture and asserted not to match; the same failure is counted from its twin line).
 */
describe('forged-marker coverage', () => {
  const noAttackerText = [/^\^hacking attempt detected/, /^\^"Rejecting unknown SIP connection/];
  const refusesUndetermined = [/^\^Call from '\[\^'\]\*\(\?:'\(\?! \\\(\)/, /^\^SecurityEvent=.*\(\?!\(\?:SIP\|PJSIP\)"\)/];
  const hits = (filter: string, lines: readonly FixtureLine[]): Array<{ regex: string; hits: number }> => {
    const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-cover-'));
    try {
      const path = join(dir, 'injection.log');
      writeFileSync(path, lines.filter((l) => !l.expect.undated).map((l) => `${l.line}\n`).join(''), 'utf8');
      const r = spawnSync(FAIL2BAN_REGEX, ['-v', '-c', fail2banConfigDir(), '--usedns=no', '-e', 'UTF-8', path, filter], { encoding: 'utf8', timeout: 120000 });
      assert.equal(r.status, 0, r.stderr);
      const section = r.stdout.slice(r.stdout.indexOf('Failregex:'), r.stdout.indexOf('Ignoreregex:'));
      return [...section.matchAll(/^\|\s+\d+\) \[(\d+)\] (.*)$/gm)].map((m) => ({ regex: m[2]!, hits: Number(m[1]) }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const cases: Array<[string, string, number]> = [
    ['voip-asterisk', 'asterisk-injection.log', 12],
    ['voip-asterisk[count=once]', 'asterisk-injection.log', 8],
    ['voip-freeswitch[mode=aggressive]', 'freeswitch-injection.log', 3],
  ];
  for (const [filter, file, count] of cases) {
    it(`${filter}: every regex meets a forged marker in ${file}`, () => {
      const list = hits(filter, loadFixture(file));
      assert.equal(list.length, count, JSON.stringify(list));
      for (const { regex, hits: n } of list) {
        if (n > 0) continue;
        const why = noAttackerText.some((re) => re.test(regex)) ? 'no attacker text' : refusesUndetermined.some((re) => re.test(regex)) ? 'refuses undetermined' : null;
        assert.ok(why, `no forged-marker line for ${regex.slice(0, 100)}`);
      }
    });
  }
});

describe('regex cost', () => {
  const K64 = 64 * 1024;
  /** Repeat `unit` to exactly 64 KiB after `head`. */
  const fill = (head: string, unit: string) => head + unit.repeat(Math.ceil((K64 - head.length) / unit.length)).slice(0, K64 - head.length);

  const cases: Record<string, string[]> = {
    'voip-asterisk': [
      fill("[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: Registration from '", "' failed for '192.0.2.1"),
      fill("[2024-01-02 03:04:05] NOTICE[1] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '", "' failed for '192.0.2.1:5060' (callid: "),
      fill("[2024-01-02 03:04:05] NOTICE[1] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from 'a' failed for '192.0.2.1:5060' (callid: ", "') - "),
      fill('[2024-01-02 03:04:05] SECURITY[1] res_security_log.c: SecurityEvent="InvalidPassword"', ',RemoteAddres'),
      fill('[2024-01-02 03:04:05] SECURITY[1] res_security_log.c: SecurityEvent="InvalidPassword",RemoteAddress="IPV4/UDP/192.0.2.1/5060"', ','),
      fill("[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: Call from '", "' (192.0.2.1:5060) to extension '"),
      fill("[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: No registration for peer '", "' (from 192.0.2.1)"),
      fill('[2024-01-02 03:04:05] NOTICE[1] chan_sip.c: ', "'"),
      fill('Jan  2 03:04:05 pbx asterisk[1]: NOTICE[1]: chan_sip.c:1 in f: ', ': '),
      fill('[2024-01-02 03:04:05] SECURITY[1] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="1",Severity="Error",Service="SIP",AccountID="', ',LocalAddress="IPV4/UDP/192.0.2.1/1",RemoteAddress="IPV4/UDP/192.0.2.1/'),
      fill('[2024-01-02 03:04:05] SECURITY[1] res_security_log.c: SecurityEvent="FailedACL",EventTV="1",Severity="Error",Service="AMI",AccountID="', ',RemoteAddress="IPV4/TCP/192.0.2.1/1"'),
      fill("[2024-01-02 03:04:05] NOTICE[1] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '\"", '\\" <sip:1@h>\' failed for \'192.0.2.1:5060\' (callid: '),
      fill('[2024-01-02 03:04:05] NOTICE[1] res_pjsip_session.c:  anonymous: Call (UDP:192.0.2.1:5060) to extension \'', "' rejected because extension not found in context '"),
    ],
    'voip-freeswitch[mode=aggressive]': [
      fill("2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1 Can't find user [", '] from '),
      fill("2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1 SIP auth failure (REGISTER) on sofia profile 'internal' for [", ']'),
      fill("2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1 SIP auth challenge (REGISTER) on sofia profile 'internal' for [", '] from ip 1:'),
      fill('2024-01-02 03:04:05.123456 ', ' 1.1% [WARNING]'),
    ],
    'voip-kamailio': [
      fill('Jan  2 03:04:05 sip1 kamailio[1]: ALERT: {', '}'),
      fill('Jan  2 03:04:05 sip1 kamailio[1]: ALERT: {1 1 INVITE x', '} <script>: ALERT: pike blocking x from '),
      fill('Jan  2 03:04:05 sip1 kamailio[1]: ALERT: <script>: ALERT: pike blocking INVITE from ', '(IP:192.0.2.1:5060)x'),
      fill('Jan  2 03:04:05 sip1 kamailio[1]: WARNING: {1 2 REGISTER x', '} voip-f2b: auth failure src=192.0.2.1 port=1 method=R user='),
      fill('Jan  2 03:04:05 sip1 kamailio[1]: WARNING: <script>: voip-f2b: auth failure src=192.0.2.1 port=5060 method=REGISTER user=', 'x'),
    ],
  };

  for (const [filter, lines] of Object.entries(cases)) {
    it(`${filter}: 64 KiB adversarial lines cost < 2 s of CPU (whole fail2ban-regex call)`, async () => {
      for (const l of lines) assert.equal(l.length, K64);
      const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-cost-'));
      try {
        const path = join(dir, 'cost.log');
        writeFileSync(path, lines.map((l) => `${l}\n`).join(''), 'utf8');
        // CPU time (user + sys of fail2ban-regex, from bash's `times`), not wall time: a
        // catastrophic backtrack burns CPU, while a loaded machine only stretches wall time.
        const out = join(dir, 'out');
        const r = spawnSync('bash', ['-c', '"$@" > "$OUT"; times', 'cost', FAIL2BAN_REGEX, '-c', fail2banConfigDir(), '--usedns=no', '-e', 'UTF-8', '-o', '<ip>', path, filter], {
          encoding: 'utf8',
          env: { ...process.env, OUT: out },
          timeout: 120000,
        });
        assert.equal(r.status, 0, r.stderr);
        const [, um, us, sm, ss] = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/m.exec(r.stdout.trim().split('\n').at(-1) ?? '') ?? [];
        const cpuMs = (Number(um) * 60 + Number(us) + Number(sm) * 60 + Number(ss)) * 1000;
        assert.ok(Number.isFinite(cpuMs), `no CPU times in ${JSON.stringify(r.stdout)}`);
        console.log(`${filter}: ${Math.round(cpuMs)} ms CPU`);
        assert.ok(cpuMs < 2000, `${filter} took ${Math.round(cpuMs)} ms of CPU`);
        const stdout = readFileSync(out, 'utf8');
        // a line cut at 64 KiB may happen to end like a complete attack line;
        // then the only address it can yield is the one written in it
        for (const ip of stdout.split('\n').filter(Boolean)) assert.equal(ip, '192.0.2.1', filter);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
