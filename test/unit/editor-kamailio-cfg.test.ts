import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertions, linesOf } from '../helpers/lines.ts';
import { readFileSync } from 'node:fs';
import {
  AUTH_FAILURE_XLOG,
  BEGIN_MARKER,
  END_MARKER,
  insertAuthFailureLog,
} from '../../src/core/editors/kamailio-cfg.ts';

const debianCfg = readFileSync(new URL('../fixtures/upstream/kamailio/kamailio.cfg', import.meta.url), 'utf8');


const expectedBlock = (indent: string, step = '\t'): string[] => [
  `${indent}${BEGIN_MARKER}\n`,
  `${indent}# auth_check() returned -2 (wrong password) or -3 (unknown user); -4/-5/-6 (stale\n`,
  `${indent}# nonce, no credentials yet, reused nonce) are normal digest challenges and are not\n`,
  `${indent}# logged. $rc still holds auth_check()'s code here: no function ran since.\n`,
  `${indent}if ($rc == -2 || $rc == -3) {\n`,
  `${indent}${step}${AUTH_FAILURE_XLOG}\n`,
  `${indent}}\n`,
  `${indent}${END_MARKER}\n`,
];

test('kamailio cfg: the log statement is the fixed one, source address first', () => {
  assert.equal(
    AUTH_FAILURE_XLOG,
    'xlog("L_WARN", "voip-f2b: auth failure src=$si port=$sp method=$rm user=$fU rc=$rc\\n");',
  );
});

test('kamailio cfg: Debian 12 kamailio.cfg gets the block as the first statements of the auth_check failure branch', () => {
  const r = insertAuthFailureLog(debianCfg);
  assert.equal(r.status, 'inserted');
  assert.equal(r.changes.length, 1);
  assert.match(r.changes[0]!, /^route\[AUTH\]: log auth_check\(\) failures .* at line 799$/);

  const added = insertions(debianCfg, r.text);
  assert.deepEqual(added.map(([, l]) => l), expectedBlock('\t\t\t'));
  const out = linesOf(r.text);
  const first = added[0]![0];
  assert.equal(out[first - 1], '\t\tif (!auth_check("$fd", "subscriber", "1")) {\n');
  assert.equal(out[first + added.length], '\t\t\tauth_challenge("$fd", "0");\n');
  // the block is contiguous, and removing it gives back the original bytes
  assert.deepEqual(added.map(([j]) => j), added.map((_a, k) => first + k));
  assert.equal(out.filter((_l, j) => j < first || j >= first + added.length).join(''), debianCfg);
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
  const added = insertions(cfg, r.text);
  assert.deepEqual(added.map(([, l]) => l), expectedBlock('        ', '    '));
  assert.equal(linesOf(r.text)[added[0]![0] - 1], '    {\n');
  assert.equal(insertAuthFailureLog(r.text).status, 'present');
});

test('kamailio cfg: the pasteable template holds the same block as the editor inserts', () => {
  const tpl = readFileSync(new URL('../../templates/etc/kamailio/voip-f2b-auth.cfg', import.meta.url), 'utf8');
  assert.ok(tpl.includes(expectedBlock('\t\t\t').join('')), 'template block differs from the inserted one');
  assert.doesNotMatch(tpl, /\{\{/);
  // pasted into the stock route it is recognised as present
  const pasted = debianCfg.replace(
    '\t\tif (!auth_check("$fd", "subscriber", "1")) {\n',
    `\t\tif (!auth_check("$fd", "subscriber", "1")) {\n${expectedBlock('\t\t\t').join('')}`,
  );
  assert.deepEqual(insertAuthFailureLog(pasted), { text: pasted, changes: [], status: 'present' });
});
