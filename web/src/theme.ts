// Light and dark theme: the system's preference unless the user chose one with the toggle.
export type Theme = 'light' | 'dark';

const themeKey = 'presenced.theme';

export function loadTheme(): Theme | null {
  const saved = localStorage.getItem(themeKey);
  return saved === 'light' || saved === 'dark' ? saved : null;
}

export function saveTheme(theme: Theme): void {
  localStorage.setItem(themeKey, theme);
}

export function applyTheme(doc: Document, theme: Theme | null): void {
  if (theme) doc.documentElement.dataset.theme = theme;
  else delete doc.documentElement.dataset.theme;
}

export function effectiveTheme(doc: Document): Theme {
  const chosen = doc.documentElement.dataset.theme;
  if (chosen === 'light' || chosen === 'dark') return chosen;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
