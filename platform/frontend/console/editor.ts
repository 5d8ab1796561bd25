/**
 * A CodeMirror 6 editor for code and JSON. Tab is left to the browser, so the keyboard can move past the editor
 * (Escape then Tab is not needed); Ctrl-Z/Ctrl-Y and the usual editing keys work.
 */
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { json } from '@codemirror/lang-json';
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';

export interface CodeEditor {
  view: EditorView;
  text(): string;
  setText(text: string): void;
}

export function codeEditor(options: { language: 'javascript' | 'json'; text: string; label: string; onChange?: (text: string) => void }): CodeEditor {
  const view = new EditorView({
    state: EditorState.create({
      doc: options.text,
      extensions: [
        lineNumbers(),
        history(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        options.language === 'json' ? json() : javascript(),
        // An explicit tab stop: the editor is reached and left with Tab like any field (Tab is not indentation here).
        EditorView.contentAttributes.of({ 'aria-label': options.label, tabindex: '0' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) options.onChange?.(u.state.doc.toString());
        }),
      ],
    }),
  });
  view.dom.classList.add('editor');
  return {
    view,
    text: () => view.state.doc.toString(),
    setText: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
  };
}
