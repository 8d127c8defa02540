/**
 * The registry is the only place that knows the services (issue 22): outside
 * src/core/services/<name>* and its editor, no source file names one in its code, and the
 * shared facts files (SHARED) not even in a comment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_MODULES } from '../../src/core/services/index.ts';
import type { ServiceModule } from '../../src/core/services/types.ts';
import { hostProbe } from '../../src/adapters/facts.ts';
import { factsOf } from '../../src/core/probe.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import { yate } from '../fixtures/services/yate.ts';
import { hostFacts } from '../helpers/facts.ts';
import { removeRoot, tempRoot, testContext } from '../helpers/context.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');

/** Shared source files that must name no service (paths from the repository's root). */
const SHARED = ['src/core/facts.ts', 'src/adapters/facts.ts', 'src/core/probe.ts'];

/** A module's names: its --services name, its label, and the programs its label names in parentheses. */
function namesOf(m: ServiceModule<unknown>): string[] {
  const inParens = /\(([^)]*)\)/.exec(m.label)?.[1]?.split(/[/,]\s*/) ?? [];
  return [m.name, m.label, ...inParens].filter((n) => n.length >= 3);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('no shared facts file names a service: each is known only to its module and the registry', async () => {
  const modules: Array<ServiceModule<unknown>> = [...SERVICE_MODULES, yate];
  const hits: string[] = [];
  for (const file of SHARED) {
    const text = await readFile(new URL(`../../${file}`, import.meta.url), 'utf8');
    for (const m of modules) {
      for (const name of namesOf(m)) {
        const re = new RegExp(`(?<![\\w-])${escape(name)}(?![\\w-])`, 'i');
        text.split('\n').forEach((line, i) => {
          if (re.test(line)) hits.push(`${file}:${i + 1}: ${name}: ${line.trim()}`);
        });
      }
    }
  }
  assert.deepEqual(hits, []);
});

test("every module that probes has facts for a host without it, and its probe on an empty root finds nothing there", async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12 });
  try {
    const p = hostProbe(testContext(root));
    for (const m of [...SERVICE_MODULES, yate] as Array<ServiceModule<unknown>>) {
      if (!m.probe) continue;
      assert.ok(m.absent !== undefined, `${m.name}: probe without absent facts`);
      const bare = { ...hostFacts(parseOsRelease(DEBIAN12)), services: {} };
      assert.equal(factsOf(m, bare), m.absent, `${m.name}: facts not probed are its absent facts`);
      assert.equal(m.detect(bare), false, `${m.name}: not detected from its absent facts`);
      const probed = { ...bare, services: { [m.name]: await m.probe(p) } };
      assert.equal(m.detect(probed), false, `${m.name}: detected on an empty root`);
    }
  } finally {
    await removeRoot(root);
  }
});

/**
 * Files whose code may name a service, each with why: the SSH daemon of an SSH tunnel (the web
 * view's audit log says a connection came through one) is not the sshd jail's service; a PBX
 * distribution is a bundle of services, and its notes say which of them it regenerates.
 */
const NAMES_ALLOWED: Record<string, string[]> = {
  'adapters/peer.ts': ['sshd'],
  'core/pbx-distro.ts': ['asterisk', 'Asterisk', 'FreeSWITCH'],
};

/** Source files of src/ outside the services' modules and editors. */
function sharedSources(dir: string, base: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    const r = path.relative(base, p);
    if (e.isDirectory()) return r === 'core/services' || r === 'core/editors' ? [] : sharedSources(p, base);
    return e.name.endsWith('.ts') ? [r] : [];
  });
}

/** The code of a file, comments blanked (a comment may give a service as an example). */
function codeOf(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

test('no source file outside the services\' modules and editors names a service in its code', () => {
  const src = new URL('../../src/', import.meta.url).pathname;
  const modules: Array<ServiceModule<unknown>> = [...SERVICE_MODULES, yate];
  const hits: string[] = [];
  for (const file of sharedSources(src, src)) {
    if (file === 'core/services/index.ts') continue;
    const lines = codeOf(readFileSync(path.join(src, file), 'utf8')).split('\n');
    for (const m of modules) {
      for (const name of namesOf(m)) {
        if (NAMES_ALLOWED[file]?.some((a) => a.toLowerCase() === name.toLowerCase())) continue;
        const re = new RegExp(`(?<![\\w-])${escape(name)}(?![\\w-])`, 'i');
        lines.forEach((line, i) => {
          if (re.test(line)) hits.push(`src/${file}:${i + 1}: ${name}: ${line.trim()}`);
        });
      }
    }
  }
  assert.deepEqual(hits, []);
});
