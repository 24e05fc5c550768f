import { useState, type FormEvent } from 'react';
import { api, messageOf, type ApiError } from '../api/client';
import { useT } from '../i18n';
import type { Me } from '../session';
import { TextField } from '../components/fields';
import { ErrorText } from '../ui';

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
        <TextField
          label={t.email}
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={setEmail}
        />
        <TextField
          label={t.password}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={setPassword}
        />
        {needsCode ? (
          <TextField
            label={t.code}
            autoComplete="one-time-code"
            autoFocus
            required
            value={code}
            onChange={setCode}
          />
        ) : null}
        <ErrorText message={error} />
        <button type="submit" className="primary" disabled={busy}>
          {t.signIn}
        </button>
      </form>
    </main>
  );
}
