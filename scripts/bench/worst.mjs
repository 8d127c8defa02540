// Worst-case lines: one 64 KiB line per regex of our filters, built from long runs of what that
// regex's wildcards consume (and, for the stock filters, against their lazy ".*?" parts), each
// ending so that the regex must FAIL (or match only at the very end): every backtracking path is
// explored. Each line carries a real leading date so that fail2ban applies the filter to it.
export const SIZE = 64 * 1024;

/** `head` + as many `unit`s as fit + `tail`, exactly SIZE characters (ASCII). */
function fill(head, unit, tail, tail2 = '') {
  const room = SIZE - head.length - tail.length - tail2.length;
  let body = unit.repeat(Math.floor(room / unit.length));
  body += 'x'.repeat(room - body.length);
  return head + body + tail + tail2;
}

/** Two runs (before and after a fixed middle) sharing the room equally. */
function fill2(head, unitA, middle, unitB, tail) {
  const room = SIZE - head.length - middle.length - tail.length;
  const half = Math.floor(room / 2);
  const a = unitA.repeat(Math.floor(half / unitA.length));
  const bRoom = room - a.length;
  let b = unitB.repeat(Math.floor(bRoom / unitB.length));
  b += 'x'.repeat(bRoom - b.length);
  return head + a + middle + b + tail;
}

const AST = '[2024-01-02 03:04:05] NOTICE[1234] chan_sip.c: ';
const AST_SEC = '[2024-01-02 03:04:05] SECURITY[1235] res_security_log.c: ';
const AST_PJ = '[2024-01-02 03:04:05] NOTICE[1234] res_pjsip/pjsip_distributor.c: ';
const FS = '2024-01-02 03:04:05.123456 [WARNING] sofia_reg.c:1792 ';
const KAM = 'Jan  2 03:04:05 sip1 /usr/sbin/kamailio[4321]: ALERT: <script>: ';
const KAMW = 'Jan  2 03:04:05 sip1 /usr/sbin/kamailio[4321]: WARNING: ';

/**
 * Cases: service, what the line targets, the filters to run it with (ours and the stock
 * reference; `null` where there is no stock filter), and the line.
 */
export function worstCases() {
  const ast = { ours: 'voip-asterisk', stock: 'asterisk' };
  const fs = { ours: 'voip-freeswitch', stock: 'freeswitch[mode=normal]' };
  const fsAggr = { ours: 'voip-freeswitch[mode=aggressive]', stock: 'freeswitch[mode=extra]' };
  const kam = { ours: 'voip-kamailio', stock: null };
  return [
    // ---- Asterisk
    { service: 'asterisk', target: "prefix: no ':' after the level (stock [^:]+)", ...ast,
      line: fill('[2024-01-02 03:04:05] NOTICE[1234] ', 'a b ', ' end') },
    { service: 'asterisk', target: "prefix: many 'x:1 in y:' fragments", ...ast,
      line: fill('[2024-01-02 03:04:05] NOTICE[1234] ', 'x:1 in y:', ' end') },
    { service: 'asterisk', target: "Registration '.*' (runs of \"' failed for '<addr>' - Wrong password\")", ...ast,
      line: fill(`${AST}Registration from '`, "' failed for '198.51.100.1' - Wrong password ", "' failed for '198.51.100.1' - Wrong password!") },
    { service: 'asterisk', target: "Call from: _call_nomark, many \"'\" fragments", ...ast,
      line: fill2(`${AST}Call from '`, "a'b", "' (198.51.100.1:5060) to extension '", "c'd", "' rejected because extension not found in context 'default'!") },
    { service: 'asterisk', target: "Call from: many forged \"' (<addr>:<port>) to extension '\" markers", ...ast,
      line: fill(`${AST}Call from '`, "' (198.51.100.1:5060) to extension '", "' rejected because extension not found in context 'default'!") },
    { service: 'asterisk', target: 'Host <addr> failed: digits/dots run', ...ast,
      line: fill(`${AST}Host `, '1.2.3.4.', ' failed to authenticate as x') },
    { service: 'asterisk', target: "No registration '.*' (runs of \"' (from <addr>)\")", ...ast,
      line: fill(`${AST}No registration for peer '`, "' (from 198.51.100.1)x", "' (from 198.51.100.1)!") },
    { service: 'asterisk', target: "hacking attempt '<addr>': digits run", ...ast,
      line: fill(`${AST}hacking attempt detected '`, '1234567890', "'") },
    { service: 'asterisk', target: 'Rejecting unknown SIP connection: hex/colon run', ...ast,
      line: fill(`[2024-01-02 03:04:05] WARNING[8447][C-00000244] Ext. s: "Rejecting unknown SIP connection from `, 'a:', '"!') },
    { service: 'asterisk', target: "PJSIP: _pj_nomark, many \"'\" fragments (From and Call-ID)", ...ast,
      line: fill2(`${AST_PJ}Request 'REGISTER' from '`, "a'b", "' failed for '198.51.100.1:5060' (callid: ", "c'd", ') - Failed to authenticate!') },
    { service: 'asterisk', target: "PJSIP: method '\\S+' with many \"'\"", ...ast,
      line: fill(`${AST_PJ}Request '`, "x'", "' from '' failed for '198.51.100.1:5060' (callid: c) - Failed to authenticate!") },
    { service: 'asterisk', target: "PJSIP: many forged \"' failed for '<addr>' (callid: \" markers, no ')' (stock .*? + [^)]*)", ...ast,
      line: fill(`${AST_PJ}Request from '`, "' failed for '198.51.100.1:5060' (callid: x", ' - Failed to authenticate!') },
    { service: 'asterisk', target: 'SecurityEvent: _sec_norem, many \',k="v"\' fields', ...ast,
      line: fill2(`${AST_SEC}SecurityEvent="InvalidPassword"`, ',k="v"', ',RemoteAddress="IPV4/UDP/198.51.100.1/5060"', ',k="v"', ',Challenge="1"!"') },
    { service: 'asterisk', target: 'SecurityEvent: many RemoteAddress fields (stock .*?)', ...ast,
      line: fill(`${AST_SEC}SecurityEvent="InvalidPassword"`, ',RemoteAddress="IPV4/UDP/198.51.100.1/5060",k="v', '"!') },
    { service: 'asterisk', target: 'SecurityEvent: comma run (no quotes)', ...ast,
      line: fill(`${AST_SEC}SecurityEvent="InvalidPassword"`, ',', ',RemoteAddress="IPV4/UDP/198.51.100.1/x"') },
    // ---- FreeSWITCH
    { service: 'freeswitch', target: 'prefix: whitespace run after the date', ...fs,
      line: fill('2024-01-02 03:04:05.123456', ' ', '[WARNING] sofia_reg.c:1 x') },
    { service: 'freeswitch', target: "prefix: many 'host freeswitch[1]: ' fragments", ...fs,
      line: fill('2024-01-02 03:04:05.123456 ', 'h freeswitch[1]: ', '[WARNING] sofia_reg.c:1 x') },
    { service: 'freeswitch', target: "Can't find user [.*] (runs of '] from <addr> ')", ...fs,
      line: fill(`${FS}Can't find user [`, '] from 198.51.100.1 ', '] from 198.51.100.1!') },
    { service: 'freeswitch', target: 'SIP auth failure [.*] (runs of \'] from ip <addr> \')', ...fs,
      line: fill(`${FS}SIP auth failure (REGISTER) on sofia profile 'internal' for [`, '] from ip 198.51.100.1 ', '] from ip 198.51.100.1!') },
    { service: 'freeswitch', target: 'SIP auth failure: \'[^\\]]*\' run of \'[\' (stock)', ...fs,
      line: fill(`${FS}SIP auth failure (REGISTER) on sofia profile 'internal' for [`, '[a', ' from ip 198.51.100.1!') },
    { service: 'freeswitch', target: 'SIP auth challenge [.*] (aggressive / stock extra)', ...fsAggr,
      line: fill(`${FS}SIP auth challenge (REGISTER) on sofia profile 'internal' for [`, '] from ip 198.51.100.1 ', '] from ip 198.51.100.1!') },
    // ---- Kamailio (no stock filter)
    { service: 'kamailio', target: "log_prefix {...}: many '}x' fragments", ...kam,
      line: fill(`${KAMW}{`, '}x', '} voip-f2b: auth failure src=198.51.100.1 port=5060 method=REGISTER user=u rc=-1!') },
    { service: 'kamailio', target: "pike '.*' (runs of '(IP:<addr>:<port>)')", ...kam,
      line: fill(`${KAM}ALERT: pike blocking INVITE from `, '(IP:198.51.100.1:5060)x', '(IP:198.51.100.1:5060)!') },
    { service: 'kamailio', target: 'Pike block from <addr>: digits/dots run', ...kam,
      line: fill(`${KAM}Pike block from `, '1.2.3.4.', '!') },
    { service: 'kamailio', target: 'voip-f2b auth failure: long method= and user= runs', ...kam,
      line: fill2(`${KAMW}voip-f2b: auth failure src=198.51.100.1 port=5060 method=`, 'M', ' user=', 'u', ' rc=-1!') },
    { service: 'kamailio', target: 'prefix: whitespace run', ...kam,
      line: fill('Jan  2 03:04:05', ' ', 'sip1 kamailio[1]: Pike block from 198.51.100.1!') },
  ];
}
