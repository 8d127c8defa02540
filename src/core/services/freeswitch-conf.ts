/**
 * FreeSWITCH as it really runs, read from its own files and command line (pure; the adapters
 * read /proc and the files): where its pid file is, which directories its options name, how
 * fs_cli reaches its console, and what a sofia profile is called.
 */

/** Its pid file in its run directory: packaged (/run/freeswitch), source builds, /opt builds. */
export const FREESWITCH_PID_FILES = [
  '/run/freeswitch/freeswitch.pid',
  '/var/run/freeswitch/freeswitch.pid',
  '/usr/local/freeswitch/run/freeswitch.pid',
  '/usr/local/freeswitch/var/run/freeswitch/freeswitch.pid',
  '/opt/freeswitch/var/run/freeswitch/freeswitch.pid',
];

/** The password fs_cli uses when none is given (and FreeSWITCH's vanilla event socket has). */
export const FS_CLI_DEFAULT_PASSWORD = 'ClueCon';

/**
 * The directories a running FreeSWITCH's options name (`/proc/<pid>/cmdline`): `-conf` and `-log`,
 * else `-base` (FreeSWITCH then uses <base>/conf and <base>/log). Absent: its compiled-in ones.
 */
export function freeswitchCommandLine(argv: string[]): { configDir?: string; logDir?: string } {
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? argv[i + 1] : undefined;
    return v && v.startsWith('/') ? v.replace(/\/+$/, '') || '/' : undefined;
  };
  const base = opt('-base');
  const configDir = opt('-conf') ?? (base ? `${base}/conf` : undefined);
  const logDir = opt('-log') ?? (base ? `${base}/log` : undefined);
  return { ...(configDir ? { configDir } : {}), ...(logDir ? { logDir } : {}) };
}

/** A `<param name="…" value="…"/>` of an XML text (first one, outside comments), or undefined. */
function param(xml: string, name: string): string | undefined {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '');
  return new RegExp(`<param\\s+name="${name}"\\s+value="([^"]*)"`).exec(text)?.[1];
}

/**
 * How fs_cli reaches the console (autoload_configs/event_socket.conf.xml): listen-ip (a wildcard
 * is reached on loopback) and listen-port. The password is not kept: only whether it is fs_cli's
 * default, which fs_cli then needs no `-p` for (a password on a command line is seen by every
 * local user, and would be printed in the plan).
 */
export function freeswitchEventSocket(xml: string | null): { host: string; port: number; defaultPassword: boolean } {
  const ip = param(xml ?? '', 'listen-ip') ?? '127.0.0.1';
  const port = Number(param(xml ?? '', 'listen-port') ?? '8021');
  const host = ip === '::' || ip === '[::]' ? '::1' : ip === '0.0.0.0' || ip === '' || ip.includes('$') ? '127.0.0.1' : ip;
  return { host, port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 8021, defaultPassword: (param(xml ?? '', 'password') ?? FS_CLI_DEFAULT_PASSWORD) === FS_CLI_DEFAULT_PASSWORD };
}

/** A sofia profile's name (`<profile name="internal">`), which `sofia profile <name> …` takes; else the file's name. */
export function sofiaProfileName(xml: string, file: string): string {
  return /<profile\s+name="([^"]+)"/.exec(xml.replace(/<!--[\s\S]*?-->/g, ''))?.[1] ?? /([^/]+)\.xml$/.exec(file)?.[1] ?? file;
}
