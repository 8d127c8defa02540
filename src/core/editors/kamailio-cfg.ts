/**
 * Lossless editor for Kamailio's kamailio.cfg: adds, inside the stock `route[AUTH]`, one syslog
 * line per real authentication failure, for fail2ban's kamailio filter.
 *
 * Which auth_check() results are logged (auth module's auth_cfg_result_t, documented in the
 * auth_db module's README under www_authenticate, "Negative codes"):
 *   -2 invalid password, -3 unknown user: logged, these are the brute-force signal;
 *   -1 generic error (also DB/realm errors: a database outage must not ban every phone),
 *   -4 stale nonce, -5 no credentials (every normal first request, answered by the 401/407
 *   challenge), -6 nonce reused, -8 auth user != From/To user (only reached with a correct
 *   password): not logged.
 *
 * `$rc` is read directly: Kamailio sets it only when a module function or a route returns
 * (core action.c, MODF_HANDLE_RETCODE / route()), so the `if ($rc == -2 || $rc == -3)` test, a
 * pure expression, leaves it holding auth_check()'s code, and xlog() formats its message before
 * its own return code replaces it.
 */

/** The log statement fail2ban's filter matches. Fixed: do not change it. */
export const AUTH_FAILURE_XLOG =
  'xlog("L_WARN", "voip-f2b: auth failure src=$si port=$sp method=$rm user=$fU rc=$rc\\n");';

export const BEGIN_MARKER = '# voip-f2b-install: log real authentication failures for fail2ban (begin)';
export const END_MARKER = '# voip-f2b-install: log real authentication failures for fail2ban (end)';

/** The auth_check() return codes logged as failures (see the module comment). */
export const LOGGED_CODES = [-2, -3] as const;

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

/** The lines we insert, each without EOL. `indent` is the block's statement indentation. */
function block(indent: string): string[] {
  const step = indent.includes('\t') || indent === '' ? '\t' : '    ';
  return [
    `${indent}${BEGIN_MARKER}`,
    `${indent}# auth_check() returned -2 (wrong password) or -3 (unknown user); -4/-5/-6 (stale`,
    `${indent}# nonce, no credentials yet, reused nonce) are normal digest challenges and are not`,
    `${indent}# logged. $rc still holds auth_check()'s code here: no function ran since.`,
    `${indent}if (${LOGGED_CODES.map((c) => `$rc == ${c}`).join(' || ')}) {`,
    `${indent}${step}${AUTH_FAILURE_XLOG}`,
    `${indent}}`,
    `${indent}${END_MARKER}`,
  ];
}

/**
 * Inserts the fail2ban authentication-failure log into kamailio.cfg's `route[AUTH]`.
 *
 * In `route[AUTH]` (the name may be quoted), every `if (!auth_check(...)) {` block outside
 * comments gets, as its first statements, a block marked by BEGIN_MARKER / END_MARKER comment
 * lines that logs AUTH_FAILURE_XLOG when auth_check() returned -2 or -3. The block is indented like
 * the statement that follows it; line endings follow the file (LF or CRLF); nothing else moves.
 *
 * @param cfg the text of kamailio.cfg
 * @returns `status: 'inserted'` with the new text and one change line per insertion;
 *   `'present'` (text unchanged, no changes) when every such block already holds the marker;
 *   `'no-auth-route'` (text unchanged, no changes) when there is no `route[AUTH]` calling
 *   `if (!auth_check(...)) {` (custom scripts: the admin pastes the template by hand).
 */
export function insertAuthFailureLog(cfg: string): {
  text: string;
  changes: string[];
  status: 'inserted' | 'present' | 'no-auth-route';
} {
  const unchanged = (status: 'present' | 'no-auth-route') => ({ text: cfg, changes: [], status });
  const eol = /\r\n/.test(cfg) ? '\r\n' : '\n';
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

  const sites: number[] = []; // index after each `{` opening an `if (!auth_check(...))` block
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
    if (!cfg.slice(open, close).includes(BEGIN_MARKER)) sites.push(open + 1);
    else sites.push(-1);
  }
  if (sites.length === 0) return unchanged('no-auth-route');
  if (sites.every((s) => s < 0)) return unchanged('present');

  let text = cfg;
  const changes: string[] = [];
  for (const after of sites.filter((s) => s >= 0).sort((a, b) => b - a)) {
    // insert on the line after the `{`; indent like the first statement inside the block
    const at = lineEnd(text, after);
    const next = text.slice(at, lineEnd(text, at));
    const ifIndent = /^[ \t]*/.exec(text.slice(lineStart(text, after), after))![0];
    const indent = /^([ \t]*)\S/.exec(next)?.[1] ?? `${ifIndent}\t`;
    const needsEol = at === text.length && !text.endsWith('\n');
    const lines = block(indent).map((l) => l + eol).join('');
    text = text.slice(0, at) + (needsEol ? eol : '') + lines + text.slice(at);
    const lineNo = text.slice(0, at).split('\n').length;
    changes.push(`route[AUTH]: log auth_check() failures (-2 wrong password, -3 unknown user) for fail2ban, at line ${lineNo}`);
  }
  return { text, changes: changes.reverse(), status: 'inserted' };
}
