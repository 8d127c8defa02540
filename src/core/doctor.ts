/**
 * The old import path of doctor's report and checks, kept for callers not yet moved (and the
 * tests written against it). doctor lives in src/doctor/; each service's own checks live in its
 * module's files under src/core/services/. New code imports those.
 */
export * from '../doctor/report.ts';
export * from '../doctor/parse.ts';
export * from '../doctor/checks.ts';
export * from '../doctor/failures.ts';
export { asteriskLogChannels, asteriskSourceCheck, asteriskTwinned } from './services/asterisk-doctor.ts';
export { freeswitchLogFile, freeswitchSourceCheck } from './services/freeswitch-doctor.ts';
export { kamailioSourceCheck, rsyslogTarget } from './services/kamailio-doctor.ts';
