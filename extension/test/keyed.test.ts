import { describe, expect, it } from 'vitest';

import { IRow, KeyedList, longestIncreasing, place } from '../src/keyed';

interface IItem {
  id: string;
  label: string;
}

class Row implements IRow<IItem> {
  readonly node = document.createElement('li');
  updates = 0;
  disposed = false;
  constructor(item: IItem) {
    this.node.dataset.id = item.id;
  }
  update(item: IItem): void {
    this.updates++;
    if (this.node.textContent !== item.label) {
      this.node.textContent = item.label;
    }
  }
  dispose(): void {
    this.disposed = true;
  }
}

function setup() {
  const container = document.createElement('ul');
  document.body.replaceChildren(container);
  let made = 0;
  const list = new KeyedList<IItem, Row>({
    container,
    key: i => i.id,
    create: i => {
      made++;
      return new Row(i);
    }
  });
  const items = (ids: string) => [...ids].map(id => ({ id, label: `row ${id}` }));
  const shown = () =>
    Array.from(container.children)
      .map(n => (n as HTMLElement).dataset.id)
      .join('');
  return { container, list, items, shown, made: () => made };
}

/** Every node inserted or removed while `act` runs (a MutationObserver's records). */
function mutations(target: Node, act: () => void): MutationRecord[] {
  const observer = new MutationObserver(() => undefined);
  observer.observe(target, {
    childList: true,
    subtree: true,
    characterData: true,
    attributes: true
  });
  act();
  const records = observer.takeRecords();
  observer.disconnect();
  return records;
}

describe('longestIncreasing', () => {
  it.each([
    [[], []],
    [
      [0, 1, 2],
      [0, 1, 2]
    ],
    [
      [2, 0, 1],
      [1, 2]
    ],
    [
      [1, 2, 0],
      [0, 1]
    ],
    [
      [-1, 0, -1, 1],
      [1, 3]
    ],
    [
      [3, 1, 2, 0],
      [1, 2]
    ]
  ])('%j -> %j', (values, indexes) => expect(longestIncreasing(values)).toEqual(indexes));
});

describe('KeyedList', () => {
  it('makes one row per new key and keeps the same node while the key stays', () => {
    const { list, items, shown, made, container } = setup();
    list.update(items('abc'));
    expect(shown()).toBe('abc');
    const b = list.get('b')!.node;
    list.update(items('abc'));
    expect(made()).toBe(3);
    expect(container.children[1]).toBe(b);
    expect(list.get('b')!.updates).toBe(2);
  });

  it('changes nothing in the DOM when nothing changed', () => {
    const { list, items, container } = setup();
    list.update(items('abc'));
    expect(mutations(container, () => list.update(items('abc')))).toEqual([]);
  });

  it('inserts a new first row without moving the others', () => {
    const { list, items, shown, container } = setup();
    list.update(items('abc'));
    const records = mutations(container, () => list.update(items('xabc')));
    expect(shown()).toBe('xabc');
    const moved = records.flatMap(r => [...r.addedNodes, ...r.removedNodes]);
    expect(moved.map(n => (n as HTMLElement).dataset.id)).toEqual(['x']);
  });

  it('removes the rows whose key went, and disposes them', () => {
    const { list, items, shown } = setup();
    list.update(items('abcd'));
    const b = list.get('b')!;
    list.update(items('acd'));
    expect(shown()).toBe('acd');
    expect(b.disposed).toBe(true);
    expect(b.node.isConnected).toBe(false);
    expect(list.keys).toEqual(['a', 'c', 'd']);
  });

  it('moves only the row that changed place', () => {
    const { list, items, shown, container } = setup();
    list.update(items('abcde'));
    const records = mutations(container, () => list.update(items('bcdea')));
    expect(shown()).toBe('bcdea');
    const added = records.flatMap(r => [...r.addedNodes]);
    expect(added.map(n => (n as HTMLElement).dataset.id)).toEqual(['a']);
  });

  it('handles any reordering with new and dropped keys', () => {
    const { list, items, shown } = setup();
    const orders = ['abcdef', 'fedcba', 'xbdfy', 'ydxb', '', 'qa', 'aq', 'abcdefq'];
    for (const order of orders) {
      list.update(items(order));
      expect(shown()).toBe(order);
      expect(list.size).toBe(order.length);
    }
  });

  it('shows a key given twice once, where it first appears', () => {
    const { list, items, shown } = setup();
    list.update(items('abca'));
    expect(shown()).toBe('abc');
  });

  it('updates a row in place: its text changes, its node stays', () => {
    const { list, container } = setup();
    list.update([{ id: 'a', label: 'old' }]);
    const node = container.firstElementChild;
    list.update([{ id: 'a', label: 'new' }]);
    expect(container.firstElementChild).toBe(node);
    expect(node!.textContent).toBe('new');
  });

  it('gives focus back to a focused element inside a row that had to move', () => {
    const { list, container, shown } = setup();
    const withButton = (id: string) => ({ id, label: '' });
    list.update(['a', 'b', 'c'].map(withButton));
    const button = document.createElement('button');
    list.get('a')!.node.append(button);
    button.focus();
    expect(document.activeElement).toBe(button);
    list.update(['b', 'c', 'a'].map(withButton));
    expect(shown()).toBe('bca');
    expect(container.lastElementChild!.contains(button)).toBe(true);
    expect(document.activeElement).toBe(button);
  });
});

describe('place', () => {
  it('puts given nodes in order in an empty container', () => {
    const container = document.createElement('div');
    const nodes = ['x', 'y'].map(id => Object.assign(document.createElement('p'), { id }));
    place(container, nodes);
    expect(Array.from(container.children).map(n => n.id)).toEqual(['x', 'y']);
  });
});
