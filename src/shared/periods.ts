import { badRequest } from './errors.js';

/**
 * Calendar arithmetic for legal periods. GDPR Art. 12(3) counts in months; Regulation 1182/71
 * Art. 3(2)(c) says a period of months ends on the same day of the last month, or on that month's
 * last day when it has no such day (31 January + 1 month = 28/29 February).
 */
export function addMonthsUtc(date: Date, months: number): Date {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const d = new Date(date);
  d.setUTCFullYear(y, m, Math.min(date.getUTCDate(), lastDay));
  return d;
}

/**
 * Requests are received and answered in Finland, so their days are Helsinki days: a letter
 * opened at 00:30 on 1 February is due on 1 March even though it is still 31 January in UTC.
 */
export const REGISTER_TIME_ZONE = 'Europe/Helsinki';
const dayFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: REGISTER_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** `YYYY-MM-DD` of the register's calendar day at this instant. */
export function registerDay(at: Date): string {
  return dayFormat.format(at);
}

/**
 * Due day of a data-subject request: one calendar month after the day of receipt. Not moved off
 * weekends or holidays (1182/71 Art. 3(4) would allow it): answering earlier is always lawful.
 */
export function dueDay(receivedAt: Date): string {
  const [y, m, d] = registerDay(receivedAt).split('-').map(Number) as [number, number, number];
  return addMonthsUtc(new Date(Date.UTC(y, m - 1, d)), 1)
    .toISOString()
    .slice(0, 10);
}

export const INTERVAL_UNITS = ['minutes', 'hours', 'days', 'weeks', 'months'] as const;
export type IntervalUnit = (typeof INTERVAL_UNITS)[number];
export interface Interval {
  count: number;
  unit: IntervalUnit;
}

const UNIT_MS: Record<Exclude<IntervalUnit, 'months'>, number> = {
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
  weeks: 7 * 86_400_000,
};

/** `6 months`, `1 month`, `90 days`, `12h`… The unit may be singular or abbreviated. */
export function parseInterval(text: string): Interval {
  const m = /^\s*(\d{1,4})\s*([a-z]+)\s*$/i.exec(text);
  const aliases: Record<string, IntervalUnit> = {
    min: 'minutes',
    m: 'minutes',
    h: 'hours',
    d: 'days',
    w: 'weeks',
    mo: 'months',
  };
  const word = m?.[2]!.toLowerCase() ?? '';
  const unit =
    aliases[word] ?? INTERVAL_UNITS.find((u) => u === word || u === `${word}s`) ?? undefined;
  const count = Number(m?.[1]);
  if (!m || !unit || count < 1)
    throw badRequest(`"${text}" is not an interval such as "6 months" or "30 days"`);
  return { count, unit };
}

export function addInterval(date: Date, iv: Interval, sign: 1 | -1 = 1): Date {
  if (iv.unit === 'months') return addMonthsUtc(date, sign * iv.count);
  return new Date(date.getTime() + sign * iv.count * UNIT_MS[iv.unit]);
}

export const formatInterval = (iv: Interval): string => `${iv.count} ${iv.unit}`;
