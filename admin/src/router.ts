import { useEffect, useState } from 'react';

/** Paths inside the app, without the /admin base: "" (overview), "lists", "subscribers/ID"… */
const BASE = '/admin/';

function current(): string {
  const path = window.location.pathname;
  return path.startsWith(BASE) ? path.slice(BASE.length).replace(/\/+$/, '') : '';
}

export function href(path: string): string {
  return BASE + path;
}

export function navigate(path: string): void {
  window.history.pushState(null, '', href(path));
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): string[] {
  const [path, setPath] = useState(current);
  useEffect(() => {
    const update = () => setPath(current());
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return path === '' ? [] : path.split('/');
}
