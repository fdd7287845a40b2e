// The lab's WGSL editor: CodeMirror 6 (basicSetup: line numbers, undo history, search,
// bracket matching, folding) with @iizukak/codemirror-lang-wgsl's Lezer grammar for
// highlighting, and @codemirror/lint to show compile errors as an underline, a gutter marker
// and a tooltip at their line. One EditorState per pipeline, so each keeps its own undo
// history and its own diagnostics while the user switches between them.
import { basicSetup } from 'codemirror';
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { lintGutter } from '@codemirror/lint';
import { tags as t } from '@lezer/highlight';
import { wgsl } from '@iizukak/codemirror-lang-wgsl';

// The grammar tags identifiers as macroName; they stay plain text, like a compiler's listing.
const wgslStyle = HighlightStyle.define([
  { tag: t.keyword, color: '#8a3fb0', fontWeight: '600' },
  { tag: [t.typeName, t.standard(t.typeName)], color: '#1f6f8b' },
  { tag: [t.number, t.bool], color: '#b35c00' },
  { tag: [t.lineComment, t.blockComment, t.comment], color: '#6a7383', fontStyle: 'italic' },
  { tag: t.propertyName, color: '#2f6fde' },
  { tag: t.operator, color: '#5b6475' },
  { tag: t.string, color: '#2e8b57' },
]);

const theme = EditorView.theme({
  '&': { fontSize: '12.5px', border: '1px solid var(--line)', borderRadius: '6px', background: '#fff' },
  '&.cm-focused': { outline: '2px solid color-mix(in srgb, var(--accent) 35%, transparent)' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', lineHeight: '1.45' },
  '.cm-gutters': { background: '#f7f8fa', borderRight: '1px solid var(--line)' },
});

export interface WgslEditor {
  readonly view: EditorView;
  /** A fresh state for a pipeline's text (its own history, no diagnostics). */
  newState(code: string): EditorState;
  /** Show a pipeline's state (kept by the caller between switches). */
  show(state: EditorState): void;
  readonly state: EditorState;
  readonly text: string;
  /** Replace the text as one undoable edit (reset to original, headless drivers). */
  replaceText(code: string): void;
  /** Put the cursor on a position and scroll it into view. */
  reveal(pos: number): void;
  destroy(): void;
}

export function createWgslEditor(parent: HTMLElement, onChange: (state: EditorState) => void): WgslEditor {
  const extensions: Extension[] = [
    basicSetup,
    wgsl(),
    syntaxHighlighting(wgslStyle),
    lintGutter(),
    theme,
    EditorView.contentAttributes.of({ 'aria-label': 'WGSL source', spellcheck: 'false' }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) onChange(u.state);
    }),
  ];
  const newState = (code: string) => EditorState.create({ doc: code, extensions });
  const view = new EditorView({ state: newState(''), parent });
  return {
    view,
    newState,
    show(state) {
      view.setState(state);
    },
    get state() {
      return view.state;
    },
    get text() {
      return view.state.doc.toString();
    },
    replaceText(code) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    },
    reveal(pos) {
      view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}
