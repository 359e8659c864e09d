/**
 * "Edit": approve with your version of the content under review. An editor prefilled with it;
 * what you send replaces the output of the step under review (the store keeps both). Content
 * that is JSON (a structured output) must stay valid JSON and is sent as data; text as text.
 */
import { h, setText } from './dom';

/** The value to send as `edited` for the reviewer's `text` of `shown`, or why it cannot be. */
export function editedValue(
  shown: string | null,
  text: string
): { value: unknown; error?: undefined } | { error: string } {
  if (!isStructured(shown)) {
    return text.trim() ? { value: text } : { error: 'The edited content is empty.' };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { error: `The content under review is JSON: keep it valid JSON (${String(e)})` };
  }
}

/** Whether what is shown is a JSON object or list (a structured output, as the server shows it). */
function isStructured(shown: string | null): boolean {
  const t = (shown || '').trim();
  if (!t.startsWith('{') && !t.startsWith('[')) {
    return false;
  }
  try {
    const v: unknown = JSON.parse(t);
    return v !== null && typeof v === 'object';
  } catch {
    return false;
  }
}

export class EditPanel {
  readonly node: HTMLElement;

  constructor(shown: string | null, approve: () => void) {
    this._shown = shown;
    this._text = h('textarea', {
      className: 'jp-orc-edit-text',
      rows: 10,
      spellcheck: isStructured(shown) ? 'false' : 'true',
      'aria-label': 'Your version of the content under review'
    });
    this._text.value = shown || '';
    this._error = h('div', { className: 'jp-orc-field-error', role: 'alert' });
    this.node = h(
      'div',
      { className: 'jp-orc-edit', hidden: true },
      h(
        'div',
        { className: 'jp-orc-field-help' },
        'Your version replaces the output under review.'
      ),
      this._text,
      this._error,
      h(
        'button',
        {
          type: 'button',
          className: 'jp-Button jp-mod-styled jp-mod-accept jp-orc-approve-edited',
          onclick: approve
        },
        'Approve with edits'
      )
    );
  }

  toggle(): void {
    this.node.hidden = !this.node.hidden;
    if (!this.node.hidden) {
      this._text.focus();
    }
  }

  /** The edited value, or null after saying what is wrong. */
  read(): { value: unknown } | null {
    const out = editedValue(this._shown, this._text.value);
    setText(this._error, out.error ?? '');
    return out.error === undefined ? { value: out.value } : null;
  }

  showError(message: string): void {
    setText(this._error, message);
  }

  private _shown: string | null;
  private _text: HTMLTextAreaElement;
  private _error: HTMLElement;
}
