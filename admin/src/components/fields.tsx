import type { InputHTMLAttributes, ReactNode } from 'react';
import { Field } from '../ui';

/** A labelled text input (email, password, search…): the one shape every form repeats. */
export function TextField(
  props: {
    label: string;
    value: string;
    onChange(value: string): void;
    hint?: string;
  } & Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'id'>,
) {
  const { label, value, onChange, hint, ...input } = props;
  return (
    <Field label={label} hint={hint}>
      {(id) => (
        <input id={id} {...input} value={value} onChange={(e) => onChange(e.target.value)} />
      )}
    </Field>
  );
}

export interface Choice<V extends string> {
  value: V;
  label: string;
}

/** A labelled select over fixed choices; `empty` adds a first "any/none" choice with value "". */
export function SelectField<V extends string>(props: {
  label: string;
  value: V | '';
  choices: ReadonlyArray<Choice<V>>;
  onChange(value: V): void;
  empty?: string;
}) {
  return (
    <Field label={props.label}>
      {(id) => (
        <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value as V)}>
          {props.empty !== undefined ? <option value="">{props.empty}</option> : null}
          {props.choices.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** Choices whose label is their value (enum names shown as they are). */
export const plainChoices = <V extends string>(values: readonly V[]): Array<Choice<V>> =>
  values.map((value) => ({ value, label: value }));

/** A checkbox with its label around it. */
export function CheckField(props: {
  label: ReactNode;
  checked: boolean;
  onChange(checked: boolean): void;
}) {
  return (
    <label className="check">
      <input
        type="checkbox"
        checked={props.checked}
        onChange={(e) => props.onChange(e.target.checked)}
      />{' '}
      {props.label}
    </label>
  );
}
