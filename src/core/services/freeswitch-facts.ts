import path from 'node:path';
import type { HostProbe } from '../probe.ts';
import { FREESWITCH_PID_FILES, freeswitchCommandLine, freeswitchEventSocket } from './freeswitch-conf.ts';

/** Where FreeSWITCH is and how it logs. Paths are target paths (under the root). */
export interface FreeswitchFacts {
  present: boolean;
  running: boolean;
  configDir: string;
  logFile: string;
  profiles: string[];
  /**
   * The running FreeSWITCH's console (absent in facts built by older tests; null when none runs):
   * its fs_cli (beside its program, root's alone; null otherwise) and its event socket
   * (event_socket.conf.xml: listen-ip, listen-port; the password only as "is it fs_cli's default").
   */
  console?: { fsCli: string | null; host: string; port: number; defaultPassword: boolean } | null;
}

export const FREESWITCH_ABSENT: FreeswitchFacts = { present: false, running: false, configDir: '/etc/freeswitch', logFile: '/var/log/freeswitch/freeswitch.log', profiles: [] };

/**
 * FreeSWITCH as it runs: its pid file in its run directory (packaged: /run/freeswitch; source
 * builds: <prefix>/run or <prefix>/var/run/freeswitch), then its command line (-conf, -log, -base)
 * says where its configuration and log really are, its program gives fs_cli beside it, and
 * event_socket.conf.xml how fs_cli reaches its console.
 */
export async function probeFreeswitch(p: HostProbe): Promise<FreeswitchFacts> {
  const pid = await p.livePid(FREESWITCH_PID_FILES);
  const where = pid !== null ? freeswitchCommandLine(await p.commandLine(pid)) : {};
  const fsConfigDir = where.configDir ?? (await p.firstExisting(['/etc/freeswitch', '/usr/local/freeswitch/conf', '/opt/freeswitch/etc/freeswitch'])) ?? '/etc/freeswitch';
  const fsLogFile = where.logDir
    ? `${where.logDir}/freeswitch.log`
    : ((await p.firstExisting(['/var/log/freeswitch/freeswitch.log', '/usr/local/freeswitch/log/freeswitch.log'])) ??
      (fsConfigDir.startsWith('/usr/local') ? '/usr/local/freeswitch/log/freeswitch.log' : '/var/log/freeswitch/freeswitch.log'));
  const profiles = (await p.list(`${fsConfigDir}/sip_profiles`)).filter((n) => n.endsWith('.xml')).map((n) => `${fsConfigDir}/sip_profiles/${n}`);
  const program = pid !== null ? await p.program(pid, 'freeswitch') : null;
  const socket = freeswitchEventSocket(await p.read(`${fsConfigDir}/autoload_configs/event_socket.conf.xml`));
  return {
    present: pid !== null || (await p.firstExisting([`${fsConfigDir}/freeswitch.xml`, '/usr/bin/freeswitch', '/usr/local/freeswitch/bin/freeswitch'])) !== null,
    running: pid !== null,
    configDir: fsConfigDir,
    logFile: fsLogFile,
    profiles,
    console: pid !== null ? { fsCli: program ? await p.rootsAlone(path.posix.join(path.posix.dirname(program), 'fs_cli')) : null, ...socket } : null,
  };
}
