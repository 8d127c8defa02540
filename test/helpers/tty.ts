import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Quotes one argument for sh (test helper only: the tool itself never builds shell strings). */
export function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

let counter = 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A program running in a real pseudo-terminal: a tmux session on a private server socket named
 * after this test process, so it never sees or touches anyone else's tmux. The command runs
 * under `sh -c`, which writes its exit code to `exitFile` and then idles so the last screen can
 * still be read; `kill()` ends the session (and its private server).
 */
export class Terminal {
  readonly name: string;
  private readonly exitFile: string;

  private constructor(name: string, exitFile: string) {
    this.name = name;
    this.exitFile = exitFile;
  }

  /**
   * Starts `argv` in a 200x50 terminal with exactly `env` (plus TERM from tmux), in `dir` (where
   * the exit code file goes).
   */
  static start(argv: string[], o: { env: Record<string, string>; dir: string; width?: number; height?: number }): Terminal {
    const name = `voip-f2b-test-${process.pid}-${++counter}`;
    const exitFile = `${o.dir}/exit-code-${counter}`;
    const script = `${argv.map(shQuote).join(' ')}; echo $? > ${shQuote(exitFile)}; sleep 120`;
    const t = new Terminal(name, exitFile);
    t.tmux(['new-session', '-d', '-s', name, '-x', String(o.width ?? 200), '-y', String(o.height ?? 50), 'sh', '-c', script], o.env);
    return t;
  }

  private tmux(args: string[], env?: Record<string, string>): string {
    const r = spawnSync('tmux', ['-L', this.name, '-f', '/dev/null', ...args], {
      encoding: 'utf8',
      env: env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      timeout: 10000,
    });
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** The visible screen as text; with `escapes`, including colour/attribute codes (capture-pane -e). */
  screen(escapes = false): string {
    return this.tmux(['capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-t', this.name]);
  }

  /** Everything printed so far, including what scrolled off the screen. */
  history(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', this.name]);
  }

  /** Waits (bounded) until the screen shows `what`; throws with the screen on timeout. */
  async waitFor(what: string | RegExp, timeoutMs = 15000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (typeof what === 'string' ? s.includes(what) : what.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(what)}; screen:\n${s}`);
      await sleep(50);
    }
  }

  /** Sends tmux key names (Enter, C-c, BSpace, Down, Space...). */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  /** Types text literally. */
  type(text: string): void {
    this.tmux(['send-keys', '-t', this.name, '-l', text]);
  }

  /** Waits (bounded) for the command to end; returns its exit code. */
  async exitCode(timeoutMs = 30000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.exitFile) || readFileSync(this.exitFile, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the program to exit; screen:\n${this.screen()}`);
      await sleep(50);
    }
    return Number(readFileSync(this.exitFile, 'utf8').trim());
  }

  /** Ends this session (by its own name) and its private tmux server. */
  kill(): void {
    spawnSync('tmux', ['-L', this.name, 'kill-session', '-t', this.name], { stdio: 'ignore', timeout: 10000 });
    spawnSync('tmux', ['-L', this.name, 'kill-server'], { stdio: 'ignore', timeout: 10000 });
  }
}
