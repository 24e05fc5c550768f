import { AppError } from '../shared/errors.js';

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

/** Used while no segment capability is wired: a campaign with a segmentId is refused up front. */
export const noSegments: AudienceSource = {
  async assertSegment() {
    throw new AppError('bad_request', 'segmentId: segments are not available in this build');
  },
  // eslint-disable-next-line require-yield -- never reached: assertSegment refuses first
  async *segmentMembers() {
    throw new AppError('bad_request', 'segmentId: segments are not available in this build');
  },
};
