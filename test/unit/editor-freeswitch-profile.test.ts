import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertions, linesOf } from '../helpers/lines.ts';
import { readFileSync } from 'node:fs';
import { setLogAuthFailures } from '../../src/core/editors/freeswitch-profile.ts';

const profile = (name: string): string =>
  readFileSync(new URL(`../fixtures/upstream/freeswitch/vanilla/sip_profiles/${name}`, import.meta.url), 'utf8');

const PARAM = '<param name="log-auth-failures" value="true"/>';


/**
 * A minimal XML well-formedness check, written independently of the editor's tokenizer:
 * comments, CDATA, PIs and declarations are removed, then every tag must nest properly,
 * attributes must be name="value" / name='value', and no '<' may be left unexplained.
 */
function assertWellFormed(xml: string): void {
  let rest = xml;
  for (const re of [/<!--[\s\S]*?-->/g, /<!\[CDATA\[[\s\S]*?\]\]>/g, /<\?[\s\S]*?\?>/g, /<![A-Z][^>]*>/g]) {
    rest = rest.replace(re, '');
  }
  assert.doesNotMatch(rest, /<!--|-->/, 'unbalanced comment');
  const stack: string[] = [];
  const tagRe = /<(\/?)([A-Za-z_:][-\w.:]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = tagRe.exec(rest)) !== null) {
    assert.doesNotMatch(rest.slice(last, m.index), /[<>]/, `stray markup before ${m[0]}`);
    last = m.index + m[0].length;
    const [, close, name, , empty] = m;
    if (close) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    } else if (!empty) {
      stack.push(name!);
    }
  }
  assert.doesNotMatch(rest.slice(last), /[<>]/, 'stray markup at the end');
  assert.deepEqual(stack, [], 'unclosed elements');
}

test('freeswitch profile: the well-formedness check rejects broken documents', () => {
  assert.throws(() => assertWellFormed('<a><b></a></b>'));
  assert.throws(() => assertWellFormed('<a><b/>'));
  assert.throws(() => assertWellFormed('<a><!-- x </a>'));
  assert.throws(() => assertWellFormed('<a x="1></a>'));
  assert.throws(() => assertWellFormed('<a>\n<param name="x" value="y"/\n</a>'));
  assertWellFormed('<a><!-- <b> --><![CDATA[ <c> ]]><d x=\'1\' y="2"/></a>');
});

test('freeswitch profile: vanilla internal.xml has value="false" flipped to "true", nothing else', () => {
  const original = profile('internal.xml');
  assertWellFormed(original);
  const r = setLogAuthFailures(original);
  assert.deepEqual(r.changes, ['profile "internal": log-auth-failures set to true (was "false")']);
  const a = linesOf(original);
  const b = linesOf(r.text);
  assert.equal(b.length, a.length);
  const differing = a.map((l, i) => [l, b[i]] as const).filter(([x, y]) => x !== y);
  assert.deepEqual(differing, [
    ['    <param name="log-auth-failures" value="false"/>\n', '    <param name="log-auth-failures" value="true"/>\n'],
  ]);
  assertWellFormed(r.text);
  assert.deepEqual(setLogAuthFailures(r.text), { text: r.text, changes: [] });
});

for (const [file, name] of [
  ['external.xml', 'external'],
  ['internal-ipv6.xml', 'internal-ipv6'],
  ['external-ipv6.xml', 'external-ipv6'],
] as const) {
  test(`freeswitch profile: vanilla ${file} gets the param right after <settings>, nothing else moves`, () => {
    const original = profile(file);
    assertWellFormed(original);
    const r = setLogAuthFailures(original);
    assert.deepEqual(r.changes, [`profile "${name}": added ${PARAM} to <settings>`]);
    const added = insertions(original, r.text);
    assert.deepEqual(added.map(([, l]) => l), [`    ${PARAM}\n`]);
    assert.equal(linesOf(r.text)[added[0]![0] - 1], '  <settings>\n');
    const back = linesOf(r.text).filter((_l, j) => j !== added[0]![0]).join('');
    assert.equal(back, original);
    assertWellFormed(r.text);
    assert.deepEqual(setLogAuthFailures(r.text), { text: r.text, changes: [] });
  });
}

test('freeswitch profile: a param present only inside a comment does not count', () => {
  const xml = [
    '<profile name="p">',
    '  <settings>',
    '    <!--<param name="log-auth-failures" value="true"/>-->',
    '    <!-- <param name="log-auth-failures" value="false"/> -->',
    '    <param name="debug" value="0"/>',
    '  </settings>',
    '</profile>',
    '',
  ].join('\n');
  const r = setLogAuthFailures(xml);
  assert.equal(r.text, xml.replace('  <settings>\n', `  <settings>\n    ${PARAM}\n`));
  assertWellFormed(r.text);
});

test('freeswitch profile: only the profile\'s own <settings>, never gateways, domains or CDATA', () => {
  const xml = [
    '<profile name="p">',
    '  <gateways>',
    '    <gateway name="gw">',
    '      <param name="log-auth-failures" value="false"/>',
    '    </gateway>',
    '    <X-PRE-PROCESS cmd="include" data="gateways/*.xml"/>',
    '  </gateways>',
    '  <domains>',
    '    <domain name="all" alias="true" parse="false"/>',
    '  </domains>',
    '  <settings>',
    '    <X-PRE-PROCESS cmd="set" data="a=b"/>',
    '    <param name="note" value="x > y"><![CDATA[ <param name="log-auth-failures" value="false"/> ]]></param>',
    '    <param name="log-auth-failures" value="false"/>',
    '  </settings>',
    '  <settings>',
    '    <param name="debug" value="0"/>',
    '  </settings>',
    '</profile>',
    '',
  ].join('\n');
  const r = setLogAuthFailures(xml);
  assert.equal(r.text, xml.replace('    <param name="log-auth-failures" value="false"/>\n  </settings>', '    <param name="log-auth-failures" value="true"/>\n  </settings>'));
  assert.deepEqual(r.changes, ['profile "p": log-auth-failures set to true (was "false")']);
  assert.match(r.text, /<gateway name="gw">\n {6}<param name="log-auth-failures" value="false"\/>/);
  assertWellFormed(r.text);
});

test('freeswitch profile: files without a profile <settings> come back unchanged', () => {
  const gateway = [
    '<include>',
    '  <gateway name="provider">',
    '    <param name="username" value="u"/>',
    '    <param name="log-auth-failures" value="false"/>',
    '  </gateway>',
    '</include>',
    '',
  ].join('\n');
  assert.deepEqual(setLogAuthFailures(gateway), { text: gateway, changes: [] });
  const globalSettings = '<configuration name="sofia.conf">\n  <global_settings>\n    <param name="log-level" value="0"/>\n  </global_settings>\n  <settings/>\n</configuration>\n';
  assert.deepEqual(setLogAuthFailures(globalSettings), { text: globalSettings, changes: [] });
});

test('freeswitch profile: every profile of a sofia.conf.xml-style file is handled', () => {
  const xml = '<configuration name="sofia.conf">\n  <profiles>\n    <profile name="a">\n      <settings>\n        <param name="debug" value="0"/>\n      </settings>\n    </profile>\n    <profile name="b">\n      <settings>\n        <param name=\'log-auth-failures\' value=\'off\' />\n      </settings>\n    </profile>\n  </profiles>\n</configuration>\n';
  const r = setLogAuthFailures(xml);
  assert.equal(
    r.text,
    xml
      .replace('<profile name="a">\n      <settings>\n', `<profile name="a">\n      <settings>\n        ${PARAM}\n`)
      .replace("value='off'", "value='true'"),
  );
  assert.deepEqual(r.changes, [
    `profile "a": added ${PARAM} to <settings>`,
    'profile "b": log-auth-failures set to true (was "off")',
  ]);
  assertWellFormed(r.text);
});

test('freeswitch profile: truthy values are left alone; a param without value gets one', () => {
  const yes = '<profile name="p">\n  <settings>\n    <param name="log-auth-failures" value="yes"/>\n  </settings>\n</profile>\n';
  assert.deepEqual(setLogAuthFailures(yes), { text: yes, changes: [] });
  const bare = '<profile name="p">\n  <settings>\n    <param name="log-auth-failures"/>\n  </settings>\n</profile>\n';
  const r = setLogAuthFailures(bare);
  assert.equal(r.text, bare.replace('"log-auth-failures"/>', '"log-auth-failures" value="true"/>'));
  assertWellFormed(r.text);
});

test('freeswitch profile: CRLF files keep CRLF; empty <settings> indents one level deeper', () => {
  const lf = profile('external.xml');
  const r = setLogAuthFailures(lf.replace(/\n/g, '\r\n'));
  assert.equal(r.text, setLogAuthFailures(lf).text.replace(/\n/g, '\r\n'));
  const empty = '<profile name="p">\n\t<settings>\n\t</settings>\n</profile>';
  assert.equal(setLogAuthFailures(empty).text, `<profile name="p">\n\t<settings>\n\t  ${PARAM}\n\t</settings>\n</profile>`);
});

test('freeswitch profile: a document that is not well-formed is refused, not edited', () => {
  assert.throws(() => setLogAuthFailures('<profile name="p">\n  <settings>\n  <!-- open comment\n</profile>\n'), /not well-formed/);
  assert.throws(() => setLogAuthFailures('<profile name="p">\n  <settings>\n</profile>\n'), /not well-formed/);
});
