import type { SegmentService } from '../segments/service.js';

/**
 * Where segment members come from. The campaign engine sees segments only through this port, so
 * the segment capability can change how it evaluates rules without touching sending.
 */
export interface AudienceSource {
  /** Throws AppError (400/404) when the segment cannot be used as an audience. */
  assertSegment(segmentId: string): Promise<void>;
  /** Ids of the subscribers the segment matches now; each id at most once. */
  segmentMembers(segmentId: string): AsyncIterable<string>;
}

/** The audience of saved segments: rules are read once, members streamed in `_id` order. */
export function segmentAudience(segments: SegmentService): AudienceSource {
  return {
    async assertSegment(segmentId) {
      await segments.get(segmentId);
    },
    async *segmentMembers(segmentId) {
      const rules = await segments.rulesOf(segmentId);
      for await (const batch of segments.matchingIds(rules)) {
        for (const id of batch) yield String(id);
      }
    },
  };
}
