import { useState } from 'react';
import { useT } from '../i18n';

/** A live preview follows the text a moment after the last keystroke, not at every one. */
export const PREVIEW_DELAY_MS = 400;

/** A mail's HTML at desktop or mobile width, sandboxed so it cannot reach the admin app. */
export function PreviewPane(props: { html: string | null }) {
  const t = useT();
  const [width, setWidth] = useState<'desktop' | 'mobile'>('desktop');
  return (
    <section className="panel" aria-labelledby="preview-title">
      <h2 id="preview-title">{t.preview}</h2>
      <div className="row" role="group" aria-label={t.preview}>
        <button
          type="button"
          aria-pressed={width === 'desktop'}
          onClick={() => setWidth('desktop')}
        >
          {t.desktop}
        </button>
        <button type="button" aria-pressed={width === 'mobile'} onClick={() => setWidth('mobile')}>
          {t.mobile}
        </button>
      </div>
      {props.html !== null ? (
        // No scripts, no same-origin: the mail's HTML cannot reach the admin app.
        <iframe title={t.preview} sandbox="" srcDoc={props.html} className={`preview ${width}`} />
      ) : null}
    </section>
  );
}
