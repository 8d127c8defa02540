import type { HostProbe } from '../probe.ts';

/** A web server (the PBX's web panel behind it) and the log files it writes now. */
export interface WebServerFacts {
  present: boolean;
  logDir: string;
  /** Access logs found in logDir (empty: none written yet). */
  accessLogs: string[];
  /** Error logs found in logDir (empty: none written yet). */
  errorLogs: string[];
}

/** Apache and nginx, for the web-panel module. */
export interface WebPanelFacts {
  apache: WebServerFacts;
  nginx: WebServerFacts;
}

const NONE: WebServerFacts = { present: false, logDir: '', accessLogs: [], errorLogs: [] };
export const WEB_PANEL_ABSENT: WebPanelFacts = { apache: NONE, nginx: NONE };

/** Apache (Debian's apache2, else RHEL's httpd) and nginx, and the logs each writes now. */
export async function probeWebPanel(p: HostProbe): Promise<WebPanelFacts> {
  /** A web server's logs: the files in its log directory that are current access/error logs (not rotated ones). */
  const webServer = async (present: boolean, logDir: string): Promise<WebServerFacts> => {
    const names = present ? (await p.list(logDir)).sort() : [];
    return {
      present,
      logDir,
      accessLogs: names.filter((n) => /access(?:\.log|_log)$/.test(n)).map((n) => `${logDir}/${n}`),
      errorLogs: names.filter((n) => /error(?:\.log|_log)$/.test(n)).map((n) => `${logDir}/${n}`),
    };
  };
  const apacheDebian = (await p.firstExisting(['/usr/sbin/apache2', '/etc/apache2/apache2.conf'])) !== null;
  const apacheRhel = !apacheDebian && (await p.firstExisting(['/usr/sbin/httpd', '/etc/httpd/conf/httpd.conf'])) !== null;
  const nginxPresent = (await p.firstExisting(['/usr/sbin/nginx', '/etc/nginx/nginx.conf'])) !== null;
  return {
    apache: await webServer(apacheDebian || apacheRhel, apacheRhel ? '/var/log/httpd' : '/var/log/apache2'),
    nginx: await webServer(nginxPresent, '/var/log/nginx'),
  };
}
