import { lazy, Suspense, useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, setCsrfToken, whenSignedOut } from './api/client';
import { I18n, STRINGS, useT, type TextKey } from './i18n';
import { navigate, useRoute } from './router';
import { AuditScreen } from './screens/Audit';
import { AutomationsScreen } from './screens/Automations';
import { WebhooksScreen } from './screens/Webhooks';
import { ImportScreen } from './screens/Import';
import { InboundScreen } from './screens/Inbound';
import { ListsScreen } from './screens/Lists';
import { Overview } from './screens/Overview';
import { PrivacyScreen } from './screens/Privacy';
import { SegmentsScreen } from './screens/Segments';
import { SignIn } from './screens/SignIn';
import { SubscriberScreen, SubscribersScreen } from './screens/Subscribers';
import { AccountScreen, UsersScreen } from './screens/Users';
import { Session, useSession, type Me, type Permission, type SessionState } from './session';
import { Link } from './ui';

// The editor (CodeMirror) is loaded only when a campaign is opened: it is most of the weight.
const CampaignsScreen = lazy(() => import('./screens/Campaigns'));
const TemplatesScreen = lazy(() => import('./screens/Templates'));

interface NavItem {
  path: string;
  label: TextKey;
  permission?: Permission;
}
const NAV: NavItem[] = [
  { path: '', label: 'overview' },
  { path: 'lists', label: 'lists', permission: 'lists.read' },
  { path: 'subscribers', label: 'subscribers', permission: 'subscribers.read' },
  { path: 'import', label: 'import', permission: 'subscribers.import' },
  { path: 'segments', label: 'segments', permission: 'segments.read' },
  { path: 'templates', label: 'templates', permission: 'templates.read' },
  { path: 'campaigns', label: 'campaigns', permission: 'campaigns.read' },
  { path: 'automations', label: 'automations', permission: 'automations.read' },
  { path: 'webhooks', label: 'webhooks', permission: 'webhooks.manage' },
  { path: 'inbound', label: 'inbound', permission: 'inbound.read' },
  { path: 'privacy', label: 'privacy', permission: 'privacy.read' },
  { path: 'audit', label: 'audit', permission: 'audit.read' },
  { path: 'users', label: 'users', permission: 'users.manage' },
  { path: 'account', label: 'account' },
];

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);

  const refresh = useCallback(async () => {
    const { data } = await api.GET('/api/v1/me');
    setCsrfToken(data?.csrfToken ?? null);
    setMe(data ?? null);
  }, []);

  useEffect(() => {
    whenSignedOut(() => setMe(null));
    void refresh();
  }, [refresh]);

  const strings = STRINGS[me?.locale ?? (navigator.language.startsWith('en') ? 'en' : 'fi')];
  useEffect(() => {
    document.documentElement.lang = me?.locale ?? 'fi';
  }, [me?.locale]);

  const session = useMemo<SessionState | null>(
    () =>
      me
        ? {
            me,
            can: (p) => me.permissions.includes(p),
            refresh,
            async signOut(everywhere = false) {
              await (everywhere ? api.DELETE('/api/v1/sessions') : api.DELETE('/api/v1/session'));
              setCsrfToken(null);
              setMe(null);
              navigate('');
            },
          }
        : null,
    [me, refresh],
  );

  let body: ReactNode;
  if (me === undefined) body = <p className="centre">{strings.loading}</p>;
  else if (!session)
    body = (
      <SignIn
        onSignedIn={(signedIn) => {
          setCsrfToken(signedIn.csrfToken);
          setMe(signedIn);
        }}
      />
    );
  else
    body = (
      <Session.Provider value={session}>
        <Shell />
      </Session.Provider>
    );
  return <I18n.Provider value={strings}>{body}</I18n.Provider>;
}

function Shell() {
  const route = useRoute();
  const t = useT();
  return (
    <>
      <a className="skip" href="#main">
        {t.skipToContent}
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p>{t.loading}</p>}>
          <Screen route={route} />
        </Suspense>
      </main>
    </>
  );
}

function Header() {
  const session = useSession();
  const route = useRoute();
  const t = useT();
  const [open, setOpen] = useState(false);
  return (
    <header className="top">
      <strong className="brand">{t.appName}</strong>
      <button
        type="button"
        className="menu-toggle"
        aria-expanded={open}
        aria-controls="nav"
        onClick={() => setOpen(!open)}
      >
        ☰ <span className="visually-hidden">menu</span>
      </button>
      <nav id="nav" aria-label="main" className={open ? 'open' : ''} onClick={() => setOpen(false)}>
        <ul>
          {NAV.filter((n) => !n.permission || session.can(n.permission)).map((n) => (
            <li key={n.path}>
              <Link to={n.path} current={(route[0] ?? '') === n.path}>
                {t[n.label]}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="who">
        <span>{session.me.email}</span>
        <button type="button" onClick={() => void session.signOut()}>
          {t.signOut}
        </button>
      </div>
    </header>
  );
}

function Screen({ route }: { route: string[] }) {
  const session = useSession();
  const [first, second] = route;
  if (session.me.mustEnrolTotp) return <AccountScreen />;
  switch (first) {
    case undefined:
      return <Overview />;
    case 'lists':
      return <ListsScreen />;
    case 'subscribers':
      return second ? <SubscriberScreen id={second} /> : <SubscribersScreen />;
    case 'import':
      return <ImportScreen />;
    case 'segments':
      return <SegmentsScreen />;
    case 'campaigns':
      return <CampaignsScreen id={second} />;
    case 'automations':
      return <AutomationsScreen id={second} />;
    case 'webhooks':
      return <WebhooksScreen />;
    case 'templates':
      return <TemplatesScreen id={second} />;
    case 'inbound':
      return <InboundScreen />;
    case 'privacy':
      return <PrivacyScreen />;
    case 'audit':
      return <AuditScreen />;
    case 'users':
      return <UsersScreen />;
    case 'account':
      return <AccountScreen />;
    default:
      return <Overview />;
  }
}
