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
