/**
 * The old import path of the watch's pure half, kept for callers not yet moved (and the tests
 * written against it). The watch lives in src/doctor/watch.ts, beside doctor.
 */
export * from '../doctor/watch.ts';
