import { useState, type FormEvent } from 'react';
import { api, messageOf, type ApiError } from '../api/client';
import { useT } from '../i18n';
import type { Me } from '../session';
import { ErrorText, Field } from '../ui';

export function SignIn(props: { onSignedIn(me: Me): void }) {
  const t = useT();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const { data, error: failure } = await api.POST('/api/v1/session', {
      body: { email, password, ...(needsCode && code ? { code } : {}) },
    });
    setBusy(false);
    if (data) return props.onSignedIn(data);
    if ((failure as ApiError | undefined)?.error?.totpRequired) {
      setNeedsCode(true);
      return;
    }
    setError(messageOf(failure));
  }

  return (
    <main id="main" className="signin">
      <h1>{t.signInTitle}</h1>
      <form onSubmit={(e) => void submit(e)}>
        <Field label={t.email}>
          {(id) => (
            <input
              id={id}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label={t.password}>
          {(id) => (
            <input
              id={id}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {needsCode ? (
          <Field label={t.code}>
            {(id) => (
              <input
                id={id}
                autoComplete="one-time-code"
                autoFocus
                required
                value={code}
                onChange={(e) => setCode(e.target.value)}
              />
            )}
          </Field>
        ) : null}
        <ErrorText message={error} />
        <button type="submit" className="primary" disabled={busy}>
          {t.signIn}
        </button>
      </form>
    </main>
  );
}
