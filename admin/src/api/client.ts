import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

/**
 * The one way the app talks to the server: typed from the OpenAPI document the server serves
 * (schema.d.ts is generated in the build), same origin, session cookie plus CSRF header.
 */
let csrfToken: string | null = null;
let onSignedOut: () => void = () => undefined;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && csrfToken) request.headers.set('X-CSRF-Token', csrfToken);
    return request;
  },
  onResponse({ response, request }) {
    // An ended session answers 401 anywhere but at sign-in itself.
    if (response.status === 401 && !request.url.endsWith('/api/v1/session')) onSignedOut();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '' });
api.use(session);

export interface ApiError {
  error: { code: string; message: string; totpRequired?: boolean };
}

/** The error message of a failed call, for showing next to the form that made it. */
export function messageOf(error: unknown): string {
  const e = error as Partial<ApiError> | undefined;
  return e?.error?.message ?? String(error);
}

/** Multipart upload with progress (fetch cannot report upload progress). */
export function upload<T>(
  url: string,
  form: FormData,
  onProgress: (fraction: number) => void,
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => resolve({ status: xhr.status, body: JSON.parse(xhr.responseText) as T });
    xhr.onerror = () => reject(new Error('network error'));
    xhr.send(form);
  });
}
