import type { CookieOptions, Request } from 'express';

/** The admin app's session; its value is a random id whose hash names a staff_sessions row. */
export const SESSION_COOKIE = 'kirje_session';

/** One cookie from the Cookie header; no parser dependency for the one cookie we read. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim() || undefined;
  }
  return undefined;
}

/**
 * HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure on https. No
 * Expires: the server ends sessions itself (idle and absolute), and the browser drops the cookie
 * when it closes; an expiry date would also depend on the browser's clock agreeing with ours.
 */
export function sessionCookieOptions(secure: boolean): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', secure, path: '/' };
}
