import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertions, linesOf } from '../helpers/lines.ts';
import { readFileSync } from 'node:fs';
import {
  AUTH_FAILURE_XLOG,
  BEGIN_MARKER,
  CHECK_BEGIN,
  CHECK_END,
  END_MARKER,
  GLOBAL_BEGIN,
  GLOBAL_END,
  AUTH_LOGIN_XLOG,
  LOGIN_BEGIN,
  LOGIN_END,
  durationSeconds,
  insertAuthFailureLog,
  kamailioSubnets,
  removeOurBlocks,
} from '../../src/core/editors/kamailio-cfg.ts';

const debianCfg = readFileSync(new URL('../fixtures/upstream/kamailio/kamailio.cfg', import.meta.url), 'utf8');


/** The lines of the inserted blocks, each with its marker lines, grouped by block. */
function blocksOf(added: Array<[number, string]>): string[][] {
  const out: string[][] = [];
  let cur: string[] | null = null;
  for (const [, l] of added) {
    if (/# voip-f2b-install: .*\(begin\)/.test(l)) cur = [];
    cur?.push(l);
    if (/# voip-f2b-install: .*\(end\)/.test(l)) {
      out.push(cur!);
      cur = null;
    }
  }
  return out;
}

test('kamailio cfg: the log statement is the fixed one, source address first', () => {
  assert.equal(
    AUTH_FAILURE_XLOG,
    'xlog("L_WARN", "voip-f2b: auth failure src=$si port=$sp method=$rm user=$fU rc=$var(vf2b_rc)\\n");',
  );
});

test('kamailio cfg: Debian 12 kamailio.cfg gets the four blocks: globals, the check before auth_check, the log first in its failure branch, the login after it', () => {
  const r = insertAuthFailureLog(debianCfg);
  assert.equal(r.status, 'inserted');
  assert.deepEqual(r.changes.map((c) => c.replace(/^(.*), at line \d+$/, '$1')), [
    'htable counters, maxretry and the whitelist for route[AUTH]',
    'route[AUTH]: no answer past maxretry failures, a repeated burst counts once',
    'route[AUTH]: log every failed digest attempt (source address first) and count it',
    'route[AUTH]: a source that logs in is an office for a day (its own threshold), logged once a day',
  ]);
  const added = insertions(debianCfg, r.text);
  const [g, c, f, o] = blocksOf(added);
  assert.equal(blocksOf(added).length, 4);
  assert.equal(g![0], `${GLOBAL_BEGIN}\n`);
  assert.equal(g!.at(-1), `${GLOBAL_END}\n`);
  assert.equal(c![0], `\t\t${CHECK_BEGIN}\n`);
  assert.equal(c!.at(-1), `\t\t${CHECK_END}\n`);
  assert.equal(f![0], `\t\t\t${BEGIN_MARKER}\n`);
  assert.equal(f!.at(-1), `\t\t\t${END_MARKER}\n`);
  // htable only where the stock script does not load it (WITH_ANTIFLOOD); ipops always
  assert.deepEqual(g!.filter((l) => /^(#!|loadmodule)/.test(l)), [
    '#!ifndef WITH_ANTIFLOOD\n', 'loadmodule "htable.so"\n', '#!endif\n', 'loadmodule "ipops.so"\n',
    '#!define VOIPF2B_MAXRETRY 5\n', '#!define VOIPF2B_OFFICE_MAXRETRY 50\n', '#!define VOIPF2B_FINDTIME 600\n',
    '#!define VOIPF2B_IGNOREIP "127.0.0.1/8,::1/128"\n',
  ]);
  assert.ok(g!.includes('modparam("htable", "htable", "voipf2bo=>size=10;autoexpire=86400;")\n'));
  assert.ok(g!.includes('modparam("htable", "htable", "voipf2b=>size=10;autoexpire=600;")\n'));
  assert.ok(f!.includes(`\t\t\t\t${AUTH_FAILURE_XLOG}\n`));
  const out = linesOf(r.text);
  // positions: globals right before the routing banner; the check right before the if; the log first inside it
  const at = (l: string): number => out.indexOf(l);
  assert.equal(out[at(`${GLOBAL_END}\n`) + 1], '####### Routing Logic ########\n');
  assert.equal(out[at(`\t\t${CHECK_END}\n`) + 1], '\t\tif (!auth_check("$fd", "subscriber", "1")) {\n');
  assert.equal(out[at(`\t\t\t${BEGIN_MARKER}\n`) - 1], '\t\tif (!auth_check("$fd", "subscriber", "1")) {\n');
  assert.equal(out[at(`\t\t\t${END_MARKER}\n`) + 1], '\t\t\tauth_challenge("$fd", "0");\n');
  // the login block right after the if block's closing brace, where the script goes on only when
  // the password was right; one log line a day per source (the mark l::<source> set once)
  assert.deepEqual(out.slice(at(`\t\t${LOGIN_BEGIN}\n`) - 3, at(`\t\t${LOGIN_BEGIN}\n`)), ['\t\t\tauth_challenge("$fd", "0");\n', '\t\t\texit;\n', '\t\t}\n']);
  assert.equal(out[at(`\t\t${LOGIN_END}\n`) + 1], '\t\t# user authenticated - remove auth header\n');
  assert.deepEqual(o!.filter((l) => !/^\s*#/.test(l)), [
    '\t\tif ($var(vf2b_rc) == 1 && !is_in_subnet("$si", VOIPF2B_IGNOREIP)) {\n',
    '\t\t\tif ($sht(voipf2bo=>l::$si) == $null) {\n',
    '\t\t\t\t$sht(voipf2bo=>l::$si) = 1;\n',
    `\t\t\t\t${AUTH_LOGIN_XLOG}\n`,
    '\t\t\t}\n',
    '\t\t\t$sht(voipf2bo=>$si) = 1;\n',
    '\t\t}\n',
  ]);
  // the sentinel the login block tests: set before auth_check, overwritten by its failure code
  assert.equal(c![1], '\t\t$var(vf2b_rc) = 1;\n');
  assert.equal(f!.filter((l) => l.includes('$var(vf2b_rc) = $rc;')).length, 1);
  // an office: its own threshold per findtime window, counted apart from maxretry's counter
  assert.ok(c!.includes('\t\t\t\tif ($sht(voipf2bo=>n::$si::$var(vf2b_w)) >= VOIPF2B_OFFICE_MAXRETRY) {\n'), c!.join(''));
  assert.ok(c!.includes('\t\t\t} else if ($sht(voipf2b=>$si) >= VOIPF2B_MAXRETRY) {\n'), c!.join(''));
  assert.ok(f!.includes('\t\t\t\t\t\t\t$var(vf2b_n) = $shtinc(voipf2bo=>n::$si::$var(vf2b_w));\n'), f!.join(''));
  // each change line names the line its block starts at
  for (const [k, b] of [g, c, f, o].entries()) assert.match(r.changes[k]!, new RegExp(`at line ${out.indexOf(b![0]!) + 1}$`));
  // removing the blocks gives back the original bytes
  assert.equal(removeOurBlocks(r.text), debianCfg);
});

test('kamailio cfg: settings: maxretry, findtime and the whitelist (addresses and ranges, not host names)', () => {
  const r = insertAuthFailureLog(debianCfg, { maxretry: 3, findtimeSeconds: 3600, ignoreip: ['127.0.0.1/8', '::1', '198.51.100.7', '2001:db8::/32', 'office.example.org'] });
  assert.match(r.text, /^#!define VOIPF2B_MAXRETRY 3$/m);
  assert.match(r.text, /^#!define VOIPF2B_OFFICE_MAXRETRY 30$/m);
  assert.match(r.text, /^#!define VOIPF2B_FINDTIME 3600$/m);
  assert.match(r.text, /^#!define VOIPF2B_IGNOREIP "127\.0\.0\.1\/8,::1\/128,198\.51\.100\.7\/32,2001:db8::\/32"$/m);
  assert.match(r.text, /voipf2b=>size=10;autoexpire=3600;/);
  // other settings on a re-run: the blocks are rewritten in place, nothing else moves
  const again = insertAuthFailureLog(r.text);
  assert.equal(again.status, 'updated');
  assert.equal(again.text, insertAuthFailureLog(debianCfg).text);
  assert.deepEqual(kamailioSubnets(['a.example', '10.0.0.0/8', 'fe80::1', '1.2.3.4/99']), ['10.0.0.0/8', 'fe80::1/128']);
  assert.deepEqual(['600', '10m', '1h30m', '1d', '-1', 'x'].map(durationSeconds), [600, 600, 5400, 86400, null, null]);
});

test('kamailio cfg: an older voip-f2b block (the -2/-3 only log line) is replaced, not doubled', () => {
  const old = debianCfg.replace(
    '\t\tif (!auth_check("$fd", "subscriber", "1")) {\n',
    '\t\tif (!auth_check("$fd", "subscriber", "1")) {\n' +
      '\t\t\t# voip-f2b-install: log real authentication failures for fail2ban (begin)\n' +
      '\t\t\tif ($rc == -2 || $rc == -3) {\n\t\t\t\txlog("L_WARN", "voip-f2b: auth failure src=$si port=$sp method=$rm user=$fU rc=$rc\\n");\n\t\t\t}\n' +
      '\t\t\t# voip-f2b-install: log real authentication failures for fail2ban (end)\n',
  );
  const r = insertAuthFailureLog(old);
  assert.equal(r.status, 'updated');
  assert.equal(r.text, insertAuthFailureLog(debianCfg).text);
});

test('kamailio cfg: htable or ipops loaded by the script itself is not loaded twice (Kamailio refuses that)', () => {
  const always = debianCfg.replace('loadmodule "kex.so"\n', 'loadmodule "kex.so"\nloadmodule "htable.so"\nloadmodule "ipops.so"\n');
  const g = blocksOf(insertions(always, insertAuthFailureLog(always).text))[0]!;
  assert.deepEqual(g.filter((l) => l.startsWith('loadmodule') || l.startsWith('#!if')), []);
  const nested = debianCfg.replace('#!ifdef WITH_ANTIFLOOD\nloadmodule "htable.so"', '#!ifdef WITH_ANTIFLOOD\n#!ifdef X\nloadmodule "htable.so"\n#!endif');
  assert.deepEqual(insertAuthFailureLog(nested), { text: nested, changes: [], status: 'unsupported' });
});

test('kamailio cfg: inserting twice is inserting once (status present, text unchanged)', () => {
  const once = insertAuthFailureLog(debianCfg).text;
  assert.deepEqual(insertAuthFailureLog(once), { text: once, changes: [], status: 'present' });
});

test('kamailio cfg: CRLF files keep CRLF', () => {
  const crlf = debianCfg.replace(/\n/g, '\r\n');
  const r = insertAuthFailureLog(crlf);
  assert.equal(r.status, 'inserted');
  assert.equal(r.text, insertAuthFailureLog(debianCfg).text.replace(/\n/g, '\r\n'));
  assert.equal(insertAuthFailureLog(r.text).status, 'present');
});

test('kamailio cfg: no route[AUTH] or no auth_check() in it means no-auth-route, text unchanged', () => {
  const cases = [
    '#!KAMAILIO\nrequest_route {\n\tif (!auth_check("$fd", "subscriber", "1")) {\n\t\tauth_challenge("$fd", "0");\n\t\texit;\n\t}\n}\n',
    // Kamailio 3.x style: www_authorize()/proxy_authorize()
    'route[AUTH] {\n\tif (is_method("REGISTER")) {\n\t\tif (!www_authorize("$td", "subscriber")) {\n\t\t\twww_challenge("$td", "0");\n\t\t\texit;\n\t\t}\n\t}\n}\n',
    // only in comments or strings
    'route[AUTH] {\n#\tif (!auth_check("$fd", "subscriber", "1")) {\n/*\tif (!auth_check("$fd", "subscriber", "1")) { */\n\txlog("if (!auth_check(x)) {\\n");\n}\n',
    // not the stock shape
    'route[AUTH] {\n\tif (auth_check("$fd", "subscriber", "1")) {\n\t\treturn;\n\t}\n\tauth_challenge("$fd", "0");\n}\n',
    '',
  ];
  for (const cfg of cases) {
    assert.deepEqual(insertAuthFailureLog(cfg), { text: cfg, changes: [], status: 'no-auth-route' }, cfg);
  }
});

test('kamailio cfg: only route[AUTH] is edited; quoted names and space indentation work', () => {
  const cfg = [
    'route[OTHER] {',
    '    if (!auth_check("$fd", "subscriber", "1")) {',
    '        exit;',
    '    }',
    '}',
    'route["AUTH"] {',
    '    if ( ! auth_check("$fd", "subscriber", "1") )',
    '    {',
    '        auth_challenge("$fd", "0");',
    '        exit;',
    '    }',
    '}',
  ].join('\n');
  const r = insertAuthFailureLog(cfg);
  assert.equal(r.status, 'inserted');
  const out = linesOf(r.text);
  const begin = out.indexOf(`        ${BEGIN_MARKER}\n`);
  assert.equal(out[begin - 1], '    {\n');
  assert.equal(out[out.indexOf(`    ${CHECK_END}\n`) + 1], '    if ( ! auth_check("$fd", "subscriber", "1") )\n');
  // space indentation throughout: one step of four spaces, no tab
  assert.ok(insertions(cfg, r.text).every(([, l]) => !/^\s*\t/.test(l)), r.text);
  assert.ok(out.includes(`            ${AUTH_FAILURE_XLOG}\n`));
  // route[OTHER] untouched (the global block goes before it, the first route of the script)
  const other = out.indexOf('route[OTHER] {\n');
  assert.equal(out[other - 1], `${GLOBAL_END}\n`);
  assert.deepEqual(out.slice(other, other + 5), linesOf(cfg).slice(0, 5));
  assert.equal(insertAuthFailureLog(r.text).status, 'present');
});

test('kamailio cfg: the pasteable template holds the same blocks as the editor inserts', () => {
  const tpl = readFileSync(new URL('../../templates/etc/kamailio/voip-f2b-auth.cfg', import.meta.url), 'utf8');
  const r = insertAuthFailureLog(debianCfg);
  const blocks = blocksOf(insertions(debianCfg, r.text));
  for (const b of blocks) assert.ok(tpl.includes(b.join('')), `template block differs from the inserted one:\n${b.join('')}`);
  assert.doesNotMatch(tpl, /\{\{/);
  // pasted by hand at the three places, it is recognised as present
  const pasted = debianCfg
    .replace('####### Routing Logic ########\n', `${blocks[0]!.join('')}####### Routing Logic ########\n`)
    .replace('\t\tif (!auth_check("$fd", "subscriber", "1")) {\n', `${blocks[1]!.join('')}\t\tif (!auth_check("$fd", "subscriber", "1")) {\n${blocks[2]!.join('')}`)
    .replace('\t\t\texit;\n\t\t}\n\t\t# user authenticated', `\t\t\texit;\n\t\t}\n${blocks[3]!.join('')}\t\t# user authenticated`);
  assert.equal(blocks.length, 4);
  assert.deepEqual(insertAuthFailureLog(pasted), { text: pasted, changes: [], status: 'present' });
});

test('kamailio cfg: no login block where an else follows the auth_check() block (the script goes on there on failure too)', () => {
  const cfg = 'route[AUTH] {\n\tif (!auth_check("$fd", "subscriber", "1")) {\n\t\tauth_challenge("$fd", "0");\n\t\texit;\n\t} else {\n\t\txlog("ok\\n");\n\t}\n}\n';
  const r = insertAuthFailureLog(cfg);
  assert.equal(r.status, 'inserted');
  assert.ok(!r.text.includes(LOGIN_BEGIN), r.text);
  assert.equal(r.noLoginBlock, true, 'said, so the plan can warn');
  assert.equal(insertAuthFailureLog(r.text).status, 'present');
  assert.equal(insertAuthFailureLog(r.text).noLoginBlock, true, 'said on every re-run');
  assert.equal(removeOurBlocks(r.text), cfg);
  // code after the closing brace on its line: no login block either (not the stock shape)
  const same = cfg.replace('\t} else {\n\t\txlog("ok\\n");\n\t}\n', '\t} xlog("after\\n");\n');
  assert.ok(!insertAuthFailureLog(same).text.includes(LOGIN_BEGIN));
});
