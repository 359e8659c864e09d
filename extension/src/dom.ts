/**
 * A tiny DOM builder, and setters that touch the DOM only when a value really changed (so a
 * refresh keeps focus, selection and scroll). All text goes in as text nodes: nothing from the
 * store is ever parsed as HTML here.
 */
import { statusLabel } from './format';

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
      el.addEventListener(key.slice(2).toLowerCase(), value);
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

export function statusBadge(status: string): HTMLElement {
  return h(
    'span',
    { className: `jp-orc-status jp-orc-status-${status}`, 'data-status': status },
    statusLabel(status)
  );
}

/** Set an element's text, leaving it (and any selection in it) alone when it is the same. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) {
    el.textContent = text;
  }
}

/** Set or (with null) remove an attribute, only when it changes. */
export function setAttr(el: Element, name: string, value: string | null): void {
  if (value === null) {
    if (el.hasAttribute(name)) {
      el.removeAttribute(name);
    }
  } else if (el.getAttribute(name) !== value) {
    el.setAttribute(name, value);
  }
}

/** Point a status badge (from `statusBadge`) at another status. */
export function setStatus(badge: HTMLElement, status: string): void {
  if (badge.dataset.status !== status) {
    badge.dataset.status = status;
    badge.className = `jp-orc-status jp-orc-status-${status}`;
    badge.textContent = statusLabel(status);
  }
}
