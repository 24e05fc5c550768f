import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf } from '../api/client';
import type { Answer, QueryOf } from '../api/types';
import { useT, type Locale } from '../i18n';
import { useSession } from '../session';
import { DataTable } from '../components/DataTable';
import { useCursorPages } from '../components/paging';
import { CheckField, plainChoices, SelectField, TextField } from '../components/fields';
import { ErrorText, Status } from '../ui';

type User = Answer<'/api/v1/users'>['items'][number];
type UserQuery = QueryOf<'/api/v1/users'>;
const PAGE_SIZE = '50';
const fetchPage = (query: UserQuery) => api.GET('/api/v1/users', { params: { query } });
type Token = Answer<'/api/v1/users/{id}/tokens'>['items'][number];
const ROLES = ['admin', 'marketing', 'sales', 'auditor'] as const;

/** Staff accounts and their API tokens (admins). */
export function UsersScreen() {
  const t = useT();
  const {
    page,
    error: pageError,
    pager,
    reload: load,
  } = useCursorPages<UserQuery, User>({ limit: PAGE_SIZE }, fetchPage);
  const [draft, setDraft] = useState({
    email: '',
    name: '',
    role: 'marketing' as User['role'],
    password: '',
  });
  const [selected, setSelected] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function create(e: FormEvent) {
    e.preventDefault();
    const { error: failure } = await api.POST('/api/v1/users', {
      body: { ...draft, ...(draft.password ? {} : { password: undefined }) },
    });
    setError(failure ? messageOf(failure) : null);
    if (!failure) setDraft({ email: '', name: '', role: 'marketing', password: '' });
    load();
  }
  async function update(user: User, patch: { role?: User['role']; disabled?: boolean }) {
    const { error: failure } = await api.PATCH('/api/v1/users/{id}', {
      params: { path: { id: user.id } },
      body: patch,
    });
    setError(failure ? messageOf(failure) : null);
    load();
  }

  return (
    <>
      <h1>{t.users}</h1>
      <ErrorText message={error ?? pageError} />
      <DataTable
        caption={t.users}
        rows={page?.items ?? null}
        rowKey={(u) => u.id}
        columns={[
          { header: t.email, cell: (u) => u.email },
          {
            header: t.role,
            cell: (u) => (
              <select
                aria-label={`${t.role}: ${u.email}`}
                value={u.role}
                onChange={(e) => void update(u, { role: e.target.value as User['role'] })}
              >
                {ROLES.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            ),
          },
          { header: t.twoFactor, cell: (u) => (u.totpEnabled ? t.twoFactorOn : t.twoFactorOff) },
          {
            header: t.status,
            cell: (u) => (
              <CheckField
                label={t.disabled}
                checked={u.disabled}
                onChange={(disabled) => void update(u, { disabled })}
              />
            ),
          },
          {
            header: t.tokens,
            cell: (u) => (
              <button type="button" onClick={() => setSelected(u)}>
                {t.tokens}
                <span className="visually-hidden"> {u.email}</span>
              </button>
            ),
          },
        ]}
      />
      {pager}
      {selected ? <Tokens user={selected} /> : null}
      <form className="panel" onSubmit={(e) => void create(e)} aria-labelledby="new-user">
        <h2 id="new-user">{t.create}</h2>
        <TextField
          label={t.email}
          type="email"
          required
          value={draft.email}
          onChange={(email) => setDraft({ ...draft, email })}
        />
        <TextField
          label={t.name}
          value={draft.name}
          onChange={(name) => setDraft({ ...draft, name })}
        />
        <SelectField
          label={t.role}
          value={draft.role}
          choices={plainChoices(ROLES)}
          onChange={(role) => setDraft({ ...draft, role })}
        />
        <TextField
          label={t.password}
          type="password"
          autoComplete="new-password"
          minLength={12}
          value={draft.password}
          onChange={(password) => setDraft({ ...draft, password })}
        />
        <button type="submit" className="primary">
          {t.create}
        </button>
      </form>
    </>
  );
}

function Tokens({ user }: { user: User }) {
  const t = useT();
  const [tokens, setTokens] = useState<Token[]>([]);
  const [shown, setShown] = useState<string | null>(null);
  const path = { params: { path: { id: user.id } } };
  const load = () =>
    void api
      .GET('/api/v1/users/{id}/tokens', path)
      .then(({ data }) => setTokens(data?.items ?? []));
  useEffect(load, [user.id]);
  return (
    <section className="panel" aria-labelledby="tokens-title">
      <h2 id="tokens-title">
        {t.tokens}: {user.email}
      </h2>
      <ul className="plain">
        {tokens.map((tk) => (
          <li key={tk.id}>
            {tk.name} {tk.revokedAt ? `(${t.revoke})` : ''}{' '}
            {!tk.revokedAt ? (
              <button
                type="button"
                onClick={() =>
                  void api
                    .DELETE('/api/v1/tokens/{id}', { params: { path: { id: tk.id } } })
                    .then(load)
                }
              >
                {t.revoke} <span className="visually-hidden">{tk.name}</span>
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      <button
        type="button"
        onClick={() =>
          void api.POST('/api/v1/users/{id}/tokens', { ...path, body: {} }).then(({ data }) => {
            setShown(data?.token ?? null);
            load();
          })
        }
      >
        {t.newToken}
      </button>
      {shown ? (
        <p>
          {t.tokenShownOnce} <code className="secret">{shown}</code>
        </p>
      ) : null}
    </section>
  );
}

/** The signed-in person's language, second factor and sessions. */
export function AccountScreen() {
  const t = useT();
  const { me, refresh, signOut } = useSession();
  const [password, setPassword] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function setLocale(locale: Locale) {
    await api.PATCH('/api/v1/me', { body: { locale } });
    await refresh();
  }
  async function begin(e: FormEvent) {
    e.preventDefault();
    const { data, error: failure } = await api.POST('/api/v1/me/totp', { body: { password } });
    setError(failure ? messageOf(failure) : null);
    if (data) setSecret(data.secret);
  }
  async function confirm(e: FormEvent) {
    e.preventDefault();
    const { data, error: failure } = await api.POST('/api/v1/me/totp/confirm', { body: { code } });
    setError(failure ? messageOf(failure) : null);
    if (data) setRecovery(data.recoveryCodes);
  }

  return (
    <>
      <h1>{t.account}</h1>
      {me.mustEnrolTotp ? <p className="warn">{t.twoFactorRequired}</p> : null}
      <p>
        {me.email} · {me.role}
      </p>
      <SelectField<Locale>
        label={t.language}
        value={me.locale}
        choices={[
          { value: 'fi', label: 'suomi' },
          { value: 'en', label: 'English' },
        ]}
        onChange={(locale) => void setLocale(locale)}
      />
      <section className="panel" aria-labelledby="totp-title">
        <h2 id="totp-title">{t.twoFactor}</h2>
        <p>{me.totpEnabled ? t.twoFactorOn : t.twoFactorOff}</p>
        {!me.totpEnabled && !secret ? (
          <form onSubmit={(e) => void begin(e)}>
            <TextField
              label={t.password}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={setPassword}
            />
            <button type="submit">{t.twoFactorStart}</button>
          </form>
        ) : null}
        {secret && !recovery ? (
          <form onSubmit={(e) => void confirm(e)}>
            <p>
              {t.twoFactorScan} <code className="secret">{secret}</code>
            </p>
            <TextField
              label={t.code}
              inputMode="numeric"
              autoComplete="one-time-code"
              required
              value={code}
              onChange={setCode}
            />
            <button type="submit">{t.confirm}</button>
          </form>
        ) : null}
        {recovery ? (
          <>
            <p>{t.recoveryCodes}</p>
            <ul className="codes">
              {recovery.map((c) => (
                <li key={c}>
                  <code>{c}</code>
                </li>
              ))}
            </ul>
            <button type="button" onClick={() => void refresh()}>
              {t.confirm}
            </button>
          </>
        ) : null}
        <ErrorText message={error} />
      </section>
      <button type="button" onClick={() => void signOut(true)}>
        {t.signOutEverywhere}
      </button>
      <Status message={null} />
    </>
  );
}
