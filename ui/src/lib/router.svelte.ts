//! Hash routes (`#/household/ID`), so deep links work in the browser host and
//! in the Tauri webview alike.

export type Route =
  | { name: 'villages' }
  | { name: 'village'; id: string }
  | { name: 'household'; id: string }
  | { name: 'visit'; id: string }
  | { name: 'run'; id: string }
  | { name: 'sync' }
  | { name: 'lead' }
  | { name: 'settings' }
  | { name: 'enrol' }
  | { name: 'welcome' }
  | { name: 'not_found'; path: string };

/** Reads `#/household/ID/visit` and friends. */
export function parseHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const parts = path.split('/').filter((p) => p !== '').map((p) => decodeURIComponent(p));
  const [head, id, tail] = parts;
  if (parts.length === 0) return { name: 'villages' };
  if (parts.length === 1) {
    switch (head) {
      case 'villages':
      case 'sync':
      case 'lead':
      case 'settings':
      case 'enrol':
      case 'welcome':
        return { name: head };
    }
  }
  if (parts.length === 2) {
    if (head === 'village') return { name: 'village', id };
    if (head === 'household') return { name: 'household', id };
    if (head === 'run') return { name: 'run', id };
  }
  if (parts.length === 3 && head === 'household' && tail === 'visit') return { name: 'visit', id };
  return { name: 'not_found', path };
}

/** Link targets, so no screen spells a URL by hand. */
export const to = {
  villages: () => '#/villages',
  village: (id: string) => `#/village/${encodeURIComponent(id)}`,
  household: (id: string) => `#/household/${encodeURIComponent(id)}`,
  visit: (householdId: string) => `#/household/${encodeURIComponent(householdId)}/visit`,
  run: (id: string) => `#/run/${encodeURIComponent(id)}`,
  sync: () => '#/sync',
  lead: () => '#/lead',
  settings: () => '#/settings',
  enrol: () => '#/enrol',
  welcome: () => '#/welcome',
};

class RouterState {
  route = $state<Route>(parseHash(typeof location === 'undefined' ? '' : location.hash));
}

export const router = new RouterState();

/** Goes to `hash`; `replace` keeps the back stack as it is. */
export function navigate(hash: string, replace = false): void {
  if (typeof location === 'undefined') {
    router.route = parseHash(hash);
    return;
  }
  if (replace) {
    history.replaceState(history.state, '', hash);
    router.route = parseHash(hash);
  } else if (location.hash === hash) {
    router.route = parseHash(hash);
  } else {
    location.hash = hash;
  }
}

/** Follows `hashchange`; returns the stop function. */
export function startRouter(): () => void {
  const onChange = () => {
    router.route = parseHash(location.hash);
  };
  window.addEventListener('hashchange', onChange);
  onChange();
  return () => window.removeEventListener('hashchange', onChange);
}

/** What the top bar shows for the current screen. */
class PageState {
  /** The translated part of the title ("Record visit"); may be empty. */
  title = $state('');
  /** User data in the title (a village or household name), shown isolated (`<bdi>`). */
  name = $state<string | null>(null);
  /** Where the back button goes; `null` hides it. */
  back = $state<string | null>(null);
}

export const page = new PageState();

/**
 * Sets the top bar: `title` is translated text, `name` (optional) is user data
 * shown after it ("Record visit — Lò Văn Pắn") or alone when `title` is empty.
 */
export function setPage(title: string, back: string | null = null, name: string | null = null): void {
  page.title = title;
  page.name = name;
  page.back = back;
}
