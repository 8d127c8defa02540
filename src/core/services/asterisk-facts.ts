import type { HostProbe } from '../probe.ts';
import { distroFromLoggerConf, type PbxDistro } from '../pbx-distro.ts';
import { loggerIncludes } from '../editors/asterisk-logger.ts';
import { asteriskDirectories } from './asterisk-conf.ts';

/** Where Asterisk is and how it logs. Paths are target paths (under the root). */
export interface AsteriskFacts {
  present: boolean;
  running: boolean;
  configDir: string;
  logDir: string;
  /** astrundir of asterisk.conf (its control socket and pid file); absent in facts built by older tests. */
  runDir?: string;
  /** The running Asterisk's program (from its process), to reach its console: null when none runs. */
  binary?: string | null;
  /** The files logger.conf pulls in (#include / #tryinclude), resolved, in order (absent: none). */
  loggerIncludes?: string[];
  /** The distribution that wrote logger.conf (its header says so), or null. */
  generatedBy?: PbxDistro | null;
}

export const ASTERISK_ABSENT: AsteriskFacts = { present: false, running: false, configDir: '/etc/asterisk', logDir: '/var/log/asterisk' };

/**
 * Asterisk on this host: asterisk.conf's [directories] say where it logs and runs; it runs when
 * its astrundir's pid file names a live process and its control socket is there; its program
 * (root's alone) reaches its console; logger.conf's includes are followed (includes of includes).
 */
export async function probeAsterisk(p: HostProbe): Promise<AsteriskFacts> {
  const configDir = '/etc/asterisk';
  const dirs = asteriskDirectories((await p.read(`${configDir}/asterisk.conf`)) ?? '');
  const logDir = dirs.astlogdir ?? '/var/log/asterisk';
  const runDir = dirs.astrundir ?? '/var/run/asterisk';
  const pid = await p.livePid([`${runDir}/asterisk.pid`]);
  const running = pid !== null && (await p.exists(`${runDir}/asterisk.ctl`));
  // Facts only: a file the safe reader refuses (a link a service account planted) tells nothing
  // here; whatever must read it later refuses it there, with the reason.
  const readText = (f: string): Promise<string | null> => p.read(f).catch(() => null);
  const loggerConf = await readText(`${configDir}/logger.conf`);
  const includes: string[] = [];
  const follow = async (text: string | null, depth: number): Promise<void> => {
    if (text === null || depth > 3) return;
    for (const inc of loggerIncludes(text, configDir)) {
      if (includes.includes(inc.path)) continue;
      includes.push(inc.path);
      await follow(await readText(inc.path), depth + 1);
    }
  };
  await follow(loggerConf, 0);
  return {
    present: (await p.firstExisting([`${configDir}/asterisk.conf`, '/usr/sbin/asterisk'])) !== null,
    running,
    configDir,
    logDir,
    runDir,
    binary: running ? await p.program(pid!, 'asterisk') : null,
    loggerIncludes: includes,
    generatedBy: distroFromLoggerConf(loggerConf),
  };
}
