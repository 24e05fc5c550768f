import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import type { Clock } from '../../shared/clock.js';
import type { Timestamps } from './timestamps.js';

/**
 * A stored campaign template: MJML (full document or mj-body content) and an optional default
 * subject, both already validated by the renderer when written.
 */
export function templateSchema(clock: Clock) {
  const schema = new Schema(
    {
      name: { type: String, required: true },
      subject: { type: String },
      mjml: { type: String, required: true },
    },
    { timestamps: { currentTime: () => clock.now() } },
  );
  schema.index({ name: 1 }, { unique: true });
  return schema;
}

export type TemplateDoc = InferSchemaType<ReturnType<typeof templateSchema>> & Timestamps;
export type TemplateModel = Model<TemplateDoc>;
export const templateModel = (conn: Connection, clock: Clock): TemplateModel =>
  conn.model<TemplateDoc>('Template', templateSchema(clock), 'templates');
