import { mkdtemp, mkdir, writeFile, readFile, readdir, stat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Context } from '../../src/context.ts';
import { nodeFileSystem } from '../../src/adapters/fs.ts';
import { memoryLogger } from '../../src/adapters/log.ts';
import { noPrompter, type Prompter } from '../../src/adapters/prompt.ts';
import type { Command, RunResult, Runner } from '../../src/adapters/runner.ts';

/** A runner that records every command and answers from a script (default: success, no output). */
export type RecordingRunner = Runner & { calls: Command[]; lines: () => string[] };

export function recordingRunner(respond: (c: Command) => Partial<RunResult> | undefined = () => undefined): RecordingRunner {
  const calls: Command[] = [];
  const run = (async (c: Command) => {
    calls.push(c);
    return { exitCode: 0, stdout: '', stderr: '', ...respond(c) };
  }) as RecordingRunner;
  run.calls = calls;
  run.lines = () => calls.map((c) => [c.cmd, ...c.args].join(' '));
  return run;
}

/** Makes a temp directory holding `files` (target path → text). */
export async function tempRoot(files: Record<string, string> = {}): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'voip-f2b-test-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(path.join(root, path.dirname(p)), { recursive: true });
    await writeFile(path.join(root, p), text);
  }
  return root;
}

export async function removeRoot(root: string): Promise<void> {
  if (root.startsWith(tmpdir())) await rm(root, { recursive: true, force: true });
}

/** Every file under `root` (relative path → text), for byte-for-byte comparisons. */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) {
        out[`${r}/`] = '';
        await walk(r);
      } else out[r] = `${(await stat(path.join(root, r))).mode.toString(8)} ${await readFile(path.join(root, r), 'utf8')}`;
    }
  };
  await walk('');
  return out;
}

export function testContext(
  root: string,
  o: { run?: Runner; live?: boolean; uid?: number; env?: Record<string, string>; prompt?: Prompter; interactive?: boolean } = {},
): Context & { log: ReturnType<typeof memoryLogger> } {
  return {
    root,
    live: o.live ?? false,
    fs: nodeFileSystem(root),
    run: o.run ?? recordingRunner(),
    prompt: o.prompt ?? noPrompter(),
    log: memoryLogger(),
    env: o.env ?? {},
    dryRun: false,
    interactive: o.interactive ?? false,
    uid: o.uid ?? 0,
    now: () => new Date('2026-11-22T12:00:00Z'),
  };
}

/** Reads an os-release fixture (test/fixtures/os-release/<name>). */
export async function osRelease(name: string): Promise<string> {
  return readFile(new URL(`../fixtures/os-release/${name}`, import.meta.url), 'utf8');
}

/**
 * A live Debian 12 host simulated over a temp root: fail2ban 1.0.2 with its init script,
 * iptables and the `service` command; `extra` adds or replaces files (a jail.local, a service).
 */
export async function liveDebian12Root(extra: Record<string, string> = {}): Promise<string> {
  return tempRoot({
    '/etc/os-release': await osRelease('debian-12'),
    '/usr/bin/fail2ban-client': '',
    '/usr/lib/python3/dist-packages/fail2ban/version.py': 'version = "1.0.2"\n',
    '/usr/sbin/iptables': '',
    '/usr/sbin/service': '',
    '/etc/init.d/fail2ban': '',
    ...extra,
  });
}

/**
 * A runner answering like that host: fail2ban, iptables, ipset, pyinotify and cron installed, iptables
 * on nf_tables, and `fail2ban-client status` listing `jails`. `respond` is asked first (failures,
 * other services).
 */
export function liveDebian12Runner(jails: string[], respond: (c: Command) => Partial<RunResult> | undefined = () => undefined): RecordingRunner {
  return recordingRunner((c) => {
    const answer = respond(c);
    if (answer) return answer;
    if (c.cmd === 'dpkg-query') return { stdout: 'fail2ban installed\niptables installed\nipset installed\npython3-pyinotify installed\ncron installed\n' };
    if (c.cmd === 'iptables') return { stdout: 'iptables v1.8.9 (nf_tables)\n' };
    if (c.cmd === 'fail2ban-client' && c.args[0] === 'status') return { stdout: `Status\n|- Number of jail:\t${jails.length}\n\`- Jail list:\t${jails.join(', ')}\n` };
    return undefined;
  });
}
