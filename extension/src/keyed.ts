/**
 * A list of DOM rows kept in step with a list of items by key: a row is made once for a new
 * key, updated in place while its key stays, removed when its key goes. Reordering moves as few
 * rows as it can (those outside the longest run already in order), and focus inside the list is
 * put back if a move took it away. So a refresh every few seconds leaves the reader's focus,
 * text selection and scroll position where they were.
 */

/** One row: its node, and how to bring it up to date with a newer item of the same key. */
export interface IRow<T> {
  readonly node: HTMLElement;
  update(item: T): void;
  dispose?(): void;
}

export interface IKeyedListOptions<T, R extends IRow<T>> {
  /** The element whose children the rows are (it holds nothing else). */
  container: HTMLElement;
  key: (item: T) => string;
  /** A new row for an item whose key is not shown yet (it is updated with the item next). */
  create: (item: T) => R;
}

export class KeyedList<T, R extends IRow<T> = IRow<T>> {
  constructor(private readonly options: IKeyedListOptions<T, R>) {}

  /** The row shown for `key`, if any. */
  get(key: string): R | undefined {
    return this._rows.get(key);
  }

  get keys(): string[] {
    return [...this._rows.keys()];
  }

  get size(): number {
    return this._rows.size;
  }

  /** Show exactly `items`, in this order. */
  update(items: readonly T[]): void {
    const { container, key, create } = this.options;
    const focused = focusIn(container);
    const wanted = new Map<string, T>();
    for (const item of items) {
      const k = key(item);
      if (!wanted.has(k)) {
        wanted.set(k, item); // a key twice would need one node in two places: the first wins
      }
    }
    for (const [k, row] of this._rows) {
      if (!wanted.has(k)) {
        row.node.remove();
        row.dispose?.();
        this._rows.delete(k);
      }
    }
    const order: R[] = [];
    for (const [k, item] of wanted) {
      let row = this._rows.get(k);
      if (!row) {
        row = create(item);
        this._rows.set(k, row);
      }
      row.update(item);
      order.push(row);
    }
    this._rows = new Map([...wanted.keys()].map((k, i) => [k, order[i]]));
    place(
      container,
      order.map(r => r.node)
    );
    if (focused && focused.isConnected && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
  }

  /** Remove every row. */
  clear(): void {
    this.update([]);
  }

  private _rows = new Map<string, R>();
}

/** Put `nodes` in `container` in this order, moving only nodes outside a longest in-order run. */
export function place(container: HTMLElement, nodes: readonly HTMLElement[]): void {
  const current = Array.from(container.children);
  const position = new Map(current.map((n, i) => [n, i]));
  const stays = new Set(
    longestIncreasing(nodes.map(n => position.get(n) ?? -1)).map(i => nodes[i])
  );
  // from the end backwards, each node goes before the one that follows it
  let next: Element | null = null;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!stays.has(node)) {
      container.insertBefore(node, next);
    }
    next = node;
  }
}

/** Indexes (into `values`) of a longest strictly increasing subsequence of the values >= 0. */
export function longestIncreasing(values: readonly number[]): number[] {
  const tails: number[] = []; // tails[k]: index of the smallest tail of an increasing run of k + 1
  const previous = new Array<number>(values.length).fill(-1);
  values.forEach((v, i) => {
    if (v < 0) {
      return; // a new node: it has no place yet
    }
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[tails[mid]] < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    previous[i] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = i;
  });
  const out: number[] = [];
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = previous[i]) {
    out.push(i);
  }
  return out.reverse();
}

function focusIn(container: HTMLElement): HTMLElement | null {
  const active = document.activeElement;
  return active instanceof HTMLElement && container.contains(active) ? active : null;
}
