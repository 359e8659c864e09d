/**
 * YAML highlighting for `%%orc` cells. The first line is the magic (keyword + options, as meta);
 * the rest is tokenized by CodeMirror's YAML mode, the one JupyterLab uses for .yaml files.
 *
 * An editor extension for notebook and console cells: while a cell's first line is `%%orc`, a
 * compartment holds the orc-yaml language at the highest precedence, which overrides the
 * kernel's language for that cell only; remove the magic and the cell is Python again. The
 * source, the kernel and the saved notebook are untouched. The language also tags tokens with
 * stable `tok-*` classes (keys: tok-atom, strings: tok-string, `-`/`:`: tok-meta, comments:
 * tok-comment), so themes and tests can see what is YAML.
 */
import {
  LanguageSupport,
  StreamLanguage,
  StreamParser,
  StringStream,
  syntaxHighlighting
} from '@codemirror/language';
import { yaml } from '@codemirror/legacy-modes/mode/yaml';
import { Compartment, EditorState, Extension, Prec, Text } from '@codemirror/state';
import { classHighlighter } from '@lezer/highlight';

/** Whether a cell is a `%%orc` cell (the magic must be its first line). */
export function isOrcLine(firstLine: string): boolean {
  return /^%%orc(\s|$)/.test(firstLine);
}

interface IOrcState {
  line: number; // 1 on the magic line
  yaml: unknown; // the YAML mode's own state (a plain object)
}

const parser: StreamParser<IOrcState> = {
  name: 'orc-yaml',
  startState: (indentUnit: number) => ({
    line: 0,
    yaml: yaml.startState!(indentUnit)
  }),
  copyState: (state: IOrcState) => ({ line: state.line, yaml: { ...(state.yaml as object) } }),
  token: (stream: StringStream, state: IOrcState) => {
    if (stream.sol()) {
      state.line++;
    }
    if (state.line === 1) {
      if (stream.match(/^%%orc\b/)) {
        return 'keyword';
      }
      stream.skipToEnd();
      return 'meta'; // the magic's options: name, -p key=value, --approval ...
    }
    return yaml.token(stream, state.yaml);
  },
  blankLine: (state: IOrcState) => {
    state.line++;
  },
  languageData: yaml.languageData
};

/** The orc-yaml language (with `tok-*` classes), at the highest precedence. */
const orcYaml: Extension = Prec.highest(
  new LanguageSupport(StreamLanguage.define(parser), [syntaxHighlighting(classHighlighter)])
);

const firstLine = (doc: Text) => doc.line(1).text;

/** The extension for one cell editor; `source` is the cell's text when the editor is made. */
export function orcCells(source: string): Extension {
  const slot = new Compartment();
  return [
    slot.of(isOrcLine(source.split('\n', 1)[0]) ? orcYaml : []),
    EditorState.transactionExtender.of(tr => {
      if (!tr.docChanged) {
        return null;
      }
      const wanted = isOrcLine(firstLine(tr.newDoc));
      const active = slot.get(tr.startState) === orcYaml;
      return wanted === active ? null : { effects: slot.reconfigure(wanted ? orcYaml : []) };
    })
  ];
}
