/**
 * A tiny DOM builder and the formatting every view shares. All text goes in as text nodes:
 * nothing from the store is ever parsed as HTML here.
 */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (key === 'className') {
      el.className = String(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: (Node | string)[]
): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    el.setAttribute(key, String(value));
  }
  for (const child of children) {
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

export function money(usd: number | null | undefined): string {
  const v = usd || 0;
  if (v === 0) {
    return '$0';
  }
  if (v < 0.01) {
    return `$${v.toFixed(4)}`;
  }
  return `$${v.toFixed(v < 10 ? 3 : 2)}`;
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) {
    return '–';
  }
  if (s < 1) {
    return `${Math.round(s * 1000)} ms`;
  }
  if (s < 60) {
    return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${Math.round(s % 60)} s`;
  }
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) {
    return '–';
  }
  const t = new Date(iso);
  const ago = (Date.now() - t.getTime()) / 1000;
  if (ago < 45) {
    return 'just now';
  }
  if (ago < 3600) {
    return `${Math.round(ago / 60)} min ago`;
  }
  if (ago < 86400) {
    return t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  return t.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function fullTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

export function tokens(n: number | null | undefined): string {
  const v = n || 0;
  return v >= 10000 ? `${(v / 1000).toFixed(1)}k` : String(v);
}

export function statusBadge(status: string): HTMLElement {
  return h(
    'span',
    { className: `jp-orc-status jp-orc-status-${status}`, 'data-status': status },
    status.replace('_', ' ')
  );
}
