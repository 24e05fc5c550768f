/**
 * Finnish personal identity number (henkilötunnus): DDMMYY, a century sign, a three-digit
 * individual number and a check character. Since 2023 the century signs include Y X W V U (1900s)
 * and B C D E F (2000s) besides `+`, `-` and `A` (https://dvv.fi/en/personal-identity-code).
 * The one implementation: subscriber input, masking and the reveal endpoint all use it.
 */
const CENTURY: Record<string, number> = {
  '+': 1800,
  '-': 1900,
  Y: 1900,
  X: 1900,
  W: 1900,
  V: 1900,
  U: 1900,
  A: 2000,
  B: 2000,
  C: 2000,
  D: 2000,
  E: 2000,
  F: 2000,
};
const CHECK_CHARS = '0123456789ABCDEFHJKLMNPRSTUVWXY';
const FORMAT = /^(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-Y])$/;

/** The canonical (upper-case) identity number, or null when the format, date or check fails. */
export function parseHetu(input: string): string | null {
  const value = input.trim().toUpperCase();
  const m = FORMAT.exec(value);
  if (!m) return null;
  const [, dd, mm, yy, sign, individual, check] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const year = CENTURY[sign]! + Number(yy);
  const month = Number(mm);
  const day = Number(dd);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  // 000 and 001 are never issued.
  if (Number(individual) < 2) return null;
  const expected = CHECK_CHARS[Number(`${dd}${mm}${yy}${individual}`) % 31];
  return expected === check ? value : null;
}

export const isValidHetu = (input: string): boolean => parseHetu(input) !== null;

/** Only the check character stays visible: enough to tell two numbers apart on a call. */
export function maskHetu(hetu: string): string {
  return `******-***${hetu.slice(-1)}`;
}

export const MASKED_HETU = /^\*{6}-\*{3}[0-9A-Y]$/;
