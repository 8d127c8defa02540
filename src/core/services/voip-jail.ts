/**
 * The keys of a VoIP jail: its filter, SIP ports, every protocol (a scanner floods UDP and TCP),
 * the all-ports ban, and its log source (files, or the journal when `logpath` is null).
 */
export function voipJailKeys(protocol: string, filter: string, logpath: string[] | null, port = '5060,5061'): Array<[string, string]> {
  return [
    ['enabled', 'true'],
    ['filter', filter],
    ['port', port],
    ['protocol', protocol],
    ['banaction', '%(banaction_allports)s'],
    ...(logpath ? ([['logpath', logpath.join('\n')], ['backend', 'auto']] as Array<[string, string]>) : ([['backend', 'systemd']] as Array<[string, string]>)),
  ];
}
