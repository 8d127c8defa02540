/**
 * Lossless editor for Kamailio's kamailio.cfg: makes the stock `route[AUTH]` log every failed
 * digest attempt with its source address, and stop a source in Kamailio itself once it has had
 * `maxretry` failed guesses answered, so fail2ban's firewall ban follows a scanner that got no
 * more than `maxretry` tries.
 *
 * Four marked blocks are written (each between "# voip-f2b-install: … (begin)" / "(end)" lines):
 *
 * 1. Before the routing logic: the `htable` tables (loaded only where the script does not load
 *    htable itself, e.g. the stock `WITH_ANTIFLOOD`), `ipops` for the whitelist test, and
 *    `#!define`s holding maxretry and fail2ban's ignoreip (IP addresses and CIDR ranges; host
 *    names cannot be tested by Kamailio, fail2ban still ignores them):
 *      voipf2b   source address -> failures counted, kept findtime seconds after the last one;
 *      voipf2bb  source/auth user/Call-ID -> time of its last counted failure;
 *      voipf2ba  per auth user: failures counted, sources that failed on it, those it locks out.
 * 2. Right before `if (!auth_check(...)) {`: a source (not whitelisted) that reached maxretry
 *    gets no answer at all (its first dropped request logs one `auth throttled` line); an
 *    account with maxretry failures from two or more sources within findtime (guessing spread
 *    over many addresses, each under maxretry) is not checked for any source outside ignoreip
 *    until findtime passes (its first request from each source logs one `account under attack`
 *    line, the admin's alert); a request
 *    repeating, within 2 s, the source, auth user and Call-ID of a counted failure is challenged
 *    again (with the script's own auth_challenge() arguments) without its password being checked and is not counted: a phone that resends the same
 *    wrong credentials (baresip sends ~15 in 10 ms) counts once, and learns nothing more.
 * 3. First in the `auth_check()` failure branch: which results are failures (auth module's
 *    auth_cfg_result_t, auth_db README "Negative codes"):
 *      -2 invalid password, -3 unknown user: counted and logged;
 *      -1 with credentials that are not filled properly (qop without cnonce/nc, a missing
 *         username/realm/nonce/uri/response): no phone sends those, a scanner does (sipvicious
 *         answers a challenge without qop with `qop=auth` and no cnonce/nc): counted and logged;
 *      -1 with well-formed credentials: a database or server error, logged as `auth error`,
 *         never counted (a database outage must not ban every phone);
 *      -4 stale nonce, -5 no credentials (every phone's first request), -6 nonce reused,
 *      -8 auth user != From/To user (only after a correct password): not counted.
 *
 * 4. Right after that `if` block (where no `else` follows): a successful digest login. Its source
 *    is an OFFICE for a day (`voipf2bo`, refreshed by every login: each REGISTER refresh is
 *    one), and its first login of the day logs one `login` line (the guard of fail2ban's jail
 *    reads it, voip-f2b-guard.py). An office is stopped only past VOIPF2B_OFFICE_MAXRETRY
 *    (10 x maxretry) failures counted within one findtime window (fixed windows: a phone that
 *    keeps failing every refresh never adds up across windows), not at maxretry, so one
 *    misconfigured phone does not cut off every phone behind the address; a flood from it still
 *    is. The account-under-attack lock applies to offices as to any source (it takes two sources).
 *
 * `$rc` is copied first thing in the branch: Kamailio sets it only when a module function or a
 * route returns (core action.c), so it still holds auth_check()'s code there.
 */
import { fail2banSeconds } from '../duration.ts';

/** The failure line fail2ban's filter counts (source address first). */
export const AUTH_FAILURE_XLOG =
  'xlog("L_WARN", "voip-f2b: auth failure src=$si port=$sp method=$rm user=$fU rc=$var(vf2b_rc)\\n");';
/** Logged once when a source reaches maxretry and Kamailio stops answering it. */
export const AUTH_THROTTLED_XLOG = 'xlog("L_WARN", "voip-f2b: auth throttled src=$si port=$sp method=$rm user=$fU\\n");';
/**
 * Logged once per source when an account under attack (maxretry failures from two or more
 * sources within findtime) stops being checked for it: the admin's alert, in Kamailio's log.
 */
export const AUTH_LOCKED_XLOG =
  'xlog("L_WARN", "voip-f2b: account under attack user=$au: not checked for src=$si port=$sp method=$rm until findtime passes\\n");';
/**
 * Logged at a source's first successful digest login of the day (then it is an office for a
 * day). NOTICE, and fixed text after the address to the end of the line: never a failure to
 * the filter; the guard takes it only right after the prefix and `<script>: ` (see its header).
 */
export const AUTH_LOGIN_XLOG = 'xlog("L_NOTICE", "voip-f2b: login src=$si port=$sp method=$rm: an office for a day (logged once a day)\\n");';
/** Seconds a successful login makes its source an office (Kamailio's htable and the guard alike). */
export const OFFICE_SECONDS = 86400;
/** An office's threshold: this many times maxretry (the guard's default office_maxretry too). */
export const OFFICE_FACTOR = 10;
/** A -1 with well-formed credentials: the database or the server failed, not the caller. */
export const AUTH_ERROR_XLOG =
  'xlog("L_ERR", "voip-f2b: auth error src=$si port=$sp method=$rm user=$fU rc=-1: database or server error, not counted\\n");';

const TAG = '# voip-f2b-install:';
export const GLOBAL_BEGIN = `${TAG} count and throttle failed digest attempts for fail2ban (begin)`;
export const GLOBAL_END = `${TAG} count and throttle failed digest attempts for fail2ban (end)`;
export const CHECK_BEGIN = `${TAG} stop a source past maxretry; a repeated burst counts once (begin)`;
export const CHECK_END = `${TAG} stop a source past maxretry; a repeated burst counts once (end)`;
export const BEGIN_MARKER = `${TAG} log every failed digest attempt for fail2ban (begin)`;
export const END_MARKER = `${TAG} log every failed digest attempt for fail2ban (end)`;
export const LOGIN_BEGIN = `${TAG} a source that logs in is an office for a day (begin)`;
export const LOGIN_END = `${TAG} a source that logs in is an office for a day (end)`;

/** Seconds within which the same source, auth user and Call-ID count once. */
export const BURST_SECONDS = 2;

export interface ThrottleSettings {
  /** Failed digest attempts answered per source before Kamailio stops answering it. */
  maxretry: number;
  /** Seconds a source's count is kept after its last counted failure (fail2ban's findtime). */
  findtimeSeconds: number;
  /** fail2ban's ignoreip; entries Kamailio cannot test (host names) are left out. */
  ignoreip: string[];
}

export const DEFAULT_SETTINGS: ThrottleSettings = { maxretry: 5, findtimeSeconds: 600, ignoreip: ['127.0.0.1/8', '::1'] };

/** fail2ban duration (600, 10m, 1h30m, 1d, 1w) in seconds; -1 (forever) and junk give null. */
export function durationSeconds(v: string): number | null {
  const s = fail2banSeconds(v);
  return s !== null && s >= 0 ? s : null;
}

/** The ignoreip entries Kamailio's is_in_subnet() can test: IPv4/IPv6 addresses and CIDR ranges. */
export function kamailioSubnets(ignoreip: string[]): string[] {
  const out: string[] = [];
  for (const e of ignoreip) {
    const [addr, bits] = e.split('/');
    const v4 = /^\d{1,3}(?:\.\d{1,3}){3}$/.test(addr!);
    const v6 = !v4 && addr!.includes(':') && /^[0-9a-fA-F:.]+$/.test(addr!);
    if (!v4 && !v6) continue;
    const max = v4 ? 32 : 128;
    const cidr = bits === undefined ? `${addr}/${max}` : /^\d{1,3}$/.test(bits) && Number(bits) <= max ? `${addr}/${bits}` : null;
    if (cidr && !out.includes(cidr)) out.push(cidr);
  }
  return out;
}

/**
 * Replaces comments and string contents with spaces (same length, newlines kept), so that
 * searches and brace matching only see code. `#` starts a line comment (this also covers the
 * `#!ifdef` preprocessor lines), as do `//`; `/* *\/` spans lines.
 */
function maskCode(cfg: string): string {
  const out = cfg.split('');
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n' && out[k] !== '\r') out[k] = ' ';
  };
  while (i < cfg.length) {
    const c = cfg[i]!;
    if (c === '#' || (c === '/' && cfg[i + 1] === '/')) {
      let j = cfg.indexOf('\n', i);
      if (j < 0) j = cfg.length;
      blank(i, j);
      i = j;
    } else if (c === '/' && cfg[i + 1] === '*') {
      let j = cfg.indexOf('*/', i + 2);
      j = j < 0 ? cfg.length : j + 2;
      blank(i, j);
      i = j;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < cfg.length && cfg[j] !== c && cfg[j] !== '\n') j += cfg[j] === '\\' ? 2 : 1;
      blank(i + 1, Math.min(j, cfg.length));
      i = j + 1;
    } else {
      i++;
    }
  }
  return out.join('');
}

/** Index of the bracket matching the one at `open` in masked code, or -1. */
function matching(code: string, open: number): number {
  const o = code[open]!;
  const c = o === '(' ? ')' : '}';
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === o) depth++;
    else if (code[i] === c && --depth === 0) return i;
  }
  return -1;
}

function lineStart(text: string, index: number): number {
  return text.lastIndexOf('\n', index - 1) + 1;
}

function lineEnd(text: string, index: number): number {
  const j = text.indexOf('\n', index);
  return j < 0 ? text.length : j + 1;
}

/** Removes every block of ours (marker lines included); other bytes stay. */
export function removeOurBlocks(cfg: string): string {
  const lines = cfg.split(/(?<=\n)/);
  const out: string[] = [];
  let inside = false;
  for (const l of lines) {
    if (!inside && /^[ \t]*# voip-f2b-install: .*\(begin\)\s*$/.test(l)) inside = true;
    else if (inside && /^[ \t]*# voip-f2b-install: .*\(end\)\s*$/.test(l)) inside = false;
    else if (!inside) out.push(l);
  }
  return out.join('');
}

/**
 * How a module is loaded: 'no' (nowhere), 'always', or `{ ifdef: NAME }` when its only
 * loadmodule lines sit directly inside `#!ifdef NAME` (the stock WITH_ANTIFLOOD shape), or
 * 'complex' for any other preprocessor nesting.
 */
function moduleLoad(cfg: string, code: string, mod: string): 'no' | 'always' | 'complex' | { ifdef: string } {
  const raw = cfg.split('\n');
  const masked = code.split('\n');
  const stack: string[] = [];
  const sites: string[][] = [];
  for (let i = 0; i < raw.length; i++) {
    const pp = /^\s*#!(ifdef|ifndef|else|endif)\b\s*(\S*)/.exec(raw[i]!);
    if (pp) {
      if (pp[1] === 'ifdef') stack.push(pp[2]!);
      else if (pp[1] === 'ifndef') stack.push(`!${pp[2]}`);
      else if (pp[1] === 'else' && stack.length) stack.push(`else:${stack.pop()}`);
      else if (pp[1] === 'endif') stack.pop();
      continue;
    }
    if (!/\bloadmodule\b/.test(masked[i]!)) continue;
    const m = /\bloadmodule\s+"([^"]*)"/.exec(raw[i]!);
    if (m && new RegExp(`(?:^|/)${mod}(?:\\.so)?$`).test(m[1]!)) sites.push([...stack]);
  }
  if (sites.length === 0) return 'no';
  if (sites.some((s) => s.length === 0)) return 'always';
  const names = new Set(sites.map((s) => (s.length === 1 && /^\w+$/.test(s[0]!) ? s[0]! : '?')));
  if (names.size === 1 && !names.has('?')) return { ifdef: [...names][0]! };
  return 'complex';
}

function globalBlock(s: ThrottleSettings, htable: 'no' | 'always' | { ifdef: string }, ipops: 'no' | 'always'): string[] {
  const subnets = kamailioSubnets(s.ignoreip);
  return [
    GLOBAL_BEGIN,
    '# Failed digest attempts per source address (kept findtime seconds after the last one), and the',
    '# last counted failure per source/auth user/Call-ID (a burst of one phone counts once).',
    "# Sources in fail2ban's ignoreip (addresses and ranges; not host names) are never stopped.",
    ...(htable === 'no' ? ['loadmodule "htable.so"'] : typeof htable === 'object' ? [`#!ifndef ${htable.ifdef}`, 'loadmodule "htable.so"', '#!endif'] : []),
    ...(ipops === 'no' ? ['loadmodule "ipops.so"'] : []),
    `modparam("htable", "htable", "voipf2b=>size=10;autoexpire=${s.findtimeSeconds};")`,
    'modparam("htable", "htable", "voipf2bb=>size=10;autoexpire=60;")',
    '# Per auth user (an account guessed from many addresses): n::<user> failures counted,',
    '# s::<user> sources that failed on it, p::<user>::<source> that pair seen, l::<user>::<source> locked out.',
    `modparam("htable", "htable", "voipf2ba=>size=10;autoexpire=${s.findtimeSeconds};")`,
    '# Offices (a successful login within a day): <source> marked, l::<source> its login logged today,',
    '# n::<source>::<window> its failures counted in that findtime window.',
    `modparam("htable", "htable", "voipf2bo=>size=10;autoexpire=${OFFICE_SECONDS};")`,
    `#!define VOIPF2B_MAXRETRY ${s.maxretry}`,
    `#!define VOIPF2B_OFFICE_MAXRETRY ${OFFICE_FACTOR * s.maxretry}`,
    `#!define VOIPF2B_FINDTIME ${Math.max(1, s.findtimeSeconds)}`,
    `#!define VOIPF2B_IGNOREIP "${subnets.join(',')}"`,
    GLOBAL_END,
  ];
}

function checkBlock(indent: string, step: string, challenge: string): string[] {
  const i = indent;
  const j = indent + step;
  const k = j + step;
  return [
    `${i}${CHECK_BEGIN}`,
    `${i}$var(vf2b_rc) = 1;`,
    `${i}if (!is_in_subnet("$si", VOIPF2B_IGNOREIP)) {`,
    `${j}# an office (a login within a day): VOIPF2B_OFFICE_MAXRETRY failures in this findtime window`,
    `${j}# answered, then no answer until the next window (one misconfigured phone does not cut it off)`,
    `${j}if ($sht(voipf2bo=>$si) != $null) {`,
    `${k}$var(vf2b_w) = $TS / VOIPF2B_FINDTIME;`,
    `${k}if ($sht(voipf2bo=>n::$si::$var(vf2b_w)) >= VOIPF2B_OFFICE_MAXRETRY) {`,
    `${k}${step}if ($shtinc(voipf2bo=>n::$si::$var(vf2b_w)) == VOIPF2B_OFFICE_MAXRETRY + 1) {`,
    `${k}${step}${step}${AUTH_THROTTLED_XLOG}`,
    `${k}${step}}`,
    `${k}${step}exit;`,
    `${k}}`,
    `${j}} else if ($sht(voipf2b=>$si) >= VOIPF2B_MAXRETRY) {`,
    `${k}# maxretry failed attempts answered: no answer any more (fail2ban bans it meanwhile)`,
    `${k}if ($shtinc(voipf2b=>$si) == VOIPF2B_MAXRETRY + 1) {`,
    `${k}${step}${AUTH_THROTTLED_XLOG}`,
    `${k}}`,
    `${k}exit;`,
    `${j}}`,
    `${j}# an account under attack (maxretry failures from two or more sources within findtime):`,
    `${j}# its password is not checked for any source outside ignoreip until findtime passes`,
    `${j}if ($au != $null && $sht(voipf2ba=>s::$au) >= 2 && $sht(voipf2ba=>n::$au) >= VOIPF2B_MAXRETRY) {`,
    `${k}if ($sht(voipf2ba=>l::$au::$si) == $null) {`,
    `${k}${step}$sht(voipf2ba=>l::$au::$si) = 1;`,
    `${k}${step}${AUTH_LOCKED_XLOG}`,
    `${k}}`,
    `${k}exit;`,
    `${j}}`,
    `${j}# the same source, auth user and Call-ID again within ${BURST_SECONDS} s of a counted failure: a`,
    `${j}# phone resending its credentials; challenged again, password not checked, not counted`,
    `${j}if ($au != $null && $sht(voipf2bb=>$si::$au::$ci) != $null && $TS - $sht(voipf2bb=>$si::$au::$ci) < ${BURST_SECONDS}) {`,
    `${k}auth_challenge(${challenge});`,
    `${k}exit;`,
    `${j}}`,
    `${i}}`,
    `${i}${CHECK_END}`,
  ];
}

function failureBlock(indent: string, step: string): string[] {
  const i = indent;
  const j = indent + step;
  const k = j + step;
  const has = (p: string): string => `$var(vf2b_cred) =~ "[ ,]${p}="`;
  return [
    `${i}${BEGIN_MARKER}`,
    `${i}# -2 wrong password, -3 unknown user, -1 with malformed credentials (a scanner's): counted;`,
    `${i}# -1 with well-formed credentials is a database/server error: logged, not counted;`,
    `${i}# -4/-5/-6 (stale nonce, no credentials yet, reused nonce) are normal challenges.`,
    `${i}$var(vf2b_rc) = $rc;`,
    `${i}$var(vf2b_cred) = $_s($hdr(Authorization)$hdr(Proxy-Authorization));`,
    `${i}$var(vf2b_count) = 0;`,
    `${i}if ($var(vf2b_rc) == -2 || $var(vf2b_rc) == -3) {`,
    `${j}$var(vf2b_count) = 1;`,
    `${i}} else if ($var(vf2b_rc) == -1) {`,
    `${j}if (!(${['username', 'realm', 'nonce', 'uri', 'response'].map(has).join(' && ')})`,
    `${j}${step}${step}|| (${has('qop')} && !(${has('cnonce')} && ${has('nc')}))) {`,
    `${k}$var(vf2b_count) = 1;`,
    `${j}} else {`,
    `${k}${AUTH_ERROR_XLOG}`,
    `${j}}`,
    `${i}}`,
    `${i}if ($var(vf2b_count) == 1) {`,
    `${j}${AUTH_FAILURE_XLOG}`,
    `${j}if (!is_in_subnet("$si", VOIPF2B_IGNOREIP)) {`,
    `${k}if ($sht(voipf2bo=>$si) != $null) {`,
    `${k}${step}$var(vf2b_w) = $TS / VOIPF2B_FINDTIME;`,
    `${k}${step}if ($sht(voipf2bo=>n::$si::$var(vf2b_w)) == $null) {`,
    `${k}${step}${step}$sht(voipf2bo=>n::$si::$var(vf2b_w)) = 1;`,
    `${k}${step}} else {`,
    `${k}${step}${step}$var(vf2b_n) = $shtinc(voipf2bo=>n::$si::$var(vf2b_w));`,
    `${k}${step}}`,
    `${k}} else if ($sht(voipf2b=>$si) == $null) {`,
    `${k}${step}$sht(voipf2b=>$si) = 1;`,
    `${k}} else {`,
    `${k}${step}$var(vf2b_n) = $shtinc(voipf2b=>$si);`,
    `${k}}`,
    `${k}if ($au != $null) {`,
    `${k}${step}$sht(voipf2bb=>$si::$au::$ci) = $TS;`,
    `${k}${step}if ($sht(voipf2ba=>p::$au::$si) == $null) {`,
    `${k}${step}${step}$sht(voipf2ba=>p::$au::$si) = 1;`,
    `${k}${step}${step}if ($sht(voipf2ba=>s::$au) == $null) {`,
    `${k}${step}${step}${step}$sht(voipf2ba=>s::$au) = 1;`,
    `${k}${step}${step}} else {`,
    `${k}${step}${step}${step}$var(vf2b_n) = $shtinc(voipf2ba=>s::$au);`,
    `${k}${step}${step}}`,
    `${k}${step}}`,
    `${k}${step}if ($sht(voipf2ba=>n::$au) == $null) {`,
    `${k}${step}${step}$sht(voipf2ba=>n::$au) = 1;`,
    `${k}${step}} else {`,
    `${k}${step}${step}$var(vf2b_n) = $shtinc(voipf2ba=>n::$au);`,
    `${k}${step}}`,
    `${k}}`,
    `${j}}`,
    `${i}}`,
    `${i}${END_MARKER}`,
  ];
}

function loginBlock(indent: string, step: string): string[] {
  const i = indent;
  const j = indent + step;
  const k = j + step;
  return [
    `${i}${LOGIN_BEGIN}`,
    `${i}# the password was right: this source is an office for a day (refreshed by every login, a`,
    `${i}# REGISTER refresh too); its first login of the day is logged once, for fail2ban's guard`,
    `${i}if ($var(vf2b_rc) == 1 && !is_in_subnet("$si", VOIPF2B_IGNOREIP)) {`,
    `${j}if ($sht(voipf2bo=>l::$si) == $null) {`,
    `${k}$sht(voipf2bo=>l::$si) = 1;`,
    `${k}${AUTH_LOGIN_XLOG}`,
    `${j}}`,
    `${j}$sht(voipf2bo=>$si) = 1;`,
    `${i}}`,
    `${i}${LOGIN_END}`,
  ];
}

export type EditStatus = 'inserted' | 'updated' | 'present' | 'no-auth-route' | 'unsupported';

/**
 * Makes kamailio.cfg's `route[AUTH]` log every failed digest attempt and stop a source past
 * maxretry (see the module comment).
 *
 * Any block of ours already there is taken out first and written again with `settings`, so a
 * re-run with other settings updates it and one with the same settings changes nothing.
 * In `route[AUTH]` (the name may be quoted), each `if (!auth_check(...)) {` outside comments gets
 * the check block right before it, the failure block as the first statements inside it and the
 * login block right after it (where no `else` follows), indented like the code around them;
 * line endings follow the file (LF or CRLF).
 *
 * @returns `inserted` (no block of ours before), `updated` (ours, with other settings),
 *   `present` (text unchanged), `no-auth-route` (no `route[AUTH]` with `if (!auth_check(...)) {`:
 *   custom scripts, the admin pastes templates/etc/kamailio/voip-f2b-auth.cfg by hand), or
 *   `unsupported` (htable or ipops loaded under preprocessor conditions we cannot mirror);
 *   the last two leave the text unchanged.
 */
export function insertAuthFailureLog(
  original: string,
  settings: ThrottleSettings = DEFAULT_SETTINGS,
): { text: string; changes: string[]; status: EditStatus; /** an auth_check block followed by `else`: no login block, so no office from logins there */ noLoginBlock?: boolean } {
  const unchanged = (status: EditStatus) => ({ text: original, changes: [], status });
  const eol = /\r\n/.test(original) ? '\r\n' : '\n';
  const cfg = removeOurBlocks(original);
  const hadOurs = cfg !== original;
  const code = maskCode(cfg);

  // route names may be quoted; quoted text is blanked in `code`, so read the name from `cfg`
  const routeRe = /(?:^|[\s;}])route\s*\[([^\]\n]*)\]\s*\{/gm;
  let route: RegExpExecArray | null;
  while ((route = routeRe.exec(code)) !== null) {
    const nameStart = route.index + route[0].indexOf('[') + 1;
    const name = cfg.slice(nameStart, nameStart + route[1]!.length).trim().replace(/^(["'])(.*)\1$/, '$2');
    if (name === 'AUTH') break;
  }
  if (!route) return unchanged('no-auth-route');
  const bodyOpen = route.index + route[0].length - 1;
  const bodyClose = matching(code, bodyOpen);
  if (bodyClose < 0) return unchanged('no-auth-route');

  const sites: Array<{ ifAt: number; open: number; challenge: string; afterAt: number }> = []; // `if` keyword, and the `{` of its block
  const ifRe = /\bif\s*\(\s*!\s*auth_check\s*\(/g;
  ifRe.lastIndex = bodyOpen;
  let m: RegExpExecArray | null;
  while ((m = ifRe.exec(code)) !== null && m.index < bodyClose) {
    const condOpen = code.indexOf('(', m.index);
    const condClose = matching(code, condOpen);
    if (condClose < 0) break;
    const brace = /^\s*\{/.exec(code.slice(condClose + 1));
    if (!brace) continue; // a single-statement if: not the stock shape
    const open = condClose + brace[0].length;
    const close = matching(code, open);
    if (close < 0) break;
    // the script's own challenge (realm, qop flags) is the one a repeated burst gets again
    const call = /\bauth_challenge\s*\(/.exec(code.slice(open, close));
    const argsOpen = call ? open + call.index + call[0].length - 1 : -1;
    const argsClose = call ? matching(code, argsOpen) : -1;
    const challenge = argsClose > argsOpen ? cfg.slice(argsOpen + 1, argsClose).trim() : '"$fd", "0"';
    // the login block after the if block, where the script goes on only on success (no `else`)
    const after = /^[^\n]*\n?/.exec(code.slice(close + 1))![0];
    const afterAt = /^\s*$/.test(after) && !/^\s*else\b/.test(code.slice(close + 1)) ? close + 1 + after.length : -1;
    sites.push({ ifAt: m.index, open, challenge, afterAt });
  }
  if (sites.length === 0) return unchanged('no-auth-route');

  const htable = moduleLoad(cfg, code, 'htable');
  const ipops = moduleLoad(cfg, code, 'ipops');
  if (htable === 'complex' || (ipops !== 'no' && ipops !== 'always')) return unchanged('unsupported');

  // Where the global block goes: before the "Routing Logic" banner, else before the first route.
  const firstRoute = /(?:^|\n)[ \t]*(?:request_route|route)\s*(?:\[[^\]\n]*\])?\s*\{/.exec(code);
  if (!firstRoute) return unchanged('no-auth-route');
  const banner = cfg.slice(0, firstRoute.index).search(/^#+ *Routing Logic *#+[ \t]*\r?$/m);
  const globalAt = banner >= 0 ? banner : lineStart(cfg, firstRoute.index + (cfg[firstRoute.index] === '\n' ? 1 : 0));

  // Insert from the end backwards so earlier offsets stay valid.
  const inserts: Array<{ at: number; lines: string[]; what: string }> = [];
  inserts.push({ at: globalAt, lines: globalBlock(settings, htable, ipops), what: 'htable counters, maxretry and the whitelist for route[AUTH]' });
  for (const s of sites) {
    const ifLine = lineStart(cfg, s.ifAt);
    const ifIndent = /^[ \t]*/.exec(cfg.slice(ifLine))![0];
    const inner = lineEnd(cfg, s.open);
    const next = cfg.slice(inner, lineEnd(cfg, inner));
    const indent = /^([ \t]*)\S/.exec(next)?.[1] ?? `${ifIndent}\t`;
    const step = indent.startsWith(ifIndent) && indent.length > ifIndent.length ? indent.slice(ifIndent.length) : '\t';
    inserts.push({ at: ifLine, lines: checkBlock(ifIndent, step, s.challenge), what: 'route[AUTH]: no answer past maxretry failures, a repeated burst counts once' });
    inserts.push({ at: inner, lines: failureBlock(indent, step), what: 'route[AUTH]: log every failed digest attempt (source address first) and count it' });
    if (s.afterAt >= 0) inserts.push({ at: s.afterAt, lines: loginBlock(ifIndent, step), what: 'route[AUTH]: a source that logs in is an office for a day (its own threshold), logged once a day' });
  }
  let text = cfg;
  const sorted = inserts.sort((a, b) => a.at - b.at);
  const blocks = sorted.map((ins) => {
    const needsEol = ins.at === cfg.length && cfg.length > 0 && !cfg.endsWith('\n');
    return (needsEol ? eol : '') + ins.lines.map((l) => l + eol).join('');
  });
  for (let n = sorted.length - 1; n >= 0; n--) text = text.slice(0, sorted[n]!.at) + blocks[n] + text.slice(sorted[n]!.at);
  // line numbers in the new text: earlier blocks shift later ones
  let shift = 0;
  const changes = sorted.map((ins, n) => {
    const line = (cfg.slice(0, ins.at).match(/\n/g)?.length ?? 0) + 1 + shift;
    shift += blocks[n]!.split('\n').length - 1;
    return `${ins.what}, at line ${line}`;
  });
  const noLogin = sites.some((s) => s.afterAt < 0) ? { noLoginBlock: true } : {};
  if (text === original) return { ...unchanged('present'), ...noLogin };
  return { text, changes, status: hadOurs ? 'updated' : 'inserted', ...noLogin };
}
