import { createContext, useContext } from 'react';
import type { components, paths } from './api/schema';

export type Me = paths['/api/v1/me']['get']['responses']['200']['content']['application/json'];
export type Permission = Me['permissions'][number];
export type Schemas = components['schemas'];

export interface SessionState {
  me: Me;
  /** Whether the role may; the server refuses anyway, the app only hides. */
  can(permission: Permission): boolean;
  refresh(): Promise<void>;
  signOut(everywhere?: boolean): Promise<void>;
}

export const Session = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const session = useContext(Session);
  if (!session) throw new Error('useSession outside a signed-in view');
  return session;
}
