// jsdom lacks a few browser APIs that JupyterLab's packages touch when they load (as in
// JupyterLab's own test setup): DragEvent (@lumino/dragdrop subclasses it) and matchMedia (the
// design tokens of @jupyter/web-components ask for the colour scheme). Nothing here is tested.
if (typeof globalThis.DragEvent === 'undefined') {
  class DragEvent extends MouseEvent {}
  Object.assign(globalThis, { DragEvent });
}
if (typeof window.matchMedia !== 'function') {
  window.matchMedia = (query: string): MediaQueryList =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => undefined,
      removeListener: () => undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      dispatchEvent: () => false
    }) as MediaQueryList;
}
