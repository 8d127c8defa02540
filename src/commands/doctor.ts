/**
 * The `doctor` command. doctor itself lives in src/doctor/ (run.ts gathers, jail.ts checks one
 * jail, report.ts holds the report, its verdicts and its text).
 */
import type { Context } from '../context.ts';
import { runDoctor } from '../doctor/run.ts';
import type { DoctorOptions, DoctorReport } from '../core/doctor/report.ts';

/** `doctor [jail]`: see src/doctor/run.ts. */
export function doctor(options: DoctorOptions, ctx: Context): Promise<DoctorReport> {
  return runDoctor(options, ctx);
}
