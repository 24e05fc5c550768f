import { xml } from '@codemirror/lang-xml';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { EditorSelection, EditorState, StateEffect, StateField } from '@codemirror/state';
import { Decoration, EditorView, keymap, lineNumbers, type DecorationSet } from '@codemirror/view';
import { useEffect, useRef } from 'react';
import { useT } from '../i18n';

/** The template variables of the outside contract; KEY is selected after insertion to be typed over. */
export const TEMPLATE_VARIABLES = [
  '{{subscriber.name}}',
  '{{subscriber.attributes.KEY}}',
  '{{unsubscribeUrl}}',
  '{{preferencesUrl}}',
  '{{org.name}}',
  '{{org.address}}',
  '{{campaign.subject}}',
];

/** A problem the server found in the MJML, at a line of the author's own text. */
export interface LineError {
  line: number;
  message: string;
  file?: string;
}

/** The server's problems at their lines, from a failed save or preview (`error.errors`). */
export function lineErrorsOf(failure: unknown): LineError[] {
  const errors = (failure as { error?: { errors?: unknown } } | undefined)?.error?.errors;
  return Array.isArray(errors)
    ? (errors as LineError[]).filter((e) => typeof e.line === 'number')
    : [];
}

const showErrors = StateEffect.define<number[]>();
const errorLine = Decoration.line({ class: 'cm-error-line' });
/** Lines marked as wrong; they move with edits until the next check replaces them. */
const errorLines = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = marks.map(tr.changes);
    for (const effect of tr.effects)
      if (effect.is(showErrors)) {
        const lines = [...new Set(effect.value)]
          .filter((n) => n >= 1 && n <= tr.state.doc.lines)
          .sort((a, b) => a - b);
        next = Decoration.set(lines.map((n) => errorLine.range(tr.state.doc.line(n).from)));
      }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/**
 * CodeMirror 6 over MJML: a palette that inserts the template variables at the cursor, and the
 * server's problems marked at their lines and listed below, each a button that moves there.
 */
export function MjmlEditor(props: {
  value: string;
  onChange(value: string): void;
  label: string;
  errors: LineError[];
}) {
  const t = useT();
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          history(),
          xml(),
          errorLines,
          // Tab indents; Escape then Tab leaves the editor (CodeMirror's keyboard escape hatch).
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': props.label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
    // The editor owns its text after the first render; later props.value changes come from it.
  }, []);

  // Problems inside an included partial have their lines in that file, not here.
  const ownLines = props.errors
    .filter((e) => !e.file)
    .map((e) => e.line)
    .join(',');
  useEffect(() => {
    // Only a change of the marked lines touches the editor (a dispatch can scroll the page).
    const lines = ownLines ? ownLines.split(',').map(Number) : [];
    view.current?.dispatch({ effects: showErrors.of(lines) });
  }, [ownLines]);

  function insert(variable: string) {
    const editor = view.current;
    if (!editor) return;
    const { from, to } = editor.state.selection.main;
    const key = variable.indexOf('KEY');
    editor.dispatch({
      changes: { from, to, insert: variable },
      selection:
        key >= 0
          ? EditorSelection.range(from + key, from + key + 3)
          : EditorSelection.cursor(from + variable.length),
      scrollIntoView: true,
    });
    editor.focus();
  }
  function goTo(line: number) {
    const editor = view.current;
    if (!editor || line > editor.state.doc.lines) return;
    editor.dispatch({
      selection: EditorSelection.cursor(editor.state.doc.line(line).from),
      scrollIntoView: true,
    });
    editor.focus();
  }

  return (
    <>
      <div className="editor" ref={host} />
      <div className="variables" role="group" aria-label={t.insertVariable}>
        <span aria-hidden="true">{t.insertVariable}:</span>
        {TEMPLATE_VARIABLES.map((v) => (
          <button type="button" key={v} className="chip" onClick={() => insert(v)}>
            {v}
          </button>
        ))}
      </div>
      {props.errors.length ? (
        <div role="alert" className="error" data-testid="mjml-errors">
          <p>{t.mjmlProblems}</p>
          <ul>
            {props.errors.map((e, i) => (
              <li key={i}>
                {e.file ? (
                  `${e.file}, ${t.line} ${e.line}`
                ) : (
                  <button type="button" className="link" onClick={() => goTo(e.line)}>
                    {t.line} {e.line}
                  </button>
                )}
                : {e.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </>
  );
}
