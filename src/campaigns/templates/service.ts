import { Types } from 'mongoose';
import type { Models } from '../../db/models/index.js';
import type { TemplateDoc } from '../../db/models/template.js';
import { idsAfter } from '../../db/keyset.js';
import { decodeCursor, encodeCursor } from '../../shared/cursor.js';
import { conflict, isDuplicateKey, notFound } from '../../shared/errors.js';
import type { CampaignRenderer, RenderedMail } from '../render/types.js';

const objectId = /^[0-9a-f]{24}$/;
const DEFAULT_PAGE = 100;
/** Links of a preview go nowhere: it is not a mail anyone received. */
const PREVIEW_LINK = 'https://kirje.invalid/preview';

export interface TemplateInput {
  name: string;
  subject?: string | null;
  mjml: string;
}

export interface TemplateView {
  id: string;
  name: string;
  subject: string | null;
  mjml: string;
  createdAt: Date;
  updatedAt: Date;
}

export type TemplateSummary = Omit<TemplateView, 'mjml'>;

/**
 * Stored campaign templates. Every write is compiled by the campaign renderer first, so invalid
 * MJML, unknown variables and bad includes are refused (400 with line numbers) when the template
 * is saved, not when a campaign using it starts.
 */
export class TemplateService {
  constructor(
    private readonly models: Pick<Models, 'Template'>,
    private readonly renderer: CampaignRenderer,
    private readonly org: { name: string; address: string },
  ) {}

  async create(input: TemplateInput): Promise<TemplateView> {
    this.validate(input);
    try {
      const doc = await this.models.Template.create({
        name: input.name,
        subject: input.subject ?? undefined,
        mjml: input.mjml,
      });
      return view(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a template named "${input.name}" exists`);
      throw err;
    }
  }

  /** A page of templates in the order they were made, without their MJML. */
  async list(
    page: { cursor?: string; limit?: number } = {},
  ): Promise<{ items: TemplateSummary[]; nextCursor: string | null }> {
    const limit = page.limit ?? DEFAULT_PAGE;
    const after = page.cursor ? new Types.ObjectId(decodeCursor(page.cursor)) : undefined;
    const found = await this.models.Template.find({ _id: idsAfter(after) }, { mjml: 0 })
      .sort({ _id: 1 })
      .limit(limit + 1)
      .lean();
    const docs = found.slice(0, limit);
    return {
      items: docs.map((d) => summary(d)),
      nextCursor: found.length > limit ? encodeCursor(String(docs.at(-1)!._id)) : null,
    };
  }

  /**
   * Unsaved MJML rendered for a sample person, for the editor's live preview; invalid MJML is
   * refused like a save would be (400 listing the problems with their lines).
   */
  preview(input: { mjml: string; subject?: string | null }): RenderedMail {
    const subject = input.subject ?? '';
    return this.renderer.compile({ subject, mjml: input.mjml }).render({
      subscriber: { name: 'Maija Meikäläinen', attributes: {} },
      unsubscribeUrl: PREVIEW_LINK,
      preferencesUrl: PREVIEW_LINK,
      org: this.org,
      campaign: { subject },
      locale: 'fi',
    });
  }

  async get(id: string): Promise<TemplateView> {
    const doc = objectId.test(id) ? await this.models.Template.findById(id).lean() : null;
    if (!doc) throw notFound('template');
    return view(doc);
  }

  async update(id: string, patch: Partial<TemplateInput>): Promise<TemplateView> {
    const current = await this.get(id);
    const next: TemplateInput = {
      name: patch.name ?? current.name,
      subject: patch.subject === undefined ? current.subject : patch.subject,
      mjml: patch.mjml ?? current.mjml,
    };
    this.validate(next);
    try {
      const doc = await this.models.Template.findByIdAndUpdate(
        id,
        next.subject === null
          ? { $set: { name: next.name, mjml: next.mjml }, $unset: { subject: 1 } }
          : { $set: next },
        { new: true, lean: true },
      );
      if (!doc) throw notFound('template');
      return view(doc);
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a template named "${next.name}" exists`);
      throw err;
    }
  }

  async delete(id: string): Promise<void> {
    const res = objectId.test(id)
      ? await this.models.Template.deleteOne({ _id: id })
      : { deletedCount: 0 };
    if (res.deletedCount === 0) throw notFound('template');
  }

  private validate(input: TemplateInput): void {
    this.renderer.compile({ subject: input.subject ?? '', mjml: input.mjml });
  }
}

type Stored = Omit<TemplateDoc, 'mjml'> & { _id: unknown; mjml?: string };

function summary(d: Stored): TemplateSummary {
  return {
    id: String(d._id),
    name: d.name,
    subject: d.subject ?? null,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

function view(d: Stored): TemplateView {
  return { ...summary(d), mjml: d.mjml ?? '' };
}
